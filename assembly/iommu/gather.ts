// The IOTLB gather (struct iommu_iotlb_gather, include/linux/iommu.h, v5.15 and v7.1) and
// what the Arm SMMUv3 driver does with it: tlb_add_page merges pages into one range, and
// iotlb_sync issues that range's invalidation (arm_smmu_tlb_inv_page_nosync and
// arm_smmu_iotlb_sync in arm-smmu-v3.c).
//
// A gather lives in the unmapping thread's slot, as the kernel keeps it on the caller's
// stack; address 0 stands for a NULL gather.
//
//   +0 start u64   +8 end u64   +16 pgsize u64   +24 queued u32
//   +28 non-leaf u32 (a removed table is in the range: invalidate walk caches too)
//   +32 freelist u32 (table pages waiting for this gather's invalidation, see freelist.ts)

import { EV_IOTLB_SYNC, recordEvent } from "../events";
import { tlbCookie } from "../smmu/domain";
import { smmuTlbInvRange } from "../smmu/tlbi";
import { freelistPush, freelistRelease } from "./freelist";

export const G_START: u32 = 0;
export const G_END: u32 = 8;
export const G_PGSIZE: u32 = 16;
export const G_QUEUED: u32 = 24;
export const G_NONLEAF: u32 = 28;
export const G_FREELIST: u32 = 32;

/** iommu_iotlb_gather_init: an empty range, not queued. */
export function gatherInit(g: u32, queued: bool): void {
  store<u64>(g + G_START, U64.MAX_VALUE);
  store<u64>(g + G_END, 0);
  store<u64>(g + G_PGSIZE, 0);
  store<u32>(g + G_QUEUED, queued ? 1 : 0);
  store<u32>(g + G_NONLEAF, 0);
  store<u32>(g + G_FREELIST, 0);
}

/** iommu_iotlb_gather_queued: a NULL gather counts as not queued. */
@inline export function gatherQueued(g: u32): bool {
  return g != 0 && load<u32>(g + G_QUEUED) != 0;
}

/**
 * iommu_iotlb_sync: the driver invalidates the gathered range (nothing if empty) — walk
 * caches too when a removed table is in it — and frees the freelist's pages, which the
 * completed invalidation covers. Then the whole gather is re-initialised — `queued`
 * included, so a sync in the middle of a lazy unmap turns the rest of it strict
 * (reference §4.10, §5.8).
 */
export function iotlbSync(d: u32, g: u32): void {
  const pgsize = load<u64>(g + G_PGSIZE);
  if (pgsize != 0) {
    const start = load<u64>(g + G_START);
    const end = load<u64>(g + G_END);
    recordEvent(d, EV_IOTLB_SYNC, start, end, pgsize);
    const sd = tlbCookie(d);
    const leaf = load<u32>(g + G_NONLEAF) == 0;
    if (sd != 0) smmuTlbInvRange(d, sd, start, end - start + 1, pgsize, leaf);
  }
  freelistRelease(load<u32>(g + G_FREELIST));
  gatherInit(g, false);
}

/** iommu_iotlb_gather_add_page: sync first if the page is disjoint or of another size. */
export function gatherAddPage(d: u32, g: u32, iova: u64, size: u64): void {
  const pgsize = load<u64>(g + G_PGSIZE);
  const start = load<u64>(g + G_START);
  const end = load<u64>(g + G_END);
  const last = iova + size - 1;
  const disjoint = end != 0 && (last + 1 < start || iova > end + 1);
  if ((pgsize != 0 && pgsize != size) || disjoint) iotlbSync(d, g);
  store<u64>(g + G_PGSIZE, size);
  if (iova < load<u64>(g + G_START)) store<u64>(g + G_START, iova);
  if (last > load<u64>(g + G_END)) store<u64>(g + G_END, last);
}

/**
 * A table went away under a gather that defers its freeing: its pages join the freelist,
 * and (unless queued) its range joins the gathered range as a non-leaf invalidation.
 */
export function gatherAddTable(d: u32, g: u32, iova: u64, size: u64, tablePa: u64): void {
  // Range first: merging may sync (and free) what was gathered before, never this page.
  if (!gatherQueued(g)) {
    gatherAddPage(d, g, iova, size);
    store<u32>(g + G_NONLEAF, 1);
  }
  freelistPush(g + G_FREELIST, tablePa);
}
