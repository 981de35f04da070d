// The layout of one IOVA domain (struct iova_domain of drivers/iommu/iova.c, v5.15.16 and
// v7.1, with its rcaches) in shared memory. A domain is one block of kheap memory, found
// through its slot in the IOVA slot table (memmap.ts); range-tree nodes and magazines come
// from the domain's own object pools (slab.ts) in further kheap chunks.
//
// Every word that different workers write sits on its own 64-byte line: the tree lock, each
// bin's depot lock, each CPU's owner word and each CPU's per-bin cache.
//
//   block +0      header: profile, ncpus, shift, magazine size, flags, start_pfn,
//                 dma_32bit_pfn, where the per-CPU areas are                (read-mostly)
//         +64     tree lock
//         +128    tree: root, cached_node, cached32_node, nodes, max32_alloc_size
//         +192    anchor node [2^64−1, 2^64−1] (embedded, never freed, as in the kernel)
//         +256    statistics kept under the tree lock
//         +384    statistics updated atomically (warnings, bad frees, …)
//         +448    node pool header           +512 magazine pool header
//         +576    event ring head (WARNs and flush-queue events, in order)
//         +640    v5.15 flush queue: rings ptr, kheap frame, timer on/cpu/due   +704 start_cnt, finish_cnt
//         +1024   depot, one 256-byte block per bin (6):
//                   +0 lock (own line)  +64 size, head (7.1 list), work pending, work due
//                   +128 v5.15 depot array: 32 magazine addresses
//         +2560   event ring: IEV_ENTRIES × 32 B
//         then    per-CPU owner words, ncpus × 64 B
//         then    per-CPU rcaches, ncpus × 6 bins × 64 B:
//                   +0 lock  +4 loaded  +8 prev  +16 hits u64  +24 misses u64

import { RING_RECORD } from "../ring";

// ── header ──────────────────────────────────────────────────────────────────
export const I_KB: u32 = 0; //             u32 the kernel's KB_* bits (assembly/behaviour.ts)
export const I_NCPUS: u32 = 4; //          u32
export const I_SHIFT: u32 = 8; //          u32 log2(granule)
export const I_MAG_SIZE: u32 = 12; //      u32 IOVA_MAG_SIZE of the profile
export const I_FLAGS: u32 = 16; //         u32 IF_* (atomic read-modify-write)
export const I_ID: u32 = 20; //            u32 domain id (slot index)
export const I_BLOCK_FRAME: u32 = 24; //   u32 kheap frame of this block
export const I_OWNERS: u32 = 28; //        u32 address of the per-CPU owner words
export const I_START_PFN: u32 = 32; //     u64
export const I_DMA32_PFN: u32 = 40; //     u64 dma_32bit_pfn = 1 << (32 − shift)
export const I_RCACHES: u32 = 48; //       u32 address of the per-CPU rcaches
export const I_BLOCK_ORDER: u32 = 52; //   u32 kheap order of this block

// ── tree ────────────────────────────────────────────────────────────────────
export const I_TREE_LOCK: u32 = 64;
export const I_ROOT: u32 = 128; //         u32 node address (0 = empty)
export const I_CACHED: u32 = 132; //       u32 cached_node
export const I_CACHED32: u32 = 136; //     u32 cached32_node
export const I_NODES: u32 = 140; //        u32 nodes in the tree, anchor included
export const I_MAX32: u32 = 144; //        u64 max32_alloc_size
export const I_ANCHOR: u32 = 192; //       64-byte node

// ── statistics under the tree lock (u64 each) ──────────────────────────────
export const I_ST_ALLOCS: u32 = 256; //        alloc_iova successes
export const I_ST_ALLOC_FAILS: u32 = 264; //   alloc_iova failures
export const I_ST_FREES: u32 = 272; //         ranges removed from the tree
export const I_ST_WALK_STEPS: u32 = 280; //    nodes the kernel's linear walk visits, summed
export const I_ST_WALK_MAX: u32 = 288; //      the longest such walk
export const I_ST_SEARCH_MISMATCH: u32 = 296; // IF_VERIFY_SEARCH: fast ≠ linear (a bug)
export const I_ST_BELOW_START: u32 = 304; //   v5.15.16 retry pass handed out PFNs below start_pfn
export const I_ST_UNKNOWN_FREES: u32 = 312; // free_iova of a PFN in no range (kernel: no-op)
export const I_ST_RETRIES: u32 = 320; //       second passes above the cached node

// ── statistics updated atomically (u32 each) ────────────────────────────────
export const I_ST_WARNINGS: u32 = 384; //      WARNs raised
export const I_ST_BAD_FAST_FREES: u32 = 388; // free_iova_fast of a PFN that starts no range
export const I_ST_MAG_ALLOC_FAILS: u32 = 392; // magazine allocations refused (failatomic / OOM)
export const I_ST_FLUSH_RETRIES: u32 = 396; //  alloc_iova_fast flush-everything-and-retry
export const I_ST_DEPOT_RECLAIMS: u32 = 400; // v7.1 magazines trimmed from the depot
export const I_ST_DEPOT_DRAINS: u32 = 404; //   v5.15 full depot: magazines drained to the tree
export const I_ST_ZERO_PFN_FAST: u32 = 408; //  alloc_iova_fast got PFN 0 from the tree (reads as failure)
export const I_ST_BUGS: u32 = 412; //          broken invariants where the kernel would BUG (never, unless state was corrupted)

// ── object pools (slab.ts) ──────────────────────────────────────────────────
export const I_NODE_POOL: u32 = 448;
export const I_MAG_POOL: u32 = 512;

// ── event ring ──────────────────────────────────────────────────────────────
export const I_EV_HEAD: u32 = 576; //      u32 next sequence number

// ── flush queue (assembly/iova/fq.ts) ───────────────────────────────────────
export const I_FQ_RINGS: u32 = 640; //     u32 address of the per-CPU rings (0 = no flush queue)
export const I_FQ_FRAME: u32 = 644; //     u32 kheap frame of the rings
export const I_FQ_TIMER_ON: u32 = 648; //  u32 fq_timer_on
export const I_FQ_FLUSH_PT: u32 = 652; //  u32 page table whose flush_iotlb_all the flush runs: id + 1 (0 = log only)
export const I_FQ_TIMER_DUE: u32 = 656; // u64 jiffies the armed timer fires at
export const I_FQ_SIZE: u32 = 664; //      u32 slots per ring (a power of two)
export const I_FQ_OPTS: u32 = 668; //      u32 FQ_OPT_*
export const I_FQ_TIMEOUT: u32 = 672; //   u64 timeout in jiffies
export const I_FQ_START_CNT: u32 = 704; // u64 fq_flush_start_cnt
export const I_FQ_FINISH_CNT: u32 = 712; // u64 fq_flush_finish_cnt
export const I_FQ_FLUSH_FULL: u32 = 720; // u64 flushes because a ring was full (statistic)
export const I_FQ_FLUSH_TIMER: u32 = 728; // u64 flushes by the timeout (statistic)
export const I_EV_RING: u32 = 2560;
export const IEV_ENTRIES: u32 = 512; //     power of two
export const IEV_SIZE: u32 = RING_RECORD; // records of assembly/ring.ts

// ── depot, per bin ──────────────────────────────────────────────────────────
export const I_DEPOT: u32 = 1024;
export const DEPOT_STRIDE: u32 = 256;
export const DP_LOCK: u32 = 0;
export const DP_SIZE: u32 = 64; //         u32 depot_size
export const DP_HEAD: u32 = 68; //         u32 list head (magazine address; KB_IOVA_DEPOT_LIST)
export const DP_WORK_PENDING: u32 = 72; // u32 reclaim work scheduled (KB_IOVA_DEPOT_LIST)
export const DP_WORK_DUE: u32 = 80; //     u64 jiffies it fires at
export const DP_ARRAY: u32 = 128; //       the array depot: MAX_GLOBAL_MAGS × u32

export const BLOCK_FIXED_END: u32 = I_EV_RING + IEV_ENTRIES * IEV_SIZE;

// ── per CPU ─────────────────────────────────────────────────────────────────
export const OWNER_STRIDE: u32 = 64; //    +0 owner u32: thread slot + 1 running this CPU, 0 none
export const PC_STRIDE: u32 = 64;
export const PC_LOCK: u32 = 0;
export const PC_LOADED: u32 = 4;
export const PC_PREV: u32 = 8;
export const PC_HITS: u32 = 16; //         u64 alloc_iova_fast served from this cache
export const PC_MISSES: u32 = 24; //       u64 … that went to the tree
export const PC_DEPOT_HITS: u32 = 32; //   u64 hits that had to take a full magazine from the depot

// ── kernel constants (reference §3.7) ──────────────────────────────────────
export const RCACHE_BINS: u32 = 6; //      IOVA_RANGE_CACHE_MAX_SIZE: orders 0..5
/** The largest magazine a domain may have (IOVA_MAG_SIZE is a profile's number: 128, later 127). */
export const MAG_SIZE_MAX: u32 = 1024;
export const MAX_GLOBAL_MAGS: u32 = 32; // the array depot's capacity per bin (without KB_IOVA_DEPOT_LIST)
/** IOVA_DEPOT_DELAY of the list depot (KB_IOVA_DEPOT_LIST), 100 ms, in jiffies at HZ = 250 (msecs_to_jiffies rounds up). */
export const DEPOT_DELAY_JIFFIES: u64 = 25;

/** Whether IOVA domain `d`'s kernel has behaviour `kb` (assembly/behaviour.ts KB_IOVA_*). */
@inline export function iovaHas(d: u32, kb: u32): bool {
  return (load<u32>(d + I_KB) & kb) != 0;
}

// Magazine: +0 size (the list depot's link shares this word), +8 pfns[] (u64).
export const M_SIZE: u32 = 0;
export const M_PFNS: u32 = 8;

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

// ── domain slot (memmap IOVA_SLOTS_BASE) ────────────────────────────────────
export const IS_STATE: u32 = 0; //          SLOT_*
export const IS_BLOCK: u32 = 4; //          u32 block address

// ── WARN codes (event kind 1, a = code) ─────────────────────────────────────
export const IEV_WARN: u32 = 1;
export const IEV_FQ_FLUSH: u32 = 2; //       the flush callback ran (IOTLB invalidate-all)
export const IEV_FQ_RELEASE: u32 = 3; //     an entry's destructor ran (a = its data cookie)
export const IW_INSERT_DUP: u32 = 1; //     tree insert: pfn_lo already present (b = pfn_lo)
export const IW_MAG_PFN_MISSING: u32 = 2; // magazine → tree: cached pfn in no range (b = pfn)
export const IW_RESERVE_RANGE: u32 = 3; //  reserve_iova beyond the addressable range (b = hi)
