// A device access through the SMMU (the translation path of an SMMUv3 TBU/TCU): the
// stream's micro-TLB, the IOTLB, then a table walk; permissions checked against the leaf;
// a failure recorded in the fault queue. What the access reached is returned to the caller.

import {
  cacheFillSince, cacheLookup, makeCtx, metaShift, META_READ, META_UNPRIV, META_WRITE,
} from "./cache";
import {
  COST_IOTLB_HIT, COST_IOTLB_MISS, COST_UTLB_HIT, F_BAD_STREAM, F_PERMISSION, MAX_STREAMS,
  S_INV_EPOCH, S_INV_ENDED, S_IOTLB, STAT_IOTLB_HITS, STAT_IOTLB_MISSES, STAT_MODELLED_NS, STAT_TRANSLATIONS,
  STAT_UTLB_HITS, STE_ACCESSES, STE_ASID, STE_PG_SHIFT, STE_UTLB, STE_VALID, STE_VMID, cost,
  recordFault, stat, steAddr,
} from "./smmu";
import { leafShifts, walk } from "./walk";
import { S_ORACLE, STE_DOMAIN } from "./smmu";
import { SD_FLUSH_GEN, smmuDomainAddr } from "./domain";
import { oracleCheck, oracleSnapshot } from "../safety/oracle";
import { slotBase } from "../sync";
import { TS_ORACLE_BEFORE, TS_ORACLE_NOW } from "../memmap";
import { jiffiesNow } from "../clock";
import { counterAdd } from "../counters";

export const ACCESS_WRITE: u32 = 1 << 0;
export const ACCESS_PRIV: u32 = 1 << 1;

// Where the translation of an access was found (returned in the result's +24).
export const HIT_UTLB: u32 = 1;
export const HIT_IOTLB: u32 = 2;
export const HIT_WALK: u32 = 3;

/**
 * Translate one access. `result` (32 bytes of the caller's slot) receives: +0 meta,
 * +4 fault level, +8 physical address, +16 fault info, +24 where it hit, +28 the oracle's
 * class of the access (AC_*, when the SMMU has an oracle).
 * Returns 0 or the fault type (also recorded in the SMMU's fault queue).
 */
export function smmuTranslate(s: u32, sid: u32, iova: u64, access: u32, result: u32): u32 {
  stat(s, STAT_TRANSLATIONS, 1);
  // Before any lookup (S_INV_EPOCH): if an invalidation is in progress, nothing this
  // translation finds may be cached; else only while no invalidation begins meanwhile.
  const epoch = atomic.load<u32>(s + S_INV_EPOCH);
  const mayFill = atomic.load<u32>(s + S_INV_ENDED) == epoch;
  if (sid >= MAX_STREAMS || atomic.load<u32>(steAddr(s, sid) + STE_VALID) == 0) {
    recordFault(s, F_BAD_STREAM, sid, iova, 0, 0);
    return F_BAD_STREAM;
  }
  const ste = steAddr(s, sid);
  counterAdd(ste + STE_ACCESSES, 1);
  const ctx = makeCtx(load<u32>(ste + STE_ASID), load<u32>(ste + STE_VMID));
  const shifts = leafShifts(load<u32>(ste + STE_PG_SHIFT));
  const utlb = load<u32>(ste + STE_UTLB);
  const o = load<u32>(s + S_ORACLE);
  if (o != 0) oracleSnapshot(o, ctx, iova >> 12, flushGenOf(ste), slotBase() + TS_ORACLE_BEFORE);

  let where = HIT_WALK;
  if (utlb != 0 && cacheLookup(utlb, iova, ctx, shifts, result)) {
    where = HIT_UTLB;
    stat(s, STAT_UTLB_HITS, 1);
    stat(s, STAT_MODELLED_NS, cost(s, COST_UTLB_HIT));
  } else if (cacheLookup(load<u32>(s + S_IOTLB), iova, ctx, shifts, result)) {
    where = HIT_IOTLB;
    stat(s, STAT_IOTLB_HITS, 1);
    stat(s, STAT_MODELLED_NS, cost(s, COST_IOTLB_HIT));
    if (utlb != 0 && mayFill) cacheFillSince(utlb, iova, ctx, load<u32>(result), load<u64>(result + 8), s + S_INV_EPOCH, epoch);
  } else {
    stat(s, STAT_IOTLB_MISSES, 1);
    stat(s, STAT_MODELLED_NS, cost(s, COST_IOTLB_MISS));
    const fault = walk(s, ste, sid, iova, ctx, result, mayFill, epoch);
    if (fault != 0) {
      recordFault(s, fault, sid, iova, load<u32>(result + 4), load<u64>(result + 16));
      return fault;
    }
    if (utlb != 0 && mayFill) cacheFillSince(utlb, iova, ctx, load<u32>(result), load<u64>(result + 8), s + S_INV_EPOCH, epoch);
  }
  store<u32>(result + 24, where);

  const meta = load<u32>(result);
  const need = (access & ACCESS_WRITE) != 0 ? META_WRITE : META_READ;
  if ((meta & need) == 0 || ((access & ACCESS_PRIV) == 0 && (meta & META_UNPRIV) == 0)) {
    recordFault(s, F_PERMISSION, sid, iova, (meta >> 16) & 3, 0);
    return F_PERMISSION;
  }
  // The entry maps the whole block: its base (output bits below the block size are RES0
  // and read as zero) plus the offset of this address inside it.
  const size = <u64>1 << metaShift(meta);
  const pa = (load<u64>(result + 8) & ~(size - 1)) | (iova & (size - 1));
  store<u64>(result + 8, pa);
  if (o != 0) store<u32>(result + 28, checkAccess(o, ste, sid, ctx, iova, pa));
  return 0;
}

/** Ask the oracle about an access that got through: was that page the DMA API's to reach? */
function checkAccess(o: u32, ste: u32, sid: u32, ctx: u32, iova: u64, pa: u64): u32 {
  const slot = slotBase();
  return oracleCheck(o, ctx, sid, iova >> 12, pa >> 12, flushGenOf(ste), jiffiesNow(),
                     slot + TS_ORACLE_NOW, slot + TS_ORACLE_BEFORE);
}

/** Flushes of the stream's domain completed so far (closes the oracle's lazy windows). */
@inline function flushGenOf(ste: u32): u32 {
  const dom = load<u32>(ste + STE_DOMAIN);
  return dom == 0 ? 0 : atomic.load<u32>(smmuDomainAddr(dom - 1) + SD_FLUSH_GEN);
}
