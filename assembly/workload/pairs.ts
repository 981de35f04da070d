// The simplest driver, and the seed race's mapper: each operation maps one buffer (a random
// size between min and max bytes, at a random page of this CPU's pool), lets the device
// write it once through the SMMU, and unmaps it — dma_map_single, one DMA, dma_unmap_single,
// as dma_map_benchmark and many drivers' slow paths do (reference §6.4). With nothing kept
// mapped between operations, the IOVA an unmap frees is the one the next map gets (the
// rcache hands back its most recent), so a translation an unmap failed to invalidate is
// reached by the very next write, and the oracle sees it. Nothing is left to drain.

import { ACCESS_WRITE } from "../smmu/translate";
import { randomOf, xorshift64 } from "../random";
import { WC_OPS, WorkloadCpu, wcAdd } from "./state";
import { wlAccess, wlMap, wlUnmap } from "./driver";

/** Pages of the pool (256 MiB): a reused IOVA almost always maps a different page than before. */
const POOL_PAGES: u64 = 65536;

@inline function next(w: WorkloadCpu): u64 {
  const x = xorshift64(w.rng);
  w.rng = x;
  return randomOf(x);
}

export function pairsOp(w: WorkloadCpu, cpu: u32): void {
  const phys = w.phys + ((next(w) >> 16) % POOL_PAGES) * 4096;
  const lo = w.min;
  const bytes = lo + <u32>((next(w) >> 20) % <u64>(w.max - lo + 1));
  const iova = wlMap(w, cpu, phys, bytes);
  if (iova != 0) {
    wlAccess(w, iova, ACCESS_WRITE); // one PCIe write at the buffer's start
    wlUnmap(w, cpu, iova, bytes);
  }
  wcAdd(w, WC_OPS, 1);
}
