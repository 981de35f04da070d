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
import { attachThread, slotBase } from "./sync";
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
import { jiffiesNow } from "./clock";

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
export const COST_LOCK = smmu.COST_LOCK;
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

function oracleOf(id: u32): u32 {
  const s = smmu.smmuLive(id);
  return s == 0 ? 0 : load<u32>(s + smmu.S_ORACLE);
}

/** The DMA API mapped `pages` pages in SMMU domain `domain` (its ASID/VMID tag the shadow). */
export function oracle_map(id: u32, domain: u32, iova: f64, pa: f64, pages: f64): bool {
  const o = oracleOf(id);
  if (o == 0 || !sd.smmuDomainLive(domain)) return false;
  oracle.oracleMap(o, domainCtx(domain), <u64>iova >> 12, <u64>pa >> 12, <u64>pages, jiffiesNow());
  return true;
}

/** The DMA API unmapped `pages` pages: lazily (flush queue) or strictly (invalidation done). */
export function oracle_unmap(id: u32, domain: u32, iova: f64, pages: f64, lazy: bool): bool {
  const o = oracleOf(id);
  if (o == 0 || !sd.smmuDomainLive(domain)) return false;
  const gen = atomic.load<u32>(sd.smmuDomainAddr(domain) + sd.SD_FLUSH_GEN);
  oracle.oracleUnmap(o, domainCtx(domain), <u64>iova >> 12, <u64>pages, lazy, gen, jiffiesNow());
  return true;
}

function domainCtx(domain: u32): u32 {
  const a = sd.smmuDomainAddr(domain);
  return cache.makeCtx(load<u32>(a + sd.SD_ASID), load<u32>(a + sd.SD_VMID));
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
