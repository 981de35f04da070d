// Slot tables: a fixed array of same-size records in shared memory (page-table
// descriptors, IOVA domains, SMMU domains, SMMUs, DMA domains and devices), each starting
// with a state word that says whether the slot is free, being created, live, or being torn
// down. Any worker may create or destroy: a slot is claimed by compare-and-swap of its state
// (FREE → CREATING), filled in while no other thread looks at it, then published (LIVE);
// readers only trust a slot whose state reads LIVE. Written once here for every table.

import { ESIM_SLOTS_FULL } from "./errno";

/** What every slot's record starts with; the rest is the table's own record. */
@unmanaged export class SlotHeader {
  /** SLOT_*: claimed, published, retired and released with atomics (the functions below). */
  state: u32;
}

/** The state word of the slot at `slot`. */
@inline function stateWord(slot: u32): u32 {
  return slot + offsetof<SlotHeader>("state");
}

/**
 * Offset of the state word in every slot's record; the TypeScript side reads it (with
 * SLOT_LIVE) to check that an id a caller hands a worker names a live object.
 */
export const SLOT_STATE: u32 = offsetof<SlotHeader>("state");

export const SLOT_FREE: u32 = 0;
export const SLOT_CREATING: u32 = 1;
export const SLOT_LIVE: u32 = 2;
/** Being torn down (its owner frees it): no longer live, not yet reusable. */
export const SLOT_DYING: u32 = 3;

/** The address of slot `id` of a table at `base` with records of `stride` bytes. */
@inline export function slotAt(base: u32, stride: u32, id: u32): u32 {
  return base + id * stride;
}

/** Claim the first free slot (FREE → CREATING): its id, or -ESIM_SLOTS_FULL. */
export function slotClaim(base: u32, stride: u32, count: u32): i32 {
  for (let id: u32 = 0; id < count; id++) {
    if (atomic.cmpxchg<u32>(stateWord(slotAt(base, stride, id)), SLOT_FREE, SLOT_CREATING) == SLOT_FREE) return <i32>id;
  }
  return -ESIM_SLOTS_FULL;
}

/** The slot's record is complete: make it live (a release store, after every field). */
@inline export function slotPublish(slot: u32): void {
  atomic.store<u32>(stateWord(slot), SLOT_LIVE);
}

/** The address of slot `id` if it is live, else 0 (an id beyond the table included). */
@inline export function slotLive(base: u32, stride: u32, count: u32, id: u32): u32 {
  if (id >= count) return 0;
  const s = slotAt(base, stride, id);
  return atomic.load<u32>(stateWord(s)) == SLOT_LIVE ? s : 0;
}

/** Begin tearing a live slot down (LIVE → DYING); false if it was not live. */
@inline export function slotRetire(slot: u32): bool {
  return atomic.cmpxchg<u32>(stateWord(slot), SLOT_LIVE, SLOT_DYING) == SLOT_LIVE;
}

/** Give the slot back (after its record was cleared): reusable from now on. */
@inline export function slotRelease(slot: u32): void {
  atomic.store<u32>(stateWord(slot), SLOT_FREE);
}
