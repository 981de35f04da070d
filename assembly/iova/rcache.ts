// The per-CPU IOVA range caches of drivers/iommu/iova.c (reference §3.7–3.11), v5.15.16,
// v6.12 and v7.1: six bins (orders 0..5, ranges up to 32 pages; larger ones bypass), per
// simulated CPU a `loaded` and a `prev` magazine per bin (of the domain's IOVA_MAG_SIZE),
// and per bin a depot shared by all CPUs — a fixed LIFO array of 32 magazines (a full depot
// drains a whole magazine into the tree), or with KB_IOVA_DEPOT_LIST an unbounded list
// trimmed by delayed work every 100 ms down to the number of CPUs. alloc_iova_fast / free_iova_fast, the
// flush-everything-and-retry, free_cpu_cached_iovas and free_global_cached_iovas.
//
// Locks, nested as in the kernel: the CPU's per-bin lock, then the bin's depot lock, then
// the tree lock (returning PFNs), then the magazine pool. A CPU's caches are used only by
// the thread that claimed that simulated CPU (assembly/cpu-owner.ts); the locks are still taken, because
// a flush (alloc_iova_fast's retry, flushcpu/flushall) reaches every CPU from any thread.
//
// The rcache does no validation, exactly like the kernel: whatever PFN is freed into a bin
// comes back out of it. IF_CHECK_FAST_FREES only counts frees of PFNs that start no range.
// Modelled CPU time: CPU_COST_IOVA_RCACHE for each PFN a magazine gives or takes on the fast
// path, on top of the locks (kernelLock charges those); a miss costs only its lock. In timed
// runs a magazine line or the depot's line another CPU wrote last moves first
// (line-sharing.ts): the cost of magazines changing CPUs through the depot.
// A CPU's new magazine is the empty one it freed last, if any (slab.ts poolAllocLocal: SLUB's
// per-CPU freelist), so a magazine changes CPUs only full, through the depot, as in the kernel.
// Left out: CPU hotplug (a simulated CPU never goes offline), GFP flags other than the
// failatomic switch, the rest of the magazine slab's per-CPU behaviour.

import { cpuCharge, kernelLock, kernelLockTimed, kernelUnlockTimed, loadToWrite, lockRelease } from "../sync";
import { TIME_DEPOT_LOCK, TIME_IOVA_TREE_LOCK } from "../cpu-time";
import { CACHE_LINE, CPU_COST_IOVA_RCACHE } from "../memmap";
import { jiffiesNow } from "../clock";
import { linesWritten } from "../line-sharing";
import {
  DEPOT_DELAY_JIFFIES, DEPOT_STRIDE, Depot, I_DEPOT, I_MAG_POOL, I_NODE_POOL,
  I_ST_BAD_FAST_FREES, I_ST_DEPOT_DRAINS, I_ST_DEPOT_FULL_FLUSHES, I_ST_DEPOT_RECLAIMS, I_ST_FLUSH_RETRIES,
  I_ST_BUGS, I_ST_MAG_ALLOC_FAILS, I_ST_ZERO_PFN_FAST, I_TREE_LOCK, IF_CHECK_FAST_FREES, IF_FAIL_ATOMIC,
  IF_NO_DEPOT_LOCK, IW_MAG_PFN_MISSING, M_SIZE, Magazine, MAX_GLOBAL_MAGS, PerCpuCache, PC_SPARE, PC_STRIDE, RCACHE_BINS,
  iovaBlock, iovaFlags, iovaHas,
} from "./layout";
import { allocRange, freeRange, removeLocked, IOVA_WOULD_HANG, IOVA_WRAPPED } from "./alloc";
import { KB_IOVA_DEPOT_FULL_FLUSH, KB_IOVA_DEPOT_LIST, KB_IOVA_FAST_ROUNDS } from "../behaviour";
import { findContaining, lo } from "./tree";
import { poolAlloc, poolAllocLocal, poolFree, poolFreeLocal, poolGiveBack } from "./slab";
import { iovaWarn } from "./warn";

// ── addressing ──────────────────────────────────────────────────────────────

/** `cpu`'s cache for `bin`. */
@inline function cpuBin(d: u32, cpu: u32, bin: u32): PerCpuCache {
  return changetype<PerCpuCache>(iovaBlock(d).rcaches + (cpu * RCACHE_BINS + bin) * PC_STRIDE);
}

@inline function cacheLock(pc: PerCpuCache): u32 {
  return changetype<u32>(pc) + offsetof<PerCpuCache>("lock");
}

/** `bin`'s depot. */
@inline function depotOf(d: u32, bin: u32): Depot {
  return changetype<Depot>(d + I_DEPOT + bin * DEPOT_STRIDE);
}

@inline function magSize(d: u32): u32 {
  return iovaBlock(d).magSize;
}

@inline function magAt(m: u32): Magazine {
  return changetype<Magazine>(m);
}

@inline function count(m: u32): u32 {
  return magAt(m).size;
}

/** Address of the magazine's i-th PFN. */
@inline function pfnSlot(m: u32, i: u32): u32 {
  return m + offsetof<Magazine>("pfns") + (i << 3);
}

@inline function pfnAt(m: u32, i: u32): u64 {
  return load<u64>(pfnSlot(m, i));
}

/** order_base_2: ceil(log2 n), 0 for n ≤ 1. */
@inline export function orderBase2(n: u64): u32 {
  return n <= 1 ? 0 : <u32>(64 - clz(n - 1));
}

// ── locks (the depot's can be switched off for a test mutant) ───────────────

@inline function depotLock(d: u32, dp: Depot): void {
  if ((iovaBlock(d).flags & IF_NO_DEPOT_LOCK) == 0) kernelLockTimed(changetype<u32>(dp) + offsetof<Depot>("lock"), TIME_DEPOT_LOCK);
}

@inline function depotUnlock(d: u32, dp: Depot): void {
  if ((iovaBlock(d).flags & IF_NO_DEPOT_LOCK) == 0) kernelUnlockTimed(changetype<u32>(dp) + offsetof<Depot>("lock"));
}

/** Address of the array depot's slot `i`. */
@inline function depotSlot(dp: Depot, i: u32): u32 {
  return changetype<u32>(dp) + offsetof<Depot>("mags") + (i << 2);
}

/** Whether the bin's reclaim work is scheduled (read without the depot lock). */
@inline function reclaimPending(dp: Depot): bool {
  return atomic.load<u32>(changetype<u32>(dp) + offsetof<Depot>("workPending")) != 0;
}

// ── magazines ───────────────────────────────────────────────────────────────

/** A new empty magazine from `pc`'s insert path (GFP_ATOMIC): may fail. The one `pc` freed last if any. */
function magAllocAtomic(d: u32, pc: PerCpuCache): u32 {
  if ((iovaFlags(d) & IF_FAIL_ATOMIC) != 0) {
    atomic.add<u32>(d + I_ST_MAG_ALLOC_FAILS, 1);
    return 0;
  }
  const m = poolAllocLocal(d + I_MAG_POOL, spareList(pc));
  if (m == 0) atomic.add<u32>(d + I_ST_MAG_ALLOC_FAILS, 1);
  return m;
}

@inline function magFree(d: u32, mag: u32): void {
  poolFree(d + I_MAG_POOL, mag);
}

/** Free a magazine `pc` emptied onto its own list: its next magAllocAtomic reuses it, lines and all. */
@inline function magFreeLocal(d: u32, pc: PerCpuCache, mag: u32): void {
  poolFreeLocal(d + I_MAG_POOL, spareList(pc), mag);
}

@inline function spareList(pc: PerCpuCache): u32 {
  return changetype<u32>(pc) + PC_SPARE;
}

/**
 * iova_magazine_free_pfns: return every PFN to the tree (the range containing it is
 * removed; a PFN in no range is a WARN and is skipped), leaving the magazine empty.
 */
export function magReturnPfns(d: u32, mag: u32): void {
  kernelLockTimed(d + I_TREE_LOCK, TIME_IOVA_TREE_LOCK);
  let n = count(mag);
  if (n > magSize(d)) {
    atomic.add<u32>(d + I_ST_BUGS, 1);
    n = magSize(d);
  }
  for (let i: u32 = 0; i < n; i++) {
    const pfn = pfnAt(mag, i);
    const node = findContaining(d, pfn);
    if (node == 0) {
      iovaWarn(d, IW_MAG_PFN_MISSING, pfn);
      continue;
    }
    removeLocked(d, node);
    poolFree(d + I_NODE_POOL, node);
  }
  magAt(mag).size = 0;
  kernelUnlockTimed(d + I_TREE_LOCK);
}

/**
 * iova_magazine_pop: from the top down, the first PFN ≤ limit; its slot takes the top
 * PFN. 0 if none qualifies. The magazine is not empty (the kernel BUGs if it is; so do we,
 * softly: counted, and nothing popped).
 */
function magPop(d: u32, mag: u32, limit: u64): u64 {
  if (count(mag) - 1 >= magSize(d)) {
    atomic.add<u32>(d + I_ST_BUGS, 1);
    return 0;
  }
  const top = count(mag) - 1;
  // Pops go down the magazine, and pushes come back up over the same slots: a slot that
  // ends its line is read for writing (loadToWrite), as the line of a magazine another CPU
  // filled would otherwise move here twice, once for the read and again for the write.
  const topSlot = pfnSlot(mag, top);
  let pfn = ((topSlot + sizeof<u64>()) & (CACHE_LINE - 1)) == 0 ? loadToWrite<u64>(topSlot) : load<u64>(topSlot);
  let i = top;
  while (pfn > limit) {
    if (i == 0) return 0;
    i--;
    pfn = pfnAt(mag, i);
  }
  // The kernel stores the top PFN into slot i even when i is the top, a store that changes
  // nothing; modelled time charges it all the same (magLinesWritten).
  if (i != top) store<u64>(pfnSlot(mag, i), pfnAt(mag, top));
  magAt(mag).size = top;
  magLinesWritten(mag, i);
  return pfn;
}

/** Push onto a magazine that is not full (a full one is a corrupted state: counted, dropped). */
@inline function magPush(d: u32, mag: u32, pfn: u64): void {
  const n = count(mag);
  if (n >= magSize(d)) {
    atomic.add<u32>(d + I_ST_BUGS, 1);
    return;
  }
  store<u64>(pfnSlot(mag, n), pfn);
  magAt(mag).size = n + 1;
  magLinesWritten(mag, n);
}

/**
 * A push or pop wrote the magazine's size word and its i-th PFN: lines another CPU filled
 * (a magazine taken from the depot) move here (line-sharing.ts). A pop also reads the top PFN,
 * which is slot i but for a PFN above the limit; that line is charged at the next pop instead.
 */
@inline function magLinesWritten(mag: u32, i: u32): void {
  linesWritten(mag + M_SIZE, sizeof<u32>());
  linesWritten(pfnSlot(mag, i), sizeof<u64>());
}

/** A push or pop wrote the depot's size and head (and with the list depot, a magazine's link word). */
@inline function depotLinesWritten(dp: Depot): void {
  linesWritten(changetype<u32>(dp) + offsetof<Depot>("size"), offsetof<Depot>("workPending") - offsetof<Depot>("size"));
}

// ── the depot (bin's depot lock held) ───────────────────────────────────────

/** Park a full magazine; the array depot returns it instead when its 32 slots are taken. */
function depotPush(d: u32, dp: Depot, mag: u32): u32 {
  const size = dp.size;
  if (iovaHas(d, KB_IOVA_DEPOT_LIST)) {
    // The link shares the magazine's size word (depot magazines are always full).
    magAt(mag).size = dp.head;
    dp.head = mag;
    linesWritten(mag + M_SIZE, sizeof<u32>());
  } else {
    if (size >= MAX_GLOBAL_MAGS) return mag;
    store<u32>(depotSlot(dp, size), mag);
    linesWritten(depotSlot(dp, size), sizeof<u32>());
  }
  dp.size = size + 1;
  depotLinesWritten(dp);
  return 0;
}

/** Take a full magazine (LIFO in both depots); 0 when the depot is empty. */
function depotPop(d: u32, dp: Depot): u32 {
  // A plain read: a CPU finding the depot empty writes nothing, so its line stays shared
  // (read for writing, an empty depot both CPUs look at would move on every look).
  const size = dp.size;
  if (size == 0) return 0;
  let mag: u32;
  if (iovaHas(d, KB_IOVA_DEPOT_LIST)) {
    mag = dp.head;
    if (mag == 0) return 0;
    dp.head = loadToWrite<u32>(mag + M_SIZE); // its link word, written next
    magAt(mag).size = magSize(d);
    linesWritten(mag + M_SIZE, sizeof<u32>());
  } else {
    mag = load<u32>(depotSlot(dp, size - 1));
  }
  dp.size = size - 1;
  depotLinesWritten(dp);
  return mag;
}

/** schedule_delayed_work(&rcache->work, IOVA_DEPOT_DELAY) of the list depot: a no-op while pending. */
function scheduleReclaim(dp: Depot): void {
  if (dp.workPending != 0) return;
  dp.workDue = jiffiesNow() + DEPOT_DELAY_JIFFIES;
  dp.workPending = 1;
}

// ── insert / get ────────────────────────────────────────────────────────────

/** __iova_rcache_insert on `cpu`: false if the PFN could not be cached. */
function rcacheInsert(d: u32, cpu: u32, bin: u32, pfn: u64): bool {
  const pc = cpuBin(d, cpu, bin);
  const full = magSize(d);
  let toFree: u32 = 0;
  let canInsert = false;
  let flush = false;
  kernelLock(cacheLock(pc));
  const loaded = pc.loaded;
  const prev = pc.prev;
  if (count(loaded) < full) {
    canInsert = true;
  } else if (count(prev) < full) {
    pc.loaded = prev;
    pc.prev = loaded;
    canInsert = true;
  } else {
    const fresh = magAllocAtomic(d, pc);
    if (fresh != 0) {
      const dp = depotOf(d, bin);
      depotLock(d, dp);
      // With KB_IOVA_DEPOT_FULL_FLUSH a full array depot flushes every CPU instead of draining one magazine.
      flush = iovaHas(d, KB_IOVA_DEPOT_FULL_FLUSH) && !iovaHas(d, KB_IOVA_DEPOT_LIST) && dp.size >= MAX_GLOBAL_MAGS;
      if (!flush) {
        toFree = depotPush(d, dp, loaded);
        if (iovaHas(d, KB_IOVA_DEPOT_LIST)) scheduleReclaim(dp);
      }
      depotUnlock(d, dp);
      if (flush) {
        magFreeLocal(d, pc, fresh);
      } else {
        pc.loaded = fresh;
        canInsert = true;
      }
    }
  }
  if (canInsert) {
    magPush(d, pc.loaded, pfn);
    cpuCharge(CPU_COST_IOVA_RCACHE, 1);
  }
  lockRelease(cacheLock(pc));
  if (toFree != 0) {
    // The array depot was full, so the whole old magazine goes back to the tree.
    atomic.add<u32>(d + I_ST_DEPOT_DRAINS, 1);
    magReturnPfns(d, toFree);
    magFree(d, toFree);
  }
  if (flush) {
    // free_all_cpu_cached_iovas; the caller frees the PFN to the tree.
    atomic.add<u32>(d + I_ST_DEPOT_FULL_FLUSHES, 1);
    const ncpus = iovaBlock(d).ncpus;
    for (let c: u32 = 0; c < ncpus; c++) flushCpu(d, c);
  }
  return canInsert;
}

/** __iova_rcache_get on `cpu`: a cached PFN ≤ limit, or 0. */
function rcacheGet(d: u32, cpu: u32, bin: u32, limit: u64): u64 {
  const pc = cpuBin(d, cpu, bin);
  let hasPfn = false;
  kernelLock(cacheLock(pc));
  const loaded = pc.loaded;
  const prev = pc.prev;
  if (count(loaded) != 0) {
    hasPfn = true;
  } else if (count(prev) != 0) {
    pc.loaded = prev;
    pc.prev = loaded;
    hasPfn = true;
  } else {
    const dp = depotOf(d, bin);
    depotLock(d, dp);
    const mag = depotPop(d, dp);
    if (mag != 0) {
      magFreeLocal(d, pc, loaded);
      pc.loaded = mag;
      pc.depotHits++;
      hasPfn = true;
    }
    depotUnlock(d, dp);
  }
  const pfn = hasPfn ? magPop(d, pc.loaded, limit) : 0;
  if (pfn != 0) cpuCharge(CPU_COST_IOVA_RCACHE, 1);
  lockRelease(cacheLock(pc));
  return pfn;
}

// ── flushing ────────────────────────────────────────────────────────────────

/** free_cpu_cached_iovas: return one CPU's loaded and prev magazines, bin by bin. */
export function flushCpu(d: u32, cpu: u32): void {
  for (let bin: u32 = 0; bin < RCACHE_BINS; bin++) {
    const pc = cpuBin(d, cpu, bin);
    kernelLock(cacheLock(pc));
    magReturnPfns(d, pc.loaded);
    magReturnPfns(d, pc.prev);
    lockRelease(cacheLock(pc));
  }
}

/** free_global_cached_iovas: return and free every depot magazine. */
export function flushDepot(d: u32): void {
  const list = iovaHas(d, KB_IOVA_DEPOT_LIST);
  for (let bin: u32 = 0; bin < RCACHE_BINS; bin++) {
    const dp = depotOf(d, bin);
    depotLock(d, dp);
    if (!list) {
      // The array depot is walked from the bottom.
      const n = dp.size;
      for (let j: u32 = 0; j < n; j++) {
        const mag = load<u32>(depotSlot(dp, j));
        magReturnPfns(d, mag);
        magFree(d, mag);
      }
      dp.size = 0;
    } else {
      for (let mag = depotPop(d, dp); mag != 0; mag = depotPop(d, dp)) {
        magReturnPfns(d, mag);
        magFree(d, mag);
      }
    }
    depotUnlock(d, dp);
  }
}

/** alloc_iova_fast's retry path: every CPU's caches, then the depot. */
export function flushAll(d: u32): void {
  const ncpus = iovaBlock(d).ncpus;
  for (let cpu: u32 = 0; cpu < ncpus; cpu++) flushCpu(d, cpu);
  flushDepot(d);
}

/**
 * iova_depot_work_func (KB_IOVA_DEPOT_LIST) for one bin, run when its delayed work is due: above one
 * magazine per CPU, return one to the tree and come back in 100 ms.
 */
export function depotReclaim(d: u32, bin: u32): void {
  const dp = depotOf(d, bin);
  depotLock(d, dp);
  dp.workPending = 0;
  let mag: u32 = 0;
  if (dp.size > iovaBlock(d).ncpus) mag = depotPop(d, dp);
  depotUnlock(d, dp);
  if (mag == 0) return;
  atomic.add<u32>(d + I_ST_DEPOT_RECLAIMS, 1);
  magReturnPfns(d, mag);
  magFree(d, mag);
  depotLock(d, dp);
  scheduleReclaim(dp);
  depotUnlock(d, dp);
}

/** The earliest due reclaim of this domain, or U64.MAX_VALUE. */
export function nextReclaimDue(d: u32): u64 {
  let due = U64.MAX_VALUE;
  for (let bin: u32 = 0; bin < RCACHE_BINS; bin++) {
    const dp = depotOf(d, bin);
    if (reclaimPending(dp)) {
      const t = dp.workDue;
      if (t < due) due = t;
    }
  }
  return due;
}

/** Run every reclaim due at or before `now`, bin by bin. */
export function runDueReclaims(d: u32, now: u64): void {
  for (let bin: u32 = 0; bin < RCACHE_BINS; bin++) {
    const dp = depotOf(d, bin);
    if (reclaimPending(dp) && dp.workDue <= now) {
      depotReclaim(d, bin);
    }
  }
}

// ── the fast path ───────────────────────────────────────────────────────────

/**
 * alloc_iova_fast on `cpu`: the CPU's cache first, then the tree; on failure (if allowed)
 * every cache goes back to the tree and the tree is tried once more. 0 on failure, as in
 * the kernel; IOVA_WOULD_HANG passes through.
 */
export function allocFast(d: u32, cpu: u32, size: u64, limit: u64, flushRcache: bool): i64 {
  // With KB_IOVA_FAST_ROUNDS it rounds here; before, its caller (dma-iommu) did.
  if (iovaHas(d, KB_IOVA_FAST_ROUNDS) && size < 32) size = size <= 1 ? 1 : <u64>1 << <u64>orderBase2(size);
  const bin = orderBase2(size);
  if (bin < RCACHE_BINS) {
    const pc = cpuBin(d, cpu, bin);
    const pfn = rcacheGet(d, cpu, bin, limit + 1 - size);
    if (pfn != 0) {
      pc.hits++;
      return <i64>pfn;
    }
    pc.misses++;
  }
  for (;;) {
    const r = allocRange(d, size, limit, true);
    if (r == 0) atomic.add<u32>(d + I_ST_ZERO_PFN_FAST, 1);
    if (r >= 0 || r == IOVA_WOULD_HANG || r == IOVA_WRAPPED) return r;
    if (!flushRcache) return 0;
    flushRcache = false;
    atomic.add<u32>(d + I_ST_FLUSH_RETRIES, 1);
    flushAll(d);
  }
  return 0; // not reached
}

/** free_iova_fast on `cpu`: into the CPU's cache, or (bypass / no magazine) to the tree. */
export function freeFast(d: u32, cpu: u32, pfn: u64, size: u64): bool {
  if ((iovaBlock(d).flags & IF_CHECK_FAST_FREES) != 0) checkFastFree(d, pfn);
  const bin = orderBase2(size);
  if (bin < RCACHE_BINS && rcacheInsert(d, cpu, bin, pfn)) return true;
  freeRange(d, pfn);
  return false;
}

/** Count a free_iova_fast of a PFN that starts no live range (the kernel caches it anyway). */
function checkFastFree(d: u32, pfn: u64): void {
  kernelLockTimed(d + I_TREE_LOCK, TIME_IOVA_TREE_LOCK);
  const n = findContaining(d, pfn);
  const ok = n != 0 && lo(n) == pfn;
  kernelUnlockTimed(d + I_TREE_LOCK);
  if (!ok) atomic.add<u32>(d + I_ST_BAD_FAST_FREES, 1);
}

// ── creation and teardown of the caches ─────────────────────────────────────

/** Two empty magazines per CPU per bin. False if memory ran out (caller tears down). */
export function rcachesInit(d: u32): bool {
  const ncpus = iovaBlock(d).ncpus;
  for (let cpu: u32 = 0; cpu < ncpus; cpu++) {
    for (let bin: u32 = 0; bin < RCACHE_BINS; bin++) {
      const pc = cpuBin(d, cpu, bin);
      const a = poolAlloc(d + I_MAG_POOL);
      const b = poolAlloc(d + I_MAG_POOL);
      pc.loaded = a;
      pc.prev = b;
      if (a == 0 || b == 0) return false;
    }
  }
  return true;
}

/** free_iova_rcaches: free every magazine without returning its PFNs (nodes go next). */
export function rcachesFree(d: u32): void {
  const ncpus = iovaBlock(d).ncpus;
  for (let bin: u32 = 0; bin < RCACHE_BINS; bin++) {
    const dp = depotOf(d, bin);
    dp.workPending = 0;
    for (let cpu: u32 = 0; cpu < ncpus; cpu++) {
      const pc = cpuBin(d, cpu, bin);
      const a = pc.loaded;
      const b = pc.prev;
      if (a != 0) magFree(d, a);
      if (b != 0) magFree(d, b);
      poolGiveBack(d + I_MAG_POOL, spareList(pc));
      pc.loaded = 0;
      pc.prev = 0;
    }
    for (let mag = depotPop(d, dp); mag != 0; mag = depotPop(d, dp)) magFree(d, mag);
  }
}
