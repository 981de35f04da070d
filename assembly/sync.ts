// Synchronisation across workers that share one Wasm memory.
//
// Models the kernel's spinlock_t closely enough for the simulator: a lock word in shared
// memory taken with compare-and-swap. A holder can be descheduled (workers may outnumber
// cores), so after a short spin a waiter sleeps on the word with memory.atomic.wait32 —
// the futex mutex of Drepper's "Futexes Are Tricky" (0 free, 1 held, 2 held with waiters).
// A browser main thread may not block (wait32 traps there), so an instance attached with
// canBlock = false only spins.
//
// Per-instance globals (this thread's slot, whether it may block) are the only mutable
// globals in the core; they describe the instance, never shared state.

import { MAX_THREADS, THREAD_SLOTS_BASE, THREAD_SLOT_SIZE } from "./memmap";

let threadSlot: u32 = 0;
let mayBlock: bool = false;

/** Bind this instance to a thread slot (0 = the orchestrating thread). */
export function attachThread(slot: u32, canBlock: bool): bool {
  if (slot >= MAX_THREADS) return false;
  threadSlot = slot;
  mayBlock = canBlock;
  return true;
}

@inline export function currentSlot(): u32 {
  return threadSlot;
}

/** Base address of this thread's scratch slot. */
@inline export function slotBase(): u32 {
  return THREAD_SLOTS_BASE + threadSlot * THREAD_SLOT_SIZE;
}

const SPINS_BEFORE_SLEEP: i32 = 100;

export function lockAcquire(lock: u32): void {
  let c = atomic.cmpxchg<i32>(lock, 0, 1);
  if (c == 0) return;
  // Short spin: most critical sections here are a few hundred nanoseconds.
  for (let i = 0; i < SPINS_BEFORE_SLEEP; i++) {
    if (atomic.load<i32>(lock) == 0) {
      c = atomic.cmpxchg<i32>(lock, 0, 1);
      if (c == 0) return;
    }
  }
  // Contended: mark the lock as having waiters and sleep until it is released.
  if (c != 2) c = atomic.xchg<i32>(lock, 2);
  while (c != 0) {
    if (mayBlock) atomic.wait<i32>(lock, 2, -1);
    c = atomic.xchg<i32>(lock, 2);
  }
}

export function lockTryAcquire(lock: u32): bool {
  return atomic.cmpxchg<i32>(lock, 0, 1) == 0;
}

export function lockRelease(lock: u32): void {
  if (atomic.sub<i32>(lock, 1) != 1) {
    atomic.store<i32>(lock, 0);
    atomic.notify(lock, 1);
  }
}
