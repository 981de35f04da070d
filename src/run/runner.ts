// Runs a scenario (src/run/scenario.ts) across worker threads and merges what happened
// into one report (src/report/types.ts). The orchestrator builds the simulated machine —
// the SMMU, the DMA domains and their devices — in the shared memory, sets up every
// workload CPU in the core (assembly/workload/), spreads the CPUs over the workers, opens
// the start gate, and watches progress from shared counters while the workers run inside
// Wasm. A run ends when every CPU has done its operations, when the oracle finds a
// violation and the scenario asked to stop on the first, or at the timeout; a worker that
// fails stops the run, and the error says which worker, which CPUs and why.
//
// Every way a run ends early goes through one stop word, the core's CTL_RUN_STOP: the
// oracle raises it at a violation when asked, this thread at the timeout or on request,
// a failing worker itself, and this thread again (through the pool's onFailure) when a
// worker dies — after which the others are given a while to finish, so that what they did
// is reported (RunError.failure.report) and the run's objects are left consistent.
//
// The orchestrator never blocks: it waits on messages and timers only (never Atomics.wait,
// which browsers forbid on their main thread), so a page stays responsive during a run.

import { readTimeBreakdown } from "../cpu-time.js";
import { MACHINES } from "../machines.js";
import { Simulator } from "../simulator.js";
import { checkAssetOptions, type AssetOptions } from "../assets.js";
import { DEFAULT_IOTLB_ENTRIES, DEFAULT_IOTLB_WAYS, ORACLE_MAX_PAGES, type Smmu } from "../smmu/smmu.js";
import type { DmaDomain, DmaDevice } from "../dma.js";
import { DMA_DOMAIN_OAS, lazySwitchRefusal, liveTypeRefusal } from "../dma.js";
import { describeKernel, effectiveBehaviours, machineHas, normaliseOverrides } from "../profile.js";
import type { Core } from "../../bindings/core.js";
import type { LayoutName } from "../../bindings/layout.js";
import { ArgumentError, IommuSimError, SimulatorResourceError, hex } from "../errors.js";
import type { CpuReport, EventReport, Histogram, RunReport, SeriesPoint, ViolationReport } from "../report/types.js";
import {
  CTL_SAFE, RUN_CONTROL_BYTES, SCENARIO_MAX_CHUNK, type CpuSeries, type CpuSeriesPoint, type ScenarioArgs,
  type ScenarioCpuArgs, type ScenarioEventArgs, type ScenarioWorkerResult,
} from "../tasks/scenario.js";
import { PoolRunFailure } from "../pool.js";
import {
  isBackground, parseRunScenario, ScenarioError, workerAssignment,
  type RunScenario, type RunScenarioInput, type RunWorkload, type RunEvent,
} from "./scenario.js";
import { checkCallback, checkInt, checkOptions, checkSignal, type OptionKeys } from "../validate.js";
import { CallbackGuard } from "../callback-guard.js";
import { switchResult } from "./switch.js";
import { coreError, kheapAllocFailures } from "../errno.js";
import { VERSION } from "../version.js";
import { assertSharedMemoryAvailable } from "../isolation.js";
import { CORE_LIMITS } from "../core-limits.js";
import { DEFAULT_QUANTUM_NS, lagWindowBuffer } from "../tasks/lag-window.js";

/** Options of runScenario (and, with StartOptions, of startScenario). */
export interface RunOptions extends AssetOptions {
  /** Workers to spread the CPUs over (default: the scenario's). */
  workers?: number;
  /** Override the scenario's seed. */
  seed?: number;
  /**
   * Called about every 200 ms with the operations done so far. One that throws stops the run,
   * which then rejects with its error (once its workers have stopped).
   */
  onProgress?: (p: RunProgress) => void;
  /** Operations per CPU per chunk (default 256): how often events, samples and the stop word are looked at. */
  chunk?: number;
  /** Aborting stops the run at every CPU's next operation; the report covers what was done. */
  signal?: AbortSignal;
  /**
   * Run on this simulator instead of a new one: the run's SMMU, domains and devices are made
   * in it and destroyed after (unless `keepOpen`); it is never closed. Its profile must be
   * the scenario's, and it needs room for an oracle of 2 MiB of kheap.
   */
  simulator?: Simulator;
}

export interface RunProgress {
  done: number;
  total: number;
  violations: number;
  elapsedMs: number;
}

/** What a run that a worker failed had done, and where its machine was left. */
export interface RunFailure {
  /** The worker that failed first, and the simulated CPUs it ran. */
  worker: number;
  cpus: number[];
  /** The report of what was done until the run stopped (outcome.status "failed"). */
  report: RunReport;
  /**
   * The run's objects (domains, SMMU) were left as they were: a worker died, or did not stop
   * within the grace, where it may have held one of their locks. On a simulator of the
   * caller's (RunOptions.simulator), close it and use a new one.
   */
  abandoned: boolean;
}

/** A run that could not finish: a worker failed, or the core refused the setup. */
export class RunError extends IommuSimError {
  override name = "RunError";
  constructor(message: string, options?: { cause?: unknown; failure?: RunFailure }) {
    super(message, options);
    if (options?.failure) this.failure = options.failure;
  }
  /** Set when a worker failed mid-run. */
  readonly failure?: RunFailure;
}

/** Each workload kind's code in the core (assembly/workload/run.ts WL_*). */
export const WORKLOAD_KIND_CODES = {
  "nic-rx": "WL_NIC_RX", "nic-tx": "WL_NIC_TX", storage: "WL_STORAGE", random: "WL_RANDOM", pairs: "WL_PAIRS",
  attacker: "WL_ATTACKER", switcher: "WL_SWITCHER",
} as const satisfies Record<RunWorkload["kind"], LayoutName>;
/** How long the other workers get to stop when one fails, before the pool stops them wherever they are. */
const FAILURE_GRACE_MS = 10_000;
/**
 * Each CPU's first windows of modelled time (1 µs), and the most it keeps before they double:
 * so the report's series has between MAX_WINDOWS / 2 and MAX_WINDOWS points for a run of
 * any length (src/tasks/scenario.ts explains the windows).
 */
const FIRST_WINDOW_NS = 1000;
const MAX_WINDOWS = 256;
/** Violations the report lists in full (the count covers all of them). */
const REPORTED_VIOLATIONS = 100;

/** The overrides as the report carries them (plain arrays, for its schema). */
type ReportOverrides = NonNullable<RunReport["scenario"]["behaviours"]>;

interface Machine {
  sim: Simulator;
  /** The simulator is the caller's (RunOptions.simulator): tear the run's objects down, never close it. */
  borrowed: boolean;
  /** The run is over: a borrowed simulator may take another (Simulator.beginRun). */
  endRun(): void;
  smmu: Smmu;
  domains: Map<string, DmaDomain>;
  devices: Map<string, DmaDevice>;
}

/**
 * Run a scenario — parsed (parseRunScenario) or as written, which is validated here — and
 * return its report (also when the oracle found violations).
 */
export async function runScenario(input: RunScenario | RunScenarioInput, opts?: RunOptions): Promise<RunReport> {
  // keepOpen is startScenario's: runScenario has no run to hand back, so it is refused here.
  checkOptions(opts, RUN_OPTION_KEYS, "runScenario");
  return (await startScenario(input, opts)).report;
}

const RUN_OPTION_KEYS = {
  workers: true, seed: true, onProgress: true, chunk: true, signal: true, simulator: true, core: true, workerUrl: true,
} as const satisfies OptionKeys<RunOptions>;
const START_OPTION_KEYS = { ...RUN_OPTION_KEYS, keepOpen: true } as const satisfies OptionKeys<StartOptions>;

/** A scenario running: its machine to look at while it runs, and its report to come. */
export interface ScenarioRun {
  readonly scenario: RunScenario;
  /** The simulated machine, for reading its state while the workers run (never blocks). */
  readonly simulator: Simulator;
  readonly smmu: Smmu;
  readonly domains: ReadonlyMap<string, DmaDomain>;
  readonly devices: ReadonlyMap<string, DmaDevice>;
  /** Operations done so far, from the shared counters. */
  progress(): RunProgress;
  /**
   * Switch a domain DMA → DMA-FQ now, from this (the orchestrating) thread, while the workers
   * map and unmap in it — the live switch as a sysfs write makes it. Returns "ok" or why the
   * simulated kernel refused; either way it is listed among the report's events. Once the
   * workers are done it throws: the run is over, and its report has its events already.
   */
  switchToLazy(domain: string): string;
  /** Stop every CPU at its next operation (the report then covers what was done). */
  stop(): void;
  /**
   * The report, once the workers are done. Unless `keepOpen`, the simulator is closed by then
   * (or, when it is the caller's, the run's objects destroyed). A RunError when a worker
   * failed: its `failure` has the report of what was done.
   */
  readonly report: Promise<RunReport>;
}

export interface StartOptions extends RunOptions {
  /** Leave the simulator open after the report (the caller closes `simulator`, or destroys the run's objects). Default false. */
  keepOpen?: boolean;
}

/** Start a scenario on its workers; resolves once they have begun. */
export async function startScenario(input: RunScenario | RunScenarioInput, options?: StartOptions): Promise<ScenarioRun> {
  // A page that is not cross-origin isolated hears that first, not about its scenario.
  assertSharedMemoryAvailable();
  const opts = checkOptions(options, START_OPTION_KEYS, "runScenario");
  // Before anything is started: a refusal later would leave a timer or workers behind.
  checkSignal(opts.signal, "runScenario");
  checkCallback("onProgress", opts.onProgress, "runScenario");
  const scenario = parseRunScenario(input, typeof input?.name === "string" ? input.name : "scenario");
  const used = new Set(scenario.workloads.flatMap((w) => w.cpus)).size;
  const workers = checkInt("workers", opts.workers ?? scenario.workers, 1, used, "runScenario (at most one worker per CPU the workloads use)");
  const seed = checkInt("seed", opts.seed ?? scenario.seed, 0, 2 ** 32 - 1, "runScenario");
  const chunk = checkInt("chunk", opts.chunk ?? 256, 1, SCENARIO_MAX_CHUNK, "runScenario");
  const placement = checkPlacement(scenario, workers);
  const assets = checkAssetOptions(opts, "runScenario");
  if (opts.simulator !== undefined && (assets.core !== undefined || assets.workerUrl !== undefined)) {
    throw new ArgumentError(assets.core !== undefined ? "core" : "workerUrl", assets.core ?? assets.workerUrl,
      "must not be given with `simulator` (give it to Simulator.create instead)", "runScenario");
  }
  const machine = await buildMachine(scenario, opts.simulator, assets);
  try {
    checkBufferReach(machine.sim.core, scenario);
    const cpus = setUpWorkloads(machine, scenario, seed);
    const shares = spread(cpus, placement, workers);
    const progress = new SharedArrayBuffer(8 * CORE_LIMITS.MAX_DMA_CPUS); // a Float64 per CPU
    const control = new SharedArrayBuffer(RUN_CONTROL_BYTES);
    const core = machine.sim.core;
    core.raw.wl_run_begin(scenario.checks.stopOnViolation ? core.layout.RUN_STOP_ON_VIOLATION : 0);
    // Background CPUs run for as long as others do: progress counts the others.
    const counted = cpus.filter((c) => Number.isFinite(c.ops));
    const totalOps = counted.reduce((n, c) => n + c.ops, 0);
    // With contention the workers keep within a quantum of each other (src/tasks/lag-window.ts).
    const lag = scenario.contention ? lagWindowBuffer(workers) : undefined;
    const args = (w: number): ScenarioArgs => ({
      cpus: shares[w]!, chunk, firstWindowNs: FIRST_WINDOW_NS, maxWindows: MAX_WINDOWS, progress, control,
      ...(lag ? { lag, quantumNs: DEFAULT_QUANTUM_NS } : {}),
    });
    const pool = await machine.sim.pool({ workers });
    const t0 = performance.now();
    const watch = watchProgress(core, progress, counted.map((c) => c.cpu), totalOps, t0, scenario, opts);
    const liveEvents: EventReport[] = [];
    let over = false;
    const report = (async () => {
      let abandoned = false;
      try {
        let results: ScenarioWorkerResult[];
        try {
          core.raw.timed_set(scenario.contention ? 1 : 0);
          results = await pool.run<ScenarioWorkerResult>("scenario.run", args, {
            timeoutMs: scenario.timeoutMs + 30_000,
            onFailure: { stop: () => core.raw.wl_run_stop(), graceMs: FAILURE_GRACE_MS },
          });
        } catch (e) {
          const failure = failureOf(e, machine, scenario, shares, control, { workers, seed, t0, liveEvents });
          // Without a worker's failure: a pool that closed stopped its workers wherever they were
          // (its timeout); one still open refused the run before anything ran.
          abandoned = failure ? failure.abandoned : pool.closed;
          await pool.close(); // the pool stopped itself: wait until its threads are gone
          throw new RunError(`iommu-sim: scenario ${scenario.name}: ${unprefixed(e)}` +
            (failure ? failureNote(failure, shares, machine.borrowed) : pool.closedDuringRun ? CLOSED_NOTE : ""), { cause: e, ...(failure ? { failure } : {}) });
        } finally {
          over = true;
          core.raw.timed_set(0);
          watch.stop();
        }
        // The caller's onProgress threw: it stopped the run, and the run ends with its error.
        watch.callbacks.rethrow();
        const wallMs = performance.now() - t0;
        return buildReport(machine, scenario, { workers, seed, results, wallMs, stopped: watch.stopped(), liveEvents });
      } finally {
        try {
          if (!opts.keepOpen) await tearDown(machine, abandoned);
        } finally {
          machine.endRun();
        }
      }
    })();
    return {
      scenario, simulator: machine.sim, smmu: machine.smmu, domains: machine.domains, devices: machine.devices,
      progress: () => watch.progress(),
      switchToLazy: (name) => {
        if (over) {
          throw new IommuSimError(`iommu-sim: switchToLazy: the run of scenario ${scenario.name} is over (its workers are done), ` +
            "so a switch now would be no event of it; a DmaDomain's setType switches a domain outside a run");
        }
        return liveSwitch(machine, scenario, name, cpus, liveEvents);
      },
      stop: () => watch.stopRun("signal"),
      report,
    };
  } catch (e) {
    try {
      await tearDown(machine, false);
    } finally {
      machine.endRun();
    }
    throw e;
  }
}

/** Which worker runs each CPU (the workloads' `worker`, the rest round-robin), checked against `workers`. */
function checkPlacement(sc: RunScenario, workers: number): Map<number, number> {
  const placed = Math.max(-1, ...sc.workloads.map((w) => w.worker ?? -1));
  if (placed >= workers) {
    throw new ArgumentError("workers", workers, `must be more than ${placed}: a workload of the scenario is placed on worker ${placed}`, "runScenario");
  }
  const { workerOf, idle } = workerAssignment(sc.workloads, workers);
  if (idle.length > 0) {
    throw new ArgumentError("workers", workers, `would leave worker(s) ${idle.join(", ")} without a CPU (the scenario places its workloads on workers)`, "runScenario");
  }
  return workerOf;
}

/**
 * After a run, or a failed start: a simulator of the run's own is closed; a borrowed one
 * keeps going without the run's objects. Objects a dead thread may hold a lock of are left
 * alone (and a simulator of the run's own is dropped, not closed): destroying them could
 * wait for that lock forever.
 */
async function tearDown(m: Machine, abandoned: boolean): Promise<void> {
  if (abandoned) return;
  if (!m.borrowed) {
    await m.sim.close();
    return;
  }
  for (const d of m.domains.values()) d.destroy();
  m.smmu.destroy();
}

/** What a run a worker failed had done (undefined if the failure is not a worker's). */
function failureOf(e: unknown, m: Machine, sc: RunScenario, shares: ScenarioCpuArgs[][], control: SharedArrayBuffer,
                   f: { workers: number; seed: number; t0: number; liveEvents: EventReport[] }): RunFailure | undefined {
  if (!(e instanceof PoolRunFailure)) return undefined;
  const safe = new Int32Array(control);
  // Every worker, the failed one included, said it left the core at a safe point.
  const abandoned = Array.from({ length: f.workers }, (_, k) => Atomics.load(safe, CTL_SAFE + k)).some((x) => x !== 1);
  const results = e.results.filter((r): r is ScenarioWorkerResult => r !== undefined);
  const report = buildReport(m, sc, { workers: f.workers, seed: f.seed, results, wallMs: performance.now() - f.t0,
                                      stopped: undefined, liveEvents: f.liveEvents, failed: unprefixed(e) });
  return { worker: e.worker, cpus: (shares[e.worker] ?? []).map((c) => c.cpu), report, abandoned };
}

/** An error's message without the package's prefix (it is about to get one of its own). */
function unprefixed(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/^iommu-sim: /, "");
}

/** What the failed worker ran, and how the others stopped. */
function failureNote(f: RunFailure, shares: ScenarioCpuArgs[][], borrowed: boolean): string {
  const ran = ` — worker ${f.worker} ran ${(shares[f.worker] ?? []).map((c) => c.what).join(", ")}`;
  if (!f.abandoned) return `${ran}; the run was stopped, every other worker at a safe point`;
  return `${ran}; the run was stopped, but a worker stopped where it may have held a lock` +
    (borrowed ? ", so the run's DMA domains and SMMU were left as they were; close this Simulator and use a new one" : "");
}

/**
 * A run whose pool was closed under it (Simulator.close) stopped its workers wherever they
 * were, so nothing it did can be reported; the ways to stop a run that keep its report.
 */
const CLOSED_NOTE = " (the Simulator or its pool was closed while the run went on, stopping its workers mid-task: " +
  "nothing they did can be reported; ScenarioRun.stop(), an AbortSignal or the scenario's timeoutMs stop a run and keep its report)";

/** The orchestrator's live switch (ScenarioRun.switchToLazy), recorded as an event. */
function liveSwitch(m: Machine, sc: RunScenario, name: string, cpus: CpuPlan[], events: EventReport[]): string {
  const dom = m.domains.get(name);
  if (!dom) throw new ArgumentError("domain", name, `must name a domain of the scenario (${[...m.domains.keys()].join(", ")})`, "switchToLazy");
  const switcher = sc.workloads.find((w) => w.kind === "switcher" && w.domain === name);
  if (switcher) {
    throw new ArgumentError("domain", name, `must be a domain without a switcher (${switcher.name} switches this one: ` +
      "a switch of the orchestrator's would race its rebuild)", "switchToLazy");
  }
  const core = m.sim.core;
  const devices = sc.devices.filter((d) => d.domain === name).length;
  const refusal = liveTypeRefusal(describeKernel(sc.profile, sc.behaviours), machineHas(core, "DMA_SWITCH_OWNED_GROUPS"),
    devices, dom.type, "DMA-FQ");
  const result = refusal !== undefined ? `refused: ${refusal}`
    : dom.type === "DMA-FQ" ? "already lazy (DMA-FQ): nothing to do" : switchResult(core, core.raw.dma_switch_lazy(dom.id));
  // No CPU fired it, so it has no CPU's clock: it is stamped with the furthest one, the run's
  // modelled time so far (each CPU meets the switch at its own clock, which is at most this).
  const clock = Math.max(...cpus.map((c) => core.raw.wl_counter(c.cpu, core.layout.WC_CLOCK)));
  events.push({ due: "requested by the orchestrator", atUs: clock / 1000, cpu: -1, action: "switch-to-lazy", target: name, result });
  return result;
}

// ── the machine ───────────────────────────────────────────────────────────────

/** @internal The memory a run's own simulator has (a sweep that lends runs its simulators makes them alike: src/sweep/run-point.ts). */
export const RUN_SIMULATOR_MEMORY = { ramMiB: 256, kheapMiB: 64 } as const;

async function buildMachine(sc: RunScenario, given: Simulator | undefined, assets: AssetOptions): Promise<Machine> {
  if (given !== undefined && typeof given?.createDmaDomain !== "function") {
    throw new ArgumentError("simulator", given, "must be a Simulator (Simulator.create)", "runScenario");
  }
  if (given && given.profile !== sc.profile) {
    throw new ArgumentError("simulator", `a Simulator of profile '${given.profile}'`,
      `must have the scenario's profile ('${sc.profile}')`, "runScenario");
  }
  if (given && given.behaviours.join() !== effectiveBehaviours(sc.profile, sc.behaviours).join()) {
    throw new ArgumentError("simulator", `a Simulator of kernel '${describeKernel(given.profile, given.behaviourOverrides)}'`,
      `must run the scenario's kernel ('${describeKernel(sc.profile, sc.behaviours)}')`, "runScenario");
  }
  // Before anything of the run touches the machine: a run already on it is refused here.
  const endRun = given?.beginRun("runScenario") ?? (() => {});
  const cpuCosts = sc.machine === undefined ? {} : MACHINES[sc.machine].cpuCosts;
  const sim = given ?? await Simulator.create({ profile: sc.profile, behaviours: sc.behaviours, ...RUN_SIMULATOR_MEMORY, cpuCosts, ...assets });
  if (given && sc.machine !== undefined) given.setCpuCosts(cpuCosts); // the run's machine is the scenario's
  const made: { smmu?: Smmu; domains: DmaDomain[] } = { domains: [] };
  try {
    const smmu = smmuOf(sc, () => sim.createSmmu({
      ...sc.smmu,
      // The largest shadow an SMMU takes (64 B a page: 2 MiB of simulator memory).
      oracle: sc.checks.oracle ? { capacity: ORACLE_MAX_PAGES, violations: 1024 } : false,
    }));
    made.smmu = smmu;
    const domains = new Map<string, DmaDomain>();
    for (const [i, d] of sc.domains.entries()) {
      let dom: DmaDomain;
      try {
        dom = sim.createDmaDomain({
          smmu, type: d.type, variant: d.variant, granule: d.granule, ias: d.ias, oas: d.oas, cpus: sc.cpus,
          fqMode: d.fqMode, forcedac: d.forcedac, deferTableFree: d.deferTableFree, rangeInvalidation: d.rangeInvalidation,
          magazineSize: d.magazineSize,
        });
      } catch (e) {
        throw e instanceof SimulatorResourceError ? domainsTooBig(sc, i, given) : e;
      }
      made.domains.push(dom);
      // Nothing reads the flush queue's event log in a run; every CPU writing it would cost.
      sim.core.raw.iova_set_flags(dom.iova.id, sim.core.layout.IF_NO_FQ_EVENTS, 0);
      domains.set(d.name, dom);
    }
    const devices = new Map<string, DmaDevice>();
    sc.devices.forEach((dv, i) => {
      try {
        devices.set(dv.name, domains.get(dv.domain)!.attachDevice({
          streamId: dv.streamId, dmaMask: dv.dmaMask, bus: dv.bus, coherent: dv.coherent,
        }));
      } catch (e) {
        throw e instanceof SimulatorResourceError && smmu.iotlbScope === "device" ? mainTlbsTooBig(sc, i, given) : e;
      }
    });
    return { sim, borrowed: given !== undefined, endRun, smmu, domains, devices };
  } catch (e) {
    endRun();
    if (given) {
      for (const d of made.domains) d.destroy();
      made.smmu?.destroy();
    } else await sim.close();
    throw e;
  }
}

/**
 * The run's SMMU, made by `create`; an IOTLB the SMMU model cannot hold (too many sets for
 * one cache: smmu.iotlb's entries and ways together) is told by the scenario's field path.
 */
function smmuOf(sc: RunScenario, create: () => Smmu): Smmu {
  try {
    return create();
  } catch (e) {
    if (!(e instanceof ArgumentError) || e.argument !== "iotlb.entries") throw e;
    const { entries = DEFAULT_IOTLB_ENTRIES, ways = DEFAULT_IOTLB_WAYS } = sc.smmu.iotlb ?? {};
    throw new ScenarioError(sc.name, "smmu.iotlb.ways", [`${sc.name}: smmu.iotlb.ways: an IOTLB of ${entries} entries ` +
      `in ways of ${ways} ${e.expected}`]);
  }
}

/**
 * Domain `i` found no room for its per-CPU state — an IOVA cache of magazines for every CPU
 * of the scenario and, when lazy, a flush-queue ring each: what to change in the scenario,
 * since its author cannot give the run more memory.
 */
function domainsTooBig(sc: RunScenario, i: number, given: Simulator | undefined): ScenarioError {
  const d = sc.domains[i]!;
  const memory = given ? "the given Simulator's kheap" : `the ${RUN_SIMULATOR_MEMORY.kheapMiB} MiB of simulator memory a run has`;
  const magazines = d.magazineSize === undefined ? "" : ` with magazines of ${d.magazineSize} PFNs (magazineSize)`;
  return new ScenarioError(sc.name, `domains[${i}]`, [`${sc.name}: domains[${i}]: no room for domain "${d.name}"'s ` +
    `per-CPU IOVA caches${magazines} and flush queues: ${sc.domains.length} domains, each with those of all ` +
    `${sc.cpus} CPUs (cpus), besides the SMMU's caches, do not fit ${memory}; give fewer cpus or domains` +
    `${d.magazineSize === undefined ? "" : ", or a smaller magazineSize"}`]);
}

/**
 * Device `i` found no room for its main TLB (a main TLB per device, the IOTLB's default
 * scope): what to change in the scenario, since its author cannot give the run more memory.
 */
function mainTlbsTooBig(sc: RunScenario, i: number, given: Simulator | undefined): ScenarioError {
  const entries = sc.smmu.iotlb?.entries ?? DEFAULT_IOTLB_ENTRIES;
  const memory = given ? "the given Simulator's kheap" : `the ${RUN_SIMULATOR_MEMORY.kheapMiB} MiB of simulator memory a run has`;
  return new ScenarioError(sc.name, `devices[${i}]`, [`${sc.name}: devices[${i}]: no room for device "${sc.devices[i]!.name}"'s ` +
    `main TLB: ${sc.devices.length} devices, each with a main TLB of ${entries} entries (smmu.iotlb.entries), do not fit ` +
    `${memory}; give fewer entries, or smmu.iotlb.scope "smmu" (one IOTLB for every device)`]);
}

interface CpuPlan extends ScenarioCpuArgs {
  workload: RunWorkload;
}

/** The device a workload drives; a switcher's: the first of the domain it switches (its domain is what counts). */
function deviceOf(sc: RunScenario, w: RunWorkload): string {
  return w.kind === "switcher" ? sc.devices.find((d) => d.domain === w.domain)!.name : w.device;
}

/**
 * A background workload's CPUs run until these have finished: an attacker's victim's, a
 * switcher's domain's mapping CPUs. Undefined when it was given a number of operations.
 */
function servedCpus(sc: RunScenario, w: RunWorkload): number[] | undefined {
  if (w.kind === "attacker" && w.ops === undefined) return sc.workloads.find((v) => v.name === w.victim)!.cpus;
  if (w.kind !== "switcher" || w.ops !== undefined) return undefined;
  const devices = new Set(sc.devices.filter((d) => d.domain === w.domain).map((d) => d.name));
  return sc.workloads.filter((v) => !isBackground(v) && devices.has(deviceOf(sc, v))).flatMap((v) => v.cpus);
}

/** Set up each workload CPU in the core; returns the CPUs with their events. */
function setUpWorkloads(m: Machine, sc: RunScenario, seed: number): CpuPlan[] {
  const core = m.sim.core;
  const attackerOf = new Map<string, number>();
  for (const w of sc.workloads) if (w.kind === "attacker") attackerOf.set(w.victim, w.cpus[0]!);
  const plans: CpuPlan[] = [];
  for (const w of sc.workloads) {
    const dev = m.devices.get(deviceOf(sc, w))!;
    const until = servedCpus(sc, w);
    const domain = sc.domains.find((d) => d.name === sc.devices.find((d) => d.name === deviceOf(sc, w))!.domain)!;
    w.cpus.forEach((cpu, i) => {
      const p = workloadParams(w, sc, attackerOf.get(w.name), i);
      const rc = core.raw.wl_init(cpu, core.layout[WORKLOAD_KIND_CODES[w.kind]], dev.id, p.ring, p.min, p.max, p.segs, p.link,
        mixSeed(seed, cpu));
      if (rc !== 0) throw new RunError(coreError(core, rc, `scenario ${sc.name}: workload "${w.name}" on cpu ${cpu}`).message);
      plans.push({ cpu, ops: w.ops ?? Infinity, ...(until ? { until } : {}), ...(until && w.kind === "attacker" ? { idles: true } : {}),
                   events: [], workload: w, domain: dev.domain.id, what: `cpu ${cpu} (${w.kind} "${w.name}")`,
                   fqRing: domain.fqMode === "single" ? singleQueueReader(sc, domain.name, cpu) : cpu });
    });
  }
  for (const e of sc.events) {
    const plan = plans.find((p) => p.cpu === e.cpu)!;
    plan.events.push(eventArgs(m, sc, e, plan));
  }
  for (const p of plans) p.events.sort((a, b) => (a.afterOps ?? Infinity) - (b.afterOps ?? Infinity) || (a.atNs ?? 0) - (b.atNs ?? 0));
  for (const d of m.domains.values()) for (let c = 0; c < sc.cpus; c++) d.releaseCpu(c);
  return plans;
}

/**
 * A domain with one flush queue for all its CPUs: its lowest CPU reads it for the series
 * (ring 0), the others none, so that the report does not count the one queue once per CPU.
 */
function singleQueueReader(sc: RunScenario, domain: string, cpu: number): number {
  const cpus = sc.workloads.filter((w) => sc.devices.find((d) => d.name === deviceOf(sc, w))!.domain === domain).flatMap((w) => w.cpus);
  return cpu === Math.min(...cpus) ? 0 : -1;
}

/**
 * The workloads' buffers sit at physical addresses of their own (each CPU its 4 GiB from
 * 64 GiB up): a domain whose output size cannot reach them would fail every map. Say so
 * before the run rather than report a run of nothing but DMA_MAPPING_ERRORs.
 */
function checkBufferReach(core: Core, sc: RunScenario): void {
  const L = core.layout;
  for (const w of sc.workloads) {
    if (isBackground(w)) continue; // a device and a switcher map nothing
    const domain = sc.devices.find((d) => d.name === w.device)!.domain;
    const i = sc.domains.findIndex((d) => d.name === domain);
    const top = L.WL_PHYS_BASE + (Math.max(...w.cpus) + 1) * 2 ** L.WL_PHYS_CPU_SHIFT;
    const need = Math.ceil(Math.log2(top));
    if (sc.domains[i]!.oas < need) {
      // The sizes the file may give (the schema's) that reach, so that the fix is one edit.
      const enough = DMA_DOMAIN_OAS.filter((b) => b >= need).join(", ");
      throw new ScenarioError(sc.name, `domains[${i}].oas`, [`${sc.name}: domains[${i}].oas: the buffers of workload ` +
        `"${w.name}" reach PA ${hex(top - 1)} (each CPU has 4 GiB of its own from ${hex(L.WL_PHYS_BASE)}), ` +
        `so this domain needs oas ≥ ${need} (one of ${enough}); found ${sc.domains[i]!.oas}`]);
    }
  }
}

/**
 * The core's parameters of CPU `index` of workload `w`. An attacker watches its victim's
 * first CPU: that CPU logs its unmaps for it (the log has one writer and one reader).
 */
function workloadParams(w: RunWorkload, sc: RunScenario, attackerCpu: number | undefined, index: number) {
  const link = attackerCpu === undefined || index !== 0 ? 0 : attackerCpu + 1;
  switch (w.kind) {
    case "nic-rx": return { ring: w.ring, min: w.bufferBytes, max: w.bufferBytes, segs: 1, link };
    case "nic-tx": return { ring: w.ring, min: w.minBytes, max: w.maxBytes, segs: 1, link };
    case "storage": return { ring: w.queueDepth, min: w.minBytes, max: w.maxBytes, segs: w.segments, link };
    case "random": return { ring: w.live, min: w.minBytes, max: w.maxBytes, segs: 1, link };
    case "pairs": return { ring: 1, min: w.minBytes, max: w.maxBytes, segs: 1, link };
    case "attacker": {
      const victim = sc.workloads.find((v) => v.name === w.victim)!;
      return { ring: w.keep, min: 1, max: 1, segs: 1, link: victim.cpus[0]! };
    }
    case "switcher": return { ring: w.gap, min: 1, max: 1, segs: 1, link: 0 };
  }
}

function eventArgs(m: Machine, sc: RunScenario, e: RunEvent, plan: CpuPlan): ScenarioEventArgs {
  const at = e.at;
  const base = at.fraction !== undefined
    ? { afterOps: Math.ceil(at.fraction * plan.ops), due: `${+(at.fraction * 100).toFixed(2)}% of cpu ${e.cpu}'s operations` }
    : at.ops !== undefined ? { afterOps: at.ops, due: `${at.ops} of cpu ${e.cpu}'s operations` }
    // Whole ns, rounded up: a fraction of one would reach the core as 0, "no time limit", and
    // the event would fire at the end of the CPU's chunk instead of at its first operation.
    : { atNs: Math.ceil(at.timeMs * 1e6), due: `cpu ${e.cpu}'s clock at ${at.timeMs} ms` };
  if (e.action === "fail-worker") return { ...base, action: e.action, mode: e.mode, target: `worker of cpu ${e.cpu}` };
  const dom = m.domains.get(e.domain)!;
  if (e.action === "switch-to-lazy") {
    return { ...base, action: e.action, domain: dom.id, target: e.domain,
             refusal: lazySwitchRefusal(describeKernel(sc.profile, sc.behaviours), machineHas(m.sim.core, "DMA_SWITCH_OWNED_GROUPS"),
               sc.devices.filter((d) => d.domain === e.domain).length) };
  }
  return { ...base, action: e.action, iovaDomain: dom.iova.id, count: e.count, target: e.domain };
}

/** Each worker's CPUs, in CPU order (`workerOf`: checkPlacement's). */
function spread(cpus: CpuPlan[], workerOf: Map<number, number>, workers: number): ScenarioCpuArgs[][] {
  const shares: ScenarioCpuArgs[][] = Array.from({ length: workers }, () => []);
  for (const { workload: _w, ...c } of [...cpus].sort((a, b) => a.cpu - b.cpu)) shares[workerOf.get(c.cpu)!]!.push(c);
  return shares;
}

function mixSeed(seed: number, cpu: number): number {
  let x = (seed ^ Math.imul(cpu + 1, 0x9e3779b1)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  return (x ^ (x >>> 13)) >>> 0 || 1;
}

// ── progress and the timeout ─────────────────────────────────────────────────

/** Why a run was stopped before its end by the orchestrator, if it was. */
type StopCause = "timeout" | "signal" | undefined;

function watchProgress(core: Core, progress: SharedArrayBuffer, counted: number[], total: number, t0: number,
                       sc: RunScenario, opts: RunOptions) {
  const done = new Float64Array(progress);
  let cause: StopCause;
  const stopRun = (why: StopCause) => { cause ??= why; core.raw.wl_run_stop(); };
  const timer = setTimeout(() => stopRun("timeout"), sc.timeoutMs);
  const onAbort = () => stopRun("signal");
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener("abort", onAbort);
  const now = (): RunProgress => {
    let violations = 0;
    for (let c = 0; c < sc.cpus; c++) violations += core.raw.wl_counter(c, core.layout.WC_VIOLATIONS);
    return { done: counted.reduce((n, c) => n + done[c]!, 0), total, violations, elapsedMs: performance.now() - t0 };
  };
  const callbacks = new CallbackGuard(() => core.raw.wl_run_stop());
  const tick = setInterval(() => callbacks.call(opts.onProgress, now()), 200);
  return {
    callbacks,
    stop(): void { clearTimeout(timer); clearInterval(tick); opts.signal?.removeEventListener("abort", onAbort); },
    stopped: () => cause,
    stopRun,
    progress: now,
  };
}

// ── the report ───────────────────────────────────────────────────────────────

interface RunFacts {
  workers: number;
  seed: number;
  results: ScenarioWorkerResult[];
  wallMs: number;
  stopped: StopCause;
  /** Events the orchestrator caused while the run went on (ScenarioRun.switchToLazy). */
  liveEvents: EventReport[];
  /** The first failure of a worker, when one failed (the results are then the others'). */
  failed?: string;
}

function buildReport(m: Machine, sc: RunScenario, f: RunFacts): RunReport {
  const core = m.sim.core;
  const workerOf = new Map<number, number>();
  for (const r of f.results) for (const c of r.cpus) workerOf.set(c, r.worker);
  const perCpu = sc.workloads.flatMap((w) => w.cpus.map((cpu) => cpuReport(core, cpu, workerOf.get(cpu) ?? 0, w)));
  const sum = (k: keyof CpuReport) => perCpu.reduce((n, c) => n + (c[k] as number), 0);
  const driverCpus = sc.workloads.flatMap((w) => (isBackground(w) ? [] : w.cpus));
  const attackerCpus = sc.workloads.flatMap((w) => (w.kind === "attacker" ? w.cpus : []));
  const switcherCpus = sc.workloads.flatMap((w) => (w.kind === "switcher" ? w.cpus : []));
  const drivers = perCpu.filter((c) => driverCpus.includes(c.cpu));
  const ops = sum("ops");
  const modelledNs = drivers.reduce((n, c) => n + c.modelledNs, 0);
  const driverOps = drivers.reduce((n, c) => n + c.ops, 0);
  const violations = violationReports(m);
  const points = series(f.results, perCpu.map((c) => c.cpu));
  const totals = {
    ops, maps: sum("maps"), unmaps: sum("unmaps"), mapFailures: sum("mapFailures"), deviceAccesses: sum("deviceAccesses"),
    faults: sum("faults"), violations: sum("violations"), unmapErrors: sumOver(core, driverCpus, "WC_UNMAP_ERRORS"),
    modelledNsPerOp: driverOps ? modelledNs / driverOps : 0,
    modelledUs: Math.max(0, ...perCpu.map((c) => c.modelledNs)) / 1000,
    kheapAllocFailures: kheapAllocFailures(core),
  };
  const stoppedByViolation = sc.checks.stopOnViolation && totals.violations > 0;
  // An unmap that found fq_domain set but no queue is a violation too (the explorer's
  // queue-before-publish): the kernel would have dereferenced a missing queue.
  const unclean = totals.violations > 0 || totals.unmapErrors > 0;
  const status = f.failed ? "failed" : f.stopped || stoppedByViolation ? "stopped" : unclean ? "violations" : "ok";
  const found = unclean ? "violations" : "clean";
  // The scenario's own events that did not do what it asked (refused, failed, never reached:
  // but in a run cut short, one not reached yet says no more than the status does).
  const cut = f.stopped || f.failed !== undefined || stoppedByViolation;
  const failedEvents = f.results.flatMap((r) => r.events)
    .filter((e) => !e.result.startsWith("ok") && !(cut && e.result.startsWith("not reached")));
  return {
    tool: "iommu-sim", version: VERSION,
    scenario: { name: sc.name, description: sc.description, profile: sc.profile,
                ...(sc.behaviours ? { behaviours: normaliseOverrides(sc.behaviours) as ReportOverrides, kernel: describeKernel(sc.profile, sc.behaviours) } : {}),
                seed: f.seed, workers: f.workers,
                cpus: sc.cpus, oracle: sc.checks.oracle, ...(sc.machine !== undefined ? { machine: sc.machine } : {}),
                contention: sc.contention },
    outcome: {
      status, expected: sc.checks.expect,
      // A run cut short by the timeout, a request or a failure did not show what it was meant to.
      // and one whose events failed did not run the scenario it describes.
      asExpected: !f.stopped && !f.failed && failedEvents.length === 0 && (sc.checks.expect === "any" || sc.checks.expect === found),
      message: (f.failed ? `stopped: ${f.failed}` : outcomeMessage(sc, totals.violations, f.stopped, stoppedByViolation)) +
        unmapErrorNote(totals) + failedEventsNote(failedEvents) +
        mapFailureNote(totals) + kheapWarning(totals) + shadowWarning(m) + attackerWarning(core, sc),
    },
    totals, oracle: oracleReport(m), perCpu,
    latency: {
      map: { ...mergeHist(driverCpus.map((c) => rawHist(core, c, "W_HIST_MAP", "ns", 1)), "ns"),
             mean: ratio(sumOver(core, driverCpus, "WC_MAP_NS"), totals.maps + totals.mapFailures) },
      unmap: { ...mergeHist(driverCpus.map((c) => rawHist(core, c, "W_HIST_UNMAP", "ns", 1)), "ns"),
               mean: ratio(sumOver(core, driverCpus, "WC_UNMAP_NS"), totals.unmaps) },
    },
    smmu: smmuReport(m.smmu), iova: iovaReport(m), fq: fqReport(m, points),
    lazyWindow: mergeHist(windowsOf(core, sc, false), "us"),
    lazyWindowsOpen: sumOver(core, driverCpus, "WC_OPEN_WINDOWS"),
    lazyWindowsLost: sumOver(core, driverCpus, "WC_WINDOWS_LOST"),
    attackerWindow: mergeHist(windowsOf(core, sc, true), "us"),
    attacker: { retries: sumOver(core, attackerCpus, "WC_RETRIES"), staleReads: sumOver(core, attackerCpus, "WC_STALE_HITS"),
                faults: sumOver(core, attackerCpus, "WC_FAULTS") },
    switcher: { rounds: sumOver(core, switcherCpus, "WC_OPS"), switches: sumOver(core, switcherCpus, "WC_SWITCHES") },
    domains: domainReports(m, sc),
    events: [...f.results.flatMap((r) => r.events), ...f.liveEvents].sort((a, b) => a.atUs - b.atUs || a.cpu - b.cpu),
    series: points,
    violations,
    timing: {
      // 0 for no time measured: NaN or Infinity would be written to the JSON as null.
      wallMs: f.wallMs, opsPerSec: perSecond(ops, f.wallMs),
      perWorker: f.results.map((r) => ({ worker: r.worker, cpus: r.cpus, ops: r.ops, wallMs: r.wallMs, opsPerSec: perSecond(r.ops, r.wallMs) })),
    },
  };
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : 0);

type CpuCounter = "WC_MAP_NS" | "WC_UNMAP_NS" | "WC_UNMAP_ERRORS" | "WC_OPEN_WINDOWS" | "WC_WINDOWS_LOST" | "WC_RETRIES" |
  "WC_STALE_HITS" | "WC_FAULTS" | "WC_OPS" | "WC_SWITCHES";

/** A workload counter summed over some CPUs. */
function sumOver(core: Core, cpus: number[], counter: CpuCounter): number {
  return cpus.reduce((n, c) => n + core.raw.wl_counter(c, core.layout[counter]), 0);
}

function outcomeMessage(sc: RunScenario, violations: number, cause: StopCause, stopped: boolean): string {
  if (cause === "timeout") return `stopped at the timeout (${sc.timeoutMs} ms) before every operation was done`;
  if (cause === "signal") return "stopped on request (interrupted) before every operation was done";
  if (stopped) return `stopped at the first violation the oracle found (${violations} counted by then)`;
  if (!sc.checks.oracle) return "ran to the end; the oracle was off, so violations were not looked for";
  return violations > 0 ? `the oracle found ${violations} violation(s)` : "ran to the end; the oracle found no violation";
}

function unmapErrorNote(t: { unmapErrors: number }): string {
  return t.unmapErrors > 0
    ? `; VIOLATION: ${t.unmapErrors} dma_unmap calls found fq_domain set but no flush queue (queue-before-publish: the ` +
      "domain's variant published fq_domain before its queue was built; the kernel would dereference a missing queue)"
    : "";
}

function failedEventsNote(events: readonly EventReport[]): string {
  return events.map((e) => `; EVENT FAILED: ${e.action} ${e.target} (${e.due}): ${e.result}`).join("");
}

function mapFailureNote(t: { maps: number; mapFailures: number }): string {
  return t.mapFailures > 0
    ? `; NOTE: ${t.mapFailures} of ${t.maps + t.mapFailures} dma_map calls failed (DMA_MAPPING_ERROR: no IOVA space under the mask, or the page table refused)`
    : "";
}

function perSecond(n: number, ms: number): number {
  return ms > 0 ? n / (ms / 1000) : 0;
}

/**
 * An attacker that retried no unmapped IOVA measured nothing: its window histogram is empty
 * and "ok" would read as "the attacker found no way in". Said, with the likely reason.
 */
function attackerWarning(core: Core, sc: RunScenario): string {
  return sc.workloads.map((w) => {
    if (w.kind !== "attacker" || sumOver(core, w.cpus, "WC_RETRIES") > 0) return "";
    const victim = sc.workloads.find((v) => v.name === w.victim)!;
    return `; WARNING: attacker ${JSON.stringify(w.name)} measured nothing: it retried no unmapped IOVA, because its ` +
      `victim ${JSON.stringify(victim.name)} (cpu ${victim.cpus[0]}) unmapped none while it ran` +
      (w.ops !== undefined ? ` (it ran its ${w.ops} op${w.ops === 1 ? "" : "s"} first; leave out its ops to run it as long ` +
        "as its victim)" : "");
  }).join("");
}

/** The simulator's own memory ran out: failures that follow are its limits, not the kernel's. */
function kheapWarning(t: { kheapAllocFailures: number }): string {
  return t.kheapAllocFailures > 0
    ? `; WARNING: ${t.kheapAllocFailures} allocations from the simulator's own memory (kheap) failed: map failures ` +
      "and missing magazines after that are the simulator's limits, not the kernel's (give the Simulator a larger kheapMiB)"
    : "";
}

function shadowWarning(m: Machine): string {
  const c = m.smmu.oracle?.counts();
  if (!c || c.shadowFull === 0) return "";
  return `; WARNING: the oracle's shadow (${ORACLE_MAX_PAGES} IOVA pages) had no room for ${c.shadowFull} updates, ` +
    `so ${c.unchecked} accesses to pages it holds no record of went unjudged`;
}

function cpuReport(core: Core, cpu: number, worker: number, w: RunWorkload): CpuReport {
  const L = core.layout;
  const c = (k: keyof typeof L) => core.raw.wl_counter(cpu, L[k]);
  const ops = c("WC_OPS");
  const modelledNs = c("WC_CLOCK");
  return {
    cpu, worker, workload: w.name === w.kind ? w.kind : `${w.kind} ${w.name}`, ops, maps: c("WC_MAPS"), unmaps: c("WC_UNMAPS"),
    mapFailures: c("WC_MAP_FAILS"), deviceAccesses: c("WC_ACCESSES"), faults: c("WC_FAULTS"), violations: c("WC_VIOLATIONS"),
    modelledNs, modelledNsPerOp: ops ? modelledNs / ops : 0, time: readTimeBreakdown(core, (i) => core.raw.wl_counter(cpu, L.WC_TIME + i)),
    mapLatency: { ...mergeHist([rawHist(core, cpu, "W_HIST_MAP", "ns", 1)], "ns"), mean: ratio(c("WC_MAP_NS"), c("WC_MAPS") + c("WC_MAP_FAILS")) },
    unmapLatency: { ...mergeHist([rawHist(core, cpu, "W_HIST_UNMAP", "ns", 1)], "ns"), mean: ratio(c("WC_UNMAP_NS"), c("WC_UNMAPS")) },
  };
}

/** A CPU's histogram as the core keeps it: every bucket, bounds divided by `scale` (ns → µs: 1000). */
interface RawHist { unit: string; bounds: number[]; counts: number[] }

function rawHist(core: Core, cpu: number, which: "W_HIST_MAP" | "W_HIST_UNMAP" | "W_HIST_WINDOW", unit: string, scale: number): RawHist {
  const L = core.layout;
  const bounds: number[] = [];
  const counts: number[] = [];
  for (let b = 0; b < L.WL_HIST_BUCKETS; b++) {
    bounds.push(core.raw.wl_hist_floor(b) / scale);
    counts.push(core.raw.wl_hist_count(cpu, L[which], b));
  }
  return { unit, bounds, counts };
}

/** The window histograms (µs) of the drivers' CPUs (the flush queue's), or of the attackers'. */
function windowsOf(core: Core, sc: RunScenario, attackers: boolean): RawHist[] {
  return sc.workloads.filter((w) => (attackers ? w.kind === "attacker" : !isBackground(w)))
    .flatMap((w) => w.cpus.map((c) => rawHist(core, c, "W_HIST_WINDOW", "us", 1000)));
}

/** Sum histograms over the same buckets, then summarise. */
function mergeHist(hs: RawHist[], unit: string): Histogram {
  if (hs.length === 0) return summarise(unit, [], []);
  const counts = hs[0]!.counts.map((_, i) => hs.reduce((n, h) => n + h.counts[i]!, 0));
  return summarise(unit, hs[0]!.bounds, counts);
}

/**
 * Statistics of a bucketed distribution, trimmed of empty ends. A quantile is interpolated
 * linearly within the bucket it falls in (samples taken as spread evenly over the bucket),
 * so two CPUs whose p50 and p99 share a bucket still show different values, rather than
 * both reading as the bucket's lower bound; in the open top bucket it is that bucket's
 * lower bound. The mean takes each sample at its bucket's lower bound; the max is the upper
 * bound of the last bucket with samples (the largest sample is below it), so no quantile
 * can exceed it.
 */
export function summarise(unit: string, bounds: number[], counts: number[]): Histogram {
  const samples = counts.reduce((a, b) => a + b, 0);
  const first = counts.findIndex((c) => c > 0);
  if (first < 0) return { unit, bounds: [], counts: [], samples: 0, mean: 0, p50: 0, p99: 0, max: 0 };
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  const quantile = (q: number) => {
    const target = q * samples;
    let seen = 0;
    for (let i = first; i <= last; i++) {
      const n = counts[i]!;
      if (seen + n >= target) {
        const lo = bounds[i]!;
        const hi = bounds[i + 1] ?? lo;
        return lo + (hi - lo) * Math.min(1, Math.max(0, (target - seen) / n));
      }
      seen += n;
    }
    return bounds[last]!;
  };
  const mean = counts.reduce((n, c, i) => n + c * bounds[i]!, 0) / samples;
  return {
    unit, bounds: bounds.slice(first, last + 1), counts: counts.slice(first, last + 1), samples, mean,
    p50: quantile(0.5), p99: quantile(0.99), max: bounds[last + 1] ?? bounds[last]!,
  };
}

function oracleReport(m: Machine): RunReport["oracle"] {
  const c = m.smmu.oracle?.counts();
  const none = { afterStrictUnmap: 0, afterFlush: 0, useAfterFree: 0, unknown: 0, freedTable: 0 };
  if (!c) return { checked: 0, lazyWindowAccesses: 0, shadowFull: 0, unchecked: 0, violationsByClass: none };
  const checked = c.ok + c.lazyWindow + c.afterStrictUnmap + c.afterFlush + c.useAfterFree + c.unknown + c.freedTable;
  return {
    checked, lazyWindowAccesses: c.lazyWindow, shadowFull: c.shadowFull, unchecked: c.unchecked,
    violationsByClass: Object.fromEntries(Object.keys(none).map((k) => [k, c[k as keyof typeof none]])) as typeof none,
  };
}

/** Each DMA domain at the end: its type, the DMA layer's counts (mixedDecisions: the seed race's signature), its queue, its magazines. */
function domainReports(m: Machine, sc: RunScenario): RunReport["domains"] {
  return sc.domains.map((d) => {
    const dom = m.domains.get(d.name)!;
    return { name: d.name, variant: dom.variant, type: dom.type, dma: dom.stats(), fqPending: Math.max(0, dom.fqPending()),
             magazineSize: dom.iova.magazineSize };
  });
}

function smmuReport(smmu: Smmu): RunReport["smmu"] {
  const s = smmu.stats();
  const hits = s.iotlbHits + s.microTlbHits;
  return {
    translations: s.translations, microTlbHits: s.microTlbHits, iotlbHits: s.iotlbHits, iotlbMisses: s.iotlbMisses,
    iotlbHitRate: s.translations ? hits / s.translations : 0, walks: s.walks, pteReads: s.pteReads,
    walkCacheHits: s.walkCacheHits, faults: s.faults,
    commands: s.commandsByKind,
    ...(smmu.model === "v3" ? {} : { model: smmu.model, registers: s.registersByKind }),
    modelledNs: s.modelledNs, walksQueued: s.walksQueued, walkWaitNs: s.walkWaitNs,
  };
}

function iovaReport(m: Machine): RunReport["iova"] {
  let hits = 0, misses = 0, depotHits = 0, treeAllocs = 0, treeFrees = 0, magFails = 0;
  for (const d of m.domains.values()) {
    const s = d.iova.stats();
    hits += s.rcacheHits; misses += s.rcacheMisses; depotHits += s.rcacheDepotHits;
    treeAllocs += s.treeAllocs; treeFrees += s.treeFrees; magFails += s.magazineAllocFailures;
  }
  return { rcacheHits: hits, rcacheMisses: misses, rcacheHitRate: ratio(hits, hits + misses), depotHits,
           depotHitRate: ratio(depotHits, hits), treeAllocs, treeFrees, magazineAllocFailures: magFails };
}

function fqReport(m: Machine, points: SeriesPoint[]): RunReport["fq"] {
  let full = 0, timer = 0, started = 0, queued = 0;
  for (const d of m.domains.values()) {
    const c = d.iova.fqCounters();
    full += c.ringFullFlushes;
    timer += c.timerFlushes;
    started += c.startCnt;
    queued += d.stats().lazyUnmaps;
  }
  const occupancy = points.map((p) => p.fqOccupancy);
  return { flushes: { ringFull: full, timer, other: Math.max(0, started - full - timer) }, entriesQueued: queued,
           maxOccupancy: Math.max(0, ...occupancy) };
}

/**
 * The run's time series: the CPUs' windows of modelled time (src/tasks/scenario.ts) added up
 * window by window, every CPU brought to the widest windows any of them reached. Point k is
 * the run at the end of window k (tUs = k · width): operations of every CPU done by then on
 * its own clock, the hit rate of the window's accesses, the queues pending then. A CPU that
 * finished earlier counts with its final numbers (it did nothing more). The run's last,
 * partial window ends at the furthest clock (totals.modelledUs); shorter than half a window,
 * it is folded into the one before, since a rate over a sliver of time is noise.
 */
function series(results: ScenarioWorkerResult[], order: number[]): SeriesPoint[] {
  // In the report's CPU order (perCpu's), so that cpuOps[i] is perCpu[i]'s.
  const byCpu = new Map(results.flatMap((r) => r.series ?? []).map((c) => [c.cpu, c]));
  const cpus = order.map((c) => byCpu.get(c)).filter((c): c is CpuSeries => c !== undefined);
  if (cpus.length === 0) return [];
  const width = Math.max(...cpus.map((c) => c.windowNs));
  const endNs = Math.max(...cpus.map((c) => c.end.clockNs));
  if (!(endNs > 0)) return [];
  const ends: number[] = [];
  for (let t = width; t <= endNs; t += width) ends.push(t);
  const tail = endNs - (ends.at(-1) ?? 0);
  if (tail > 0) {
    if (tail < width / 2 && ends.length > 0) ends[ends.length - 1] = endNs;
    else ends.push(endNs);
  }
  /** A CPU's reading at the end of the window ending at t (its last one once its clock stopped short of t). */
  const at = (c: CpuSeries, t: number): CpuSeriesPoint =>
    t >= c.end.clockNs ? c.end : (c.points[Math.round(t / c.windowNs) - 1] ?? c.end);
  let prev = { accesses: 0, tlbHits: 0 };
  return ends.map((t) => {
    const now = cpus.map((c) => at(c, t));
    const sum = (k: "ops" | "accesses" | "tlbHits" | "fqPending") => now.reduce((n, p) => n + p[k], 0);
    const accesses = sum("accesses");
    const tlbHits = sum("tlbHits");
    const dAccesses = accesses - prev.accesses;
    const hitRate = dAccesses > 0 ? (tlbHits - prev.tlbHits) / dAccesses : 0;
    prev = { accesses, tlbHits };
    const lazy = new Set(cpus.filter((_, i) => now[i]!.lazy === 1).map((c) => c.domain));
    // Wall time: the latest at which a CPU reached this point of modelled time (those that stopped short of it never did).
    const wall = now.filter((_, i) => cpus[i]!.end.clockNs >= t).map((p) => p.wallMs);
    return {
      tUs: t / 1000, ops: sum("ops"), ...(cpus.length === order.length ? { cpuOps: now.map((p) => p.ops) } : {}), wallMs: Math.max(0, ...(wall.length ? wall : now.map((p) => p.wallMs))),
      iotlbHitRate: hitRate, fqOccupancy: sum("fqPending"), lazyDomains: lazy.size,
    };
  });
}

/** The violations the oracle's log still holds (the latest; at most REPORTED_VIOLATIONS of them). */
function violationReports(m: Machine): ViolationReport[] {
  const oracle = m.smmu.oracle;
  if (!oracle) return [];
  return oracle.takeLatestViolations().violations.slice(-REPORTED_VIOLATIONS).map((v) => ({
    class: v.kind, streamId: v.streamId, iova: v.iova, pa: v.reached, explanation: v.explanation,
    trace: [
      `IOVA ${hex(v.iova)} had been mapped ${v.generation} time(s); its last unmap was at jiffy ${v.unmappedAt}`,
      v.expected ? `the DMA API had it mapped to PA ${hex(v.expected)} at the access` : "the DMA API had it unmapped at the access",
      `the device (stream ${v.streamId}) reached PA ${hex(v.reached)} at jiffy ${v.at}`,
    ],
  }));
}
