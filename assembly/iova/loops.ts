// Batched IOVA-allocator loops for benchmarks and throughput runs: many allocations and
// frees in one call (the JS→Wasm boundary crossed once per batch). They drive the
// allocator (alloc.ts, rcache.ts) the way its callers do — the fast path as dma-iommu
// uses it, the tree as reserve/alloc_iova users do; nothing here is kernel behaviour of
// its own. Each returns the number of failures, or a negative errno.

import { ZONE_KHEAP } from "../memmap";
import { frameAddr, orderForBytes, zoneAlloc, zoneFree } from "../phys";
import { randomOf, seedState, xorshift64 } from "../random";
import { claimIovaCpu } from "../cpu-owner";
import { ESIM_ARGS, ESIM_KHEAP, ESIM_NO_IOVA_DOMAIN } from "../errno";
import { liveDomain } from "./domain";
import { allocRange, freeRange } from "./alloc";
import { iovaHas } from "./layout";
import { KB_IOVA_FAST_ROUNDS } from "../behaviour";
import { allocFast, freeFast, orderBase2 } from "./rcache";

export const FAST_SIZES_ONE: u32 = 0; //     1 page every time
export const FAST_SIZES_POW2: u32 = 1; //    1, 2, 4, 8 pages in turn
export const FAST_SIZES_1_TO_8: u32 = 2; //  1, 2, …, 8 pages in turn (rounded as dma-iommu does)

export const TREE_POPULATE: u32 = 0; //  `count` single-page alloc_iova (size-aligned) below limit
export const TREE_PAIRS: u32 = 1; //     `count` × (alloc_iova 1 page, free_iova it)
export const TREE_REFILL: u32 = 2; //    `count` × (free_iova a random range of [spanLo, spanLo + spanN), alloc_iova again)

/** A range iova_loop_cross holds between its allocations and its frees (kheap scratch). */
@unmanaged class HeldRange {
  /** Its first PFN, from alloc_iova_fast. */
  pfn: u64;
  /** Its size in PFNs, as asked. */
  pages: u64;
}
const HELD_RANGE: u32 = offsetof<HeldRange>();

/**
 * Whether the caller rounds a size up to a power of two before alloc_iova_fast: before
 * KB_IOVA_FAST_ROUNDS dma-iommu did; later alloc_iova_fast does it itself. Asked once per
 * loop, not per pair (the loops measure the allocator, not this question).
 */
@inline function callerRounds(d: u32): bool {
  return !iovaHas(d, KB_IOVA_FAST_ROUNDS);
}

/** The k-th size of a FAST_SIZES_* sequence, as the caller hands it to alloc_iova_fast. */
@inline function fastSize(mode: u32, k: u32, round: bool): u64 {
  let size: u64 = 1;
  if (mode == FAST_SIZES_POW2) size = <u64>1 << <u64>(k & 3);
  else if (mode == FAST_SIZES_1_TO_8) size = <u64>(k & 7) + 1;
  if (round && size > 1) size = <u64>1 << <u64>orderBase2(size);
  return size;
}

/**
 * `count` alloc_iova_fast + free_iova_fast pairs on `cpu`, each range freed right away.
 * Sizes per `mode`. Returns the number of failed allocations, or a negative errno.
 */
export function iova_loop_fast_pairs(id: u32, cpu: u32, count: u32, mode: u32, limit: f64): f64 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  if (mode > FAST_SIZES_1_TO_8) return -ESIM_ARGS;
  const c = claimIovaCpu(d, cpu);
  if (c != 0) return c;
  const lim = <u64>limit;
  const round = callerRounds(d);
  let failures: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const size = fastSize(mode, i, round);
    const pfn = allocFast(d, cpu, size, lim, true);
    if (pfn <= 0) { failures++; continue; }
    freeFast(d, cpu, <u64>pfn, size);
  }
  return <f64>failures;
}

/**
 * `count` rounds of: allocate `batch` ranges with alloc_iova_fast on `cpuA`, then free them
 * all with free_iova_fast on `cpuB` — every range crosses CPUs, so full magazines go
 * through the depot every IOVA_MAG_SIZE operations (the traffic the depot lock guards).
 * Sizes per `mode`. The batch lives in kheap scratch for the call. Returns the number of
 * failed allocations, or a negative errno.
 */
export function iova_loop_cross(id: u32, cpuA: u32, cpuB: u32, count: u32, batch: u32,
                                mode: u32, limit: f64): f64 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  if (mode > FAST_SIZES_1_TO_8 || batch == 0 || batch > 65536) return -ESIM_ARGS;
  let c = claimIovaCpu(d, cpuA);
  if (c == 0) c = claimIovaCpu(d, cpuB);
  if (c != 0) return c;
  const frame = zoneAlloc(ZONE_KHEAP, orderForBytes(<u64>batch * HELD_RANGE));
  if (frame < 0) return -ESIM_KHEAP;
  const scratch = frameAddr(ZONE_KHEAP, <u32>frame);
  const lim = <u64>limit;
  const round = callerRounds(d);
  let failures: u32 = 0;
  let k: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    let held: u32 = 0;
    for (let j: u32 = 0; j < batch; j++, k++) {
      const size = fastSize(mode, k, round);
      const pfn = allocFast(d, cpuA, size, lim, true);
      if (pfn <= 0) { failures++; continue; }
      const h = changetype<HeldRange>(scratch + held * HELD_RANGE);
      h.pfn = <u64>pfn;
      h.pages = size;
      held++;
    }
    for (let j: u32 = 0; j < held; j++) {
      const h = changetype<HeldRange>(scratch + j * HELD_RANGE);
      freeFast(d, cpuB, h.pfn, h.pages);
    }
  }
  zoneFree(ZONE_KHEAP, <u32>frame);
  return <f64>failures;
}

/**
 * Tree-path loops (TREE_*). Returns failures (an allocation that failed, or in TREE_REFILL
 * one that did not land in the hole just made), or a negative errno.
 */
export function iova_loop_tree(id: u32, mode: u32, count: u32, seed: u32, limit: f64,
                               spanLo: f64, spanN: u32): f64 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  if (mode > TREE_REFILL || (mode == TREE_REFILL && spanN == 0)) return -ESIM_ARGS;
  const lim = <u64>limit;
  const base = <u64>spanLo;
  let x = seedState(seed == 0 ? 1 : seed);
  let failures: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    if (mode == TREE_POPULATE) {
      if (allocRange(d, 1, lim, true) < 0) failures++;
    } else if (mode == TREE_PAIRS) {
      const pfn = allocRange(d, 1, lim, true);
      if (pfn < 0) { failures++; continue; }
      freeRange(d, <u64>pfn);
    } else {
      x = xorshift64(x);
      const victim = base + randomOf(x) % <u64>spanN;
      freeRange(d, victim);
      if (allocRange(d, 1, lim, true) != <i64>victim) failures++;
    }
  }
  return <f64>failures;
}
