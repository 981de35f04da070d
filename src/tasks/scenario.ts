// The worker side of a scenario run (src/run/runner.ts): each worker runs its share of the
// simulated CPUs, round-robin, a chunk of operations of each at a time, inside Wasm
// (assembly/workload/run.ts). Between chunks it fires the events that fall due on its CPUs
// (the chunks are cut so that an event happens exactly at its operation count, or at the
// first operation that reaches its modelled time), samples the run's time series (worker
// 0), publishes its progress, and sees whether the run was stopped. With one worker the
// order of everything is fixed, so the same seed gives the same run.
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

import type { TaskContext } from "../pool.js";
import type { Core } from "../../bindings/core.js";
import type { EventReport } from "../report/types.js";
import { switchResult } from "../run/switch.js";
import { checkCore } from "../errno.js";
import { CORE_LIMITS } from "../core-limits.js";
import { LagWindow } from "./lag-window.js";

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
}

// Int32 words of the run's control buffer (RUN_CONTROL_BYTES), beside the core's stop word.
/** [CTL_FINISHED + cpu]: 1 once the CPU has done its operations (or stopped). */
export const CTL_FINISHED = 0;
/** [CTL_SAFE + worker]: 1 once the worker has left the core for good at a safe point (holding no lock). */
export const CTL_SAFE = CORE_LIMITS.MAX_DMA_CPUS;
export const RUN_CONTROL_BYTES = (CORE_LIMITS.MAX_DMA_CPUS + CORE_LIMITS.MAX_THREADS) * 4;

export interface ScenarioEventArgs {
  /** Fire after this many operations of the CPU, or once its clock reaches atNs. */
  afterOps?: number;
  atNs?: number;
  due: string;
  action: "switch-to-lazy" | "fail-magazine-alloc" | "fail-worker" | "failatomic-off";
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
  /** Worker 0 samples the series every this many rounds (0: never). */
  sampleEvery: number;
  /** What a sample reads: every workload CPU (for total ops), the SMMU's statistics, the lazy-capable domains. */
  allCpus: number[];
  smmuStats: number;
  domains: number[];
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

export interface ScenarioSample {
  tUs: number;
  ops: number;
  wallMs: number;
  translations: number;
  hits: number;
  fqOccupancy: number;
  lazyDomains: number;
}

export interface ScenarioWorkerResult {
  worker: number;
  cpus: number[];
  ops: number;
  wallMs: number;
  events: ScenarioEventResult[];
  samples: ScenarioSample[];
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
  const cpus: CpuRun[] = args.cpus.map((c) => ({ ...c, done: 0, events: [...c.events], finished: false }));
  let current: CpuRun | undefined;
  try {
    const result = runCpus(ctx, args, cpus, control, (c) => { current = c; });
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

function runCpus(ctx: TaskContext, args: ScenarioArgs, cpus: CpuRun[], control: Int32Array,
                 running: (c: CpuRun | undefined) => void): ScenarioWorkerResult {
  const { core } = ctx;
  const t0 = now();
  const progress = new Float64Array(args.progress);
  const events: ScenarioEventResult[] = [];
  const samples: ScenarioSample[] = [];
  const finish = (c: CpuRun) => { c.finished = true; Atomics.store(control, CTL_FINISHED + c.cpu, 1); };
  const idle = new Int32Array(new SharedArrayBuffer(4));
  if (args.lag) {
    // Then the loop below only finds the CPUs finished (or the run stopped), and drains.
    runInModelledTimeOrder(ctx, args, cpus, running, events, samples, t0, finish);
  }
  let round = 0;
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
    round++;
    if (ctx.worker === 0 && args.sampleEvery > 0 && (round % args.sampleEvery === 0 || !active)) {
      samples.push(sample(core, args, now() - t0));
    }
    if (!active || core.raw.wl_run_stopped() !== 0) break;
  }
  const stopped = core.raw.wl_run_stopped() !== 0;
  for (const c of cpus) {
    if (!c.finished) finish(c);
    running(c);
    checkCore(core, core.raw.wl_drain(c.cpu), `scenario.run: drain of cpu ${c.cpu}`);
  }
  running(undefined);
  for (const c of cpus) for (const e of c.events) if (e.action !== "failatomic-off") events.push(notReached(core, c, e, stopped));
  return {
    worker: ctx.worker, cpus: cpus.map((c) => c.cpu), ops: cpus.reduce((n, c) => n + c.done, 0),
    wallMs: now() - t0, events, samples, stopped,
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
                                samples: ScenarioSample[], t0: number, finish: (c: CpuRun) => void): void {
  const { core } = ctx;
  const window = new LagWindow(args.lag!, ctx.worker);
  const progress = new Float64Array(args.progress);
  const stopped = () => core.raw.wl_run_stopped() !== 0;
  // Only the CPU that ran changes its clock: each one is read back once, after its operation.
  const clocks = new Map(cpus.map((c) => [c, core.raw.wl_counter(c.cpu, core.layout.WC_CLOCK)]));
  // A round, for sampling, is one chunk of operations per CPU, as in the untimed loop.
  const opsPerRound = Math.max(1, args.chunk * cpus.length);
  let ops = 0;
  let round = 0;
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
      if (++ops % opsPerRound === 0) {
        round++;
        if (ctx.worker === 0 && args.sampleEvery > 0 && round % args.sampleEvery === 0) samples.push(sample(core, args, now() - t0));
      }
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

type CpuRun = ScenarioCpuArgs & { done: number; finished: boolean };

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

function sample(core: Core, args: ScenarioArgs, wallMs: number): ScenarioSample {
  const L = core.layout;
  let ops = 0;
  let clock = 0;
  for (const cpu of args.allCpus) {
    ops += core.raw.wl_counter(cpu, L.WC_OPS);
    clock = Math.max(clock, core.raw.wl_counter(cpu, L.WC_CLOCK));
  }
  const stat = (i: number) => core.readU64Number(args.smmuStats + 8 * i);
  let fq = 0;
  let lazy = 0;
  for (const d of args.domains) {
    fq += Math.max(0, core.raw.dma_fq_pending(d));
    if (core.readU32(L.DMA_DOMAINS_BASE + d * L.DMA_DOMAIN_SIZE + L.DD_FQ_DOMAIN) !== 0) lazy++;
  }
  return {
    tUs: clock / 1000, ops, wallMs, translations: stat(L.STAT_TRANSLATIONS),
    hits: stat(L.STAT_UTLB_HITS) + stat(L.STAT_IOTLB_HITS), fqOccupancy: fq, lazyDomains: lazy,
  };
}

export const scenarioTasks = { "scenario.run": runScenarioTask };
