// The IOVA range allocator of drivers/iommu/iova.c (v5.15.16, v6.12, v7.1), reference §3.1–3.6:
// alloc_iova's top-down first-fit search (__alloc_and_insert_iova_range) with size
// alignment, the 32-bit and 64-bit cached nodes, max32_alloc_size, the second pass above
// the cached node (iova_find_limit); free_iova, find_iova, reserve_iova, and the cached-node
// maintenance on removal (__cached_rbnode_delete_update).
//
// Every decision is the kernel's. The kernel finds its gap by walking ranges downwards one at
// a time (the linear search behind production soft lockups, reference §7.4); searchFast()
// stops at exactly the node the kernel's walk would stop at, but jumps over the ranges the
// walk would merely pass, using the gap annotations of tree.ts. searchLinear() is the
// kernel's walk itself, kept for IF_LINEAR_SEARCH (benchmarks) and IF_VERIFY_SEARCH (both,
// compared). The number of nodes the kernel would have visited is counted either way.
//
// Kernel differences, by behaviour (assembly/behaviour.ts): without KB_IOVA_RETRY_ABOVE_CACHED
// (5.15.16) retry_pfn = cached.pfn_hi + 1 and the second pass starts at retry_pfn (which
// wraps to 0 from the anchor and can hand out PFNs below start_pfn); with it, pfn_hi and a
// start at pfn_hi + 1. On removal max32_alloc_size is reset only when cached32_node moved,
// or (KB_IOVA_MAX32_ANY_LOW_FREE) whenever a range below 4 GiB goes. Without
// KB_IOVA_LIMIT_NO_UNDERFLOW (no profile: the bug zoo's #11, 5016bdb796b3) a pass that stops
// at a range starting below the request's size trusts the wrapped candidate under it. The
// 2017 walk had the bug in its bound (pfn_lo − 1 at pfn 0); today's walk computes the same
// space as high_pfn − size, which is where the model takes the guard away.
// Every range handed out is checked against [start_pfn, limit] (belowStart, aboveLimit).
// Modelled CPU time: one CPU_COST_IOVA_TREE per allocation and per removal (rbtree search,
// insert or erase and rebalance), on top of the tree lock — a flat cost, whatever the walk's length.
// Left out: the iova_cache slab's own behaviour (see slab.ts), CPU hotplug registration.

import { cpuCharge, kernelLockTimed, kernelUnlockTimed } from "../sync";
import { TIME_IOVA_TREE_LOCK } from "../cpu-time";
import { CPU_COST_IOVA_TREE } from "../memmap";
import {
  I_ANCHOR, I_NODE_POOL, I_TREE_LOCK, IF_LINEAR_SEARCH, IF_VERIFY_SEARCH, IW_INSERT_DUP, IW_RESERVE_RANGE,
  iovaBlock, iovaHas,
} from "./layout";
import {
  belowNode, descents, eraseNode, first, gap, hi, insertNode, left, lo, lowerStart,
  lowestEndingAtOrAbove, maxGap, maxOrd, nodeInit, pred, rank, right, root, succ, findContaining,
} from "./tree";
import { poolAlloc, poolFree } from "./slab";
import { iovaWarn } from "./warn";
import { EEXIST, EINVAL, ENOMEM, ENOSPC, ESIM_IOVA_WRAPPED, ESIM_WOULD_HANG } from "../errno";
import { KB_IOVA_LIMIT_NO_UNDERFLOW, KB_IOVA_MAX32_ANY_LOW_FREE, KB_IOVA_RETRY_ABOVE_CACHED } from "../behaviour";

// Results (negative errnos, assembly/errno.ts; a PFN otherwise). Where the kernel returns
// NULL the reason is kept, so that callers and the replay can tell them apart.
export const IOVA_FAIL: i64 = -ENOSPC; //              no fit: the kernel returns NULL / 0
export const IOVA_NOMEM: i64 = -ENOMEM; //             no memory for a node: the kernel returns NULL too
export const IOVA_WOULD_HANG: i64 = -ESIM_WOULD_HANG; // 5.15.16 would retry forever (start_pfn reachable)
export const IOVA_DUP: i64 = -EEXIST; //               the tree refused a duplicate pfn_lo (WARN)
export const IOVA_BAD_RANGE: i64 = -EINVAL; //         reserve with lo > hi (the kernel would corrupt its tree)
export const IOVA_WRAPPED: i64 = -ESIM_IOVA_WRAPPED; //  handed out and inserted past the top (no KB_IOVA_LIMIT_NO_UNDERFLOW)

const ALL_ONES: u64 = 0xffffffffffffffff;

/** Where find_iova and reserve_iova put the range's bounds (the caller's result words). */
@unmanaged export class PfnRange {
  /** pfn_lo of the range. */
  lo: u64;
  /** pfn_hi of the range (inclusive). */
  hi: u64;
}

/** fls: 1-based index of the highest set bit, 0 for 0. */
@inline function fls64(x: u64): u64 {
  return 64 - clz(x);
}

// ── the kernel's walk ───────────────────────────────────────────────────────

/**
 * The kernel's do-while, node by node: returns the node it stops at (`prev` in the kernel).
 * high_pfn and the candidate follow from that node: hi = min(L, stop.pfn_lo).
 */
function searchLinear(start: u32, L: u64, low: u64, size: u64, mask: u64): u32 {
  let cur = start;
  let high = L;
  let prev: u32 = 0;
  let cand: u64 = 0;
  do {
    if (lo(cur) < high) high = lo(cur);
    cand = (high - size) & mask;
    prev = cur;
    cur = pred(cur);
  } while (cur != 0 && cand <= hi(cur) && cand >= low);
  return prev;
}

/** Does the gap just below n hold the candidate the kernel computes at n? (n.lo ≥ size) */
@inline function gapFits(n: u32, size: u64, mask: u64): bool {
  const g = gap(n);
  if (g == 0) return false;
  return ((lo(n) - size) & mask) > lo(n) - g - 1;
}

/**
 * Nodes the O(log n) search examined and hopped over on this thread (with floorNode's
 * descents, its own work; searchPass reads the difference). A Wasm global, per instance.
 */
let fastVisited: u64 = 0;

/**
 * The highest node with minKey ≤ pfn_lo ≤ maxKey whose gap fits, or 0. Subtrees whose
 * largest gap is too small, or (size-aligned) whose best aligned block is too small, are
 * skipped whole: that is what makes the search logarithmic.
 */
function findFit(n: u32, minKey: u64, maxKey: u64, size: u64, mask: u64, needOrd: i32): u32 {
  while (n != 0) {
    fastVisited++;
    if (maxGap(n) < size || maxOrd(n) < needOrd) return 0;
    const k = lo(n);
    if (k > maxKey) { n = left(n); continue; }
    if (k < minKey) { n = right(n); continue; }
    const r = findFit(right(n), minKey, maxKey, size, mask, needOrd);
    if (r != 0) return r;
    if (gapFits(n, size, mask)) return n;
    n = left(n);
  }
  return 0;
}

/**
 * The node the kernel's walk stops at, found in O(log n) jumps. At each node reached the
 * kernel's own stop test is evaluated exactly; a jump only passes over nodes where the walk
 * provably continues:
 *   - while pfn_lo ≥ L, high_pfn stays L and the candidate C is fixed: the walk goes on
 *     while the predecessor ends at or above C;
 *   - below L, high_pfn is the node's own pfn_lo: the walk stops at the first node whose gap
 *     fits, or whose candidate falls below `low` (pfn_lo < T), or that has no predecessor.
 */
function searchFast(d: u32, start: u32, L: u64, low: u64, size: u64, mask: u64): u32 {
  const align = ~mask + 1; // 1 when unaligned
  // T: the lowest pfn_lo whose candidate is still ≥ low (saturating).
  let T: u64 = ALL_ONES;
  const up = (low + align - 1) & mask;
  if (up >= low && up + size >= up) T = up + size;
  let needOrd: i32 = -1;
  if (align > 1) {
    const k = <i32>fls64(size - 1); // align = 2^k
    needOrd = (size == align) ? k : k - 1;
  }
  let cur = start;
  let high = L;
  for (;;) {
    fastVisited++;
    if (lo(cur) < high) high = lo(cur);
    const cand = (high - size) & mask;
    const p = pred(cur);
    if (p == 0 || !(cand <= hi(p) && cand >= low)) return cur;
    if (lo(cur) >= L) {
      // Phase 1: first node below cur whose predecessor ends below cand, or the phase end.
      let q = belowNode(d, cand);
      if (q != 0 && hi(q) >= cand) q = pred(q);
      const n1 = q != 0 ? succ(q) : first(d);
      const m = belowNode(d, L);
      cur = (m != 0 && lo(m) > lo(n1)) ? m : n1;
    } else {
      // Phase 2: the highest stopping node below cur.
      const curLo = lo(cur);
      let f: u32 = 0;
      if (T < curLo) f = findFit(root(d), T, curLo - 1, size, mask, needOrd);
      if (f != 0) { cur = f; continue; }
      const t = belowNode(d, T < curLo ? T : curLo);
      cur = t != 0 ? t : first(d);
    }
  }
  return 0; // not reached
}

/** One pass of the search from `start`; counts the nodes the kernel would visit. */
function searchPass(d: u32, start: u32, L: u64, low: u64, size: u64, mask: u64): u32 {
  const dom = iovaBlock(d);
  const flags = dom.flags;
  let stop: u32;
  let visits: u64;
  // A wrapped range in the tree (IOVA_WRAPPED, a kernel without KB_IOVA_LIMIT_NO_UNDERFLOW)
  // overlaps the ranges above it: the gaps the fast search jumps by no longer describe the
  // walk, and a jump can land where it started, forever. The kernel's own walk still ends
  // (it steps to the predecessor every time), so from then on the walk is the kernel's.
  const linear = (flags & IF_LINEAR_SEARCH) != 0 || dom.aboveLimit != 0;
  if (linear) {
    stop = searchLinear(start, L, low, size, mask);
    visits = 0;
  } else {
    const before = fastVisited + descents();
    stop = searchFast(d, start, L, low, size, mask);
    visits = fastVisited + descents() - before;
    if ((flags & IF_VERIFY_SEARCH) != 0 && searchLinear(start, L, low, size, mask) != stop) {
      dom.searchMismatches++;
    }
  }
  const steps = <u64>(rank(start) - rank(stop) + 1);
  dom.walkSteps += steps;
  if (steps > dom.walkMax) dom.walkMax = steps;
  if (linear) visits = steps;
  dom.searchVisits += visits;
  if (visits > dom.searchVisitsMax) dom.searchVisitsMax = visits;
  return stop;
}

/** iova_find_limit: where the second pass starts (any node above the gap gives the same). */
function findLimit(d: u32, L: u64): u32 {
  if (L > iovaBlock(d).dma32Pfn) return d + I_ANCHOR;
  return lowestEndingAtOrAbove(d, L);
}

/**
 * Did the pass that stopped at `stop` fail? (the kernel's checks, in its order). Without
 * KB_IOVA_LIMIT_NO_UNDERFLOW the first is missing, and a candidate that wrapped below pfn 0
 * passes the second.
 */
@inline function passFailed(d: u32, stop: u32, L: u64, low: u64, size: u64, mask: u64): bool {
  const high = lo(stop) < L ? lo(stop) : L;
  if (high < size && iovaHas(d, KB_IOVA_LIMIT_NO_UNDERFLOW)) return true;
  return ((high - size) & mask) < low;
}

/**
 * __alloc_and_insert_iova_range with the tree lock held: search, insert `node`, update the
 * cached nodes. Returns the new pfn_lo or a negative IOVA_* code.
 */
function allocLocked(d: u32, node: u32, size: u64, limit: u64, aligned: bool): i64 {
  const dom = iovaBlock(d);
  const L = limit + 1;
  const dma32 = dom.dma32Pfn;
  const mask: u64 = aligned ? ALL_ONES << fls64(size - 1) : ALL_ONES;
  const aboveCached = iovaHas(d, KB_IOVA_RETRY_ABOVE_CACHED);
  if (L <= dma32 && size >= dom.max32AllocSize) return IOVA_FAIL;

  let start = L <= dma32 ? dom.cached32Node : dom.cachedNode;
  // Before the fix the retry started at pfn_hi + 1, which wraps to 0 from the anchor.
  const retryPfn: u64 = aboveCached ? hi(start) : hi(start) + 1;
  const startPfn = dom.startPfn;
  let low = startPfn;
  let stop = searchPass(d, start, L, low, size, mask);
  if (passFailed(d, stop, L, low, size, mask)) {
    if (low == startPfn && retryPfn < L) {
      low = aboveCached ? retryPfn + 1 : retryPfn;
      dom.retries++;
      stop = searchPass(d, findLimit(d, L), L, low, size, mask);
      // Without KB_IOVA_RETRY_ABOVE_CACHED (5.15.16), retry_pfn == start_pfn would take this branch again, forever.
      if (passFailed(d, stop, L, low, size, mask) && low == startPfn && retryPfn < L) return IOVA_WOULD_HANG;
    }
    if (passFailed(d, stop, L, low, size, mask)) {
      dom.max32AllocSize = size;
      return IOVA_FAIL;
    }
  }
  const high = lo(stop) < L ? lo(stop) : L;
  const cand = (high - size) & mask;
  nodeInit(node, cand, cand + size - 1);
  if (!insertNode(d, node)) {
    // The kernel WARNs and leaves the node unlinked; unreachable for ranges found in gaps.
    iovaWarn(d, IW_INSERT_DUP, cand);
    return IOVA_DUP;
  }
  // __cached_rbnode_insert_update
  if (cand + size - 1 < dma32) dom.cached32Node = node;
  else dom.cachedNode = node;
  if (cand < startPfn) dom.belowStart++;
  if (cand + size - 1 > limit || cand + size - 1 < cand) {
    // Only the wrapped candidate gets here; no PFN ≥ 0 can carry it back (IOVA_WRAPPED).
    dom.aboveLimit++;
    return IOVA_WRAPPED;
  }
  return <i64>cand;
}

/**
 * alloc_iova: a range of `size` PFNs at or below `limit` (inclusive). PFN or IOVA_* < 0.
 * IOVA_WRAPPED is the buggy kernel's success: the range is in the tree, its bounds in `out`
 * (a PfnRange; 0 = nowhere).
 */
export function allocRange(d: u32, size: u64, limit: u64, aligned: bool, out: u32 = 0): i64 {
  const node = poolAlloc(d + I_NODE_POOL);
  if (node == 0) return IOVA_NOMEM;
  kernelLockTimed(d + I_TREE_LOCK, TIME_IOVA_TREE_LOCK);
  cpuCharge(CPU_COST_IOVA_TREE, 1);
  const r = allocLocked(d, node, size, limit, aligned);
  const inTree = r >= 0 || r == IOVA_WRAPPED;
  if (inTree) iovaBlock(d).allocs++;
  else iovaBlock(d).allocFails++;
  if (r == IOVA_WRAPPED && out != 0) {
    const range = changetype<PfnRange>(out);
    range.lo = lo(node);
    range.hi = hi(node);
  }
  kernelUnlockTimed(d + I_TREE_LOCK);
  if (!inTree) poolFree(d + I_NODE_POOL, node);
  return r;
}

// ── removal ─────────────────────────────────────────────────────────────────

/** remove_iova: cached-node maintenance, then unlink. Tree lock held; n is not the anchor. */
export function removeLocked(d: u32, n: u32): void {
  const dom = iovaBlock(d);
  const dma32 = dom.dma32Pfn;
  const anyLowFree = iovaHas(d, KB_IOVA_MAX32_ANY_LOW_FREE);
  const next = succ(n);
  const c32 = dom.cached32Node;
  if (n == c32 || (hi(n) < dma32 && lo(n) >= lo(c32))) {
    dom.cached32Node = next;
    if (!anyLowFree) dom.max32AllocSize = dma32;
  }
  if (anyLowFree && lo(n) < dma32) dom.max32AllocSize = dma32;
  if (lo(n) >= lo(dom.cachedNode)) dom.cachedNode = next;
  eraseNode(d, n);
  cpuCharge(CPU_COST_IOVA_TREE, 1);
  dom.frees++;
}

/** free_iova: remove the range containing pfn. An unknown pfn is a no-op (counted). */
export function freeRange(d: u32, pfn: u64): bool {
  kernelLockTimed(d + I_TREE_LOCK, TIME_IOVA_TREE_LOCK);
  const n = findContaining(d, pfn);
  if (n == 0 || n == d + I_ANCHOR) {
    iovaBlock(d).unknownFrees++;
    kernelUnlockTimed(d + I_TREE_LOCK);
    return false;
  }
  removeLocked(d, n);
  kernelUnlockTimed(d + I_TREE_LOCK);
  poolFree(d + I_NODE_POOL, n);
  return true;
}

/** find_iova: the range containing pfn; its bounds go to `out` (a PfnRange). */
export function findRange(d: u32, pfn: u64, out: u32): bool {
  kernelLockTimed(d + I_TREE_LOCK, TIME_IOVA_TREE_LOCK);
  const n = findContaining(d, pfn);
  if (n != 0) {
    const r = changetype<PfnRange>(out);
    r.lo = lo(n);
    r.hi = hi(n);
  }
  kernelUnlockTimed(d + I_TREE_LOCK);
  return n != 0;
}

// ── reserve_iova ────────────────────────────────────────────────────────────

/**
 * reserve_iova: mark [pfnLo, pfnHi] allocated. Overlapping ranges are merged as the kernel
 * merges them: the first one is extended down to pfnLo, the rest of the request continues
 * above it, and a remainder that no range covers gets a node of its own. The returned
 * range's bounds go to `out` (a PfnRange). 0 on success, IOVA_* otherwise.
 */
export function reserveRange(d: u32, pfnLo: u64, pfnHi: u64, out: u32): i64 {
  const maxPfn = ALL_ONES >> <u64>iovaBlock(d).shift;
  if ((pfnLo | pfnHi) > maxPfn) {
    iovaWarn(d, IW_RESERVE_RANGE, pfnHi);
    return IOVA_FAIL;
  }
  if (pfnLo > pfnHi) return IOVA_BAD_RANGE;
  kernelLockTimed(d + I_TREE_LOCK, TIME_IOVA_TREE_LOCK);
  let lowPfn = pfnLo;
  let overlap = false;
  let result: u32 = 0;
  // The kernel walks from the lowest range; ranges ending below the request cannot overlap.
  for (let n = lowestEndingAtOrAbove(d, lowPfn); n != 0; n = succ(n)) {
    if (lo(n) <= pfnHi && lowPfn <= hi(n)) {
      if (lowPfn < lo(n)) lowerStart(n, lowPfn);
      if (pfnHi > hi(n)) lowPfn = hi(n) + 1;
      if (lowPfn >= lo(n) && pfnHi <= hi(n)) { result = n; break; }
      overlap = true;
    } else if (overlap || lo(n) > pfnHi) {
      break;
    }
  }
  let r: i64 = 0;
  if (result == 0) {
    const node = poolAlloc(d + I_NODE_POOL);
    if (node == 0) r = IOVA_NOMEM;
    else {
      nodeInit(node, lowPfn, pfnHi);
      if (insertNode(d, node)) result = node;
      else {
        iovaWarn(d, IW_INSERT_DUP, lowPfn);
        poolFree(d + I_NODE_POOL, node);
        r = IOVA_DUP;
      }
    }
  }
  if (result != 0) {
    const range = changetype<PfnRange>(out);
    range.lo = lo(result);
    range.hi = hi(result);
  }
  kernelUnlockTimed(d + I_TREE_LOCK);
  return r;
}
