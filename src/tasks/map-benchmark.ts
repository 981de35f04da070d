// The worker side of dma_map_benchmark (src/bench/map-benchmark.ts): the kernel creates one
// kthread per requested thread, each bound to nothing in particular (node −1), and lets them
// all loop until the run's time is up (kernel/dma/map_benchmark.c, v5.15 and v7.1). Here a
// kthread is a simulated CPU, and one worker may run several of them: it interleaves them
// in slices of modelled time (assembly/workload/map-benchmark.ts mapBenchRun), so that its
// CPUs stay within a slice of each other on the modelled clock, as CPUs running at once
// would. Between two slices it looks at the run's stop word (raised by the orchestrator to
// stop early, or by a worker whose CPU's map failed, since that ends the run with -ENOMEM).

import type { TaskContext } from "../pool.js";
import { cpuError } from "../dma.js";
import { isErrno } from "../errno.js";

/** Int32 words of a run's control buffer. */
export const MB_STOP = 0; // non-zero: every worker stops at its next slice (MB_STOP_*)
export const MB_CONTROL_BYTES = 8;
export const MB_STOP_REQUESTED = 1;
export const MB_STOP_ENOMEM = 2;

export interface MapBenchArgs {
  /** The run's control words (MB_CONTROL_BYTES). */
  control: SharedArrayBuffer;
  domain: number;
  device: number;
  /** The simulated CPUs this worker runs, and each one's buffer (physical address). */
  cpus: number[];
  phys: number[];
  /** Bytes per mapping (granule · PAGE_SIZE), direction (0/1/2), busy-wait per iteration. */
  size: number;
  dir: number;
  transNs: number;
  /** Modelled ns each CPU runs for (seconds · 1e9). */
  endNs: number;
  /** Iterations per CPU at most (0: no cap). */
  maxLoops: number;
  /** Modelled ns per slice, and iterations per Wasm call at most (so a call stays short). */
  sliceNs: number;
  chunkLoops: number;
}

export interface MapBenchWorkerResult {
  cpus: number[];
  /** Wasm calls made (slices run). */
  calls: number;
}

export const mapBenchmarkTasks = {
  /** Run this worker's simulated CPUs of a dma_map_benchmark run to their end. */
  "mapbench.run": (ctx: TaskContext, a: MapBenchArgs): MapBenchWorkerResult => {
    const { core } = ctx;
    const L = core.layout;
    const stop = new Int32Array(a.control);
    const active = a.cpus.map((cpu, i) => ({ cpu, phys: a.phys[i]!, st: L.MAPBENCH_BASE + cpu * L.MAPBENCH_CPU_SIZE }));
    let calls = 0;
    try {
      while (active.length > 0 && Atomics.load(stop, MB_STOP) === 0) {
        for (let i = 0; i < active.length; i++) {
          const c = active[i]!;
          const clock = core.readU64Number(c.st + L.MB_CLOCK);
          const loops = core.readU64Number(c.st + L.MB_LOOPS);
          const left = a.maxLoops > 0 ? a.maxLoops - loops : a.chunkLoops;
          if (clock >= a.endNs || left <= 0) {
            active.splice(i--, 1);
            continue;
          }
          const until = Math.min(a.endNs, clock + a.sliceNs);
          const rc = core.raw.mapbench_run(a.device, c.cpu, c.phys, a.size, a.dir, a.transNs, until,
                                           Math.min(left, a.chunkLoops));
          calls++;
          if (isErrno(core, rc, "ENOMEM")) {
            // The kthread returned -ENOMEM: the run's result is void, so stop everyone.
            Atomics.store(stop, MB_STOP, MB_STOP_ENOMEM);
            active.splice(i--, 1);
          } else if (rc < 0) {
            throw cpuError(core, rc, c.cpu, `mapbench.run (worker ${ctx.worker})`);
          }
        }
      }
    } finally {
      // Give the CPUs back, so the orchestrator (or a later run) may use them.
      for (const cpu of a.cpus) core.raw.dma_release_cpu(a.domain, cpu);
    }
    return { cpus: a.cpus, calls };
  },
};
