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
//
// The arguments are checked before the run (src/tasks/args.ts): the control words sized for
// the pool, a live domain and a device on it, CPUs of the domain that no other worker runs.

import type { TaskContext } from "../pool.js";
import { cpuError, DIRECTION_CODES } from "../dma.js";
import { isErrno } from "../errno.js";
import { ArgumentError } from "../errors.js";
import { checkAddress, checkInt, MAX_ADDRESS, type OptionKeys } from "../validate.js";
import { LagWindow, lagWindowBuffer, lagWindowBytes } from "./lag-window.js";
import {
  argsCheck, checkCpu, checkDeviceOf, checkLive, checkSharedBuffer, checkU32, dmaDomainCpus, taskFields, type ArgsScope,
  type BuiltinTask, type WorkerUse,
} from "./args.js";

/** Int32 word 0 of a run's control buffer (a LagWindow's: src/tasks/lag-window.ts). */
export const MB_STOP = 0; // non-zero: every worker stops at its next call (MB_STOP_*)
export const MB_STOP_REQUESTED = 1;
export const MB_STOP_ENOMEM = 2;

export interface MapBenchArgs {
  /** The run's control words and published clocks, one per worker (mapBenchControl makes them). */
  control: SharedArrayBuffer;
  domain: number;
  /** A device on `domain`. */
  device: number;
  /** The simulated CPUs this worker runs: first, first + stride, … (count of them), of `domain` and no other worker's. */
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

const MAP_BENCH_KEYS = {
  control: true, domain: true, device: true, first: true, stride: true, count: true, physBase: true, physStride: true,
  size: true, dir: true, transNs: true, endNs: true, maxLoops: true, quantumNs: true, chunkLoops: true,
} as const satisfies OptionKeys<MapBenchArgs>;

/** A count of modelled nanoseconds or iterations: an integer a JS number holds exactly. */
const checkWhole = (name: string, v: unknown, s: ArgsScope, min = 0) => checkInt(name, v, min, MAX_ADDRESS, s.context);

/** This worker's CPUs, and the control words it shares with the others. */
function checkMapBenchArgs(a: unknown, s: ArgsScope): WorkerUse {
  const { core } = s;
  const f = taskFields<MapBenchArgs>(a, MAP_BENCH_KEYS, s);
  checkSharedBuffer("control", f.control, lagWindowBytes(s.workers), "mapBenchControl(workers): the stop word and a clock per worker",
    s);
  const domain = checkLive("dmaDomain", "domain", f.domain, s);
  checkDeviceOf("device", f.device, domain, "domain", s);
  const max = core.layout.MAX_DMA_CPUS;
  const first = checkInt("first", f.first, 0, max - 1, s.context);
  const stride = checkInt("stride", f.stride, 1, max, s.context);
  const count = checkInt("count", f.count, 1, max, s.context);
  const cpus = Array.from({ length: count }, (_, i) => first + i * stride);
  checkCpu("first + (count − 1) × stride", cpus[count - 1], dmaDomainCpus(core, domain), `DMA domain ${domain}`, s);
  checkAddress("physBase", f.physBase, s.context);
  checkAddress("physStride", f.physStride, s.context);
  checkInt("size", f.size, 1, 2 ** 40, s.context);
  const dirs = Object.entries(DIRECTION_CODES).map(([name, code]) => ({ name, code: core.layout[code] }));
  if (!dirs.some((d) => d.code === f.dir)) {
    throw new ArgumentError("dir", f.dir, `must be a DMA direction's code (${dirs.map((d) => `${d.code}: ${d.name}`).join(", ")})`,
      s.context);
  }
  checkWhole("transNs", f.transNs, s);
  checkWhole("endNs", f.endNs, s);
  checkWhole("maxLoops", f.maxLoops, s);
  checkWhole("quantumNs", f.quantumNs, s, 1);
  checkU32("chunkLoops", f.chunkLoops, s, 1);
  return {
    cpus: cpus.map((cpu, i) => ({ key: `${cpu}`, name: i === 0 ? "first" : `first + ${i} × stride`, value: cpu })),
    shared: { control: f.control },
  };
}

/** Run this worker's simulated CPUs of a dma_map_benchmark run to their end, quantum by quantum. */
function mapBenchRun(ctx: TaskContext, a: MapBenchArgs): MapBenchWorkerResult {
  const { core } = ctx;
  const L = core.layout;
  const ctl = new Int32Array(a.control, 0, 2);
  const window = new LagWindow(a.control, ctx.worker);
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
}

export const mapBenchmarkTasks = {
  "mapbench.run": {
    run: mapBenchRun,
    checkArgs: argsCheck(checkMapBenchArgs),
  },
} satisfies Record<string, BuiltinTask>;
