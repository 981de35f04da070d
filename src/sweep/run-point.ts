// One run of a sweep: its scenario (src/sweep/points.ts) on one worker, so that everything in
// its report but the wall-clock timing is a function of the scenario and the seed (the
// runner's determinism promise, src/report/types.ts) — which is what lets shards, queue
// workers on other machines and a resumed sweep produce lines that can be merged and compared.
// A run that fails is a result (a failed line), not a failure of the sweep; a run stopped by
// the sweep's own signal is no result at all (it is run again on --resume).
//
// A fresh simulator costs more than a short run (its worker thread starts and instantiates the
// core: ~0.5–1 s against tens of ms), so a sweep lends its runs simulators it keeps
// (PointSimulators): one per kernel profile, reset to the default CPU costs before each run
// (the runner sets a machine preset's). A run leaves nothing else behind in its simulator —
// test/sweep-local.test.ts checks that a point's result does not depend on what ran before it.

import { runScenario, RUN_SIMULATOR_MEMORY } from "../run/runner.js";
import { Simulator } from "../simulator.js";
import { DEFAULT_CPU_COSTS } from "../smmu/smmu.js";
import { IommuSimError } from "../errors.js";
import { VERSION } from "../version.js";
import { DEFAULT_PROFILE, type Profile } from "../profile.js";
import { DEFAULT_SWEEP_METRICS, metricsOf } from "./metrics.js";
import { countRuns, pointScenario } from "./points.js";
import type { SweepRunPoint, SweepResultLine, SweepSpec, SweepVersions } from "./types.js";
import { checkSignal } from "../validate.js";

/** The versions this process produces results with: iommu-sim's and Node's. */
export function sweepVersions(): SweepVersions {
  return { iommuSim: VERSION, node: process.version };
}

/** A run stopped by the sweep's signal (Ctrl-C): it has no result and is not written. */
export class PointAbortedError extends IommuSimError {
  override name = "PointAbortedError";
}

/**
 * Simulators kept for a sweep's runs, one per kernel profile, each used by one run at a time
 * (give each concurrent runner its own). A run that fails takes its simulator with it.
 */
export class PointSimulators {
  private readonly sims = new Map<Profile, Promise<Simulator>>();
  /** Wall-clock ms spent starting simulators (and their worker threads) so far. */
  startMs = 0;

  /** The simulator for `profile`, made (with its worker thread started) on first use. */
  get(profile: Profile): Promise<Simulator> {
    let sim = this.sims.get(profile);
    if (sim === undefined) {
      sim = this.start(profile);
      this.sims.set(profile, sim);
      sim.catch(() => this.sims.delete(profile));
    }
    return sim;
  }

  private async start(profile: Profile): Promise<Simulator> {
    const t0 = performance.now();
    const sim = await Simulator.create({ profile, ...RUN_SIMULATOR_MEMORY });
    try {
      await sim.pool({ workers: 1 });
    } catch (e) {
      await sim.close();
      throw e;
    } finally {
      this.startMs += performance.now() - t0;
    }
    return sim;
  }

  /**
   * Forgets `profile`'s simulator after a run failed in it, and closes it (where a worker died
   * mid-run, Simulator.close() leaves the objects it may have held a lock of as they are).
   */
  async discard(profile: Profile): Promise<void> {
    const sim = this.sims.get(profile);
    this.sims.delete(profile);
    if (sim !== undefined) await (await sim).close().catch(() => undefined);
  }

  /** Closes every simulator (after the sweep). */
  async close(): Promise<void> {
    const all = [...this.sims.values()];
    this.sims.clear();
    await Promise.all(all.map(async (s) => (await s.catch(() => undefined))?.close()));
  }
}

export interface RunPointOptions {
  /** Where it ran, for the line: "local", "shard 2/4", a queue worker's id. */
  ranOn: string;
  /** Aborting stops the run at its next operation; runPoint then throws PointAbortedError. */
  signal?: AbortSignal;
  /** Simulators to run on (kept between runs, much cheaper than a new one per run); default: a new one for this run. */
  simulators?: PointSimulators;
}

/** Runs one point of a sweep and returns its result line (a failed line when the run fails). */
export async function runPoint(spec: SweepSpec, point: SweepRunPoint, opts: RunPointOptions): Promise<SweepResultLine> {
  const common = {
    sweep: spec.id, runs: countRuns(spec), index: point.index, key: point.key, values: point.values, rep: point.rep,
    seed: point.seed, versions: sweepVersions(), ranOn: opts.ranOn,
  };
  checkSignal(opts.signal, "runPoint");
  const stopped = (cause?: unknown) => new PointAbortedError(`point ${point.index} was not run to the end: the sweep was stopped`, { cause });
  if (opts.signal?.aborted) throw stopped();
  // Checked when the sweep was loaded; runScenario checks it again (the profile is all that is needed here).
  const scenario = pointScenario(spec, point);
  const profile = scenario.profile ?? DEFAULT_PROFILE;
  const sim = opts.simulators ? await opts.simulators.get(profile) : undefined;
  sim?.setCpuCosts(DEFAULT_CPU_COSTS);
  const t0 = performance.now();
  try {
    const report = await runScenario(scenario, {
      workers: 1, ...(opts.signal ? { signal: opts.signal } : {}), ...(sim ? { simulator: sim } : {}),
    });
    const wallMs = performance.now() - t0;
    if (opts.signal?.aborted && report.outcome.status === "stopped") throw stopped();
    const metrics = metricsOf(report, spec.keep === "full" ? DEFAULT_SWEEP_METRICS : spec.keep);
    return { ...common, wallMs, ok: true, metrics, ...(spec.keep === "full" ? { report } : {}) };
  } catch (e) {
    if (e instanceof PointAbortedError) throw e;
    const wallMs = performance.now() - t0;
    if (sim) await opts.simulators!.discard(profile);
    // Stopped by the sweep: whatever the run said then, it is no result.
    if (opts.signal?.aborted) throw stopped(e);
    const err = e instanceof Error ? e : new Error(String(e));
    return { ...common, wallMs, ok: false, error: { name: err.name, message: err.message } };
  }
}
