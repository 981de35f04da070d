// A device access through the SMMU (the translation path of an SMMUv3 TBU/TCU): the
// stream's micro-TLB, the IOTLB (the SMMU's, or the stream's own main TLB), then a table
// walk; permissions checked against the leaf; a failure recorded in the fault queue. On an
// SMMU v1/v2 the stream is first matched to its context bank (smmu/v2/bank.ts), whose walk
// context sits in the stream-table slot of the bank's index, and a context fault also sets
// the bank's FSR and FAR. What the access reached is returned to the caller.

import {
  CacheHeader, CacheHit, cacheFillLock, cacheFillLocked, cacheFillUnlock, cacheLookup, cacheStillHolds, makeCtx, metaShift, META_READ,
  META_UNPRIV, META_WRITE,
} from "./cache";
import {
  COST_IOTLB_HIT, COST_IOTLB_MISS, COST_UTLB_HIT, F_BAD_STREAM, F_PERMISSION, MAX_STREAMS, SmmuInstance, Ste,
  SMMU_MODEL_V3, STAT_IOTLB_HITS, STAT_IOTLB_MISSES, STAT_MODELLED_NS, STAT_TRANSLATIONS, STAT_UTLB_HITS, cost,
  ctxTableOf, recordFault, stat, steOf,
} from "./smmu";
import { leafShifts, walk } from "./walk";
import { AccessResult, HIT_BYPASS, HIT_IOTLB, HIT_UTLB, HIT_WALK } from "./access";
import { MATCH_BYPASS, MATCH_FAULT, v2ContextFault, v2StreamMatch } from "./v2/bank";
import { flushGenAddr, smmuDomainAt } from "./domain";
import { AC_UNCHECKED, OracleHeader, oracleCheck, oracleSnapshot } from "../safety/oracle";
import { slotBase } from "../sync";
import { ctxStamp } from "./context-gen";
import { TS_ACCESS_RESULT, TS_CPU_NS, TS_ORACLE_BEFORE, TS_ORACLE_NOW, TS_RESULT0 } from "../memmap";
import { jiffiesNow } from "../clock";
import { counterAdd } from "../counters";

export const ACCESS_WRITE: u32 = 1 << 0;
export const ACCESS_PRIV: u32 = 1 << 1;

/**
 * Translate one access by SMMU `a` (its address) into `result` (an AccessResult).
 * Returns 0 or the fault type (also recorded in the SMMU's fault queue).
 */
export function smmuTranslate(a: u32, sid: u32, iova: u64, access: u32, result: u32): u32 {
  const s = changetype<SmmuInstance>(a);
  const res = changetype<AccessResult>(result);
  const hit = changetype<CacheHit>(result);
  stat(s, STAT_TRANSLATIONS, 1);
  // SMMUv3: the stream table's entry; SMMU v1/v2: the context bank the stream matches into.
  let slot = sid;
  if (s.model != SMMU_MODEL_V3) {
    const m = v2StreamMatch(s, sid);
    if (m == MATCH_BYPASS) return bypass(res, iova);
    // Which stream fault (smmu/v2/regs.ts V2_FAULT_*), for the queue and the caller.
    if (m < 0) return raise(s, res, F_BAD_STREAM, sid, iova, 0, <u64>(-m - MATCH_FAULT));
    slot = <u32>m;
  }
  if (slot >= MAX_STREAMS || atomic.load<u32>(changetype<u32>(steOf(s, slot)) + offsetof<Ste>("valid")) == 0) {
    return raise(s, res, F_BAD_STREAM, sid, iova, 0, 0);
  }
  const ste = steOf(s, slot);
  counterAdd(changetype<u32>(ste) + offsetof<Ste>("accesses"), 1);
  const ctx = makeCtx(ste.asid, ste.vmid);
  const stamp = steStamp(s, ste, ctx); // before anything is read that could be cached: see context-gen.ts
  const shifts = leafShifts(ste.pgShift);
  const utlb = ste.utlb;
  const iotlb = changetype<CacheHeader>(ste.iotlb); // set by steSet before the stream was valid
  const o = s.oracle;
  if (o) oracleSnapshot(o, ctx, iova >> 12, flushGenOf(ste), slotBase() + TS_ORACLE_BEFORE);

  let where = HIT_WALK;
  if (utlb && cacheLookup(utlb, iova, ctx, shifts, hit)) {
    where = HIT_UTLB;
    stat(s, STAT_UTLB_HITS, 1);
    stat(s, STAT_MODELLED_NS, cost(s, COST_UTLB_HIT));
  } else if (cacheLookup(iotlb, iova, ctx, shifts, hit)) {
    where = HIT_IOTLB;
    stat(s, STAT_IOTLB_HITS, 1);
    stat(s, STAT_MODELLED_NS, cost(s, COST_IOTLB_HIT));
    if (utlb) copyToMicroTlb(iotlb, utlb, iova, ctx, stamp, shifts, res);
  } else {
    stat(s, STAT_IOTLB_MISSES, 1);
    stat(s, STAT_MODELLED_NS, cost(s, COST_IOTLB_MISS));
    const fault = walk(s, ste, sid, iova, ctx, stamp, iotlb, utlb, res);
    if (fault != 0) {
      if (s.model != SMMU_MODEL_V3) v2ContextFault(s, slot, fault, iova);
      return raise(s, res, fault, sid, iova, res.faultLevel, res.faultInfo); // as the walk left them
    }
  }
  res.hit = where;

  const meta = res.meta;
  const need = (access & ACCESS_WRITE) != 0 ? META_WRITE : META_READ;
  if ((meta & need) == 0 || ((access & ACCESS_PRIV) == 0 && (meta & META_UNPRIV) == 0)) {
    if (s.model != SMMU_MODEL_V3) v2ContextFault(s, slot, F_PERMISSION, iova);
    return raise(s, res, F_PERMISSION, sid, iova, (meta >> 16) & 3, 0); // the level of the leaf that refused
  }
  // The entry maps the whole block: its base (output bits below the block size are RES0
  // and read as zero) plus the offset of this address inside it.
  const size = <u64>1 << metaShift(meta);
  const pa = (res.pa & ~(size - 1)) | (iova & (size - 1));
  res.pa = pa;
  if (o) res.oracleClass = checkAccess(o, ste, sid, ctx, iova, pa);
  return 0;
}

/**
 * Fault `type` at `level` with `info`: told to the caller in `res` and recorded in the
 * fault queue, the same values in both (the result otherwise keeps a previous access's).
 */
function raise(s: SmmuInstance, res: AccessResult, type: u32, sid: u32, iova: u64, level: u32, info: u64): u32 {
  res.faultLevel = level;
  res.faultInfo = info;
  recordFault(s, type, sid, iova, level, info);
  return type;
}

/**
 * An SMMU v1/v2 stream that bypasses translation (S2CR type bypass, or a bank with SCTLR.M
 * clear): the address goes out as it came, unchecked by the oracle (no DMA domain's view).
 */
function bypass(res: AccessResult, iova: u64): u32 {
  res.meta = META_READ | META_WRITE | META_UNPRIV | (12 << 8);
  res.pa = iova;
  res.hit = HIT_BYPASS;
  res.oracleClass = AC_UNCHECKED;
  return 0;
}

/** Ask the oracle about an access that got through: was that page the DMA API's to reach? */
function checkAccess(o: OracleHeader, ste: Ste, sid: u32, ctx: u32, iova: u64, pa: u64): u32 {
  const slot = slotBase();
  return oracleCheck(o, ctx, sid, iova >> 12, pa >> 12, flushGenOf(ste), jiffiesNow(),
                     slot + TS_ORACLE_NOW, slot + TS_ORACLE_BEFORE);
}

/** Flushes of the stream's domain completed so far (closes the oracle's lazy windows). */
@inline function flushGenOf(ste: Ste): u32 {
  const dom = ste.domain;
  return dom == 0 ? 0 : atomic.load<u32>(flushGenAddr(smmuDomainAt(dom - 1)));
}

/** The stamp of the stream's context now (context-gen.ts), remembering its slot in the STE. */
function steStamp(s: SmmuInstance, ste: Ste, ctx: u32): u32 {
  const table = ctxTableOf(s);
  if (table == 0) return 0;
  const hint = ste.ctxSlot;
  const stamp = ctxStamp(table, ctx, hint);
  if ((stamp & 0xff) != hint) ste.ctxSlot = stamp & 0xff;
  return stamp;
}

/**
 * Copy the IOTLB entry this access hit (in `iotlb`, the stream's) into the stream's
 * micro-TLB — if, with the micro-TLB locked, the IOTLB still holds it (cache.ts: no fill
 * outlives a racing TLBI). The access goes on with what it found either way.
 */
function copyToMicroTlb(iotlb: CacheHeader, utlb: CacheHeader, iova: u64, ctx: u32, stamp: u32, shifts: u64,
                        res: AccessResult): void {
  const meta = res.meta;
  const pa = res.pa;
  const line = cacheFillLock(utlb, iova, metaShift(meta), ctx);
  // The second look writes its find where the first did (res): put back what the access found.
  const held = cacheStillHolds(iotlb, iova, ctx, shifts, meta, pa, changetype<CacheHit>(res));
  res.meta = meta;
  res.pa = pa;
  if (held) cacheFillLocked(utlb, line, iova, ctx, stamp, meta, pa);
  else cacheFillUnlock(line);
}
