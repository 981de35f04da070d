// Synchronisation across workers that share one Wasm memory.
//
// Models the kernel's spinlock_t: a lock word in shared memory taken with compare-and-swap
// (0 free, 1 held), spinning with exponential backoff while it is held — test-and-test-
// and-set, so waiters read a shared line instead of hammering it with writes.
//
// Why no sleeping (memory.atomic.wait32): under heavy contention between two workers on
// Node 20.20, a worker was seen asleep in wait32 for good on a lock word that was free —
// with an infinite timeout and with a 1 ms one alike — while the same code never hung with
// the sleep taken out. Critical sections here are short (the kernel's are spinlocks too),
// so spinning costs little; a lock held by a descheduled worker costs its waiters CPU time
// until the OS runs the holder again, never correctness. A word left at 2 by an older
// build's waiter still reads as held, and release still wakes any sleeper.
//
// This thread's slot lives in assembly/thread.ts (re-exported here for the units that take
// locks and charge time together).

import { CONTROL_BASE, ControlBlock, CPU_COST_LOCK } from "./memmap";
import { TIME_WORK, cpuNow, cpuSpend, timedMode } from "./cpu-time";

export { attachThread, currentSlot, slotBase, thisThread } from "./thread";

/** Where the CPU costs start (ControlBlock.cpuCosts, u32 ns each, indexed by CPU_COST_*). */
const CPU_COSTS: u32 = CONTROL_BASE + offsetof<ControlBlock>("cpuCosts");

/** Longest backoff between two looks at a held lock, in pause iterations. */
const MAX_BACKOFF: i32 = 1024;

export function lockAcquire(lock: u32): void {
  if (atomic.cmpxchg<i32>(lock, 0, 1) == 0) return;
  let backoff: i32 = 4;
  for (;;) {
    // Read-only wait while held, then one attempt.
    for (let i = 0; i < backoff; i++) {
      if (atomic.load<i32>(lock) == 0) break;
    }
    if (atomic.load<i32>(lock) == 0 && atomic.cmpxchg<i32>(lock, 0, 1) == 0) return;
    if (backoff < MAX_BACKOFF) backoff <<= 1;
  }
}

/**
 * Take one of the simulated kernel's own spinlocks (an IOVA domain's tree lock, a depot
 * or per-CPU cache lock): lockAcquire, plus the modelled cost charged to this CPU.
 */
export function kernelLock(lock: u32): void {
  lockAcquire(lock);
  cpuCharge(CPU_COST_LOCK, 1);
}

/**
 * Where a contended kernel lock keeps its modelled busy-until time (u64 ns): the word 8
 * bytes past its lock word. Each record holding one reserves it (and checks so).
 */
export const LOCK_TIMELINE: u32 = 8;

/**
 * kernelLock for one of the locks CPUs contend for (the IOVA tree's, a depot's, a flush-
 * queue ring's): in modelled time (cpu-time.ts timedMode) a CPU that takes it before its
 * last holder let go waits until then, charged to `category` (TIME_*). The lock is held
 * for real meanwhile, so its timeline word needs no atomics.
 */
export function kernelLockTimed(lock: u32, category: u32): void {
  lockAcquire(lock);
  cpuCharge(CPU_COST_LOCK, 1);
  if (timedMode()) {
    const free = load<u64>(lock + LOCK_TIMELINE);
    const now = cpuNow();
    if (free > now) cpuSpend(category, free - now);
  }
}

/** Release a lock taken with kernelLockTimed: its holder lets go at its own clock. */
export function kernelUnlockTimed(lock: u32): void {
  if (timedMode()) store<u64>(lock + LOCK_TIMELINE, cpuNow());
  lockRelease(lock);
}

/**
 * Charge this thread (the simulated CPU it runs) `times` × the modelled cost `which`
 * (memmap.ts CPU_COST_*): the work's CPU time on the modelled hardware, in ns.
 */
@inline export function cpuCharge(which: u32, times: u64): void {
  cpuChargeAs(TIME_WORK, which, times);
}

/** cpuCharge, the time charged to `category` (TIME_*) instead of the CPU's own work. */
@inline export function cpuChargeAs(category: u32, which: u32, times: u64): void {
  cpuSpend(category, times * <u64>load<u32>(CPU_COSTS + (which << 2)));
}

/**
 * lockAcquire that gives up after about `maxLooks` looks at a held lock: for readers that
 * must not spin forever on a lock whose holder died or whose word was corrupted.
 */
export function lockAcquireBounded(lock: u32, maxLooks: u32): bool {
  let looks: u32 = 0;
  while (looks < maxLooks) {
    if (atomic.load<i32>(lock) == 0 && atomic.cmpxchg<i32>(lock, 0, 1) == 0) return true;
    looks++;
  }
  return false;
}

export function lockTryAcquire(lock: u32): bool {
  return atomic.cmpxchg<i32>(lock, 0, 1) == 0;
}

/**
 * Read a word the caller is about to write, with a compare-and-swap that changes nothing:
 * the read takes its line for writing at once. A plain read of a line another worker wrote
 * last shares the line, and the write then has to take it again — two moves between the
 * workers' cores instead of one. (IOVAs freed on one CPU come back on another: their PTEs'
 * lines, and the magazine that carried them, were written last by the CPU that freed them.)
 * Costs a locked instruction, so callers use it once per line, not per word.
 */
@inline export function loadToWrite<T>(addr: u32): T {
  return atomic.cmpxchg<T>(addr, 0, 0);
}

export function lockRelease(lock: u32): void {
  if (atomic.sub<i32>(lock, 1) != 1) {
    atomic.store<i32>(lock, 0);
    atomic.notify(lock, 1);
  }
}
