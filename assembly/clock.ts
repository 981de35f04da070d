// Simulated time: jiffies, the kernel's tick count. The kernel's timers and delayed work
// (v7.1's depot reclaim every 100 ms, the flush queue's 10 ms timeout) run on jiffies, not on
// the wall clock, so a run is reproducible: time moves only when something advances it
// (assembly/timers.ts, which fires what falls due on the way).
//
// HZ is 250 (the kernel-code harness's, and a common arm64 config): one jiffy is 4 ms.
// Left out: timer-wheel granularity (exact for the short delays modelled), NO_HZ.

import { CONTROL_BASE, CTL_CLOCK_LOCK, CTL_JIFFIES } from "./memmap";
import { lockAcquire, lockRelease } from "./sync";

export const HZ: u32 = 250;
export const NS_PER_JIFFY: u64 = <u64>1_000_000_000 / <u64>HZ;
/** Where jiffies live (a u64; readers outside the core load it atomically too). */
export const CLOCK_JIFFIES_ADDR: u32 = CONTROL_BASE + CTL_JIFFIES;

@inline export function jiffiesNow(): u64 {
  return atomic.load<u64>(CLOCK_JIFFIES_ADDR);
}

/** Stand at jiffy `t` (the clock held: only assembly/timers.ts moves time). */
@inline export function jiffiesSet(t: u64): void {
  atomic.store<u64>(CLOCK_JIFFIES_ADDR, t);
}

/**
 * Hold the clock still: while held, time does not move and no timer fires (a domain being
 * torn down; assembly/timers.ts takes it to advance).
 */
export function clockHold(): void {
  lockAcquire(CONTROL_BASE + CTL_CLOCK_LOCK);
}

export function clockRelease(): void {
  lockRelease(CONTROL_BASE + CTL_CLOCK_LOCK);
}
