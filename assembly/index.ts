// The exported ABI of the core, and nothing else: every function here validates what it
// can cheaply and calls into the unit that models the behaviour. Addresses cross the
// boundary as f64 (exact to 2^53; the bindings refuse anything else before calling);
// 64-bit results that may not fit go through the calling thread's slot.
//
// The memory map's constants are exported as immutable globals, so the TypeScript side
// reads the layout from the module itself (bindings/layout.ts).

import * as mm from "./memmap";
import * as desc from "./pgtable/desc";
import * as ev from "./events";
import * as phys from "./phys";
import { attachThread, currentSlot, slotBase } from "./sync";
import { coreInit, coreReady } from "./core";
import { createTable, freePgtable, liveTable, releaseTable, setTableFlags } from "./pgtable/config";
import { iovaToPhys, mapPages, unmapPages } from "./pgtable/lpae";
import { gatherInit, iotlbSync, G_QUEUED } from "./iommu/gather";
import * as sd from "./smmu/domain";
import * as smmu from "./smmu/smmu";
import * as cache from "./smmu/cache";
import { smmuTranslate } from "./smmu/translate";
import * as tr from "./smmu/translate";
import * as cmd from "./smmu/cmd";
import * as consume from "./smmu/consume";
import { randomOf, seedState, xorshift64 } from "./random";
import * as oracle from "./safety/oracle";
import * as engine from "./device/engine";
import * as fq from "./iova/fq";
import { jiffiesNow } from "./clock";
import * as il from "./iova/layout";
import * as itree from "./iova/tree";
import { allocRange, findRange, freeRange, reserveRange } from "./iova/alloc";
import { allocFast, cpuClaim, cpuRelease, flushAll, flushCpu, freeFast, orderBase2 } from "./iova/rcache";
import { iovaCreate, iovaDestroy, iovaSetFlags, liveDomain } from "./iova/domain";
import { clockAdvance } from "./clock";
import { lockAcquire, lockAcquireBounded, lockRelease } from "./sync";
import * as dmad from "./dma/domain";
import { recordMapPages, recordUnmapPages, smmuOracle } from "./safety/record";
import * as dmai from "./dma/iommu";
import * as steps from "./dma/steps";
import * as dloop from "./dma/loop";
import * as wrun from "./workload/run";
import * as wstate from "./workload/state";
import * as mbench from "./workload/map-benchmark";

// ── layout, exported for bindings/layout.ts ─────────────────────────────────
export const LAYOUT_MAGIC = mm.LAYOUT_MAGIC;
export const ABI_VERSION = mm.ABI_VERSION;
export const STATIC_END = mm.STATIC_END;
export const DYNAMIC_BASE = mm.DYNAMIC_BASE;
export const THREAD_SLOTS_BASE = mm.THREAD_SLOTS_BASE;
export const THREAD_SLOT_SIZE = mm.THREAD_SLOT_SIZE;
export const MAX_THREADS = mm.MAX_THREADS;
export const TS_RESULT0 = mm.TS_RESULT0;
export const TS_RESULT1 = mm.TS_RESULT1;
export const PGT_BASE = mm.PGT_BASE;
export const PGT_DESC_SIZE = mm.PGT_DESC_SIZE;
export const MAX_PGTABLES = mm.MAX_PGTABLES;
export const ZONE_PHYS = mm.ZONE_PHYS;
export const ZONE_KHEAP = mm.ZONE_KHEAP;
export const FRAME_SIZE = mm.FRAME_SIZE;
export const PHYS_BASE_LO = <u32>mm.PHYS_BASE;
export const PHYS_BASE_HI = <u32>(mm.PHYS_BASE >> 32);

export const Z_FRAMES = phys.Z_FRAMES;
export const Z_NFRAMES = phys.Z_NFRAMES;
export const Z_PAGES_LIVE = phys.Z_PAGES_LIVE;
export const Z_ALLOCS_LIVE = phys.Z_ALLOCS_LIVE;
export const Z_BAD_FREES = phys.Z_BAD_FREES;
export const Z_ALLOC_FAIL = phys.Z_ALLOC_FAIL;
export const Z_ALLOCS_TOTAL = phys.Z_ALLOCS_TOTAL;
export const Z_FREES_TOTAL = phys.Z_FREES_TOTAL;
export const Z_PEAK_PAGES = phys.Z_PEAK_PAGES;

export const D_STATE = desc.D_STATE;
export const D_FMT = desc.D_FMT;
export const D_PROFILE = desc.D_PROFILE;
export const D_QUIRKS = desc.D_QUIRKS;
export const D_COHERENT = desc.D_COHERENT;
export const D_IAS = desc.D_IAS;
export const D_OAS = desc.D_OAS;
export const D_PG_SHIFT = desc.D_PG_SHIFT;
export const D_BPL = desc.D_BPL;
export const D_START_LEVEL = desc.D_START_LEVEL;
export const D_PGD_BITS = desc.D_PGD_BITS;
export const D_LEVELS = desc.D_LEVELS;
export const D_PGSIZE_BITMAP = desc.D_PGSIZE_BITMAP;
export const D_PGD_PA = desc.D_PGD_PA;
export const D_PGD_BYTES = desc.D_PGD_BYTES;
export const D_FLAGS = desc.D_FLAGS;
export const D_TCR_TSZ = desc.D_TCR_TSZ;
export const D_TCR_PS = desc.D_TCR_PS;
export const D_TCR_TG = desc.D_TCR_TG;
export const D_TCR_SH = desc.D_TCR_SH;
export const D_TCR_IRGN = desc.D_TCR_IRGN;
export const D_TCR_ORGN = desc.D_TCR_ORGN;
export const D_TCR_SL = desc.D_TCR_SL;
export const D_MAIR = desc.D_MAIR;
export const D_EV_RING = desc.D_EV_RING;
export const D_EV_MASK = desc.D_EV_MASK;
export const D_EV_HEAD = desc.D_EV_HEAD;
export const D_WARNINGS = desc.D_WARNINGS;
export const DF_RECORD_EVENTS = desc.DF_RECORD_EVENTS;
export const DF_SELFTEST = desc.DF_SELFTEST;
export const DF_FAULT_PLAIN_INSTALL = desc.DF_FAULT_PLAIN_INSTALL;
export const DF_DEFER_TABLE_FREE = desc.DF_DEFER_TABLE_FREE;
export const D_SMMU_DOMAIN = desc.D_SMMU_DOMAIN;
export const EVENT_SIZE = ev.EVENT_SIZE;
export const EV_TLB_ADD_PAGE = ev.EV_TLB_ADD_PAGE;
export const EV_TLB_FLUSH_WALK = ev.EV_TLB_FLUSH_WALK;
export const EV_TLB_FLUSH_ALL = ev.EV_TLB_FLUSH_ALL;
export const EV_IOTLB_SYNC = ev.EV_IOTLB_SYNC;
export const EV_WARN = ev.EV_WARN;
export const EV_CMD = ev.EV_CMD;
export const WARN_MAP_PGSIZE = ev.WARN_MAP_PGSIZE;
export const WARN_MAP_RANGE = ev.WARN_MAP_RANGE;
export const WARN_MAP_EXISTS = ev.WARN_MAP_EXISTS;
export const WARN_MAP_REPLACE_TABLE = ev.WARN_MAP_REPLACE_TABLE;
export const WARN_MAP_LAST_LEVEL = ev.WARN_MAP_LAST_LEVEL;
export const WARN_UNMAP_ARGS = ev.WARN_UNMAP_ARGS;
export const WARN_UNMAP_RANGE = ev.WARN_UNMAP_RANGE;
export const WARN_UNMAP_NO_PTE = ev.WARN_UNMAP_NO_PTE;
export const WARN_UNMAP_PARTIAL_BLOCK = ev.WARN_UNMAP_PARTIAL_BLOCK;
export const WARN_OUT_OF_LEVELS = ev.WARN_OUT_OF_LEVELS;
export const SMMU_FEAT_RANGE_INV = sd.SMMU_FEAT_RANGE_INV;
export const SMMU_FEAT_E2H = sd.SMMU_FEAT_E2H;

// IOVA domains (assembly/iova/layout.ts, assembly/iova/tree.ts)
export const CLOCK_JIFFIES_ADDR = mm.CONTROL_BASE + mm.CTL_JIFFIES;
export const IOVA_SLOTS_BASE = mm.IOVA_SLOTS_BASE;
export const IOVA_SLOT_SIZE = mm.IOVA_SLOT_SIZE;
export const MAX_IOVA_DOMAINS = mm.MAX_IOVA_DOMAINS;
export const IOVA_MAX_CPUS = mm.IOVA_MAX_CPUS;
export const IS_STATE = il.S_STATE;
export const IS_BLOCK = il.S_BLOCK;
export const I_PROFILE = il.I_PROFILE;
export const I_NCPUS = il.I_NCPUS;
export const I_SHIFT = il.I_SHIFT;
export const I_MAG_SIZE = il.I_MAG_SIZE;
export const I_FLAGS = il.I_FLAGS;
export const I_OWNERS = il.I_OWNERS;
export const I_RCACHES = il.I_RCACHES;
export const I_START_PFN = il.I_START_PFN;
export const I_DMA32_PFN = il.I_DMA32_PFN;
export const I_TREE_LOCK = il.I_TREE_LOCK;
export const I_ROOT = il.I_ROOT;
export const I_CACHED = il.I_CACHED;
export const I_CACHED32 = il.I_CACHED32;
export const I_NODES = il.I_NODES;
export const I_MAX32 = il.I_MAX32;
export const I_ANCHOR = il.I_ANCHOR;
export const I_ST_ALLOCS = il.I_ST_ALLOCS;
export const I_ST_ALLOC_FAILS = il.I_ST_ALLOC_FAILS;
export const I_ST_FREES = il.I_ST_FREES;
export const I_ST_WALK_STEPS = il.I_ST_WALK_STEPS;
export const I_ST_WALK_MAX = il.I_ST_WALK_MAX;
export const I_ST_SEARCH_MISMATCH = il.I_ST_SEARCH_MISMATCH;
export const I_ST_BELOW_START = il.I_ST_BELOW_START;
export const I_ST_UNKNOWN_FREES = il.I_ST_UNKNOWN_FREES;
export const I_ST_RETRIES = il.I_ST_RETRIES;
export const I_ST_WARNINGS = il.I_ST_WARNINGS;
export const I_ST_BAD_FAST_FREES = il.I_ST_BAD_FAST_FREES;
export const I_ST_MAG_ALLOC_FAILS = il.I_ST_MAG_ALLOC_FAILS;
export const I_ST_FLUSH_RETRIES = il.I_ST_FLUSH_RETRIES;
export const I_ST_DEPOT_RECLAIMS = il.I_ST_DEPOT_RECLAIMS;
export const I_ST_DEPOT_DRAINS = il.I_ST_DEPOT_DRAINS;
export const I_ST_ZERO_PFN_FAST = il.I_ST_ZERO_PFN_FAST;
export const I_ST_BUGS = il.I_ST_BUGS;
export const I_NODE_POOL = il.I_NODE_POOL;
export const I_MAG_POOL = il.I_MAG_POOL;
export const POOL_LIVE = 12;
export const I_EV_HEAD = il.I_EV_HEAD;
export const I_EV_RING = il.I_EV_RING;
export const IEV_ENTRIES = il.EV_ENTRIES;
export const IEV_SIZE = il.EV_SIZE;
export const I_DEPOT = il.I_DEPOT;
export const DEPOT_STRIDE = il.DEPOT_STRIDE;
export const DP_LOCK = il.DP_LOCK;
export const DP_SIZE = il.DP_SIZE;
export const DP_HEAD = il.DP_HEAD;
export const DP_ARRAY = il.DP_ARRAY;
export const DP_WORK_PENDING = il.DP_WORK_PENDING;
export const DP_WORK_DUE = il.DP_WORK_DUE;
export const OWNER_STRIDE = il.OWNER_STRIDE;
export const PC_STRIDE = il.PC_STRIDE;
export const PC_LOCK = il.PC_LOCK;
export const PC_LOADED = il.PC_LOADED;
export const PC_PREV = il.PC_PREV;
export const PC_HITS = il.PC_HITS;
export const PC_MISSES = il.PC_MISSES;
export const PC_DEPOT_HITS = il.PC_DEPOT_HITS;
export const M_SIZE = il.M_SIZE;
export const M_PFNS = il.M_PFNS;
export const RCACHE_BINS = il.RCACHE_BINS;
export const IF_FAIL_ATOMIC = il.IF_FAIL_ATOMIC;
export const IF_NO_DEPOT_LOCK = il.IF_NO_DEPOT_LOCK;
export const IF_VERIFY_SEARCH = il.IF_VERIFY_SEARCH;
export const IF_LINEAR_SEARCH = il.IF_LINEAR_SEARCH;
export const IF_CHECK_FAST_FREES = il.IF_CHECK_FAST_FREES;
export const N_LO = itree.N_LO;
export const N_HI = itree.N_HI;
export const N_LEFT = itree.N_LEFT;
export const N_RIGHT = itree.N_RIGHT;

// ── lifecycle ───────────────────────────────────────────────────────────────

export function core_init(memoryBytes: u32, kheapBytes: u32, pageShift: u32): i32 {
  return coreInit(memoryBytes, kheapBytes, pageShift);
}

export function core_attach(slot: u32, canBlock: bool): i32 {
  if (!coreReady()) return -1;
  return attachThread(slot, canBlock) ? 0 : -2;
}

// ── page tables ─────────────────────────────────────────────────────────────

export const ERR_NO_TABLE: i32 = -9; // EBADF: no live table with that id

export function pgt_create(fmt: u32, profile: u32, bitmap: f64, ias: u32, oas: u32,
                           coherent: bool, quirks: u32, pageShift: u32, events: u32): i32 {
  return createTable(fmt, profile, <u64>bitmap, ias, oas, coherent, quirks, pageShift, events);
}

/** map_pages; the bytes mapped (a u64, it can wrap in v5.15) go to the slot's RESULT0. */
export function pgt_map(id: u32, iova: f64, paddr: f64, pgsize: f64, pgcount: f64,
                        prot: u32): i32 {
  const d = liveTable(id);
  const out = slotBase() + mm.TS_RESULT0;
  store<u64>(out, 0);
  if (d == 0) return ERR_NO_TABLE;
  return mapPages(d, <u64>iova, <u64>paddr, <u64>pgsize, <u64>pgcount, prot, out);
}

// Unmap modes: which gather io-pgtable gets, and whether the caller syncs it afterwards
// (iommu_unmap does; iommu_unmap_fast and lazy dma-iommu do not).
export const UNMAP_NULL_GATHER: u32 = 0;
export const UNMAP_GATHER: u32 = 1;
export const UNMAP_GATHER_QUEUED: u32 = 2;
export const UNMAP_SYNC: u32 = 4;

/**
 * unmap_pages. Returns the bytes unmapped (also in RESULT0 as a u64); RESULT1 says
 * whether the gather was still queued at the end (what dma-iommu checks before syncing).
 */
export function pgt_unmap(id: u32, iova: f64, pgsize: f64, pgcount: f64, mode: u32): f64 {
  const d = liveTable(id);
  const slot = slotBase();
  store<u64>(slot + mm.TS_RESULT0, 0);
  store<u64>(slot + mm.TS_RESULT1, 0);
  if (d == 0) return -1;
  let gather: u32 = 0;
  if ((mode & (UNMAP_GATHER | UNMAP_GATHER_QUEUED)) != 0) {
    gather = slot + mm.TS_GATHER;
    gatherInit(gather, (mode & UNMAP_GATHER_QUEUED) != 0);
  }
  const bytes = unmapPages(d, gather, <u64>iova, <u64>pgsize, <u64>pgcount);
  const queued = gather != 0 && load<u32>(gather + G_QUEUED) != 0;
  if (gather != 0 && !queued && (mode & UNMAP_SYNC) != 0) iotlbSync(d, gather);
  store<u64>(slot + mm.TS_RESULT0, bytes);
  store<u64>(slot + mm.TS_RESULT1, queued ? 1 : 0);
  return <f64>bytes;
}

export function pgt_iova_to_phys(id: u32, iova: f64): f64 {
  const d = liveTable(id);
  if (d == 0) return -1;
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

// ── SMMU domains ────────────────────────────────────────────────────────────

/** An arm_smmu_domain: stage 1 (ASID = id) or 2 (VMID = id); rules 0 = v5.15, 1 = v7.1. */
export function smmu_domain_create(stage: u32, id: u32, features: u32, rules: u32): i32 {
  return sd.smmuDomainCreate(stage, id, features, rules);
}

export function smmu_domain_destroy(id: u32): bool {
  return sd.smmuDomainDestroy(id);
}

/** Make an SMMU domain the cookie of a table's TLB callbacks (-1: none). */
export function pgt_set_smmu_domain(id: u32, domain: i32): bool {
  const d = liveTable(id);
  if (d == 0) return false;
  if (domain >= 0 && !sd.smmuDomainLive(<u32>domain)) return false;
  store<u32>(d + desc.D_SMMU_DOMAIN, domain < 0 ? 0 : <u32>domain + 1);
  return true;
}

// ── batched loops (benchmarks and throughput scenarios) ─────────────────────

/**
 * `count` strict map+unmap pairs of one `pgsize` page at random page-aligned IOVAs in
 * [base, base + span), each mapped to PA = IOVA. Returns the number of pairs that did not
 * map and unmap exactly one page (0 on a table with no other mappings in the span).
 */
export function pgt_loop_map_unmap(id: u32, base: f64, span: f64, pgsize: f64, count: u32,
                                   seed: u32, prot: u32): u32 {
  const d = liveTable(id);
  if (d == 0 || seed == 0) return count;
  const size = <u64>pgsize;
  const pages = <u64>span / size;
  if (pages == 0) return count;
  const out = slotBase() + mm.TS_RESULT0;
  const gather = slotBase() + mm.TS_GATHER;
  let x = seedState(seed);
  let failures: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    x = xorshift64(x);
    const iova = <u64>base + (randomOf(x) % pages) * size;
    store<u64>(out, 0);
    if (mapPages(d, iova, iova, size, 1, prot, out) != 0) failures++;
    gatherInit(gather, false);
    if (unmapPages(d, gather, iova, size, 1) != size) failures++;
    iotlbSync(d, gather);
  }
  return failures;
}

/** `count` iova_to_phys walks at random IOVAs in [base, base + span); returns a checksum. */
export function pgt_loop_walk(id: u32, base: f64, span: f64, count: u32, seed: u32): f64 {
  const d = liveTable(id);
  if (d == 0 || seed == 0) return -1;
  let x = seedState(seed);
  let sum: u64 = 0;
  const s = <u64>span;
  for (let i: u32 = 0; i < count; i++) {
    x = xorshift64(x);
    sum += iovaToPhys(d, <u64>base + randomOf(x) % s);
  }
  return <f64>(sum & 0xfffffffffffff);
}

// ── SMMU (device side) ──────────────────────────────────────────────────────

export const SMMUS_BASE = mm.SMMUS_BASE;
export const SMMU_DESC_SIZE = mm.SMMU_DESC_SIZE;
export const MAX_SMMUS = mm.MAX_SMMUS;
export const TS_CPU_NS = mm.TS_CPU_NS;
export const S_STATS = smmu.S_STATS;
export const S_COSTS = smmu.S_COSTS;
export const S_FAULTS = smmu.S_FAULTS;
export const S_FAULT_MASK = smmu.S_FAULT_MASK;
export const S_FAULT_HEAD = smmu.S_FAULT_HEAD;
export const S_IOTLB = smmu.S_IOTLB;
export const S_WALKC = smmu.S_WALKC;
export const FAULT_SIZE = smmu.FAULT_SIZE;
export const MAX_STREAMS = smmu.MAX_STREAMS;
export const OPT_INVALIDATE_AT_SYNC = smmu.OPT_INVALIDATE_AT_SYNC;
export const OPT_TTL_STRICT = smmu.OPT_TTL_STRICT;
export const OPT_FAULT_DROP_TLBI = smmu.OPT_FAULT_DROP_TLBI;
export const C_HITS = cache.C_HITS;
export const C_MISSES = cache.C_MISSES;
export const C_FILLS = cache.C_FILLS;
export const C_EVICTIONS = cache.C_EVICTIONS;
export const C_INVALIDATED = cache.C_INVALIDATED;
export const META_READ = cache.META_READ;
export const META_WRITE = cache.META_WRITE;
export const STAT_TRANSLATIONS = smmu.STAT_TRANSLATIONS;
export const STAT_UTLB_HITS = smmu.STAT_UTLB_HITS;
export const STAT_IOTLB_HITS = smmu.STAT_IOTLB_HITS;
export const STAT_IOTLB_MISSES = smmu.STAT_IOTLB_MISSES;
export const STAT_WALKS = smmu.STAT_WALKS;
export const STAT_PTE_READS = smmu.STAT_PTE_READS;
export const STAT_WALKC_HITS = smmu.STAT_WALKC_HITS;
export const STAT_FAULTS = smmu.STAT_FAULTS;
export const STAT_TLBI_VA = smmu.STAT_TLBI_VA;
export const STAT_TLBI_CONTEXT = smmu.STAT_TLBI_CONTEXT;
export const STAT_TLBI_ALL = smmu.STAT_TLBI_ALL;
export const STAT_SYNCS = smmu.STAT_SYNCS;
export const STAT_CMDS = smmu.STAT_CMDS;
export const STAT_ENTRIES_INVALIDATED = smmu.STAT_ENTRIES_INVALIDATED;
export const STAT_MODELLED_NS = smmu.STAT_MODELLED_NS;
export const COST_PTE_READ = smmu.COST_PTE_READ;
export const COST_IOTLB_HIT = smmu.COST_IOTLB_HIT;
export const COST_IOTLB_MISS = smmu.COST_IOTLB_MISS;
export const COST_WALKC_HIT = smmu.COST_WALKC_HIT;
export const COST_TLBI = smmu.COST_TLBI;
export const COST_SYNC = smmu.COST_SYNC;
export const COST_UTLB_HIT = smmu.COST_UTLB_HIT;
export const F_BAD_STREAM = smmu.F_BAD_STREAM;
export const F_TRANSLATION = smmu.F_TRANSLATION;
export const F_ADDR_SIZE = smmu.F_ADDR_SIZE;
export const F_ACCESS = smmu.F_ACCESS;
export const F_PERMISSION = smmu.F_PERMISSION;
export const F_WALK_EABT = smmu.F_WALK_EABT;
export const OP_TLBI_NH_ALL = <u32>cmd.OP_TLBI_NH_ALL;
export const OP_TLBI_NH_ASID = <u32>cmd.OP_TLBI_NH_ASID;
export const OP_TLBI_NH_VA = <u32>cmd.OP_TLBI_NH_VA;
export const OP_TLBI_NH_VAA = <u32>cmd.OP_TLBI_NH_VAA;
export const OP_TLBI_EL2_ALL = <u32>cmd.OP_TLBI_EL2_ALL;
export const OP_TLBI_EL2_ASID = <u32>cmd.OP_TLBI_EL2_ASID;
export const OP_TLBI_EL2_VA = <u32>cmd.OP_TLBI_EL2_VA;
export const OP_TLBI_S12_VMALL = <u32>cmd.OP_TLBI_S12_VMALL;
export const OP_TLBI_S2_IPA = <u32>cmd.OP_TLBI_S2_IPA;
export const OP_TLBI_NSNH_ALL = <u32>cmd.OP_TLBI_NSNH_ALL;
export const OP_CMD_SYNC = <u32>cmd.OP_CMD_SYNC;
export const HIT_UTLB = tr.HIT_UTLB;
export const HIT_IOTLB = tr.HIT_IOTLB;
export const HIT_WALK = tr.HIT_WALK;
export const ACCESS_WRITE = tr.ACCESS_WRITE;
export const ACCESS_PRIV = tr.ACCESS_PRIV;

/** Create an SMMU; see assembly/smmu/smmu.ts for the arguments. Returns its id or < 0. */
export function smmu_create(options: u32, tlbSets: u32, tlbWays: u32, policy: u32, seed: u32,
                            wc0: u32, wc1: u32, wc2: u32, wc3: u32, utlb: u32, faultRing: u32): i32 {
  return smmu.smmuCreate(options, tlbSets, tlbWays, policy, seed, wc0, wc1, wc2, wc3, utlb, faultRing);
}

export function smmu_destroy(id: u32): bool {
  return smmu.smmuDestroy(id);
}

export function smmu_set_cost(id: u32, which: u32, ns: u32): bool {
  return smmu.setCost(id, which, ns);
}

/** Program stream `sid` to translate with a single-stage context. */
export function smmu_ste_set(id: u32, sid: u32, domain: u32, stage: u32, asid: u32, vmid: u32,
                             ttb: f64, ias: u32, pgShift: u32, start: u32, oas: u32): i32 {
  if (!sd.smmuDomainLive(domain)) return -4;
  return smmu.steSet(id, sid, domain, stage, asid, vmid, <u64>ttb, ias, pgShift, start, oas);
}

export function smmu_ste_clear(id: u32, sid: u32): bool {
  const s = smmu.smmuLive(id);
  if (s == 0 || sid >= smmu.MAX_STREAMS) return false;
  smmu.steClear(s, sid);
  return true;
}

/** Send an SMMU domain's commands to SMMU `id` (-1: to none). */
export function smmu_domain_set_smmu(domain: u32, id: i32): bool {
  if (!sd.smmuDomainLive(domain)) return false;
  if (id >= 0 && smmu.smmuLive(<u32>id) == 0) return false;
  store<u32>(sd.smmuDomainAddr(domain) + sd.SD_SMMU, id < 0 ? 0 : <u32>id + 1);
  return true;
}

/**
 * One device access. Returns 0 or the fault type; the slot's RESULT0..3 hold +0 meta,
 * +4 fault level, +8 physical address, +16 fault info, +24 where it hit.
 */
export function smmu_translate(id: u32, sid: u32, iova: f64, access: u32): i32 {
  const s = smmu.smmuLive(id);
  if (s == 0) return -1;
  return <i32>smmuTranslate(s, sid, <u64>iova, access, slotBase() + mm.TS_RESULT0);
}

/** A modelled CPU cost (ns) to charge from now on: which = CPU_COST_* (0 = a kernel spinlock). */
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
  consume.smmuConsume(s, cmd.tlbiRangeDw0(op, asid, vmid, num, scale),
                      cmd.tlbiRangeDw1(op, addr, leaf, ttl, tg), 1, 0);
  return true;
}

/** An ASID/VMID-wide or global TLBI (NH_ASID, EL2_ASID, S12_VMALL, NH_ALL, NSNH_ALL, EL2_ALL). */
export function smmu_cmd_tlbi_context(id: u32, op: u32, asid: u32, vmid: u32): bool {
  const s = smmu.smmuLive(id);
  if (s == 0) return false;
  consume.smmuConsume(s, cmd.tlbiContextDw0(op, asid, vmid), 0, 1, 0);
  return true;
}

/** Any 16-byte command, as an emulated driver would write it into the queue. */
export function smmu_cmd_raw(id: u32, dw0lo: u32, dw0hi: u32, dw1lo: u32, dw1hi: u32): bool {
  const s = smmu.smmuLive(id);
  if (s == 0) return false;
  consume.smmuConsume(s, (<u64>dw0hi << 32) | dw0lo, (<u64>dw1hi << 32) | dw1lo, 1, 0);
  return true;
}

export function smmu_cmd_sync(id: u32): bool {
  const s = smmu.smmuLive(id);
  if (s == 0) return false;
  consume.smmuConsume(s, cmd.syncDw0(), 0, 1, 0);
  return true;
}

/**
 * `count` device reads at random addresses in [base, base + span) (8-byte aligned) through
 * stream `sid`. Returns the number that faulted; the slot's RESULT0 gets the sum of the
 * physical addresses reached (a checksum).
 */
export function smmu_loop_translate(id: u32, sid: u32, base: f64, span: f64, count: u32, seed: u32,
                                    access: u32): u32 {
  const s = smmu.smmuLive(id);
  if (s == 0 || seed == 0) return count;
  const res = slotBase() + mm.TS_RESULT0;
  const slots = <u64>span >> 3;
  let x = seedState(seed);
  let faults: u32 = 0;
  let sum: u64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    x = xorshift64(x);
    const iova = <u64>base + ((randomOf(x) % slots) << 3);
    if (smmuTranslate(s, sid, iova, access, res) != 0) faults++;
    else sum += load<u64>(res + 8);
  }
  store<u64>(res, sum);
  return faults;
}

// ── safety oracle ───────────────────────────────────────────────────────────

export const S_ORACLE = smmu.S_ORACLE;
export const O_RING = oracle.O_RING;
export const O_RING_MASK = oracle.O_RING_MASK;
export const O_RING_HEAD = oracle.O_RING_HEAD;
export const O_COUNTERS = oracle.O_COUNTERS;
export const VIOLATION_SIZE = oracle.VIOLATION_SIZE;
export const AC_OK = oracle.AC_OK;
export const AC_LAZY_WINDOW = oracle.AC_LAZY_WINDOW;
export const AC_UNCHECKED = oracle.AC_UNCHECKED;
export const AC_AFTER_STRICT = oracle.AC_AFTER_STRICT;
export const AC_AFTER_FLUSH = oracle.AC_AFTER_FLUSH;
export const AC_USE_AFTER_FREE = oracle.AC_USE_AFTER_FREE;
export const AC_UNKNOWN = oracle.AC_UNKNOWN;
export const AC_FREED_TABLE = oracle.AC_FREED_TABLE;
export const AC_FULL = oracle.AC_FULL;
export const SH_MAPPED = oracle.SH_MAPPED;
export const SH_UNMAPPED_STRICT = oracle.SH_UNMAPPED_STRICT;
export const SH_UNMAPPED_LAZY = oracle.SH_UNMAPPED_LAZY;
export const SD_FLUSH_GEN = sd.SD_FLUSH_GEN;
export const SMMU_DOMAINS_BASE = mm.SMMU_DOMAINS_BASE;
export const SMMU_DOMAIN_SIZE = mm.SMMU_DOMAIN_SIZE;

export function smmu_oracle_enable(id: u32, capacity: u32, ring: u32): i32 {
  if (capacity < 2 || (capacity & (capacity - 1)) != 0 || ring < 2 || (ring & (ring - 1)) != 0) return -4;
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

export const RING_HEADER = engine.RING_HEADER;
export const DESC_SIZE = engine.DESC_SIZE;
export const R_CAPACITY = engine.R_CAPACITY;
export const R_HISTORY_MASK = engine.R_HISTORY_MASK;
export const R_PROD = engine.R_PROD;
export const R_CONS = engine.R_CONS;
export const R_STATS = engine.R_STATS;
export const RS_COMPLETED = engine.RS_COMPLETED;
export const RS_FAULTED = engine.RS_FAULTED;
export const RS_BYTES = engine.RS_BYTES;
export const RS_RETRIES = engine.RS_RETRIES;
export const RS_RETRIES_THROUGH = engine.RS_RETRIES_THROUGH;
export const DESC_WRITE = engine.DESC_WRITE;

/** A DMA ring (and attacker history when history > 0) in kheap; returns its address or 0. */
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

export function device_run(id: u32, sid: u32, r: u32, budget: u32, retries: u32, seed: u32): i32 {
  const s = smmu.smmuLive(id);
  if (s == 0) return -1;
  return <i32>engine.deviceRun(s, sid, r, budget, retries, seed);
}

// ── IOVA domains ────────────────────────────────────────────────────────────
// PFNs and sizes cross as f64 (the bindings check they are integers below 2^53); results
// that are PFNs come back as f64, with negative values for the IOVA_* codes below.

export const IOVA_ERR_NO_DOMAIN: i32 = -10;
export const IOVA_ERR_CPU: i32 = -11; //    cpu ≥ the domain's ncpus
export const IOVA_ERR_SIZE: i32 = -12; //   size 0
export const IOVA_ERR_CPU_BUSY: i32 = -20; // another thread runs that CPU; RESULT0 = its slot + 1

export function iova_create(profile: u32, shift: u32, startPfn: f64, ncpus: u32, flags: u32): i32 {
  return iovaCreate(profile, shift, <u64>startPfn, ncpus, flags);
}

export function iova_destroy(id: u32): i32 {
  return iovaDestroy(id);
}

export function iova_set_flags(id: u32, set: u32, clear: u32): i32 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
  return <i32>iovaSetFlags(d, set, clear);
}

/** alloc_iova: pfn_lo of the new range (pfn_hi = pfn_lo + size − 1), or a negative code. */
export function iova_alloc(id: u32, size: f64, limit: f64, aligned: bool): f64 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
  if (size < 1) return IOVA_ERR_SIZE;
  return <f64>allocRange(d, <u64>size, <u64>limit, aligned);
}

/** free_iova: 1 if a range was removed, 0 if no range contains pfn (a no-op, counted). */
export function iova_free(id: u32, pfn: f64): i32 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
  return freeRange(d, <u64>pfn) ? 1 : 0;
}

/** find_iova: 1 and the range in RESULT0/RESULT1, or 0. */
export function iova_find(id: u32, pfn: f64): i32 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
  return findRange(d, <u64>pfn, slotBase() + mm.TS_RESULT0) ? 1 : 0;
}

/** reserve_iova: 0 and the (possibly merged) range in RESULT0/RESULT1, or a negative code. */
export function iova_reserve(id: u32, lo: f64, hi: f64): f64 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
  return <f64>reserveRange(d, <u64>lo, <u64>hi, slotBase() + mm.TS_RESULT0);
}

@inline function checkCpu(d: u32, cpu: u32): i32 {
  if (cpu >= load<u32>(d + il.I_NCPUS)) return IOVA_ERR_CPU;
  return <i32>cpuClaim(d, cpu, slotBase() + mm.TS_RESULT0);
}

/** alloc_iova_fast on simulated `cpu`: a PFN, 0 on failure (the kernel's), or a negative code. */
export function iova_alloc_fast(id: u32, cpu: u32, size: f64, limit: f64, flush: bool): f64 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
  if (size < 1) return IOVA_ERR_SIZE;
  const c = checkCpu(d, cpu);
  if (c != 0) return c;
  return <f64>allocFast(d, cpu, <u64>size, <u64>limit, flush);
}

/** free_iova_fast on simulated `cpu`: 1 if cached, 0 if it went to the tree, or a negative code. */
export function iova_free_fast(id: u32, cpu: u32, pfn: f64, size: f64): i32 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
  if (size < 1) return IOVA_ERR_SIZE;
  const c = checkCpu(d, cpu);
  if (c != 0) return c;
  return freeFast(d, cpu, <u64>pfn, <u64>size) ? 1 : 0;
}

/** Stop running simulated `cpu` on this thread (0), or a negative code. */
export function iova_release_cpu(id: u32, cpu: u32): i32 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
  if (cpu >= load<u32>(d + il.I_NCPUS)) return IOVA_ERR_CPU;
  return cpuRelease(d, cpu) ? 0 : IOVA_ERR_CPU_BUSY;
}

/** free_cpu_cached_iovas (any thread may, as the kernel's hotplug callback does). */
export function iova_flush_cpu(id: u32, cpu: u32): i32 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
  if (cpu >= load<u32>(d + il.I_NCPUS)) return IOVA_ERR_CPU;
  flushCpu(d, cpu);
  return 0;
}

/** Every CPU's caches and the depot back to the tree (alloc_iova_fast's retry path). */
export function iova_flush_all(id: u32): i32 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
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

/** Advance simulated time by `jiffies`, firing due timers; returns the new time. */
/** Advance simulated time; timers run on simulated CPU `cpu`. */
export function clock_advance(jiffies: f64, cpu: u32): f64 {
  return <f64>clockAdvance(<u64>jiffies, cpu);
}

// ── batched IOVA loops (benchmarks, throughput scenarios) ───────────────────

export const FAST_SIZES_ONE: u32 = 0; //     1 page every time
export const FAST_SIZES_POW2: u32 = 1; //    1, 2, 4, 8 pages in turn
export const FAST_SIZES_1_TO_8: u32 = 2; //  1, 2, …, 8 pages in turn (rounded as dma-iommu does)

/**
 * `count` alloc_iova_fast + free_iova_fast pairs on `cpu`, each range freed right away.
 * Sizes per `mode`; v5.15 gets them rounded to a power of two first, as its caller did.
 * Returns the number of failed allocations, or a negative code.
 */
export function iova_loop_fast_pairs(id: u32, cpu: u32, count: u32, mode: u32, limit: f64): f64 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
  const c = checkCpu(d, cpu);
  if (c != 0) return c;
  const lim = <u64>limit;
  const round = load<u32>(d + il.I_PROFILE) == desc.PROFILE_515;
  let failures: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    let size: u64 = 1;
    if (mode == FAST_SIZES_POW2) size = <u64>1 << <u64>(i & 3);
    else if (mode == FAST_SIZES_1_TO_8) size = <u64>(i & 7) + 1;
    if (round && size > 1) size = <u64>1 << <u64>orderBase2(size);
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
 * Sizes per `mode` (as iova_loop_fast_pairs). The batch lives in kheap scratch for the call.
 * Returns the number of failed allocations, or a negative code.
 */
export function iova_loop_cross(id: u32, cpuA: u32, cpuB: u32, count: u32, batch: u32,
                                mode: u32, limit: f64): f64 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
  let c = checkCpu(d, cpuA);
  if (c == 0) c = checkCpu(d, cpuB);
  if (c != 0) return c;
  if (batch == 0 || batch > 65536) return IOVA_ERR_SIZE;
  const order = phys.orderForBytes(<u64>batch * 16);
  const frame = phys.zoneAlloc(mm.ZONE_KHEAP, order);
  if (frame < 0) return -2;
  const scratch = phys.frameAddr(mm.ZONE_KHEAP, <u32>frame);
  const lim = <u64>limit;
  const round = load<u32>(d + il.I_PROFILE) == desc.PROFILE_515;
  let failures: u32 = 0;
  let k: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    let held: u32 = 0;
    for (let j: u32 = 0; j < batch; j++, k++) {
      let size: u64 = 1;
      if (mode == FAST_SIZES_POW2) size = <u64>1 << <u64>(k & 3);
      else if (mode == FAST_SIZES_1_TO_8) size = <u64>(k & 7) + 1;
      if (round && size > 1) size = <u64>1 << <u64>orderBase2(size);
      const pfn = allocFast(d, cpuA, size, lim, true);
      if (pfn <= 0) { failures++; continue; }
      store<u64>(scratch + held * 16, <u64>pfn);
      store<u64>(scratch + held * 16 + 8, size);
      held++;
    }
    for (let j: u32 = 0; j < held; j++) {
      freeFast(d, cpuB, load<u64>(scratch + j * 16), load<u64>(scratch + j * 16 + 8));
    }
  }
  phys.zoneFree(mm.ZONE_KHEAP, <u32>frame);
  return <f64>failures;
}

export const TREE_POPULATE: u32 = 0; //  `count` single-page alloc_iova (size-aligned) below limit
export const TREE_PAIRS: u32 = 1; //     `count` × (alloc_iova 1 page, free_iova it)
export const TREE_REFILL: u32 = 2; //    `count` × (free_iova a random range of [spanLo, spanLo + spanN), alloc_iova again)

/**
 * Tree-path loops. Returns failures (an allocation that failed, or in TREE_REFILL one that
 * did not land in the hole just made), or a negative code.
 */
export function iova_loop_tree(id: u32, mode: u32, count: u32, seed: u32, limit: f64,
                               spanLo: f64, spanN: u32): f64 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
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

// ── v5.15 flush queue (in iova.c then) ──────────────────────────────────────

export const I_FQ_START_CNT = il.I_FQ_START_CNT;
export const I_FQ_FINISH_CNT = il.I_FQ_FINISH_CNT;
export const I_FQ_RINGS = il.I_FQ_RINGS;
export const IEV_FQ_FLUSH = il.EV_FQ_FLUSH;
export const IEV_FQ_RELEASE = il.EV_FQ_RELEASE;
export const IEV_WARN = il.EV_WARN;

/** init_iova_flush_queue: 0, or -12 (no memory) / a negative IOVA_ERR_* code. */
export function iova_fq_init(id: u32): i32 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
  return fq.fqInit(d, fq.FQ_SIZE, fq.FQ_TIMEOUT_JIFFIES, 0);
}

/** queue_iova on simulated `cpu`: 0, -1 without a flush queue, or a negative IOVA_ERR_* code. */
export function iova_queue(id: u32, cpu: u32, pfn: f64, pages: f64, data: f64): i32 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
  if (!fq.fqEnabled(d)) return -1;
  if (pages < 1) return IOVA_ERR_SIZE;
  const c = checkCpu(d, cpu);
  if (c != 0) return c;
  fq.fqQueue(d, cpu, <u64>pfn, <u64>pages, <u64>data);
  return 0;
}

/** The flush callback runs flush_iotlb_all on page table `pt` (-1: only logs). */
export function iova_fq_set_flush(id: u32, pt: i32): i32 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
  if (pt >= 0 && liveTable(<u32>pt) == 0) return -1;
  fq.fqSetFlushTarget(d, pt);
  return 0;
}

/** free_iova_flush_queue, ahead of destroying the domain (so its events can be read). */
export function iova_fq_teardown(id: u32): i32 {
  const d = liveDomain(id);
  if (d == 0) return IOVA_ERR_NO_DOMAIN;
  fq.fqTeardown(d);
  return 0;
}

// ── the DMA layer (assembly/dma/) ───────────────────────────────────────────

export const DMA_DOMAINS_BASE = mm.DMA_DOMAINS_BASE;
export const DMA_DOMAIN_SIZE = mm.DMA_DOMAIN_SIZE;
export const DMA_DEVICES_BASE = mm.DMA_DEVICES_BASE;
export const DMA_DEVICE_SIZE = mm.DMA_DEVICE_SIZE;
export const MAX_DMA_CPUS = mm.MAX_DMA_CPUS;
export const DD_TYPE = dmad.DD_TYPE;
export const DD_FQ_DOMAIN = dmad.DD_FQ_DOMAIN;
export const DD_QUIRK = dmad.DD_QUIRK;
export const DD_DEVICES = dmad.DD_DEVICES;
export const DD_SWITCHES = dmad.DD_SWITCHES;
export const DV_FLAGS = dmad.DV_FLAGS;
export const DOMAIN_DMA = dmad.DOMAIN_DMA;
export const DOMAIN_DMA_FQ = dmad.DOMAIN_DMA_FQ;
export const DVF_PCI_32BIT = dmad.DVF_PCI_32BIT;
export const DVF_COHERENT = dmad.DVF_COHERENT;
export const DDF_FORCEDAC = dmad.DDF_FORCEDAC;
export const FQ_OPT_SINGLE = fq.FQ_OPT_SINGLE;
export const DS_COUNT = dmad.DS_COUNT;
export const LOOP_TOUCH = dloop.LOOP_TOUCH;
export const TS_STATS = mm.TS_STATS;
export const DMA_ERR_CPU_BUSY: i32 = -20;
export const DMA_ERR_NO_DOMAIN: i32 = -10;
export const DMA_ERR_NO_DEVICE: i32 = -11;

/** A DMA (strict) domain over existing parts; see assembly/dma/domain.ts. Id or < 0. */
export function dma_domain_create(pgt: u32, iova: u32, smmuDomain: u32, smmuId: i32, profile: u32,
                                  variant: u32, shift: u32, apertureEnd: f64, flags: u32, fqOpts: u32): i32 {
  return dmad.dmaDomainCreate(pgt, iova, smmuDomain, smmuId, profile, variant, shift, <u64>apertureEnd,
                              flags, fqOpts);
}

export function dma_domain_destroy(id: u32): i32 {
  return dmad.dmaDomainDestroy(id);
}

/** Statistic `which` (DS_*) summed over CPUs, or -1 for a dead domain. */
export function dma_stat(id: u32, which: u32): f64 {
  const dd = dmad.liveDmaDomain(id);
  if (dd == 0 || which >= dmad.DS_COUNT) return -1;
  return <f64>dmad.statSum(dd, which);
}

/** Attach a device; `maskBits` 1…64 is DMA_BIT_MASK(n); busLimit 0 = none. Id or < 0. */
export function dma_device_attach(domain: u32, bus: u32, maskBits: u32, busLimit: f64, sid: u32, smmuId: u32,
                                  flags: u32): i32 {
  if (maskBits == 0 || maskBits > 64) return dmad.DMA_ERR_ARGS;
  const mask: u64 = maskBits == 64 ? U64.MAX_VALUE : ((<u64>1 << maskBits) - 1);
  return dmad.dmaDeviceAttach(domain, bus, mask, <u64>busLimit, sid, smmuId, flags);
}

export function dma_device_detach(id: u32): i32 {
  return dmad.dmaDeviceDetach(id);
}

/**
 * This thread runs simulated CPU `cpu` for the DMA layer (its unmap scratch) and for the
 * domain's IOVA caches. 0, or DMA_ERR_CPU_BUSY with the owner's slot + 1 in RESULT0.
 */
function claimDmaCpu(dd: u32, cpu: u32): i32 {
  if (cpu >= mm.MAX_DMA_CPUS || cpu >= dmad.dmaNcpus(dd)) return IOVA_ERR_CPU;
  const w = dmai.cpuArea(cpu) + dmai.C_OWNER;
  const me = currentSlot() + 1;
  const owner = atomic.cmpxchg<u32>(w, 0, me);
  if (owner != 0 && owner != me) {
    store<u64>(slotBase() + mm.TS_RESULT0, owner);
    return DMA_ERR_CPU_BUSY;
  }
  const c = cpuClaim(dmad.iovaOf(dd), cpu, slotBase() + mm.TS_RESULT0);
  return c == 0 ? 0 : DMA_ERR_CPU_BUSY;
}

/** Give simulated CPU `cpu` back (DMA scratch and the domain's IOVA caches). */
export function dma_release_cpu(domain: u32, cpu: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return DMA_ERR_NO_DOMAIN;
  if (cpu >= mm.MAX_DMA_CPUS) return IOVA_ERR_CPU;
  atomic.cmpxchg<u32>(dmai.cpuArea(cpu) + dmai.C_OWNER, currentSlot() + 1, 0);
  cpuRelease(dmad.iovaOf(dd), cpu);
  return 0;
}

/** The live domain of device `dev`, with `cpu` claimed for this thread; or a negative code. */
function deviceOnCpu(dev: u32, cpu: u32): i64 {
  const dv = dmad.liveDmaDevice(dev);
  if (dv == 0) return DMA_ERR_NO_DEVICE;
  const dd = dmad.liveDmaDomain(load<u32>(dv + dmad.DV_DOMAIN));
  if (dd == 0) return DMA_ERR_NO_DOMAIN;
  const c = claimDmaCpu(dd, cpu);
  return c != 0 ? <i64>c : <i64>dd;
}

/** dma_map_page / dma_map_single: the DMA address, 0 = DMA_MAPPING_ERROR, < 0 bad call. */
export function dma_map(dev: u32, cpu: u32, phys: f64, size: f64, dir: u32, attrs: u32): f64 {
  const dd = deviceOnCpu(dev, cpu);
  if (dd < 0) return <f64>dd;
  return <f64>dmai.dmaMap(<u32>dd, dmad.liveDmaDevice(dev), cpu, <u64>phys, <u64>size, dir, attrs);
}

/** dma_unmap_page / dma_unmap_single in the domain's variant: 0, -1 (queue missing), < 0 bad call. */
export function dma_unmap(dev: u32, cpu: u32, addr: f64, size: f64): i32 {
  const dd = deviceOnCpu(dev, cpu);
  if (dd < 0) return <i32>dd;
  return dmai.dmaUnmap(<u32>dd, cpu, <u64>addr, <u64>size);
}

// The seed variants' steps (assembly/dma/steps.ts), for deterministic schedules
// (src/explore/): the explorer reads each sequence, lets its memory model decide what
// every load sees, and has the core perform each store and action.
export const STEP_SITE_MASK = steps.STEP_SITE_MASK;
export const STEP_KIND_SHIFT = steps.STEP_KIND_SHIFT;
export const STEP_OBJECT_SHIFT = steps.STEP_OBJECT_SHIFT;
export const STEP_MARKED = steps.STEP_MARKED;
export const STEP_GUARDED = steps.STEP_GUARDED;
export const STEP_OUT_SHIFT = steps.STEP_OUT_SHIFT;
export const STEP_CTRL_SHIFT = steps.STEP_CTRL_SHIFT;
export const STEP_DATA_SHIFT = steps.STEP_DATA_SHIFT;
export const STEP_FIELD_MASK = steps.STEP_FIELD_MASK;
export const STEP_REGS = steps.STEP_REGS;
export const STEP_LOAD = steps.STEP_LOAD;
export const STEP_STORE = steps.STEP_STORE;
export const STEP_FENCE = steps.STEP_FENCE;
export const STEP_ACTION = steps.STEP_ACTION;
export const STEP_WORD_FQ_DOMAIN = steps.WORD_FQ_DOMAIN;
export const STEP_WORD_FQ = steps.WORD_FQ;
export const STEP_WORD_QUIRK = steps.WORD_QUIRK;
export const STEP_BARRIER_MB = steps.BARRIER_MB;
export const STEP_BARRIER_WMB = steps.BARRIER_WMB;
export const STEP_ACT_CLEAR = steps.ACT_CLEAR;
export const STEP_ACT_SYNC = steps.ACT_SYNC;
export const STEP_ACT_RELEASE = steps.ACT_RELEASE;
export const STEP_ACT_SET_TYPE = steps.ACT_SET_TYPE;
export const STEP_OP_UNMAP = steps.OP_UNMAP;
export const STEP_OP_SWITCH = steps.OP_SWITCH;
export const SITE_UNMAP_SNAPSHOT = steps.SITE_UNMAP_SNAPSHOT;
export const SITE_UNMAP_CLEAR_QUEUED = steps.SITE_UNMAP_CLEAR_QUEUED;
export const SITE_UNMAP_SYNC_QUEUED = steps.SITE_UNMAP_SYNC_QUEUED;
export const SITE_QUEUE_MB = steps.SITE_QUEUE_MB;
export const SITE_QUEUE_LOAD = steps.SITE_QUEUE_LOAD;
export const SITE_UNMAP_RELEASE_QUEUED = steps.SITE_UNMAP_RELEASE_QUEUED;
export const SITE_UNMAP_READ_QUIRK = steps.SITE_UNMAP_READ_QUIRK;
export const SITE_UNMAP_CLEAR_QUIRK = steps.SITE_UNMAP_CLEAR_QUIRK;
export const SITE_UNMAP_READ_FQ_SYNC = steps.SITE_UNMAP_READ_FQ_SYNC;
export const SITE_UNMAP_SYNC_FQ = steps.SITE_UNMAP_SYNC_FQ;
export const SITE_UNMAP_READ_FQ_FREE = steps.SITE_UNMAP_READ_FQ_FREE;
export const SITE_UNMAP_READ_FQ_HOISTED = steps.SITE_UNMAP_READ_FQ_HOISTED;
export const SITE_QUEUE_WMB = steps.SITE_QUEUE_WMB;
export const SITE_UNMAP_RELEASE_FQ = steps.SITE_UNMAP_RELEASE_FQ;
export const SITE_SWITCH_BUILD = steps.SITE_SWITCH_BUILD;
export const SITE_SWITCH_WMB = steps.SITE_SWITCH_WMB;
export const SITE_SWITCH_PUBLISH_ONCE = steps.SITE_SWITCH_PUBLISH_ONCE;
export const SITE_SWITCH_PUBLISH_PLAIN = steps.SITE_SWITCH_PUBLISH_PLAIN;
export const SITE_SWITCH_READ_QUIRK = steps.SITE_SWITCH_READ_QUIRK;
export const SITE_SWITCH_SET_QUIRK = steps.SITE_SWITCH_SET_QUIRK;
export const SITE_SWITCH_SET_TYPE = steps.SITE_SWITCH_SET_TYPE;

/** Step `index` of seed variant `variant`'s sequence for `op` (STEP_OP_*): its word, 0 past the end. */
export function dma_variant_step(variant: u32, op: u32, index: u32): u32 {
  return steps.variantStep(variant, op, index);
}

/** The value store step `step` writes, given the register word `regs` (register r in byte r - 1). */
export function dma_step_value(step: u32, regs: u32): u32 {
  return steps.stepValue(step, steps.registersFrom(regs));
}

/** Begin an unmap on `cpu` (claimed for this thread) before its steps: 0 or a DMA_ERR_* code. */
export function dma_unmap_begin(domain: u32, cpu: u32, addr: f64, size: f64): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return DMA_ERR_NO_DOMAIN;
  const c = claimDmaCpu(dd, cpu);
  if (c != 0) return c;
  dmai.unmapBegin(dd, cpu, <u64>addr, <u64>size);
  return 0;
}

/**
 * Perform step `step` (a store, fence or action) on `cpu` of a domain with the register word
 * `regs`: what the step returned (0, -ENOMEM from the queue's construction, -1 when an unmap
 * saw fq_domain but no queue), or for a clear the bytes it cleared; DMA_ERR_NO_DOMAIN or
 * -EINVAL for a bad call. An unmap's steps need dma_unmap_begin first.
 */
export function dma_step_run(domain: u32, cpu: u32, step: u32, regs: u32): f64 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return DMA_ERR_NO_DOMAIN;
  if (cpu >= mm.MAX_DMA_CPUS || steps.stepKind(step) < steps.STEP_STORE || steps.stepKind(step) > steps.STEP_ACTION) {
    return dmad.DMA_ERR_INVAL; // not -1 (DMA_ERR_ARGS): that is a release's "no queue"
  }
  const rc = steps.stepEffect(dd, cpu, step, steps.registersFrom(regs));
  if (rc < 0) return rc;
  const clear = steps.stepKind(step) == steps.STEP_ACTION && steps.stepObject(step) == steps.ACT_CLEAR;
  return clear ? <f64>dmai.unmapCleared(cpu) : 0;
}

/** The whole DMA → DMA-FQ switch in the domain's variant: 0, or -12 (queue not built). */
export function dma_switch_lazy(domain: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return DMA_ERR_NO_DOMAIN;
  return dmad.dmaSwitchToLazy(dd);
}

/** TEST HOOK: drain and drop the flush queue, the domain strict again (nothing in flight!). */
export function dma_rebuild_strict(domain: u32, cpu: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return DMA_ERR_NO_DOMAIN;
  const c = claimDmaCpu(dd, cpu);
  if (c != 0) return c;
  return dmad.dmaRebuildStrict(dd, cpu);
}

/** Batched map/unmap pairs (assembly/dma/loop.ts); results in the slot's TS_STATS. */
export function dma_loop_pairs(dev: u32, cpu: u32, count: u32, size: f64, physBase: f64, physPages: u32,
                               dir: u32, flags: u32, seed: u32): i32 {
  if (physPages == 0 || size < 1) return dmad.DMA_ERR_ARGS;
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
 * 0, or -1 (no flush queue / bad step), or a DMA_ERR_* code.
 */
export function dma_fq_flush_step_for_testing(domain: u32, step: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return DMA_ERR_NO_DOMAIN;
  const d = dmad.iovaOf(dd);
  if (!fq.fqEnabled(d) || step > 1) return -1;
  if (step == 0) fq.fqFlushStart(d);
  else fq.fqFlushFinish(d);
  return 0;
}

/** Flush-queue entries pending in a DMA domain (over every ring). */
export function dma_fq_pending(domain: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return DMA_ERR_NO_DOMAIN;
  return <i32>fq.fqPending(dmad.iovaOf(dd));
}

/**
 * Flush-queue entries pending on one ring of a DMA domain (ring = CPU, or 0 in single mode):
 * -1 without a queue or past the last ring. Read-only, for watching a run (the live page).
 */
export function dma_fq_ring_pending(domain: u32, ring: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return DMA_ERR_NO_DOMAIN;
  return fq.fqRingPending(dmad.iovaOf(dd), ring);
}

/** Slots per flush-queue ring of a DMA domain (256, or 32768 single), 0 without a queue. */
export function dma_fq_ring_slots(domain: u32): i32 {
  const dd = dmad.liveDmaDomain(domain);
  if (dd == 0) return DMA_ERR_NO_DOMAIN;
  return <i32>fq.fqRingSlots(dmad.iovaOf(dd));
}

// The cache layout (assembly/smmu/cache.ts), for reading the IOTLB's entries from TypeScript
// (Smmu.iotlbSnapshot) without a call per entry.
export const C_SETS = cache.C_SETS;
export const C_WAYS = cache.C_WAYS;
export const C_ENTRIES = cache.C_ENTRIES;
export const CACHE_ENTRY_SIZE = cache.ENTRY_SIZE;
export const CE_SEQ = cache.E_SEQ;
export const CE_META = cache.E_META;
export const CE_TAG = cache.E_TAG;
export const CE_CTX = cache.E_CTX;
export const CE_OUT = cache.E_OUT;
export const META_VALID = cache.META_VALID;
export const META_LEAF = cache.META_LEAF;

// ── scenario workloads (assembly/workload/) ──────────────────────────────────

export const COUNTER_CACHES_BASE = mm.COUNTER_CACHES_BASE;
export const WORKLOAD_CPUS_BASE = mm.WORKLOAD_CPUS_BASE;
export const WORKLOAD_CPU_SIZE = mm.WORKLOAD_CPU_SIZE;
export const CTL_RUN_STOP = mm.CTL_RUN_STOP;
export const CTL_RUN_FLAGS = mm.CTL_RUN_FLAGS;
export const RUN_STOP_ON_VIOLATION = mm.RUN_STOP_ON_VIOLATION;
export const I_FQ_FLUSH_FULL = il.I_FQ_FLUSH_FULL;
export const I_FQ_FLUSH_TIMER = il.I_FQ_FLUSH_TIMER;
export const IF_NO_FQ_EVENTS = il.IF_NO_FQ_EVENTS;
export const WL_NIC_RX = wrun.WL_NIC_RX;
export const WL_NIC_TX = wrun.WL_NIC_TX;
export const WL_STORAGE = wrun.WL_STORAGE;
export const WL_RANDOM = wrun.WL_RANDOM;
export const WL_ATTACKER = wrun.WL_ATTACKER;
export const WL_PAIRS = wrun.WL_PAIRS;
export const WL_SWITCHER = wrun.WL_SWITCHER;
export const WL_PHYS_BASE_HI = <u32>(wrun.WL_PHYS_BASE >> 32);
export const WL_PHYS_CPU_SHIFT = <u32>wrun.WL_PHYS_CPU_SHIFT;
export const WL_HIST_BUCKETS = wstate.HIST_BUCKETS;
export const W_HIST_MAP = wstate.W_HIST_MAP;
export const W_HIST_UNMAP = wstate.W_HIST_UNMAP;
export const W_HIST_WINDOW = wstate.W_HIST_WINDOW;
export const WC_OPS = wstate.WC_OPS;
export const WC_MAPS = wstate.WC_MAPS;
export const WC_UNMAPS = wstate.WC_UNMAPS;
export const WC_MAP_FAILS = wstate.WC_MAP_FAILS;
export const WC_ACCESSES = wstate.WC_ACCESSES;
export const WC_FAULTS = wstate.WC_FAULTS;
export const WC_VIOLATIONS = wstate.WC_VIOLATIONS;
export const WC_UNMAP_ERRORS = wstate.WC_UNMAP_ERRORS;
export const WC_MAP_NS = wstate.WC_MAP_NS;
export const WC_UNMAP_NS = wstate.WC_UNMAP_NS;
export const WC_WINDOWS_LOST = wstate.WC_WINDOWS_LOST;
export const WC_STALE_HITS = wstate.WC_STALE_HITS;
export const WC_RETRIES = wstate.WC_RETRIES;
export const WC_SWITCHES = wstate.WC_SWITCHES;
export const WC_CLOCK = wstate.WC_COUNT;
export const WC_OPEN_WINDOWS = wstate.WC_COUNT + 1;

/**
 * Set up simulated CPU `cpu` of DMA device `dev`'s domain to run a workload
 * (assembly/workload/run.ts wlInit): 0, or a DMA_ERR_* / WL_ERR_ARGS code.
 */
export function wl_init(cpu: u32, kind: u32, dev: u32, ring: u32, min: u32, max: u32, segs: u32, link: u32,
                        seed: u32): i32 {
  const dv = dmad.liveDmaDevice(dev);
  if (dv == 0) return DMA_ERR_NO_DEVICE;
  if (cpu >= mm.MAX_DMA_CPUS) return IOVA_ERR_CPU;
  return wrun.wlInit(cpu, kind, load<u32>(dv + dmad.DV_DOMAIN), dev, ring, min, max, segs, link, seed);
}

/**
 * Up to `maxOps` operations of `cpu`'s workload on this thread (which claims the CPU), until
 * its clock reaches `untilNs` (0: no limit) or the run's stop word is set. Returns the
 * operations done, or a negative DMA_ERR_* code.
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

/** A CPU of a workload that drives a device claims the CPU in that device's domain. */
function claimWorkloadCpu(cpu: u32): i32 {
  if (cpu >= mm.MAX_DMA_CPUS) return IOVA_ERR_CPU;
  const w = wstate.wlState(cpu);
  const kind = load<u32>(w + wstate.W_KIND);
  if (kind == 0) return dmad.DMA_ERR_ARGS;
  if (kind == wrun.WL_ATTACKER) return 0; // a device: it maps nothing
  return claimDmaCpu(load<u32>(w + wstate.W_DD), cpu);
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

export const CPU_COST_LOCK = mm.CPU_COST_LOCK;
export const CPU_COST_DMA_API = mm.CPU_COST_DMA_API;
export const CPU_COST_WALK_STEP = mm.CPU_COST_WALK_STEP;
export const CPU_COST_PTE = mm.CPU_COST_PTE;
export const CPU_COST_IOVA_RCACHE = mm.CPU_COST_IOVA_RCACHE;
export const CPU_COST_IOVA_TREE = mm.CPU_COST_IOVA_TREE;
export const CPU_COST_TABLE_ALLOC = mm.CPU_COST_TABLE_ALLOC;
export const CPU_COST_FQ_QUEUE = mm.CPU_COST_FQ_QUEUE;
export const CPU_COST_COUNT = mm.CPU_COST_COUNT;
export const MAPBENCH_BASE = mm.MAPBENCH_BASE;
export const MAPBENCH_CPU_SIZE = mm.MAPBENCH_CPU_SIZE;
export const MB_CLOCK = mbench.MB_CLOCK;
export const MB_LOOPS = mbench.MB_LOOPS;
export const MB_SUM_MAP = mbench.MB_SUM_MAP;
export const MB_SUM_UNMAP = mbench.MB_SUM_UNMAP;
export const MB_SUM_SQ_MAP = mbench.MB_SUM_SQ_MAP;
export const MB_SUM_SQ_UNMAP = mbench.MB_SUM_SQ_UNMAP;
export const MB_JIFFIES0 = mbench.MB_JIFFIES0;
export const MB_STATUS = mbench.MB_STATUS;
export const MB_RUN_ENOMEM = mbench.MB_RUN_ENOMEM;

/** Zero simulated CPU `cpu`'s benchmark clock and sums (before its threads start). */
export function mapbench_reset(cpu: u32): i32 {
  if (cpu >= mm.MAX_DMA_CPUS) return IOVA_ERR_CPU;
  mbench.mapBenchReset(cpu);
  return 0;
}

/**
 * Benchmark iterations on `cpu` for device `dev` until the CPU's modelled clock reaches
 * `untilNs` or `maxLoops` are done: 0, MB_RUN_ENOMEM (a map failed: the thread ended),
 * or a negative DMA_ERR_* code.
 */
export function mapbench_run(dev: u32, cpu: u32, phys: f64, size: f64, dir: u32, transNs: f64, untilNs: f64,
                             maxLoops: u32): i32 {
  if (size < 1 || dir > dmai.DMA_FROM_DEVICE) return dmad.DMA_ERR_ARGS;
  const dd = deviceOnCpu(dev, cpu);
  if (dd < 0) return <i32>dd;
  return mbench.mapBenchRun(<u32>dd, dmad.liveDmaDevice(dev), cpu, <u64>phys, <u64>size, dir, <u64>transNs,
                            <u64>untilNs, maxLoops);
}
