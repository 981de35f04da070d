// Random map/unmap: a driver that keeps up to `live` mappings of random sizes and, each
// operation, picks a slot at random — maps a buffer there if it is empty (and the device
// writes it), unmaps it otherwise. Sizes cross rcache bins and granule boundaries, so the
// allocator's caches, the tree and the page table's table pages all see churn.

import { ACCESS_WRITE } from "../smmu/translate";
import { randomOf, xorshift64 } from "../random";
import { WC_OPS, WorkloadCpu, ringEntry, wcAdd } from "./state";
import { wlAccess, wlMap, wlUnmap } from "./driver";

const SLOT_PHYS: u64 = 0x800000; // 8 MiB per slot: room for the largest buffer

@inline function next(w: WorkloadCpu): u64 {
  const x = xorshift64(w.rng);
  w.rng = x;
  return randomOf(x);
}

export function randomOp(w: WorkloadCpu, cpu: u32): void {
  const slot = <u32>(next(w) % <u64>w.ring);
  const e = ringEntry(w, slot);
  const bytes = e.bytes;
  if (bytes != 0) {
    const iova = e.iova;
    if (iova != 0) wlUnmap(w, cpu, iova, bytes);
    e.iova = 0;
    e.bytes = 0;
  } else {
    const lo = w.min;
    const size = lo + <u32>(next(w) % <u64>(w.max - lo + 1));
    const iova = wlMap(w, cpu, w.phys + <u64>slot * SLOT_PHYS, size);
    e.iova = iova;
    e.bytes = size;
    if (iova != 0) wlAccess(w, iova, ACCESS_WRITE);
  }
  wcAdd(w, WC_OPS, 1);
}

/** End of the run: every live mapping is unmapped. */
export function randomDrain(w: WorkloadCpu, cpu: u32): void {
  const live = w.ring;
  for (let i: u32 = 0; i < live; i++) {
    const e = ringEntry(w, i);
    const bytes = e.bytes;
    if (bytes != 0 && e.iova != 0) wlUnmap(w, cpu, e.iova, bytes);
    e.iova = 0;
    e.bytes = 0;
  }
}
