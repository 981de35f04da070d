// The worker side of dma_map_benchmark (src/bench/map-benchmark.ts): the kernel creates one
// kthread per requested thread, each bound to nothing in particular (node −1), and lets them
// all loop until the run's time is up (kernel/dma/map_benchmark.c). Here a kthread is a
// simulated CPU, and one worker may run several of them: inside Wasm each iteration goes to
// its CPU furthest behind in modelled time (assembly/workload/map-benchmark.ts).
//
// Clock synchronisation across workers: lockstep quanta of modelled time, as parallel gem5
// and SST run their partitions. Every worker runs its CPUs up to the end of quantum q, then
// waits at a barrier until every worker has; only then does quantum q + 1 begin. So no CPU
// is ever more than one quantum (plus the iteration that crossed its end) ahead of another,
// and a CPU books a shared resource (assembly/cpu-time.ts) out of modelled order by at
// most that much: each wait is exact to within quantum + one iteration. With one worker
// there is no barrier and the order is exact to within one iteration.
//
// Between two calls the worker looks at the run's stop word (raised by the orchestrator to
// stop early, or by a worker whose CPU's map failed, since that ends the run with -ENOMEM).

import type { TaskContext } from "../pool.js";
import { cpuError } from "../dma.js";
import { isErrno } from "../errno.js";

/** Int32 words of a run's control buffer. */
export const MB_STOP = 0; // non-zero: every worker stops at its next call (MB_STOP_*)
const MB_BARRIER_LOCK = 1; // guards the two words below
const MB_BARRIER_ARRIVED = 2; // workers waiting at the current quantum's end
const MB_BARRIER_WORKERS = 3; // workers still taking part
const MB_BARRIER_GEN = 4; // bumped when a quantum's barrier opens
export const MB_CONTROL_BYTES = 32;
export const MB_STOP_REQUESTED = 1;
export const MB_STOP_ENOMEM = 2;

export interface MapBenchArgs {
  /** The run's control words (MB_CONTROL_BYTES); mapBenchControl makes them. */
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
  /** Wasm calls made, and quanta run. */
  calls: number;
  quanta: number;
}

/** A run's control words, for `workers` workers. */
export function mapBenchControl(workers: number): SharedArrayBuffer {
  const control = new SharedArrayBuffer(MB_CONTROL_BYTES);
  Atomics.store(new Int32Array(control), MB_BARRIER_WORKERS, workers);
  return control;
}

function barrierLock(ctl: Int32Array): void {
  while (Atomics.compareExchange(ctl, MB_BARRIER_LOCK, 0, 1) !== 0) { /* held for a few instructions */ }
}

/** Open the barrier if every worker still taking part has arrived (lock held). */
function openIfAll(ctl: Int32Array): boolean {
  if (Atomics.load(ctl, MB_BARRIER_ARRIVED) < Atomics.load(ctl, MB_BARRIER_WORKERS)) return false;
  Atomics.store(ctl, MB_BARRIER_ARRIVED, 0);
  Atomics.add(ctl, MB_BARRIER_GEN, 1);
  return true;
}

/** Wait at the end of a quantum until every worker taking part is there (or the run stops). */
function barrier(ctl: Int32Array): void {
  barrierLock(ctl);
  const gen = Atomics.load(ctl, MB_BARRIER_GEN);
  Atomics.add(ctl, MB_BARRIER_ARRIVED, 1);
  const opened = openIfAll(ctl);
  Atomics.store(ctl, MB_BARRIER_LOCK, 0);
  if (opened) {
    Atomics.notify(ctl, MB_BARRIER_GEN);
    return;
  }
  // Spin briefly (a quantum is microseconds of work), then sleep in short waits: a wake-up
  // lost between the check and the wait costs at most one timeout, never a hang.
  for (let spins = 0; Atomics.load(ctl, MB_BARRIER_GEN) === gen; spins++) {
    if (Atomics.load(ctl, MB_STOP) !== 0) return;
    if (spins > 2000) Atomics.wait(ctl, MB_BARRIER_GEN, gen, 5);
  }
}

/** This worker takes no more part: the others stop waiting for it. */
function leave(ctl: Int32Array): void {
  barrierLock(ctl);
  Atomics.sub(ctl, MB_BARRIER_WORKERS, 1);
  const opened = openIfAll(ctl);
  Atomics.store(ctl, MB_BARRIER_LOCK, 0);
  if (opened) Atomics.notify(ctl, MB_BARRIER_GEN);
}

export const mapBenchmarkTasks = {
  /** Run this worker's simulated CPUs of a dma_map_benchmark run to their end, quantum by quantum. */
  "mapbench.run": (ctx: TaskContext, a: MapBenchArgs): MapBenchWorkerResult => {
    const { core } = ctx;
    const L = core.layout;
    const ctl = new Int32Array(a.control);
    const cpus = Array.from({ length: a.count }, (_, i) => a.first + i * a.stride);
    const finished = (): boolean => cpus.every((c) => {
      const st = L.MAPBENCH_BASE + c * L.MAPBENCH_CPU_SIZE;
      return core.readU64Number(st + L.MB_CLOCK) >= a.endNs || (a.maxLoops > 0 && core.readU64Number(st + L.MB_LOOPS) >= a.maxLoops);
    });
    let calls = 0;
    let quanta = 0;
    try {
      for (let until = 0; Atomics.load(ctl, MB_STOP) === 0 && !finished();) {
        until = Math.min(a.endNs, until + a.quantumNs);
        for (;;) {
          const rc = core.raw.mapbench_run_group(a.device, a.first, a.stride, a.count, a.physBase, a.physStride, a.size,
            a.dir, a.transNs, until, a.maxLoops, a.chunkLoops);
          calls++;
          if (isErrno(core, rc, "ENOMEM")) {
            // The kthread returned -ENOMEM: the run's result is void, so stop everyone.
            Atomics.store(ctl, MB_STOP, MB_STOP_ENOMEM);
            break;
          }
          if (rc < 0) throw cpuError(core, rc, a.first, `mapbench.run (worker ${ctx.worker})`);
          if (rc === 0 || Atomics.load(ctl, MB_STOP) !== 0) break;
        }
        quanta++;
        barrier(ctl);
      }
    } finally {
      leave(ctl);
      // Give the CPUs back, so the orchestrator (or a later run) may use them.
      for (const cpu of cpus) core.raw.dma_release_cpu(a.domain, cpu);
    }
    return { first: a.first, calls, quanta };
  },
};
