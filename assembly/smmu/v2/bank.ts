// An Arm SMMU v1/v2 (MMU-400/401/500), the device side: stream matching (SMR → S2CR →
// context bank, or bypass, or fault), context banks with their registers, and what each
// TLB-maintenance register does to the translation caches, which it shares with the SMMUv3
// model (cache.ts: IOTLB, walk caches, micro-TLBs). The arm-smmu.c driver that writes these
// registers is smmu/v2/driver.ts. Register semantics follow the Arm SMMU architecture
// (SMMUv2, IHI 0062) where the reference (bug-corpus.md #1, #17) is silent; see regs.ts.
//
// A context bank's walk context (stage, ASID/VMID, table base and geometry) is kept in the
// stream-table slot of the same index (smmu.ts Ste): on an SMMU v1/v2 those slots hold
// context banks, not streams, so the walk, the micro-TLBs (one per bank here: the TBU's,
// shared by the streams that match into it) and every invalidation reach them unchanged.
//
// Invalidations take effect when the SMMU performs the register write, or — with
// OPT_INVALIDATE_AT_SYNC, the conservative model — only when a later sync of the same
// scope completes: a context bank's TLBSYNC completes what was written to that bank, the
// global sTLBGSYNC what was written to the global registers (the architecture's scopes).

import {
  CBAR_TYPE_LO, CBAR_TYPE_S1_TRANS_S2_BYPASS, CBAR_TYPE_S2_TRANS, CBAR_VMID_MASK, FSR_AFF, FSR_EF, FSR_PF, FSR_TF,
  S2CR_CBNDX_MASK, S2CR_TYPE_BYPASS, S2CR_TYPE_FAULT, S2CR_TYPE_LO, S2CR_TYPE_TRANS, SCTLR_AFE, SCTLR_CFIE, SCTLR_CFRE,
  SCTLR_M, SCTLR_TRE, SMR_ID_MASK, SMR_MASK_LO, SMR_VALID, V2_ASID_LO, V2_FAULT_CONFLICT, V2_FAULT_S2CR,
  V2_FAULT_UNMATCHED, V2_IPA_BITS, V2_NUM_CBS, V2_NUM_SMRS, V2_REG_KINDS, V2_VA_BITS, V2R_STLBGSYNC, V2R_TLBIALL,
  V2R_TLBIALLNSNH, V2R_TLBIASID, V2R_TLBIIPAS2, V2R_TLBIIPAS2L, V2R_TLBIVA, V2R_TLBIVAA, V2R_TLBIVAAL, V2R_TLBIVAL,
  V2R_TLBIVMID, V2R_TLBSYNC, v2RegGlobal, v2RegWord, v2WordCb, v2WordKind,
} from "./regs";
import {
  F_ACCESS, F_PERMISSION, F_WALK_EABT, OPT_FAULT_DROP_TLBI, OPT_INVALIDATE_AT_SYNC, PENDING_CMD_SIZE,
  PendingCmd, SMMU_MODEL_V3, STAT_SYNCS, STAT_TLBI_ALL, STAT_TLBI_CONTEXT, STAT_TLBI_VA, SmmuInstance, smmuAddr,
  smmuAlloc, smmuCreate, smmuDestroy, stat,
} from "../smmu";
import { ESIM_KHEAP } from "../../errno";
import { INV_LEAF_ONLY, INV_MATCH_ASID, INV_MATCH_VMID, INV_RANGE, makeCtx } from "../cache";
import { invalidateAll } from "../consume";
import { counterAdd } from "../../counters";
import { lockAcquire, lockRelease } from "../../sync";

/** One context bank's registers (SMMU_CBARn in GR1, the rest in the CBn page). */
@unmanaged export class ContextBank {
  /** SMMU_CBARn: TYPE, VMID. */
  cbar: u32;
  /** SMMU_CBn_SCTLR. */
  sctlr: u32;
  /** SMMU_CBn_TCR (TTBCR): the table geometry, as io-pgtable computed it. */
  tcr: u32;
  /** SMMU_CBn_S1_MAIR0 (stage 1). */
  mair0: u32;
  /** SMMU_CBn_TTBR0: the table base, and (stage 1, AArch64 format) the ASID in [63:48]. */
  ttbr0: u64;
  /** SMMU_CBn_FAR: the address of the last context fault. */
  far: u64;
  /** SMMU_CBn_FSR: the fault status bits (FSR_*), set by context faults. */
  fsr: u32;
  /** SMMU_CBn_TLBSTATUS.SACTIVE: 1 from a TLBSYNC write until that sync completes. */
  tlbStatus: u32;
  /** The SMMU domain this bank serves: id + 1 (0 = free). */
  domain: u32;
}

const CB_SIZE: u32 = 48;
if (offsetof<ContextBank>() > CB_SIZE) ERROR("ContextBank outgrew CB_SIZE");

/** The SMMU v1/v2's own state, one kheap block (SmmuInstance.v2). */
@unmanaged export class V2State {
  /** 1 or 2: the architecture version (smmu.ts SMMU_MODEL_V1 / _V2). */
  version: u32;
  /** SMRs that may be valid: one more than the highest index ever made valid. */
  smrCount: u32;
  /** SMMU_sTLBGSTATUS.GSACTIVE: 1 from an sTLBGSYNC write until that sync completes. */
  gsActive: u32;
  _pad0: u32;
  /** Register operations by kind (V2R_*): writes, or reads for the status registers (u64, counterAdd). */
  regStats: u64;
}

/** Where the arrays start, after the header (with room for the counters). */
const HEADER: u32 = 256;
if (offsetof<V2State>("regStats") + V2_REG_KINDS * 8 > HEADER) ERROR("V2State outgrew its header");
const SMRS: u32 = HEADER;
const S2CRS: u32 = SMRS + V2_NUM_SMRS * 4;
const CBS: u32 = S2CRS + V2_NUM_SMRS * 4;
/** Bytes an SMMU v1/v2 needs for its registers (smmu.ts allocates them). */
export const V2_STATE_BYTES: u32 = CBS + V2_NUM_CBS * CB_SIZE;

// Read by the TypeScript side (src/smmu/smmu.ts): the block's layout.
export const V2S_VERSION: u32 = offsetof<V2State>("version");
export const V2S_GS_ACTIVE: u32 = offsetof<V2State>("gsActive");
export const V2S_REG_STATS: u32 = offsetof<V2State>("regStats");
export const V2S_SMRS: u32 = SMRS;
export const V2S_S2CRS: u32 = S2CRS;
export const V2S_CBS: u32 = CBS;
export const V2_CB_SIZE: u32 = CB_SIZE;
export const CB_CBAR: u32 = offsetof<ContextBank>("cbar");
export const CB_SCTLR: u32 = offsetof<ContextBank>("sctlr");
export const CB_TCR: u32 = offsetof<ContextBank>("tcr");
export const CB_MAIR0: u32 = offsetof<ContextBank>("mair0");
export const CB_TTBR0: u32 = offsetof<ContextBank>("ttbr0");
export const CB_FAR: u32 = offsetof<ContextBank>("far");
export const CB_FSR: u32 = offsetof<ContextBank>("fsr");
export const CB_TLBSTATUS: u32 = offsetof<ContextBank>("tlbStatus");
export const CB_DOMAIN: u32 = offsetof<ContextBank>("domain");

@inline function v2Of(s: SmmuInstance): V2State {
  return changetype<V2State>(s.v2);
}

@inline function smrAddr(v: V2State, i: u32): u32 {
  return changetype<u32>(v) + SMRS + i * 4;
}

@inline function s2crAddr(v: V2State, i: u32): u32 {
  return changetype<u32>(v) + S2CRS + i * 4;
}

/** Context bank `cb` of the SMMU v1/v2 whose state is `v`. */
@inline export function bankOf(v: V2State, cb: u32): ContextBank {
  return changetype<ContextBank>(changetype<u32>(v) + CBS + cb * CB_SIZE);
}

/**
 * Create an SMMU of model `model` (smmu.ts smmuCreate's arguments): an SMMU v1/v2 also gets
 * its registers. Its id, or a negative errno.
 */
export function smmuCreateModel(options: u32, tlbSets: u32, tlbWays: u32, policy: u32, seed: u32, wc0: u32, wc1: u32,
                                wc2: u32, wc3: u32, utlbEntries: u32, faultRing: u32, model: u32): i32 {
  const id = smmuCreate(options, tlbSets, tlbWays, policy, seed, wc0, wc1, wc2, wc3, utlbEntries, faultRing, model);
  if (id < 0 || model == SMMU_MODEL_V3) return id;
  const s = changetype<SmmuInstance>(smmuAddr(<u32>id));
  const block = smmuAlloc(s, V2_STATE_BYTES);
  if (block == 0) {
    smmuDestroy(<u32>id);
    return -ESIM_KHEAP;
  }
  v2Init(block, model);
  atomic.store<u32>(changetype<u32>(s) + offsetof<SmmuInstance>("v2"), block);
  return id;
}

/** A fresh block: every SMR invalid, every S2CR fault (the driver's disable_bypass default), every bank free. */
export function v2Init(block: u32, version: u32): void {
  memory.fill(block, 0, V2_STATE_BYTES);
  const v = changetype<V2State>(block);
  v.version = version;
  for (let i: u32 = 0; i < V2_NUM_SMRS; i++) store<u32>(s2crAddr(v, i), S2CR_TYPE_FAULT << S2CR_TYPE_LO);
}

/** Count one register operation of kind `kind` (`n` of them). */
@inline function regStat(v: V2State, kind: u32, n: u64): void {
  counterAdd(changetype<u32>(v) + V2S_REG_STATS + kind * 8, n);
}

/** Count reads of a status register (the driver's polls). */
export function v2CountPolls(s: SmmuInstance, kind: u32, n: u64): void {
  regStat(v2Of(s), kind, n);
}

// ── stream matching ──────────────────────────────────────────────────────────

// What v2StreamMatch returns: a context bank's index, or one of these.
export const MATCH_BYPASS: i32 = -1;
/** A stream fault: -(MATCH_FAULT + V2_FAULT_*). */
export const MATCH_FAULT: i32 = 16;

/**
 * Stream `sid` through the SMRs and S2CRs: the context bank it translates in, MATCH_BYPASS,
 * or -(MATCH_FAULT + V2_FAULT_*) — no valid SMR matched, the S2CR says fault, or two SMRs
 * matched. An SMR matches when the ID bits its MASK does not ignore are equal.
 */
export function v2StreamMatch(s: SmmuInstance, sid: u32): i32 {
  const v = v2Of(s);
  const n = atomic.load<u32>(changetype<u32>(v) + offsetof<V2State>("smrCount"));
  let found: i32 = -1;
  for (let i: u32 = 0; i < n; i++) {
    const smr = atomic.load<u32>(smrAddr(v, i));
    if ((smr & SMR_VALID) == 0) continue;
    const mask = (smr >> SMR_MASK_LO) & SMR_ID_MASK;
    if (((sid ^ smr) & SMR_ID_MASK & ~mask) != 0) continue;
    if (found >= 0) return -(MATCH_FAULT + <i32>V2_FAULT_CONFLICT);
    found = <i32>i;
  }
  if (found < 0) return -(MATCH_FAULT + <i32>V2_FAULT_UNMATCHED);
  const s2cr = atomic.load<u32>(s2crAddr(v, <u32>found));
  const type = (s2cr >> S2CR_TYPE_LO) & 3;
  if (type == S2CR_TYPE_BYPASS) return MATCH_BYPASS;
  if (type != S2CR_TYPE_TRANS) return -(MATCH_FAULT + <i32>V2_FAULT_S2CR);
  const cb = s2cr & S2CR_CBNDX_MASK;
  // A bank with translation off passes the stream through (SCTLR.M clear).
  if ((atomic.load<u32>(changetype<u32>(bankOf(v, cb)) + offsetof<ContextBank>("sctlr")) & SCTLR_M) == 0) return MATCH_BYPASS;
  return <i32>cb;
}

/** Program SMR `i` and its S2CR as given (a driver's or a test's raw write). */
export function v2WriteStreamMatch(s: SmmuInstance, i: u32, smr: u32, s2cr: u32): void {
  const v = v2Of(s);
  // S2CR first, SMR last: a stream never matches an SMR whose S2CR is not yet written.
  atomic.store<u32>(s2crAddr(v, i), s2cr);
  atomic.store<u32>(smrAddr(v, i), smr);
  const count = changetype<u32>(v) + offsetof<V2State>("smrCount");
  if ((smr & SMR_VALID) != 0 && i + 1 > atomic.load<u32>(count)) atomic.store<u32>(count, i + 1);
}

/**
 * The driver's stream mapping for one stream ID (arm_smmu_master_alloc_smes): an exact SMR
 * (mask 0) steering it to bank `cb`. Reuses the stream's SMR if it has one. Its index, or
 * -1 when every SMR is in use.
 */
export function v2MapStream(s: SmmuInstance, sid: u32, cb: u32): i32 {
  const v = v2Of(s);
  const want = SMR_VALID | (sid & SMR_ID_MASK);
  let free: i32 = -1;
  for (let i: u32 = 0; i < V2_NUM_SMRS; i++) {
    const smr = load<u32>(smrAddr(v, i));
    if (smr == want) { free = <i32>i; break; }
    if ((smr & SMR_VALID) == 0 && free < 0) free = <i32>i;
  }
  if (free < 0) return -1;
  v2WriteStreamMatch(s, <u32>free, want, (S2CR_TYPE_TRANS << S2CR_TYPE_LO) | (cb & S2CR_CBNDX_MASK));
  return free;
}

/** The stream leaves: its SMR goes invalid and its S2CR back to fault. */
export function v2UnmapStream(s: SmmuInstance, sid: u32): void {
  const v = v2Of(s);
  const want = SMR_VALID | (sid & SMR_ID_MASK);
  for (let i: u32 = 0; i < V2_NUM_SMRS; i++) {
    if (load<u32>(smrAddr(v, i)) != want) continue;
    atomic.store<u32>(smrAddr(v, i), 0);
    atomic.store<u32>(s2crAddr(v, i), S2CR_TYPE_FAULT << S2CR_TYPE_LO);
  }
}

// ── context banks ───────────────────────────────────────────────────────────

/**
 * The bank SMMU domain `domain` (its id) uses on this SMMU, claimed and programmed on its
 * first attach (arm_smmu_init_domain_context, arm_smmu_write_context_bank): CBAR (type,
 * VMID for stage 2), TTBR0 (with the ASID at stage 1), TCR, MAIR0, then SCTLR with M set.
 * Its index, or -1 when every bank is in use.
 */
export function v2BankFor(s: SmmuInstance, domain: u32, stage: u32, asid: u32, vmid: u32, ttbr: u64, tcr: u32,
                          mair: u32): i32 {
  const v = v2Of(s);
  let free: i32 = -1;
  for (let i: u32 = 0; i < V2_NUM_CBS; i++) {
    const b = bankOf(v, i);
    if (b.domain == domain + 1) return <i32>i;
    if (b.domain == 0 && free < 0) free = <i32>i;
  }
  if (free < 0) return -1;
  const b = bankOf(v, <u32>free);
  b.domain = domain + 1;
  b.cbar = stage == 1 ? CBAR_TYPE_S1_TRANS_S2_BYPASS << CBAR_TYPE_LO
                      : (CBAR_TYPE_S2_TRANS << CBAR_TYPE_LO) | (vmid & CBAR_VMID_MASK);
  b.ttbr0 = stage == 1 ? ttbr | (<u64>asid << V2_ASID_LO) : ttbr;
  b.tcr = tcr;
  b.mair0 = stage == 1 ? mair : 0;
  b.fsr = 0;
  b.far = 0;
  b.tlbStatus = 0;
  atomic.store<u32>(changetype<u32>(b) + offsetof<ContextBank>("sctlr"),
                    SCTLR_M | SCTLR_TRE | SCTLR_AFE | SCTLR_CFRE | SCTLR_CFIE);
  return free;
}

/** Bank `cb` goes back to the free ones, translation off, if SMMU domain `domain` (its id) held it. */
export function v2ReleaseBank(s: SmmuInstance, cb: u32, domain: u32): void {
  const b = bankOf(v2Of(s), cb);
  if (b.domain != domain + 1) return;
  atomic.store<u32>(changetype<u32>(b) + offsetof<ContextBank>("sctlr"), 0);
  b.domain = 0;
}

/** A context fault in bank `cb`: FSR gets its bit, FAR the address (a device fault of `type`). */
export function v2ContextFault(s: SmmuInstance, cb: u32, type: u32, iova: u64): void {
  const b = bankOf(v2Of(s), cb);
  const bit = type == F_PERMISSION ? FSR_PF : type == F_ACCESS ? FSR_AFF : type == F_WALK_EABT ? FSR_EF : FSR_TF;
  atomic.or<u32>(changetype<u32>(b) + offsetof<ContextBank>("fsr"), bit);
  b.far = iova;
}

// ── TLB maintenance: the registers' effect ──────────────────────────────────

@inline function cmdqLock(s: SmmuInstance): u32 {
  return changetype<u32>(s) + offsetof<SmmuInstance>("cmdqLock");
}

/**
 * The SMMU receives `count` writes of register `kind` (of bank `cb` unless global), the
 * value advancing by 2^stepShift after each (a driver's per-granule loop). Counted; an
 * invalidation takes effect now, or at the next sync of its scope (OPT_INVALIDATE_AT_SYNC);
 * a sync completes what its scope has waiting.
 */
export function v2RegWrite(s: SmmuInstance, kind: u32, cb: u32, value: u64, count: u64, stepShift: u32): void {
  const v = v2Of(s);
  regStat(v, kind, count);
  if (kind == V2R_TLBSYNC || kind == V2R_STLBGSYNC) {
    stat(s, STAT_SYNCS, 1);
    syncBegin(v, kind, cb);
    if ((s.options & OPT_INVALIDATE_AT_SYNC) != 0) drainScope(s, kind == V2R_STLBGSYNC, cb);
    syncEnd(v, kind, cb);
    return;
  }
  if ((s.options & OPT_INVALIDATE_AT_SYNC) == 0) {
    applyRun(s, kind, cb, value, count, stepShift);
    return;
  }
  lockAcquire(cmdqLock(s));
  let n = s.pendingCount;
  if (n > s.pendingMask) {
    // Nowhere left to hold them: the SMMU has to make progress; apply what is waiting.
    drainLocked(s, true, 0, true);
    n = s.pendingCount;
  }
  const rec = changetype<PendingCmd>(changetype<u32>(s.pending) + n * PENDING_CMD_SIZE);
  rec.dw0 = v2RegWord(kind, cb);
  rec.dw1 = value;
  rec.run = count | (<u64>stepShift << 32);
  s.pendingCount = n + 1;
  lockRelease(cmdqLock(s));
}

/** TLBSTATUS.SACTIVE / sTLBGSTATUS.GSACTIVE go up with the sync's write… */
function syncBegin(v: V2State, kind: u32, cb: u32): void {
  if (kind == V2R_STLBGSYNC) atomic.store<u32>(changetype<u32>(v) + offsetof<V2State>("gsActive"), 1);
  else atomic.store<u32>(changetype<u32>(bankOf(v, cb)) + offsetof<ContextBank>("tlbStatus"), 1);
}

/** …and down when it completes (in this model, once what it covers has taken effect). */
function syncEnd(v: V2State, kind: u32, cb: u32): void {
  if (kind == V2R_STLBGSYNC) atomic.store<u32>(changetype<u32>(v) + offsetof<V2State>("gsActive"), 0);
  else atomic.store<u32>(changetype<u32>(bankOf(v, cb)) + offsetof<ContextBank>("tlbStatus"), 0);
}

function drainScope(s: SmmuInstance, global: bool, cb: u32): void {
  lockAcquire(cmdqLock(s));
  drainLocked(s, global, cb, false);
  lockRelease(cmdqLock(s));
}

/**
 * Apply the waiting writes of one scope (the global registers, or bank `cb`'s; `all`:
 * every one), keeping the others in order.
 */
function drainLocked(s: SmmuInstance, global: bool, cb: u32, all: bool): void {
  const n = s.pendingCount;
  const base = changetype<u32>(s.pending);
  let kept: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const rec = changetype<PendingCmd>(base + i * PENDING_CMD_SIZE);
    const kind = v2WordKind(rec.dw0);
    const rcb = v2WordCb(rec.dw0);
    const mine = all || (global ? v2RegGlobal(kind) : !v2RegGlobal(kind) && rcb == cb);
    if (mine) {
      const run = rec.run;
      applyRun(s, kind, rcb, rec.dw1, run & 0xffffffff, <u32>(run >> 32));
      continue;
    }
    if (kept != i) memory.copy(base + kept * PENDING_CMD_SIZE, base + i * PENDING_CMD_SIZE, PENDING_CMD_SIZE);
    kept++;
  }
  s.pendingCount = kept;
}

function applyRun(s: SmmuInstance, kind: u32, cb: u32, value: u64, count: u64, stepShift: u32): void {
  if ((s.options & OPT_FAULT_DROP_TLBI) != 0) return;
  for (let i: u64 = 0; i < count; i++) applyOne(s, kind, cb, value + (i << <u64>stepShift));
}

/** The bank's VMID as its cache entries carry it (stage 1 banks: 0, as the driver leaves CBAR.VMID). */
@inline function bankVmid(b: ContextBank): u32 {
  return ((b.cbar >> CBAR_TYPE_LO) & 3) == CBAR_TYPE_S2_TRANS ? b.cbar & CBAR_VMID_MASK : 0;
}

/** One register write's effect on the IOTLB, the micro-TLBs and (unless leaf-only) the walk caches. */
function applyOne(s: SmmuInstance, kind: u32, cb: u32, value: u64): void {
  const b = bankOf(v2Of(s), cb);
  const vmid = kind == V2R_TLBIVMID ? <u32>(value & 0xffff) : bankVmid(b);
  const asid = <u32>(value >> V2_ASID_LO) & 0xffff;
  const va = (value & ((<u64>1 << V2_VA_BITS) - 1)) << 12;
  const ipa = (value & ((<u64>1 << V2_IPA_BITS) - 1)) << 12;
  switch (kind) {
    case V2R_TLBIVA: case V2R_TLBIVAL: {
      stat(s, STAT_TLBI_VA, 1);
      const leaf = kind == V2R_TLBIVAL;
      invalidateAll(s, INV_RANGE | INV_MATCH_ASID | INV_MATCH_VMID | (leaf ? INV_LEAF_ONLY : 0), makeCtx(asid, vmid),
                    va, va + 1, 0, !leaf);
      break;
    }
    case V2R_TLBIVAA: case V2R_TLBIVAAL: {
      stat(s, STAT_TLBI_VA, 1);
      const leaf = kind == V2R_TLBIVAAL;
      invalidateAll(s, INV_RANGE | INV_MATCH_VMID | (leaf ? INV_LEAF_ONLY : 0), makeCtx(0, vmid), va, va + 1, 0, !leaf);
      break;
    }
    case V2R_TLBIIPAS2: case V2R_TLBIIPAS2L: {
      stat(s, STAT_TLBI_VA, 1);
      const leaf = kind == V2R_TLBIIPAS2L;
      invalidateAll(s, INV_RANGE | INV_MATCH_VMID | (leaf ? INV_LEAF_ONLY : 0), makeCtx(0, vmid), ipa, ipa + 1, 0, !leaf);
      break;
    }
    case V2R_TLBIASID:
      stat(s, STAT_TLBI_CONTEXT, 1);
      invalidateAll(s, INV_MATCH_ASID | INV_MATCH_VMID, makeCtx(<u32>(value & 0xffff), vmid), 0, 0, 0, true);
      break;
    case V2R_TLBIALL: {
      // The bank's own context: its ASID (from TTBR0) at stage 1, its VMID at stage 2.
      stat(s, STAT_TLBI_CONTEXT, 1);
      const s2 = ((b.cbar >> CBAR_TYPE_LO) & 3) == CBAR_TYPE_S2_TRANS;
      const own = <u32>(b.ttbr0 >> V2_ASID_LO) & 0xffff;
      invalidateAll(s, s2 ? INV_MATCH_VMID : INV_MATCH_ASID | INV_MATCH_VMID, makeCtx(s2 ? 0 : own, vmid), 0, 0, 0, true);
      break;
    }
    case V2R_TLBIVMID:
      stat(s, STAT_TLBI_CONTEXT, 1);
      invalidateAll(s, INV_MATCH_VMID, makeCtx(0, vmid), 0, 0, 0, true);
      break;
    case V2R_TLBIALLNSNH:
      stat(s, STAT_TLBI_ALL, 1);
      invalidateAll(s, 0, 0, 0, 0, 0, true);
      break;
    default:
      break;
  }
}

/** A valid bank index of this SMMU (for the raw register interface). */
@inline export function v2BankValid(cb: u32): bool {
  return cb < V2_NUM_CBS;
}
