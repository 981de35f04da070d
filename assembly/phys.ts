// Simulated physical memory: a buddy allocator of 4 KiB frames over one region of the
// shared memory ("zone"), handing out naturally aligned power-of-two runs of frames the
// way alloc_pages() does for io-pgtable-arm's tables (mm/page_alloc.c, in spirit: orders,
// buddies, coalescing; no per-CPU lists, no migrate types, no watermarks).
//
// Two zones use this code: ZONE_PHYS is the RAM that page-table pages live in (its frames
// have physical addresses from PHYS_BASE), ZONE_KHEAP is simulator-private memory (event
// rings and other bookkeeping) so that it never shows up as leaked table pages.
//
// Zone header (ZONE_HEADER_SIZE bytes)           Frame metadata: 3 × u32 per frame
//   +0    lock (own line)                          info: bit 31 free head, bit 30 allocated
//   +64   frames_ptr  u32  address of frame 0            head, bits 0..7 order
//   +68   nframes     u32                          next, prev: free-list links (NIL = none)
//   +72   meta_ptr    u32
//   +76   max_order   u32
//   +80   pages_live  u32  frames handed out
//   +84   allocs_live u32  allocations outstanding
//   +88   bad_frees   u32  frees of something not allocated (double frees)
//   +92   alloc_fail  u32  failed allocations
//   +96   allocs_total u64, +104 frees_total u64, +112 peak_pages u32
//   +128  free list heads, one u32 per order
//
// All list manipulation happens under the zone lock; zeroing a new table happens after
// the lock is dropped, on memory nobody else can see yet.

import { FRAME_SHIFT, FRAME_SIZE } from "./memmap";
import { lockAcquire, lockRelease } from "./sync";

export const MAX_ORDER: u32 = 10; // 4 MiB, enough for any PGD (the largest is 256 KiB)
const NIL: u32 = 0xffffffff;

const Z_LOCK: u32 = 0;
export const Z_FRAMES: u32 = 64;
export const Z_NFRAMES: u32 = 68;
const Z_META: u32 = 72;
const Z_MAX_ORDER: u32 = 76;
export const Z_PAGES_LIVE: u32 = 80;
export const Z_ALLOCS_LIVE: u32 = 84;
export const Z_BAD_FREES: u32 = 88;
export const Z_ALLOC_FAIL: u32 = 92;
export const Z_ALLOCS_TOTAL: u32 = 96;
export const Z_FREES_TOTAL: u32 = 104;
export const Z_PEAK_PAGES: u32 = 112;
const Z_FREE_HEADS: u32 = 128;

const META_SIZE: u32 = 12;
const INFO_FREE: u32 = 0x80000000;
const INFO_ALLOC: u32 = 0x40000000;
const INFO_ORDER: u32 = 0xff;

@inline function meta(zone: u32, frame: u32): u32 {
  return load<u32>(zone + Z_META) + frame * META_SIZE;
}
@inline function head(zone: u32, order: u32): u32 {
  return zone + Z_FREE_HEADS + (order << 2);
}

/** Bytes of frame metadata a zone of `nframes` frames needs. */
export function zoneMetaBytes(nframes: u32): u32 {
  return nframes * META_SIZE;
}

function pushFree(zone: u32, frame: u32, order: u32): void {
  const m = meta(zone, frame);
  const h = head(zone, order);
  const first = load<u32>(h);
  store<u32>(m, INFO_FREE | order);
  store<u32>(m + 4, first);
  store<u32>(m + 8, NIL);
  if (first != NIL) store<u32>(meta(zone, first) + 8, frame);
  store<u32>(h, frame);
}

function unlinkFree(zone: u32, frame: u32, order: u32): void {
  const m = meta(zone, frame);
  const next = load<u32>(m + 4);
  const prev = load<u32>(m + 8);
  if (prev != NIL) store<u32>(meta(zone, prev) + 4, next);
  else store<u32>(head(zone, order), next);
  if (next != NIL) store<u32>(meta(zone, next) + 8, prev);
  store<u32>(m, 0);
}

/**
 * Lay a zone out over [metaPtr, metaPtr + meta) and [framesPtr, framesPtr + nframes·4K).
 * framesPtr must be 4 KiB aligned. Called once, before any worker runs.
 */
export function zoneInit(zone: u32, metaPtr: u32, framesPtr: u32, nframes: u32): void {
  memory.fill(zone, 0, 1024);
  store<u32>(zone + Z_FRAMES, framesPtr);
  store<u32>(zone + Z_NFRAMES, nframes);
  store<u32>(zone + Z_META, metaPtr);
  store<u32>(zone + Z_MAX_ORDER, MAX_ORDER);
  for (let o: u32 = 0; o <= MAX_ORDER; o++) store<u32>(head(zone, o), NIL);
  memory.fill(metaPtr, 0, nframes * META_SIZE);
  // Cover the frames with maximal aligned blocks, highest address first, so the first
  // allocations come from the bottom of the zone (frame 0 = PHYS_BASE).
  let frame = nframes;
  while (frame > 0) {
    let order: u32 = 0;
    while (order < MAX_ORDER) {
      const size: u32 = 1 << (order + 1);
      if (size > frame) break;
      if (((frame - size) & (size - 1)) != 0) break;
      order++;
    }
    frame -= 1 << order;
    pushFree(zone, frame, order);
  }
}

/** Allocate 2^order zeroed frames; returns the first frame's index, or -1. */
export function zoneAlloc(zone: u32, order: u32): i32 {
  if (order > MAX_ORDER) return -1;
  lockAcquire(zone + Z_LOCK);
  let o = order;
  while (o <= MAX_ORDER && load<u32>(head(zone, o)) == NIL) o++;
  if (o > MAX_ORDER) {
    store<u32>(zone + Z_ALLOC_FAIL, load<u32>(zone + Z_ALLOC_FAIL) + 1);
    lockRelease(zone + Z_LOCK);
    return -1;
  }
  const frame = load<u32>(head(zone, o));
  unlinkFree(zone, frame, o);
  // Split down to the requested order, returning the upper halves.
  while (o > order) {
    o--;
    pushFree(zone, frame + (1 << o), o);
  }
  store<u32>(meta(zone, frame), INFO_ALLOC | order);
  const live = load<u32>(zone + Z_PAGES_LIVE) + (1 << order);
  store<u32>(zone + Z_PAGES_LIVE, live);
  if (live > load<u32>(zone + Z_PEAK_PAGES)) store<u32>(zone + Z_PEAK_PAGES, live);
  store<u32>(zone + Z_ALLOCS_LIVE, load<u32>(zone + Z_ALLOCS_LIVE) + 1);
  store<u64>(zone + Z_ALLOCS_TOTAL, load<u64>(zone + Z_ALLOCS_TOTAL) + 1);
  lockRelease(zone + Z_LOCK);
  memory.fill(frameAddr(zone, frame), 0, FRAME_SIZE << order);
  return <i32>frame;
}

/**
 * Free an allocation made by zoneAlloc. A frame that is not the head of a live
 * allocation (a double free, or a stray pointer) is refused and counted, never merged.
 */
export function zoneFree(zone: u32, frame: u32): bool {
  lockAcquire(zone + Z_LOCK);
  const nframes = load<u32>(zone + Z_NFRAMES);
  if (frame >= nframes || (load<u32>(meta(zone, frame)) & INFO_ALLOC) == 0) {
    store<u32>(zone + Z_BAD_FREES, load<u32>(zone + Z_BAD_FREES) + 1);
    lockRelease(zone + Z_LOCK);
    return false;
  }
  let order = load<u32>(meta(zone, frame)) & INFO_ORDER;
  store<u32>(zone + Z_PAGES_LIVE, load<u32>(zone + Z_PAGES_LIVE) - (1 << order));
  store<u32>(zone + Z_ALLOCS_LIVE, load<u32>(zone + Z_ALLOCS_LIVE) - 1);
  store<u64>(zone + Z_FREES_TOTAL, load<u64>(zone + Z_FREES_TOTAL) + 1);
  store<u32>(meta(zone, frame), 0);
  // Coalesce with free buddies of the same order.
  while (order < MAX_ORDER) {
    const buddy = frame ^ (1 << order);
    if (buddy + (1 << order) > nframes) break;
    const info = load<u32>(meta(zone, buddy));
    if (info != (INFO_FREE | order)) break;
    unlinkFree(zone, buddy, order);
    frame = min(frame, buddy);
    order++;
  }
  pushFree(zone, frame, order);
  lockRelease(zone + Z_LOCK);
  return true;
}

/** Order of a live allocation starting at `frame`, or -1 if there is none. */
export function zoneAllocOrder(zone: u32, frame: u32): i32 {
  if (frame >= load<u32>(zone + Z_NFRAMES)) return -1;
  const info = atomic.load<u32>(meta(zone, frame));
  return (info & INFO_ALLOC) != 0 ? <i32>(info & INFO_ORDER) : -1;
}

/**
 * A link word for an allocated block's head frame, free for its owner to use: the free
 * lists use the same metadata word only while the block is free. The deferred table
 * freelist (assembly/iommu/gather.ts) chains pages through it, as the kernel chains
 * struct pages through their lru field, so a freed table's contents stay as they were.
 */
export function frameLinkSet(zone: u32, frame: u32, next: u32): void {
  store<u32>(meta(zone, frame) + 4, next);
}

export function frameLinkGet(zone: u32, frame: u32): u32 {
  return load<u32>(meta(zone, frame) + 4);
}

/** Whether `frame` lies inside a live allocation (at any position of its block). */
export function zoneFrameAllocated(zone: u32, frame: u32): bool {
  if (frame >= load<u32>(zone + Z_NFRAMES)) return false;
  for (let o: u32 = 0; o <= MAX_ORDER; o++) {
    const head = frame & ~((<u32>1 << o) - 1);
    const info = atomic.load<u32>(meta(zone, head));
    if ((info & INFO_ALLOC) != 0) return (info & INFO_ORDER) >= o;
    if ((info & INFO_FREE) != 0 && (info & INFO_ORDER) >= o) return false;
  }
  return false;
}

@inline export function frameAddr(zone: u32, frame: u32): u32 {
  return load<u32>(zone + Z_FRAMES) + (frame << FRAME_SHIFT);
}

@inline export function zoneFrames(zone: u32): u32 {
  return load<u32>(zone + Z_NFRAMES);
}

/** The buddy order that holds `bytes` (at least one frame). */
export function orderForBytes(bytes: u64): u32 {
  let order: u32 = 0;
  while ((<u64>FRAME_SIZE << order) < bytes) order++;
  return order;
}
