// The kernel's timer softirq and delayed work, driven by simulated time: advancing the
// clock (assembly/clock.ts) fires everything that falls due on the way, in time order — a
// timer that re-arms itself inside the advanced span fires again within it, as it would in
// the kernel. The timers are the IOVA domains' (v7.1's depot reclaim, the flush queue's
// timeout; assembly/iova/domain.ts finds and runs them).
//
// Left out: which CPU a timer runs on in the kernel (the advancing thread runs it, on the
// simulated CPU it names, as the kernel-code harness runs them on its current CPU).

import { clockHold, clockRelease, jiffiesNow, jiffiesSet, NS_PER_JIFFY } from "./clock";
import { iovaNextDue, iovaRunDue } from "./iova/domain";

/**
 * Advance by n jiffies, firing due work on the way; returns the new time. Timers run on
 * simulated CPU `cpu` (whose caches a flush-queue timeout releases into).
 */
export function clockAdvance(n: u64, cpu: u32): u64 {
  clockHold();
  const target = jiffiesNow() + n;
  advanceLocked(target, cpu);
  clockRelease();
  return target;
}

/**
 * Advance to jiffy `target` unless time is already there; returns the time now. For
 * simulated CPUs that each keep a modelled clock: several may ask for the same jiffy, and
 * it must pass once, not once per CPU.
 */
export function clockAdvanceTo(target: u64, cpu: u32): u64 {
  if (jiffiesNow() >= target) return jiffiesNow();
  clockHold();
  if (target > jiffiesNow()) advanceLocked(target, cpu);
  const now = jiffiesNow();
  clockRelease();
  return now;
}

/**
 * For a simulated CPU that keeps its own clock of modelled time (the scenario workloads,
 * dma_map_benchmark): bring jiffies up to `clockNs` past `startJiffies` (the time when that
 * clock was at zero). Timers that fall due run on `cpu`, in its time.
 */
@inline export function clockFollow(startJiffies: u64, clockNs: u64, cpu: u32): void {
  const target = startJiffies + clockNs / NS_PER_JIFFY;
  if (target > jiffiesNow()) clockAdvanceTo(target, cpu);
}

/** With the clock held: fire what falls due up to `target` in time order, then stand at it. */
function advanceLocked(target: u64, cpu: u32): void {
  for (;;) {
    const due = iovaNextDue();
    if (due > target) break;
    if (due > jiffiesNow()) jiffiesSet(due);
    iovaRunDue(jiffiesNow(), cpu);
  }
  jiffiesSet(target);
}
