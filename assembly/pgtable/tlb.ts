// The TLB-maintenance callbacks io-pgtable-arm calls (struct iommu_flush_ops), as the
// Arm SMMUv3 driver implements them: tlb_flush_all and tlb_flush_walk invalidate at once,
// tlb_add_page only merges into the caller's gather (arm-smmu-v3.c, v5.15 and v7.1) — or,
// for a domain on an SMMU v1/v2, as arm-smmu.c does (smmu/v2/driver.ts: every callback
// writes TLB registers at once, and tlb_add_page never touches the gather).
// Each call is logged to the table's event ring; the SMMU model (IOTLB, command queue)
// hooks in here.

import { EV_TLB_ADD_PAGE, EV_TLB_FLUSH_ALL, EV_TLB_FLUSH_WALK, recordEvent } from "../events";
import { gatherAddPage } from "../iommu/gather";
import { SmmuDomain, tlbCookie } from "../smmu/domain";
import { smmuTlbInvContext, smmuTlbInvRange } from "../smmu/tlbi";
import { armSmmuV2, v2TlbAddPage, v2TlbFlushAll, v2TlbFlushWalk } from "../smmu/v2/driver";

/** The arm-smmu (v1/v2) domain behind table callbacks' cookie `sd`, or null (none, or SMMUv3). */
@inline function v2Domain(sd: u32): SmmuDomain | null {
  return sd != 0 && armSmmuV2(changetype<SmmuDomain>(sd)) ? changetype<SmmuDomain>(sd) : null;
}

export function tlbFlushAll(d: u32): void {
  recordEvent(d, EV_TLB_FLUSH_ALL, 0, 0, 0);
  const sd = tlbCookie(d);
  const v2 = v2Domain(sd);
  if (v2) v2TlbFlushAll(d, v2);
  else if (sd != 0) smmuTlbInvContext(d, sd);
}

/** A table entry went away: invalidate walk caches for the range, synchronously. */
export function tlbFlushWalk(d: u32, iova: u64, size: u64, granule: u64): void {
  recordEvent(d, EV_TLB_FLUSH_WALK, iova, size, granule);
  const sd = tlbCookie(d);
  const v2 = v2Domain(sd);
  if (v2) v2TlbFlushWalk(d, v2, iova, size, granule);
  else if (sd != 0) smmuTlbInvRange(d, sd, iova, size, granule, false);
}

/**
 * A leaf went away: gather it for the caller's iotlb_sync (a NULL gather gathers nothing);
 * on an SMMU v1/v2, invalidate it at once instead, whatever the gather.
 */
export function tlbAddPage(d: u32, gather: u32, iova: u64, granule: u64): void {
  recordEvent(d, EV_TLB_ADD_PAGE, iova, granule, 0);
  const v2 = v2Domain(tlbCookie(d));
  if (v2) v2TlbAddPage(d, v2, iova, granule);
  else if (gather != 0) gatherAddPage(d, gather, iova, granule);
}
