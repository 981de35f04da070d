// The layout of one IOVA domain (struct iova_domain of drivers/iommu/iova.c, v5.15.16 and
// v7.1, with its rcaches) in shared memory. A domain is one block of kheap memory, found
// through its slot in the IOVA slot table (memmap.ts); range-tree nodes and magazines come
// from the domain's own object pools (slab.ts) in further kheap chunks.
//
// Every word that different workers write sits on its own 64-byte line: the tree lock, each
// bin's depot lock, each CPU's owner word and each CPU's per-bin cache. The block is the
// IovaDomainBlock record followed by arrays whose extent the record cannot show:
//
//   block +0        IovaDomainBlock (header, tree lock, tree, anchor node, statistics,
//                   pools, event ring head, flush queue), each part on its own line(s)
//         +I_DEPOT  RCACHE_BINS × Depot, DEPOT_STRIDE apart
//         +I_EV_RING  event ring: IEV_ENTRIES records of assembly/ring.ts, IEV_SIZE apart
//         +BLOCK_FIXED_END
//                   per-CPU owner words (I_OWNERS): ncpus lines, OWNER_STRIDE apart
//         then      per-CPU caches (I_RCACHES): ncpus × RCACHE_BINS × PerCpuCache, PC_STRIDE apart

import { LOCK_TIMELINE } from "../sync";
import { CACHE_LINE, IOVA_SLOT_SIZE } from "../memmap";
import { RING_RECORD } from "../ring";
import { POOL_BYTES } from "./slab";

// ── kernel constants (reference §3.7) ──────────────────────────────────────
export const RCACHE_BINS: u32 = 6; //      IOVA_RANGE_CACHE_MAX_SIZE: orders 0..5
/** The largest magazine a domain may have (IOVA_MAG_SIZE is a profile's number: 128, later 127). */
export const MAG_SIZE_MAX: u32 = 1024;
export const MAX_GLOBAL_MAGS: u32 = 32; // the array depot's capacity per bin (without KB_IOVA_DEPOT_LIST)
/** IOVA_DEPOT_DELAY of the list depot (KB_IOVA_DEPOT_LIST), 100 ms, in jiffies at HZ = 250 (msecs_to_jiffies rounds up). */
export const DEPOT_DELAY_JIFFIES: u64 = 25;

// ── the domain's slot (memmap IOVA_SLOTS_BASE) ──────────────────────────────

/** A domain's entry in the IOVA slot table: claimed, published and retired by slots.ts. */
@unmanaged export class IovaSlot {
  /** SLOT_* of slots.ts, changed only by compare-and-swap (slots.ts keeps it first). */
  state: u32;
  /** Address of the domain's block (IovaDomainBlock); written before the slot is published. */
  block: u32;
}
if (offsetof<IovaSlot>("state") != 0) ERROR("IovaSlot.state must be the slot's first word (slots.ts)");
if (offsetof<IovaSlot>() > IOVA_SLOT_SIZE) ERROR("IovaSlot outgrew IOVA_SLOT_SIZE");

// ── the domain block ────────────────────────────────────────────────────────

/**
 * One IOVA domain: struct iova_domain, the roots of its rcaches, its statistics and its
 * flush queue. Written by iovaCreate before the slot is published, then by the allocator
 * (alloc.ts, tree.ts under the tree lock; rcache.ts, fq.ts) from any worker.
 */
@unmanaged export class IovaDomainBlock {
  // ── header: read-mostly ──
  /** The kernel's behaviours, KB_* bits (assembly/behaviour.ts); set at creation. */
  kb: u32;
  /** Simulated CPUs (each has an owner word and RCACHE_BINS caches); set at creation. */
  ncpus: u32;
  /** iova_shift: log2 of the granule in bytes. */
  shift: u32;
  /** IOVA_MAG_SIZE of the profile: the PFNs a full magazine holds. */
  magSize: u32;
  /** IF_* switches; changed by atomic read-modify-write (iovaSetFlags). */
  flags: u32;
  /** The domain's id (its slot index). */
  id: u32;
  /** kheap frame of this block, freed at teardown. */
  blockFrame: u32;
  /** Address of the per-CPU owner words (cpu-owner.ts), OWNER_STRIDE apart. */
  owners: u32;
  /** start_pfn: the lowest PFN the allocator's first pass may hand out. */
  startPfn: u64;
  /** dma_32bit_pfn = 1 << (32 − shift): the first PFN at or above 4 GiB. */
  dma32Pfn: u64;
  /** Address of the per-CPU caches (PerCpuCache), cpu-major, PC_STRIDE apart. */
  rcaches: u32;
  /** kheap order of this block. */
  blockOrder: u32;
  _pad0: u64;

  // ── the tree lock, alone on its line: every CPU's tree path spins on it ──
  /** iova_rbtree_lock (sync.ts lock word): guards the tree, the cached nodes and the statistics below. */
  treeLock: u32;
  _pad1: u32;
  /** The tree lock's modelled busy-until time (sync.ts kernelLockTimed, at LOCK_TIMELINE). */
  treeLockFreeAt: u64;
  _pad3: u64; _pad4: u64; _pad5: u64; _pad6: u64; _pad7: u64; _pad8: u64;

  // ── the tree (tree lock held) ──
  /** Root node address of the treap (tree.ts), 0 when empty. */
  root: u32;
  /** cached_node: where a search above 4 GiB starts (node address). */
  cachedNode: u32;
  /** cached32_node: where a search below 4 GiB starts (node address). */
  cached32Node: u32;
  /** Nodes in the tree, the anchor included (read lock-free by the TypeScript side). */
  nodes: u32;
  /** max32_alloc_size: the smallest size known not to fit below 4 GiB (PFNs). */
  max32AllocSize: u64;
  _pad9: u64; _pad10: u64; _pad11: u64; _pad12: u64; _pad13: u64;

  /**
   * The anchor node [2^64−1, 2^64−1] lives here (an IovaNode of NODE_SIZE bytes, tree.ts):
   * embedded, never freed, where both cached nodes start, as in the kernel.
   */
  anchor: u64;
  _anchor1: u64; _anchor2: u64; _anchor3: u64; _anchor4: u64; _anchor5: u64; _anchor6: u64; _anchor7: u64;

  // ── statistics kept under the tree lock ──
  /** alloc_iova successes. */
  allocs: u64;
  /** alloc_iova failures. */
  allocFails: u64;
  /** Ranges removed from the tree. */
  frees: u64;
  /** Nodes the kernel's linear walk visits, summed over searches. */
  walkSteps: u64;
  /** The longest such walk (nodes). */
  walkMax: u64;
  /** IF_VERIFY_SEARCH: searches where the fast and the linear search disagreed (a bug). */
  searchMismatches: u64;
  /** Allocations the v5.15.16 retry pass handed out below start_pfn. */
  belowStart: u64;
  /** free_iova of a PFN in no range (the kernel: a no-op). */
  unknownFrees: u64;
  /** Second passes above the cached node. */
  retries: u64;
  /**
   * Allocations handed out past their limit (the wrapped {−2, −1} of a kernel without
   * KB_IOVA_LIMIT_NO_UNDERFLOW): with belowStart, the check that every range alloc_iova
   * returns lies within [start_pfn, limit].
   */
  aboveLimit: u64;
  /**
   * Nodes the search that ran touched, summed over searches: the kernel's walk's nodes with
   * IF_LINEAR_SEARCH, else the O(log n) search's descents, examined subtrees and hops
   * (bug corpus #12: the linear walk against the augmented search, on the same tree).
   */
  searchVisits: u64;
  /** The most one search touched. */
  searchVisitsMax: u64;
  _pad17: u64; _pad18: u64; _pad19: u64; _pad20: u64;

  // ── statistics any CPU updates atomically, on their own line ──
  /** WARNs raised (warn.ts). */
  warnings: u32;
  /** free_iova_fast of a PFN that starts no range (IF_CHECK_FAST_FREES). */
  badFastFrees: u32;
  /** Magazine allocations refused (failatomic, or kheap exhausted). */
  magAllocFails: u32;
  /** alloc_iova_fast's flush-everything-and-retry. */
  flushRetries: u32;
  /** Magazines the list depot's reclaim work returned to the tree (KB_IOVA_DEPOT_LIST). */
  depotReclaims: u32;
  /** Full array depot: magazines drained to the tree instead (without KB_IOVA_DEPOT_LIST). */
  depotDrains: u32;
  /** alloc_iova_fast got PFN 0 from the tree (which its callers read as failure). */
  zeroPfnFast: u32;
  /** Broken invariants where the kernel would BUG (never, unless state was corrupted). */
  bugs: u32;
  /**
   * A full CPU magazine met a full array depot and every CPU's caches went back to the tree
   * instead of one magazine (KB_IOVA_DEPOT_FULL_FLUSH, bug corpus #19's fix).
   */
  depotFullFlushes: u32;
  _pad21a: u32; _pad22: u64; _pad23: u64; _pad24: u64;

  // ── object pools (slab.ts): each header on its own line ──
  /** The range-tree node pool's header (Pool, slab.ts; POOL_BYTES) starts here. */
  nodePool: u64;
  _nodePool1: u64; _nodePool2: u64; _nodePool3: u64; _nodePool4: u64; _nodePool5: u64; _nodePool6: u64; _nodePool7: u64;
  /** The magazine pool's header (Pool, slab.ts; POOL_BYTES) starts here. */
  magPool: u64;
  _magPool1: u64; _magPool2: u64; _magPool3: u64; _magPool4: u64; _magPool5: u64; _magPool6: u64; _magPool7: u64;

  // ── the event ring's head: every CPU that logs advances it ──
  /** Next event sequence number (assembly/ring.ts; the ring itself is at I_EV_RING). */
  evHead: u32;
  _pad25: u32; _pad26: u64; _pad27: u64; _pad28: u64; _pad29: u64; _pad30: u64; _pad31: u64; _pad32: u64;

  // ── the flush queue (fq.ts) ──
  /** Address of the rings (FqRing, fq.ts), 0 = no flush queue; published last by fqInit. */
  fqRings: u32;
  /** kheap frame of the rings. */
  fqFrame: u32;
  /** fq_timer_on: 1 while the timeout is armed (exchanged atomically by queueing CPUs). */
  fqTimerOn: u32;
  /** Page table whose flush_iotlb_all the flush runs: its id + 1 (0 = log only). */
  fqFlushPt: u32;
  /** Jiffies the armed timer fires at. */
  fqTimerDue: u64;
  /** Slots per ring (a power of two; one is always left empty). */
  fqSize: u32;
  /** FQ_OPT_* of fq.ts. */
  fqOpts: u32;
  /** The timeout in jiffies. */
  fqTimeout: u64;
  /** 1 while the timer callback runs (fqTimerFire until the last ring's release scan): what del_timer_sync waits for. */
  fqTimerRunning: u32;
  /** Ring accesses that found the rings freed (poisoned) or gone: use-after-free in the flush queue (never, unless a teardown raced). */
  fqFreedAccesses: u32;
  _pad34: u64; _pad35: u64;
  /** fq_flush_start_cnt: flushes begun (atomic). */
  fqStartCnt: u64;
  /** fq_flush_finish_cnt: flushes completed (atomic); an entry stamped c is released once this exceeds c. */
  fqFinishCnt: u64;
  /** Flushes because a ring was full (statistic). */
  fqFlushFull: u64;
  /** Flushes by the timeout (statistic). */
  fqFlushTimer: u64;
  /** Writes of fq_timer_on (each compare-and-swap, and the timer callback's clear): statistic. */
  fqTimerWrites: u64;
  /** Of those, writes by a CPU other than the word's last writer: its cache line moved (statistic). */
  fqTimerMoves: u64;
  /** The CPU that wrote fq_timer_on last, + 1 (0: none yet). */
  fqTimerLastCpu: u32;
}
if (offsetof<IovaDomainBlock>("treeLock") % CACHE_LINE != 0) ERROR("IovaDomainBlock.treeLock must start its own cache line");
if (offsetof<IovaDomainBlock>("root") % CACHE_LINE != 0) ERROR("IovaDomainBlock.root must start its own cache line");
if (offsetof<IovaDomainBlock>("anchor") % CACHE_LINE != 0) ERROR("IovaDomainBlock.anchor must start its own cache line");
if (offsetof<IovaDomainBlock>("allocs") % CACHE_LINE != 0) ERROR("IovaDomainBlock.allocs must start its own cache line");
if (offsetof<IovaDomainBlock>("warnings") % CACHE_LINE != 0) ERROR("IovaDomainBlock.warnings must start its own cache line");
if (offsetof<IovaDomainBlock>("nodePool") % CACHE_LINE != 0) ERROR("IovaDomainBlock.nodePool must start its own cache line");
if (offsetof<IovaDomainBlock>("magPool") % CACHE_LINE != 0) ERROR("IovaDomainBlock.magPool must start its own cache line");
if (offsetof<IovaDomainBlock>("evHead") % CACHE_LINE != 0) ERROR("IovaDomainBlock.evHead must start its own cache line");
if (offsetof<IovaDomainBlock>("fqRings") % CACHE_LINE != 0) ERROR("IovaDomainBlock.fqRings must start its own cache line");
if (offsetof<IovaDomainBlock>("fqStartCnt") % CACHE_LINE != 0) ERROR("IovaDomainBlock.fqStartCnt must start its own cache line");
if (offsetof<IovaDomainBlock>("magPool") - offsetof<IovaDomainBlock>("nodePool") < POOL_BYTES) ERROR("IovaDomainBlock.nodePool has less room than POOL_BYTES");
if (offsetof<IovaDomainBlock>("evHead") - offsetof<IovaDomainBlock>("magPool") < POOL_BYTES) ERROR("IovaDomainBlock.magPool has less room than POOL_BYTES");

/** The block of the domain at address `d`, as its record. */
@inline export function iovaBlock(d: u32): IovaDomainBlock {
  return changetype<IovaDomainBlock>(d);
}

/** The domain's IF_* flags, read atomically (another worker may be changing them). */
@inline export function iovaFlags(d: u32): u32 {
  return atomic.load<u32>(d + offsetof<IovaDomainBlock>("flags"));
}

// Offsets the TypeScript side reads (src/iova.ts), by name from the module.
export const I_KB: u32 = offsetof<IovaDomainBlock>("kb");
export const I_NCPUS: u32 = offsetof<IovaDomainBlock>("ncpus");
export const I_SHIFT: u32 = offsetof<IovaDomainBlock>("shift");
export const I_MAG_SIZE: u32 = offsetof<IovaDomainBlock>("magSize");
export const I_OWNERS: u32 = offsetof<IovaDomainBlock>("owners");
export const I_START_PFN: u32 = offsetof<IovaDomainBlock>("startPfn");
export const I_DMA32_PFN: u32 = offsetof<IovaDomainBlock>("dma32Pfn");
export const I_RCACHES: u32 = offsetof<IovaDomainBlock>("rcaches");
export const I_TREE_LOCK: u32 = offsetof<IovaDomainBlock>("treeLock");
export const I_ROOT: u32 = offsetof<IovaDomainBlock>("root");
export const I_CACHED: u32 = offsetof<IovaDomainBlock>("cachedNode");
export const I_CACHED32: u32 = offsetof<IovaDomainBlock>("cached32Node");
export const I_NODES: u32 = offsetof<IovaDomainBlock>("nodes");
export const I_MAX32: u32 = offsetof<IovaDomainBlock>("max32AllocSize");
export const I_ANCHOR: u32 = offsetof<IovaDomainBlock>("anchor");
export const I_ST_ALLOCS: u32 = offsetof<IovaDomainBlock>("allocs");
export const I_ST_ALLOC_FAILS: u32 = offsetof<IovaDomainBlock>("allocFails");
export const I_ST_FREES: u32 = offsetof<IovaDomainBlock>("frees");
export const I_ST_WALK_STEPS: u32 = offsetof<IovaDomainBlock>("walkSteps");
export const I_ST_WALK_MAX: u32 = offsetof<IovaDomainBlock>("walkMax");
export const I_ST_SEARCH_MISMATCH: u32 = offsetof<IovaDomainBlock>("searchMismatches");
export const I_ST_BELOW_START: u32 = offsetof<IovaDomainBlock>("belowStart");
export const I_ST_UNKNOWN_FREES: u32 = offsetof<IovaDomainBlock>("unknownFrees");
export const I_ST_RETRIES: u32 = offsetof<IovaDomainBlock>("retries");
export const I_ST_ABOVE_LIMIT: u32 = offsetof<IovaDomainBlock>("aboveLimit");
export const I_ST_SEARCH_VISITS: u32 = offsetof<IovaDomainBlock>("searchVisits");
export const I_ST_SEARCH_VISITS_MAX: u32 = offsetof<IovaDomainBlock>("searchVisitsMax");
export const I_ST_WARNINGS: u32 = offsetof<IovaDomainBlock>("warnings");
export const I_ST_BAD_FAST_FREES: u32 = offsetof<IovaDomainBlock>("badFastFrees");
export const I_ST_MAG_ALLOC_FAILS: u32 = offsetof<IovaDomainBlock>("magAllocFails");
export const I_ST_FLUSH_RETRIES: u32 = offsetof<IovaDomainBlock>("flushRetries");
export const I_ST_DEPOT_RECLAIMS: u32 = offsetof<IovaDomainBlock>("depotReclaims");
export const I_ST_DEPOT_DRAINS: u32 = offsetof<IovaDomainBlock>("depotDrains");
export const I_ST_DEPOT_FULL_FLUSHES: u32 = offsetof<IovaDomainBlock>("depotFullFlushes");
export const I_ST_ZERO_PFN_FAST: u32 = offsetof<IovaDomainBlock>("zeroPfnFast");
export const I_ST_BUGS: u32 = offsetof<IovaDomainBlock>("bugs");
export const I_NODE_POOL: u32 = offsetof<IovaDomainBlock>("nodePool");
export const I_MAG_POOL: u32 = offsetof<IovaDomainBlock>("magPool");
export const I_EV_HEAD: u32 = offsetof<IovaDomainBlock>("evHead");
export const I_FQ_START_CNT: u32 = offsetof<IovaDomainBlock>("fqStartCnt");
export const I_FQ_FINISH_CNT: u32 = offsetof<IovaDomainBlock>("fqFinishCnt");
export const I_FQ_FLUSH_FULL: u32 = offsetof<IovaDomainBlock>("fqFlushFull");
export const I_FQ_FLUSH_TIMER: u32 = offsetof<IovaDomainBlock>("fqFlushTimer");
export const I_FQ_TIMER_WRITES: u32 = offsetof<IovaDomainBlock>("fqTimerWrites");
export const I_FQ_TIMER_MOVES: u32 = offsetof<IovaDomainBlock>("fqTimerMoves");

// ── depot, per bin ──────────────────────────────────────────────────────────

/**
 * One bin's depot (struct iova_rcache without its per-CPU part), shared by every CPU:
 * RCACHE_BINS of them at I_DEPOT, DEPOT_STRIDE apart. Fields after the lock are written
 * with the lock held (the reclaim work's pending word is also read lock-free).
 */
@unmanaged export class Depot {
  /** iova_rcache.lock (sync.ts lock word), alone on its line: CPUs swapping magazines of this bin take it. */
  lock: u32;
  _pad0: u32;
  /** The lock's modelled busy-until time (sync.ts kernelLockTimed, at LOCK_TIMELINE). */
  lockFreeAt: u64;
  _pad2: u64; _pad3: u64; _pad4: u64; _pad5: u64; _pad6: u64; _pad7: u64;
  /** depot_size: full magazines parked here. */
  size: u32;
  /** List depot (KB_IOVA_DEPOT_LIST): the top magazine's address; each links to the next through its size word. */
  head: u32;
  /** List depot: 1 while the reclaim work is scheduled. */
  workPending: u32;
  /** List depot: the jiffies the scheduled reclaim runs at. */
  workDue: u64;
  _pad8: u64; _pad9: u64; _pad10: u64; _pad11: u64; _pad12: u64;
  /** The depot as a fixed list (without KB_IOVA_DEPOT_LIST): the first of MAX_GLOBAL_MAGS magazine addresses (u32), bottom first. */
  mags: u32;
}
export const DEPOT_STRIDE: u32 = 256;
if (offsetof<Depot>("size") % CACHE_LINE != 0) ERROR("Depot.lock must have its cache line to itself");
if (offsetof<Depot>("mags") + MAX_GLOBAL_MAGS * sizeof<u32>() > DEPOT_STRIDE) ERROR("Depot outgrew DEPOT_STRIDE");
if (DEPOT_STRIDE % CACHE_LINE != 0) ERROR("DEPOT_STRIDE must keep every depot lock on its own line");
export const DP_LOCK: u32 = offsetof<Depot>("lock");
if (offsetof<Depot>("lockFreeAt") - DP_LOCK != LOCK_TIMELINE) ERROR("Depot.lockFreeAt must sit LOCK_TIMELINE past its lock");
if (offsetof<IovaDomainBlock>("treeLockFreeAt") - offsetof<IovaDomainBlock>("treeLock") != LOCK_TIMELINE) {
  ERROR("IovaDomainBlock.treeLockFreeAt must sit LOCK_TIMELINE past the tree lock");
}
export const DP_SIZE: u32 = offsetof<Depot>("size");
export const DP_HEAD: u32 = offsetof<Depot>("head");
export const DP_ARRAY: u32 = offsetof<Depot>("mags");

// ── the arrays after the record ─────────────────────────────────────────────

/** Where the depots start: past the record, on a 1 KiB boundary (where they have always been). */
export const I_DEPOT: u32 = 1024;
if (offsetof<IovaDomainBlock>() > I_DEPOT) ERROR("IovaDomainBlock outgrew I_DEPOT");
if (I_DEPOT % CACHE_LINE != 0) ERROR("I_DEPOT must start a cache line");
/** The event ring, after the last depot. */
export const I_EV_RING: u32 = I_DEPOT + RCACHE_BINS * DEPOT_STRIDE;
export const IEV_ENTRIES: u32 = 512; //     power of two
export const IEV_SIZE: u32 = RING_RECORD; // records of assembly/ring.ts
/** End of the part of the block whose size does not depend on the number of CPUs. */
export const BLOCK_FIXED_END: u32 = I_EV_RING + IEV_ENTRIES * IEV_SIZE;
if (BLOCK_FIXED_END % CACHE_LINE != 0) ERROR("BLOCK_FIXED_END must start a cache line (the per-CPU lines follow)");

// ── per CPU ─────────────────────────────────────────────────────────────────

/** Each CPU's owner word (u32, cpu-owner.ts: thread slot + 1 running this CPU, 0 none) on its own line. */
export const OWNER_STRIDE: u32 = 64;
if (OWNER_STRIDE % CACHE_LINE != 0) ERROR("OWNER_STRIDE must keep every owner word on its own line");

/**
 * One CPU's cache for one bin (struct iova_cpu_rcache): ncpus × RCACHE_BINS of them at
 * I_RCACHES, cpu-major, PC_STRIDE apart. Used by the thread running that CPU, and by any
 * thread flushing every CPU, with the lock held.
 */
@unmanaged export class PerCpuCache {
  /** iova_cpu_rcache.lock (sync.ts lock word). */
  lock: u32;
  /** The magazine in use (address). */
  loaded: u32;
  /** The other magazine (address), swapped with loaded when that one is full or empty. */
  prev: u32;
  /**
   * Empty magazines this CPU freed in this bin, reused first by its next new magazine
   * (slab.ts poolAllocLocal: SLUB's per-CPU freelist); a list through their first word.
   */
  spare: u32;
  /** alloc_iova_fast calls served from this cache (statistic). */
  hits: u64;
  /** alloc_iova_fast calls this cache could not serve, which went to the tree (statistic). */
  misses: u64;
  /** Hits that had to take a full magazine from the depot (statistic). */
  depotHits: u64;
}
export const PC_STRIDE: u32 = 64;
if (offsetof<PerCpuCache>() > PC_STRIDE) ERROR("PerCpuCache outgrew PC_STRIDE");
if (PC_STRIDE % CACHE_LINE != 0) ERROR("PC_STRIDE must keep every per-CPU cache on its own line");
export const PC_LOCK: u32 = offsetof<PerCpuCache>("lock");
export const PC_LOADED: u32 = offsetof<PerCpuCache>("loaded");
export const PC_PREV: u32 = offsetof<PerCpuCache>("prev");
export const PC_SPARE: u32 = offsetof<PerCpuCache>("spare");
export const PC_HITS: u32 = offsetof<PerCpuCache>("hits");
export const PC_MISSES: u32 = offsetof<PerCpuCache>("misses");
export const PC_DEPOT_HITS: u32 = offsetof<PerCpuCache>("depotHits");

/** Whether IOVA domain `d`'s kernel has behaviour `kb` (assembly/behaviour.ts KB_IOVA_*). */
@inline export function iovaHas(d: u32, kb: u32): bool {
  return (iovaBlock(d).kb & kb) != 0;
}

// ── magazine ────────────────────────────────────────────────────────────────

/**
 * struct iova_magazine: an object of the domain's magazine pool, holding up to the
 * domain's magSize PFNs (the pool's object size covers them, domain.ts).
 */
@unmanaged export class Magazine {
  /** PFNs held; a magazine parked in the list depot holds the next one's address here instead (it is full). */
  size: u32;
  /** The first of magSize PFNs (u64 each), bottom first. */
  pfns: u64;
}
export const M_SIZE: u32 = offsetof<Magazine>("size");
export const M_PFNS: u32 = offsetof<Magazine>("pfns");

// ── domain flags ────────────────────────────────────────────────────────────
/** failatomic: the caches' own GFP_ATOMIC allocations (new magazines) fail. */
export const IF_FAIL_ATOMIC: u32 = 1 << 0;
/** TEST-ONLY fault injection: the depot is used without its lock (a mutant for tests). */
export const IF_NO_DEPOT_LOCK: u32 = 1 << 1;
/** Run the kernel's linear walk beside the O(log n) search and count disagreements. */
export const IF_VERIFY_SEARCH: u32 = 1 << 2;
/** Use only the kernel's linear walk (benchmarks of the pathology). */
export const IF_LINEAR_SEARCH: u32 = 1 << 3;
/** Look every free_iova_fast PFN up in the tree and count those that start no range. */
export const IF_CHECK_FAST_FREES: u32 = 1 << 4;
/**
 * Do not log the flush queue's flush and release events (WARNs are still logged): for
 * long runs that never read them, where every CPU writing the one event ring would make
 * the workers fight over its head.
 */
export const IF_NO_FQ_EVENTS: u32 = 1 << 5;

// ── WARN codes (event kind 1, a = code) ─────────────────────────────────────
export const IEV_WARN: u32 = 1;
export const IEV_FQ_FLUSH: u32 = 2; //       the flush callback ran (IOTLB invalidate-all)
export const IEV_FQ_RELEASE: u32 = 3; //     an entry's destructor ran (a = its data cookie)
export const IW_INSERT_DUP: u32 = 1; //     tree insert: pfn_lo already present (b = pfn_lo)
export const IW_MAG_PFN_MISSING: u32 = 2; // magazine → tree: cached pfn in no range (b = pfn)
export const IW_RESERVE_RANGE: u32 = 3; //  reserve_iova beyond the addressable range (b = hi)
