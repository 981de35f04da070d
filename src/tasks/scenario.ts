// The worker side of a scenario run (src/run/runner.ts): each worker runs its share of the
// simulated CPUs, round-robin, a chunk of operations of each at a time, inside Wasm
// (assembly/workload/run.ts). Between chunks it fires the events that fall due on its CPUs
// (the chunks are cut so that an event happens exactly at its operation count, or at the
// first operation that reaches its modelled time), reads the CPUs' counters at the ends of
// their windows of modelled time (the run's time series, below), publishes its progress,
// and sees whether the run was stopped. With one worker the order of everything is fixed,
// so the same seed gives the same run.
//
// The time series. Every CPU keeps its own clock of modelled time, and without contention
// the workers do not keep those clocks together: at one wall-clock instant one CPU may be
// 100 ms of modelled time ahead of another. A snapshot of all CPUs taken at one wall instant
// (as worker 0 once took it, stamped with the furthest clock) therefore mixes operations
// done at different modelled times, and a rate from two such snapshots is noise — a spike
// when the furthest clock barely moved between them, nothing when it stood still. So each
// CPU instead reads its own counters whenever its own clock crosses the end of a fixed
// window of modelled time: window k of every CPU covers the same stretch of modelled time,
// whatever the wall clock did, and the report adds the CPUs up window by window
// (src/run/runner.ts series). The chunks are not cut at the windows' ends — that would change
// how the CPUs interleave, and so the run — so a chunk that crosses one is read before and
// after, and its counts are shared out in proportion to the modelled time on each side (a
// chunk is 256 operations of one workload: its operations take about the same time each). Windows start small and
// double whenever a CPU has more than maxWindows of them (every other reading is dropped),
// so a run of any length gets a bounded series; the widths are all firstWindowNs · 2^k, so
// the report can bring every CPU to the widest. Events are stamped with the clock of the
// CPU they fire on — the same clock — so they sit where they happened on the plots' axis.
//
// A background CPU (an attacker, a switcher) given no number of operations runs until the
// CPUs it serves have finished theirs: each worker marks its CPUs finished in the run's
// control words, which every worker reads between chunks.
//
// Stopping. The run's one stop word is the core's CTL_RUN_STOP (wl_run_stop): every CPU
// leaves its loop at its next operation, where it holds nothing, then unmaps what it has
// mapped. A worker that fails raises it too, gives back its simulated CPUs, says in the
// control words that it left the core at a safe point (unless the core itself trapped,
// perhaps holding a lock), and lets the failure go on, naming the CPU it was running; the
// orchestrator (src/run/runner.ts, through the pool's onFailure) raises it as well when a
// worker dies without a word, and waits for the others to finish.
//
// The runner builds the arguments; they are checked before the run all the same
// (src/tasks/args.ts), as any built-in task's are: live domains, CPUs of them that no other
// worker runs, and a background CPU's CPUs to wait for among the run's.

import type { TaskContext } from "../pool.js";
import type { Core } from "../../bindings/core.js";
import type { EventReport } from "../report/types.js";
import { switchResult } from "../run/switch.js";
import { checkCore } from "../errno.js";
import { CORE_LIMITS } from "../core-limits.js";
import { ArgumentError } from "../errors.js";
import { checkBool, checkInt, checkOneOf, MAX_ADDRESS, type OptionKeys } from "../validate.js";
import { LagWindow, lagWindowBytes } from "./lag-window.js";
import {
  argsCheck, checkCpu, checkList, checkLive, checkSharedBuffer, checkString, dmaDomainCpus, optional, taskFields,
  type ArgsScope, type BuiltinTask, type CpuClaim, type WorkerUse,
} from "./args.js";

/** One CPU's share of the run, as the orchestrator sends it. */
export interface ScenarioCpuArgs {
  cpu: number;
  /** Operations to do; Infinity for a background CPU that runs until `until` have finished. */
  ops: number;
  /** A background CPU's: the CPUs it serves (its victim's, or its domain's mapping CPUs). */
  until?: number[];
  /** An attacker running alongside its victim: a chunk without a retry is idle. */
  idles?: boolean;
  events: ScenarioEventArgs[];
  /** The DMA domain the CPU's workload uses: its claim on the CPU is given back at the end. */
  domain: number;
  /** The CPU and its workload in words, for errors: `cpu 3 (switcher "sw")`. */
  what: string;
  /**
   * The flush-queue ring of its domain whose pending entries this CPU's series reads (its
   * own, in per-CPU mode), or -1: none (a single queue is read by one CPU of the domain only).
   */
  fqRing: number;
}

// Int32 words of the run's control buffer (RUN_CONTROL_BYTES), beside the core's stop word.
/** [CTL_FINISHED + cpu]: 1 once the CPU has done its operations (or stopped). */
export const CTL_FINISHED = 0;
/** [CTL_SAFE + worker]: 1 once the worker has left the core for good at a safe point (holding no lock). */
export const CTL_SAFE = CORE_LIMITS.MAX_DMA_CPUS;
export const RUN_CONTROL_BYTES = (CORE_LIMITS.MAX_DMA_CPUS + CORE_LIMITS.MAX_THREADS) * 4;
/**
 * The largest chunk: a victim CPU logs every unmap for its attacker, whose log holds LOG_MAX;
 * with one worker the attacker reads it between chunks.
 */
export const SCENARIO_MAX_CHUNK = CORE_LIMITS.LOG_MAX;

/**
 * What an event does in the worker: a scenario's event actions (src/run/scenario.ts
 * EVENT_ACTIONS, each one of these), and the end of a failatomic window, which the worker
 * schedules itself.
 */
export const SCENARIO_EVENT_ACTIONS = ["switch-to-lazy", "fail-magazine-alloc", "fail-worker", "failatomic-off"] as const;
export type ScenarioEventAction = (typeof SCENARIO_EVENT_ACTIONS)[number];

export interface ScenarioEventArgs {
  /** Fire after this many operations of the CPU, or once its clock reaches atNs. */
  afterOps?: number;
  atNs?: number;
  due: string;
  action: ScenarioEventAction;
  /** The DMA domain (switch) or its IOVA domain (failatomic). */
  domain?: number;
  iovaDomain?: number;
  target: string;
  /** fail-magazine-alloc: operations of this CPU it lasts. */
  count?: number;
  mode?: "throw" | "exit" | "crash";
  /** switch-to-lazy: why the simulated kernel refuses it, if it does (v5.15 group rule). */
  refusal?: string;
}

export interface ScenarioArgs {
  cpus: ScenarioCpuArgs[];
  /** Operations per CPU per chunk. */
  chunk: number;
  /** Width of each CPU's first windows of modelled time (ns), and how many windows a CPU keeps before their width doubles. */
  firstWindowNs: number;
  maxWindows: number;
  /** Shared progress: Float64Array, one word per CPU (operations done). */
  progress: SharedArrayBuffer;
  /** The run's control words (CTL_FINISHED, CTL_SAFE), RUN_CONTROL_BYTES. */
  control: SharedArrayBuffer;
  /**
   * With contention: the workers' lag window (src/tasks/lag-window.ts) and its quantum. Each
   * worker then runs one operation at a time, of its CPU furthest behind in modelled time.
   */
  lag?: SharedArrayBuffer;
  quantumNs?: number;
}

/** What happened to an event (the report's own record of it). */
export type ScenarioEventResult = EventReport;

/** A CPU's counters as its series reads them (cumulative since the run began, but fqPending and lazy: the state then). */
export interface CpuSeriesPoint {
  /** The CPU's clock when they were read (modelled ns; at most one operation past the window's end). */
  clockNs: number;
  ops: number;
  /** Device accesses of the CPU's workload, and those whose translation hit the micro-TLB or the IOTLB. */
  accesses: number;
  tlbHits: number;
  /** Entries pending on the flush-queue ring the CPU reads (ScenarioCpuArgs.fqRing; 0 without one). */
  fqPending: number;
  /** 1 while the CPU's domain was lazy (fq_domain set). */
  lazy: number;
  /** Wall-clock ms since the worker began (timing: varies run to run). */
  wallMs: number;
}

/** One CPU's time series: its counters at the end of each of its windows of modelled time. */
export interface CpuSeries {
  cpu: number;
  /** Its DMA domain (the report counts the domains in lazy mode). */
  domain: number;
  /** The width of its windows (ns): firstWindowNs · 2^k. */
  windowNs: number;
  /** points[i]: read when its clock first reached (i + 1) · windowNs. */
  points: CpuSeriesPoint[];
  /** Read at its last clock, after its drain: the end of its last, partial window. */
  end: CpuSeriesPoint;
}

export interface ScenarioWorkerResult {
  worker: number;
  cpus: number[];
  ops: number;
  wallMs: number;
  events: ScenarioEventResult[];
  /** Each of its CPUs' time series. */
  series: CpuSeries[];
  stopped: boolean;
}

const now = (): number => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** A fail-worker event in `exit` mode: stop the run like any failure, then end the thread. */
class ExitRequested extends Error {}

/** The thread closed itself (a browser worker's close() returns): it says nothing more, as a dead one. */
class ThreadClosed extends Error {}

/** Run the CPUs' workloads to the end (or the stop word), then unmap what is left. */
export function runScenarioTask(ctx: TaskContext, args: ScenarioArgs): ScenarioWorkerResult {
  const { core } = ctx;
  const control = new Int32Array(args.control);
  const t0 = now();
  const cpus: CpuRun[] = args.cpus.map((c) => ({
    ...c, done: 0, events: [...c.events], finished: false, windows: new Windows(core, c, args, t0),
  }));
  let current: CpuRun | undefined;
  try {
    const result = runCpus(ctx, args, cpus, control, t0, (c) => { current = c; });
    giveBack(core, cpus);
    Atomics.store(control, CTL_SAFE + ctx.worker, 1);
    return result;
  } catch (e) {
    if (e instanceof ThreadClosed) throw e;
    core.raw.wl_run_stop(); // every other CPU of the run stops at its next operation
    giveBack(core, cpus);
    // A trap inside the core may have left a lock this thread held: not a safe point.
    if (!(e instanceof WebAssembly.RuntimeError)) Atomics.store(control, CTL_SAFE + ctx.worker, 1);
    if (e instanceof ExitRequested) exitThread();
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(current ? `${current.what}: ${message}` : message, { cause: e });
  }
}

function runCpus(ctx: TaskContext, args: ScenarioArgs, cpus: CpuRun[], control: Int32Array, t0: number,
                 running: (c: CpuRun | undefined) => void): ScenarioWorkerResult {
  const { core } = ctx;
  const progress = new Float64Array(args.progress);
  const events: ScenarioEventResult[] = [];
  const finish = (c: CpuRun) => { c.finished = true; Atomics.store(control, CTL_FINISHED + c.cpu, 1); };
  const idle = new Int32Array(new SharedArrayBuffer(4));
  if (args.lag) {
    // Then the loop below only finds the CPUs finished (or the run stopped), and drains.
    runInModelledTimeOrder(ctx, args, cpus, running, events, finish);
  }
  for (;;) {
    let active = false;
    let busy = false;
    for (const c of cpus) {
      if (c.finished) continue;
      if (c.done >= c.ops || c.until?.every((u) => Atomics.load(control, CTL_FINISHED + u) === 1)) {
        finish(c);
        continue;
      }
      active = true;
      const retries = core.raw.wl_counter(c.cpu, core.layout.WC_RETRIES);
      running(c);
      runChunk(core, c, args.chunk, events);
      running(undefined);
      progress[c.cpu] = c.done;
      if (c.done >= c.ops) finish(c);
      // Only an attacker running alongside its victim can be idle: it had no IOVA to retry.
      busy ||= !(c.idles && core.raw.wl_counter(c.cpu, core.layout.WC_RETRIES) === retries);
    }
    // A worker whose CPUs are all idle attackers sleeps a moment (as a device waits for work)
    // rather than take a core from the CPUs they wait on.
    if (active && !busy) Atomics.wait(idle, 0, 0, 0.05);
    if (!active || core.raw.wl_run_stopped() !== 0) break;
  }
  const stopped = core.raw.wl_run_stopped() !== 0;
  for (const c of cpus) {
    if (!c.finished) finish(c);
    running(c);
    checkCore(core, core.raw.wl_drain(c.cpu), `scenario.run: drain of cpu ${c.cpu}`);
  }
  running(undefined);
  const series = cpus.map((c) => c.windows.finish());
  for (const c of cpus) for (const e of c.events) if (e.action !== "failatomic-off") events.push(notReached(core, c, e, stopped));
  return {
    worker: ctx.worker, cpus: cpus.map((c) => c.cpu), ops: cpus.reduce((n, c) => n + c.done, 0),
    wallMs: now() - t0, events, series, stopped,
  };
}

/**
 * Contention: one operation at a time, of the CPU furthest behind in modelled time, never
 * past the other workers' furthest-behind CPU + one quantum (a bounded lag), so that the
 * shared resources they book in modelled time are booked in about the order they reach them.
 * Returns when every CPU has done its operations or the run stopped; the caller then drains.
 */
function runInModelledTimeOrder(ctx: TaskContext, args: ScenarioArgs, cpus: CpuRun[],
                                running: (c: CpuRun | undefined) => void, events: ScenarioEventResult[],
                                finish: (c: CpuRun) => void): void {
  const { core } = ctx;
  const window = new LagWindow(args.lag!, ctx.worker);
  const progress = new Float64Array(args.progress);
  const stopped = () => core.raw.wl_run_stopped() !== 0;
  // Only the CPU that ran changes its clock: each one is read back once, after its operation.
  const clocks = new Map(cpus.map((c) => [c, core.raw.wl_counter(c.cpu, core.layout.WC_CLOCK)]));
  try {
    for (;;) {
      let next: CpuRun | undefined;
      let behind = Infinity;
      for (const c of cpus) {
        if (!c.finished && c.done >= c.ops) finish(c);
        if (!c.finished && clocks.get(c)! < behind) { behind = clocks.get(c)!; next = c; }
      }
      if (next === undefined || stopped()) break;
      window.publish(behind);
      const seen = window.generation();
      if (behind >= window.othersMin() + args.quantumNs!) {
        window.waitForOthers(seen, stopped);
        continue;
      }
      running(next);
      runChunk(core, next, 1, events);
      running(undefined);
      clocks.set(next, core.raw.wl_counter(next.cpu, core.layout.WC_CLOCK));
      progress[next.cpu] = next.done;
    }
  } finally {
    window.publish(Infinity); // the other workers no longer wait for this one
  }
}

/** This worker's simulated CPUs go back (the next run on the same simulator may use them). */
function giveBack(core: Core, cpus: readonly CpuRun[]): void {
  for (const c of cpus) core.raw.dma_release_cpu(c.domain, c.cpu);
}

function exitThread(): never {
  if (typeof process !== "undefined" && process.versions?.node) process.exit(3);
  (globalThis as unknown as { close(): void }).close();
  throw new ThreadClosed("the worker closed itself (injected failure)");
}

type CpuRun = ScenarioCpuArgs & { done: number; finished: boolean; windows: Windows };

/** The counters a window's end is interpolated from: a CPU's, read after one of its chunks. */
interface Reading { clock: number; ops: number; accesses: number; tlbHits: number; wallMs: number }

/**
 * A CPU's windows of modelled time (the header says why): its counters after every chunk,
 * and at the end of every window its clock has crossed.
 */
class Windows {
  private width: number;
  /** The end of the window the CPU is in (ns on its clock). */
  private next: number;
  private points: CpuSeriesPoint[] = [];
  /** After its previous chunk (at first: the start, all zero); undefined when not read (see passed). */
  private prev: Reading | undefined = { clock: 0, ops: 0, accesses: 0, tlbHits: 0, wallMs: 0 };

  constructor(private readonly core: Core, private readonly c: ScenarioCpuArgs, private readonly args: ScenarioArgs,
              private readonly t0: number) {
    this.width = args.firstWindowNs;
    this.next = this.width;
  }

  /**
   * After a chunk of `ops` operations: the readings at every window end its clock has passed.
   * A chunk of one operation (the contention loop's) has nothing to share out, so the reading
   * before the next one is skipped there: it would be a cost on every operation.
   */
  passed(clock: number, ops: number): void {
    if (clock < this.next) {
      this.prev = ops > 1 ? this.reading(clock) : undefined;
      return;
    }
    const now = this.reading(clock);
    const { fqPending, lazy } = this.state();
    const prev = this.prev ?? now;
    while (clock >= this.next) {
      // Counts up to the window's end: the chunk's share of them in proportion to its time
      // before the end. The queue and the domain's mode are as they are now (no state between).
      const f = clock > prev.clock ? Math.min(1, Math.max(0, (this.next - prev.clock) / (clock - prev.clock))) : 1;
      const lerp = (k: "ops" | "accesses" | "tlbHits") => Math.round(prev[k] + f * (now[k] - prev[k]));
      this.points.push({ clockNs: this.next, ops: lerp("ops"), accesses: lerp("accesses"), tlbHits: lerp("tlbHits"),
                         fqPending, lazy, wallMs: prev.wallMs + f * (now.wallMs - prev.wallMs) });
      this.next += this.width;
      if (this.points.length > this.args.maxWindows) this.coarsen();
    }
    this.prev = now;
  }

  /** The series, with the counters at the CPU's last clock (after its drain). */
  finish(): CpuSeries {
    const clock = this.core.raw.wl_counter(this.c.cpu, this.core.layout.WC_CLOCK);
    const r = this.reading(clock);
    const end: CpuSeriesPoint = { clockNs: clock, ops: r.ops, accesses: r.accesses, tlbHits: r.tlbHits, ...this.state(), wallMs: r.wallMs };
    return { cpu: this.c.cpu, domain: this.c.domain, windowNs: this.width, points: this.points, end };
  }

  /**
   * Twice as wide: keep the readings at the ends of even windows (the cumulative counters
   * there are the wider windows' ends), so the series stays at most maxWindows long.
   */
  private coarsen(): void {
    this.points = this.points.filter((_, i) => i % 2 === 1);
    this.width *= 2;
    this.next = (this.points.length + 1) * this.width;
  }

  private reading(clock: number): Reading {
    const { core, c } = this;
    const L = core.layout;
    const counter = (k: number) => core.raw.wl_counter(c.cpu, k);
    return { clock, ops: counter(L.WC_OPS), accesses: counter(L.WC_ACCESSES), tlbHits: counter(L.WC_TLB_HITS), wallMs: now() - this.t0 };
  }

  private state(): Pick<CpuSeriesPoint, "fqPending" | "lazy"> {
    const { core, c } = this;
    const L = core.layout;
    // A strict domain has no queue (the core answers with a negative errno): nothing pending.
    const fq = c.fqRing < 0 ? 0 : Math.max(0, core.raw.dma_fq_ring_pending(c.domain, c.fqRing));
    const lazy = core.readU32(L.DMA_DOMAINS_BASE + c.domain * L.DMA_DOMAIN_SIZE + L.DD_FQ_DOMAIN) !== 0 ? 1 : 0;
    return { fqPending: fq, lazy };
  }
}

/** One chunk of a CPU, cut at its next event; fire the events now due. */
function runChunk(core: Core, c: CpuRun, chunk: number, events: ScenarioEventResult[]): void {
  const next = c.events[0];
  let n = Math.min(chunk, c.ops - c.done);
  if (next?.afterOps !== undefined) n = Math.min(n, Math.max(0, next.afterOps - c.done));
  if (n > 0) {
    const done = core.raw.wl_run(c.cpu, n, next?.atNs ?? 0);
    checkCore(core, done, `scenario.run: the workload of cpu ${c.cpu}`);
    c.done += done;
    if (done === 0 && next?.atNs === undefined && core.raw.wl_run_stopped() !== 0) return;
  }
  const clock = core.raw.wl_counter(c.cpu, core.layout.WC_CLOCK);
  c.windows.passed(clock, n);
  while (c.events.length > 0) {
    const e = c.events[0]!;
    const due = e.afterOps !== undefined ? c.done >= e.afterOps : clock >= (e.atNs ?? 0);
    if (!due) break;
    c.events.shift();
    const result = fire(core, c, e);
    if (e.action !== "failatomic-off") {
      events.push({ due: e.due, atUs: clock / 1000, cpu: c.cpu, action: e.action, target: e.target, result });
    }
  }
}

/** An event whose time never came: its CPU finished (or the run stopped) first. */
function notReached(core: Core, c: CpuRun, e: ScenarioEventArgs, stopped: boolean): ScenarioEventResult {
  const clock = core.raw.wl_counter(c.cpu, core.layout.WC_CLOCK);
  return { due: e.due, atUs: clock / 1000, cpu: c.cpu, action: e.action, target: e.target,
           result: `not reached: ${stopped ? "the run was stopped" : "the CPU finished its operations"} first` };
}

function fire(core: Core, c: CpuRun, e: ScenarioEventArgs): string {
  switch (e.action) {
    case "switch-to-lazy": {
      if (e.refusal) return e.refusal;
      return switchResult(core, core.raw.dma_switch_lazy(e.domain!));
    }
    case "fail-magazine-alloc": {
      core.raw.iova_set_flags(e.iovaDomain!, core.layout.IF_FAIL_ATOMIC, 0);
      const off: ScenarioEventArgs = { ...e, action: "failatomic-off", afterOps: c.done + (e.count ?? 1), atNs: undefined };
      c.events.push(off);
      c.events.sort((a, b) => (a.afterOps ?? Infinity) - (b.afterOps ?? Infinity));
      return `ok: magazine allocations fail for the next ${e.count} operations of cpu ${c.cpu}`;
    }
    case "failatomic-off":
      core.raw.iova_set_flags(e.iovaDomain!, 0, core.layout.IF_FAIL_ATOMIC);
      return "ok";
    case "fail-worker": {
      const what = `injected failure: the scenario's fail-worker event (${e.due}) on cpu ${c.cpu}`;
      if (e.mode === "crash") exitThread(); // at once, without a word: as a worker killed from outside
      throw e.mode === "exit" ? new ExitRequested(what) : new Error(what);
    }
  }
}

// ── the arguments' check ────────────────────────────────────────────────────

const SCENARIO_KEYS = {
  cpus: true, chunk: true, firstWindowNs: true, maxWindows: true, progress: true, control: true, lag: true, quantumNs: true,
} as const satisfies OptionKeys<ScenarioArgs>;
const CPU_KEYS = {
  cpu: true, ops: true, until: true, idles: true, events: true, domain: true, what: true, fqRing: true,
} as const satisfies OptionKeys<ScenarioCpuArgs>;
const EVENT_KEYS = {
  afterOps: true, atNs: true, due: true, action: true, domain: true, iovaDomain: true, target: true, count: true, mode: true,
  refusal: true,
} as const satisfies OptionKeys<ScenarioEventArgs>;

/** What one worker's arguments hold for the rules across workers: its CPUs, and those its background CPUs wait for. */
interface WorkerCpus extends WorkerUse {
  cpus: CpuClaim[];
  waitsFor: CpuClaim[];
}

function checkScenarioArgs(a: unknown, s: ArgsScope): WorkerCpus {
  const f = taskFields<ScenarioArgs>(a, SCENARIO_KEYS, s);
  const max = s.core.layout.MAX_DMA_CPUS;
  const cpus = checkList("cpus", f.cpus, s, `a list of the simulated CPUs this worker runs (at most ${max})`, 0, max,
    (name, v) => checkCpuArgs(name, v, s));
  checkInt("chunk", f.chunk, 1, SCENARIO_MAX_CHUNK, s.context);
  checkInt("firstWindowNs", f.firstWindowNs, 1, MAX_ADDRESS, s.context);
  checkInt("maxWindows", f.maxWindows, 1, 2 ** 20, s.context);
  checkSharedBuffer("progress", f.progress, 8 * max, "a Float64 per simulated CPU", s);
  checkSharedBuffer("control", f.control, RUN_CONTROL_BYTES, "the run's control words, RUN_CONTROL_BYTES", s);
  if (f.lag !== undefined) {
    checkSharedBuffer("lag", f.lag, lagWindowBytes(s.workers), "the workers' lag window, lagWindowBuffer(workers)", s);
    checkInt("quantumNs", f.quantumNs, 1, MAX_ADDRESS, s.context);
  } else if (f.quantumNs !== undefined) {
    throw new ArgumentError("quantumNs", f.quantumNs, "must be left out without lag (it is the lag window's quantum)", s.context);
  }
  return { cpus: cpus.map((c) => c.claim), waitsFor: cpus.flatMap((c) => c.waitsFor),
           shared: { progress: f.progress, control: f.control, lag: f.lag } };
}

/** One CPU's share: a CPU of its live domain, and the CPUs it waits for when it has no count of its own. */
function checkCpuArgs(name: string, v: unknown, s: ArgsScope): { claim: CpuClaim; waitsFor: CpuClaim[] } {
  const f = taskFields<ScenarioCpuArgs>(v, CPU_KEYS, s, name);
  const domain = checkLive("dmaDomain", `${name}.domain`, f.domain, s);
  const domainCpus = dmaDomainCpus(s.core, domain);
  const cpu = checkCpu(`${name}.cpu`, f.cpu, domainCpus, `DMA domain ${domain}`, s);
  const max = s.core.layout.MAX_DMA_CPUS;
  const until = optional(f.until, (u) => checkList(`${name}.until`, u, s, "a list of the run's simulated CPUs", 0, max,
    (n, c) => ({ key: `${checkInt(n, c, 0, max - 1, s.context)}`, name: n, value: c })));
  if (f.ops !== Infinity) checkInt(`${name}.ops`, f.ops, 0, MAX_ADDRESS, s.context);
  else if (!until?.length) {
    throw new ArgumentError(`${name}.ops`, f.ops,
      "must be a count for a CPU that waits for none (`until` empty or left out): it would run forever", s.context);
  }
  checkBool(`${name}.idles`, f.idles, false, s.context);
  checkList(`${name}.events`, f.events, s, "a list of events", 0, Infinity, (n, e) => checkEventArgs(n, e, s));
  checkString(`${name}.what`, f.what, s);
  checkInt(`${name}.fqRing`, f.fqRing, -1, domainCpus - 1, s.context);
  return { claim: { key: `${cpu}`, name: `${name}.cpu`, value: cpu }, waitsFor: until ?? [] };
}

function checkEventArgs(name: string, v: unknown, s: ArgsScope): void {
  const f = taskFields<ScenarioEventArgs>(v, EVENT_KEYS, s, name);
  optional(f.afterOps, (n) => checkInt(`${name}.afterOps`, n, 0, MAX_ADDRESS, s.context));
  // Whole ns: the core reads a fraction of one as 0, "no time limit".
  optional(f.atNs, (n) => checkInt(`${name}.atNs`, n, 0, MAX_ADDRESS, s.context));
  checkString(`${name}.due`, f.due, s);
  checkString(`${name}.target`, f.target, s);
  const action = checkOneOf(`${name}.action`, f.action, SCENARIO_EVENT_ACTIONS, s.context);
  const refusal = optional(f.refusal, (r) => checkString(`${name}.refusal`, r, s));
  // What the action works on must be there when it fires: the domain it switches, the IOVA domain it fails.
  if (f.domain !== undefined || (action === "switch-to-lazy" && refusal === undefined)) {
    checkLive("dmaDomain", `${name}.domain`, f.domain, s);
  }
  if (f.iovaDomain !== undefined || action === "fail-magazine-alloc" || action === "failatomic-off") {
    checkLive("iovaDomain", `${name}.iovaDomain`, f.iovaDomain, s);
  }
  optional(f.count, (n) => checkInt(`${name}.count`, n, 1, MAX_ADDRESS, s.context));
  optional(f.mode, (m) => checkOneOf(`${name}.mode`, m, ["throw", "exit", "crash"] as const, s.context));
}

/**
 * A background CPU waits only for CPUs of the run: one that no worker runs would never
 * finish, and neither would the CPU waiting for it.
 */
function checkScenarioWorkers(workers: readonly WorkerCpus[], scopes: readonly ArgsScope[]): void {
  const run = new Set(workers.flatMap((w) => w.cpus.map((c) => c.key)));
  workers.forEach((w, i) => {
    const stray = w.waitsFor.find((c) => !run.has(c.key));
    if (stray) {
      throw new ArgumentError(stray.name, stray.value, "must be a CPU of the run (in some worker's cpus), or the CPU " +
        "waiting for it would run forever", scopes[i]!.context);
    }
  });
}

export const scenarioTasks = {
  "scenario.run": { run: runScenarioTask, checkArgs: argsCheck(checkScenarioArgs, checkScenarioWorkers) },
} satisfies Record<string, BuiltinTask>;
