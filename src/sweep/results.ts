// The results file of a sweep: JSON lines, one finished run each (SweepResultLine,
// src/sweep/types.ts), appended as runs finish by the local runner, each shard and the queue's
// submitter. Each line is written with one write, so a killed sweep leaves at most a torn
// last line, which reading tolerates (with a warning) and a resumed sweep cuts off before it
// appends. Merging refuses lines of another sweep or produced by other versions, keeps one of
// identical duplicates (a queue runs a job at least once) and refuses conflicting ones: a
// run's result is a function of its scenario and seed, so two different ones mean a bug.

import { appendFileSync, closeSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { z } from "zod";
import { IommuSimError } from "../errors.js";
import { fileFailure } from "../input-file.js";
import { parseRunReport, ReportError } from "../report/schema.js";
import { formatPath, messageFor, problemsOf } from "../run/scenario.js";
import { canonicalJson } from "./hash.js";
import type { SweepResultLine } from "./types.js";

/** A results file (or line) that cannot be read, or result sets that cannot be merged. */
export class SweepResultsError extends IommuSimError {
  override name = "SweepResultsError";
}

const count = () => z.int().min(0);
const axisValue: z.ZodType = z.lazy(() => z.union([
  z.string(), z.number(), z.boolean(), z.null(), z.array(axisValue), z.record(z.string(), axisValue),
]));
const common = {
  sweep: z.string().min(1).max(128),
  runs: count().optional(),
  index: count(),
  key: z.string().min(1).max(128),
  values: z.record(z.string(), axisValue),
  rep: count(),
  seed: count(),
  versions: z.strictObject({ iommuSim: z.string().max(64), node: z.string().max(64) }),
  wallMs: z.number().min(0),
  ranOn: z.string().max(256),
};
const lineSchema = z.discriminatedUnion("ok", [
  z.strictObject({ ...common, ok: z.literal(true), metrics: z.record(z.string(), z.number()), report: z.unknown().optional() }),
  z.strictObject({ ...common, ok: z.literal(false), error: z.strictObject({ name: z.string(), message: z.string() }) }),
]);

/** A result as one line of the file (newline included). */
export function formatResultLine(line: SweepResultLine): string {
  return JSON.stringify(line) + "\n";
}

/** One line of a results file, checked field by field; `where` (`file:line`) starts every message. */
export function parseResultLine(text: string, where = "result"): SweepResultLine {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SweepResultsError(`${where}: not a JSON line: ${(e as Error).message}`);
  }
  const r = lineSchema.safeParse(json, { error: messageFor, reportInput: true });
  if (!r.success) {
    const p = problemsOf(r.error.issues)[0]!;
    throw new SweepResultsError(`${where}: ${formatPath(p.path)}: ${p.message}`);
  }
  const line = r.data as SweepResultLine;
  if (line.ok && line.report !== undefined) {
    try {
      parseRunReport(line.report, `${where}: report`);
    } catch (e) {
      if (e instanceof ReportError) throw new SweepResultsError(e.message);
      throw e;
    }
  }
  return line;
}

export interface ReadResultsOptions {
  /**
   * Told about a torn last line (a run killed mid-write), which is left out. Without it the
   * line is left out without a word: a library does not write to the process's warnings (its
   * run counts as missing all the same, and --resume runs it again).
   */
  onWarning?: (message: string) => void;
}

/**
 * Every line of a results file, checked (errors name `file:line`). A last line without its
 * newline that does not parse is a write a killed sweep left half done: it is left out with a
 * warning, not an error.
 */
export function readResults(path: string, opts: ReadResultsOptions = {}): SweepResultLine[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new SweepResultsError(`cannot read the results file ${path}: ${fileFailure(e)}`);
  }
  const rows = text.split("\n");
  const tail = rows.pop()!; // "" when the file ends with its newline
  const out: SweepResultLine[] = [];
  rows.forEach((row, i) => {
    if (row.trim() !== "") out.push(parseResultLine(row, `${path}:${i + 1}`));
  });
  if (tail.trim() !== "") {
    try {
      out.push(parseResultLine(tail, `${path}:${rows.length + 1}`));
    } catch (e) {
      if (!(e instanceof SweepResultsError)) throw e;
      opts.onWarning?.(`${path}:${rows.length + 1}: a torn last line (${tail.length} bytes without a newline: a sweep killed while ` +
        "writing it) was left out; that run is run again on --resume");
    }
  }
  return out;
}

/**
 * Cuts a torn last line (bytes after the last newline) off a results file before a resumed
 * sweep appends to it; returns the bytes cut. A missing file is left missing (0).
 */
export function cutTornTail(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, "r+");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw new SweepResultsError(`cannot open the results file ${path}: ${fileFailure(e)}`);
  }
  try {
    const size = fstatSync(fd).size;
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    // Back from the end to the last newline.
    while (end > 0) {
      const from = Math.max(0, end - chunk.length);
      const n = readSync(fd, chunk, 0, end - from, from);
      const nl = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (nl >= 0) { end = from + nl + 1; break; }
      end = from;
    }
    if (end < size) ftruncateSync(fd, end);
    return size - end;
  } finally {
    closeSync(fd);
  }
}

/**
 * Appends one result to a results file (an open descriptor, or a path) with a single write,
 * so that a crash never leaves half a line followed by another line.
 */
export function appendResult(target: number | string, line: SweepResultLine): void {
  const text = formatResultLine(line);
  if (typeof target === "number") writeSync(target, text);
  else appendFileSync(target, text);
}

// ---------------------------------------------------------------------------------------
// Comparing and merging.

/** A line without what differs between two runs of one point: wall time, where it ran, the report's timing. */
export function comparable(line: SweepResultLine): unknown {
  const { wallMs: _w, ranOn: _r, ...rest } = line;
  if (!rest.ok || rest.report === undefined) return rest;
  const { timing: _t, series, ...report } = rest.report as { timing?: unknown; series?: { wallMs?: number }[] };
  return { ...rest, report: { ...report, series: series?.map(({ wallMs: _sw, ...p }) => p) } };
}

function sameResult(a: SweepResultLine, b: SweepResultLine): boolean {
  return canonicalJson(comparable(a)) === canonicalJson(comparable(b));
}

/** What merging found besides the lines: identical duplicates kept once. */
export interface MergedResults {
  /** One line per run, in the sweep's order (by index). */
  lines: SweepResultLine[];
  /** Lines that repeated a run already there with the same result (kept once). */
  duplicates: number;
}

/**
 * Joins result sets (files' lines) of one sweep. Refuses lines of different sweeps, or made
 * by different versions (naming both and where each came from: `sources[i]`, else "set i"),
 * and two different results for one run; identical duplicates are kept once.
 */
export function mergeResults(lineSets: readonly (readonly SweepResultLine[])[], sources?: readonly string[]): MergedResults {
  const from = (i: number) => sources?.[i] ?? `set ${i + 1}`;
  const byKey = new Map<string, { line: SweepResultLine; set: number }>();
  let first: { line: SweepResultLine; set: number } | undefined;
  let duplicates = 0;
  lineSets.forEach((lines, set) => {
    for (const line of lines) {
      if (first === undefined) first = { line, set };
      else checkSameSweep(first, { line, set }, from);
      const had = byKey.get(line.key);
      if (had === undefined) byKey.set(line.key, { line, set });
      else if (sameResult(had.line, line)) duplicates++;
      else {
        throw new SweepResultsError(`run ${line.index} (key ${line.key}) has two different results: one in ${from(had.set)}, ` +
          `another in ${from(set)} (a run's result is a function of its scenario and seed: this is a bug, or a file edited by hand)`);
      }
    }
  });
  const lines = [...byKey.values()].map((e) => e.line).sort((a, b) => a.index - b.index);
  return { lines, duplicates };
}

function checkSameSweep(a: { line: SweepResultLine; set: number }, b: { line: SweepResultLine; set: number },
                        from: (i: number) => string): void {
  if (a.line.sweep !== b.line.sweep) {
    throw new SweepResultsError(`results of two different sweeps: ${a.line.sweep} (${from(a.set)}) and ${b.line.sweep} ` +
      `(${from(b.set)}); only results of one sweep are merged`);
  }
  const va = a.line.versions;
  const vb = b.line.versions;
  if (va.iommuSim !== vb.iommuSim || va.node !== vb.node) {
    throw new SweepResultsError(`results made by different versions: iommu-sim ${va.iommuSim} on Node ${va.node} ` +
      `(${from(a.set)}) and iommu-sim ${vb.iommuSim} on Node ${vb.node} (${from(b.set)}); run them with one version`);
  }
}

/**
 * The first difference between two result sets compared run by run (by key), wall time, where
 * each ran and the report's timing aside; undefined when they hold the same results.
 */
export function resultsDifference(a: readonly SweepResultLine[], b: readonly SweepResultLine[]): string | undefined {
  const mapOf = (lines: readonly SweepResultLine[]) => new Map(lines.map((l) => [l.key, l] as const));
  const ma = mapOf(a);
  const mb = mapOf(b);
  for (const [key, la] of ma) {
    const lb = mb.get(key);
    if (lb === undefined) return `run ${la.index} (key ${key}) is only in the first set`;
    if (!sameResult(la, lb)) return `run ${la.index} (key ${key}) differs`;
  }
  for (const [key, lb] of mb) if (!ma.has(key)) return `run ${lb.index} (key ${key}) is only in the second set`;
  return undefined;
}

/** Whether two result sets hold the same results run by run (timing fields aside). */
export function resultsEqual(a: readonly SweepResultLine[], b: readonly SweepResultLine[]): boolean {
  return resultsDifference(a, b) === undefined;
}

/** The runs of `runs` (0 … runs − 1) that `lines` has no result for. */
export function missingRuns(lines: readonly SweepResultLine[], runs: number): number[] {
  const have = new Set(lines.map((l) => l.index));
  return Array.from({ length: runs }, (_, i) => i).filter((i) => !have.has(i));
}
