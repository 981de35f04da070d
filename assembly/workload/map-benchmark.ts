// dma_map_benchmark's kernel thread (kernel/dma/map_benchmark.c map_benchmark_thread,
// v5.15 and v7.1; reference §6.3–6.4) for one simulated CPU, on modelled time instead of
// ktime_get(): the CPU's clock is what the thread has been charged (TS_CPU_NS — commands,
// CMD_SYNC waits, locks, the DMA-API, page-table and IOVA costs of memmap.ts CPU_COST_*)
// plus the busy-waits it did. One iteration, as the kernel's:
//
//   fill the buffer with 0x66 unless FROM_DEVICE   (not charged: see below)
//   t0; dma_map_single(granule pages); t1          a failed map ends the thread (-ENOMEM)
//   ndelay(dma_trans_ns)                           the clock moves on by it
//   t2; dma_unmap_single; t3
//   m = (t1 − t0) / 100, u = (t3 − t2) / 100       whole 100 ns units, truncated
//   sum_m += m, sum_u += u, sum_m² += m², sum_u² += u², loops++   (u64, wrapping like atomic64)
//
// The fill is a CPU memset before t0, outside both timed windows, so it changes only how
// many iterations fit in the run; it is not charged (the count is a little higher than the
// kernel's would be, the averages the same). The thread runs until its clock passes the
// caller's mark; the caller cuts the run into chunks (a mark per chunk, a loop cap) so it
// can stop it, show progress, and interleave several simulated CPUs on one worker.
//
// Simulated time (jiffies, HZ = 250) follows the CPUs' clocks: after each iteration a CPU
// whose clock has passed a jiffy boundary advances the shared clock to it (clockAdvanceTo,
// so a jiffy passes once however many CPUs reach it), firing due timers on this CPU —
// the lazy flush queue's 10 ms timeout among them — outside the timed windows, as its time
// is this CPU's. The fastest CPU drives the shared clock: CPUs on other workers may be
// behind it in modelled time by up to a chunk.
//
// State: one cache line per simulated CPU at MAPBENCH_BASE (memmap.ts); nothing allocated.

import { CACHE_LINE, MAPBENCH_BASE, MAPBENCH_CPU_SIZE, TS_CPU_NS } from "../memmap";
import { slotBase } from "../sync";
import { jiffiesNow } from "../clock";
import { clockFollow } from "../timers";
import { dmaMap } from "../dma/iommu";
import { dmaUnmap } from "../dma/variant";
import { ENOMEM } from "../errno";

/**
 * One simulated CPU's benchmark thread (MAPBENCH_CPU_SIZE bytes at MAPBENCH_BASE): written
 * only by the worker running the CPU (its clock and sums once per chunk), read by the
 * TypeScript side between chunks and for the report. The sums wrap as the kernel's
 * atomic64_t do.
 */
@unmanaged export class MapBenchCpu {
  /** Modelled ns this CPU has run the benchmark (its clock). */
  clock: u64;
  /** Iterations done (the kernel's loops). */
  loops: u64;
  /** Σ m: map times in whole 100 ns units (sum_map_100ns). */
  sumMap: u64;
  /** Σ u: unmap times in whole 100 ns units (sum_unmap_100ns). */
  sumUnmap: u64;
  /** Σ m² (sum_sq_map). */
  sumSqMap: u64;
  /** Σ u² (sum_sq_unmap). */
  sumSqUnmap: u64;
  /** Simulated time (jiffies) when the run started (mapBenchReset). */
  jiffies0: u64;
  /** 0, or -ENOMEM once a map failed (the kernel's thread ends there). */
  status: i32;
}

// Read by name from the module (src/bench/map-benchmark.ts, src/tasks/map-benchmark.ts).
export const MB_CLOCK: u32 = offsetof<MapBenchCpu>("clock");
export const MB_LOOPS: u32 = offsetof<MapBenchCpu>("loops");
export const MB_SUM_MAP: u32 = offsetof<MapBenchCpu>("sumMap");
export const MB_SUM_UNMAP: u32 = offsetof<MapBenchCpu>("sumUnmap");
export const MB_SUM_SQ_MAP: u32 = offsetof<MapBenchCpu>("sumSqMap");
export const MB_SUM_SQ_UNMAP: u32 = offsetof<MapBenchCpu>("sumSqUnmap");
export const MB_JIFFIES0: u32 = offsetof<MapBenchCpu>("jiffies0");
export const MB_STATUS: u32 = offsetof<MapBenchCpu>("status");

if (offsetof<MapBenchCpu>() > MAPBENCH_CPU_SIZE) ERROR("MapBenchCpu outgrew MAPBENCH_CPU_SIZE");
// CPUs on different workers write their records at once: one line each, none shared.
if (MAPBENCH_CPU_SIZE % CACHE_LINE != 0) ERROR("MAPBENCH_CPU_SIZE must keep every MapBenchCpu on lines of its own");

@inline export function benchState(cpu: u32): MapBenchCpu {
  return changetype<MapBenchCpu>(MAPBENCH_BASE + cpu * MAPBENCH_CPU_SIZE);
}

/** Start a run on `cpu`: clock and sums at zero, simulated time noted. */
export function mapBenchReset(cpu: u32): void {
  const st = benchState(cpu);
  memory.fill(changetype<u32>(st), 0, MAPBENCH_CPU_SIZE);
  st.jiffies0 = jiffiesNow();
}

/**
 * Iterations of the benchmark thread on simulated `cpu` (device `dv` in DMA domain `dd`,
 * a buffer of `size` bytes at `phys`, direction `dir`, `transNs` of busy-wait), until the
 * CPU's clock reaches `untilNs` or `maxLoops` iterations are done: 0, or -ENOMEM once a map
 * failed (the kernel's thread ends there).
 */
export function mapBenchRun(dd: u32, dv: u32, cpu: u32, phys: u64, size: u64, dir: u32, transNs: u64,
                            untilNs: u64, maxLoops: u32): i32 {
  const st = benchState(cpu);
  if (st.status != 0) return -ENOMEM;
  const acc = slotBase() + TS_CPU_NS;
  // While this CPU runs, its clock is clock0 + (what the thread is charged − base).
  const clock0 = st.clock;
  const base = load<u64>(acc);
  const j0 = st.jiffies0;
  let loops: u64 = 0;
  let sumM: u64 = 0, sumU: u64 = 0, sqM: u64 = 0, sqU: u64 = 0;
  let rc: i32 = 0;
  for (let i: u32 = 0; i < maxLoops; i++) {
    const t0 = load<u64>(acc);
    if (clock0 + (t0 - base) >= untilNs) break;
    const iova = dmaMap(dd, dv, cpu, phys, size, dir, 0);
    const t1 = load<u64>(acc);
    if (iova == 0) {
      st.status = -ENOMEM;
      rc = -ENOMEM;
      break;
    }
    // ndelay(dma_trans_ns): busy-waiting is this CPU's time.
    const t2 = t1 + transNs;
    store<u64>(acc, t2);
    dmaUnmap(dd, cpu, iova, size);
    const t3 = load<u64>(acc);
    const m = (t1 - t0) / 100;
    const u = (t3 - t2) / 100;
    sumM += m;
    sumU += u;
    sqM += m * m;
    sqU += u * u;
    loops++;
    clockFollow(j0, clock0 + (t3 - base), cpu);
  }
  st.clock = clock0 + (load<u64>(acc) - base);
  st.loops += loops;
  st.sumMap += sumM;
  st.sumUnmap += sumU;
  st.sumSqMap += sqM;
  st.sumSqUnmap += sqU;
  return rc;
}
