// Object pools for one IOVA domain: range-tree nodes (the kernel's iova_cache slab) and
// rcache magazines (kzalloc in v5.15, the iommu_iova_magazine slab in v7.1). Objects are
// carved from 64 KiB kheap chunks; freed objects go on a free list. The kernel's slab
// per-CPU caches change no allocator decision, but they decide which CPU's cache an object
// is in: SLUB hands a CPU back the object it freed last. So a caller that keeps a list of
// its own (an rcache's per-CPU cache: poolAllocLocal / poolFreeLocal) reuses what it freed,
// and only falls back to the shared list — whose objects another CPU may have written,
// every line of them to move here — when its own is empty.
//
// The kernel's allocations can fail (GFP_ATOMIC); here they fail when kheap is exhausted
// and, for magazines, when the domain's failatomic flag says so (rcache.ts decides that).

import { ZONE_KHEAP } from "../memmap";
import { frameAddr, zoneAlloc, zoneFree } from "../phys";
import { lockAcquire, lockRelease } from "../sync";

/**
 * A pool's header, embedded in the domain block (IovaDomainBlock.nodePool / .magPool).
 * Every field is written with the lock held; `live` is also read lock-free.
 */
@unmanaged export class Pool {
  /** The pool lock (sync.ts lock word); any CPU allocating or freeing a node or magazine takes it. */
  lock: u32;
  /** Head of the free list (object address, 0 = empty); a free object's first word links to the next. */
  free: u32;
  /** Head of the chunk list (Chunk address, 0 = none). */
  chunks: u32;
  /** Objects handed out and not freed. */
  live: u32;
  /** Chunks taken from kheap. */
  nchunks: u32;
  /** Bytes per object (a node, or a magazine of the domain's size), fixed at poolInit. */
  objSize: u32;
  /** Allocations refused because kheap was exhausted. */
  fails: u32;
}
/** The room a pool header has in the domain block: a cache line of its own (its lock is hot). */
export const POOL_BYTES: u32 = 64;
if (offsetof<Pool>() > POOL_BYTES) ERROR("Pool outgrew POOL_BYTES");
/** Read by the TypeScript side (live objects: leak checks). */
export const POOL_LIVE: u32 = offsetof<Pool>("live");

/** A kheap chunk's header; its objects follow from CHUNK_HEADER. */
@unmanaged class Chunk {
  /** The pool's next chunk (address, 0 = last). */
  next: u32;
  /** kheap frame of this chunk, given back at poolDestroy. */
  frame: u32;
}

const CHUNK_ORDER: u32 = 4; // 16 frames = 64 KiB
const CHUNK_BYTES: u32 = 4096 << CHUNK_ORDER;
/** Objects start a line after the chunk: the header has that line to itself. */
const CHUNK_HEADER: u32 = 64;
if (offsetof<Chunk>() > CHUNK_HEADER) ERROR("Chunk outgrew CHUNK_HEADER");

/** The pool at address `pool`, as its record. */
@inline function poolAt(pool: u32): Pool {
  return changetype<Pool>(pool);
}

export function poolInit(pool: u32, objSize: u32): void {
  memory.fill(pool, 0, POOL_BYTES);
  poolAt(pool).objSize = objSize;
}

/** Carve a fresh chunk into free objects; false if kheap is exhausted. Pool lock held. */
function poolGrow(pool: u32): bool {
  const p = poolAt(pool);
  const frame = zoneAlloc(ZONE_KHEAP, CHUNK_ORDER);
  if (frame < 0) return false;
  const chunk = frameAddr(ZONE_KHEAP, <u32>frame);
  const c = changetype<Chunk>(chunk);
  c.next = p.chunks;
  c.frame = <u32>frame;
  p.chunks = chunk;
  p.nchunks++;
  const size = p.objSize;
  // Push from the top down so the lowest object is handed out first.
  let head = p.free;
  const count = (CHUNK_BYTES - CHUNK_HEADER) / size;
  for (let i: i32 = <i32>count - 1; i >= 0; i--) {
    const obj = chunk + CHUNK_HEADER + <u32>i * size;
    store<u32>(obj, head); // a free object's link
    head = obj;
  }
  p.free = head;
  return true;
}

/** A zeroed object, or 0 when memory is exhausted. */
export function poolAlloc(pool: u32): u32 {
  const p = poolAt(pool);
  lockAcquire(pool + offsetof<Pool>("lock"));
  let obj = p.free;
  if (obj == 0 && poolGrow(pool)) obj = p.free;
  if (obj == 0) {
    p.fails++;
    lockRelease(pool + offsetof<Pool>("lock"));
    return 0;
  }
  p.free = load<u32>(obj); // its link
  lockRelease(pool + offsetof<Pool>("lock"));
  return handOut(pool, obj);
}

/** `obj`, taken off a free list, counted live and zeroed (`live` is atomic: own lists take objects without the pool lock). */
function handOut(pool: u32, obj: u32): u32 {
  atomic.add<u32>(pool + POOL_LIVE, 1);
  memory.fill(obj, 0, poolAt(pool).objSize);
  return obj;
}

export function poolFree(pool: u32, obj: u32): void {
  const p = poolAt(pool);
  lockAcquire(pool + offsetof<Pool>("lock"));
  store<u32>(obj, p.free); // its link
  p.free = obj;
  atomic.sub<u32>(pool + POOL_LIVE, 1);
  lockRelease(pool + offsetof<Pool>("lock"));
}

/**
 * poolAlloc for a caller with a free list of its own (the u32 head at `list`, guarded by the
 * caller's lock): the object it freed last, else one from the shared pool. 0 when memory is
 * exhausted.
 */
export function poolAllocLocal(pool: u32, list: u32): u32 {
  const obj = load<u32>(list);
  if (obj == 0) return poolAlloc(pool);
  store<u32>(list, load<u32>(obj)); // its link
  return handOut(pool, obj);
}

/** poolFree onto the caller's own list (see poolAllocLocal): its next poolAllocLocal gets `obj` back. */
export function poolFreeLocal(pool: u32, list: u32, obj: u32): void {
  store<u32>(obj, load<u32>(list)); // its link
  store<u32>(list, obj);
  atomic.sub<u32>(pool + POOL_LIVE, 1);
}

/** Give a caller's own list (see poolAllocLocal) back to the shared pool, leaving it empty. */
export function poolGiveBack(pool: u32, list: u32): void {
  const p = poolAt(pool);
  lockAcquire(pool + offsetof<Pool>("lock"));
  let obj = load<u32>(list);
  while (obj != 0) {
    const next = load<u32>(obj);
    store<u32>(obj, p.free);
    p.free = obj;
    obj = next;
  }
  store<u32>(list, 0);
  lockRelease(pool + offsetof<Pool>("lock"));
}

@inline export function poolLive(pool: u32): u32 {
  return atomic.load<u32>(pool + offsetof<Pool>("live"));
}

/** Give every chunk back to kheap (the domain is being destroyed; no object survives). */
export function poolDestroy(pool: u32): void {
  const p = poolAt(pool);
  lockAcquire(pool + offsetof<Pool>("lock"));
  let chunk = p.chunks;
  while (chunk != 0) {
    const c = changetype<Chunk>(chunk);
    const next = c.next;
    zoneFree(ZONE_KHEAP, c.frame);
    chunk = next;
  }
  p.chunks = 0;
  p.free = 0;
  p.nchunks = 0;
  lockRelease(pool + offsetof<Pool>("lock"));
}
