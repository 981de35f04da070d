// An SMMUv3 instance, the device side: its stream table (stream ID → the context the driver
// programmed: stage, ASID/VMID, table base and geometry), its translation caches (IOTLB,
// per-level walk caches, optional per-stream micro-TLBs), its fault event queue, statistics
// and the cost table used to charge modelled time. State lives in the SMMU's descriptor
// (static area) and in kheap memory it points to.
//
// Left out: two-stage (nested) translation, CD tables and substreams, ATS/PRI, stalls.

import { CACHE_LINE, MAX_SMMUS, SMMUS_BASE, SMMU_DESC_SIZE, ZONE_KHEAP } from "../memmap";
import { frameAddr, orderForBytes, zoneAlloc, zoneFree } from "../phys";
import { ALL_SHIFTS, C_HITS, C_INVALIDATED, CacheHeader, cacheBytes, cacheFits, cacheInit, cacheInvalidate, cacheSettle, cacheUseGenerations } from "./cache";
import { CTX_TABLE_BYTES, ctxTableInit } from "./context-gen";
import { OracleHeader, oracleBytes, oracleInit } from "../safety/oracle";
import { counterAdd } from "../counters";
import { CMD_KINDS } from "./cmd";
import { ESIM_ARGS, ESIM_CACHE_TOO_BIG, ESIM_KHEAP, ESIM_NO_SMMU, ESIM_ORACLE_ENABLED } from "../errno";
import { slotAt, slotClaim, slotLive, slotPublish, slotRelease } from "../slots";

export const MAX_STREAMS: u32 = 256;
/** Walk-cache levels: one cache per level 0..3 (SmmuInstance.walkCaches). */
export const WALK_CACHE_LEVELS: u32 = 4;
/** Kheap frames an SMMU can own (SmmuInstance.frames). */
const MAX_FRAMES: u32 = 15;
/** Room for statistics (SmmuInstance.stats, u64 each) and costs (SmmuInstance.costs, u32 each). */
const STATS_ROOM: u32 = 34;
const COSTS_ROOM: u32 = 32;
/** Commands a CMD_SYNC can have waiting (OPT_INVALIDATE_AT_SYNC), and their ring's stride. */
const PENDING_CMDS: u32 = 4096;
export const PENDING_CMD_SIZE: u32 = 32;

/**
 * A command waiting for the next CMD_SYNC (OPT_INVALIDATE_AT_SYNC): one entry of the SMMU's
 * pending ring (SmmuInstance.pending), written and drained under its cmdqLock.
 */
@unmanaged export class PendingCmd {
  /** The command's two words, as issued. */
  dw0: u64;
  dw1: u64;
  /**
   * The run: how many commands (bits 0..31; dw1's address advancing by 2^stepShift after
   * each) and stepShift (bits 32..63), packed as the EV_CMD log record packs a run.
   */
  run: u64;
}

if (offsetof<PendingCmd>() > PENDING_CMD_SIZE) ERROR("PendingCmd outgrew PENDING_CMD_SIZE");

/**
 * The SMMU's descriptor: one slot of the SMMU table (SMMU_DESC_SIZE bytes). Its caches,
 * context table, stream table, fault queue and pending-command ring live in kheap frames it
 * owns. Words that different workers write each start a cache line: the command-queue lock
 * (CPUs issuing), the fault queue's head (devices faulting) and the statistics (every
 * translation); the micro-TLB map, read by every TLBI, keeps off their lines too.
 */
@unmanaged export class SmmuInstance {
  /** Slot state (assembly/slots.ts SLOT_*): claimed, published and released by create/destroy. */
  state: u32;
  /** OPT_* bits, set at create. */
  options: u32;
  /**
   * The IOTLB every stream shares (leaf translations), or null when each stream has a main
   * TLB of its own (OPT_IOTLB_PER_STREAM: Ste.iotlb). Translations use Ste.iotlb, which
   * points here in the shared case.
   */
  iotlb: CacheHeader | null;
  /**
   * The walk caches (next-level tables), level l's CacheHeader at walkCaches + 4·l
   * (WALK_CACHE_LEVELS of them, see walkCacheOf); 0 where that level is not cached.
   */
  walkCaches: u32; _walkCaches1: u32; _walkCaches2: u32; _walkCaches3: u32;
  /**
   * Which architecture (SMMU_MODEL_*), set at create: an SMMUv3 (stream table, command
   * queue) or an SMMU v1/v2 (stream matching, context banks, TLB registers: smmu/v2/).
   */
  model: u32;
  /** The stream table: MAX_STREAMS Ste records, STE_SIZE apart (steOf). */
  steTable: Ste;
  /** The fault event queue: faultMask + 1 FaultRecords, a ring indexed by faultHead. */
  faults: FaultRecord;
  faultMask: u32;
  /** Commands waiting for the next CMD_SYNC (OPT_INVALIDATE_AT_SYNC): a PENDING_CMDS ring. */
  pending: PendingCmd;
  /** PENDING_CMDS − 1. */
  pendingMask: u32;
  /** How many are waiting, under cmdqLock. */
  pendingCount: u32;
  /** Kheap frames this SMMU owns (freed with it): how many, then their numbers (MAX_FRAMES u32 from `frames`). */
  frameCount: u32;
  frames: u32; _frames1: u32; _frames2: u32; _frames3: u32; _frames4: u32; _frames5: u32; _frames6: u32;
  _frames7: u32; _frames8: u32; _frames9: u32; _frames10: u32; _frames11: u32; _frames12: u32;
  _frames13: u32; _frames14: u32;
  _pad0: u64;
  /** Serialises the pending-command ring (a lock word, sync.ts). */
  /**
   * The command queue's lock: guards the pending ring (OPT_INVALIDATE_AT_SYNC) and the
   * queue's modelled timelines below (assembly/smmu/cmdq.ts), all in modelled ns.
   */
  cmdqLock: u32;
  _pad1: u32;
  /** When the cache line holding prod is free again for the next claim (compare-and-swap). */
  prodFreeAt: u64;
  /** How long the last claim held it (to estimate the CPUs spinning behind it). */
  prodHold: u64;
  /** When the latest owner stopped gathering other CPUs' claims into its batch. */
  gatherClosedAt: u64;
  /** When that owner's MMIO write of prod lands: its batch is visible to the SMMU. */
  publishAt: u64;
  /** When the SMMU has consumed every command published so far. */
  consumedAt: u64;
  /** How long the SMMU took over the last submission (to estimate the submissions queued behind it). */
  consumeHold: u64;
  _pad8: u64;
  /** Faults recorded so far (wrapping): bumped atomically by the faulting translation; the ring's head. */
  faultHead: u32;
  _pad9: u32; _pad10: u64; _pad11: u64; _pad12: u64; _pad13: u64; _pad14: u64; _pad15: u64; _pad16: u64;
  /** Statistics: u64 counters (counterAdd, any thread), STAT_* at stats + 8·STAT_* (room for STATS_ROOM). */
  stats: u64; _stats1: u64; _stats2: u64; _stats3: u64; _stats4: u64; _stats5: u64; _stats6: u64; _stats7: u64;
  _stats8: u64; _stats9: u64; _stats10: u64; _stats11: u64; _stats12: u64; _stats13: u64; _stats14: u64;
  _stats15: u64; _stats16: u64; _stats17: u64; _stats18: u64; _stats19: u64; _stats20: u64; _stats21: u64;
  _stats22: u64; _stats23: u64; _stats24: u64; _stats25: u64; _stats26: u64; _stats27: u64; _stats28: u64;
  _stats29: u64; _stats30: u64; _stats31: u64; _stats32: u64; _stats33: u64;
  /** Modelled ns per event, COST_* at costs + 4·COST_* (room for COSTS_ROOM): set by setCost. */
  costs: u32; _costs1: u32; _costs2: u32; _costs3: u32; _costs4: u32; _costs5: u32; _costs6: u32; _costs7: u32;
  _costs8: u32; _costs9: u32; _costs10: u32; _costs11: u32; _costs12: u32; _costs13: u32; _costs14: u32;
  _costs15: u32; _costs16: u32; _costs17: u32; _costs18: u32; _costs19: u32; _costs20: u32; _costs21: u32;
  _costs22: u32; _costs23: u32; _costs24: u32; _costs25: u32; _costs26: u32; _costs27: u32; _costs28: u32;
  _costs29: u32; _costs30: u32; _costs31: u32;
  /** Entries of each stream's micro-TLB (0 = none), set at create. */
  utlbEntries: u32;
  /**
   * An SMMU v1/v2's registers (smmu/v2/bank.ts V2State, in kheap frames it owns; set by
   * v2Create right after smmuCreate); 0 for an SMMUv3.
   */
  v2: u32;
  /** The safety oracle checking this SMMU's accesses (null = off): set once, by smmuOracleEnable. */
  oracle: OracleHeader | null;
  /** Its context table (context-gen.ts), 0 = none: set once, by smmuCreate. */
  ctxTable: u32;
  /** Each stream's own main TLB (OPT_IOTLB_PER_STREAM): sets, ways, policy (POLICY_*), seed; set at create. */
  tlbSets: u32; tlbWays: u32; tlbPolicy: u32; tlbSeed: u32;
  /**
   * The counters of main TLBs freed when their streams were detached (OPT_IOTLB_PER_STREAM),
   * as a CacheHeader has them from C_HITS on (hits, misses, fills, evictions, invalidated):
   * the SMMU's history stays whole while a detached stream's memory goes back to the kheap.
   */
  retiredIotlb: u64; _retiredIotlb1: u64; _retiredIotlb2: u64; _retiredIotlb3: u64; _retiredIotlb4: u64;
  _pad25: u64; _pad26: u64; _pad27: u64; _pad28: u64; _pad29: u64;
  /** Guards the walkers' timeline (walkers.ts; a lock word, sync.ts): taken only in timed runs. */
  walkerLock: u32;
  /** Table walks the SMMU runs at once, 1..MAX_WALKERS: set at create (DEFAULT_WALKERS) or by setWalkers. */
  walkers: u32;
  /** Each walker's latest walk, in modelled ns: from, then until (MAX_WALKERS pairs of u64; walkers.ts). */
  walkerBusy: u64; _walkerBusy1: u64; _walkerBusy2: u64; _walkerBusy3: u64; _walkerBusy4: u64;
  _walkerBusy5: u64; _walkerBusy6: u64; _walkerBusy7: u64; _walkerBusy8: u64; _walkerBusy9: u64;
  _walkerBusy10: u64; _walkerBusy11: u64; _walkerBusy12: u64; _walkerBusy13: u64; _walkerBusy14: u64;
  _walkerBusy15: u64; _walkerBusy16: u64; _walkerBusy17: u64; _walkerBusy18: u64; _walkerBusy19: u64;
  _walkerBusy20: u64; _walkerBusy21: u64; _walkerBusy22: u64; _walkerBusy23: u64; _walkerBusy24: u64;
  _walkerBusy25: u64; _walkerBusy26: u64; _walkerBusy27: u64; _walkerBusy28: u64; _walkerBusy29: u64;
  _walkerBusy30: u64; _walkerBusy31: u64;
  _pad32: u64; _pad33: u64; _pad34: u64; _pad35: u64; _pad36: u64; _pad37: u64; _pad38: u64;
  /**
   * Which attached streams have caches of their own (a micro-TLB, a main TLB): bit sid of
   * MAX_STREAMS bits, u32 words from cachedStreams (set and cleared atomically by steSet /
   * steClear). Every TLBI must reach those caches, and visiting only these streams instead
   * of every stream-table entry keeps a TLBI's cost independent of the stream table's size.
   */
  cachedStreams: u32; _cachedStreams1: u32; _cachedStreams2: u32; _cachedStreams3: u32; _cachedStreams4: u32;
  _cachedStreams5: u32; _cachedStreams6: u32; _cachedStreams7: u32;
}

/** Table walks an SMMU can run at once, at most (the walkers' timeline holds this many). */
export const MAX_WALKERS: u32 = 16;
/** The default, and the most: gem5's SMMUv3 model has 16 page-table-walk slots (reference anchors.md §3). */
export const DEFAULT_WALKERS: u32 = MAX_WALKERS;
export const S_WALKER_BUSY: u32 = offsetof<SmmuInstance>("walkerBusy");

// Exported in the module's layout (assembly/index.ts): src/smmu/smmu.ts and src/tasks/dma.ts
// read them (S_COSTS only the raw layout's users).
export const S_IOTLB: u32 = offsetof<SmmuInstance>("iotlb");
export const S_WALKC: u32 = offsetof<SmmuInstance>("walkCaches");
export const S_FAULTS: u32 = offsetof<SmmuInstance>("faults");
export const S_FAULT_MASK: u32 = offsetof<SmmuInstance>("faultMask");
export const S_FAULT_HEAD: u32 = offsetof<SmmuInstance>("faultHead");
export const S_STATS: u32 = offsetof<SmmuInstance>("stats");
export const S_COSTS: u32 = offsetof<SmmuInstance>("costs");
export const S_ORACLE: u32 = offsetof<SmmuInstance>("oracle");
export const S_MODEL: u32 = offsetof<SmmuInstance>("model");
export const S_V2: u32 = offsetof<SmmuInstance>("v2");

/** An SMMUv3 (arm-smmu-v3.c): commands through a queue. */
export const SMMU_MODEL_V3: u32 = 0;
/** An SMMU v2 / MMU-500 (arm-smmu.c): context banks and TLB-maintenance registers. */
export const SMMU_MODEL_V2: u32 = 2;
/** An SMMUv1 / MMU-400 (arm-smmu.c): as v2, but stage-2 banks have no TLBIIPAS2 or TLBSYNC. */
export const SMMU_MODEL_V1: u32 = 1;

if (offsetof<SmmuInstance>() > SMMU_DESC_SIZE) ERROR("SmmuInstance outgrew SMMU_DESC_SIZE");
if (offsetof<SmmuInstance>("cmdqLock") % CACHE_LINE != 0) ERROR("SmmuInstance.cmdqLock must start its own cache line");
if (S_FAULT_HEAD % CACHE_LINE != 0) ERROR("SmmuInstance.faultHead must start its own cache line");
if (S_STATS % CACHE_LINE != 0) ERROR("SmmuInstance.stats must start its own cache line");
if (offsetof<SmmuInstance>("cachedStreams") % CACHE_LINE != 0) ERROR("SmmuInstance.cachedStreams must start its own cache line");
// Each array of SmmuInstance reaches exactly to the field after it.
if (offsetof<SmmuInstance>("model") - S_WALKC != WALK_CACHE_LEVELS * 4) ERROR("walkCaches ≠ WALK_CACHE_LEVELS");
if (offsetof<SmmuInstance>("_pad0") - offsetof<SmmuInstance>("frames") != MAX_FRAMES * 4) ERROR("frames ≠ MAX_FRAMES");
if (S_COSTS - S_STATS != STATS_ROOM * 8) ERROR("stats ≠ STATS_ROOM");
if (offsetof<SmmuInstance>("utlbEntries") - S_COSTS != COSTS_ROOM * 4) ERROR("costs ≠ COSTS_ROOM");
if (offsetof<SmmuInstance>("_pad32") - S_WALKER_BUSY != MAX_WALKERS * 16) ERROR("walkerBusy ≠ MAX_WALKERS");
if (offsetof<SmmuInstance>("_pad25") - offsetof<SmmuInstance>("retiredIotlb") != C_INVALIDATED + 8 - C_HITS) ERROR("retiredIotlb ≠ a cache's counters");
if (offsetof<SmmuInstance>("walkerLock") % CACHE_LINE != 0) ERROR("SmmuInstance.walkerLock must start its own cache line");
if (offsetof<SmmuInstance>() - offsetof<SmmuInstance>("cachedStreams") != MAX_STREAMS / 8) ERROR("cachedStreams ≠ MAX_STREAMS bits");

/** Options. */
export const OPT_INVALIDATE_AT_SYNC: u32 = 1 << 0; // TLBIs take effect at the next CMD_SYNC
export const OPT_TTL_STRICT: u32 = 1 << 1; //        honour TTL hints: only entries at that level go
export const OPT_UTLB: u32 = 1 << 2; //              per-stream micro-TLBs
/**
 * Each stream has a main TLB of its own instead of one IOTLB for all (a TBU's main TLB in
 * MMU-600/700; gem5's default, a main TLB per device interface with the SMMU-wide TLB off).
 */
export const OPT_IOTLB_PER_STREAM: u32 = 1 << 3;
/** Fault injection, for tests only: TLBIs are consumed but change nothing (a broken SMMU). */
export const OPT_FAULT_DROP_TLBI: u32 = 1 << 8;

// Statistics (u64 each, SmmuInstance.stats + 8·index).
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
export const STAT_CMD_ILLEGAL: u32 = 15; // commands with an opcode the architecture does not define (CERROR_ILL), not in STAT_CMDS
export const STAT_WALKS_QUEUED: u32 = 16; // walks that found every walker busy (timed runs: walkers.ts)
export const STAT_WALK_WAIT_NS: u32 = 17; // modelled ns those walks waited for a walker
/** Commands consumed by kind: one counter per opcode, at STAT_BY_KIND + cmdKindIndex(op). */
export const STAT_BY_KIND: u32 = 18;
export const STAT_COUNT: u32 = STAT_BY_KIND + CMD_KINDS;
if (STAT_COUNT > STATS_ROOM) ERROR("STAT_* outgrew SmmuInstance.stats");

// Costs in modelled ns (u32 each, SmmuInstance.costs + 4·index).
export const COST_PTE_READ: u32 = 0;
export const COST_IOTLB_HIT: u32 = 1;
export const COST_IOTLB_MISS: u32 = 2;
export const COST_WALKC_HIT: u32 = 3;
export const COST_TLBI: u32 = 4;
export const COST_SYNC: u32 = 5;
export const COST_UTLB_HIT: u32 = 6;
// The command queue in modelled time (assembly/smmu/cmdq.ts).
export const COST_CMDQ_CLAIM: u32 = 7; //    a claim of queue space holding prod's cache line, uncontended
export const COST_CMDQ_SPIN: u32 = 8; //     what each CPU spinning on prod adds to a claim (its failed CAS)
export const COST_CMDQ_SPIN_MAX: u32 = 9; // spinners beyond this many add nothing (a count, not ns)
export const COST_MMIO: u32 = 10; //         the owner's MMIO write of prod
export const COST_SYNC_WAKE: u32 = 11; //    a CPU noticing its CMD_SYNC completed (polling, WFE wake-up)
// An SMMU v1/v2's TLB maintenance (assembly/smmu/v2/driver.ts).
export const COST_REG_WRITE: u32 = 12; //    the CPU's write of one TLB-maintenance or sync register (MMIO)
export const COST_STATUS_POLL: u32 = 13; //  one read of TLBSTATUS / sTLBGSTATUS (MMIO)
export const COST_TLB_SYNC: u32 = 14; //     the SMMU completing a TLBSYNC once the TLBIs before it are done
export const COST_COUNT: u32 = 15;
if (COST_COUNT > COSTS_ROOM) ERROR("COST_* outgrew SmmuInstance.costs");

/**
 * A stream-table entry as the driver programs it for a single-stage domain (CFGI_STE):
 * written by steSet with `valid` cleared, then published by setting it; read by every
 * translation of the stream.
 */
@unmanaged export class Ste {
  /** 1 once programmed (atomic: cleared first, set last by steSet; cleared by steClear). */
  valid: u32;
  /** Translation stage: 1 or 2. */
  stage: u32;
  /** The context's ASID (stage 1) and VMID (stage 2): they tag its cache entries. */
  asid: u32;
  vmid: u32;
  /** Table base PA (TTB0 / S2TTB). */
  ttb: u64;
  /** Input address size in bits: 64 − T0SZ. */
  ias: u32;
  /** Granule as a shift (12, 14, 16), from TG. */
  pgShift: u32;
  /** Start level of the walk (from T0SZ; stage 2: SL0). */
  start: u32;
  /** Output address size in bits. */
  oas: u32;
  /** This stream's micro-TLB (allocated by steSet when the SMMU has them), null = none. */
  utlb: CacheHeader | null;
  /** The SMMU domain: id + 1 (for its flush generation), 0 = none. */
  domain: u32;
  /** Translations of this stream (counterAdd). */
  accesses: u64;
  /** Its context's slot in the SMMU's context table as last found (context-gen.ts), 0 = not yet: a hint. */
  ctxSlot: u32;
  /**
   * The IOTLB this stream's translations use: the SMMU's shared one, or (OPT_IOTLB_PER_STREAM)
   * its own main TLB, allocated when it is attached and freed when it is detached (its
   * counters then kept in SmmuInstance.retiredIotlb); null while it has none.
   */
  iotlb: CacheHeader | null;
}

/** The stream table's stride. */
const STE_SIZE: u32 = 64;
if (offsetof<Ste>() > STE_SIZE) ERROR("Ste outgrew STE_SIZE");

/**
 * A record of the fault event queue: written by recordFault, `seq` cleared first and set
 * last (to the fault's sequence number + 1) so that a reader can tell a record in progress.
 */
@unmanaged export class FaultRecord {
  /** Fault type (F_*). */
  type: u32;
  /** Sequence number + 1 once complete, 0 while being written. */
  seq: u32;
  /** The IOVA that faulted. */
  iova: u64;
  /** The stream. */
  sid: u32;
  /** The level of the walk where it faulted. */
  level: u32;
  /** The descriptor that faulted, or the PA that was out of range. */
  info: u64;
}

/** Read by the TypeScript side: the fault ring's stride. */
export const FAULT_SIZE: u32 = offsetof<FaultRecord>();
// The fields the TypeScript side reads (src/smmu/smmu.ts readFault), by these names.
export const FR_TYPE: u32 = offsetof<FaultRecord>("type");
export const FR_IOVA: u32 = offsetof<FaultRecord>("iova");
export const FR_SID: u32 = offsetof<FaultRecord>("sid");
export const FR_LEVEL: u32 = offsetof<FaultRecord>("level");
export const FR_INFO: u32 = offsetof<FaultRecord>("info");

export const F_BAD_STREAM: u32 = 1;
export const F_TRANSLATION: u32 = 2;
export const F_ADDR_SIZE: u32 = 3;
export const F_ACCESS: u32 = 4;
export const F_PERMISSION: u32 = 5;
export const F_WALK_EABT: u32 = 6; // a table address outside simulated RAM

@inline export function smmuAddr(id: u32): u32 {
  return slotAt(SMMUS_BASE, SMMU_DESC_SIZE, id);
}

/** The address of live SMMU `id`, or 0. */
export function smmuLive(id: u32): u32 {
  return slotLive(SMMUS_BASE, SMMU_DESC_SIZE, MAX_SMMUS, id);
}

@inline export function stat(s: SmmuInstance, which: u32, n: u64): void {
  counterAdd(changetype<u32>(s) + S_STATS + which * 8, n);
}

@inline export function cost(s: SmmuInstance, which: u32): u64 {
  return <u64>load<u32>(changetype<u32>(s) + S_COSTS + which * 4);
}

/** Walk cache of level `l` (0..3), or null where that level is not cached. */
@inline export function walkCacheOf(s: SmmuInstance, l: u32): CacheHeader | null {
  return changetype<CacheHeader | null>(load<u32>(changetype<u32>(s) + S_WALKC + l * 4));
}

/** The entry of stream `sid` (below MAX_STREAMS) in the stream table. */
@inline export function steOf(s: SmmuInstance, sid: u32): Ste {
  return changetype<Ste>(changetype<u32>(s.steTable) + sid * STE_SIZE);
}

/** The address of word `w` of cachedStreams (stream sid's bit is bit sid & 31 of word sid >> 5). */
@inline export function cachedStreamsWord(s: SmmuInstance, w: u32): u32 {
  return changetype<u32>(s) + offsetof<SmmuInstance>("cachedStreams") + w * 4;
}

/** Whether each stream has a main TLB of its own (OPT_IOTLB_PER_STREAM). */
@inline export function perStreamIotlb(s: SmmuInstance): bool {
  return (s.options & OPT_IOTLB_PER_STREAM) != 0;
}

/** Kheap memory owned by this SMMU (freed with it): its address, or 0. */
export function smmuAlloc(s: SmmuInstance, bytes: u32): u32 {
  const n = s.frameCount;
  if (n >= MAX_FRAMES) return 0;
  const frame = zoneAlloc(ZONE_KHEAP, orderForBytes(<u64>bytes));
  if (frame < 0) return 0;
  s.frameCount = n + 1;
  store<u32>(changetype<u32>(s) + offsetof<SmmuInstance>("frames") + n * 4, <u32>frame);
  return frameAddr(ZONE_KHEAP, <u32>frame);
}

function newCache(s: SmmuInstance, table: u32, sets: u32, ways: u32, policy: u32, seed: u32): u32 {
  const c = smmuAlloc(s, cacheBytes(sets, ways));
  if (c != 0) {
    cacheInit(changetype<CacheHeader>(c), sets, ways, policy, seed);
    cacheUseGenerations(changetype<CacheHeader>(c), table, invalidatedStat(s));
  }
  return c;
}

/** Where every cache of `s` counts the dead entries it clears (cacheUseGenerations). */
@inline function invalidatedStat(s: SmmuInstance): u32 {
  return changetype<u32>(s) + S_STATS + STAT_ENTRIES_INVALIDATED * 8;
}

/** The SMMU's context table (context-gen.ts). */
@inline export function ctxTableOf(s: SmmuInstance): u32 {
  return s.ctxTable;
}

/**
 * Clear every cache's dead entries (contexts flushed since their fill), counting them, so
 * that the statistics and the caches read as if every flush had scanned (context-gen.ts).
 */
export function smmuSettle(s: SmmuInstance): void {
  // Each cache counts what it clears in the SMMU's statistic too (cacheUseGenerations).
  const shared = s.iotlb;
  if (shared) cacheSettle(shared);
  for (let sid: u32 = 0; sid < MAX_STREAMS; sid++) {
    const e = steOf(s, sid);
    const own = e.iotlb;
    if (own && !shared) cacheSettle(own);
    const utlb = e.utlb;
    if (utlb) cacheSettle(utlb);
  }
  for (let l: u32 = 0; l < WALK_CACHE_LEVELS; l++) {
    const wc = walkCacheOf(s, l);
    if (wc) cacheSettle(wc);
  }
}

/**
 * The u64 counter at `offset` of the SMMU's IOTLB (a CacheHeader field: C_HITS …), summed
 * over every main TLB when each stream has its own (those of detached streams too).
 */
export function iotlbCounterSum(s: SmmuInstance, offset: u32): u64 {
  const shared = s.iotlb;
  if (shared) return atomic.load<u64>(changetype<u32>(shared) + offset);
  let sum = atomic.load<u64>(retiredCounter(s, offset));
  for (let sid: u32 = 0; sid < MAX_STREAMS; sid++) {
    const own = steOf(s, sid).iotlb;
    if (own) sum += atomic.load<u64>(changetype<u32>(own) + offset);
  }
  return sum;
}

/** Everything after the slot's state word (which slots.ts owns). */
const AFTER_STATE: u32 = offsetof<SmmuInstance>("options");

/**
 * Create an SMMU. Cache geometry: IOTLB sets × ways (one for all streams, or with
 * OPT_IOTLB_PER_STREAM each stream's own main TLB, made when it is first attached); walk
 * caches per level (L0..L3 entries, 4-way); micro-TLB entries per stream (fully associative;
 * 0 = none). Returns the id, or -ESIM_ARGS, -ESIM_CACHE_TOO_BIG (a cache larger than a kheap
 * block, however large the kheap), -ESIM_SLOTS_FULL (MAX_SMMUS live), -ESIM_KHEAP (no memory
 * for its caches).
 */
export function smmuCreate(options: u32, tlbSets: u32, tlbWays: u32, policy: u32, seed: u32,
                           wc0: u32, wc1: u32, wc2: u32, wc3: u32, utlbEntries: u32,
                           faultRing: u32, model: u32): i32 {
  if (tlbSets == 0 || tlbWays == 0 || faultRing < 2 || (faultRing & (faultRing - 1)) != 0) return -ESIM_ARGS;
  if (model != SMMU_MODEL_V3 && model != SMMU_MODEL_V2 && model != SMMU_MODEL_V1) return -ESIM_ARGS;
  // Before anything is claimed: told apart from a kheap that is merely full, which a larger
  // kheapMiB cures. With a main TLB per device the geometry is each device's, checked here too.
  if (!cacheFits(tlbSets, tlbWays)) return -ESIM_CACHE_TOO_BIG;
  const id = slotClaim(SMMUS_BASE, SMMU_DESC_SIZE, MAX_SMMUS);
  if (id < 0) return id;
  const s = changetype<SmmuInstance>(smmuAddr(<u32>id));
  memory.fill(changetype<u32>(s) + AFTER_STATE, 0, SMMU_DESC_SIZE - AFTER_STATE);
  s.options = options | (utlbEntries != 0 ? OPT_UTLB : 0);
  s.model = model;
  s.utlbEntries = utlbEntries;
  s.walkers = DEFAULT_WALKERS;
  const table = smmuAlloc(s, CTX_TABLE_BYTES);
  if (table != 0) ctxTableInit(table);
  s.ctxTable = table;
  s.tlbSets = tlbSets;
  s.tlbWays = tlbWays;
  s.tlbPolicy = policy;
  s.tlbSeed = seed;
  let ok = table != 0;
  if (ok && !perStreamIotlb(s)) {
    const iotlb = newCache(s, table, tlbSets, tlbWays, policy, seed);
    s.iotlb = changetype<CacheHeader | null>(iotlb);
    ok = iotlb != 0;
  }
  for (let l: u32 = 0; l < WALK_CACHE_LEVELS && ok; l++) {
    const entries = l == 0 ? wc0 : l == 1 ? wc1 : l == 2 ? wc2 : wc3;
    if (entries == 0) continue; // this level is not cached
    const ways: u32 = entries < 4 ? entries : 4;
    const c = newCache(s, table, (entries + ways - 1) / ways, ways, policy, seed + l + 1);
    store<u32>(changetype<u32>(s) + S_WALKC + l * 4, c);
    ok = c != 0;
  }
  const ste = ok ? smmuAlloc(s, MAX_STREAMS * STE_SIZE) : 0;
  const faults = ste != 0 ? smmuAlloc(s, faultRing * FAULT_SIZE) : 0;
  const pending = faults != 0 ? smmuAlloc(s, PENDING_CMDS * PENDING_CMD_SIZE) : 0;
  if (pending == 0) {
    smmuRelease(s);
    return -ESIM_KHEAP;
  }
  memory.fill(ste, 0, MAX_STREAMS * STE_SIZE);
  s.steTable = changetype<Ste>(ste);
  s.faults = changetype<FaultRecord>(faults);
  s.faultMask = faultRing - 1;
  s.pending = changetype<PendingCmd>(pending);
  s.pendingMask = PENDING_CMDS - 1;
  slotPublish(changetype<u32>(s));
  return id;
}

function smmuRelease(s: SmmuInstance): void {
  const n = s.frameCount;
  const frames = changetype<u32>(s) + offsetof<SmmuInstance>("frames");
  for (let i: u32 = 0; i < n; i++) zoneFree(ZONE_KHEAP, load<u32>(frames + i * 4));
  memory.fill(changetype<u32>(s) + AFTER_STATE, 0, SMMU_DESC_SIZE - AFTER_STATE);
  slotRelease(changetype<u32>(s));
}

export function smmuDestroy(id: u32): bool {
  const s = smmuLive(id);
  if (s == 0) return false;
  // Micro-TLBs and per-stream main TLBs live in their own frames, recorded in their STEs:
  // a stream still attached is detached as any is, which gives them back.
  for (let sid: u32 = 0; sid < MAX_STREAMS; sid++) steClear(s, sid);
  smmuRelease(changetype<SmmuInstance>(s));
  return true;
}

export function setCost(id: u32, which: u32, ns: u32): bool {
  const s = smmuLive(id);
  if (s == 0 || which >= COST_COUNT) return false;
  store<u32>(s + S_COSTS + which * 4, ns);
  return true;
}

/** How many table walks SMMU `id` runs at once (1..MAX_WALKERS): false if no such SMMU or out of range. */
export function setWalkers(id: u32, n: u32): bool {
  const s = smmuLive(id);
  if (s == 0 || n == 0 || n > MAX_WALKERS) return false;
  changetype<SmmuInstance>(s).walkers = n;
  return true;
}

/**
 * Program stream `sid` (CFGI_STE in the driver's terms): stage, ASID/VMID, and the walk
 * geometry from the CD/STE fields (TTB, input size, granule, start level, output size).
 * 0, or -ESIM_NO_SMMU, -ESIM_ARGS (stream beyond MAX_STREAMS), -ESIM_KHEAP (its micro-TLB).
 */
export function steSet(id: u32, sid: u32, domain: u32, stage: u32, asid: u32, vmid: u32, ttb: u64,
                       ias: u32, pgShift: u32, start: u32, oas: u32): i32 {
  const a = smmuLive(id);
  if (a == 0) return -ESIM_NO_SMMU;
  if (sid >= MAX_STREAMS) return -ESIM_ARGS;
  const s = changetype<SmmuInstance>(a);
  const e = steOf(s, sid);
  const valid = changetype<u32>(e) + offsetof<Ste>("valid");
  atomic.store<u32>(valid, 0);
  e.stage = stage;
  e.asid = asid;
  e.vmid = vmid;
  e.ttb = ttb;
  e.ias = ias;
  e.pgShift = pgShift;
  e.start = start;
  e.oas = oas;
  e.domain = domain + 1;
  e.ctxSlot = 0; // its context may have changed: found again at the next translation
  const utlbEntries = s.utlbEntries;
  if (changetype<u32>(e.utlb) == 0 && utlbEntries != 0) {
    const c = streamCache(1, utlbEntries);
    if (c == 0) return -ESIM_KHEAP;
    cacheInit(changetype<CacheHeader>(c), 1, utlbEntries, 1 /* round-robin, as gem5 */, sid + 1);
    cacheUseGenerations(changetype<CacheHeader>(c), s.ctxTable, invalidatedStat(s));
    e.utlb = changetype<CacheHeader>(c);
  }
  if (!perStreamIotlb(s)) e.iotlb = s.iotlb;
  else if (changetype<u32>(e.iotlb) == 0) {
    const c = streamCache(s.tlbSets, s.tlbWays);
    if (c == 0) return -ESIM_KHEAP;
    // Each stream's cache starts from the same seed: which stream it is changes nothing.
    cacheInit(changetype<CacheHeader>(c), s.tlbSets, s.tlbWays, s.tlbPolicy, s.tlbSeed);
    cacheUseGenerations(changetype<CacheHeader>(c), s.ctxTable, invalidatedStat(s));
    e.iotlb = changetype<CacheHeader>(c);
  }
  if (e.utlb || perStreamIotlb(s)) atomic.or<u32>(cachedStreamsWord(s, sid >> 5), 1 << (sid & 31));
  atomic.store<u32>(valid, 1);
  return 0;
}

/** A kheap block for a stream's cache of sets × ways (its own frames, freed by steClear), or 0. */
function streamCache(sets: u32, ways: u32): u32 {
  const frame = zoneAlloc(ZONE_KHEAP, orderForBytes(<u64>cacheBytes(sets, ways)));
  return frame < 0 ? 0 : frameAddr(ZONE_KHEAP, <u32>frame);
}

/**
 * Detach stream `sid`: its caches go with it — no TLBI reaches a detached stream, so nothing
 * may stay in them — and their memory goes back to the kheap (a driver that probes and
 * removes devices on many streams must not run out). Its own main TLB (OPT_IOTLB_PER_STREAM)
 * is emptied first, so that its entries count as invalidated, and its counters are kept in
 * the SMMU's (retiredIotlb). `s`: the SMMU's address.
 */
export function steClear(s: u32, sid: u32): void {
  const smmu = changetype<SmmuInstance>(s);
  const own = detachStream(smmu, sid);
  if (!own) return;
  cacheInvalidate(own, 0, 0, 0, 0, 0, ALL_SHIFTS);
  retireIotlb(smmu, own);
  steOf(smmu, sid).iotlb = null;
  freeFrames(changetype<u32>(own));
}

/** The SMMU's sum of its freed main TLBs' counter at CacheHeader offset `offset` (C_HITS…C_INVALIDATED). */
@inline function retiredCounter(s: SmmuInstance, offset: u32): u32 {
  return changetype<u32>(s) + offsetof<SmmuInstance>("retiredIotlb") + offset - C_HITS;
}

/** Add a main TLB's counters to the SMMU's record of freed ones (iotlbCounterSum reads both). */
function retireIotlb(s: SmmuInstance, c: CacheHeader): void {
  for (let offset = C_HITS; offset <= C_INVALIDATED; offset += 8) {
    atomic.add<u64>(retiredCounter(s, offset), atomic.load<u64>(changetype<u32>(c) + offset));
  }
}

/** Stream `sid` made invalid, out of the TLBIs' reach, its micro-TLB freed: returns its own main TLB, or null. */
function detachStream(s: SmmuInstance, sid: u32): CacheHeader | null {
  const e = steOf(s, sid);
  atomic.store<u32>(changetype<u32>(e) + offsetof<Ste>("valid"), 0);
  atomic.and<u32>(cachedStreamsWord(s, sid >> 5), ~(1 << (sid & 31)));
  const utlb = e.utlb;
  if (utlb) cacheSettle(utlb); // its dead entries counted as the flushes that killed them would have
  freeFrames(changetype<u32>(utlb));
  e.utlb = null;
  return perStreamIotlb(s) ? e.iotlb : null;
}

/** Give back a stream cache's frames (0: none). */
function freeFrames(block: u32): void {
  if (block != 0) zoneFree(ZONE_KHEAP, (block - frameAddr(ZONE_KHEAP, 0)) >> 12);
}

/**
 * Turn on the safety oracle for this SMMU: a shadow of `capacity` IOVA pages. 0, or
 * -ESIM_NO_SMMU, -ESIM_ORACLE_ENABLED, -ESIM_KHEAP.
 */
export function smmuOracleEnable(id: u32, capacity: u32, ring: u32): i32 {
  const a = smmuLive(id);
  if (a == 0) return -ESIM_NO_SMMU;
  const s = changetype<SmmuInstance>(a);
  if (changetype<u32>(s.oracle) != 0) return -ESIM_ORACLE_ENABLED;
  const o = smmuAlloc(s, oracleBytes(capacity, ring));
  if (o == 0) return -ESIM_KHEAP;
  memory.fill(o, 0, oracleBytes(capacity, ring));
  oracleInit(changetype<OracleHeader>(o), capacity, ring);
  atomic.store<u32>(a + S_ORACLE, o);
  return 0;
}

/** Record a fault in the event queue (a ring: the oldest records are overwritten). */
export function recordFault(s: SmmuInstance, type: u32, sid: u32, iova: u64, level: u32, info: u64): void {
  stat(s, STAT_FAULTS, 1);
  const seq = atomic.add<u32>(changetype<u32>(s) + S_FAULT_HEAD, 1);
  const r = changetype<FaultRecord>(changetype<u32>(s.faults) + (seq & s.faultMask) * FAULT_SIZE);
  const done = changetype<u32>(r) + offsetof<FaultRecord>("seq");
  atomic.store<u32>(done, 0);
  r.type = type;
  r.iova = iova;
  r.sid = sid;
  r.level = level;
  r.info = info;
  atomic.store<u32>(done, seq + 1);
}
