// The exported ABI of the core, and nothing else: which constants and functions the
// TypeScript side sees (it reads the constants from the module and takes its types from
// the declarations asc writes, build/core.d.ts), and thin wrappers that validate what they
// can cheaply before calling into the unit that models the behaviour. Loops for benchmarks
// live with the units they exercise and are re-exported here.
//
// Conventions: addresses and sizes cross as f64 (exact to 2^53; the bindings refuse
// anything else before calling); failures are negative errnos (assembly/errno.ts, decoded
// in one place on the TypeScript side, src/errno.ts); 64-bit results that may not fit the
// return value go through the calling thread's slot (TS_RESULT0…).

import * as mm from "./memmap";
import { FRAME_SIZE } from "./memmap";
import { D_SMMU_DOMAIN } from "./pgtable/desc";
import { attachThread, lockAcquire, lockAcquireBounded, lockHolder, lockRelease, slotBase } from "./sync";
import { coreInit, coreMemoryBytes, coreReady } from "./core";
import { createTable, freePgtable, liveTable, releaseTable, setTableFlags } from "./pgtable/config";
import { iovaToPhys, mapPages } from "./pgtable/lpae";
import { unmapWithMode } from "./iommu/core";
import * as sd from "./smmu/domain";
import * as smmu from "./smmu/smmu";
import { smmuTranslate } from "./smmu/translate";
import * as cmd from "./smmu/cmd";
import { smmuConsume } from "./smmu/consume";
import * as v2bank from "./smmu/v2/bank";
import * as v2regs from "./smmu/v2/regs";
import { smmuTlbInvRange } from "./smmu/tlbi";
import * as engine from "./device/engine";
import * as phys from "./phys";
import * as fq from "./iova/fq";
import { clockAdvance } from "./timers";
import { lineOwnersForget } from "./line-sharing";
import { allocRange, findRange, freeRange, reserveRange } from "./iova/alloc";
import { allocFast, flushAll, flushCpu, freeFast } from "./iova/rcache";
import { iovaCreate, iovaDestroy, iovaSetFlags, liveDomain } from "./iova/domain";
import { claimDmaCpu, claimIovaCpu, releaseDmaCpu, releaseIovaCpu } from "./cpu-owner";
import * as dmad from "./dma/domain";
import * as dmai from "./dma/iommu";
import * as steps from "./dma/steps";
import * as variant from "./dma/variant";
import * as dloop from "./dma/loop";
import * as driver from "./dma/driver";
import * as probe from "./dma/probe";
import { iovaLostNodes } from "./iova/domain";
import { recordMapPages, recordUnmapPages, smmuOracle } from "./safety/record";
import * as wrun from "./workload/run";
import * as wstate from "./workload/state";
import * as mbench from "./workload/map-benchmark";
import { I_NCPUS } from "./iova/layout";
import {
  ESIM_ARGS, ESIM_CPU, ESIM_NO_DEVICE, ESIM_NO_DMA_DOMAIN, ESIM_NO_IOVA_DOMAIN, ESIM_NO_QUEUE, ESIM_NO_SMMU,
  ESIM_NO_SMMU_DOMAIN, ESIM_NO_TABLE, ESIM_NO_WORKLOAD, ESIM_NOT_READY, ESIM_THREAD_SLOT, ESIM_CMD_ILLEGAL,
  ESIM_TABLE_HAS_SMMU_DOMAIN, ENOSPC, ESIM_SMMU_MODEL, ESIM_NO_CONTEXT_BANK,
} from "./errno";

// ── constants: the memory map, record offsets, codes (each defined once, in its unit) ──

export * from "./errno";
export * from "./behaviour";
export { RR_KIND, RR_SEQ, RR_A, RR_B, RR_C } from "./ring";
export { SLOT_STATE, SLOT_LIVE } from "./slots";
export {
  LAYOUT_MAGIC, ABI_VERSION, STATIC_END, DYNAMIC_BASE, THREAD_SLOTS_BASE, THREAD_SLOT_SIZE, MAX_THREADS,
  TS_RESULT0, TS_RESULT1, PGT_BASE, PGT_DESC_SIZE, MAX_PGTABLES, ZONE_PHYS, ZONE_KHEAP, FRAME_SIZE,
  IOVA_SLOTS_BASE, IOVA_SLOT_SIZE, MAX_IOVA_DOMAINS, IOVA_MAX_CPUS, SMMUS_BASE, SMMU_DESC_SIZE, MAX_SMMUS,
  TS_CPU_NS, SMMU_DOMAINS_BASE, SMMU_DOMAIN_SIZE, DMA_DOMAINS_BASE, DMA_DOMAIN_SIZE, DMA_DEVICES_BASE,
  DMA_DEVICE_SIZE, MAX_DMA_CPUS, TS_STATS, COUNTER_CACHES_BASE, COUNTER_CACHE_SIZE, WORKLOAD_CPUS_BASE, WORKLOAD_CPU_SIZE,
  CTL_RUN_STOP, CTL_RUN_FLAGS, RUN_STOP_ON_VIOLATION, CPU_COST_LOCK, CPU_COST_DMA_API, CPU_COST_WALK_STEP,
  CPU_COST_PTE, CPU_COST_IOVA_RCACHE, CPU_COST_IOVA_TREE, CPU_COST_TABLE_ALLOC, CPU_COST_FQ_QUEUE,
  CPU_COST_LINE_TRANSFER,
  CPU_COST_COUNT, MAPBENCH_BASE, MAPBENCH_CPU_SIZE, PHYS_BASE, HIGH_RAM_WINDOW, TS_GATHER, MAX_DMA_DOMAINS, MAX_DMA_DEVICES,
  MAX_SMMU_DOMAINS, CONTROL_BASE, CTL_KERNEL, CTL_BEHAVIOURS, CTL_STOPPED_SLOTS
} from "./memmap";
export {
  HZ, CLOCK_JIFFIES_ADDR
} from "./clock";
export {
  TIME_WORK, TIME_CMDQ, TIME_SYNC, TIME_IOVA_TREE_LOCK, TIME_DEPOT_LOCK, TIME_FQ_LOCK, TIME_DELAY, TIME_LINE_TRANSFER,
  TIME_COUNT
} from "./cpu-time";
export {
  Z_FRAMES, Z_NFRAMES, Z_PAGES_LIVE, Z_ALLOCS_LIVE, Z_BAD_FREES, Z_ALLOC_FAIL, Z_ALLOCS_TOTAL, Z_FREES_TOTAL,
  Z_PEAK_PAGES
} from "./phys";
export {
  D_STATE, D_FMT, D_QUIRKS, D_COHERENT, D_IAS, D_OAS, D_PG_SHIFT, D_BPL, D_START_LEVEL, D_PGD_BITS, D_LEVELS,
  D_PGSIZE_BITMAP, D_PGD_PA, D_PGD_BYTES, D_FLAGS, D_TCR_TSZ, D_TCR_PS, D_TCR_TG, D_TCR_SH, D_TCR_IRGN,
  D_TCR_ORGN, D_TCR_SL, D_MAIR, D_EV_RING, D_EV_MASK, D_EV_HEAD, D_WARNINGS, D_BAD_TABLE_DESCS, DF_RECORD_EVENTS, DF_SELFTEST, DF_HIGH_TABLES,
  DF_FAULT_PLAIN_INSTALL, DF_DEFER_TABLE_FREE, D_SMMU_DOMAIN, D_KB, FMT_ARM_64_LPAE_S1, FMT_ARM_64_LPAE_S2,
  FMT_ARM_32_LPAE_S1, FMT_ARM_32_LPAE_S2, QUIRK_ARM_NS, QUIRK_ARM_TTBR1, QUIRK_ARM_OUTER_WBWA, QUIRK_ARM_HD,
  QUIRK_ARM_S2FWB, QUIRK_NO_WARN
} from "./pgtable/desc";
export {
  EVENT_SIZE, EV_TLB_ADD_PAGE, EV_TLB_FLUSH_WALK, EV_TLB_FLUSH_ALL, EV_IOTLB_SYNC, EV_WARN, EV_CMD, EV_REG,
  WARN_MAP_PGSIZE, WARN_MAP_RANGE, WARN_MAP_EXISTS, WARN_MAP_REPLACE_TABLE, WARN_MAP_LAST_LEVEL,
  WARN_UNMAP_ARGS, WARN_UNMAP_RANGE, WARN_UNMAP_NO_PTE, WARN_UNMAP_PARTIAL_BLOCK, WARN_OUT_OF_LEVELS,
  EVC_COUNT_LO, EVC_COUNT_BITS, EVC_STEP_LO, EVC_STEP_BITS, EVC_ADDR_LO, EVC_ADDR_BITS
} from "./events";
export {
  UNMAP_NULL_GATHER, UNMAP_GATHER, UNMAP_GATHER_QUEUED, UNMAP_SYNC
} from "./iommu/core";
export {
  SMMU_FEAT_RANGE_INV, SMMU_FEAT_E2H, SD_FLUSH_GEN, SD_CBNDX
} from "./smmu/domain";
export {
  V2R_TLBIVA, V2R_TLBIVAA, V2R_TLBIASID, V2R_TLBIALL, V2R_TLBIVAL, V2R_TLBIVAAL, V2R_TLBIIPAS2, V2R_TLBIIPAS2L,
  V2R_TLBSYNC, V2R_TLBSTATUS, V2R_TLBIVMID, V2R_TLBIALLNSNH, V2R_STLBGSYNC, V2R_STLBGSTATUS, V2_REG_KINDS,
  V2W_KIND_BITS, V2W_CB_LO, V2_VA_BITS, V2_IPA_BITS, V2_ASID_LO, V2_NUM_SMRS, V2_NUM_CBS, SMR_ID_MASK, SMR_MASK_LO,
  SMR_VALID, S2CR_CBNDX_MASK, S2CR_TYPE_LO, S2CR_TYPE_TRANS, S2CR_TYPE_BYPASS, S2CR_TYPE_FAULT, CBAR_VMID_MASK,
  SCTLR_M, FSR_TF, FSR_AFF, FSR_PF, FSR_EF, V2_FAULT_UNMATCHED, V2_FAULT_S2CR, V2_FAULT_CONFLICT
} from "./smmu/v2/regs";
export {
  V2S_VERSION, V2S_GS_ACTIVE, V2S_REG_STATS, V2S_SMRS, V2S_S2CRS, V2S_CBS, V2_CB_SIZE, CB_CBAR, CB_SCTLR, CB_TCR,
  CB_MAIR0, CB_TTBR0, CB_FAR, CB_FSR, CB_TLBSTATUS, CB_DOMAIN
} from "./smmu/v2/bank";
export {
  S_STATS, S_COSTS, S_FAULTS, S_FAULT_MASK, S_FAULT_HEAD, S_IOTLB, S_WALKC, FAULT_SIZE, MAX_STREAMS,
  OPT_INVALIDATE_AT_SYNC, OPT_TTL_STRICT, OPT_FAULT_DROP_TLBI, OPT_IOTLB_PER_STREAM, STAT_TRANSLATIONS, STAT_UTLB_HITS,
  STAT_IOTLB_HITS, STAT_IOTLB_MISSES, STAT_WALKS, STAT_PTE_READS, STAT_WALKC_HITS, STAT_FAULTS, STAT_TLBI_VA,
  STAT_TLBI_CONTEXT, STAT_TLBI_ALL, STAT_SYNCS, STAT_CMDS, STAT_ENTRIES_INVALIDATED, STAT_MODELLED_NS, STAT_BY_KIND, STAT_CMD_ILLEGAL,
  STAT_WALKS_QUEUED, STAT_WALK_WAIT_NS, MAX_WALKERS, DEFAULT_WALKERS,
  COST_PTE_READ, COST_IOTLB_HIT, COST_IOTLB_MISS, COST_WALKC_HIT, COST_TLBI, COST_SYNC, COST_UTLB_HIT,
  COST_CMDQ_CLAIM, COST_CMDQ_SPIN, COST_CMDQ_SPIN_MAX, COST_MMIO, COST_SYNC_WAKE, COST_REG_WRITE, COST_STATUS_POLL,
  COST_TLB_SYNC, S_MODEL, S_V2, SMMU_MODEL_V3, SMMU_MODEL_V2, SMMU_MODEL_V1,
  F_BAD_STREAM, F_TRANSLATION, F_ADDR_SIZE, F_ACCESS, F_PERMISSION, F_WALK_EABT, S_ORACLE, FR_TYPE, FR_IOVA, FR_SID,
  FR_LEVEL, FR_INFO
} from "./smmu/smmu";
export {
  C_HITS, C_MISSES, C_FILLS, C_EVICTIONS, C_INVALIDATED, META_READ, META_WRITE, C_SETS, C_WAYS, C_ENTRIES,
  CACHE_ENTRY_SIZE, CE_SEQ, CE_META, CE_TAG, CE_CTX, CE_OUT, META_VALID, META_LEAF, POLICY_LRU, POLICY_RR,
  POLICY_RANDOM, CACHE_MAX_BYTES, CACHE_SET_BYTES
} from "./smmu/cache";
export {
  OP_TLBI_NH_ALL, OP_TLBI_NH_ASID, OP_TLBI_NH_VA, OP_TLBI_NH_VAA, OP_TLBI_EL2_ALL, OP_TLBI_EL2_ASID,
  OP_TLBI_EL2_VA, OP_TLBI_S12_VMALL, OP_TLBI_S2_IPA, OP_TLBI_NSNH_ALL, OP_CMD_SYNC, OP_CFGI_STE, OP_CFGI_ALL,
  OP_CFGI_CD, OP_CFGI_CD_ALL, CMD_KINDS, CMD0_OP_LO, CMD0_OP_BITS,
  CMD0_NUM_LO, CMD0_NUM_BITS, CMD0_SCALE_LO, CMD0_SCALE_BITS, CMD0_VMID_LO, CMD0_VMID_BITS, CMD0_ASID_LO,
  CMD0_ASID_BITS, CMD1_LEAF_LO, CMD1_LEAF_BITS, CMD1_TTL_LO, CMD1_TTL_BITS, CMD1_TG_LO, CMD1_TG_BITS,
  CMD1_ADDR_LO, CMD1_VA_BITS, CMD1_IPA_BITS
} from "./smmu/cmd";
export {
  ACCESS_WRITE, ACCESS_PRIV
} from "./smmu/translate";
export {
  HIT_UTLB, HIT_IOTLB, HIT_WALK, HIT_BYPASS, AR_META, AR_FAULT_LEVEL, AR_PA, AR_FAULT_INFO, AR_HIT, AR_ORACLE_CLASS
} from "./smmu/access";
export {
  O_RING, O_RING_MASK, O_RING_HEAD, O_COUNTERS, VIOLATION_SIZE, AC_OK, AC_LAZY_WINDOW, AC_UNCHECKED,
  AC_AFTER_STRICT, AC_AFTER_FLUSH, AC_USE_AFTER_FREE, AC_UNKNOWN, AC_FREED_TABLE, AC_FULL, SH_MAPPED,
  SH_UNMAPPED_STRICT, SH_UNMAPPED_LAZY, V_KIND, V_IOVA, V_REACHED, V_EXPECTED, V_UNMAPPED_AT, V_AT, V_SID,
  V_GEN
} from "./safety/oracle";
export {
  RING_HEADER, DESC_SIZE, R_CAPACITY, R_HISTORY_MASK, R_PROD, R_CONS, R_STATS, RS_COMPLETED, RS_FAULTED,
  RS_BYTES, RS_RETRIES, RS_RETRIES_THROUGH, DESC_WRITE
} from "./device/engine";
export {
  I_NCPUS, I_SHIFT, I_MAG_SIZE, MAG_SIZE_MAX, I_OWNERS, I_RCACHES, I_START_PFN, I_DMA32_PFN,
  I_TREE_LOCK, I_ROOT, I_CACHED, I_CACHED32, I_NODES, I_MAX32, I_ANCHOR, I_ST_ALLOCS, I_ST_ALLOC_FAILS,
  I_ST_FREES, I_ST_WALK_STEPS, I_ST_WALK_MAX, I_ST_SEARCH_MISMATCH, I_ST_BELOW_START, I_ST_UNKNOWN_FREES,
  I_ST_RETRIES, I_ST_ABOVE_LIMIT, I_ST_SEARCH_VISITS, I_ST_SEARCH_VISITS_MAX, I_ST_WARNINGS, I_ST_BAD_FAST_FREES, I_ST_MAG_ALLOC_FAILS, I_ST_FLUSH_RETRIES,
  I_ST_DEPOT_RECLAIMS, I_ST_DEPOT_DRAINS, I_ST_DEPOT_FULL_FLUSHES, I_ST_ZERO_PFN_FAST, I_ST_BUGS, I_NODE_POOL, I_MAG_POOL, I_EV_HEAD,
  I_EV_RING, IEV_ENTRIES, IEV_SIZE, I_DEPOT, DEPOT_STRIDE, DP_LOCK, DP_SIZE, DP_HEAD, DP_ARRAY,
  OWNER_STRIDE, PC_STRIDE, PC_LOCK, PC_LOADED, PC_PREV, PC_HITS, PC_MISSES, PC_DEPOT_HITS, M_SIZE,
  M_PFNS, RCACHE_BINS, IF_FAIL_ATOMIC, IF_NO_DEPOT_LOCK, IF_VERIFY_SEARCH, IF_LINEAR_SEARCH,
  IF_CHECK_FAST_FREES, I_FQ_START_CNT, I_FQ_FINISH_CNT, IEV_FQ_FLUSH, IEV_FQ_RELEASE, IEV_WARN,
  I_FQ_FLUSH_FULL, I_FQ_FLUSH_TIMER, I_FQ_TIMER_WRITES, I_FQ_TIMER_MOVES, IF_NO_FQ_EVENTS, I_KB, IW_INSERT_DUP, IW_MAG_PFN_MISSING,
  IW_RESERVE_RANGE
} from "./iova/layout";
export {
  N_LO, N_HI, N_LEFT, N_RIGHT
} from "./iova/tree";
export {
  POOL_LIVE
} from "./iova/slab";
export {
  FQ_OPT_SINGLE, FQ_SIZE
} from "./iova/fq";
export {
  FAST_SIZES_ONE, FAST_SIZES_POW2, FAST_SIZES_1_TO_8, TREE_POPULATE, TREE_PAIRS, TREE_REFILL
} from "./iova/loops";
export {
  DD_TYPE, DD_IOVA, DD_FQ_DOMAIN, DD_QUIRK, DD_SWITCHES, DD_STEPS, DV_DOMAIN, DOMAIN_DMA, DOMAIN_DMA_FQ, DVF_PCI_32BIT,
  DVF_COHERENT, DDF_FORCEDAC, DS_COUNT, DS_MAPS, DS_MAP_FAILS, DS_UNMAPS_STRICT, DS_UNMAPS_LAZY, DS_SYNCS, DS_SAC_TRIES,
  DS_SAC_FALLBACKS, DS_UNMAP_SHORT, DS_MIXED, DS_NO_QUEUE, BUS_PLATFORM, BUS_PCI
} from "./dma/domain";
export {
  LOOP_TOUCH, LS_PAIRS, LS_MAP_FAILS
} from "./dma/loop";
export {
  WL_NIC_RX, WL_NIC_TX, WL_STORAGE, WL_RANDOM, WL_ATTACKER, WL_PAIRS, WL_SWITCHER, WL_PHYS_BASE, WL_PHYS_CPU_SHIFT
} from "./workload/run";
export {
  WL_HIST_BUCKETS, W_HIST_MAP, W_HIST_UNMAP, W_HIST_WINDOW, WC_OPS, WC_MAPS, WC_UNMAPS, WC_MAP_FAILS,
  WC_ACCESSES, WC_FAULTS, WC_VIOLATIONS, WC_UNMAP_ERRORS, WC_MAP_NS, WC_UNMAP_NS, WC_WINDOWS_LOST,
  WC_STALE_HITS, WC_RETRIES, WC_SWITCHES, WC_TLB_HITS, WC_TIME, WC_CLOCK, WC_OPEN_WINDOWS, RING_MAX, KEPT_MAX, LOG_MAX
} from "./workload/state";
export {
  MB_CLOCK, MB_LOOPS, MB_SUM_MAP, MB_SUM_UNMAP, MB_SUM_SQ_MAP, MB_SUM_SQ_UNMAP, MB_JIFFIES0, MB_STATUS, MB_TIME
} from "./workload/map-benchmark";
export { IOMMU_READ, IOMMU_WRITE, IOMMU_CACHE, IOMMU_NOEXEC, IOMMU_MMIO, IOMMU_PRIV } from "./pgtable/lpae";
export { DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE, ATTR_PRIVILEGED, DMA_MAP_FAIL_IOVA, DMA_MAP_FAIL_PGTABLE } from "./dma/iommu";

// ── batched loops, with the units they exercise ─────────────────────────────

export { pgt_loop_map_unmap, pgt_loop_walk } from "./pgtable/loops";
export { smmu_loop_translate } from "./smmu/loops";
export { iova_loop_fast_pairs, iova_loop_cross, iova_loop_tree } from "./iova/loops";

// ── lifecycle ───────────────────────────────────────────────────────────────

/**
 * Bytes of shared memory a machine with `ramBytes` of simulated RAM and `kheapBytes` of
 * simulator-private memory needs (each rounded down to whole frames). Pure: asked before
 * the memory exists.
 */
export function core_memory_bytes(ramBytes: u32, kheapBytes: u32): f64 {
  return <f64>coreMemoryBytes(ramBytes / FRAME_SIZE, kheapBytes / FRAME_SIZE);
}

/** Lay the memory out (once, before any worker attaches): 0 or a negative errno. */
export function core_init(memoryBytes: u32, ramBytes: u32, kheapBytes: u32, pageShift: u32): i32 {
  return coreInit(memoryBytes, ramBytes / FRAME_SIZE, kheapBytes / FRAME_SIZE, pageShift);
}

/** Bind this instance to thread slot `slot`: 0, -ESIM_NOT_READY or -ESIM_THREAD_SLOT. */
export function core_attach(slot: u32, canBlock: bool): i32 {
  if (!coreReady()) return -ESIM_NOT_READY;
  return attachThread(slot, canBlock) ? 0 : -ESIM_THREAD_SLOT;
}

// ── page tables ─────────────────────────────────────────────────────────────

/** alloc_io_pgtable_ops for a kernel with behaviours `kb` (KB_*): the table's id, or a negative errno. */
export function pgt_create(fmt: u32, kb: u32, bitmap: f64, ias: u32, oas: u32,
                           coherent: bool, quirks: u32, pageShift: u32, events: u32): i32 {
  return createTable(fmt, kb, <u64>bitmap, ias, oas, coherent, quirks, pageShift, events);
}

/** map_pages: 0 or the kernel's -errno; the bytes mapped (a u64, it can wrap in v5.15) go to RESULT0. */
export function pgt_map(id: u32, iova: f64, paddr: f64, pgsize: f64, pgcount: f64, prot: u32): i32 {
  const d = liveTable(id);
  const out = slotBase() + mm.TS_RESULT0;
  store<u64>(out, 0);
  if (d == 0) return -ESIM_NO_TABLE;
  return mapPages(d, <u64>iova, <u64>paddr, <u64>pgsize, <u64>pgcount, prot, out);
}

/**
 * unmap_pages with the gather of `mode` (UNMAP_*). Returns the bytes unmapped (also in
 * RESULT0 as a u64), or -ESIM_NO_TABLE; RESULT1 says whether the gather was still queued
 * at the end (what dma-iommu checks before syncing).
 */
export function pgt_unmap(id: u32, iova: f64, pgsize: f64, pgcount: f64, mode: u32): f64 {
  const d = liveTable(id);
  const slot = slotBase();
  store<u64>(slot + mm.TS_RESULT0, 0);
  store<u64>(slot + mm.TS_RESULT1, 0);
  if (d == 0) return -ESIM_NO_TABLE;
  const bytes = unmapWithMode(d, slot + mm.TS_GATHER, <u64>iova, <u64>pgsize, <u64>pgcount, mode,
                              slot + mm.TS_RESULT1);
  store<u64>(slot + mm.TS_RESULT0, bytes);
  return <f64>bytes;
}

/** iova_to_phys: the physical address (0 if unmapped), or -ESIM_NO_TABLE. */
export function pgt_iova_to_phys(id: u32, iova: f64): f64 {
  const d = liveTable(id);
  if (d == 0) return -ESIM_NO_TABLE;
  return <f64>iovaToPhys(d, <u64>iova);
}

export function pgt_free(id: u32): bool {
  return freePgtable(id);
}

export function pgt_release(id: u32): bool {
  return releaseTable(id);
}

export function pgt_set_flags(id: u32, set: u32, clear: u32): bool {
  return setTableFlags(id, set, clear);
}

/** Make an SMMU domain the cookie of a table's TLB callbacks (-1: none). */
export function pgt_set_smmu_domain(id: u32, domain: i32): i32 {
  const d = liveTable(id);
  if (d == 0) return -ESIM_NO_TABLE;
  if (domain >= 0 && !sd.smmuDomainLive(<u32>domain)) return -ESIM_NO_SMMU_DOMAIN;
  // A table's invalidations go to one domain: a second would take them from the first, whose
  // devices would keep stale entries (and the oracle would see the first domain's unmaps as
  // never invalidated).
  const bound = load<u32>(d + D_SMMU_DOMAIN);
  if (domain >= 0 && bound != 0 && bound != <u32>domain + 1) return -ESIM_TABLE_HAS_SMMU_DOMAIN;
  store<u32>(d + D_SMMU_DOMAIN, domain < 0 ? 0 : <u32>domain + 1);
  return 0;
}

/**
 * The SMMUv3 driver's range invalidation of the table's SMMU domain, called directly rather
 * than from io-pgtable's callbacks (as the SVA notifier calls it for any munmap range):
 * 0, or -ESIM_NO_TABLE / -ESIM_NO_SMMU_DOMAIN / -ESIM_ARGS (granule not a power of two ≥ 4K).
 */
export function pgt_smmu_inv_range(id: u32, iova: f64, size: f64, granule: f64, leaf: bool): i32 {
  const d = liveTable(id);
  if (d == 0) return -ESIM_NO_TABLE;
  const domain = sd.tlbCookie(d);
  if (domain == 0) return -ESIM_NO_SMMU_DOMAIN;
  const g = <u64>granule;
  if (g < 4096 || (g & (g - 1)) != 0) return -ESIM_ARGS;
  smmuTlbInvRange(d, domain, <u64>iova, <u64>size, g, leaf);
  return 0;
}

// ── SMMU domains and SMMUs ──────────────────────────────────────────────────

/** An arm_smmu_domain: stage 1 (ASID = id) or 2 (VMID = id), its driver's behaviours `kb` (KB_SMMU_*). */
export function smmu_domain_create(stage: u32, id: u32, features: u32, kb: u32): i32 {
  return sd.smmuDomainCreate(stage, id, features, kb);
}

export function smmu_domain_destroy(id: u32): bool {
  // On an SMMU v1/v2 its context bank goes back to the free ones (arm_smmu_destroy_domain_context).
  if (sd.smmuDomainLive(id)) {
    const dom = sd.smmuDomainAt(id);
    const s = dom.smmu != 0 ? smmu.smmuLive(dom.smmu - 1) : 0;
    if (s != 0 && dom.cbndx != 0 && dom.model != smmu.SMMU_MODEL_V3) {
      v2bank.v2ReleaseBank(changetype<smmu.SmmuInstance>(s), dom.cbndx - 1, id);
    }
  }
  return sd.smmuDomainDestroy(id);
}

/** Create an SMMU; see assembly/smmu/smmu.ts for the arguments. Its id, or a negative errno. */
export function smmu_create(options: u32, tlbSets: u32, tlbWays: u32, policy: u32, seed: u32,
                            wc0: u32, wc1: u32, wc2: u32, wc3: u32, utlb: u32, faultRing: u32, model: u32): i32 {
  return v2bank.smmuCreateModel(options, tlbSets, tlbWays, policy, seed, wc0, wc1, wc2, wc3, utlb, faultRing, model);
}

export function smmu_destroy(id: u32): bool {
  if (smmu.smmuLive(id) == 0) return false;
  sd.smmuDomainsUnbind(id);
  return smmu.smmuDestroy(id);
}

/**
 * Clear the entries of flushed contexts from every cache of SMMU `id`, counting them
 * (smmu/context-gen.ts): read before its statistics or caches are. False: no such SMMU.
 */
export function smmu_settle(id: u32): bool {
  const s = smmu.smmuLive(id);
  if (s == 0) return false;
  smmu.smmuSettle(changetype<smmu.SmmuInstance>(s));
  return true;
}

export function smmu_set_cost(id: u32, which: u32, ns: u32): bool {
  return smmu.setCost(id, which, ns);
}

/** Table walks SMMU `id` runs at once, 1..MAX_WALKERS (assembly/smmu/walkers.ts). */
export function smmu_set_walkers(id: u32, n: u32): bool {
  return smmu.setWalkers(id, n);
}

/**
 * Program stream `sid` to translate with SMMU domain `domain`'s single-stage context (its
 * stage, ASID and VMID as the domain has them): 0 or a negative errno.
 */
export function smmu_ste_set(id: u32, sid: u32, domain: u32, ttb: f64, ias: u32, pgShift: u32, start: u32, oas: u32): i32 {
  if (!sd.smmuDomainLive(domain)) return -ESIM_NO_SMMU_DOMAIN;
  const dom = sd.smmuDomainAt(domain);
  return smmu.steSet(id, sid, domain, dom.stage, dom.asid, dom.vmid, <u64>ttb, ias, pgShift, start, oas);
}

/**
 * The IOTLB stream `sid`'s translations use (a CacheHeader's address: the SMMU's shared one,
 * or its own main TLB — on an SMMU v1/v2, that of the context bank it matches into), 0 if it
 * has none (yet) or there is no such SMMU.
 */
export function smmu_stream_iotlb(id: u32, sid: u32): u32 {
  const s = smmu.smmuLive(id);
  if (s == 0) return 0;
  const inst = changetype<smmu.SmmuInstance>(s);
  let slot = <i32>sid;
  if (inst.model != smmu.SMMU_MODEL_V3) slot = v2bank.v2StreamMatch(inst, sid); // a bank, or < 0 / MATCH_BYPASS
  if (<u32>slot >= smmu.MAX_STREAMS) return 0;
  return changetype<u32>(smmu.steOf(inst, <u32>slot).iotlb);
}

/**
 * IOTLB counter `offset` (C_HITS, C_MISSES, C_FILLS, C_EVICTIONS, C_INVALIDATED) of SMMU
 * `id`: the shared IOTLB's, or every main TLB's together — one call for what would be one
 * per stream. -1 if there is no such SMMU.
 */
export function smmu_iotlb_counter(id: u32, offset: u32): f64 {
  const s = smmu.smmuLive(id);
  if (s == 0) return -1;
  return <f64>smmu.iotlbCounterSum(changetype<smmu.SmmuInstance>(s), offset);
}

export function smmu_ste_clear(id: u32, sid: u32): bool {
  const s = smmu.smmuLive(id);
  if (s == 0 || sid >= smmu.MAX_STREAMS) return false;
  if (load<u32>(s + smmu.S_MODEL) != smmu.SMMU_MODEL_V3) v2bank.v2UnmapStream(changetype<smmu.SmmuInstance>(s), sid);
  else smmu.steClear(s, sid);
  return true;
}

/** The live SMMU domain on SMMU `id` whose stage-`stage` context is `ctxId` (ASID or VMID), or -1. */
export function smmu_context_holder(id: u32, stage: u32, ctxId: u32): i32 {
  return sd.smmuContextHolder(id, stage, ctxId);
}

/** Send an SMMU domain's commands (or register writes) to SMMU `id` (-1: to none): 0 or a negative errno. */
export function smmu_domain_set_smmu(domain: u32, id: i32): i32 {
  if (!sd.smmuDomainLive(domain)) return -ESIM_NO_SMMU_DOMAIN;
  const s = id >= 0 ? smmu.smmuLive(<u32>id) : 0;
  if (id >= 0 && s == 0) return -ESIM_NO_SMMU;
  const a = sd.smmuDomainAddr(domain);
  store<u32>(a + sd.SD_MODEL, s == 0 ? smmu.SMMU_MODEL_V3 : load<u32>(s + smmu.S_MODEL));
  store<u32>(a + sd.SD_SMMU, id < 0 ? 0 : <u32>id + 1);
  return 0;
}

// ── SMMU v1/v2: stream matching, context banks, registers ─────────────────────

/**
 * Attach stream `sid` of an SMMU v1/v2 to SMMU domain `domain` as arm-smmu.c does: the
 * domain's context bank (claimed and programmed with TTBR0, TCR, MAIR0 on its first attach;
 * its walk context from the table's geometry), then an SMR matching the stream exactly and
 * its S2CR steering it there. The bank's index, or -ESIM_NO_SMMU, -ESIM_NO_SMMU_DOMAIN,
 * -ESIM_SMMU_MODEL (an SMMUv3), -ESIM_ARGS, -ESIM_NO_CONTEXT_BANK (banks or SMRs used up).
 */
export function smmu_v2_attach(id: u32, sid: u32, domain: u32, ttb: f64, tcr: u32, mair: u32, ias: u32,
                               pgShift: u32, start: u32, oas: u32): i32 {
  const s = smmu.smmuLive(id);
  if (s == 0) return -ESIM_NO_SMMU;
  if (load<u32>(s + smmu.S_MODEL) == smmu.SMMU_MODEL_V3) return -ESIM_SMMU_MODEL;
  if (!sd.smmuDomainLive(domain)) return -ESIM_NO_SMMU_DOMAIN;
  if (sid > v2regs.SMR_ID_MASK) return -ESIM_ARGS;
  const dom = sd.smmuDomainAt(domain);
  const inst = changetype<smmu.SmmuInstance>(s);
  const cb = v2bank.v2BankFor(inst, domain, dom.stage, dom.asid, dom.vmid, <u64>ttb, tcr, mair);
  if (cb < 0) return -ESIM_NO_CONTEXT_BANK;
  const vmid = dom.stage == 2 ? dom.vmid & v2regs.CBAR_VMID_MASK : 0;
  const rc = smmu.steSet(id, <u32>cb, domain, dom.stage, dom.asid, vmid, <u64>ttb, ias, pgShift, start, oas);
  if (rc != 0) return rc;
  if (v2bank.v2MapStream(inst, sid, <u32>cb) < 0) return -ESIM_NO_CONTEXT_BANK;
  dom.cbndx = <u32>cb + 1;
  return cb;
}

/** Write SMR `index` and its S2CR of an SMMU v1/v2 as given (a raw register write): 0 or a negative errno. */
export function smmu_v2_stream_match(id: u32, index: u32, smr: u32, s2cr: u32): i32 {
  const s = smmu.smmuLive(id);
  if (s == 0) return -ESIM_NO_SMMU;
  if (load<u32>(s + smmu.S_MODEL) == smmu.SMMU_MODEL_V3) return -ESIM_SMMU_MODEL;
  if (index >= v2regs.V2_NUM_SMRS) return -ESIM_ARGS;
  v2bank.v2WriteStreamMatch(changetype<smmu.SmmuInstance>(s), index, smr, s2cr);
  return 0;
}

/**
 * Write a TLB-maintenance or sync register of an SMMU v1/v2 (kind V2R_*, of bank `cb` for a
 * context-bank register) with the value hi·2^32 + lo, as a test rig would: 0 or a negative
 * errno (-ESIM_ARGS for a status register, which is read, or a bank out of range).
 */
export function smmu_v2_write(id: u32, kind: u32, cb: u32, hi: u32, lo: u32): i32 {
  const s = smmu.smmuLive(id);
  if (s == 0) return -ESIM_NO_SMMU;
  if (load<u32>(s + smmu.S_MODEL) == smmu.SMMU_MODEL_V3) return -ESIM_SMMU_MODEL;
  if (kind >= v2regs.V2_REG_KINDS || v2regs.v2RegStatus(kind) || cb >= v2regs.V2_NUM_CBS) return -ESIM_ARGS;
  v2bank.v2RegWrite(changetype<smmu.SmmuInstance>(s), kind, cb, (<u64>hi << 32) | <u64>lo, 1, 0);
  return 0;
}

/** A register kind's offset in its page (CBn or GR0), as the architecture places it. */
export function smmu_v2_reg_offset(kind: u32): u32 {
  return v2regs.v2RegOffset(kind);
}

/**
 * One device access. Returns 0 or the fault type (F_*), or -ESIM_NO_SMMU; the slot's
 * RESULT0..3 hold +0 meta, +4 fault level, +8 physical address, +16 fault info, +24 where
 * it hit.
 */
export function smmu_translate(id: u32, sid: u32, iova: f64, access: u32): i32 {
  const s = smmu.smmuLive(id);
  if (s == 0) return -ESIM_NO_SMMU;
  return <i32>smmuTranslate(s, sid, <u64>iova, access, slotBase() + mm.TS_RESULT0);
}

/** A modelled CPU cost (ns) to charge from now on: which = CPU_COST_*. */
export function cpu_set_cost(which: u32, ns: u32): bool {
  if (which >= mm.CPU_COST_COUNT) return false;
  store<u32>(mm.CONTROL_BASE + mm.CTL_CPU_COSTS + which * 4, ns);
  return true;
}

/** This thread's modelled CPU time so far (ns), and reset it when `reset`. */
export function cpu_modelled_ns(reset: bool): f64 {
  const acc = slotBase() + mm.TS_CPU_NS;
  const v = load<u64>(acc);
  if (reset) store<u64>(acc, 0);
  return <f64>v;
}

// Commands submitted directly to an SMMU (as a test rig or an emulated driver would), built
// with the same encoders the driver side uses. The halves carry 64-bit fields exactly.

/** A range TLBI (op NH_VA / EL2_VA / S2_IPA) at addr = hi·2^32 + lo. */
export function smmu_cmd_tlbi_range(id: u32, op: u32, asid: u32, vmid: u32, addrHi: u32, addrLo: u32,
                                    leaf: bool, ttl: u32, tg: u32, scale: u32, num: u32): bool {
  const s = smmu.smmuLive(id);
  if (s == 0) return false;
  const addr = (<u64>addrHi << 32) | <u64>addrLo;
  smmuConsume(s, cmd.tlbiRangeDw0(op, asid, vmid, num, scale), cmd.tlbiRangeDw1(op, addr, leaf, ttl, tg), 1, 0);
  return true;
}

/** An ASID/VMID-wide or global TLBI (NH_ASID, EL2_ASID, S12_VMALL, NH_ALL, NSNH_ALL, EL2_ALL). */
export function smmu_cmd_tlbi_context(id: u32, op: u32, asid: u32, vmid: u32): bool {
  const s = smmu.smmuLive(id);
  if (s == 0) return false;
  smmuConsume(s, cmd.tlbiContextDw0(op, asid, vmid), 0, 1, 0);
  return true;
}

/** Any 16-byte command, as an emulated driver would write it into the queue. */
/** A raw command: 0, -ESIM_NO_SMMU, or -ESIM_CMD_ILLEGAL (not consumed; counted in STAT_CMD_ILLEGAL). */
export function smmu_cmd_raw(id: u32, dw0lo: u32, dw0hi: u32, dw1lo: u32, dw1hi: u32): i32 {
  const s = smmu.smmuLive(id);
  if (s == 0) return -ESIM_NO_SMMU;
  smmuConsume(s, (<u64>dw0hi << 32) | dw0lo, (<u64>dw1hi << 32) | dw1lo, 1, 0);
  return cmd.cmdOpLegal(<u64>dw0lo & 0xff) ? 0 : -ESIM_CMD_ILLEGAL;
}

/** Where an opcode's counter sits among the SMMU's per-kind statistics (-1: not a kind it counts). */
export function cmd_kind_index(op: u32): i32 {
  return cmd.cmdKindIndex(<u64>op);
}

export function smmu_cmd_sync(id: u32): bool {
  const s = smmu.smmuLive(id);
  if (s == 0) return false;
  smmuConsume(s, cmd.syncDw0(), 0, 1, 0);
  return true;
}

// ── safety oracle ───────────────────────────────────────────────────────────

/** Turn on SMMU `id`'s oracle (powers of two): 0 or a negative errno. */
export function smmu_oracle_enable(id: u32, capacity: u32, ring: u32): i32 {
  if (capacity < 2 || (capacity & (capacity - 1)) != 0 || ring < 2 || (ring & (ring - 1)) != 0) return -ESIM_ARGS;
  return smmu.smmuOracleEnable(id, capacity, ring);
}

/** The DMA API mapped `pages` pages in SMMU domain `domain` (its ASID/VMID tag the shadow). */
export function oracle_map(id: u32, domain: u32, iova: f64, pa: f64, pages: f64): bool {
  const o = smmuOracle(id);
  if (o == 0 || !sd.smmuDomainLive(domain)) return false;
  recordMapPages(o, domain, <u64>iova >> 12, <u64>pa >> 12, <u64>pages);
  return true;
}

/** The DMA API unmapped `pages` pages: lazily (flush queue) or strictly (invalidation done). */
export function oracle_unmap(id: u32, domain: u32, iova: f64, pages: f64, lazy: bool): bool {
  const o = smmuOracle(id);
  if (o == 0 || !sd.smmuDomainLive(domain)) return false;
  recordUnmapPages(o, domain, <u64>iova >> 12, <u64>pages, lazy);
  return true;
}

// ── device DMA engines ──────────────────────────────────────────────────────

/** A DMA ring (and attacker history when history > 0) in kheap: its address, or 0. */
export function dma_ring_create(capacity: u32, history: u32, granule: u32): u32 {
  if (capacity < 2 || (capacity & (capacity - 1)) != 0) return 0;
  if (history != 0 && (history & (history - 1)) != 0) return 0;
  const bytes = engine.ringBytes(capacity, history);
  const frame = phys.zoneAlloc(mm.ZONE_KHEAP, phys.orderForBytes(<u64>bytes));
  if (frame < 0) return 0;
  const r = phys.frameAddr(mm.ZONE_KHEAP, <u32>frame);
  engine.ringInit(r, capacity, history, granule);
  return r;
}

export function dma_ring_destroy(r: u32): bool {
  const base = phys.frameAddr(mm.ZONE_KHEAP, 0);
  if (r < base) return false;
  return phys.zoneFree(mm.ZONE_KHEAP, (r - base) >> 12);
}

export function dma_ring_post(r: u32, iova: f64, len: u32, flags: u32): bool {
  return engine.ringPost(r, <u64>iova, len, flags);
}

/** Run a device's engine on ring `r`: descriptors completed, or -ESIM_NO_SMMU. */
export function device_run(id: u32, sid: u32, r: u32, budget: u32, retries: u32, seed: u32): i32 {
  const s = smmu.smmuLive(id);
  if (s == 0) return -ESIM_NO_SMMU;
  return <i32>engine.deviceRun(s, sid, r, budget, retries, seed);
}

// ── IOVA domains ────────────────────────────────────────────────────────────
// PFNs and sizes cross as f64 (the bindings check they are integers below 2^53); results
// that are PFNs come back as f64, negative errnos otherwise.

/** init_iova_domain for a kernel with behaviours `kb` and magazines of `magSize` PFNs: its id, or a negative errno. */
export function iova_create(kb: u32, magSize: u32, shift: u32, startPfn: f64, ncpus: u32, flags: u32): i32 {
  return iovaCreate(kb, magSize, shift, <u64>startPfn, ncpus, flags);
}

export function iova_destroy(id: u32): i32 {
  return iovaDestroy(id);
}

/** Turn flags (IF_*) on and off: the flags now, or -ESIM_NO_IOVA_DOMAIN. */
export function iova_set_flags(id: u32, set: u32, clear: u32): i32 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  return <i32>iovaSetFlags(d, set, clear);
}

/** alloc_iova: pfn_lo of the new range (pfn_hi = pfn_lo + size − 1), or a negative errno. */
export function iova_alloc(id: u32, size: f64, limit: f64, aligned: bool): f64 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  if (size < 1) return -ESIM_ARGS;
  return <f64>allocRange(d, <u64>size, <u64>limit, aligned, slotBase() + mm.TS_RESULT0);
}

/** free_iova: 1 if a range was removed, 0 if no range contains pfn (a no-op, counted). */
export function iova_free(id: u32, pfn: f64): i32 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  return freeRange(d, <u64>pfn) ? 1 : 0;
}

/** find_iova: 1 and the range in RESULT0/RESULT1, or 0. */
export function iova_find(id: u32, pfn: f64): i32 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  return findRange(d, <u64>pfn, slotBase() + mm.TS_RESULT0) ? 1 : 0;
}

/** reserve_iova: 0 and the (possibly merged) range in RESULT0/RESULT1, or a negative errno. */
export function iova_reserve(id: u32, lo: f64, hi: f64): f64 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  return <f64>reserveRange(d, <u64>lo, <u64>hi, slotBase() + mm.TS_RESULT0);
}

/** alloc_iova_fast on simulated `cpu`: a PFN, 0 on failure (the kernel's), or a negative errno. */
export function iova_alloc_fast(id: u32, cpu: u32, size: f64, limit: f64, flush: bool): f64 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  if (size < 1) return -ESIM_ARGS;
  const c = claimIovaCpu(d, cpu);
  if (c != 0) return c;
  return <f64>allocFast(d, cpu, <u64>size, <u64>limit, flush);
}

/** free_iova_fast on simulated `cpu`: 1 if cached, 0 if it went to the tree, or a negative errno. */
export function iova_free_fast(id: u32, cpu: u32, pfn: f64, size: f64): i32 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  if (size < 1) return -ESIM_ARGS;
  const c = claimIovaCpu(d, cpu);
  if (c != 0) return c;
  return freeFast(d, cpu, <u64>pfn, <u64>size) ? 1 : 0;
}

/** Stop running simulated `cpu` on this thread: 0, or a negative errno. */
export function iova_release_cpu(id: u32, cpu: u32): i32 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  return releaseIovaCpu(d, cpu);
}

/** free_cpu_cached_iovas (any thread may, as the kernel's hotplug callback does). */
export function iova_flush_cpu(id: u32, cpu: u32): i32 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  if (cpu >= load<u32>(d + I_NCPUS)) return -ESIM_CPU;
  flushCpu(d, cpu);
  return 0;
}

/** Every CPU's caches and the depot back to the tree (alloc_iova_fast's retry path). */
export function iova_flush_all(id: u32): i32 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  flushAll(d);
  return 0;
}

/** Address of a domain's block (for the bindings' reads of its state), or 0. */
export function iova_block(id: u32): u32 {
  return liveDomain(id);
}

/** Take / drop a lock in shared memory (the bindings read consistent snapshots under it). */
export function sync_lock(addr: u32): void {
  lockAcquire(addr);
}

/** sync_lock that gives up (false) after about `maxLooks` looks at a held lock. */
export function sync_lock_bounded(addr: u32, maxLooks: u32): bool {
  return lockAcquireBounded(addr, maxLooks);
}

export function sync_unlock(addr: u32): void {
  lockRelease(addr);
}

/** The thread slot holding the lock at `addr`, or -1 (free, or a word no thread wrote). */
export function sync_lock_holder(addr: u32): i32 {
  return lockHolder(addr);
}

/** Advance simulated time by `jiffies`, firing due timers on simulated CPU `cpu`; returns the new time. */
export function clock_advance(jiffies: f64, cpu: u32): f64 {
  return <f64>clockAdvance(<u64>jiffies, cpu);
}

// ── v5.15 flush queue (in iova.c then) ──────────────────────────────────────

/** init_iova_flush_queue: 0, or -ENOMEM, or -ESIM_NO_IOVA_DOMAIN. */
export function iova_fq_init(id: u32): i32 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  return fq.fqInit(d, fq.FQ_SIZE, fq.FQ_TIMEOUT_JIFFIES, 0);
}

/** queue_iova on simulated `cpu`: 0, or -ESIM_NO_QUEUE without a flush queue, or another negative errno. */
export function iova_queue(id: u32, cpu: u32, pfn: f64, pages: f64, data: f64): i32 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  if (!fq.fqEnabled(d)) return -ESIM_NO_QUEUE;
  if (pages < 1) return -ESIM_ARGS;
  const c = claimIovaCpu(d, cpu);
  if (c != 0) return c;
  fq.fqQueue(d, cpu, <u64>pfn, <u64>pages, <u64>data);
  return 0;
}

/** The flush callback runs flush_iotlb_all on page table `pt` (-1: only logs). */
export function iova_fq_set_flush(id: u32, pt: i32): i32 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  if (pt >= 0 && liveTable(<u32>pt) == 0) return -ESIM_NO_TABLE;
  fq.fqSetFlushTarget(d, pt);
  return 0;
}

/** free_iova_flush_queue, ahead of destroying the domain (so its events can be read). */
export function iova_fq_teardown(id: u32): i32 {
  const d = liveDomain(id);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  fq.fqTeardown(d);
  return 0;
}

// ── the DMA layer (assembly/dma/) ───────────────────────────────────────────

/** A DMA (strict) domain over existing parts; see assembly/dma/domain.ts. Its id, or a negative errno. */
export function dma_domain_create(pgt: u32, iova: u32, smmuDomain: u32, smmuId: i32, kb: u32,
                                  shift: u32, apertureEnd: f64, flags: u32, fqOpts: u32): i32 {
  return dmad.dmaDomainCreate(pgt, iova, smmuDomain, smmuId, kb, shift, <u64>apertureEnd, flags, fqOpts);
}

/** Word `index` of a domain's step sequence `op` (STEP_OP_*): 0, or -ESIM_NO_DMA_DOMAIN, -ESIM_ARGS. */
export function dma_domain_set_step(domain: u32, op: u32, index: u32, word: u32): i32 {
  return dmad.dmaDomainSetStep(domain, op, index, word);
}

export function dma_domain_destroy(id: u32): i32 {
  return dmad.dmaDomainDestroy(id);
}

/** Statistic `which` (DS_*) summed over CPUs, or -1 for a dead domain or no such statistic. */
export function dma_stat(id: u32, which: u32): f64 {
  const dd = dmad.liveDmaDomain(id);
  if (dd == 0 || which >= dmad.DS_COUNT) return -1;
  return <f64>dmad.statSum(dd, which);
}

/** Attach a device; `maskBits` 1…64 is DMA_BIT_MASK(n); busLimit 0 = none. Its id, or a negative errno. */
export function dma_device_attach(domain: u32, bus: u32, maskBits: u32, busLimit: f64, sid: u32, smmuId: u32,
                                  flags: u32): i32 {
  if (maskBits == 0 || maskBits > 64) return -ESIM_ARGS;
  const mask: u64 = maskBits == 64 ? U64.MAX_VALUE : ((<u64>1 << maskBits) - 1);
  return dmad.dmaDeviceAttach(domain, bus, mask, <u64>busLimit, sid, smmuId, flags);
}

export function dma_device_detach(id: u32): i32 {
  return dmad.dmaDeviceDetach(id);
}

/** Claim DMA CPU `cpu` of a live DMA domain record for this thread: 0 or a negative errno. */
function claimDomainCpu(dd: u32, cpu: u32): i32 {
  const d = dmad.iovaOf(dd);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  return claimDmaCpu(d, cpu);
}

/** The live domain record of DMA domain `domain`, with `cpu` claimed for this thread; or a negative errno. */
function domainOnCpu(domain: u32, cpu: u32): i64 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  const c = claimDomainCpu(dd, cpu);
  return c != 0 ? <i64>c : <i64>dd;
}

/** The live domain record of device `dev`'s domain, with `cpu` claimed for this thread; or a negative errno. */
function deviceOnCpu(dev: u32, cpu: u32): i64 {
  const dv = dmad.liveDmaDevice(dev);
  if (dv == 0) return -ESIM_NO_DEVICE;
  return domainOnCpu(dmad.dmaDevice(dv).domain, cpu);
}

/** Give simulated CPU `cpu` back (DMA scratch and the domain's IOVA caches): 0 or a negative errno. */
export function dma_release_cpu(domain: u32, cpu: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  return releaseDmaCpu(dmad.iovaOf(dd), cpu);
}

if (mm.TS_RESULT1 != mm.TS_RESULT0 + 8) ERROR("dma_map's reason needs RESULT1 right after RESULT0");

/**
 * dma_map_page / dma_map_single: the DMA address, 0 = DMA_MAPPING_ERROR, or a negative errno.
 * After a 0, RESULT0 says why (DMA_MAP_FAIL_*) and RESULT1 gives its detail.
 */
export function dma_map(dev: u32, cpu: u32, phys: f64, size: f64, dir: u32, attrs: u32): f64 {
  const dd = deviceOnCpu(dev, cpu);
  if (dd < 0) return <f64>dd;
  const why = slotBase() + mm.TS_RESULT0;
  store<u64>(why, 0);
  store<u64>(why + 8, 0);
  return <f64>dmai.dmaMap(<u32>dd, dmad.liveDmaDevice(dev), cpu, <u64>phys, <u64>size, dir, attrs, why);
}

/** dma_unmap_page / dma_unmap_single in the domain's variant: 0, or a negative errno (-ESIM_NO_QUEUE: the variant lost its race). */
export function dma_unmap(dev: u32, cpu: u32, addr: f64, size: f64): i32 {
  const dd = deviceOnCpu(dev, cpu);
  if (dd < 0) return <i32>dd;
  return variant.dmaUnmap(<u32>dd, cpu, <u64>addr, <u64>size);
}

// The step programs' instruction set (assembly/dma/steps.ts): the package encodes each
// variant's unmap and switch into these words (src/variants/program.ts), for runs
// (dma_domain_set_step) and for deterministic schedules (dma_step_run).
export {
  STEP_KIND_SHIFT, STEP_OBJECT_SHIFT, STEP_ACCESS_SHIFT, STEP_ACCESS_MASK, STEP_GUARDED, STEP_GUARD_NOT,
  STEP_OUT_SHIFT, STEP_CTRL_SHIFT, STEP_DATA_SHIFT, STEP_FIELD_MASK, STEP_REGS, STEP_LOAD, STEP_STORE, STEP_FENCE,
  STEP_ACTION, STEP_ACCESS_PLAIN, STEP_ACCESS_ONCE, STEP_ACCESS_ACQUIRE, STEP_ACCESS_RELEASE, STEP_WORD_FQ_DOMAIN,
  STEP_WORD_FQ, STEP_WORD_QUIRK, STEP_BARRIER_MB, STEP_BARRIER_WMB, STEP_BARRIER_RMB, STEP_ACT_CLEAR, STEP_ACT_SYNC,
  STEP_ACT_RELEASE, STEP_ACT_SET_TYPE, STEP_ACT_QUEUE, STEP_ACT_FREE, STEP_OP_UNMAP, STEP_OP_SWITCH, SEQ_WORDS
} from "./dma/steps";

/** Whether `step` is a word the step interpreter runs (1) or not (0). */
export function dma_step_valid(step: u32): u32 {
  return steps.stepValid(step) ? 1 : 0;
}

/** The value store step `step` writes, given the register word `regs` (register r in byte r - 1). */
export function dma_step_value(step: u32, regs: u32): u32 {
  return steps.stepValue(step, steps.registersFrom(regs));
}

/** Begin an unmap on `cpu` (claimed for this thread) before its steps: 0 or a negative errno. */
export function dma_unmap_begin(domain: u32, cpu: u32, addr: f64, size: f64): i32 {
  const dd = domainOnCpu(domain, cpu);
  if (dd < 0) return <i32>dd;
  dmai.unmapBegin(<u32>dd, cpu, <u64>addr, <u64>size);
  return 0;
}

/**
 * Perform step `step` (a store, fence or action) on `cpu` of a domain with the register word
 * `regs`: what the step returned (0, -ENOMEM from the queue's construction, -ESIM_NO_QUEUE
 * when an unmap saw fq_domain but no queue), or for a clear the bytes it cleared; or
 * -ESIM_NO_DMA_DOMAIN, -ESIM_CPU, -ESIM_ARGS for a bad call. An unmap's steps need
 * dma_unmap_begin first.
 */
export function dma_step_run(domain: u32, cpu: u32, step: u32, regs: u32): f64 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  if (cpu >= mm.MAX_DMA_CPUS) return -ESIM_CPU;
  if (!steps.stepValid(step) || steps.stepKind(step) == steps.STEP_LOAD) return -ESIM_ARGS;
  const rc = variant.stepEffect(dd, cpu, step, steps.registersFrom(regs));
  if (rc < 0) return rc;
  const clear = steps.stepKind(step) == steps.STEP_ACTION && steps.stepObject(step) == steps.STEP_ACT_CLEAR;
  return clear ? <f64>dmai.unmapCleared(cpu) : 0;
}

// ── a driver's own iommu_map / iommu_unmap on a DMA domain (assembly/dma/driver.ts) ──

/** iommu_map of [iova, +size) → pa (read/write) on `cpu`: 0 or a negative errno (-EEXIST: already mapped). */
export function dma_driver_map(domain: u32, cpu: u32, iova: f64, pa: f64, size: f64): i32 {
  const dd = domainOnCpu(domain, cpu);
  if (dd < 0) return <i32>dd;
  return driver.driverMap(<u32>dd, cpu, <u64>iova, <u64>pa, <u64>size);
}

/** iommu_unmap's first step on `cpu` (the walk; a block's split table built): 0 or a negative errno. */
export function dma_driver_unmap_prepare(domain: u32, cpu: u32, iova: f64, size: f64): i32 {
  const dd = domainOnCpu(domain, cpu);
  if (dd < 0) return <i32>dd;
  return driver.driverUnmapPrepare(<u32>dd, cpu, <u64>iova, <u64>size);
}

/** iommu_unmap's second step (the split's compare-and-swap, or the clear): bytes unmapped, or a negative errno. */
export function dma_driver_unmap_finish(domain: u32, cpu: u32): f64 {
  const dd = domainOnCpu(domain, cpu);
  if (dd < 0) return <f64>dd;
  return <f64>driver.driverUnmapFinish(<u32>dd, cpu);
}

/** iommu_unmap's last step (iotlb_sync, recorded in the oracle): bytes it returns, or a negative errno. */
export function dma_driver_unmap_sync(domain: u32, cpu: u32): f64 {
  const dd = domainOnCpu(domain, cpu);
  if (dd < 0) return <f64>dd;
  return <f64>driver.driverUnmapSync(<u32>dd, cpu);
}

// ── a device probing: iommu_dma_init_domain's IOVA part (assembly/dma/probe.ts) ──

/** 1 if `cpu` would wait for the cookie's mutex now (KB_DMA_INIT_DOMAIN_LOCKED), else 0; or a negative errno. */
export function dma_probe_must_wait(domain: u32, cpu: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  if (cpu >= mm.MAX_DMA_CPUS) return -ESIM_CPU;
  return probe.probeMustWait(dd, cpu) ? 1 : 0;
}

/**
 * mutex_lock (lock 1) or mutex_unlock (0) of the cookie's mutex: 1 when the kernel takes it,
 * 0 when it has none (before ac9a5d522bb8); or a negative errno.
 */
export function dma_probe_lock(domain: u32, cpu: u32, lock: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  if (cpu >= mm.MAX_DMA_CPUS) return -ESIM_CPU;
  if (lock != 0) return probe.probeLock(dd, cpu) ? 1 : 0;
  probe.probeUnlock(dd);
  return 0;
}

/** 1 if the domain's IOVA domain is initialised (start_pfn != 0), 0 if not; or a negative errno. */
export function dma_probe_initialised(domain: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  return probe.probeInitialised(dd) ? 1 : 0;
}

/** init_iova_domain with `startPfn` (1 as dma-iommu does; 0: a new cookie's, never initialised): 0 or a negative errno. */
export function dma_probe_init(domain: u32, startPfn: f64): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  probe.probeInit(dd, <u64>startPfn);
  return 0;
}

/** reserve_iova of [pfnLo, pfnHi] in the domain's IOVA domain: 0, -ENOSPC when refused, or a negative errno. */
export function dma_probe_reserve(domain: u32, pfnLo: f64, pfnHi: f64): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  return probe.probeReserve(dd, <u64>pfnLo, <u64>pfnHi, slotBase() + mm.TS_RESULT0) < 0 ? -ENOSPC : 0;
}

/** Range nodes the domain's IOVA tree lost (allocated, not in the tree), or a negative errno. */
export function dma_iova_lost_nodes(domain: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  return <i32>iovaLostNodes(dmad.iovaOf(dd));
}

/** The whole DMA → DMA-FQ switch in the domain's variant: 0, or -ENOMEM (queue not built), or a negative errno. */
export function dma_switch_lazy(domain: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  return variant.dmaSwitchToLazy(dd);
}

/** TEST HOOK: drain and drop the flush queue, the domain strict again (nothing in flight!). */
export function dma_rebuild_strict(domain: u32, cpu: u32): i32 {
  const dd = domainOnCpu(domain, cpu);
  if (dd < 0) return <i32>dd;
  return dmad.dmaRebuildStrict(<u32>dd, cpu);
}

/** Batched map/unmap pairs (assembly/dma/loop.ts); results in the slot's TS_STATS. */
export function dma_loop_pairs(dev: u32, cpu: u32, count: u32, size: f64, physBase: f64, physPages: u32,
                               dir: u32, flags: u32, seed: u32): i32 {
  if (physPages == 0 || size < 1) return -ESIM_ARGS;
  const dd = deviceOnCpu(dev, cpu);
  if (dd < 0) return <i32>dd;
  dloop.loopPairs(<u32>dd, dmad.liveDmaDevice(dev), cpu, count, <u64>size, <u64>physBase, physPages, dir, flags, seed);
  return 0;
}

/**
 * TEST ONLY — not a kernel path: one half of a DMA domain's flush-queue flush, so that a
 * single thread can hold a flush "in flight" (started, not finished) while it queues
 * entries, as another CPU's flush would be (reference §2.7 counter rule). step 0: the flush
 * starts (start_cnt + 1); step 1: its flush-all runs and it finishes (finish_cnt + 1).
 * 0, or -ESIM_NO_QUEUE, -ESIM_ARGS (step), -ESIM_NO_DMA_DOMAIN.
 */
export function dma_fq_flush_step_for_testing(domain: u32, step: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  const d = dmad.iovaOf(dd);
  if (!fq.fqEnabled(d)) return -ESIM_NO_QUEUE;
  if (step > 1) return -ESIM_ARGS;
  if (step == 0) fq.fqFlushStart(d);
  else fq.fqFlushFinish(d);
  return 0;
}

// The flush queue's timer callback and teardown in steps, for the schedule explorer (bug-corpus
// #3, d7061627d701; assembly/iova/fq.ts): a timer CPU interleaved with a teardown CPU.
export { FQT_CANCEL, FQT_DESTROY, FQT_FREE, FQT_DETACH, FQ_POISON_WORD } from "./iova/fq";

/** The FQ timer fires on `cpu` (fq_flush_timeout's start and flush): 1, or 0 if it was not pending; or a negative errno. */
export function dma_fq_timer_fire(domain: u32, cpu: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  if (cpu >= mm.MAX_DMA_CPUS) return -ESIM_CPU;
  return fq.fqTimerFire(dmad.iovaOf(dd), cpu) ? 1 : 0;
}

/**
 * The running callback's release scan of ring `ring` into `cpu`'s caches (the last ring ends
 * it): entries released, 0 with no callback running, -ESIM_FQ_FREED / -ESIM_NO_QUEUE when
 * the ring was freed or the queue gone (a use-after-free, counted), or another negative errno.
 */
export function dma_fq_timer_release(domain: u32, cpu: u32, ring: u32): i32 {
  const dd = domainOnCpu(domain, cpu);
  if (dd < 0) return <i32>dd;
  return fq.fqTimerReleaseRing(dmad.iovaOf(<u32>dd), cpu, ring, true);
}

/** 1 if flush-queue teardown must wait for a running timer callback now (KB_FQ_TEARDOWN_WAITS_TIMER), else 0; or a negative errno. */
export function dma_fq_teardown_must_wait(domain: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  return fq.fqTeardownMustWait(dmad.iovaOf(dd)) ? 1 : 0;
}

/** One step of flush-queue teardown (FQT_*): 0, -ESIM_ARGS for a step that does not exist, or another negative errno. */
export function dma_fq_teardown_step(domain: u32, step: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  return fq.fqTeardownStep(dmad.iovaOf(dd), step) ? 0 : -ESIM_ARGS;
}

/** Flush-queue ring accesses that found the rings freed or gone (use-after-free), or a negative errno. */
export function dma_fq_freed_accesses(domain: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  return <i32>fq.fqFreedAccesses(dmad.iovaOf(dd));
}

/** Flush-queue entries pending in a DMA domain (over every ring), or -ESIM_NO_DMA_DOMAIN. */
export function dma_fq_pending(domain: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  return <i32>fq.fqPending(dmad.iovaOf(dd));
}

/**
 * Flush-queue entries pending on one ring of a DMA domain (ring = CPU, or 0 in single mode),
 * or a negative errno (-ESIM_NO_QUEUE without a queue). Read-only, for watching a run.
 */
export function dma_fq_ring_pending(domain: u32, ring: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  return fq.fqRingPending(dmad.iovaOf(dd), ring);
}

/** Slots per flush-queue ring of a DMA domain (256, or 32768 single), 0 without a queue. */
export function dma_fq_ring_slots(domain: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  return <i32>fq.fqRingSlots(dmad.iovaOf(dd));
}

// ── scenario workloads (assembly/workload/) ──────────────────────────────────

/**
 * Set up simulated CPU `cpu` of DMA device `dev`'s domain to run a workload
 * (assembly/workload/run.ts wlInit): 0 or a negative errno.
 */
export function wl_init(cpu: u32, kind: u32, dev: u32, ring: u32, min: u32, max: u32, segs: u32, link: u32,
                        seed: u32): i32 {
  const dv = dmad.liveDmaDevice(dev);
  if (dv == 0) return -ESIM_NO_DEVICE;
  if (cpu >= mm.MAX_DMA_CPUS) return -ESIM_CPU;
  return wrun.wlInit(cpu, kind, dmad.dmaDevice(dv).domain, dev, ring, min, max, segs, link, seed);
}

/** A CPU of a workload that drives a device claims the CPU in that device's domain. */
function claimWorkloadCpu(cpu: u32): i32 {
  if (cpu >= mm.MAX_DMA_CPUS) return -ESIM_CPU;
  const w = wstate.wlState(cpu);
  const kind = w.kind;
  if (kind == 0) return -ESIM_NO_WORKLOAD;
  if (kind == wrun.WL_ATTACKER) return 0; // a device: it maps nothing
  return claimDomainCpu(w.dd, cpu);
}

/**
 * Up to `maxOps` operations of `cpu`'s workload on this thread (which claims the CPU), until
 * its clock reaches `untilNs` (0: no limit) or the run's stop word is set. Returns the
 * operations done, or a negative errno.
 */
export function wl_run(cpu: u32, maxOps: u32, untilNs: f64): i32 {
  const c = claimWorkloadCpu(cpu);
  if (c != 0) return c;
  return <i32>wrun.wlRun(cpu, maxOps, <u64>untilNs);
}

/** Unmap everything `cpu`'s workload still has mapped (the end of a run). */
export function wl_drain(cpu: u32): i32 {
  const c = claimWorkloadCpu(cpu);
  if (c != 0) return c;
  wrun.wlDrain(cpu);
  return 0;
}

export function wl_counter(cpu: u32, which: u32): f64 {
  return cpu < mm.MAX_DMA_CPUS ? <f64>wrun.wlCounter(cpu, which) : -1;
}

export function wl_hist_count(cpu: u32, hist: u32, bucket: u32): u32 {
  return cpu < mm.MAX_DMA_CPUS ? wrun.wlHistCount(cpu, hist, bucket) : 0;
}

export function wl_hist_floor(bucket: u32): f64 {
  return <f64>wrun.wlHistFloor(bucket);
}

/** Store the run's flags (RUN_*) and clear its stop word: before a scenario run starts. */
export function wl_run_begin(flags: u32): void {
  atomic.store<u32>(mm.CONTROL_BASE + mm.CTL_RUN_FLAGS, flags);
  atomic.store<u32>(mm.CONTROL_BASE + mm.CTL_RUN_STOP, 0);
}

/** Stop every workload loop at its next operation. */
export function wl_run_stop(): void {
  atomic.store<u32>(mm.CONTROL_BASE + mm.CTL_RUN_STOP, 1);
}

export function wl_run_stopped(): u32 {
  return atomic.load<u32>(mm.CONTROL_BASE + mm.CTL_RUN_STOP);
}

// ── dma_map_benchmark (assembly/workload/map-benchmark.ts) ──────────────────

/** Zero simulated CPU `cpu`'s benchmark clock and sums (before its threads start). */
export function mapbench_reset(cpu: u32): i32 {
  if (cpu >= mm.MAX_DMA_CPUS) return -ESIM_CPU;
  mbench.mapBenchReset(cpu);
  return 0;
}

/**
 * Benchmark iterations for device `dev` on the simulated CPUs first, first + stride, …
 * (`count`; CPU c's buffer at physBase + c · physStride), each to the CPU furthest behind in
 * modelled time, until every clock reaches `untilNs` or has done `maxLoops` iterations (0: no
 * cap), `maxIters` at most: the iterations done (0: the group is there), -ENOMEM (a map
 * failed: that thread ended), or another negative errno.
 */
export function mapbench_run_group(dev: u32, first: u32, stride: u32, count: u32, physBase: f64, physStride: f64,
                                   size: f64, dir: u32, transNs: f64, untilNs: f64, maxLoops: f64, maxIters: u32): i32 {
  if (size < 1 || dir > dmai.DMA_FROM_DEVICE || stride == 0 || count == 0) return -ESIM_ARGS;
  if (<u64>first + <u64>(count - 1) * <u64>stride >= <u64>mm.MAX_DMA_CPUS) return -ESIM_CPU;
  let dd: i64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    dd = deviceOnCpu(dev, first + i * stride);
    if (dd < 0) return <i32>dd;
  }
  return mbench.mapBenchRunGroup(<u32>dd, dmad.liveDmaDevice(dev), first, stride, count, <u64>physBase,
                                 <u64>physStride, <u64>size, dir, <u64>transNs, <u64>untilNs, <u64>maxLoops, maxIters);
}

/**
 * Book shared resources on the modelled timeline (on: a run keeping its CPUs' clocks within
 * a quantum of each other) or charge each its uncontended price (off). See assembly/cpu-time.ts.
 */
export function timed_set(on: u32): void {
  // Each timed run starts from caches that share no line (assembly/line-sharing.ts).
  if (on != 0) lineOwnersForget();
  atomic.store<u32>(mm.CONTROL_BASE + mm.CTL_TIMED, on != 0 ? 1 : 0);
}
