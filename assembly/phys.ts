// Simulated physical memory: a buddy allocator of 4 KiB frames over one region of the
// shared memory ("zone"), handing out naturally aligned power-of-two runs of frames the
// way alloc_pages() does for io-pgtable-arm's tables (mm/page_alloc.c, in spirit: orders,
// buddies, coalescing; no per-CPU lists, no migrate types, no watermarks).
//
// Two zones use this code: ZONE_PHYS is the RAM that page-table pages live in (its frames
// have physical addresses from PHYS_BASE), ZONE_KHEAP is simulator-private memory (event
// rings and other bookkeeping) so that it never shows up as leaked table pages.
//
// All list manipulation happens under the zone lock; zeroing a new table happens after
// the lock is dropped, on memory nobody else can see yet.

import { CACHE_LINE, FRAME_SHIFT, FRAME_SIZE, ZONE_HEADER_SIZE } from "./memmap";
import { lockAcquire, lockRelease } from "./sync";

export const MAX_ORDER: u32 = 10; // 4 MiB, enough for any PGD (the largest is 256 KiB)
/** Free lists: one per order, 0 … MAX_ORDER. */
const FREE_LISTS: u32 = MAX_ORDER + 1;
const NIL: u32 = 0xffffffff;

/**
 * A zone (ZONE_PHYS, ZONE_KHEAP: ZONE_HEADER_SIZE bytes each in the memory map). Written
 * once by zoneInit, then only under `lock`; the statistics are read by the TypeScript side
 * (Simulator stats) without the lock.
 */
@unmanaged export class ZoneHeader {
  /** The zone lock (sync.ts), alone on its line: waiters spin on it while the holder works below. */
  lock: u32;
  _pad0: u32; _pad1: u64; _pad2: u64; _pad3: u64; _pad4: u64; _pad5: u64; _pad6: u64; _pad7: u64;
  /** Address of frame 0 (4 KiB aligned). */
  frames: u32;
  /** Frames in the zone. */
  nframes: u32;
  /** Address of frame 0's FrameMeta (nframes of them follow). */
  meta: u32;
  /** The highest order handed out (MAX_ORDER). */
  maxOrder: u32;
  /** Frames handed out now. */
  pagesLive: u32;
  /** Allocations outstanding. */
  allocsLive: u32;
  /** Frees of something not allocated (double frees, stray pointers), refused. */
  badFrees: u32;
  /** Allocations that failed (no free block of the order or above). */
  allocFail: u32;
  /** Allocations since zoneInit. */
  allocsTotal: u64;
  /** Frees since zoneInit. */
  freesTotal: u64;
  /** The most frames ever handed out at once. */
  peakPages: u32;
  _pad8: u32; _pad9: u64;
  /** The first of FREE_LISTS free-list heads, one u32 frame index per order (NIL: empty). */
  freeHeads: u32;
}

// Read by name from the module (Simulator stats, src/pgtable.ts).
export const Z_FRAMES: u32 = offsetof<ZoneHeader>("frames");
export const Z_NFRAMES: u32 = offsetof<ZoneHeader>("nframes");
export const Z_PAGES_LIVE: u32 = offsetof<ZoneHeader>("pagesLive");
export const Z_ALLOCS_LIVE: u32 = offsetof<ZoneHeader>("allocsLive");
export const Z_BAD_FREES: u32 = offsetof<ZoneHeader>("badFrees");
export const Z_ALLOC_FAIL: u32 = offsetof<ZoneHeader>("allocFail");
export const Z_ALLOCS_TOTAL: u32 = offsetof<ZoneHeader>("allocsTotal");
export const Z_FREES_TOTAL: u32 = offsetof<ZoneHeader>("freesTotal");
export const Z_PEAK_PAGES: u32 = offsetof<ZoneHeader>("peakPages");

if (offsetof<ZoneHeader>("frames") != CACHE_LINE) ERROR("ZoneHeader.lock must have its cache line to itself");
if (offsetof<ZoneHeader>("freeHeads") + FREE_LISTS * 4 > ZONE_HEADER_SIZE) ERROR("ZoneHeader outgrew ZONE_HEADER_SIZE");

/**
 * Per frame, nframes of them at ZoneHeader.meta. Only the head frame of a block says
 * anything; the free lists link heads of free blocks of one order.
 */
@unmanaged export class FrameMeta {
  /** INFO_FREE (head of a free block) or INFO_ALLOC (head of an allocation) | the block's order; 0 otherwise. */
  info: u32;
  /** Free block: the next on its free list (NIL: last). Allocated block: its owner's link word (frameLinkSet). */
  next: u32;
  /** Free block: the previous on its free list (NIL: first). */
  prev: u32;
}

const META_SIZE: u32 = offsetof<FrameMeta>();
const INFO_FREE: u32 = 0x80000000;
const INFO_ALLOC: u32 = 0x40000000;
const INFO_ORDER: u32 = 0xff;

@inline function zh(zone: u32): ZoneHeader {
  return changetype<ZoneHeader>(zone);
}
@inline function lockOf(zone: u32): u32 {
  return zone + offsetof<ZoneHeader>("lock");
}
/** The address of frame `frame`'s metadata. */
@inline function metaAddr(zone: u32, frame: u32): u32 {
  return zh(zone).meta + frame * META_SIZE;
}
@inline function meta(zone: u32, frame: u32): FrameMeta {
  return changetype<FrameMeta>(metaAddr(zone, frame));
}
/** A frame's info word, read atomically (by readers that do not hold the zone lock). */
@inline function infoAtomic(zone: u32, frame: u32): u32 {
  return atomic.load<u32>(metaAddr(zone, frame) + offsetof<FrameMeta>("info"));
}
/** The address of the free-list head of `order`. */
@inline function head(zone: u32, order: u32): u32 {
  return zone + offsetof<ZoneHeader>("freeHeads") + (order << 2);
}

/** Bytes of frame metadata a zone of `nframes` frames needs. */
export function zoneMetaBytes(nframes: u32): u32 {
  return nframes * META_SIZE;
}

function pushFree(zone: u32, frame: u32, order: u32): void {
  const m = meta(zone, frame);
  const h = head(zone, order);
  const first = load<u32>(h);
  m.info = INFO_FREE | order;
  m.next = first;
  m.prev = NIL;
  if (first != NIL) meta(zone, first).prev = frame;
  store<u32>(h, frame);
}

function unlinkFree(zone: u32, frame: u32, order: u32): void {
  const m = meta(zone, frame);
  const next = m.next;
  const prev = m.prev;
  if (prev != NIL) meta(zone, prev).next = next;
  else store<u32>(head(zone, order), next);
  if (next != NIL) meta(zone, next).prev = prev;
  m.info = 0;
}

/**
 * Lay a zone out over [metaPtr, metaPtr + meta) and [framesPtr, framesPtr + nframes·4K).
 * framesPtr must be 4 KiB aligned. Called once, before any worker runs.
 */
export function zoneInit(zone: u32, metaPtr: u32, framesPtr: u32, nframes: u32): void {
  memory.fill(zone, 0, ZONE_HEADER_SIZE);
  const z = zh(zone);
  z.frames = framesPtr;
  z.nframes = nframes;
  z.meta = metaPtr;
  z.maxOrder = MAX_ORDER;
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
  const z = zh(zone);
  lockAcquire(lockOf(zone));
  let o = order;
  while (o <= MAX_ORDER && load<u32>(head(zone, o)) == NIL) o++;
  if (o > MAX_ORDER) {
    z.allocFail++;
    lockRelease(lockOf(zone));
    return -1;
  }
  const frame = load<u32>(head(zone, o));
  unlinkFree(zone, frame, o);
  // Split down to the requested order, returning the upper halves.
  while (o > order) {
    o--;
    pushFree(zone, frame + (1 << o), o);
  }
  meta(zone, frame).info = INFO_ALLOC | order;
  const live = z.pagesLive + (1 << order);
  z.pagesLive = live;
  if (live > z.peakPages) z.peakPages = live;
  z.allocsLive++;
  z.allocsTotal++;
  lockRelease(lockOf(zone));
  memory.fill(frameAddr(zone, frame), 0, FRAME_SIZE << order);
  return <i32>frame;
}

/**
 * Free an allocation made by zoneAlloc. A frame that is not the head of a live
 * allocation (a double free, or a stray pointer) is refused and counted, never merged.
 */
export function zoneFree(zone: u32, frame: u32): bool {
  const z = zh(zone);
  lockAcquire(lockOf(zone));
  const nframes = z.nframes;
  if (frame >= nframes || (meta(zone, frame).info & INFO_ALLOC) == 0) {
    z.badFrees++;
    lockRelease(lockOf(zone));
    return false;
  }
  let order = meta(zone, frame).info & INFO_ORDER;
  z.pagesLive -= 1 << order;
  z.allocsLive--;
  z.freesTotal++;
  meta(zone, frame).info = 0;
  // Coalesce with free buddies of the same order.
  while (order < MAX_ORDER) {
    const buddy = frame ^ (1 << order);
    if (buddy + (1 << order) > nframes) break;
    const info = meta(zone, buddy).info;
    if (info != (INFO_FREE | order)) break;
    unlinkFree(zone, buddy, order);
    frame = min(frame, buddy);
    order++;
  }
  pushFree(zone, frame, order);
  lockRelease(lockOf(zone));
  return true;
}

/** Order of a live allocation starting at `frame`, or -1 if there is none. */
export function zoneAllocOrder(zone: u32, frame: u32): i32 {
  if (frame >= zh(zone).nframes) return -1;
  const info = infoAtomic(zone, frame);
  return (info & INFO_ALLOC) != 0 ? <i32>(info & INFO_ORDER) : -1;
}

/**
 * A link word for an allocated block's head frame, free for its owner to use: the free
 * lists use the same metadata word only while the block is free. The deferred table
 * freelist (assembly/iommu/gather.ts) chains pages through it, as the kernel chains
 * struct pages through their lru field, so a freed table's contents stay as they were.
 */
export function frameLinkSet(zone: u32, frame: u32, next: u32): void {
  meta(zone, frame).next = next;
}

export function frameLinkGet(zone: u32, frame: u32): u32 {
  return meta(zone, frame).next;
}

/** Whether `frame` lies inside a live allocation (at any position of its block). */
export function zoneFrameAllocated(zone: u32, frame: u32): bool {
  if (frame >= zh(zone).nframes) return false;
  for (let o: u32 = 0; o <= MAX_ORDER; o++) {
    const head = frame & ~((<u32>1 << o) - 1);
    const info = infoAtomic(zone, head);
    if ((info & INFO_ALLOC) != 0) return (info & INFO_ORDER) >= o;
    if ((info & INFO_FREE) != 0 && (info & INFO_ORDER) >= o) return false;
  }
  return false;
}

@inline export function frameAddr(zone: u32, frame: u32): u32 {
  return zh(zone).frames + (frame << FRAME_SHIFT);
}

@inline export function zoneFrames(zone: u32): u32 {
  return zh(zone).nframes;
}

/** The buddy order that holds `bytes` (at least one frame). */
export function orderForBytes(bytes: u64): u32 {
  let order: u32 = 0;
  while ((<u64>FRAME_SIZE << order) < bytes) order++;
  return order;
}
