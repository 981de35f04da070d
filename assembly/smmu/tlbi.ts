// The SMMUv3 driver's invalidations (arm-smmu-v3.c): a range of IOVAs becomes TLBI commands
// (__arm_smmu_tlb_inv_range in v5.15 and v6.12; arm_smmu_cmdq_batch_add_range and
// arm_smmu_inv_size_too_big in v7.1, reference §5.4; the domain's behaviour bits decide,
// KB_SMMU_*), a whole context becomes one
// TLBI_NH_ASID / TLBI_S12_VMALL (arm_smmu_tlb_inv_context), each followed by a CMD_SYNC.
// Left out: ATC invalidation (no ATS masters yet), the SVA path, nested (NH_ALL) targets.

import { D_PGSIZE_BITMAP } from "../pgtable/desc";
import {
  OP_TLBI_EL2_ASID, OP_TLBI_EL2_VA, OP_TLBI_NH_ASID, OP_TLBI_NH_VA, OP_TLBI_S12_VMALL,
  OP_TLBI_S2_IPA, tlbiContextDw0, tlbiRangeDw0, tlbiRangeDw1,
} from "./cmd";
import { cmdqIssue, cmdqIssueRun, cmdqSync } from "./cmdq";
import {
  SMMU_FEAT_E2H, SMMU_FEAT_RANGE_INV, SmmuDomain, flushGenAddr, flushStartedAddr, smmuDomainHas,
} from "./domain";
import { KB_SMMU_INV_ALL_TOO_BIG, KB_SMMU_NONLEAF_TTL0, KB_SMMU_RANGE_NUM_BUMP } from "../behaviour";

/** CMDQ_TLBI_RANGE_NUM_MAX: one range command covers at most 31 chunks of 2^SCALE pages. */
const RANGE_NUM_MAX: u64 = 31;

@inline function ilog2(x: u64): u64 {
  return 63 - clz(x);
}

@inline function stage1(sd: SmmuDomain): bool {
  return sd.stage == 1;
}

@inline function e2h(sd: SmmuDomain): bool {
  return (sd.features & SMMU_FEAT_E2H) != 0;
}

/** The invalidate-everything of this domain's ASID or VMID, then a sync. `domain`: the SMMU domain's address. */
export function smmuTlbInvContext(d: u32, domain: u32): void {
  const sd = changetype<SmmuDomain>(domain);
  // Begun before its TLBI exists: a lazy unmap that reads this later is covered by it.
  atomic.add<u32>(flushStartedAddr(sd), 1);
  if (stage1(sd)) {
    const op = e2h(sd) ? OP_TLBI_EL2_ASID : OP_TLBI_NH_ASID;
    cmdqIssue(d, sd, tlbiContextDw0(op, <u64>sd.asid, 0), 0);
  } else {
    cmdqIssue(d, sd, tlbiContextDw0(OP_TLBI_S12_VMALL, 0, <u64>sd.vmid), 0);
  }
  cmdqSync(d, sd);
  // Every translation of the domain made before this point is gone (the oracle's lazy window closes).
  atomic.add<u32>(flushGenAddr(sd), 1);
}

/**
 * Invalidate [iova, iova + size) cached from leaves (`leaf`) or from any level, as the
 * driver does for iotlb_sync (leaf, granule = the gather's page size) and tlb_flush_walk
 * (non-leaf, granule = the table granule). `domain`: the SMMU domain's address.
 */
export function smmuTlbInvRange(d: u32, domain: u32, iova: u64, size: u64, granule: u64, leaf: bool): void {
  const sd = changetype<SmmuDomain>(domain);
  const ril = (sd.features & SMMU_FEAT_RANGE_INV) != 0;
  if (!smmuDomainHas(sd, KB_SMMU_INV_ALL_TOO_BIG)) {
    if (size == 0) return;
  } else if (sizeTooBig(ril, size, granule)) {
    // No size, or too many per-granule commands to send without a soft lockup.
    smmuTlbInvContext(d, domain);
    return;
  }

  const s1 = stage1(sd);
  const op = s1 ? (e2h(sd) ? OP_TLBI_EL2_VA : OP_TLBI_NH_VA) : OP_TLBI_S2_IPA;
  const asid: u64 = s1 ? <u64>sd.asid : 0;
  const vmid: u64 = s1 ? 0 : <u64>sd.vmid;
  const end = iova + size;

  if (!ril) {
    // One command per granule; logged as a run.
    const count = (end - iova + granule - 1) / granule;
    cmdqIssueRun(d, sd, tlbiRangeDw0(op, asid, vmid, 0, 0), tlbiRangeDw1(op, iova, leaf, 0, 0), count,
                 <u32>ilog2(granule), iova);
    cmdqSync(d, sd);
    return;
  }

  const tg = <u64>ctz(load<u64>(d + D_PGSIZE_BITMAP)); // the leaf page size: 12, 14, 16
  const tgField = (tg - 10) / 2;
  let ttl: u64 = 4 - (ilog2(granule) - 3) / (tg - 3);
  let pages = size >> tg;
  // Callers pass a nominal granule for non-leaf requests, so no TTL hint (6833b8f2e199).
  if (!leaf && smmuDomainHas(sd, KB_SMMU_NONLEAF_TTL0)) ttl = 0;
  // With TTL 0, SCALE and NUM must not both be 0 as well (an illegal encoding, eb6c97647be2):
  // one page becomes two, over-invalidating one.
  if (!leaf && smmuDomainHas(sd, KB_SMMU_RANGE_NUM_BUMP) && (pages & RANGE_NUM_MAX) == 1) pages++;
  while (iova < end && pages != 0) {
    // Each command takes the lowest 5-bit chunk of the remaining page count.
    const scale = <u64>ctz(pages);
    const num = (pages >> scale) & RANGE_NUM_MAX;
    cmdqIssueRun(d, sd, tlbiRangeDw0(op, asid, vmid, num - 1, scale), tlbiRangeDw1(op, iova, leaf, ttl, tgField),
                 1, 0, iova);
    iova += num << (scale + tg);
    pages -= num << scale;
  }
  cmdqSync(d, sd);
}

/** arm_smmu_inv_size_too_big (KB_SMMU_INV_ALL_TOO_BIG): whole-context instead of a range. */
function sizeTooBig(ril: bool, size: u64, granule: u64): bool {
  if (size == 0 || size == U64.MAX_VALUE) return true;
  if (ril) return false;
  const maxOps: u64 = <u64>1 << (ilog2(granule) - 3);
  return size >= maxOps * granule;
}
