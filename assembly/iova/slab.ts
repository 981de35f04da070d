// Object pools for one IOVA domain: range-tree nodes (the kernel's iova_cache slab) and
// rcache magazines (kzalloc in v5.15, the iommu_iova_magazine slab in v7.1). Objects are
// carved from 64 KiB kheap chunks; freed objects go on a free list. Nothing is per CPU:
// the kernel's slab per-CPU caches change no allocator decision, so they are left out.
//
// Pool header (64 bytes, its own line):
//   +0 lock  +4 free list head  +8 chunk list head  +12 live objects  +16 chunks
//   +20 object size  +24 allocation failures
// Chunk: +0 next chunk address, +4 kheap frame; objects from +64.
//
// The kernel's allocations can fail (GFP_ATOMIC); here they fail when kheap is exhausted
// and, for magazines, when the domain's failatomic flag says so (rcache.ts decides that).

import { ZONE_KHEAP } from "../memmap";
import { frameAddr, zoneAlloc, zoneFree } from "../phys";
import { lockAcquire, lockRelease } from "../sync";

const P_LOCK: u32 = 0;
const P_FREE: u32 = 4;
const P_CHUNKS: u32 = 8;
export const POOL_LIVE: u32 = 12;
const P_NCHUNKS: u32 = 16;
const P_OBJ_SIZE: u32 = 20;
export const P_FAILS: u32 = 24;

const CHUNK_ORDER: u32 = 4; // 16 frames = 64 KiB
const CHUNK_BYTES: u32 = 4096 << CHUNK_ORDER;
const CHUNK_HEADER: u32 = 64;

export function poolInit(pool: u32, objSize: u32): void {
  memory.fill(pool, 0, 64);
  store<u32>(pool + P_OBJ_SIZE, objSize);
}

/** Carve a fresh chunk into free objects; false if kheap is exhausted. Pool lock held. */
function poolGrow(pool: u32): bool {
  const frame = zoneAlloc(ZONE_KHEAP, CHUNK_ORDER);
  if (frame < 0) return false;
  const chunk = frameAddr(ZONE_KHEAP, <u32>frame);
  store<u32>(chunk, load<u32>(pool + P_CHUNKS));
  store<u32>(chunk + 4, <u32>frame);
  store<u32>(pool + P_CHUNKS, chunk);
  store<u32>(pool + P_NCHUNKS, load<u32>(pool + P_NCHUNKS) + 1);
  const size = load<u32>(pool + P_OBJ_SIZE);
  // Push from the top down so the lowest object is handed out first.
  let head = load<u32>(pool + P_FREE);
  const count = (CHUNK_BYTES - CHUNK_HEADER) / size;
  for (let i: i32 = <i32>count - 1; i >= 0; i--) {
    const obj = chunk + CHUNK_HEADER + <u32>i * size;
    store<u32>(obj, head);
    head = obj;
  }
  store<u32>(pool + P_FREE, head);
  return true;
}

/** A zeroed object, or 0 when memory is exhausted. */
export function poolAlloc(pool: u32): u32 {
  lockAcquire(pool + P_LOCK);
  let obj = load<u32>(pool + P_FREE);
  if (obj == 0 && poolGrow(pool)) obj = load<u32>(pool + P_FREE);
  if (obj == 0) {
    store<u32>(pool + P_FAILS, load<u32>(pool + P_FAILS) + 1);
    lockRelease(pool + P_LOCK);
    return 0;
  }
  store<u32>(pool + P_FREE, load<u32>(obj));
  store<u32>(pool + POOL_LIVE, load<u32>(pool + POOL_LIVE) + 1);
  lockRelease(pool + P_LOCK);
  memory.fill(obj, 0, load<u32>(pool + P_OBJ_SIZE));
  return obj;
}

export function poolFree(pool: u32, obj: u32): void {
  lockAcquire(pool + P_LOCK);
  store<u32>(obj, load<u32>(pool + P_FREE));
  store<u32>(pool + P_FREE, obj);
  store<u32>(pool + POOL_LIVE, load<u32>(pool + POOL_LIVE) - 1);
  lockRelease(pool + P_LOCK);
}

@inline export function poolLive(pool: u32): u32 {
  return atomic.load<u32>(pool + POOL_LIVE);
}

/** Give every chunk back to kheap (the domain is being destroyed; no object survives). */
export function poolDestroy(pool: u32): void {
  lockAcquire(pool + P_LOCK);
  let chunk = load<u32>(pool + P_CHUNKS);
  while (chunk != 0) {
    const next = load<u32>(chunk);
    zoneFree(ZONE_KHEAP, load<u32>(chunk + 4));
    chunk = next;
  }
  store<u32>(pool + P_CHUNKS, 0);
  store<u32>(pool + P_FREE, 0);
  store<u32>(pool + P_NCHUNKS, 0);
  lockRelease(pool + P_LOCK);
}
