// The IOMMU core's map and unmap loops (drivers/iommu/iommu.c __iommu_map, __iommu_unmap
// and iommu_pgsize, v5.15 and v7.1; reference §4.9): a request of any size is cut into
// runs of the largest page size the alignment of the IOVA and the physical address
// allows, stopping each run at the next larger page's boundary so that the rest can use
// it. The runs go to io-pgtable's map_pages / unmap_pages.

import { pgtDesc } from "../pgtable/desc";
import { mapPages, unmapPages } from "../pgtable/lpae";
import { Gather, gatherInit, gatherUnmapped, iotlbSync } from "./gather";
import { EINVAL } from "../errno";

/**
 * The scratch the map and unmap loops work in (the caller's: a DMA CPU's, see
 * assembly/dma/iommu.ts), as the kernel keeps these on its stack. MAP_SCRATCH_SIZE bytes.
 */
@unmanaged class MapScratch {
  /** iommuPgsize's page count for the run in progress. */
  count: u64;
  /** Bytes mapPages mapped in the run in progress. */
  mapped: u64;
  /** A Gather (gather.ts) to unmap what a failed map had mapped: its first word. */
  gather: u64;
}

/** Bytes a caller gives iommuMap / iommuUnmapFast as `scratch`. */
export const MAP_SCRATCH_SIZE: u32 = offsetof<MapScratch>("gather") + offsetof<Gather>();

/**
 * iommu_pgsize: the page size for the next run of [iova, iova + size) → paddr, and (in
 * *countOut, a u64) how many pages of it. 0 when no page size fits (the kernel BUGs; the
 * callers' alignment checks make it unreachable).
 */
export function iommuPgsize(bitmap: u64, iova: u64, paddr: u64, size: u64, countOut: u32): u64 {
  // Sizes no larger than `size`…
  let cands = bitmap & (size >= (<u64>1 << 63) ? U64.MAX_VALUE : ((<u64>1 << (64 - clz(size))) - 1));
  // …and no larger than the alignment of both addresses.
  const addrMerge = iova | paddr;
  if (addrMerge != 0) cands &= (<u64>1 << (ctz(addrMerge) + 1)) - 1;
  if (cands == 0) return 0;
  const pgsize = <u64>1 << (63 - clz(cands));
  let count = size / pgsize;
  // The next larger supported size, if any: stop the run at its boundary when a whole
  // page of it fits after that boundary and both addresses are equally misaligned for it.
  const larger = bitmap & ~((pgsize << 1) - 1);
  if (larger != 0) {
    const next = <u64>1 << ctz(larger);
    if (((iova ^ paddr) & (next - 1)) == 0) {
      const offset = next - (addrMerge & (next - 1));
      if (offset + next <= size) count = offset / pgsize;
    }
  }
  store<u64>(countOut, count);
  return pgsize;
}

/**
 * __iommu_map on page table `d`: 0 or -errno. On failure what was mapped is unmapped
 * again with an ordinary (synchronised) unmap through the scratch's gather, as the kernel does.
 */
export function iommuMap(d: u32, iova: u64, paddr: u64, size: u64, prot: u32, scratch: u32): i32 {
  const bitmap = pgtDesc(d).pgsizeBitmap;
  const min = <u64>1 << ctz(bitmap);
  if (((iova | paddr | size) & (min - 1)) != 0) return -EINVAL;
  const s = changetype<MapScratch>(scratch);
  const countOut = scratch + offsetof<MapScratch>("count");
  const mappedOut = scratch + offsetof<MapScratch>("mapped");
  let done: u64 = 0;
  let ret: i32 = 0;
  while (done < size) {
    const pgsize = iommuPgsize(bitmap, iova + done, paddr + done, size - done, countOut);
    if (pgsize == 0) { ret = -EINVAL; break; }
    s.mapped = 0;
    ret = mapPages(d, iova + done, paddr + done, pgsize, s.count, prot, mappedOut);
    done += s.mapped;
    if (ret != 0) break;
  }
  if (ret != 0 && done != 0) {
    const g = scratch + offsetof<MapScratch>("gather");
    gatherInit(g, false);
    iommuUnmapFast(d, g, iova, done, scratch);
    iotlbSync(d, g);
  }
  return ret;
}

/**
 * iommu_unmap_fast: unmap [iova, iova + size) into `gather` without syncing it (the
 * caller decides). Returns the bytes unmapped; stops early at a run that unmaps nothing.
 */
export function iommuUnmapFast(d: u32, gather: u32, iova: u64, size: u64, scratch: u32): u64 {
  const bitmap = pgtDesc(d).pgsizeBitmap;
  const min = <u64>1 << ctz(bitmap);
  if (((iova | size) & (min - 1)) != 0) return 0;
  const s = changetype<MapScratch>(scratch);
  const countOut = scratch + offsetof<MapScratch>("count");
  let done: u64 = 0;
  while (done < size) {
    const pgsize = iommuPgsize(bitmap, iova + done, iova + done, size - done, countOut);
    if (pgsize == 0) break;
    const n = unmapPages(d, gather, iova + done, pgsize, s.count);
    if (n == 0) break;
    gatherUnmapped(d, gather, iova + done, n);
    done += n;
  }
  return done;
}

// How a caller of io-pgtable's unmap_pages passes its gather, and whether it syncs after:
// iommu_unmap syncs (UNMAP_GATHER | UNMAP_SYNC); iommu_unmap_fast and a lazy dma-iommu
// unmap do not (UNMAP_GATHER, UNMAP_GATHER_QUEUED); io-pgtable's own self-test passes NULL.
export const UNMAP_NULL_GATHER: u32 = 0;
export const UNMAP_GATHER: u32 = 1;
export const UNMAP_GATHER_QUEUED: u32 = 2;
export const UNMAP_SYNC: u32 = 4;

/**
 * One unmap_pages call on table `d` with the gather `mode` asks for (initialised at
 * `gather`), synced afterwards when the mode says so and the gather is not queued. Returns
 * the bytes unmapped; a u64 1 or 0 at `queuedOut`: the gather was still queued at the end
 * (what dma-iommu checks before syncing).
 */
export function unmapWithMode(d: u32, gather: u32, iova: u64, pgsize: u64, pgcount: u64, mode: u32,
                              queuedOut: u32): u64 {
  const g = (mode & (UNMAP_GATHER | UNMAP_GATHER_QUEUED)) != 0 ? gather : 0;
  if (g != 0) gatherInit(g, (mode & UNMAP_GATHER_QUEUED) != 0);
  const bytes = unmapPages(d, g, iova, pgsize, pgcount);
  gatherUnmapped(d, g, iova, bytes);
  const queued = g != 0 && changetype<Gather>(g).queued != 0;
  if (g != 0 && !queued && (mode & UNMAP_SYNC) != 0) iotlbSync(d, g);
  store<u64>(queuedOut, queued ? 1 : 0);
  return bytes;
}
