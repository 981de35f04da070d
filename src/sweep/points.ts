// A sweep's runs in their one deterministic order, each run's scenario, and shards: the pure
// function from a run's index to the shard that runs it, which lets any array-job scheduler
// (a Kubernetes Indexed Job, a Slurm or AWS Batch array, GNU parallel) split a sweep with no
// coordination — every shard computes the same points and keeps its own.

import { ArgumentError } from "../errors.js";
import { checkInt } from "../validate.js";
import type { RunScenarioInput } from "../run/scenario.js";
import { hashOf } from "./hash.js";
import { parseFieldPath, setPath } from "./path.js";
import type { AxisValue, SweepRunPoint, SweepSpec } from "./types.js";

/**
 * Every run of the sweep: the crossed axes (the first axis varying slowest), then the
 * explicit points, each repeated `repeat` times (repetitions innermost; repetition r runs
 * with seed + r). A sweep with neither axes nor points has one point: the base with `set`.
 */
export function expandPoints(spec: SweepSpec): SweepRunPoint[] {
  const valueSets = [...crossed(spec), ...spec.points];
  const out: SweepRunPoint[] = [];
  for (const values of valueSets) {
    for (let rep = 0; rep < spec.repeat; rep++) {
      const index = out.length;
      out.push({ index, values, rep, seed: spec.seed + rep, key: runKey(spec.id, values, rep) });
    }
  }
  return out;
}

/**
 * A run's key, its identity in the results file (what --resume and merge go by): a hash of
 * the sweep, the point's values as canonical JSON and the repetition. Values that are one
 * JSON value however they were written (256 and 256.0, an object's keys in another order)
 * give one key: such points are one point (loadSweep refuses a sweep that has one twice).
 */
export function runKey(sweepId: string, values: Record<string, AxisValue>, rep: number): string {
  return hashOf({ sweep: sweepId, values, rep });
}

/** How many runs the sweep has (every shard's together): its points times repeat. */
export function countRuns(spec: SweepSpec): number {
  return (crossedCount(spec) + spec.points.length) * spec.repeat;
}

/** How many points the crossed axes give (they come before the explicit points). */
export function crossedCount(spec: Pick<SweepSpec, "axes" | "points">): number {
  if (spec.axes.length === 0) return spec.points.length === 0 ? 1 : 0;
  return spec.axes.reduce((n, a) => n * a.values.length, 1);
}

/** The axes' combinations, first axis slowest. */
function crossed(spec: SweepSpec): Record<string, AxisValue>[] {
  if (spec.axes.length === 0) return spec.points.length === 0 ? [{}] : [];
  let combos: Record<string, AxisValue>[] = [{}];
  for (const axis of spec.axes) {
    combos = combos.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.path]: v })));
  }
  return combos;
}

/**
 * The scenario a run runs: the base, then `set`, then the point's values (each by its field
 * path, missing objects created), with the run's seed and one worker.
 */
export function pointScenario(spec: SweepSpec, point: SweepRunPoint): RunScenarioInput {
  if (typeof spec !== "object" || spec === null || typeof spec.base !== "object" || spec.base === null ||
      typeof spec.set !== "object" || spec.set === null) {
    throw new ArgumentError("spec", spec, "must be a sweep as loadSweep returns it (with base and set)", "pointScenario");
  }
  checkPoint(point, "pointScenario");
  checkInt("point.seed", point.seed, 0, Number.MAX_SAFE_INTEGER, "pointScenario");
  const scenario = structuredClone(spec.base);
  for (const [path, value] of Object.entries(spec.set)) setPath(scenario, parseFieldPath(path), structuredClone(value));
  for (const [path, value] of Object.entries(point.values)) setPath(scenario, parseFieldPath(path), structuredClone(value));
  scenario.seed = point.seed;
  scenario.workers = 1;
  return scenario as unknown as RunScenarioInput;
}

/** `point 3 (smmu.iotlb.entries=256, smmu.iotlb.policy=rr)`, with `rep 1` when it is a repetition. */
export function describePoint(point: Pick<SweepRunPoint, "index" | "values" | "rep">): string {
  checkPoint(point, "describePoint");
  checkInt("point.index", point.index, 0, Number.MAX_SAFE_INTEGER, "describePoint");
  checkInt("point.rep", point.rep, 0, Number.MAX_SAFE_INTEGER, "describePoint");
  const values = Object.entries(point.values).map(([k, v]) => `${k}=${valueText(v)}`);
  if (point.rep > 0) values.push(`rep ${point.rep}`);
  return `point ${point.index}${values.length ? ` (${values.join(", ")})` : ""}`;
}

/** A run's point as expandPoints makes it: an object whose `values` is an object (field path → value). */
function checkPoint(point: unknown, context: string): void {
  if (typeof point !== "object" || point === null || Array.isArray(point)) {
    throw new ArgumentError("point", point, "must be a run's point, as expandPoints returns them", context);
  }
  const values = (point as { values?: unknown }).values;
  if (typeof values !== "object" || values === null || Array.isArray(values)) {
    throw new ArgumentError("point.values", values, "must be an object: field path → value", context);
  }
}

/** A value as a point's description shows it: plain words bare, anything else as JSON. */
export function valueText(v: AxisValue): string {
  return typeof v === "string" && /^[\w.+-]+$/.test(v) ? v : JSON.stringify(v);
}

// ---------------------------------------------------------------------------------------
// Shards.

/** A shard: `index` of `count`, 0-based (`0/4` … `3/4`). */
export interface Shard {
  index: number;
  count: number;
}

/**
 * `--shard I/N`: shard I of N, **0-based** (0 ≤ I < N), as Kubernetes' JOB_COMPLETION_INDEX
 * counts (`--shard $JOB_COMPLETION_INDEX/4`) and a Slurm array declared `--array=0-3` does
 * (`--shard $SLURM_ARRAY_TASK_ID/4`).
 */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(String(text));
  if (!m) throw new ArgumentError("--shard", text, "must be I/N, shard I of N counted from 0 (0/4 … 3/4)");
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 1_000_000) throw new ArgumentError("--shard", text, "must have N between 1 and 1,000,000");
  if (index >= count) {
    throw new ArgumentError("--shard", text, `must have I below N: shards are counted from 0, so ${count} shards are ` +
      `0/${count} … ${count - 1}/${count}`);
  }
  return { index, count };
}

/** Whether the run at `index` belongs to `shard`: index mod N = I (a pure function of the index). */
export function inShard(index: number, shard: Shard): boolean {
  checkInt("index", index, 0, Number.MAX_SAFE_INTEGER, "inShard");
  if (typeof shard !== "object" || shard === null) throw new ArgumentError("shard", shard, "must be { index, count }, as parseShard returns it", "inShard");
  checkInt("shard.count", shard.count, 1, 1_000_000, "inShard");
  checkInt("shard.index", shard.index, 0, shard.count - 1, "inShard");
  return index % shard.count === shard.index;
}

/** `shard 2/4`. */
export function shardText(shard: Shard): string {
  return `shard ${shard.index}/${shard.count}`;
}
