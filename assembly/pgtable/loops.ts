// Batched page-table loops for benchmarks and throughput runs: many map/unmap pairs or
// walks in one call, so that the JS→Wasm boundary is crossed once per batch, not per
// operation. They exercise io-pgtable-arm (lpae.ts) through the same paths the DMA layer
// uses; nothing here is kernel behaviour of its own.

import { ThreadSlot } from "../memmap";
import { slotBase, thisThread } from "../sync";
import { randomOf, seedState, xorshift64 } from "../random";
import { liveTable } from "./config";
import { iovaToPhys, mapPages, unmapPages } from "./lpae";
import { gatherInit, iotlbSync } from "../iommu/gather";

/**
 * `count` strict map+unmap pairs of one `pgsize` page at random page-aligned IOVAs in
 * [base, base + span), each mapped to PA = IOVA. Returns the number of pairs that did not
 * map and unmap exactly one page (0 on a table with no other mappings in the span); all of
 * them (`count`) when the table is not live or the seed or span is 0.
 */
export function pgt_loop_map_unmap(id: u32, base: f64, span: f64, pgsize: f64, count: u32,
                                   seed: u32, prot: u32): u32 {
  const d = liveTable(id);
  if (d == 0 || seed == 0) return count;
  const size = <u64>pgsize;
  const pages = <u64>span / size;
  if (pages == 0) return count;
  const slot = thisThread();
  const out = slotBase() + offsetof<ThreadSlot>("result0");
  const gather = slotBase() + offsetof<ThreadSlot>("gather");
  let x = seedState(seed);
  let failures: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    x = xorshift64(x);
    const iova = <u64>base + (randomOf(x) % pages) * size;
    slot.result0 = 0;
    if (mapPages(d, iova, iova, size, 1, prot, out) != 0) failures++;
    gatherInit(gather, false);
    if (unmapPages(d, gather, iova, size, 1) != size) failures++;
    iotlbSync(d, gather);
  }
  return failures;
}

/** `count` iova_to_phys walks at random IOVAs in [base, base + span); a checksum, or -1. */
export function pgt_loop_walk(id: u32, base: f64, span: f64, count: u32, seed: u32): f64 {
  const d = liveTable(id);
  if (d == 0 || seed == 0 || span < 1) return -1;
  let x = seedState(seed);
  let sum: u64 = 0;
  const s = <u64>span;
  for (let i: u32 = 0; i < count; i++) {
    x = xorshift64(x);
    sum += iovaToPhys(d, <u64>base + randomOf(x) % s);
  }
  return <f64>(sum & 0xfffffffffffff);
}
