// A sweep file (`iommu-sim sweep <sweep.json>`): a base scenario, axes crossed into points (or
// points given one by one), fixed overrides and repetitions (src/sweep/types.ts is the
// contract). loadSweep reads it (strict JSON: a key given twice is refused), checks its
// structure with zod (field paths in every message, unknown keys with a did-you-mean), checks
// every field path against the scenario language, expands ranges, refuses a point that is
// there twice (one key for two runs), and then builds and validates the scenario of every
// point before anything runs: a point that cannot run is named with its axis values. The
// result is a SweepSpec with an id that changes whenever anything that decides a point's
// result does.

import { readFileSync } from "node:fs";
import { fileFailure } from "../input-file.js";
import { dirname, resolve as resolvePath } from "node:path";
import { z } from "zod";
import { ArgumentError, ConfigError } from "../errors.js";
import { parseJsonStrict } from "../json-input.js";
import { BUILTIN_RUN_SCENARIOS, isBuiltinRunScenarioName } from "../run/builtins.js";
import {
  expecting, formatPath, integer, messageFor, parseRunScenario, problemsOf, ScenarioError, unknownFieldsFirst, type Path,
} from "../run/scenario.js";
import { scenarioPathProblem } from "./fields.js";
import { hashOf } from "./hash.js";
import { metricPathProblem } from "./metrics.js";
import { parseFieldPath, setPath } from "./path.js";
import { countRuns, crossedCount, describePoint, expandPoints, pointScenario, runKey, valueText } from "./points.js";
import type { Axis, AxisValue, SweepRunPoint, SweepSpec, SweepSpecInput } from "./types.js";

/** A sweep that cannot run. `message`: `<source>: <field path>: <what was wrong>` (or the point's). */
export class SweepError extends ConfigError {
  override name = "SweepError";
  /**
   * @param source the sweep file (or "sweep")
   * @param path the field path of the problem in the sweep file, or the point (`point 3 (…)`)
   */
  constructor(readonly source: string, readonly path: string, message: string) {
    super(`${source}: ${path}: ${message}`.replace(/\s*[\r\n]+\s*/g, " "));
  }
}

/**
 * Values one axis may take at most, and runs a sweep may have at most: a typo in a range must
 * not hang, and every point's scenario is checked when the sweep is loaded (~1 ms each).
 */
export const MAX_AXIS_VALUES = 100_000;
export const MAX_SWEEP_RUNS = 100_000;
/** Seeds are u32 (the scenario's `seed`). */
const MAX_SEED = 2 ** 32 - 1;

/**
 * Scenario fields a sweep may not change: the seed is the sweep's own (`seed`, `repeat`), and
 * every point runs on one worker, because only then is its report a function of its scenario
 * and seed (the runner's determinism promise); a sweep runs points side by side instead.
 */
const RESERVED: Record<string, string> = {
  seed: "is the sweep's own: give the sweep a `seed` and a `repeat` (repetition r runs with seed + r)",
  workers: "cannot change: every point runs on one worker, so that its report is a function of its scenario and seed " +
    "(the sweep runs points side by side instead; --jobs)",
};

// ---------------------------------------------------------------------------------------
// The structure.

const axisValue: z.ZodType<AxisValue, AxisValue> = z.lazy(() => z.union([
  z.string(), z.number(), z.boolean(), z.null(), z.array(axisValue), z.record(z.string(), axisValue),
]));

// Each field's errors say what it takes in words (`expecting`), not the schema library's types.
const number = () => expecting(z.number(), "a number");

const rangeSchema = z.strictObject({
  from: number(),
  to: number(),
  step: expecting(z.number().gt(0), "a number > 0", "a number").optional(),
  factor: expecting(z.number().gt(1), "a number > 1", "a number").optional(),
});

const axisSchema = expecting(z.union([z.array(axisValue).min(1), rangeSchema]),
  "a list of the axis's values (at least one), or a range { from, to, step or factor }");

/** Field paths and their values (`set`, each of `points`). */
const valuesByPath = () => expecting(z.record(z.string(), axisValue), "an object of scenario field paths and their values", "an object");

const sweepSchema = z.strictObject({
  name: expecting(z.string().min(1).max(64), "a string of 1..64 characters", "a string").optional(),
  base: expecting(z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
    `a built-in scenario's name (${Object.keys(BUILTIN_RUN_SCENARIOS).join(", ")}), a scenario file's path, or a scenario (an object)`),
  axes: expecting(z.record(z.string(), axisSchema), "an object of scenario field paths and their axes", "an object").optional(),
  points: expecting(z.array(valuesByPath()), "a list of points (objects of field paths and values)", "a list").optional(),
  set: valuesByPath().optional(),
  repeat: integer(1, MAX_SWEEP_RUNS).optional(),
  seed: integer(0, MAX_SEED).optional(),
  keep: expecting(z.union([z.literal("full"), z.array(expecting(z.string(), "a metric path", "a string")).min(1)]),
    '"full" (the whole report) or a list of metric paths (at least one)').optional(),
});

// Input and schema must agree (the contract is src/sweep/types.ts).
type Assert<T extends true> = T;
type _InputFits = Assert<z.input<typeof sweepSchema> extends SweepSpecInput ? true : false>;

// ---------------------------------------------------------------------------------------
// Entry point.

/** Where a sweep's relative paths are resolved: the sweep file's folder, or this one. */
export interface LoadSweepOptions {
  /** The folder a `base` scenario file's path is relative to (default: the sweep file's, else the working directory). */
  baseDir?: string;
}

/**
 * Reads a sweep file (a path) or takes a sweep object, checks it and every point's scenario,
 * and returns it resolved. Throws a SweepError (or a ScenarioError for a base scenario file
 * that is itself wrong) naming the field or the point.
 */
export function loadSweep(input: string | SweepSpecInput, opts: LoadSweepOptions = {}): SweepSpec {
  const source = typeof input === "string" ? input : "sweep";
  const raw = typeof input === "string" ? readSweepFile(input) : input;
  const baseDir = opts.baseDir ?? (typeof input === "string" ? dirname(resolvePath(input)) : process.cwd());
  const parsed = sweepSchema.safeParse(raw, { error: messageFor, reportInput: true });
  if (!parsed.success) {
    const p = problemsOf(unknownFieldsFirst(parsed.error.issues))[0]!;
    throw new SweepError(source, formatPath(p.path), p.message);
  }
  const s = parsed.data;
  const base = resolveBase(s.base, baseDir, source);
  const set = checkPaths(s.set ?? {}, ["set"], source);
  checkSetApplies(base, set, source);
  const axes = Object.entries(s.axes ?? {}).map(([path, axis]) => {
    checkPath(path, ["axes", path], source);
    return { path, values: axisValues(axis, ["axes", path], source) };
  });
  const points = (s.points ?? []).map((p, i) => checkPaths(p, ["points", i], source));
  const baseSeed = parseRunScenario(base, `${source}: base`).seed;
  const seed = s.seed ?? baseSeed;
  const repeat = s.repeat ?? 1;
  if (seed + repeat - 1 > MAX_SEED) {
    throw new SweepError(source, s.seed === undefined ? "repeat" : "seed", `seed ${seed} with repeat ${repeat} would ` +
      `run seeds up to ${seed + repeat - 1}, past the largest (${MAX_SEED})`);
  }
  const keep = s.keep ?? "full";
  if (keep !== "full") keep.forEach((m, i) => checkMetric(m, ["keep", i], source));
  const name = s.name ?? (typeof input === "string" ? input.replace(/^.*[/\\]/, "").replace(/\.json$/i, "") : "sweep");
  const resolved = { name, base, axes, points, set, repeat, seed, keep };
  checkRunCount(resolved, source);
  const spec: SweepSpec = { ...resolved, id: hashOf({ ...resolved, name: undefined }) };
  spec.axes.forEach((axis) => checkAxisRepeats(spec.id, axis, s.axes![axis.path]!, source));
  checkPointRepeats(spec, source);
  checkPoints(spec, source);
  return spec;
}

function readSweepFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new SweepError(path, "(root)", `cannot read the sweep file: ${fileFailure(e)}`);
  }
  return parseJsonStrict(text, path);
}

// ---------------------------------------------------------------------------------------
// The base scenario: a built-in's name, a scenario file, or an object; kept as written (its
// defaults are applied per point by parseRunScenario, so that a field derived from another —
// a machine preset's costs — follows an axis that changes the machine).

function resolveBase(base: string | Record<string, unknown>, baseDir: string, source: string): Record<string, unknown> {
  let scenario: Record<string, unknown>;
  let where: string;
  if (typeof base !== "string") {
    scenario = structuredClone(base);
    where = `${source}: base`;
  } else if (isBuiltinRunScenarioName(base)) {
    scenario = structuredClone(BUILTIN_RUN_SCENARIOS[base]) as unknown as Record<string, unknown>;
    where = `built-in scenario ${base}`;
  } else if (/[./\\]/.test(base)) {
    where = resolvePath(baseDir, base);
    let text: string;
    try {
      text = readFileSync(where, "utf8");
    } catch (e) {
      throw new SweepError(source, "base", `cannot read the scenario file ${where}: ${fileFailure(e)}`);
    }
    const json = parseJsonStrict(text, where);
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new SweepError(source, "base", `${where} is not a scenario (expected a JSON object)`);
    }
    scenario = json as Record<string, unknown>;
  } else {
    throw new SweepError(source, "base", `no built-in scenario named ${JSON.stringify(base)} (built-in: ` +
      `${Object.keys(BUILTIN_RUN_SCENARIOS).join(", ")}); a scenario file needs a path, e.g. ./my.json`);
  }
  // The base must be a scenario by itself: its own mistakes are told as its own.
  try {
    parseRunScenario(scenario, where);
  } catch (e) {
    // An inline base's problems already say `<sweep>: base: …`: told once, not twice.
    if (e instanceof ScenarioError) throw new SweepError(source, "base", e.message.replace(`${source}: base: `, ""));
    throw e;
  }
  return scenario;
}

// ---------------------------------------------------------------------------------------
// Paths, ranges, metrics.

function checkPath(text: string, at: Path, source: string): void {
  let path;
  try {
    path = parseFieldPath(text);
  } catch (e) {
    if (e instanceof ArgumentError) throw new SweepError(source, formatPath(at), e.message);
    throw e;
  }
  const reserved = RESERVED[String(path[0])];
  if (reserved !== undefined && path.length === 1) throw new SweepError(source, formatPath(at), `${text} ${reserved}`);
  const problem = scenarioPathProblem(path);
  if (problem !== undefined) throw new SweepError(source, formatPath(at), `${text} names no scenario field: ${problem}`);
}

function checkPaths(values: Record<string, AxisValue>, at: Path, source: string): Record<string, AxisValue> {
  for (const path of Object.keys(values)) checkPath(path, [...at, path], source);
  return values;
}

function checkMetric(text: string, at: Path, source: string): void {
  let path;
  try {
    path = parseFieldPath(text, "the metric path");
  } catch (e) {
    if (e instanceof ArgumentError) throw new SweepError(source, formatPath(at), e.message);
    throw e;
  }
  const problem = metricPathProblem(path);
  if (problem !== undefined) throw new SweepError(source, formatPath(at), `${text}: ${problem}`);
}

/** `set` written into the base: a path it cannot take (past a list's end) is `set`'s, not every point's. */
function checkSetApplies(base: Record<string, unknown>, set: Record<string, AxisValue>, source: string): void {
  const scenario = structuredClone(base);
  for (const [path, value] of Object.entries(set)) {
    try {
      setPath(scenario, parseFieldPath(path), value);
    } catch (e) {
      if (e instanceof ArgumentError) throw new SweepError(source, formatPath(["set", path]), e.message);
      throw e;
    }
  }
}

/** A list as given; a range expanded (`to` included when reached, up to a rounding error). */
export function axisValues(axis: Axis, at: Path, source: string): AxisValue[] {
  if (Array.isArray(axis)) return axis;
  const where = formatPath(at);
  const { from, to, step, factor } = axis;
  if ((step === undefined) === (factor === undefined)) {
    throw new SweepError(source, where, `a range needs exactly one of "step" (from, from + step, …) or "factor" ` +
      `(from, from × factor, …), found ${step === undefined ? "neither" : "both"}`);
  }
  if (to < from) throw new SweepError(source, `${where}.to`, `expected at least from (${from}), found ${to}`);
  if (factor !== undefined && !(from > 0)) {
    throw new SweepError(source, `${where}.from`, `a range with "factor" needs from > 0, found ${from}`);
  }
  const count = step !== undefined ? Math.floor((to - from) / step + 1e-9) + 1 : Math.floor(Math.log(to / from) / Math.log(factor!) + 1e-9) + 1;
  if (count > MAX_AXIS_VALUES) {
    throw new SweepError(source, where, `the range has ${count} values, more than an axis may (${MAX_AXIS_VALUES})`);
  }
  // Each value from the start (no running sum to drift), rounded off binary noise (0.1 + 0.2).
  const value = (i: number) => Number((step !== undefined ? from + i * step : from * factor! ** i).toPrecision(12));
  return Array.from({ length: count }, (_, i) => value(i));
}

function checkRunCount(s: Omit<SweepSpec, "id">, source: string): void {
  const runs = countRuns({ ...s, id: "" });
  if (runs > MAX_SWEEP_RUNS) {
    throw new SweepError(source, "(root)", `the sweep has ${runs} runs (${runs / s.repeat} points × repeat ${s.repeat}), ` +
      `more than a sweep may (${MAX_SWEEP_RUNS})`);
  }
}

// ---------------------------------------------------------------------------------------
// Every point once. A run's results line is found by its key (runKey: the point's values and
// the repetition), so two points with one key would be two runs that --resume and merge
// cannot tell apart: one of them would never count as done. Whether two points are one is
// asked of runKey itself, so that what is refused is exactly what would collide.

/** An axis whose values repeat one (as written, or as a range rounds them). */
function checkAxisRepeats(sweepId: string, axis: { path: string; values: AxisValue[] }, given: Axis, source: string): void {
  const first = new Map<string, number>();
  axis.values.forEach((v, i) => {
    const key = runKey(sweepId, { [axis.path]: v }, 0);
    const j = first.get(key);
    if (j === undefined) {
      first.set(key, i);
    } else if (Array.isArray(given)) {
      throw new SweepError(source, formatPath(["axes", axis.path, i]), `${valueText(v)} is already the axis's value [${j}]` +
        `${sameAs(axis.values[j]!, v)}: each value once (a point run twice would be two runs with one key, which --resume ` +
        "and merge cannot tell apart)");
    } else {
      throw new SweepError(source, formatPath(["axes", axis.path]), `the range gives ${valueText(v)} twice (its values ` +
        `${j} and ${i}, rounded to 12 significant digits): make the step or factor coarser`);
    }
  });
}

/** Why two values that read differently are one (an object's keys in another order); nothing when they read the same. */
function sameAs(a: AxisValue, b: AxisValue): string {
  return JSON.stringify(a) === JSON.stringify(b) ? "" : ` (${JSON.stringify(a)} and ${JSON.stringify(b)} are one value)`;
}

/** Two points with one key: an explicit point given twice, or one the axes already cross. */
function checkPointRepeats(spec: SweepSpec, source: string): void {
  const crossed = crossedCount(spec);
  const first = new Map<string, SweepRunPoint>();
  for (const run of expandPoints(spec)) {
    if (run.rep !== 0) continue;
    const earlier = first.get(run.key);
    if (earlier === undefined) {
      first.set(run.key, run);
      continue;
    }
    // Axes repeat no value (checked first), so the later of the two is an explicit point.
    const at = (r: SweepRunPoint) => r.index / spec.repeat - crossed;
    const what = at(earlier) < 0 ? `the axes' ${describePoint(earlier)}` : `points[${at(earlier)}]`;
    throw new SweepError(source, formatPath(["points", at(run)]), `is the same point as ${what}: each point once ` +
      "(a point run twice would be two runs with one key, which --resume and merge cannot tell apart)");
  }
}

/** Every point's scenario built and checked (once per point, not per repetition: only the seed differs). */
function checkPoints(spec: SweepSpec, source: string): void {
  for (const point of expandPoints(spec)) {
    if (point.rep !== 0) continue;
    try {
      parseRunScenario(pointScenario(spec, point), describePoint(point));
    } catch (e) {
      if (e instanceof ScenarioError) throw new SweepError(source, describePoint(point), e.message.slice(describePoint(point).length + 2));
      if (e instanceof ArgumentError) throw new SweepError(source, describePoint(point), e.message);
      throw e;
    }
  }
}
