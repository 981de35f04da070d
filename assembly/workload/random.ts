// Random map/unmap: a driver that keeps up to `live` mappings of random sizes and, each
// operation, picks a slot at random — maps a buffer there if it is empty (and the device
// writes it), unmaps it otherwise. Sizes cross rcache bins and granule boundaries, so the
// allocator's caches, the tree and the page table's table pages all see churn.

import { ACCESS_WRITE } from "../smmu/translate";
import { randomOf, xorshift64 } from "../random";
import { W_MAX, W_MIN, W_PHYS, W_RING, W_RNG, WC_OPS, ringEntry, wcAdd } from "./state";
import { wlAccess, wlMap, wlUnmap } from "./driver";

const SLOT_PHYS: u64 = 0x800000; // 8 MiB per slot: room for the largest buffer

@inline function next(w: u32): u64 {
  const x = xorshift64(load<u64>(w + W_RNG));
  store<u64>(w + W_RNG, x);
  return randomOf(x);
}

export function randomOp(w: u32, cpu: u32): void {
  const slot = <u32>(next(w) % <u64>load<u32>(w + W_RING));
  const e = ringEntry(w, slot);
  const bytes = load<u32>(e + 8);
  if (bytes != 0) {
    const iova = load<u64>(e);
    if (iova != 0) wlUnmap(w, cpu, iova, bytes);
    store<u64>(e, 0);
    store<u32>(e + 8, 0);
  } else {
    const lo = load<u32>(w + W_MIN);
    const size = lo + <u32>(next(w) % <u64>(load<u32>(w + W_MAX) - lo + 1));
    const iova = wlMap(w, cpu, load<u64>(w + W_PHYS) + <u64>slot * SLOT_PHYS, size);
    store<u64>(e, iova);
    store<u32>(e + 8, size);
    if (iova != 0) wlAccess(w, iova, ACCESS_WRITE);
  }
  wcAdd(w, WC_OPS, 1);
}

/** End of the run: every live mapping is unmapped. */
export function randomDrain(w: u32, cpu: u32): void {
  const live = load<u32>(w + W_RING);
  for (let i: u32 = 0; i < live; i++) {
    const e = ringEntry(w, i);
    const bytes = load<u32>(e + 8);
    if (bytes != 0 && load<u64>(e) != 0) wlUnmap(w, cpu, load<u64>(e), bytes);
    store<u64>(e, 0);
    store<u32>(e + 8, 0);
  }
}
