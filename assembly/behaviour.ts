// Kernel versions as named behaviours. The kernel names its variants by what they do
// (IO_PGTABLE_QUIRK_*, ARM_SMMU_FEAT_*); so does the simulator: each bit below is one
// change the kernel made to the code modelled here, named for the behaviour it selects,
// with the commit that introduced it (or, for an old behaviour, the one that removed it).
// A kernel profile is a set of these bits plus a few numbers (src/profile.ts, the one
// table of which kernel has what); every record that behaves by kernel version (a page
// table, an IOVA domain, an SMMU domain, a DMA domain) carries its bits, and the code asks
// for a behaviour, never for a version.
//
// A few bits are read only by the TypeScript side (which self-test the kernel runs, how a
// live switch is refused, where the v5.15 flush queue lives): they are defined here all the
// same, so that every kernel difference has one name, one place and one commit.
//
// Commits are from the reference (shared/reference/linux-iommu.md) and the kernel's mail
// and merge logs; [inferred] marks a release inferred from merge dates, not from a tag.

// ── io-pgtable-arm (drivers/iommu/io-pgtable-arm.c) ─────────────────────────

/**
 * An unmap smaller than a block splits it into a next-level table holding the rest
 * (5.15, 6.12). Removed by 33729a5fc0ca "iommu/io-pgtable-arm: Remove split on unmap
 * behavior" (v6.13): later kernels refuse with a WARN and unmap nothing.
 */
export const KB_PGT_SPLIT_PARTIAL_UNMAP: u32 = 1 << 0;
/**
 * map_pages with neither IOMMU_READ nor IOMMU_WRITE returns -EINVAL (before: 0, nothing
 * mapped). 6093cd582f8e "iommu: Do not return 0 from map_pages if it doesn't do anything"
 * (v6.11).
 */
export const KB_PGT_MAP_NO_PROT_EINVAL: u32 = 1 << 1;
/**
 * At the unmap's level, table entries are cleared and walk-flushed first, then every
 * cleared entry (tables too) is added to the gather (before: entry by entry, a walk flush
 * for a table, tlb_add_page for a leaf). 85b715a33458 "iommu/io-pgtable-arm: Optimise
 * non-coherent unmap" (v6.12).
 */
export const KB_PGT_UNMAP_TABLES_FIRST: u32 = 1 << 2;
/**
 * In a concatenated stage-2 PGD, one call touches at most the entries left in the
 * granule-sized table holding its start (before: counted against one table, going negative
 * past it). d71fa842d33c "iommu/io-pgtable-arm: Fix stage-2 map/unmap for concatenated
 * tables" (v6.13; in 6.12.y from 6.12.4).
 */
export const KB_PGT_CONCAT_PER_TABLE: u32 = 1 << 3;
/**
 * Stage-2 PGDs are concatenated only where the architecture makes it mandatory, and a
 * mandatory case needing more than 16 tables is refused with a WARN (before:
 * concatenated whenever a level-0 PGD had at most 16 entries). 4dcac8407fe1
 * "iommu/io-pgtable-arm: Fix stage-2 concatenation with 16K" (after v6.12).
 */
export const KB_PGT_S2_CONCAT_MANDATORY: u32 = 1 << 4;
/**
 * The IO_PGTABLE_QUIRK_NO_WARN quirk is accepted and silences the map-over-a-leaf and
 * unmap-of-an-empty-entry WARNs (before: the first quiet only while the boot self-test
 * runs, the second always loud). 3318f7b5cefb "iommu/io-pgtable-arm: Add quirk to quiet
 * WARN_ON()" (v6.16 [inferred]).
 */
export const KB_PGT_NO_WARN_QUIRK: u32 = 1 << 5;
/**
 * Stage 1 accepts IO_PGTABLE_QUIRK_ARM_HD: writable leaves get DBM (hardware dirty
 * tracking), and a block split keeps it. 4fe88fd8b4ae "iommu/io-pgtable-arm: Add
 * read_and_clear_dirty() support" (v6.11 [inferred]).
 */
export const KB_PGT_QUIRK_ARM_HD: u32 = 1 << 6;
/**
 * Stage 2 accepts IO_PGTABLE_QUIRK_ARM_S2FWB: IOMMU_CACHE maps as forced write-back
 * (MemAttr 0x6). Added with the SMMUv3 nesting support, after v6.12 (commit not
 * identified in the stored logs).
 */
export const KB_PGT_QUIRK_ARM_S2FWB: u32 = 1 << 7;
/**
 * The self-test is the KUnit suite (63 configurations, NO_WARN, the last-page test;
 * io-pgtable-arm-selftests.c) instead of the boot-time one inside io-pgtable-arm.c (18
 * configurations, partial unmaps, its own summary line). Moved and converted after v6.12;
 * the last-page test is d64c8053378e (v6.13). Read by src/selftest.ts.
 */
export const KB_PGT_SELFTEST_KUNIT: u32 = 1 << 8;

// ── the Arm SMMUv3 driver's invalidations (drivers/iommu/arm/arm-smmu-v3) ───

/**
 * With range invalidation, a non-leaf (walk) command carries TTL 0 (before: a TTL from the
 * nominal granule the caller passed, which for a freed table names the level of the leaves
 * it held, so an SMMU that honours TTL keeps the blocks cached). 6833b8f2e199
 * "iommu/arm-smmu-v3: Set TTL invalidation hint better" (v6.6; 5.15.y from Oct 2023, later
 * than the 5.15.16 modelled here).
 */
export const KB_SMMU_NONLEAF_TTL0: u32 = 1 << 9;
/**
 * A non-leaf range whose page count has low five bits equal to 1 is bumped by one page, so
 * no command is built with TTL, NUM and SCALE all 0 while TG is set (an illegal encoding
 * once TTL is 0; before: such a command was sent). eb6c97647be2 "iommu/arm-smmu-v3: Avoid
 * constructing invalid range commands" (v6.6; with 6833b8f2e199).
 */
export const KB_SMMU_RANGE_NUM_BUMP: u32 = 1 << 23;
/**
 * A range with no size, or (without range invalidation) one too large to send a TLBI per
 * granule, is invalidated by ASID/VMID instead (before: nothing for size 0, per-granule
 * TLBIs whatever the size). The invalidation-array rework, 587bb3e56a2c
 * "iommu/arm-smmu-v3: Add arm_smmu_invs based arm_smmu_domain_inv_range()" (after v6.12).
 */
export const KB_SMMU_INV_ALL_TOO_BIG: u32 = 1 << 10;

// ── the IOVA allocator (drivers/iommu/iova.c) ───────────────────────────────

/**
 * The rcache depot is an unbounded list of magazines, trimmed by delayed work every
 * 100 ms down to one magazine per CPU (before: a fixed array of 32, a full depot draining
 * the CPU's magazine into the tree). 911aa1245da8 "iommu/iova: Make the rcache depot scale
 * better" and 233045378dbb "iommu/iova: Manage the depot list size" (v6.7).
 */
export const KB_IOVA_DEPOT_LIST: u32 = 1 << 11;
/**
 * alloc_iova_fast rounds sizes below 32 granules up to a power of two itself (before: its
 * caller, dma-iommu's iommu_dma_alloc_iova, did). 972bf252f860 "iommu/iova: Move fast
 * alloc size roundup into alloc_iova_fast()" (v5.17).
 */
export const KB_IOVA_FAST_ROUNDS: u32 = 1 << 12;
/**
 * Freeing any range below the 32-bit boundary resets max32_alloc_size (before: only when
 * the free moved cached32_node). 5b61343b5059 "iommu/iova: Improve 32-bit free space
 * estimate" (v5.18; 5.15.y from Apr 2022, later than 5.15.16).
 */
export const KB_IOVA_MAX32_ANY_LOW_FREE: u32 = 1 << 13;
/**
 * alloc_iova's retry pass starts above the cached node and never runs from the anchor
 * (before: from cached.pfn_hi + 1, which wraps to pfn 0 from the anchor and can search
 * below start_pfn, or forever). dcdb3ba7e2a8 "iommu/iova: Fix alloc iova overflows issue"
 * (v6.2; 5.15.y later than 5.15.16).
 */
export const KB_IOVA_RETRY_ABOVE_CACHED: u32 = 1 << 14;
/**
 * The flush queue lives in iova.c (init_iova_flush_queue, queue_iova). Moved into
 * dma-iommu by ea4d71bb5e3f, f7f07484542f and a17e3026bc4d (v5.17). Read by src/iova.ts
 * and the replay (fqinit, queue).
 */
export const KB_IOVA_FLUSH_QUEUE: u32 = 1 << 15;

/**
 * queue_iova reads fq_timer_on first and compare-and-swaps it only when it reads 0 (before:
 * an atomic_cmpxchg on every lazy unmap, which takes the word's cache line exclusive even
 * while the timer is already armed, so the line bounces between every CPU that unmaps).
 * 0d87308cca2c "iommu/iova: Avoid false sharing on fq_timer_on" (v5.4): every profile here
 * has it. The flush queue's own code (assembly/iova/fq.ts) serves v5.15's iova.c and later
 * dma-iommu alike.
 */
export const KB_FQ_TIMER_READ_FIRST: u32 = 1 << 25;

// ── dma-iommu and the IOMMU core (drivers/iommu/dma-iommu.c, iommu.c) ───────

/**
 * A DMA-FQ domain may use one shared flush queue (32768 entries, 1000 ms) instead of
 * per-CPU ones. 32d5bc8b09c7 and 9f5b681e2a3f (v6.7).
 */
export const KB_DMA_FQ_SINGLE: u32 = 1 << 16;
/**
 * The 32-bit-first IOVA attempt for PCI devices follows a per-device flag, cleared for
 * good by the first failure (before: iommu.forcedac checked on every map). 791c2b17fb40
 * "iommu: Optimise PCI SAC address trick" (v6.6 [inferred]).
 */
export const KB_DMA_SAC_PER_DEVICE: u32 = 1 << 17;
/**
 * A live DMA → DMA-FQ switch is allowed whatever the group holds, and the reverse is
 * refused with -EPERM while a driver owns the group (before: the live switch only for
 * single-device groups, -EINVAL otherwise, and -EBUSY for the reverse). The group
 * ownership rework (2023; commit not identified); 6.12 has it [inferred]. Read by src/dma.ts.
 */
export const KB_DMA_SWITCH_OWNED_GROUPS: u32 = 1 << 18;
/**
 * dma_map_benchmark takes a map_mode (single or scatter-gather) and prints its later
 * header (commit not identified; after v6.12 [inferred]). Read by src/bench/map-benchmark.ts.
 */
export const KB_BENCH_MAP_MODE: u32 = 1 << 19;

// ── races the explorer reaches (bug-corpus #3 and #6) ─────────────────────────

/**
 * Flush-queue teardown cancels the timer and waits for a callback already running on
 * another CPU to finish before it frees the rings (before: the timer was deleted only if it
 * was still pending, so a callback that had started went on flushing and releasing rings
 * being freed under it). d7061627d701 "iommu/iova: Fix race between FQ timeout and
 * teardown" (v5.17; 5.15.y later than the 5.15.16 modelled here).
 */
export const KB_FQ_TEARDOWN_WAITS_TIMER: u32 = 1 << 28;
/**
 * A CPU that loses the race to install its split table unmaps its pages inside the
 * winner's table (before: at the last level it queued the TLBI and returned the size as
 * unmapped, leaving the page mapped). 85c7a0f1ef62 "iommu/io-pgtable-arm: Fix race
 * handling in split_blk_unmap()" (v4.20 [inferred]); every profile that splits has it.
 */
export const KB_PGT_SPLIT_LOSER_UNMAPS: u32 = 1 << 29;
/**
 * iommu_dma_init_domain holds the DMA cookie's mutex across its "already initialised?" test
 * (start_pfn != 0) and the IOVA domain's initialisation (before: tested and initialised
 * without a lock, so two devices of one group probing at once could both initialise it).
 * ac9a5d522bb8 "iommu/dma: Fix race condition during iova_domain initialization" (v6.0).
 */
export const KB_DMA_INIT_DOMAIN_LOCKED: u32 = 1 << 30;

/** Every bit above (a record's behaviours must be a subset): their union, derived, never a count. */
export const BEHAVIOUR_BITS: u32 =
  KB_PGT_SPLIT_PARTIAL_UNMAP | KB_PGT_MAP_NO_PROT_EINVAL | KB_PGT_UNMAP_TABLES_FIRST | KB_PGT_CONCAT_PER_TABLE |
  KB_PGT_S2_CONCAT_MANDATORY | KB_PGT_NO_WARN_QUIRK | KB_PGT_QUIRK_ARM_HD | KB_PGT_QUIRK_ARM_S2FWB |
  KB_PGT_SELFTEST_KUNIT | KB_SMMU_NONLEAF_TTL0 | KB_SMMU_INV_ALL_TOO_BIG | KB_SMMU_RANGE_NUM_BUMP |
  KB_IOVA_DEPOT_LIST | KB_IOVA_FAST_ROUNDS | KB_IOVA_MAX32_ANY_LOW_FREE | KB_IOVA_RETRY_ABOVE_CACHED |
  KB_IOVA_FLUSH_QUEUE | KB_FQ_TIMER_READ_FIRST | KB_DMA_FQ_SINGLE | KB_DMA_SAC_PER_DEVICE | KB_DMA_SWITCH_OWNED_GROUPS |
  KB_BENCH_MAP_MODE | KB_FQ_TEARDOWN_WAITS_TIMER | KB_PGT_SPLIT_LOSER_UNMAPS | KB_DMA_INIT_DOMAIN_LOCKED;
