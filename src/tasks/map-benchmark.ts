// The worker side of dma_map_benchmark (src/bench/map-benchmark.ts): the kernel creates one
// kthread per requested thread, each bound to nothing in particular (node −1), and lets them
// all loop until the run's time is up (kernel/dma/map_benchmark.c). Here a kthread is a
// simulated CPU, and one worker may run several of them: inside Wasm each iteration goes to
// its CPU furthest behind in modelled time (assembly/workload/map-benchmark.ts).
//
// Clock synchronisation across workers: a bounded lag of one quantum (src/tasks/lag-window.ts),
// so a CPU books a shared resource out of modelled order by at most a quantum plus one
// iteration. With one worker there is no window and the order is exact to within one iteration.
//
// Between two calls the worker looks at the run's stop word (raised by the orchestrator to
// stop early, or by a worker whose CPU's map failed, since that ends the run with -ENOMEM).

import type { TaskContext } from "../pool.js";
import { cpuError } from "../dma.js";
import { isErrno } from "../errno.js";
import { LagWindow, lagWindowBuffer } from "./lag-window.js";

/** Int32 word 0 of a run's control buffer (a LagWindow's: src/tasks/lag-window.ts). */
export const MB_STOP = 0; // non-zero: every worker stops at its next call (MB_STOP_*)
export const MB_STOP_REQUESTED = 1;
export const MB_STOP_ENOMEM = 2;

export interface MapBenchArgs {
  /** The run's control words and published clocks (mapBenchControl makes them). */
  control: SharedArrayBuffer;
  domain: number;
  device: number;
  /** The simulated CPUs this worker runs: first, first + stride, … (count of them). */
  first: number;
  stride: number;
  count: number;
  /** CPU c's buffer is at physBase + c · physStride. */
  physBase: number;
  physStride: number;
  /** Bytes per mapping (granule · PAGE_SIZE), direction (0/1/2), busy-wait per iteration. */
  size: number;
  dir: number;
  transNs: number;
  /** Modelled ns each CPU runs for (seconds · 1e9). */
  endNs: number;
  /** Iterations per CPU at most (0: no cap). */
  maxLoops: number;
  /** Modelled ns per quantum (the clocks' synchronisation bound across workers). */
  quantumNs: number;
  /** Iterations per Wasm call at most (so a call stays short and the stop word is seen). */
  chunkLoops: number;
}

export interface MapBenchWorkerResult {
  first: number;
  /** Wasm calls made, and times the worker waited for the others to catch up. */
  calls: number;
  waits: number;
}

/** A run's control words, for `workers` workers: the stop word and their lag window. */
export function mapBenchControl(workers: number): SharedArrayBuffer {
  return lagWindowBuffer(workers);
}

export const mapBenchmarkTasks = {
  /** Run this worker's simulated CPUs of a dma_map_benchmark run to their end, quantum by quantum. */
  "mapbench.run": (ctx: TaskContext, a: MapBenchArgs): MapBenchWorkerResult => {
    const { core } = ctx;
    const L = core.layout;
    const ctl = new Int32Array(a.control, 0, 2);
    const window = new LagWindow(a.control, a.first);
    const stopped = () => Atomics.load(ctl, MB_STOP) !== 0;
    const cpus = Array.from({ length: a.count }, (_, i) => a.first + i * a.stride);
    /** The clock of this worker's CPU furthest behind among those still running (Infinity: all done). */
    const behind = (): number => {
      let min = Infinity;
      for (const c of cpus) {
        const st = L.MAPBENCH_BASE + c * L.MAPBENCH_CPU_SIZE;
        const clock = core.readU64Number(st + L.MB_CLOCK);
        const done = clock >= a.endNs || (a.maxLoops > 0 && core.readU64Number(st + L.MB_LOOPS) >= a.maxLoops) ||
          core.readU32(st + L.MB_STATUS) !== 0;
        if (!done && clock < min) min = clock;
      }
      return min;
    };
    let calls = 0;
    let waits = 0;
    try {
      for (let mine = behind(); mine !== Infinity && !stopped(); mine = behind()) {
        window.publish(mine);
        const seen = window.generation();
        const until = Math.min(a.endNs, window.othersMin() + a.quantumNs);
        if (until <= mine) {
          waits++;
          window.waitForOthers(seen, stopped);
          continue;
        }
        const rc = core.raw.mapbench_run_group(a.device, a.first, a.stride, a.count, a.physBase, a.physStride, a.size,
          a.dir, a.transNs, until, a.maxLoops, a.chunkLoops);
        calls++;
        if (isErrno(core, rc, "ENOMEM")) {
          // The kthread returned -ENOMEM: the run's result is void, so stop everyone.
          Atomics.store(ctl, MB_STOP, MB_STOP_ENOMEM);
          break;
        }
        if (rc < 0) throw cpuError(core, rc, a.first, `mapbench.run (worker ${ctx.worker})`);
      }
    } finally {
      window.publish(Infinity); // the others no longer wait for this worker
      // Give the CPUs back, so the orchestrator (or a later run) may use them.
      for (const cpu of cpus) core.raw.dma_release_cpu(a.domain, cpu);
    }
    return { first: a.first, calls, waits };
  },
};
