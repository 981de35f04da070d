// Batched DMA-API work for benchmarks (one Wasm call, many operations): a driver CPU doing
// dma_map → (the device touches the buffer) → dma_unmap pairs, following the kernel paths of
// dma/iommu.ts exactly; the loop only adds the driver and device around them. Runs under
// load — several CPUs, the live switch, attackers — are the scenario runner's workloads
// (assembly/workload/), whose per-operation bookkeeping this loop leaves out so that it
// measures the DMA layer alone.

import { slotBase } from "../sync";
import { TS_STATS, TS_STATS_COUNT, TS_ACCESS_RESULT } from "../memmap";
import { seedState, xorshift64 } from "../random";
import { smmuLive } from "../smmu/smmu";
import { smmuTranslate, ACCESS_WRITE } from "../smmu/translate";
import { AR_ORACLE_CLASS } from "../smmu/access";
import { AC_LAZY_WINDOW, AC_OK, AC_UNCHECKED } from "../safety/oracle";
import { dmaDevice } from "./domain";
import { dmaMap } from "./iommu";
import { dmaUnmap } from "./variant";
import { countersCache, countersPublish } from "../counters";

/** After each map, the device reads/writes the buffer's first byte through the SMMU. */
export const LOOP_TOUCH: u32 = 1 << 0;

// Results: u64 counters in the thread slot's statistics array (ThreadSlot.stats, TS_STATS),
// indexed by LS_* — an array of like counters, so a set of indexes rather than a record.
// The caller reads them by name once the call has returned (src/tasks/dma.ts).
export const LS_PAIRS: u32 = 0;
export const LS_MAP_FAILS: u32 = 1;
export const LS_TOUCHES: u32 = 2;
export const LS_TOUCH_FAULTS: u32 = 3;
export const LS_TOUCH_VIOLATIONS: u32 = 4;
export const LS_UNMAP_ERRORS: u32 = 5;
/** Counters a call clears before it starts: every LS_* and the two after them. */
const LS_CLEARED: u32 = 8;

if (LS_UNMAP_ERRORS >= LS_CLEARED) ERROR("the DMA loop's statistics outgrew LS_CLEARED");
if (LS_CLEARED > TS_STATS_COUNT) ERROR("the DMA loop's statistics outgrew ThreadSlot.stats (TS_STATS_COUNT)");

@inline function bump(which: u32): void {
  const p = slotBase() + TS_STATS + which * 8;
  store<u64>(p, load<u64>(p) + 1);
}

function clearStats(): void {
  memory.fill(slotBase() + TS_STATS, 0, LS_CLEARED * 8);
}

/**
 * `count` dma_map + dma_unmap pairs of `size` bytes for device `dv` on simulated CPU
 * `cpu`, each at a random page of [physBase, physBase + physPages pages).
 */
export function loopPairs(dd: u32, dv: u32, cpu: u32, count: u32, size: u64, physBase: u64, physPages: u32,
                          dir: u32, flags: u32, seed: u32): void {
  clearStats();
  const dev = dmaDevice(dv);
  const s = smmuLive(dev.smmu);
  const sid = dev.sid;
  let x = seedState(seed == 0 ? 1 : seed);
  countersCache();
  for (let i: u32 = 0; i < count; i++) {
    x = xorshift64(x);
    const phys = physBase + ((x >> 16) % <u64>physPages) * 4096;
    const iova = dmaMap(dd, dv, cpu, phys, size, dir, 0);
    if (iova == 0) {
      bump(LS_MAP_FAILS);
      continue;
    }
    if ((flags & LOOP_TOUCH) != 0 && s != 0) touch(s, sid, iova);
    if (dmaUnmap(dd, cpu, iova, size) != 0) bump(LS_UNMAP_ERRORS);
    bump(LS_PAIRS);
  }
  countersPublish();
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
