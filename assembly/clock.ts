// Simulated time. The kernel's timers and delayed work (here: v7.1's depot reclaim every
// 100 ms; later the flush queue's 10 ms timeout) run on jiffies, not on the wall clock, so
// a run is reproducible: time moves only when the orchestrator advances it, and advancing
// fires everything that falls due on the way, in time order — a timer that re-arms itself
// inside the advanced span fires again within it, as it would in the kernel.
//
// HZ is 250 (the kernel-code harness's, and a common arm64 config): one jiffy is 4 ms.
// Left out: timer-wheel granularity (exact for the short delays modelled), NO_HZ, and
// which CPU a timer runs on (the advancing thread runs it).

import { CONTROL_BASE, CTL_CLOCK_LOCK, CTL_JIFFIES } from "./memmap";
import { lockAcquire, lockRelease } from "./sync";
import { iovaNextDue, iovaRunDue } from "./iova/domain";

export const HZ: u32 = 250;

@inline export function jiffiesNow(): u64 {
  return atomic.load<u64>(CONTROL_BASE + CTL_JIFFIES);
}

/**
 * Advance by n jiffies, firing due work on the way; returns the new time. Timers run on
 * simulated CPU `cpu` (whose caches a flush-queue timeout releases into), as the harness
 * runs them on its current CPU.
 */
export function clockAdvance(n: u64, cpu: u32): u64 {
  lockAcquire(CONTROL_BASE + CTL_CLOCK_LOCK);
  const target = jiffiesNow() + n;
  advanceLocked(target, cpu);
  lockRelease(CONTROL_BASE + CTL_CLOCK_LOCK);
  return target;
}

/**
 * Advance to jiffy `target` unless time is already there; returns the time now. For
 * simulated CPUs that each keep a modelled clock (assembly/workload/map-benchmark.ts):
 * several may ask for the same jiffy, and it must pass once, not once per CPU.
 */
export function clockAdvanceTo(target: u64, cpu: u32): u64 {
  if (jiffiesNow() >= target) return jiffiesNow();
  lockAcquire(CONTROL_BASE + CTL_CLOCK_LOCK);
  if (target > jiffiesNow()) advanceLocked(target, cpu);
  const now = jiffiesNow();
  lockRelease(CONTROL_BASE + CTL_CLOCK_LOCK);
  return now;
}

export const NS_PER_JIFFY: u64 = <u64>1_000_000_000 / <u64>HZ;

/**
 * For a simulated CPU that keeps its own clock of modelled time (the scenario workloads,
 * dma_map_benchmark): bring jiffies up to `clockNs` past `startJiffies` (the time when that
 * clock was at zero). Timers that fall due run on `cpu`, in its time.
 */
@inline export function clockFollow(startJiffies: u64, clockNs: u64, cpu: u32): void {
  const target = startJiffies + clockNs / NS_PER_JIFFY;
  if (target > jiffiesNow()) clockAdvanceTo(target, cpu);
}

/** With the clock lock held: fire what falls due up to `target` in time order, then stand at it. */
function advanceLocked(target: u64, cpu: u32): void {
  for (;;) {
    const due = iovaNextDue();
    if (due > target) break;
    if (due > jiffiesNow()) atomic.store<u64>(CONTROL_BASE + CTL_JIFFIES, due);
    iovaRunDue(jiffiesNow(), cpu);
  }
  atomic.store<u64>(CONTROL_BASE + CTL_JIFFIES, target);
}

/** Hold the clock still (no timer fires) while a domain is torn down. */
export function clockHold(): void {
  lockAcquire(CONTROL_BASE + CTL_CLOCK_LOCK);
}

export function clockRelease(): void {
  lockRelease(CONTROL_BASE + CTL_CLOCK_LOCK);
}
