// Where a simulated CPU's modelled time goes, and the CPU's place on the modelled timeline.
//
// Every modelled nanosecond a CPU spends is charged to one category (TIME_*): its own work
// (the kernel's code: DMA-API entry, page-table walk and PTEs, IOVA caches — sync.ts
// cpuCharge), the busy-wait dma_map_benchmark asks for between map and unmap, or a wait on
// a shared resource: the SMMUv3 command queue (claiming space by compare-and-swap on prod,
// the owner's MMIO write of prod), CMD_SYNC completion (the SMMU consuming everything
// before the sync), the spinlocks the DMA path takes (the IOVA tree's, the depot's, the
// flush-queue rings'), and cache lines another CPU wrote last moving here (line-sharing.ts).
// The categories always add up to the CPU's clock.
//
// The thread running a CPU keeps the breakdown in its slot (ThreadSlot.time) and the clock
// as cpuNs + clockOffset; a run engine that interleaves several CPUs on one thread swaps a
// CPU's record in before running it and out after (cpuTimeEnter / cpuTimeLeave).
//
// Modelled contention. While the control block's `timed` word is set, a run engine keeps
// its CPUs' clocks within a quantum of each other (src/tasks/map-benchmark.ts), and shared
// resources are booked on the modelled timeline: a CPU that finds one busy at its clock
// waits until it frees (kernelLockTimed in sync.ts, assembly/smmu/cmdq.ts).
// Otherwise each resource costs its uncontended price: threads whose clocks are unrelated
// (plain API calls, the raw benchmarks) must not wait on each other's futures.

import { CONTROL_BASE, CTL_TIMED, TIME_ROOM, TS_CLOCK_OFFSET, TS_CPU, TS_CPU_NS, TS_TIME } from "./memmap";
import { slotBase } from "./thread";

/** The kernel's own code on this CPU: everything not a wait below. */
export const TIME_WORK: u32 = 0;
/** Claiming command-queue space (the CAS loop on prod) and the owner's MMIO write of prod. */
export const TIME_CMDQ: u32 = 1;
/** Waiting for CMD_SYNC: the SMMU consuming the commands before it, then completing it. */
export const TIME_SYNC: u32 = 2;
/** Spinning on iova_rbtree_lock (the IOVA tree's). */
export const TIME_IOVA_TREE_LOCK: u32 = 3;
/** Spinning on a depot's lock (iova_rcache.lock: swapping magazines). */
export const TIME_DEPOT_LOCK: u32 = 4;
/** Spinning on a flush-queue ring's lock (queue_iova against the timer's or another CPU's flush). */
export const TIME_FQ_LOCK: u32 = 5;
/** A delay the workload asks for: dma_map_benchmark's ndelay(dma_trans_ns), a switcher's sleep. */
export const TIME_DELAY: u32 = 6;
/**
 * Waiting for cache lines another CPU wrote last (line-sharing.ts): the kernel's own shared
 * data — PTE lines of neighbouring IOVAs, magazines handed through a depot, the depot itself.
 */
export const TIME_LINE_TRANSFER: u32 = 7;
export const TIME_COUNT: u32 = 8;
if (TIME_COUNT > TIME_ROOM) ERROR("TIME_* outgrew ThreadSlot.time (TIME_ROOM)");

/** Whether shared resources are booked on the modelled timeline (ControlBlock.timed). */
@inline export function timedMode(): bool {
  return load<u32>(CONTROL_BASE + CTL_TIMED) != 0;
}

/** The simulated CPU this thread runs + 1, or 0 when no run engine said (cpuTimeEnter). */
@inline export function cpuRunning(): u64 {
  return load<u64>(slotBase() + TS_CPU);
}

/** The running CPU's modelled clock, in ns. */
@inline export function cpuNow(): u64 {
  const t = slotBase();
  return load<u64>(t + TS_CPU_NS) + load<u64>(t + TS_CLOCK_OFFSET);
}

/** Add `ns` to the running CPU's clock, charged to `category`. */
@inline export function cpuSpend(category: u32, ns: u64): void {
  const t = slotBase();
  store<u64>(t + TS_CPU_NS, load<u64>(t + TS_CPU_NS) + ns);
  const at = t + TS_TIME + (category << 3);
  store<u64>(at, load<u64>(at) + ns);
}

/** Move the running CPU's clock forward to `until` (if it is behind), charged to `category`. */
@inline export function cpuWaitUntil(category: u32, until: u64): void {
  const now = cpuNow();
  if (until > now) cpuSpend(category, until - now);
}

/**
 * Run simulated CPU `cpu` on this thread: its clock is the u64 at `clockAt`, its breakdown
 * the TIME_COUNT u64 at `timeAt`.
 */
export function cpuTimeEnter(clockAt: u32, timeAt: u32, cpu: u32): void {
  const t = slotBase();
  store<u64>(t + TS_CPU, <u64>cpu + 1);
  store<u64>(t + TS_CLOCK_OFFSET, atomic.load<u64>(clockAt) - load<u64>(t + TS_CPU_NS));
  memory.copy(t + TS_TIME, timeAt, TIME_COUNT << 3);
}

/**
 * Write the running CPU's clock (atomically: others may read it) and breakdown back (see
 * cpuTimeEnter); the clock is returned.
 */
export function cpuTimeLeave(clockAt: u32, timeAt: u32): u64 {
  const t = slotBase();
  const now = cpuNow();
  atomic.store<u64>(clockAt, now);
  memory.copy(timeAt, t + TS_TIME, TIME_COUNT << 3);
  return now;
}
