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
// until the OS runs the holder again, never correctness. One held by a worker that will
// never run again — the orchestrator stopped it mid-task — is given up on (lockAcquire).
//
// This thread's slot lives in assembly/thread.ts (re-exported here for the units that take
// locks and charge time together).

import { CONTROL_BASE, ControlBlock, CPU_COST_LOCK, MAX_THREADS } from "./memmap";
import { TIME_WORK, cpuNow, cpuSpend, timedMode } from "./cpu-time";
import { currentSlot } from "./thread";

export { attachThread, currentSlot, slotBase, thisThread } from "./thread";

/** Where the CPU costs start (ControlBlock.cpuCosts, u32 ns each, indexed by CPU_COST_*). */
const CPU_COSTS: u32 = CONTROL_BASE + offsetof<ControlBlock>("cpuCosts");

/** Longest backoff between two looks at a held lock, in pause iterations. */
const MAX_BACKOFF: i32 = 1024;

/** ControlBlock.stoppedSlots: bit s set once the worker in thread slot s was stopped mid-task. */
const STOPPED_SLOTS: u32 = CONTROL_BASE + offsetof<ControlBlock>("stoppedSlots");

/** The word a lock holds while this thread has it: its thread slot + 1 (0 is free). */
@inline function holderWord(): i32 {
  return <i32>currentSlot() + 1;
}

/** The thread slot holding the lock at `lock` (its word − 1), or −1: free, or a word no thread wrote. */
@inline export function lockHolder(lock: u32): i32 {
  const word = atomic.load<i32>(lock);
  return word > 0 && <u32>word <= MAX_THREADS ? word - 1 : -1;
}

/**
 * Whether the lock at `lock` is held by a worker the orchestrator stopped mid-task
 * (ControlBlock.stoppedSlots): it died holding it, and will never let go.
 */
@inline function heldByStopped(lock: u32): bool {
  const stopped = atomic.load<u64>(STOPPED_SLOTS);
  if (stopped == 0) return false;
  const holder = lockHolder(lock);
  return holder >= 0 && ((stopped >> <u64>holder) & 1) != 0;
}

/**
 * Give up a wait for another thread that may be a worker stopped mid-task: trap — the one
 * way out of a wait that leaves every caller as it is — and let the facade
 * (bindings/core.ts, Core.raw) turn it into a MachineStoppedError that says why.
 */
@inline export function giveUpWait(): void {
  unreachable();
}

/**
 * How many looks a wait with no holder to name (CPUs to park, a pause to end) makes before it
 * gives up, once a worker was stopped mid-task (ControlBlock.stoppedSlots) — it may be the
 * one waited for. Live threads answer within microseconds; 2^28 looks is a good part of a
 * second, beyond any time slice a descheduled live thread could miss.
 */
const STOPPED_WAIT_LOOKS: u32 = 1 << 28;

/**
 * A wait with no holder to name looks once more: true when it should give up (a worker was
 * stopped mid-task, and the wait has gone on `looks` ≥ STOPPED_WAIT_LOOKS).
 */
@inline export function waitedForStopped(looks: u32): bool {
  return looks >= STOPPED_WAIT_LOOKS && atomic.load<u64>(STOPPED_SLOTS) != 0;
}

/**
 * Take a spinlock. The lock word holds its holder's thread slot + 1, so that a waiter can
 * tell a holder that died: once the orchestrator stopped a worker mid-task, a lock it held
 * stays held, and a thread that meets one gives up (giveUpWait) instead of spinning for good.
 * A lock taken on one thread and let go on another still works; only the name is off then.
 */
export function lockAcquire(lock: u32): void {
  const me = holderWord();
  if (atomic.cmpxchg<i32>(lock, 0, me) == 0) return;
  let backoff: i32 = 4;
  for (;;) {
    // Read-only wait while held, then one attempt.
    for (let i = 0; i < backoff; i++) {
      if (atomic.load<i32>(lock) == 0) break;
    }
    if (atomic.load<i32>(lock) == 0 && atomic.cmpxchg<i32>(lock, 0, me) == 0) return;
    if (backoff < MAX_BACKOFF) backoff <<= 1;
    if (heldByStopped(lock)) giveUpWait();
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
 * lockAcquire that gives up after about `maxLooks` looks at a held lock, or at once when its
 * holder is a worker stopped mid-task (heldByStopped): for readers that must not spin
 * forever on a lock whose holder died or whose word was corrupted.
 */
export function lockAcquireBounded(lock: u32, maxLooks: u32): bool {
  const me = holderWord();
  let looks: u32 = 0;
  while (looks < maxLooks) {
    if (atomic.load<i32>(lock) == 0 && atomic.cmpxchg<i32>(lock, 0, me) == 0) return true;
    if (heldByStopped(lock)) return false;
    looks++;
  }
  return false;
}

export function lockTryAcquire(lock: u32): bool {
  return atomic.cmpxchg<i32>(lock, 0, holderWord()) == 0;
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
  // Nobody sleeps on a lock word (see the top of this file): letting go is a store.
  atomic.store<i32>(lock, 0);
}
