// The worker pool: N workers (worker_threads in Node, Web Workers in browsers), each with
// its own instance of the core over the one shared memory. A run posts a task to every
// worker, waits until all of them are armed, then opens a start gate so they begin at the
// same moment — real interleavings, not a staggered start. A worker that throws or dies
// fails the run with its message and stops the pool: its peers may be waiting on it. A run
// that can tell its workers to stop (PoolRunOptions.onFailure) first does so and gives them a
// while to finish, so that their results are not lost and they stop where they hold nothing.
// A built-in task's arguments are checked here, before any worker hears of the run
// (src/tasks/args.ts): a mistake in them rejects the call and leaves the pool as it was.

import type { Core } from "../bindings/core.js";
import { ArgumentError, IommuSimError, WorkerError } from "./errors.js";
import { checkInt, checkOptions, type OptionKeys } from "./validate.js";
import { IS_NODE as isNode, startNodeWorker } from "./host.js";
import { checkAssetOptions } from "./assets.js";
import { BUILTIN_TASK_NAMES, builtinTask } from "./tasks/index.js";
import { poolSlots } from "./stopped-workers.js";
import { markRun } from "./run-guard.js";

/** Workers of a pool whose size was not given. */
export const DEFAULT_POOL_WORKERS = 2;

export interface PoolOptions {
  /** Number of workers. Default 2. */
  workers?: number;
  /** The worker script (default: worker.js beside this bundle). */
  workerUrl?: URL | string;
}

export interface PoolRunOptions {
  /** Fail the run (and stop the pool) if it has not finished in this many ms. */
  timeoutMs?: number;
  /**
   * When a worker throws or dies: `stop()` is called (on this thread) to tell the others to
   * stop, and the pool waits up to `graceMs` for them to finish before it fails the run with
   * a PoolRunFailure holding what they returned. Without it the pool stops at once.
   */
  onFailure?: { stop(): void; graceMs: number };
}

const POOL_START_KEYS = { workers: true, workerUrl: true } as const satisfies OptionKeys<PoolOptions>;
const RUN_OPTION_KEYS = { timeoutMs: true, onFailure: true } as const satisfies OptionKeys<PoolRunOptions>;

/**
 * A run failed: `message` and `worker` are the first failure's; `results[w]` is what worker
 * w returned (undefined for one that failed, or did not finish within the grace), and
 * `othersFinished` says whether every other worker finished.
 */
export class PoolRunFailure extends WorkerError {
  override name = "PoolRunFailure";
  constructor(first: WorkerError, readonly results: readonly unknown[], readonly othersFinished: boolean) {
    super(first.message, first.worker, { cause: first });
    if (first.stack) this.stack = first.stack;
  }
}

/** What each worker's task gets. */
export interface TaskContext {
  core: Core;
  /** 0-based index of this worker in the pool. */
  worker: number;
  workers: number;
  /** Wait until every worker of the pool has reached this barrier (reusable). */
  barrier(): void;
  /** Words the workers of a run share for their own coordination (zeroed at each run). */
  shared: Int32Array;
}

/** Words of the pool's control block (a small SharedArrayBuffer of its own). */
export const CONTROL_GATE = 0; //          start-gate generation
export const CONTROL_BARRIER_COUNT = 1; // workers arrived at the current barrier
export const CONTROL_BARRIER_GEN = 2; //   barrier generation
export const CONTROL_SHARED = 8; //        words 8..15: TaskContext.shared

/**
 * A sense-reversing barrier over the pool's control block. Worker-side only (TaskContext):
 * it sleeps in Atomics.wait, which a browser's main thread may not do — the orchestrating
 * thread only stores and notifies (start gate, close), and waits on messages.
 */
export function barrierWait(control: Int32Array, workers: number): void {
  const gen = Atomics.load(control, CONTROL_BARRIER_GEN);
  if (Atomics.add(control, CONTROL_BARRIER_COUNT, 1) + 1 === workers) {
    Atomics.store(control, CONTROL_BARRIER_COUNT, 0);
    Atomics.add(control, CONTROL_BARRIER_GEN, 1);
    Atomics.notify(control, CONTROL_BARRIER_GEN);
    return;
  }
  for (let spins = 0; Atomics.load(control, CONTROL_BARRIER_GEN) === gen; spins++) {
    if (spins > 200) Atomics.wait(control, CONTROL_BARRIER_GEN, gen, 50);
  }
}

/**
 * A task: a builtin name (see src/tasks/index.ts) or "URL#export" naming an ES module and
 * the function in it, which each worker imports. Its arguments: one value for all workers,
 * or a function of the worker index, evaluated here and sent to that worker. A built-in
 * task's are checked here first, each worker's (its task file says what they must be).
 */
export type TaskArgs = unknown | ((worker: number) => unknown);

/**
 * Refuse arguments a worker cannot be sent (what structured clone refuses: a function, a
 * symbol, a class instance with private state…) here, naming where in them, rather than
 * from postMessage halfway through starting the workers.
 */
function checkSendable(value: unknown, name: string): void {
  try {
    structuredClone(value);
  } catch (e) {
    const at = unsendableAt(value, name, new Set()) ?? { path: name, value };
    throw new ArgumentError(at.path, at.value, "cannot be sent to a worker (it must survive structured clone: " +
      `no functions or symbols; ${e instanceof Error ? e.message : String(e)})`, "pool.run");
  }
}

/** Where in `v` the first function or symbol is (a path from `path`), or undefined. */
function unsendableAt(v: unknown, path: string, seen: Set<object>): { path: string; value: unknown } | undefined {
  if (typeof v === "function" || typeof v === "symbol") return { path, value: v };
  if (typeof v !== "object" || v === null || seen.has(v)) return undefined;
  seen.add(v);
  const entries: [string, unknown][] = v instanceof Map ? [...v].map(([k, x]) => [`.get(${String(k)})`, x])
    : v instanceof Set ? [...v].map((x, i) => [` (Set entry ${i})`, x])
    : Array.isArray(v) ? v.map((x, i) => [`[${i}]`, x])
    : Object.entries(v).map(([k, x]) => [`.${k}`, x]);
  for (const [step, x] of entries) {
    const found = unsendableAt(x, path + step, seen);
    if (found) return found;
  }
  return undefined;
}

interface Handle {
  post(msg: unknown): void;
  terminate(): Promise<void>;
  /**
   * Whether this worker keeps Node's event loop alive (a no-op in browsers). Idle workers do
   * not: a script that forgets `sim.close()` still exits; during a start or a run they do,
   * or Node would exit while the caller awaits their results.
   */
  keepAlive(on: boolean): void;
}

type Inbound =
  | { type: "ready" }
  | { type: "armed"; run: number }
  | { type: "done"; run: number; result: unknown }
  | { type: "error"; run: number; message: string; stack?: string };

interface PendingRun {
  id: number;
  armed: number;
  results: unknown[];
  /** The workers that returned their result (a result may be undefined). */
  finished: Set<number>;
  resolve(v: unknown[]): void;
  reject(e: Error): void;
  timer?: ReturnType<typeof setTimeout>;
  onFailure?: PoolRunOptions["onFailure"];
  /** Set once a worker failed and the others are being given their grace. */
  failing?: { first: WorkerError; failed: Set<number>; grace: ReturnType<typeof setTimeout> };
}

/**
 * A task module's URL must be absolute: each worker imports it from the package's own
 * worker.js, so a relative one would be looked for beside that, not beside the caller — the
 * import would fail in every worker and stop the pool. Refused here, the pool stays usable.
 */
function checkTaskUrl(task: string): void {
  const url = task.slice(0, task.lastIndexOf("#"));
  let absolute = true;
  try {
    new URL(url);
  } catch {
    absolute = false;
  }
  if (!absolute) {
    throw new ArgumentError("task", task, "must name its module by an absolute URL, as " +
      '`new URL("./my-task.mjs", import.meta.url).href + "#myTask"` does: a relative one would be resolved ' +
      "against the package's worker script, not your module", "pool.run");
  }
}

/** The worker script, beside this bundle (dist/worker.js). */
const WORKER_FILE = "./worker.js";

/** Workers started by any pool in this thread and not yet terminated. */
let liveWorkers = 0;

/**
 * Workers (worker_threads in Node, Web Workers in browsers) each running the core over the
 * simulator's shared memory, started together for every run. Got from Simulator.pool.
 */
export class WorkerPool {
  readonly size: number;
  private readonly handles: Handle[] = [];
  /** Start gate and barrier words (CONTROL_*). */
  private readonly control = new Int32Array(new SharedArrayBuffer(64));
  private run_: PendingRun | undefined;
  private nextRun = 1;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  /** Whether its workers stopped inside a task were recorded (Core.markStoppedSlots), once. */
  private stopRecorded = false;

  /** The thread slot of each worker (poolSlots: never one a worker stopped mid-task left). */
  private readonly slots: readonly number[];

  private constructor(size: number, private readonly core: Core) {
    this.size = size;
    this.slots = poolSlots(core, size);
  }

  /** Workers of all pools in this thread that have not exited (for leak checks). */
  static get liveWorkers(): number {
    return liveWorkers;
  }

  /** @internal Whether close() stopped a run in progress (not a failure or timeout, which fail it first). */
  closedDuringRun = false;

  /** @internal Whether a run is in progress (a new size for the pool would stop it mid-run). */
  get running(): boolean {
    return this.run_ !== undefined;
  }

  /** True once close() was called or a failure stopped the pool. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Start a pool over `core`'s memory (Simulator.pool does this; use that). Resolves once every worker is ready. */
  static async start(core: Core, opts: PoolOptions = {}): Promise<WorkerPool> {
    checkOptions(opts, POOL_START_KEYS, "pool");
    const size = checkInt("workers", opts.workers ?? DEFAULT_POOL_WORKERS, 1, core.layout.MAX_THREADS - 1, "pool");
    const url = checkAssetOptions({ workerUrl: opts.workerUrl }, "pool").workerUrl;
    const pool = new WorkerPool(size, core);
    const ready: Promise<void>[] = [];
    try {
      for (let i = 0; i < size; i++) {
        const h = await pool.spawn(url, i, (r) => ready.push(r));
        pool.handles.push(h);
        h.post({ type: "init", module: core.module, memory: core.memory, slot: pool.slots[i],
                 worker: i, workers: size, control: pool.control.buffer });
      }
      await Promise.all(ready);
      pool.keepAlive(false);
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  private async spawn(url: URL | string | undefined, index: number, onReady: (p: Promise<void>) => void): Promise<Handle> {
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    onReady(new Promise<void>((res, rej) => { readyResolve = res; readyReject = rej; }));
    let started = false;
    const onMessage = (msg: Inbound) => {
      if (msg.type === "ready") { started = true; readyResolve(); return; }
      this.onMessage(index, msg);
    };
    const onDeath = (why: string) => {
      const err = new WorkerError(`iommu-sim: worker ${index} ${why}`, index);
      if (!started) readyReject(err);
      this.workerFailed(index, err);
    };
    if (isNode) {
      // Not the literal URL of the browser branch below: a bundler would copy
      // worker.js as a bare asset for this branch, which only Node runs.
      const w = await startNodeWorker(url === undefined ? new URL(WORKER_FILE, import.meta.url)
                                                        : url instanceof URL ? url : new URL(url, import.meta.url));
      liveWorkers++;
      const exited = new Promise<void>((res) => w.once("exit", () => { liveWorkers--; res(); }));
      w.on("message", onMessage);
      w.on("error", (e) => onDeath(`threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`));
      w.on("exit", (code) => { if (!this.closed) onDeath(`exited (code ${code})`); });
      return {
        post: (m) => w.postMessage(m),
        terminate: async () => { await w.terminate(); await exited; },
        keepAlive: (on) => { if (on) w.ref(); else w.unref(); },
      };
    }
    if (url === undefined && typeof import.meta.url !== "string") {
      // A bundle without import.meta (esbuild's default iife) cannot say where it is.
      throw new IommuSimError("iommu-sim: this bundle cannot locate worker.js (import.meta.url is not set, as in an iife " +
        "bundle): pass Simulator.create({ workerUrl }) the URL of the package's worker script (dist/browser/worker.js)");
    }
    const w = url === undefined
      // Written out literally so that bundlers (Vite, webpack) see a worker here and bundle
      // worker.js with its imports; unbundled, it is the worker.js beside this file.
      ? new Worker(new URL("./worker.js", import.meta.url), { type: "module" })
      : new Worker(url, { type: "module" });
    liveWorkers++;
    let gone = false;
    w.onmessage = (ev: MessageEvent) => onMessage(ev.data as Inbound);
    // A module worker whose script or imports fail to load gets an error event without a
    // message (seen with a bundler that copied worker.js without its chunks): say so.
    w.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      onDeath(ev.message ? `threw: ${ev.message}`
        : `could not start: its script (${String(url ?? "worker.js beside the bundle")}) or one of its imports failed to load`);
    };
    w.onmessageerror = () => onDeath("sent a message that could not be read");
    return {
      post: (m) => w.postMessage(m),
      terminate: async () => { if (!gone) { gone = true; liveWorkers--; w.terminate(); } },
      keepAlive: () => {},
    };
  }

  /**
   * Run `task` on every worker at once; resolves with each worker's result, in worker order.
   * A built-in task's arguments that are wrong reject it with an ArgumentError before any
   * worker starts, and the pool stays usable.
   */
  run<R = unknown>(task: string, args: (worker: number) => unknown, options?: PoolRunOptions): Promise<R[]>;
  /** As above, with one value for every worker's arguments (or none). */
  run<R = unknown>(task: string, args?: unknown, options?: PoolRunOptions): Promise<R[]>;
  run<R = unknown>(task: string, args?: TaskArgs, options?: PoolRunOptions): Promise<R[]> {
    let opts: PoolRunOptions;
    try {
      opts = checkOptions(options, RUN_OPTION_KEYS, "pool.run");
      if (opts.onFailure !== undefined) {
        const f = checkOptions(opts.onFailure, ["stop", "graceMs"], "pool.run", "onFailure");
        if (typeof f.stop !== "function") throw new ArgumentError("onFailure.stop", f.stop, "must be a function", "pool.run");
        checkInt("onFailure.graceMs", f.graceMs, 0, 2 ** 31 - 1, "pool.run");
      }
      if (opts.timeoutMs !== undefined) checkInt("timeoutMs", opts.timeoutMs, 1, 2 ** 31 - 1, "pool.run");
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.failure) return Promise.reject(new IommuSimError(`iommu-sim: this pool was stopped: ${this.failure.message}`));
    if (this.closed) return Promise.reject(new IommuSimError("iommu-sim: this pool is closed"));
    if (this.run_) return Promise.reject(new IommuSimError("iommu-sim: a run is already in progress on this pool"));
    let perWorker: unknown[];
    try {
      perWorker = this.argsOf(task, args);
    } catch (e) {
      return Promise.reject(e);
    }
    const id = this.nextRun++;
    return new Promise<R[]>((resolve, reject) => {
      const run: PendingRun = { id, armed: 0, results: new Array(this.size), finished: new Set(),
                                resolve: resolve as (v: unknown[]) => void, reject, onFailure: opts.onFailure };
      if (opts.timeoutMs !== undefined) {
        checkInt("timeoutMs", opts.timeoutMs, 1, 2 ** 31 - 1, "pool.run");
        run.timer = setTimeout(() => this.fail(new IommuSimError(
          `iommu-sim: run of '${task}' did not finish within ${opts.timeoutMs} ms; the pool was stopped`)), opts.timeoutMs);
      }
      this.run_ = run;
      markRun(this.core, task);
      this.keepAlive(true);
      this.control.fill(0, CONTROL_SHARED);
      try {
        for (let i = 0; i < this.size; i++) this.handles[i]!.post({ type: "run", run: id, task, args: perWorker[i] });
      } catch (e) {
        // Some workers may have the run already, parked on the gate, which stays shut: the
        // pool stops them (none has touched the machine) and says why.
        this.fail(new IommuSimError(`iommu-sim: could not hand '${task}' to the workers: ${e instanceof Error ? e.message : String(e)}`));
      }
    });
  }

  /**
   * Each worker's arguments for `task`; a built-in task's checked first, all of them at once
   * (their rules span workers: one CPU each), against the memory the workers share.
   */
  private argsOf(task: string, args: TaskArgs): unknown[] {
    const builtin = typeof task === "string" ? builtinTask(task) : undefined;
    if (!builtin && (typeof task !== "string" || task.lastIndexOf("#") <= 0)) {
      throw new ArgumentError("task", task, `must be a builtin task name (${BUILTIN_TASK_NAMES.join(", ")}) or 'URL#export'`,
        "pool.run");
    }
    if (!builtin) checkTaskUrl(task);
    const each = Array.from({ length: this.size },
      (_, w) => typeof args === "function" ? (args as (w: number) => unknown)(w) : args);
    builtin?.checkArgs(each, { core: this.core, perWorker: typeof args === "function" }, task);
    // One value for every worker is checked once: structured clone copies it whole.
    if (typeof args === "function") each.forEach((a, w) => checkSendable(a, `args(${w})`));
    else checkSendable(args, "args");
    return each;
  }

  private onMessage(worker: number, msg: Inbound): void {
    const run = this.run_;
    if (!run || msg.type === "ready" || msg.run !== run.id) return;
    if (msg.type === "armed") {
      if (++run.armed === this.size) {
        // Everyone is waiting on the gate: open it. Store and notify only — never wait here:
        // this is the orchestrating thread, a browser's main thread where Atomics.wait throws.
        Atomics.store(this.control, CONTROL_GATE, run.id);
        Atomics.notify(this.control, CONTROL_GATE);
      }
    } else if (msg.type === "done") {
      run.results[worker] = msg.result;
      run.finished.add(worker);
      if (run.failing) this.settleIfFinished(run);
      else if (run.finished.size === this.size) this.finish(run);
    } else if (msg.type === "error") {
      const err = new WorkerError(`iommu-sim: worker ${worker} failed: ${msg.message}`, worker);
      if (msg.stack) err.stack = `${err.name}: ${err.message}\n--- in worker ${worker} ---\n${msg.stack}`;
      this.workerFailed(worker, err);
    }
  }

  /** A worker threw or died: fail the run now, or first let the others stop (onFailure). */
  private workerFailed(worker: number, err: WorkerError): void {
    const run = this.run_;
    // Before the gate opened the others have not started: there is nothing to let finish.
    if (!run?.onFailure || run.armed < this.size || this.failure || this.closed) {
      this.fail(err);
      return;
    }
    if (run.failing) {
      run.failing.failed.add(worker);
      this.settleIfFinished(run);
      return;
    }
    const grace = setTimeout(() => this.settle(run, false), run.onFailure.graceMs);
    run.failing = { first: err, failed: new Set([worker]), grace };
    try {
      run.onFailure.stop();
    } catch {
      // The others are stopped by the pool at the end of the grace either way.
    }
    this.settleIfFinished(run);
  }

  /** Every worker has either finished or failed: the failure can be reported, with the results. */
  private settleIfFinished(run: PendingRun): void {
    if (run.failing && run.finished.size + run.failing.failed.size >= this.size) this.settle(run, true);
  }

  private settle(run: PendingRun, othersFinished: boolean): void {
    if (!run.failing || this.run_ !== run) return;
    clearTimeout(run.failing.grace);
    this.fail(new PoolRunFailure(run.failing.first, [...run.results], othersFinished));
  }

  private finish(run: PendingRun): void {
    if (run.timer) clearTimeout(run.timer);
    this.clearRun();
    this.keepAlive(false);
    run.resolve(run.results);
  }

  /** Fail the current run and stop every worker: a peer may be waiting on the one that failed. */
  private fail(err: Error): void {
    if (this.failure || this.closed) return;
    this.failure = err;
    const run = this.run_;
    this.recordStop(run);
    this.clearRun();
    if (run?.timer) clearTimeout(run.timer);
    void this.close();
    run?.reject(err);
  }

  /** No run in progress any more: the machine's objects may be taken away again (src/run-guard.ts). */
  private clearRun(): void {
    this.run_ = undefined;
    markRun(this.core, undefined);
  }

  private keepAlive(on: boolean): void {
    for (const h of this.handles) h.keepAlive(on);
  }

  /**
   * The pool is about to terminate its workers during `run`: those past the start gate
   * without a result (a worker that threw counts: a trap may leave the core mid-change) are
   * stopped mid-task. Workers parked on the gate have not touched the machine.
   */
  private recordStop(run: PendingRun | undefined): void {
    if (!run || run.armed < this.size || this.stopRecorded) return;
    this.stopRecorded = true;
    this.core.markStoppedSlots(this.slots.filter((_, w) => !run.finished.has(w)));
  }

  /** Terminate every worker. Safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.recordStop(this.run_);
      // Release any worker still parked on the gate, then terminate.
      Atomics.store(this.control, CONTROL_GATE, 0x7fffffff);
      Atomics.notify(this.control, CONTROL_GATE);
      await Promise.all(this.handles.map((h) => h.terminate().catch(() => undefined)));
      const run = this.run_;
      this.clearRun();
      if (run) {
        this.closedDuringRun = true;
        if (run.timer) clearTimeout(run.timer);
        run.reject(new IommuSimError("iommu-sim: the pool was closed during a run"));
      }
    })();
    return this.closing;
  }
}
