// The sweep report on the command line: what a sweep prints and writes when it ends (the
// compact table; with --out, BASE.html and BASE.csv beside BASE.jsonl, marked partial when
// runs are missing), and `iommu-sim sweep report FILE.jsonl`, which makes the same report
// again from a results file — after `sweep merge`, or with other metrics in the table.

import { loadSweep } from "./spec.js";
import { missingRuns, readResults, SweepResultsError } from "./results.js";
import { formatSweepTable, specFromResults } from "./report.js";
import { writeSweepReport } from "./report-file.js";
import type { SweepResultLine, SweepSpec } from "./types.js";

export interface SweepReportOptions {
  /** The files' base: writes BASE.html and BASE.csv (none when absent). */
  base?: string;
  /** The sweep stopped early (Ctrl-C): the page says partial even if every run it started finished. */
  stopped?: boolean;
  /** Metric paths for the terminal table (default: those that vary, as many as fit). */
  metrics?: string[];
  /** Sort the terminal table by this metric or field path. */
  sortBy?: string;
  /** The terminal's width (default 120). */
  columns?: number;
}

/** What a report run made: the lines to print and the files written. */
export interface SweepReportOutput {
  lines: string[];
  files: string[];
  /** Runs the sweep has that the results lack. */
  missing: number;
}

/** The terminal table, and with a base the report's files, for a sweep's results. */
export function reportSweep(spec: SweepSpec, results: readonly SweepResultLine[], opts: SweepReportOptions = {}): SweepReportOutput {
  const total = results.find((l) => l.runs !== undefined)?.runs;
  const missing = total === undefined ? 0 : missingRuns(results, total).length;
  const partial = opts.stopped === true || missing > 0;
  const lines = formatSweepTable(spec, results, {
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.sortBy ? { sortBy: opts.sortBy } : {}),
    ...(opts.columns ? { width: Math.max(20, opts.columns) } : {}),
  });
  if (partial && total !== undefined) lines.push(`Partial: ${total - missing} of ${total} runs have results.`);
  const files = opts.base === undefined ? [] : writeSweepReport(opts.base, spec, results, { partial, ...(total !== undefined ? { totalRuns: total } : {}) });
  return { lines, files, missing };
}

/** A results file's base: FILE.jsonl → FILE. */
export function resultsBase(file: string): string {
  return file.replace(/\.jsonl$/i, "");
}

/**
 * `iommu-sim sweep report FILE.jsonl [--sweep SWEEP.json] [--out BASE]`: the results read and
 * checked; the sweep file, when given, must be the one the results are of (its id); without
 * it the axes are read off the results.
 */
export function reportResultsFile(file: string, opts: Omit<SweepReportOptions, "stopped"> & { sweep?: string }): SweepReportOutput {
  const results = readResults(file);
  if (results.length === 0) throw new SweepResultsError(`${file} holds no results: nothing to report`);
  const ids = [...new Set(results.map((l) => l.sweep))];
  if (ids.length > 1) {
    throw new SweepResultsError(`${file} mixes the results of ${ids.length} sweeps (${ids.join(", ")}): ` +
      "report each sweep's results on their own");
  }
  const spec = opts.sweep === undefined
    ? specFromResults(results, resultsBase(file).replace(/^.*[/\\]/, ""))
    : loadSweep(opts.sweep);
  if (spec.id !== ids[0]) {
    throw new SweepResultsError(`${file} holds the results of sweep ${ids[0]}, but ${opts.sweep} is sweep ${spec.id}: ` +
      "give the sweep file the results were made from, or none (the axes are then read off the results)");
  }
  return reportSweep(spec, results, { ...opts, base: opts.base ?? resultsBase(file) });
}
