// Which thread (worker) this Wasm instance runs on: its slot in the thread-slot table
// (memmap.ts ThreadSlot), where the simulated CPU it runs keeps its scratch, its modelled
// clock and where its time went (assembly/cpu-time.ts).
//
// These per-instance globals are the only mutable globals in the core; they describe the
// instance, never shared state (each worker's instance has its own copy).

import { MAX_THREADS, THREAD_SLOTS_BASE, THREAD_SLOT_SIZE, ThreadSlot } from "./memmap";

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

/** This thread's slot as its record. */
@inline export function thisThread(): ThreadSlot {
  return changetype<ThreadSlot>(slotBase());
}
