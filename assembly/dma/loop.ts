// Batched DMA-API work for benchmarks and stress runs (one Wasm call, many operations):
// a driver CPU doing dma_map → (device touches the buffer) → dma_unmap pairs, and a
// switcher CPU that flips a live domain from strict to lazy over and over through the
// test hook (assembly/dma/domain.ts dmaRebuildStrict). Both follow the kernel paths of
// dma/iommu.ts exactly; the loop only adds the driver and device around them.

import { slotBase } from "../sync";
import { TS_STATS, TS_ACCESS_RESULT } from "../memmap";
import { seedState, xorshift64 } from "../random";
import { smmuLive } from "../smmu/smmu";
import { smmuTranslate, ACCESS_WRITE } from "../smmu/translate";
import { AR_ORACLE_CLASS } from "../smmu/access";
import { AC_LAZY_WINDOW, AC_OK, AC_UNCHECKED } from "../safety/oracle";
import { ringPost } from "../device/engine";
import { clockAdvance } from "../timers";
import {
  DV_SID, DV_SMMU, dmaPause, dmaRebuildStrict, dmaResume, dmaSwitchToLazy, loopEnter, loopLeave,
  parkIfPaused,
} from "./domain";
import { dmaMap, dmaUnmap } from "./iommu";
import { countersCache, countersPublish } from "../counters";

/** After each map, the device reads/writes the buffer's first byte through the SMMU. */
export const LOOP_TOUCH: u32 = 1 << 0;
/** After each map, the IOVA is posted to the device ring `ring` (for a device worker). */
export const LOOP_POST: u32 = 1 << 1;
/** The loop may be parked by a switcher (take part in the pause protocol). */
export const LOOP_PARKABLE: u32 = 1 << 2;

// Results in the thread slot's TS_STATS, u64 each.
export const LS_PAIRS: u32 = 0;
export const LS_MAP_FAILS: u32 = 1;
export const LS_TOUCHES: u32 = 2;
export const LS_TOUCH_FAULTS: u32 = 3;
export const LS_TOUCH_VIOLATIONS: u32 = 4;
export const LS_UNMAP_ERRORS: u32 = 5;
export const LS_POST_DROPS: u32 = 6;
export const LS_SWITCHES: u32 = 7;

@inline function bump(which: u32): void {
  const p = slotBase() + TS_STATS + which * 8;
  store<u64>(p, load<u64>(p) + 1);
}

function clearStats(): void {
  memory.fill(slotBase() + TS_STATS, 0, 8 * 8);
}

/**
 * `count` dma_map + dma_unmap pairs of `size` bytes for device `dv` on simulated CPU
 * `cpu`, each at a random page of [physBase, physBase + physPages pages).
 */
export function loopPairs(dd: u32, dv: u32, cpu: u32, count: u32, size: u64, physBase: u64, physPages: u32,
                          dir: u32, flags: u32, ring: u32, seed: u32): void {
  clearStats();
  const s = smmuLive(load<u32>(dv + DV_SMMU));
  const sid = load<u32>(dv + DV_SID);
  const parkable = (flags & LOOP_PARKABLE) != 0;
  let x = seedState(seed == 0 ? 1 : seed);
  if (parkable) loopEnter(dd);
  countersCache();
  for (let i: u32 = 0; i < count; i++) {
    if (parkable) parkIfPaused(dd);
    x = xorshift64(x);
    const phys = physBase + ((x >> 16) % <u64>physPages) * 4096;
    const iova = dmaMap(dd, dv, cpu, phys, size, dir, 0);
    if (iova == 0) {
      bump(LS_MAP_FAILS);
      continue;
    }
    if ((flags & LOOP_TOUCH) != 0 && s != 0) touch(s, sid, iova);
    if ((flags & LOOP_POST) != 0 && !ringPost(ring, iova, <u32>size, 1)) bump(LS_POST_DROPS);
    if (dmaUnmap(dd, cpu, iova, size) != 0) bump(LS_UNMAP_ERRORS);
    bump(LS_PAIRS);
  }
  countersPublish();
  if (parkable) loopLeave(dd);
}

/** The device writes the buffer: a translation, checked by the oracle if there is one. */
function touch(s: u32, sid: u32, iova: u64): void {
  const res = slotBase() + TS_ACCESS_RESULT;
  store<u32>(res + AR_ORACLE_CLASS, AC_OK);
  bump(LS_TOUCHES);
  if (smmuTranslate(s, sid, iova, ACCESS_WRITE, res) != 0) {
    bump(LS_TOUCH_FAULTS);
    return;
  }
  const cls = load<u32>(res + AR_ORACLE_CLASS);
  if (cls != AC_OK && cls != AC_LAZY_WINDOW && cls != AC_UNCHECKED) bump(LS_TOUCH_VIOLATIONS);
}

/**
 * `rounds` of: park the domain's loops, make it strict again (test hook), let them run
 * `gap` spins, switch it to lazy in its variant while they run, `gap` spins, one jiffy of
 * simulated time (the flush-queue timer fires on `cpu`). Stops early if `stop` (a shared
 * word) becomes non-zero.
 */
export function loopSwitch(dd: u32, cpu: u32, rounds: u32, gap: u32, stop: u32): void {
  clearStats();
  for (let r: u32 = 0; r < rounds; r++) {
    if (stop != 0 && atomic.load<u32>(stop) != 0) break;
    dmaPause(dd);
    dmaRebuildStrict(dd, cpu);
    dmaResume(dd);
    spin(gap);
    if (dmaSwitchToLazy(dd) == 0) bump(LS_SWITCHES);
    spin(gap);
    clockAdvance(1, cpu);
  }
}

function spin(n: u32): void {
  for (let i: u32 = 0; i < n; i++) atomic.load<u32>(slotBase());
}
