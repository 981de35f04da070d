// The IOTLB gather (struct iommu_iotlb_gather, include/linux/iommu.h, v5.15 and v7.1) and
// what the Arm SMMUv3 driver does with it: tlb_add_page merges pages into one range, and
// iotlb_sync issues that range's invalidation (arm_smmu_tlb_inv_page_nosync and
// arm_smmu_iotlb_sync in arm-smmu-v3.c). The SMMU v1/v2 driver ignores it (smmu/v2/driver.ts);
// the core's own sync guards (90c5def10bea, 7e0548525abd) are here too.
//
// A gather lives in the unmapping thread's slot (or a DMA CPU's unmap in progress), as the
// kernel keeps it on the caller's stack; address 0 stands for a NULL gather.

import { EV_IOTLB_SYNC, recordEvent } from "../events";
import { SmmuDomain, tlbCookie } from "../smmu/domain";
import { armSmmuV2, v2IotlbSync } from "../smmu/v2/driver";
import { pgtHas } from "../pgtable/desc";
import { KB_IOMMU_GATHER_UNMAPPED_RANGE, KB_IOMMU_SKIP_EMPTY_GATHER } from "../behaviour";
import { smmuTlbInvRange } from "../smmu/tlbi";
import { freelistPush, freelistRelease } from "./freelist";
import { TS_GATHER_ROOM } from "../memmap";

/** struct iommu_iotlb_gather: written only by the thread doing the unmap. */
@unmanaged export class Gather {
  /** First IOVA of the gathered range (U64.MAX_VALUE: empty). */
  start: u64;
  /** Last IOVA of the gathered range, inclusive (0: empty). */
  end: u64;
  /** The page size gathered (0: nothing yet); a page of another size syncs first. */
  pgsize: u64;
  /** 1 = the unmap is lazy: a flush queue invalidates later, so leaves are not gathered. */
  queued: u32;
  /** 1 = a removed table is in the range: invalidate walk caches too. */
  nonLeaf: u32;
  /** Table pages waiting for this gather's invalidation (freelist.ts: first frame + 1, 0 = none). */
  freelist: u32;
}

if (offsetof<Gather>() > TS_GATHER_ROOM) ERROR("Gather outgrew its room in the thread slot (TS_GATHER_ROOM)");

@inline function gather(g: u32): Gather {
  return changetype<Gather>(g);
}

/** iommu_iotlb_gather_init: an empty range, not queued. */
export function gatherInit(g: u32, queued: bool): void {
  const t = gather(g);
  t.start = U64.MAX_VALUE;
  t.end = 0;
  t.pgsize = 0;
  t.queued = queued ? 1 : 0;
  t.nonLeaf = 0;
  t.freelist = 0;
}

/** iommu_iotlb_gather_queued: a NULL gather counts as not queued. */
@inline export function gatherQueued(g: u32): bool {
  return g != 0 && gather(g).queued != 0;
}

/**
 * iommu_iotlb_sync: the core calls the driver's .iotlb_sync — unless the gather is empty
 * and the kernel skips that (KB_IOMMU_SKIP_EMPTY_GATHER) — and frees the freelist's pages,
 * which the completed invalidation covers. Then the whole gather is re-initialised —
 * `queued` included, so a sync in the middle of a lazy unmap turns the rest of it strict
 * (reference §4.10, §5.8).
 */
export function iotlbSync(d: u32, g: u32): void {
  const t = gather(g);
  if (!(gatherEmpty(g) && pgtHas(d, KB_IOMMU_SKIP_EMPTY_GATHER))) driverIotlbSync(d, t);
  freelistRelease(t.freelist);
  gatherInit(g, false);
}

/**
 * The driver's .iotlb_sync. SMMUv3 (arm_smmu_iotlb_sync): invalidate the gathered range —
 * walk caches too when a removed table is in it — nothing without a page size. SMMU v1/v2
 * (arm_smmu_iotlb_sync): wait for the TLBIs already written, whatever the gather holds.
 */
function driverIotlbSync(d: u32, t: Gather): void {
  const sd = tlbCookie(d);
  if (sd != 0 && armSmmuV2(changetype<SmmuDomain>(sd))) {
    recordEvent(d, EV_IOTLB_SYNC, t.start, t.end, t.pgsize);
    v2IotlbSync(d, changetype<SmmuDomain>(sd));
    return;
  }
  const pgsize = t.pgsize;
  if (pgsize == 0) return;
  const start = t.start;
  const end = t.end;
  recordEvent(d, EV_IOTLB_SYNC, start, end, pgsize);
  const leaf = t.nonLeaf == 0;
  if (sd != 0) smmuTlbInvRange(d, sd, start, end - start + 1, pgsize, leaf);
}

/** Nothing was added to the gather since it was initialised (start > end). */
@inline export function gatherEmpty(g: u32): bool {
  return gather(g).start > gather(g).end;
}

/**
 * The core's own record of what one unmap_pages call removed (KB_IOMMU_GATHER_UNMAPPED_RANGE,
 * 7e0548525abd in __iommu_unmap): when the call unmapped something and left the gather empty
 * — a driver that does not gather, or leaves the table never gathers — the range goes into
 * it, so that iommu_iotlb_sync still calls the driver. Start and end only.
 */
export function gatherUnmapped(d: u32, g: u32, iova: u64, bytes: u64): void {
  if (g == 0 || bytes == 0 || !pgtHas(d, KB_IOMMU_GATHER_UNMAPPED_RANGE) || !gatherEmpty(g)) return;
  const t = gather(g);
  t.start = iova;
  t.end = iova + bytes - 1;
}

/** iommu_iotlb_gather_add_page: sync first if the page is disjoint or of another size. */
export function gatherAddPage(d: u32, g: u32, iova: u64, size: u64): void {
  const t = gather(g);
  const pgsize = t.pgsize;
  const start = t.start;
  const end = t.end;
  const last = iova + size - 1;
  const disjoint = end != 0 && (last + 1 < start || iova > end + 1);
  if ((pgsize != 0 && pgsize != size) || disjoint) iotlbSync(d, g);
  t.pgsize = size;
  if (iova < t.start) t.start = iova;
  if (last > t.end) t.end = last;
}

/**
 * A table went away under a gather that defers its freeing: its pages join the freelist,
 * and (unless queued) its range joins the gathered range as a non-leaf invalidation.
 */
export function gatherAddTable(d: u32, g: u32, iova: u64, size: u64, tablePa: u64): void {
  // Range first: merging may sync (and free) what was gathered before, never this page.
  if (!gatherQueued(g)) {
    gatherAddPage(d, g, iova, size);
    gather(g).nonLeaf = 1;
  }
  freelistPush(g + offsetof<Gather>("freelist"), tablePa);
}
