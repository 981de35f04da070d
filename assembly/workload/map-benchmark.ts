// dma_map_benchmark's kernel thread (kernel/dma/map_benchmark.c map_benchmark_thread,
// v5.15 and v7.1; reference §6.3–6.4) for one simulated CPU, on modelled time instead of
// ktime_get(): the CPU's clock is what the thread has been charged (assembly/cpu-time.ts:
// commands, CMD_SYNC waits, locks, the DMA-API, page-table and IOVA costs of memmap.ts
// CPU_COST_*) plus the busy-waits it did. One iteration, as the kernel's:
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
// kernel's would be, the averages the same). The threads run until their clocks pass the
// caller's mark; the caller cuts the run into calls (a mark, an iteration cap) so it can
// stop it, show progress, and keep its workers within a quantum of each other.
//
// Several CPUs on one worker run in modelled-time order: each iteration goes to the CPU
// whose clock is furthest behind (ties to the lowest CPU), so the shared resources they
// contend for in modelled time (assembly/cpu-time.ts) are booked in the order the CPUs
// reach them, to within one iteration. Across workers the caller keeps the CPUs within a
// quantum of each other (src/tasks/map-benchmark.ts).
//
// Simulated time (jiffies, HZ = 250) follows the CPUs' clocks: after each iteration a CPU
// whose clock has passed a jiffy boundary advances the shared clock to it (clockAdvanceTo,
// so a jiffy passes once however many CPUs reach it), firing due timers on this CPU —
// the lazy flush queue's 10 ms timeout among them — outside the timed windows, as its time
// is this CPU's.
//
// State: MAPBENCH_CPU_SIZE bytes per simulated CPU at MAPBENCH_BASE (memmap.ts); nothing allocated.

import { CACHE_LINE, MAPBENCH_BASE, MAPBENCH_CPU_SIZE } from "../memmap";
import { TIME_COUNT, TIME_DELAY, cpuNow, cpuSpend, cpuTimeEnter, cpuTimeLeave } from "../cpu-time";
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
  /**
   * Slot k of its group's run order (mapBenchRunGroup): the record of a group's k-th CPU
   * (first + k · stride) holds the CPU at heap position k. Scratch for one call.
   */
  heapCpu: u32;
  /** Where the clock went: TIME_COUNT u64 (cpu-time.ts TIME_*), adding up to `clock`. */
  time: u64;
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
export const MB_TIME: u32 = offsetof<MapBenchCpu>("time");

if (MB_TIME + TIME_COUNT * 8 > MAPBENCH_CPU_SIZE) ERROR("MapBenchCpu outgrew MAPBENCH_CPU_SIZE");

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
 * One iteration of the benchmark thread on simulated `cpu` (its record swapped in: the
 * clock is cpuNow()), adding to its sums. False once a map failed (-ENOMEM noted).
 */
function iteration(st: MapBenchCpu, dd: u32, dv: u32, cpu: u32, phys: u64, size: u64, dir: u32, transNs: u64): bool {
  const t0 = cpuNow();
  const iova = dmaMap(dd, dv, cpu, phys, size, dir, 0);
  const t1 = cpuNow();
  if (iova == 0) {
    st.status = -ENOMEM;
    return false;
  }
  // ndelay(dma_trans_ns): busy-waiting is this CPU's time.
  cpuSpend(TIME_DELAY, transNs);
  const t2 = cpuNow();
  dmaUnmap(dd, cpu, iova, size);
  const t3 = cpuNow();
  const m = (t1 - t0) / 100;
  const u = (t3 - t2) / 100;
  st.sumMap += m;
  st.sumUnmap += u;
  st.sumSqMap += m * m;
  st.sumSqUnmap += u * u;
  st.loops++;
  clockFollow(st.jiffies0, t3, cpu);
  return true;
}

// The group's run order: a binary min-heap of its running CPUs by (clock, CPU number) — the
// CPU furthest behind first, ties to the lowest CPU — so that picking the next CPU costs
// O(log n) rather than a scan of all n (a third of the wall time at 128 CPUs). Only the CPU
// that ran moves in it: no other CPU's clock changes while one runs.

@inline function heapAt(first: u32, stride: u32, k: u32): u32 {
  return benchState(first + k * stride).heapCpu;
}

@inline function heapSet(first: u32, stride: u32, k: u32, cpu: u32): void {
  benchState(first + k * stride).heapCpu = cpu;
}

/** Whether CPU a runs before CPU b: the lower clock, a tie to the lower CPU. */
@inline function runsBefore(a: u32, b: u32): bool {
  const ca = benchState(a).clock;
  const cb = benchState(b).clock;
  return ca < cb || (ca == cb && a < b);
}

/** Move the CPU at heap position k down to its place among the group's n. */
function heapSiftDown(first: u32, stride: u32, n: u32, k: u32): void {
  const cpu = heapAt(first, stride, k);
  for (;;) {
    let child: u32 = 2 * k + 1;
    if (child >= n) break;
    if (child + 1 < n && runsBefore(heapAt(first, stride, child + 1), heapAt(first, stride, child))) child++;
    const next = heapAt(first, stride, child);
    if (!runsBefore(next, cpu)) break;
    heapSet(first, stride, k, next);
    k = child;
  }
  heapSet(first, stride, k, cpu);
}

/**
 * The heap of the group's CPUs (first, first + stride, …: `count` of them) still running —
 * no map failed, under `maxLoops` iterations (0: no cap). Returns how many.
 */
function heapBuild(first: u32, stride: u32, count: u32, maxLoops: u64): u32 {
  let n: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const cpu = first + i * stride;
    const st = benchState(cpu);
    if (st.status != 0 || (maxLoops != 0 && st.loops >= maxLoops)) continue;
    heapSet(first, stride, n++, cpu);
  }
  for (let k = <i32>(n / 2) - 1; k >= 0; k--) heapSiftDown(first, stride, n, <u32>k);
  return n;
}

/**
 * Up to `maxIters` iterations over the group of simulated CPUs first, first + stride, …
 * (`count` of them; device `dv` in DMA domain `dd`; CPU c's buffer of `size` bytes at
 * physBase + c · physStride; direction `dir`; `transNs` of busy-wait), each going to the CPU
 * furthest behind, until every CPU's clock reaches `untilNs` or it has done `maxLoops`
 * iterations in all (0: no cap). Returns the iterations done (0: the group is there), or
 * -ENOMEM once a map failed (the kernel's thread ends there).
 */
export function mapBenchRunGroup(dd: u32, dv: u32, first: u32, stride: u32, count: u32, physBase: u64,
                                 physStride: u64, size: u64, dir: u32, transNs: u64, untilNs: u64, maxLoops: u64,
                                 maxIters: u32): i32 {
  let done: i32 = 0;
  let n = heapBuild(first, stride, count, maxLoops);
  while (<u32>done < maxIters && n > 0) {
    const cpu = heapAt(first, stride, 0);
    const st = benchState(cpu);
    if (st.clock >= untilNs) break; // the CPU furthest behind is there, so all are
    const rec = changetype<u32>(st);
    cpuTimeEnter(rec + MB_CLOCK, rec + MB_TIME, cpu);
    const ok = iteration(st, dd, dv, cpu, physBase + <u64>cpu * physStride, size, dir, transNs);
    cpuTimeLeave(rec + MB_CLOCK, rec + MB_TIME);
    if (!ok) return -ENOMEM;
    done++;
    if (maxLoops != 0 && st.loops >= maxLoops) heapSet(first, stride, 0, heapAt(first, stride, --n)); // its thread is done
    heapSiftDown(first, stride, n, 0);
  }
  return done;
}
