// The SMMU consuming its command queue: each TLBI removes the matching entries from the
// IOTLB, the micro-TLBs and (unless leaf-only) the walk caches; CMD_SYNC completes them.
// With OPT_INVALIDATE_AT_SYNC a TLBI only takes effect when the next CMD_SYNC is consumed —
// hardware that completes invalidations lazily, the conservative model (reference §5.2).
// Range decoding: (NUM + 1) · 2^SCALE pages of the TG size from the address (§5.4).

import { lockAcquire, lockRelease } from "../sync";
import {
  cacheInvalidate, INV_LEAF_ONLY, INV_LEVEL, INV_MATCH_ASID, INV_MATCH_VMID, INV_RANGE, makeCtx,
} from "./cache";
import {
  OP_CMD_SYNC, OP_TLBI_EL2_ALL, OP_TLBI_EL2_ASID, OP_TLBI_EL2_VA, OP_TLBI_NH_ALL, OP_TLBI_NH_ASID,
  OP_TLBI_NH_VA, OP_TLBI_NH_VAA, OP_TLBI_NSNH_ALL, OP_TLBI_S12_VMALL, OP_TLBI_S2_IPA,
  CMD0_ASID_BITS, CMD0_ASID_LO, CMD0_NUM_BITS, CMD0_NUM_LO, CMD0_OP_BITS, CMD0_OP_LO, CMD0_SCALE_BITS, CMD0_SCALE_LO,
  CMD0_VMID_BITS, CMD0_VMID_LO, CMD1_LEAF_BITS, CMD1_LEAF_LO, CMD1_TG_BITS, CMD1_TG_LO, CMD1_TTL_BITS, CMD1_TTL_LO,
  cmdAddr, cmdField,
} from "./cmd";
import {
  MAX_STREAMS, OPT_FAULT_DROP_TLBI, OPT_INVALIDATE_AT_SYNC, OPT_TTL_STRICT, S_CMDQ_LOCK, S_INV_ENDED, S_INV_EPOCH, S_IOTLB, S_OPTIONS, S_PENDING,
  S_PENDING_COUNT, S_PENDING_MASK, S_UTLB_MAP, S_WALKC, STAT_CMDS, STAT_ENTRIES_INVALIDATED, STAT_SYNCS,
  STAT_TLBI_ALL, STAT_TLBI_CONTEXT, STAT_TLBI_VA, STE_UTLB, STE_VALID, stat, steAddr,
} from "./smmu";

const ALL_SHIFTS: u64 = 0x0000_0000_ffff_f000 | (<u64>0xfff << 32); // every size 4K … 2^43

/**
 * Consume `count` commands (dw1's address advancing by 2^stepShift after each).
 * Called by the driver side right after issuing them.
 */
export function smmuConsume(s: u32, dw0: u64, dw1: u64, count: u64, stepShift: u32): void {
  const op = dw0 & 0xff;
  stat(s, STAT_CMDS, count);
  const atSync = (load<u32>(s + S_OPTIONS) & OPT_INVALIDATE_AT_SYNC) != 0;
  if (op == OP_CMD_SYNC) {
    stat(s, STAT_SYNCS, 1);
    if (atSync) drainPending(s);
    return;
  }
  if (!atSync) {
    apply(s, dw0, dw1, count, stepShift);
    return;
  }
  lockAcquire(s + S_CMDQ_LOCK);
  let n = load<u32>(s + S_PENDING_COUNT);
  if (n > load<u32>(s + S_PENDING_MASK)) {
    // Queue full: the SMMU has to make progress; apply what is waiting.
    drainLocked(s);
    n = 0;
  }
  const rec = load<u32>(s + S_PENDING) + n * 32;
  store<u64>(rec, dw0);
  store<u64>(rec + 8, dw1);
  store<u64>(rec + 16, count | (<u64>stepShift << 32));
  store<u32>(s + S_PENDING_COUNT, n + 1);
  lockRelease(s + S_CMDQ_LOCK);
}

function drainPending(s: u32): void {
  lockAcquire(s + S_CMDQ_LOCK);
  drainLocked(s);
  lockRelease(s + S_CMDQ_LOCK);
}

function drainLocked(s: u32): void {
  const n = load<u32>(s + S_PENDING_COUNT);
  const base = load<u32>(s + S_PENDING);
  for (let i: u32 = 0; i < n; i++) {
    const rec = base + i * 32;
    const c = load<u64>(rec + 16);
    apply(s, load<u64>(rec), load<u64>(rec + 8), c & 0xffffffff, <u32>(c >> 32));
  }
  store<u32>(s + S_PENDING_COUNT, 0);
}

/** Invalidate in the IOTLB, every stream's micro-TLB, and (if asked) every walk cache. */
function invalidateAll(s: u32, flags: u32, ctx: u32, lo: u64, hi: u64, level: u32, walks: bool): void {
  // Before the first set is scanned and after the last: a translation that started
  // before the end must not insert behind the scan what it read (see S_INV_EPOCH).
  atomic.add<u32>(s + S_INV_EPOCH, 1);
  let n = cacheInvalidate(load<u32>(s + S_IOTLB), flags, ctx, lo, hi, level, ALL_SHIFTS);
  // Every stream's micro-TLB: only the streams that have one (this runs per TLBI command).
  for (let w: u32 = 0; w < MAX_STREAMS / 32; w++) {
    let bits = atomic.load<u32>(s + S_UTLB_MAP + w * 4);
    while (bits != 0) {
      const ste = steAddr(s, w * 32 + ctz(bits));
      bits &= bits - 1;
      const utlb = load<u32>(ste + STE_UTLB);
      if (utlb != 0 && atomic.load<u32>(ste + STE_VALID) != 0) {
        n += cacheInvalidate(utlb, flags, ctx, lo, hi, level, ALL_SHIFTS);
      }
    }
  }
  if (walks) {
    for (let l: u32 = 0; l < 4; l++) {
      const wc = load<u32>(s + S_WALKC + l * 4);
      if (wc != 0) n += cacheInvalidate(wc, flags & ~INV_LEAF_ONLY, ctx, lo, hi, level, ALL_SHIFTS);
    }
  }
  stat(s, STAT_ENTRIES_INVALIDATED, n);
  atomic.add<u32>(s + S_INV_ENDED, 1);
}

function apply(s: u32, dw0: u64, dw1: u64, count: u64, stepShift: u32): void {
  if ((load<u32>(s + S_OPTIONS) & OPT_FAULT_DROP_TLBI) != 0) return;
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

function applyRange(s: u32, op: u64, dw0: u64, dw1: u64, ctx: u32, count: u64, stepShift: u32): void {
  const leaf = cmdField(dw1, CMD1_LEAF_LO, CMD1_LEAF_BITS) != 0;
  const ttl = <u32>cmdField(dw1, CMD1_TTL_LO, CMD1_TTL_BITS);
  const tg = cmdField(dw1, CMD1_TG_LO, CMD1_TG_BITS);
  const addr = cmdAddr(op, dw1);
  // S2_IPA and NH_VAA match the VMID only, EL2_VA the ASID only, NH_VA both.
  let flags = INV_RANGE | (op == OP_TLBI_S2_IPA || op == OP_TLBI_NH_VAA ? INV_MATCH_VMID
                         : op == OP_TLBI_EL2_VA ? INV_MATCH_ASID : INV_MATCH_ASID | INV_MATCH_VMID);
  if (leaf) flags |= INV_LEAF_ONLY;
  if (ttl != 0 && (load<u32>(s + S_OPTIONS) & OPT_TTL_STRICT) != 0) flags |= INV_LEVEL;
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
