// One run of a sweep: its scenario (src/sweep/points.ts) on one worker, so that everything in
// its report but the wall-clock timing is a function of the scenario and the seed (the
// runner's determinism promise, src/report/types.ts) — which is what lets shards, queue
// workers on other machines and a resumed sweep produce lines that can be merged and compared.
// A run that fails is a result (a failed line), not a failure of the sweep; a run stopped by
// the sweep's own signal is no result at all (it is run again on --resume).

import { runScenario } from "../run/runner.js";
import { IommuSimError } from "../errors.js";
import { VERSION } from "../version.js";
import { DEFAULT_SWEEP_METRICS, metricsOf } from "./metrics.js";
import { countRuns, pointScenario } from "./points.js";
import type { SweepRunPoint, SweepResultLine, SweepSpec, SweepVersions } from "./types.js";

/** The versions this process produces results with: iommu-sim's and Node's. */
export function sweepVersions(): SweepVersions {
  return { iommuSim: VERSION, node: process.version };
}

/** A run stopped by the sweep's signal (Ctrl-C): it has no result and is not written. */
export class PointAbortedError extends IommuSimError {
  override name = "PointAbortedError";
}

export interface RunPointOptions {
  /** Where it ran, for the line: "local", "shard 2/4", a queue worker's id. */
  ranOn: string;
  /** Aborting stops the run at its next operation; runPoint then throws PointAbortedError. */
  signal?: AbortSignal;
}

/** Runs one point of a sweep and returns its result line (a failed line when the run fails). */
export async function runPoint(spec: SweepSpec, point: SweepRunPoint, opts: RunPointOptions): Promise<SweepResultLine> {
  const common = {
    sweep: spec.id, runs: countRuns(spec), index: point.index, key: point.key, values: point.values, rep: point.rep, seed: point.seed,
    versions: sweepVersions(), ranOn: opts.ranOn,
  };
  if (opts.signal?.aborted) throw new PointAbortedError(`point ${point.index} was not run: the sweep was stopped`);
  const t0 = performance.now();
  try {
    const report = await runScenario(pointScenario(spec, point), { workers: 1, ...(opts.signal ? { signal: opts.signal } : {}) });
    const wallMs = performance.now() - t0;
    if (opts.signal?.aborted && report.outcome.status === "stopped") {
      throw new PointAbortedError(`point ${point.index} was stopped part-way: the sweep was stopped`);
    }
    const metrics = metricsOf(report, spec.keep === "full" ? DEFAULT_SWEEP_METRICS : spec.keep);
    return { ...common, wallMs, ok: true, metrics, ...(spec.keep === "full" ? { report } : {}) };
  } catch (e) {
    // Stopped by the sweep: whatever the run said then, it is no result.
    if (e instanceof PointAbortedError) throw e;
    if (opts.signal?.aborted) throw new PointAbortedError(`point ${point.index} was stopped part-way: the sweep was stopped`, { cause: e });
    const wallMs = performance.now() - t0;
    const err = e instanceof Error ? e : new Error(String(e));
    return { ...common, wallMs, ok: false, error: { name: err.name, message: err.message } };
  }
}
