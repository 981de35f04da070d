// Bringing the shared memory to life: lay out the zones of the memory map (memmap.ts) for
// the RAM and kheap the orchestrator asked for. coreMemoryBytes says how much memory that
// takes (the orchestrator creates exactly that, then calls coreInit); coreInit runs once,
// on the orchestrating thread, before any worker attaches; workers only check the magic.
//
//   DYNAMIC_BASE ┌ kheap frame metadata ┐ kheap frames ┌ phys frame metadata ┐ phys frames ┐
//                   (FrameMeta each)    4K-aligned       (FrameMeta each)    4K-aligned

import {
  ABI_VERSION, CONTROL_BASE, ControlBlock, control, DYNAMIC_BASE, FRAME_SIZE, LAYOUT_MAGIC, STATIC_END,
  ZONE_KHEAP, ZONE_PHYS, NULL_GUARD_SIZE,
} from "./memmap";
import { zoneInit, zoneMetaBytes } from "./phys";
import { ESIM_ALREADY_READY, ESIM_MEMORY_TOO_SMALL } from "./errno";

/** The fewest frames of simulated RAM a machine has (a few tables' worth). */
export const MIN_RAM_FRAMES: u32 = 16;
/** The word coreInit claims and publishes with atomics (ControlBlock.initState). */
const INIT_STATE_WORD: u32 = CONTROL_BASE + offsetof<ControlBlock>("initState");
/** Wasm pages are 64 KiB: the memory is a whole number of them. */
const WASM_PAGE: u64 = 65536;

@inline function alignUp(x: u64, a: u64): u64 {
  return (x + a - 1) & ~(a - 1);
}

/** Where each zone's metadata and frames go, for `kheapFrames` and `ramFrames` frames. */
@inline function kheapFramesAt(kheapFrames: u32): u64 {
  return alignUp(<u64>DYNAMIC_BASE + zoneMetaBytes(kheapFrames), FRAME_SIZE);
}
@inline function physMetaAt(kheapFrames: u32): u64 {
  return kheapFramesAt(kheapFrames) + <u64>kheapFrames * FRAME_SIZE;
}
@inline function physFramesAt(kheapFrames: u32, ramFrames: u32): u64 {
  return alignUp(physMetaAt(kheapFrames) + zoneMetaBytes(ramFrames), FRAME_SIZE);
}

/**
 * Bytes of shared memory a machine with `ramFrames` frames of simulated RAM and
 * `kheapFrames` frames of simulator-private memory needs (whole Wasm pages). A pure
 * function: the orchestrator asks it before the memory exists (any instance will do).
 */
export function coreMemoryBytes(ramFrames: u32, kheapFrames: u32): u64 {
  return alignUp(physFramesAt(kheapFrames, ramFrames) + <u64>ramFrames * FRAME_SIZE, WASM_PAGE);
}

/**
 * Lay out the kheap zone (kheapFrames frames) and the phys zone (exactly ramFrames frames)
 * in memory of `memoryBytes` bytes. 0, or -ESIM_ALREADY_READY, -ESIM_MEMORY_TOO_SMALL.
 */
export function coreInit(memoryBytes: u32, ramFrames: u32, kheapFrames: u32, pageShift: u32): i32 {
  if (atomic.cmpxchg<u32>(INIT_STATE_WORD, 0, 1) != 0) return -ESIM_ALREADY_READY;
  if (ramFrames < MIN_RAM_FRAMES || coreMemoryBytes(ramFrames, kheapFrames) > <u64>memoryBytes) {
    atomic.store<u32>(INIT_STATE_WORD, 0);
    return -ESIM_MEMORY_TOO_SMALL;
  }
  memory.fill(NULL_GUARD_SIZE, 0, STATIC_END - NULL_GUARD_SIZE);
  // The buddy covers any frame count with maximal aligned blocks, so with a whole number of
  // top-order blocks (4 MiB) the first table of a run sits at PHYS_BASE, as in the
  // kernel-code traces; other sizes work the same, their first table a little higher.
  zoneInit(ZONE_KHEAP, DYNAMIC_BASE, <u32>kheapFramesAt(kheapFrames), kheapFrames);
  zoneInit(ZONE_PHYS, <u32>physMetaAt(kheapFrames), <u32>physFramesAt(kheapFrames, ramFrames), ramFrames);

  const ctl = control();
  ctl.memoryBytes = memoryBytes;
  ctl.pageShift = pageShift;
  ctl.abi = ABI_VERSION;
  ctl.magic = LAYOUT_MAGIC;
  atomic.store<u32>(INIT_STATE_WORD, 2);
  return 0;
}

/** True once coreInit has finished on this memory (what a worker checks before work). */
export function coreReady(): bool {
  const ctl = control();
  return atomic.load<u32>(INIT_STATE_WORD) == 2 && ctl.magic == LAYOUT_MAGIC && ctl.abi == ABI_VERSION;
}
