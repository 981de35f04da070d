// An SMMUv3 instance, the device side: its stream table (stream ID → the context the driver
// programmed: stage, ASID/VMID, table base and geometry), its translation caches (IOTLB,
// per-level walk caches, optional per-stream micro-TLBs), its fault event queue, statistics
// and the cost table used to charge modelled time. State lives in the SMMU's descriptor
// (static area) and in kheap memory it points to.
//
// Left out: two-stage (nested) translation, CD tables and substreams, ATS/PRI, stalls.
//
// Descriptor (SMMU_DESC_SIZE bytes):
//   +0 state  +4 options (OPT_*)  +8 iotlb  +12..+24 walk caches L0..L3  +28 streams
//   +32 stream table ptr  +36 fault ring ptr  +40 fault ring mask  +44 pending-cmd ring ptr
//   +48 pending mask  +52 pending count  +56 kheap frame list (up to 16 frames)
//   +128 cmdq lock (own line)  +192 fault head (own line)
//   +256 statistics: u64 counters, STAT_* × 8
//   +512 cost table: u32 ns per COST_*
//   +640 micro-TLB geometry: entries u32, enabled u32
//   +704 invalidations begun u32, +708 invalidations ended u32 (own line; see S_INV_EPOCH)
//   +768 streams with a micro-TLB: a bitmap of MAX_STREAMS bits (S_UTLB_MAP)

import { MAX_SMMUS, SMMUS_BASE, SMMU_DESC_SIZE, ZONE_KHEAP } from "../memmap";
import { frameAddr, orderForBytes, zoneAlloc, zoneFree } from "../phys";
import { cacheBytes, cacheInit } from "./cache";
import { oracleBytes, oracleInit } from "../safety/oracle";
import { counterAdd } from "../counters";
import { ESIM_ARGS, ESIM_KHEAP, ESIM_NO_SMMU, ESIM_ORACLE_ENABLED } from "../errno";
import { slotAt, slotClaim, slotLive, slotPublish, slotRelease } from "../slots";

export const S_STATE: u32 = 0;
export const S_OPTIONS: u32 = 4;
export const S_IOTLB: u32 = 8;
export const S_WALKC: u32 = 12; // 4 × u32
export const S_STREAMS: u32 = 28;
export const S_STE_TABLE: u32 = 32;
export const S_FAULTS: u32 = 36;
export const S_FAULT_MASK: u32 = 40;
export const S_PENDING: u32 = 44;
export const S_PENDING_MASK: u32 = 48;
export const S_PENDING_COUNT: u32 = 52;
const S_FRAMES: u32 = 56; //  count u32 then 15 × u32
export const S_CMDQ_LOCK: u32 = 128;
export const S_FAULT_HEAD: u32 = 192;
export const S_STATS: u32 = 256;
export const S_COSTS: u32 = 512;
export const S_UTLB_ENTRIES: u32 = 640;
export const S_ORACLE: u32 = 648; //  the safety oracle checking this SMMU's accesses (0 = off)
/**
 * Invalidations begun and ended (u32 each, wrapping). A translation reads both before its
 * first lookup and inserts what it found (micro-TLB, walk-cache and IOTLB fills) only if
 * none was in progress then and none has begun since. Otherwise a descriptor or entry read
 * before (or during) a TLBI could be cached behind its scan, and the translation would
 * outlive the TLBI + CMD_SYNC meant to remove it — against the architecture's guarantee
 * that a completed CMD_SYNC covers translations in flight. The access itself still
 * completes with what it found, as an access in flight at the TLBI does.
 */
export const S_INV_EPOCH: u32 = 704;
export const S_INV_ENDED: u32 = 708;
/**
 * Which streams have a micro-TLB (bit sid of MAX_STREAMS bits): every TLBI must reach
 * them, and visiting only these instead of every stream-table entry keeps a TLBI's cost
 * independent of the stream table's size.
 */
export const S_UTLB_MAP: u32 = 768;

/** Options. */
export const OPT_INVALIDATE_AT_SYNC: u32 = 1 << 0; // TLBIs take effect at the next CMD_SYNC
export const OPT_TTL_STRICT: u32 = 1 << 1; //        honour TTL hints: only entries at that level go
export const OPT_UTLB: u32 = 1 << 2; //              per-stream micro-TLBs
/** Fault injection, for tests only: TLBIs are consumed but change nothing (a broken SMMU). */
export const OPT_FAULT_DROP_TLBI: u32 = 1 << 8;

// Statistics (u64 each, at S_STATS + 8·index).
export const STAT_TRANSLATIONS: u32 = 0;
export const STAT_UTLB_HITS: u32 = 1;
export const STAT_IOTLB_HITS: u32 = 2;
export const STAT_IOTLB_MISSES: u32 = 3;
export const STAT_WALKS: u32 = 4;
export const STAT_PTE_READS: u32 = 5;
export const STAT_WALKC_HITS: u32 = 6;
export const STAT_FAULTS: u32 = 7;
export const STAT_TLBI_VA: u32 = 8; //      NH_VA / EL2_VA / S2_IPA commands
export const STAT_TLBI_CONTEXT: u32 = 9; // NH_ASID / EL2_ASID / S12_VMALL
export const STAT_TLBI_ALL: u32 = 10; //    NSNH_ALL / NH_ALL / EL2_ALL
export const STAT_SYNCS: u32 = 11;
export const STAT_CMDS: u32 = 12;
export const STAT_ENTRIES_INVALIDATED: u32 = 13;
export const STAT_MODELLED_NS: u32 = 14; // SMMU-side modelled time
export const STAT_COUNT: u32 = 15;

// Costs in modelled ns (u32 each, at S_COSTS + 4·index).
export const COST_PTE_READ: u32 = 0;
export const COST_IOTLB_HIT: u32 = 1;
export const COST_IOTLB_MISS: u32 = 2;
export const COST_WALKC_HIT: u32 = 3;
export const COST_TLBI: u32 = 4;
export const COST_SYNC: u32 = 5;
export const COST_UTLB_HIT: u32 = 6;
export const COST_COUNT: u32 = 7;

// Stream table entry (STE) as the driver programs it for a single-stage domain.
export const STE_SIZE: u32 = 64;
export const STE_VALID: u32 = 0; //   u32
export const STE_STAGE: u32 = 4; //   u32: 1 or 2
export const STE_ASID: u32 = 8;
export const STE_VMID: u32 = 12;
export const STE_TTB: u32 = 16; //    u64: table base PA
export const STE_IAS: u32 = 24; //    64 − T0SZ
export const STE_PG_SHIFT: u32 = 28; // from TG
export const STE_START: u32 = 32; //  start level (from T0SZ; stage 2: SL0)
export const STE_OAS: u32 = 36;
export const STE_UTLB: u32 = 40; //   this stream's micro-TLB, 0 = none
export const STE_DOMAIN: u32 = 44; // the SMMU domain: id + 1 (its flush generation), 0 = none
export const STE_ACCESSES: u32 = 48; // u64: translations for this stream

// Fault records (32 bytes): +0 type u32, +4 seq u32, +8 iova u64, +16 sid u32,
// +20 level u32, +24 info u64 (the PTE, or the PA that was out of range).
export const FAULT_SIZE: u32 = 32;
export const F_BAD_STREAM: u32 = 1;
export const F_TRANSLATION: u32 = 2;
export const F_ADDR_SIZE: u32 = 3;
export const F_ACCESS: u32 = 4;
export const F_PERMISSION: u32 = 5;
export const F_WALK_EABT: u32 = 6; // a table address outside simulated RAM

export const MAX_STREAMS: u32 = 256;
const MAX_FRAMES: u32 = 15;

@inline export function smmuAddr(id: u32): u32 {
  return slotAt(SMMUS_BASE, SMMU_DESC_SIZE, id);
}

export function smmuLive(id: u32): u32 {
  return slotLive(SMMUS_BASE, SMMU_DESC_SIZE, MAX_SMMUS, id);
}

@inline export function stat(s: u32, which: u32, n: u64): void {
  counterAdd(s + S_STATS + which * 8, n);
}

@inline export function cost(s: u32, which: u32): u64 {
  return <u64>load<u32>(s + S_COSTS + which * 4);
}

/** Kheap memory owned by this SMMU (freed with it). */
function smmuAlloc(s: u32, bytes: u32): u32 {
  const n = load<u32>(s + S_FRAMES);
  if (n >= MAX_FRAMES) return 0;
  const frame = zoneAlloc(ZONE_KHEAP, orderForBytes(<u64>bytes));
  if (frame < 0) return 0;
  store<u32>(s + S_FRAMES, n + 1);
  store<u32>(s + S_FRAMES + 4 + n * 4, <u32>frame);
  return frameAddr(ZONE_KHEAP, <u32>frame);
}

function newCache(s: u32, sets: u32, ways: u32, policy: u32, seed: u32): u32 {
  const c = smmuAlloc(s, cacheBytes(sets, ways));
  if (c != 0) cacheInit(c, sets, ways, policy, seed);
  return c;
}

/**
 * Create an SMMU. Cache geometry: IOTLB sets × ways; walk caches per level (L0..L3 entries,
 * 4-way); micro-TLB entries per stream (fully associative; 0 = none). Returns the id, or
 * -ESIM_ARGS, -ESIM_SLOTS_FULL (MAX_SMMUS live), -ESIM_KHEAP (no memory for its caches).
 */
export function smmuCreate(options: u32, tlbSets: u32, tlbWays: u32, policy: u32, seed: u32,
                           wc0: u32, wc1: u32, wc2: u32, wc3: u32, utlbEntries: u32,
                           faultRing: u32): i32 {
  if (tlbSets == 0 || tlbWays == 0 || faultRing < 2 || (faultRing & (faultRing - 1)) != 0) return -ESIM_ARGS;
  const id = slotClaim(SMMUS_BASE, SMMU_DESC_SIZE, MAX_SMMUS);
  if (id < 0) return id;
  const s = smmuAddr(<u32>id);
  memory.fill(s + 4, 0, SMMU_DESC_SIZE - 4);
  store<u32>(s + S_OPTIONS, options | (utlbEntries != 0 ? OPT_UTLB : 0));
  store<u32>(s + S_UTLB_ENTRIES, utlbEntries);
  const iotlb = newCache(s, tlbSets, tlbWays, policy, seed);
  store<u32>(s + S_IOTLB, iotlb);
  let ok = iotlb != 0;
  for (let l: u32 = 0; l < 4 && ok; l++) {
    const entries = l == 0 ? wc0 : l == 1 ? wc1 : l == 2 ? wc2 : wc3;
    if (entries == 0) continue; // this level is not cached
    const ways: u32 = entries < 4 ? entries : 4;
    const c = newCache(s, (entries + ways - 1) / ways, ways, policy, seed + l + 1);
    store<u32>(s + S_WALKC + l * 4, c);
    ok = c != 0;
  }
  const ste = ok ? smmuAlloc(s, MAX_STREAMS * STE_SIZE) : 0;
  const faults = ste != 0 ? smmuAlloc(s, faultRing * FAULT_SIZE) : 0;
  const pending = faults != 0 ? smmuAlloc(s, 4096 * 32) : 0;
  if (pending == 0) {
    smmuRelease(s);
    return -ESIM_KHEAP;
  }
  memory.fill(ste, 0, MAX_STREAMS * STE_SIZE);
  store<u32>(s + S_STE_TABLE, ste);
  store<u32>(s + S_FAULTS, faults);
  store<u32>(s + S_FAULT_MASK, faultRing - 1);
  store<u32>(s + S_PENDING, pending);
  store<u32>(s + S_PENDING_MASK, 4096 - 1);
  slotPublish(s);
  return id;
}

function smmuRelease(s: u32): void {
  const n = load<u32>(s + S_FRAMES);
  for (let i: u32 = 0; i < n; i++) zoneFree(ZONE_KHEAP, load<u32>(s + S_FRAMES + 4 + i * 4));
  memory.fill(s + 4, 0, SMMU_DESC_SIZE - 4);
  slotRelease(s);
}

export function smmuDestroy(id: u32): bool {
  const s = smmuLive(id);
  if (s == 0) return false;
  // Micro-TLBs live in their own frames, recorded in their STEs.
  for (let sid: u32 = 0; sid < MAX_STREAMS; sid++) steClear(s, sid);
  smmuRelease(s);
  return true;
}

export function setCost(id: u32, which: u32, ns: u32): bool {
  const s = smmuLive(id);
  if (s == 0 || which >= COST_COUNT) return false;
  store<u32>(s + S_COSTS + which * 4, ns);
  return true;
}

@inline export function steAddr(s: u32, sid: u32): u32 {
  return load<u32>(s + S_STE_TABLE) + sid * STE_SIZE;
}

/**
 * Program stream `sid` (CFGI_STE in the driver's terms): stage, ASID/VMID, and the walk
 * geometry from the CD/STE fields (TTB, input size, granule, start level, output size).
 * 0, or -ESIM_NO_SMMU, -ESIM_ARGS (stream beyond MAX_STREAMS), -ESIM_KHEAP (its micro-TLB).
 */
export function steSet(id: u32, sid: u32, domain: u32, stage: u32, asid: u32, vmid: u32, ttb: u64,
                       ias: u32, pgShift: u32, start: u32, oas: u32): i32 {
  const s = smmuLive(id);
  if (s == 0) return -ESIM_NO_SMMU;
  if (sid >= MAX_STREAMS) return -ESIM_ARGS;
  const e = steAddr(s, sid);
  atomic.store<u32>(e + STE_VALID, 0);
  store<u32>(e + STE_STAGE, stage);
  store<u32>(e + STE_ASID, asid);
  store<u32>(e + STE_VMID, vmid);
  store<u64>(e + STE_TTB, ttb);
  store<u32>(e + STE_IAS, ias);
  store<u32>(e + STE_PG_SHIFT, pgShift);
  store<u32>(e + STE_START, start);
  store<u32>(e + STE_OAS, oas);
  store<u32>(e + STE_DOMAIN, domain + 1);
  const utlbEntries = load<u32>(s + S_UTLB_ENTRIES);
  if (load<u32>(e + STE_UTLB) == 0 && utlbEntries != 0) {
    const frame = zoneAlloc(ZONE_KHEAP, orderForBytes(<u64>cacheBytes(1, utlbEntries)));
    if (frame < 0) return -ESIM_KHEAP;
    const c = frameAddr(ZONE_KHEAP, <u32>frame);
    cacheInit(c, 1, utlbEntries, 1 /* round-robin, as gem5 */, sid + 1);
    store<u32>(e + STE_UTLB, c);
    atomic.or<u32>(s + S_UTLB_MAP + (sid >> 5) * 4, 1 << (sid & 31));
  }
  atomic.store<u32>(e + STE_VALID, 1);
  return 0;
}

/** Detach stream `sid` (its micro-TLB goes with it). */
export function steClear(s: u32, sid: u32): void {
  const e = steAddr(s, sid);
  atomic.store<u32>(e + STE_VALID, 0);
  const utlb = load<u32>(e + STE_UTLB);
  if (utlb != 0) {
    atomic.and<u32>(s + S_UTLB_MAP + (sid >> 5) * 4, ~(1 << (sid & 31)));
    zoneFree(ZONE_KHEAP, (utlb - frameAddr(ZONE_KHEAP, 0)) >> 12);
    store<u32>(e + STE_UTLB, 0);
  }
}

/**
 * Turn on the safety oracle for this SMMU: a shadow of `capacity` IOVA pages. 0, or
 * -ESIM_NO_SMMU, -ESIM_ORACLE_ENABLED, -ESIM_KHEAP.
 */
export function smmuOracleEnable(id: u32, capacity: u32, ring: u32): i32 {
  const s = smmuLive(id);
  if (s == 0) return -ESIM_NO_SMMU;
  if (load<u32>(s + S_ORACLE) != 0) return -ESIM_ORACLE_ENABLED;
  const o = smmuAlloc(s, oracleBytes(capacity, ring));
  if (o == 0) return -ESIM_KHEAP;
  memory.fill(o, 0, oracleBytes(capacity, ring));
  oracleInit(o, capacity, ring);
  atomic.store<u32>(s + S_ORACLE, o);
  return 0;
}

/** Record a fault in the event queue (a ring: the oldest records are overwritten). */
export function recordFault(s: u32, type: u32, sid: u32, iova: u64, level: u32, info: u64): void {
  stat(s, STAT_FAULTS, 1);
  const seq = atomic.add<u32>(s + S_FAULT_HEAD, 1);
  const rec = load<u32>(s + S_FAULTS) + (seq & load<u32>(s + S_FAULT_MASK)) * FAULT_SIZE;
  atomic.store<u32>(rec + 4, 0);
  store<u32>(rec, type);
  store<u64>(rec + 8, iova);
  store<u32>(rec + 16, sid);
  store<u32>(rec + 20, level);
  store<u64>(rec + 24, info);
  atomic.store<u32>(rec + 4, seq + 1);
}
