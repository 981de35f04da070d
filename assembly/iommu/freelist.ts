// The gather's page freelist (iommu_iotlb_gather.freelist, include/linux/iommu.h): table
// pages taken out of a page table but not yet freed, because an IOTLB or walk cache may
// still hold a pointer into them. They go back to the allocator only after an
// invalidation covering them has completed — in strict mode at the iotlb_sync, in lazy
// mode when the flush-queue entry that carries the list is released (v5.15: the entry
// destructor; v7.1: iommu_put_pages_list on the entry's embedded list).
//
// The list is chained through the phys zone's per-frame link word (assembly/phys.ts), so
// the pages' contents stay exactly as the walker last saw them. A list is one u32: the
// first page's frame + 1, 0 for an empty list.

import { FRAME_SHIFT, ramOffset, ZONE_PHYS } from "../memmap";
import { frameLinkGet, frameLinkSet, zoneFree } from "../phys";

/** Push the table page at `pa` onto the list whose head is stored at `headPtr`. */
export function freelistPush(headPtr: u32, pa: u64): void {
  const frame = <u32>(ramOffset(pa) >> FRAME_SHIFT);
  frameLinkSet(ZONE_PHYS, frame, load<u32>(headPtr));
  store<u32>(headPtr, frame + 1);
}

/** Free every page of a list; returns how many there were. */
export function freelistRelease(head: u32): u32 {
  let n: u32 = 0;
  while (head != 0) {
    const frame = head - 1;
    head = frameLinkGet(ZONE_PHYS, frame);
    zoneFree(ZONE_PHYS, frame);
    n++;
  }
  return n;
}
