// Bringing the shared memory to life: lay out the zones of the memory map (memmap.ts) for
// the size of memory the orchestrator created. Runs once, on the orchestrating thread,
// before any worker attaches; workers only check the magic.

import {
  ABI_VERSION, CONTROL_BASE, CTL_ABI, CTL_INIT_STATE, CTL_MAGIC, CTL_MEMORY_BYTES,
  CTL_PAGE_SHIFT, DYNAMIC_BASE, FRAME_SIZE, LAYOUT_MAGIC, STATIC_END, ZONE_KHEAP, ZONE_PHYS,
  NULL_GUARD_SIZE,
} from "./memmap";
import { MAX_ORDER, zoneInit, zoneMetaBytes } from "./phys";

export const INIT_OK: i32 = 0;
export const INIT_ERR_TOO_SMALL: i32 = -1;
export const INIT_ERR_ALREADY: i32 = -2;

@inline function alignUp(x: u32, a: u32): u32 {
  return (x + a - 1) & ~(a - 1);
}

/**
 * Split [DYNAMIC_BASE, memoryBytes) into the kheap zone (kheapBytes of frames) and the
 * phys zone (everything left). Each zone's frame metadata precedes its frames.
 */
export function coreInit(memoryBytes: u32, kheapBytes: u32, pageShift: u32): i32 {
  if (atomic.cmpxchg<u32>(CONTROL_BASE + CTL_INIT_STATE, 0, 1) != 0) return INIT_ERR_ALREADY;
  memory.fill(NULL_GUARD_SIZE, 0, STATIC_END - NULL_GUARD_SIZE);

  const kheapFrames = kheapBytes / FRAME_SIZE;
  const kheapMeta = DYNAMIC_BASE;
  const kheapFramesAt = alignUp(kheapMeta + zoneMetaBytes(kheapFrames), FRAME_SIZE);
  const physMeta = kheapFramesAt + kheapFrames * FRAME_SIZE;
  if (physMeta >= memoryBytes) {
    atomic.store<u32>(CONTROL_BASE + CTL_INIT_STATE, 0);
    return INIT_ERR_TOO_SMALL;
  }
  // phys frames + their metadata (12 B each) must fit in what is left.
  const left = memoryBytes - physMeta;
  let physFrames = left / (FRAME_SIZE + zoneMetaBytes(1));
  let physFramesAt = alignUp(physMeta + zoneMetaBytes(physFrames), FRAME_SIZE);
  while (physFrames > 0 && physFramesAt + physFrames * FRAME_SIZE > memoryBytes) {
    physFrames--;
    physFramesAt = alignUp(physMeta + zoneMetaBytes(physFrames), FRAME_SIZE);
  }
  // Whole top-order blocks only, so the buddy hands out the bottom of the zone first (the
  // first table of a run sits at PHYS_BASE, as in the kernel-code traces).
  const blockFrames: u32 = 1 << MAX_ORDER;
  if (physFrames >= blockFrames) physFrames &= ~(blockFrames - 1);
  if (physFrames < 16) {
    atomic.store<u32>(CONTROL_BASE + CTL_INIT_STATE, 0);
    return INIT_ERR_TOO_SMALL;
  }
  zoneInit(ZONE_KHEAP, kheapMeta, kheapFramesAt, kheapFrames);
  zoneInit(ZONE_PHYS, physMeta, physFramesAt, physFrames);

  store<u32>(CONTROL_BASE + CTL_MEMORY_BYTES, memoryBytes);
  store<u32>(CONTROL_BASE + CTL_PAGE_SHIFT, pageShift);
  store<u32>(CONTROL_BASE + CTL_ABI, ABI_VERSION);
  store<u32>(CONTROL_BASE + CTL_MAGIC, LAYOUT_MAGIC);
  atomic.store<u32>(CONTROL_BASE + CTL_INIT_STATE, 2);
  return INIT_OK;
}

/** True once coreInit has finished on this memory (what a worker checks before work). */
export function coreReady(): bool {
  return atomic.load<u32>(CONTROL_BASE + CTL_INIT_STATE) == 2 &&
         load<u32>(CONTROL_BASE + CTL_MAGIC) == LAYOUT_MAGIC &&
         load<u32>(CONTROL_BASE + CTL_ABI) == ABI_VERSION;
}
