// The SMMU consuming its command queue: each TLBI removes the matching entries from the
// IOTLB, the micro-TLBs and (unless leaf-only) the walk caches; CMD_SYNC completes them.
// With OPT_INVALIDATE_AT_SYNC a TLBI only takes effect when the next CMD_SYNC is consumed —
// hardware that completes invalidations lazily, the conservative model (reference §5.2).
// Range decoding: (NUM + 1) · 2^SCALE pages of the TG size from the address (§5.4).

import { lockAcquire, lockRelease } from "../sync";
import {
  ALL_SHIFTS, cacheInvalidate, INV_LEAF_ONLY, INV_LEVEL, INV_MATCH_ASID, INV_MATCH_VMID, INV_RANGE, makeCtx,
} from "./cache";
import {
  OP_CMD_SYNC, OP_TLBI_EL2_ALL, OP_TLBI_EL2_ASID, OP_TLBI_EL2_VA, OP_TLBI_NH_ALL, OP_TLBI_NH_ASID,
  OP_TLBI_NH_VA, OP_TLBI_NH_VAA, OP_TLBI_NSNH_ALL, OP_TLBI_S12_VMALL, OP_TLBI_S2_IPA,
  CMD0_ASID_BITS, CMD0_ASID_LO, CMD0_NUM_BITS, CMD0_NUM_LO, CMD0_OP_BITS, CMD0_OP_LO, CMD0_SCALE_BITS, CMD0_SCALE_LO,
  CMD0_VMID_BITS, CMD0_VMID_LO, CMD1_LEAF_BITS, CMD1_LEAF_LO, CMD1_TG_BITS, CMD1_TG_LO, CMD1_TTL_BITS, CMD1_TTL_LO,
  cmdAddr, cmdEncodingLegal, cmdField, cmdKindIndex, cmdOpLegal,
} from "./cmd";
import {
  MAX_STREAMS, OPT_FAULT_DROP_TLBI, OPT_INVALIDATE_AT_SYNC, OPT_TTL_STRICT, PENDING_CMD_SIZE, PendingCmd, STAT_BY_KIND, STAT_CMDS,
  STAT_CMD_ILLEGAL,
  STAT_ENTRIES_INVALIDATED, STAT_SYNCS, STAT_TLBI_ALL, STAT_TLBI_CONTEXT, STAT_TLBI_VA, SmmuInstance,
  Ste, WALK_CACHE_LEVELS, cachedStreamsWord, ctxTableOf, perStreamIotlb, stat, steOf, walkCacheOf,
} from "./smmu";
import { ctxFlush } from "./context-gen";

/** The address of the SMMU's command-queue lock. */
@inline function cmdqLock(s: SmmuInstance): u32 {
  return changetype<u32>(s) + offsetof<SmmuInstance>("cmdqLock");
}

/**
 * Consume `count` commands (dw1's address advancing by 2^stepShift after each) on the SMMU
 * at address `a`. Called by the driver side right after issuing them.
 */
export function smmuConsume(a: u32, dw0: u64, dw1: u64, count: u64, stepShift: u32): void {
  const s = changetype<SmmuInstance>(a);
  const op = dw0 & 0xff;
  if (!cmdOpLegal(op) || !cmdEncodingLegal(dw0, dw1)) {
    // CERROR_ILL: the SMMU does not consume it (the driver's error handler skips it, so its
    // invalidation never happens). Counted apart, so that the commands the statistics
    // report are ones an SMMU would have executed.
    stat(s, STAT_CMD_ILLEGAL, count);
    return;
  }
  stat(s, STAT_CMDS, count);
  const kind = cmdKindIndex(op);
  if (kind >= 0) stat(s, STAT_BY_KIND + <u32>kind, count);
  const atSync = (s.options & OPT_INVALIDATE_AT_SYNC) != 0;
  if (op == OP_CMD_SYNC) {
    stat(s, STAT_SYNCS, 1);
    if (atSync) drainPending(s);
    return;
  }
  if (!atSync) {
    apply(s, dw0, dw1, count, stepShift);
    return;
  }
  lockAcquire(cmdqLock(s));
  let n = s.pendingCount;
  if (n > s.pendingMask) {
    // Queue full: the SMMU has to make progress; apply what is waiting.
    drainLocked(s);
    n = 0;
  }
  const rec = changetype<PendingCmd>(changetype<u32>(s.pending) + n * PENDING_CMD_SIZE);
  rec.dw0 = dw0;
  rec.dw1 = dw1;
  rec.run = count | (<u64>stepShift << 32);
  s.pendingCount = n + 1;
  lockRelease(cmdqLock(s));
}

function drainPending(s: SmmuInstance): void {
  lockAcquire(cmdqLock(s));
  drainLocked(s);
  lockRelease(cmdqLock(s));
}

function drainLocked(s: SmmuInstance): void {
  const n = s.pendingCount;
  const base = changetype<u32>(s.pending);
  for (let i: u32 = 0; i < n; i++) {
    const rec = changetype<PendingCmd>(base + i * PENDING_CMD_SIZE);
    const run = rec.run;
    apply(s, rec.dw0, rec.dw1, run & 0xffffffff, <u32>(run >> 32));
  }
  s.pendingCount = 0;
}

/** Invalidate in the IOTLB (or every stream's main TLB), every stream's micro-TLB, and (if asked) every walk cache. */
export function invalidateAll(s: SmmuInstance, flags: u32, ctx: u32, lo: u64, hi: u64, level: u32, walks: bool): void {
  // No fill outlives this: a fill reads its descriptor again with its set locked (cache.ts).
  // A whole context (or every context) from every cache: its generation moves instead of a
  // scan (context-gen.ts), and only caches without generations (LRU caches) are scanned —
  // unless ctxFlush asks for a scan anyway.
  const wholeContexts = walks && (flags & (INV_RANGE | INV_LEAF_ONLY | INV_LEVEL)) == 0;
  const scan = !wholeContexts ||
    ctxFlush(ctxTableOf(s), (flags & INV_MATCH_ASID) != 0, (flags & INV_MATCH_VMID) != 0, ctx);
  const shared = s.iotlb;
  let n = shared && (scan || !shared.gens) ? cacheInvalidate(shared, flags, ctx, lo, hi, level, ALL_SHIFTS) : 0;
  // The caches of each stream that has some (this runs per TLBI command): its own main TLB,
  // then its micro-TLB (both with generations, as the other caches). In that order, as with the shared
  // IOTLB: a micro-TLB is filled only from an IOTLB entry still there (translate.ts
  // copyToMicroTlb), so once the IOTLB is clean nothing stale can enter the micro-TLB after
  // its scan — the other way round, a copy made between the two scans would survive both.
  const own = perStreamIotlb(s);
  for (let w: u32 = 0; w < MAX_STREAMS / 32; w++) {
    let bits = atomic.load<u32>(cachedStreamsWord(s, w));
    while (bits != 0) {
      const ste = steOf(s, w * 32 + ctz(bits));
      bits &= bits - 1;
      if (atomic.load<u32>(changetype<u32>(ste) + offsetof<Ste>("valid")) == 0) continue;
      const tlb = ste.iotlb;
      if (own && tlb && (scan || !tlb.gens)) n += cacheInvalidate(tlb, flags, ctx, lo, hi, level, ALL_SHIFTS);
      const utlb = ste.utlb;
      if (utlb && (scan || !utlb.gens)) n += cacheInvalidate(utlb, flags, ctx, lo, hi, level, ALL_SHIFTS);
    }
  }
  if (walks) {
    for (let l: u32 = 0; l < WALK_CACHE_LEVELS; l++) {
      const wc = walkCacheOf(s, l);
      if (wc && (scan || !wc.gens)) n += cacheInvalidate(wc, flags & ~INV_LEAF_ONLY, ctx, lo, hi, level, ALL_SHIFTS);
    }
  }
  stat(s, STAT_ENTRIES_INVALIDATED, n);
}

function apply(s: SmmuInstance, dw0: u64, dw1: u64, count: u64, stepShift: u32): void {
  if ((s.options & OPT_FAULT_DROP_TLBI) != 0) return;
  const op = cmdField(dw0, CMD0_OP_LO, CMD0_OP_BITS);
  const asid = <u32>cmdField(dw0, CMD0_ASID_LO, CMD0_ASID_BITS);
  const vmid = <u32>cmdField(dw0, CMD0_VMID_LO, CMD0_VMID_BITS);
  const ctx = makeCtx(asid, vmid);
  if (op == OP_TLBI_NH_VA || op == OP_TLBI_NH_VAA || op == OP_TLBI_EL2_VA || op == OP_TLBI_S2_IPA) {
    stat(s, STAT_TLBI_VA, count);
    applyRange(s, op, dw0, dw1, ctx, count, stepShift);
  } else if (op == OP_TLBI_NH_ASID) {
    stat(s, STAT_TLBI_CONTEXT, 1);
    invalidateAll(s, INV_MATCH_ASID | INV_MATCH_VMID, ctx, 0, 0, 0, true);
  } else if (op == OP_TLBI_EL2_ASID) {
    stat(s, STAT_TLBI_CONTEXT, 1);
    invalidateAll(s, INV_MATCH_ASID, ctx, 0, 0, 0, true);
  } else if (op == OP_TLBI_S12_VMALL || op == OP_TLBI_NH_ALL) {
    stat(s, STAT_TLBI_CONTEXT, 1);
    invalidateAll(s, INV_MATCH_VMID, ctx, 0, 0, 0, true);
  } else if (op == OP_TLBI_NSNH_ALL || op == OP_TLBI_EL2_ALL) {
    stat(s, STAT_TLBI_ALL, 1);
    invalidateAll(s, 0, 0, 0, 0, 0, true);
  }
  // CFGI_* (and anything else): the SMMU reads stream-table entries from memory on every
  // translation (no configuration cache is modelled), so there is nothing to invalidate;
  // they are counted in STAT_CMDS.
}

function applyRange(s: SmmuInstance, op: u64, dw0: u64, dw1: u64, ctx: u32, count: u64, stepShift: u32): void {
  const leaf = cmdField(dw1, CMD1_LEAF_LO, CMD1_LEAF_BITS) != 0;
  const ttl = <u32>cmdField(dw1, CMD1_TTL_LO, CMD1_TTL_BITS);
  const tg = cmdField(dw1, CMD1_TG_LO, CMD1_TG_BITS);
  const addr = cmdAddr(op, dw1);
  // S2_IPA and NH_VAA match the VMID only, EL2_VA the ASID only, NH_VA both.
  let flags = INV_RANGE | (op == OP_TLBI_S2_IPA || op == OP_TLBI_NH_VAA ? INV_MATCH_VMID
                         : op == OP_TLBI_EL2_VA ? INV_MATCH_ASID : INV_MATCH_ASID | INV_MATCH_VMID);
  if (leaf) flags |= INV_LEAF_ONLY;
  if (ttl != 0 && (s.options & OPT_TTL_STRICT) != 0) flags |= INV_LEVEL;
  // With TG set, a range of (NUM + 1) · 2^SCALE pages; without, the entry holding the address.
  let len: u64 = 1;
  if (tg != 0) {
    const num = cmdField(dw0, CMD0_NUM_LO, CMD0_NUM_BITS);
    const scale = cmdField(dw0, CMD0_SCALE_LO, CMD0_SCALE_BITS);
    len = (num + 1) << (scale + 10 + 2 * tg);
  }
  for (let i: u64 = 0; i < count; i++) {
    const lo = addr + (i << <u64>stepShift);
    invalidateAll(s, flags, ctx, lo, lo + len, ttl, !leaf);
  }
}
