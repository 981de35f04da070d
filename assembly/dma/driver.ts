// A device driver's own iommu_map / iommu_unmap on the domain its device is attached to —
// not the DMA API: dma-iommu never unmaps part of a mapping, but a driver that manages its
// IOVA space itself (iommu_map of a 2 MiB block, then iommu_unmap of one page of it) makes
// io-pgtable split the block (reference §4.9, §4.10). The unmap runs in steps — the walk and
// the split table built, the split's compare-and-swap (or the plain clear), iotlb_sync — so
// that the schedule explorer can run two CPUs' splits of one block against each other
// (bug-corpus #6, 85c7a0f1ef62; behaviour KB_PGT_SPLIT_LOSER_UNMAPS). Each mapping and each
// unmap that reported bytes is recorded in the SMMU's safety oracle, as the DMA API's are:
// an unmap that says it removed a page promises the device can no longer reach it.

import { liveTable } from "../pgtable/config";
import { pgtDesc } from "../pgtable/desc";
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE, unmapFinish, unmapPrepare } from "../pgtable/lpae";
import { iommuMap, iommuPgsize, iommuUnmapFast } from "../iommu/core";
import { Gather, gatherInit, iotlbSync } from "../iommu/gather";
import { freelistRelease } from "../iommu/freelist";
import { EINVAL } from "../errno";
import { DMA_CPU_HALVES, dmaCpu, gatherAddr, recordMap, recordUnmap, scratchAddr } from "./iommu";
import { dmaDomain } from "./domain";

@inline function tableOf(dd: u32): u32 {
  return liveTable(dmaDomain(dd).pgt);
}

@inline function halvesAddr(cpu: u32): u32 {
  return changetype<u32>(dmaCpu(cpu)) + DMA_CPU_HALVES;
}

/** iommu_map(domain, iova, pa, size, READ | WRITE | CACHE) on simulated CPU `cpu`: 0 or -errno. */
export function driverMap(dd: u32, cpu: u32, iova: u64, pa: u64, size: u64): i32 {
  const rc = iommuMap(tableOf(dd), iova, pa, size, IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE, scratchAddr(dmaCpu(cpu)));
  if (rc == 0) recordMap(dd, iova, pa, size);
  return rc;
}

/**
 * iommu_unmap's first step: the request checked (-EINVAL if not granule-aligned), a strict
 * gather started, io-pgtable's walk to the entry covering `iova` and, if that is a block
 * larger than the first run, the split table built (not yet installed).
 */
export function driverUnmapPrepare(dd: u32, cpu: u32, iova: u64, size: u64): i32 {
  const pt = tableOf(dd);
  const bitmap = pgtDesc(pt).pgsizeBitmap;
  const min = <u64>1 << ctz(bitmap);
  if (size == 0 || ((iova | size) & (min - 1)) != 0) return -EINVAL;
  const c = dmaCpu(cpu);
  c.iova = iova;
  c.size = size;
  c.unmapped = 0;
  gatherInit(gatherAddr(c), false);
  const countOut = scratchAddr(c); // MapScratch.count: iommuPgsize's page count
  const pgsize = iommuPgsize(bitmap, iova, iova, size, countOut);
  if (pgsize == 0) return -EINVAL;
  unmapPrepare(pt, halvesAddr(cpu), iova, pgsize, load<u64>(countOut));
  return 0;
}

/** Its second step: the split installed (or lost), or the PTEs cleared; then any further runs. Bytes unmapped. */
export function driverUnmapFinish(dd: u32, cpu: u32): u64 {
  const pt = tableOf(dd);
  const c = dmaCpu(cpu);
  let n = unmapFinish(pt, gatherAddr(c), halvesAddr(cpu));
  if (n != 0 && n < c.size) n += iommuUnmapFast(pt, gatherAddr(c), c.iova + n, c.size - n, scratchAddr(c));
  c.unmapped = n;
  return n;
}

/**
 * Its last step: iotlb_sync (the gathered TLBIs and a CMD_SYNC, waited for), the table
 * pages it held freed, and the unmap returned — what it reported unmapped is recorded as
 * unmapped strictly. Bytes unmapped.
 */
export function driverUnmapSync(dd: u32, cpu: u32): u64 {
  const pt = tableOf(dd);
  const c = dmaCpu(cpu);
  const g = changetype<Gather>(gatherAddr(c));
  iotlbSync(pt, gatherAddr(c));
  freelistRelease(g.freelist);
  g.freelist = 0;
  if (c.unmapped != 0) recordUnmap(dd, c.iova, c.unmapped, false);
  return c.unmapped;
}
