// The sweep report on the command line: what a sweep prints and writes when it ends (the
// compact table; with --out, BASE.html and BASE.csv beside BASE.jsonl, marked partial when
// runs are missing), and `iommu-sim sweep report FILE.jsonl`, which makes the same report
// again from a results file — after `sweep merge`, or with other metrics in the table.

import type { Command } from "commander";
import { ArgumentError } from "../errors.js";
import { outBase, type OutFiles } from "../out-base.js";
import { loadSweep } from "./spec.js";
import { missingRuns, readResults, SweepResultsError, type ReadResultsOptions } from "./results.js";
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
  /** At most this many rows in the terminal table (default: all). */
  maxRows?: number;
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
    ...(opts.maxRows ? { maxRows: opts.maxRows } : {}),
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
export function reportResultsFile(file: string, opts: Omit<SweepReportOptions, "stopped"> & { sweep?: string } & ReadResultsOptions):
  SweepReportOutput {
  const results = readResults(file, opts.onWarning ? { onWarning: opts.onWarning } : {});
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

// ---------------------------------------------------------------------------------------
// The command line's hooks (src/sweep/cli.ts calls the first two, src/cli.ts the third)

/** Where the commands print: standard output's lines and standard error's (src/sweep/cli.ts's SweepCliIo). */
interface Io {
  say: (text: string) => void;
  warn: (text: string) => void;
}

/** How the sweep commands tell a warning the API hands them (a torn last line): their own line on standard error. */
export function warnTo(io: Io): (message: string) => void {
  return (m) => io.warn(`iommu-sim: warning: ${m}`);
}

/** Rows of the table a sweep prints when it ends; the page and `sweep report` have them all. */
const END_TABLE_ROWS = 40;

/** The terminal's width when standard output is one, else the table's default. */
function terminalColumns(): number | undefined {
  return process.stdout.isTTY ? process.stdout.columns : undefined;
}

/**
 * At a sweep's end (finished or stopped): BASE.html and BASE.csv beside BASE.jsonl, marked
 * partial when runs are missing, and the compact table on standard output (not with --json,
 * whose output is one JSON document). A shard makes no report: its runs are a slice of every
 * point's, so the page is made after `sweep merge`.
 */
export function finishSweepReport(spec: SweepSpec, results: readonly SweepResultLine[],
                                  o: { base: string; stopped: boolean; shard: boolean; json: boolean }, io: Io): void {
  if (o.shard || results.length === 0) return;
  const columns = terminalColumns();
  const r = reportSweep(spec, results, { base: o.base, stopped: o.stopped, maxRows: END_TABLE_ROWS, ...(columns ? { columns } : {}) });
  if (o.json) return;
  io.say("");
  for (const l of r.lines) io.say(l);
  io.say(`report: ${r.files.join(", ")}`);
}

/** After `sweep merge OUT …`: OUT's report beside it (axes read off the results) and its table. */
export function reportMerged(out: string, results: readonly SweepResultLine[], io: Io): void {
  if (results.length === 0) return;
  const base = resultsBase(out);
  const spec = specFromResults(results, base.replace(/^.*[/\\]/, ""));
  const columns = terminalColumns();
  const r = reportSweep(spec, results, { base, maxRows: END_TABLE_ROWS, ...(columns ? { columns } : {}) });
  for (const l of r.lines) io.say(l);
  io.say(`report: ${r.files.join(", ")} (\`sweep report ${out} --sweep SWEEP.json\` adds the sweep's name and base)`);
}

/** `sweep report`'s options as commander hands them over. */
interface ReportCliOptions {
  out?: string;
  sweep?: string;
  metrics?: string;
  sortBy?: string;
  rows?: string;
}

/** `iommu-sim sweep report FILE.jsonl`: registered on the `sweep` command. */
export function registerSweepReport(sweep: Command, io: Io): void {
  sweep.command("report")
    .description("make a sweep's report from its results file (after `sweep merge`, or again): FILE.html — line plots " +
      "over an axis with the repetitions' spread, heatmaps over two, the table of points sortable by any metric, a CSV " +
      "download — and FILE.csv (one row per run); print the table of points")
    .argument("<results>", "the results file (JSON lines: BASE.jsonl)")
    .option("-o, --out <base>", "write BASE.html and BASE.csv (default: beside the results file)")
    .option("--sweep <file>", "the sweep file the results are of, for its name, base scenario and axes in the report " +
      "(default: the axes as the results show them)")
    .option("--metrics <paths>", "the terminal table's metrics, comma-separated (default: those that vary, as many as fit)")
    .option("--sort-by <path>", "sort the terminal table by this metric or field path (ascending)")
    .action((file: string, own: ReportCliOptions, cmd: Command) => {
      // `sweep` has an --out of its own, which commander fills from `sweep report F --out X` (its
      // options are read anywhere after it): the report's is whichever of the two got the value.
      const o: ReportCliOptions = { ...own, out: own.out ?? (cmd.optsWithGlobals() as ReportCliOptions).out };
      const r = withFlagNames(() => reportResultsFile(file, {
        ...(o.out !== undefined ? { base: reportOutBase(o.out) } : {}),
        ...(o.sweep !== undefined ? { sweep: o.sweep } : {}),
        ...(o.metrics !== undefined ? { metrics: metricsList(o.metrics) } : {}),
        ...(o.sortBy !== undefined ? { sortBy: o.sortBy } : {}),
        ...(terminalColumns() ? { columns: terminalColumns()! } : {}),
        onWarning: warnTo(io),
      }));
      for (const l of r.lines) io.say(l);
      io.say(`report: ${r.files.join(", ")}`);
    });
}

/**
 * --metrics' comma-separated entries, trimmed. An empty one (`a,,b`, a trailing comma) is
 * refused rather than dropped, so that "entry N" in any later message counts what was typed.
 */
function metricsList(text: string): string[] {
  const entries = text.split(",").map((m) => m.trim());
  const empty = entries.indexOf("");
  if (empty >= 0) {
    throw new ArgumentError("--metrics", text, `must be metric paths separated by commas, none empty (entry ${empty + 1} is)`);
  }
  return entries;
}

/** The table's option errors named by the flags the user typed (--metrics, --sort-by), not the API's names. */
function withFlagNames<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof ArgumentError)) throw e;
    // metrics[i]: the i-th of --metrics' comma-separated entries, named by its place (counted from 1) and text.
    const entry = /^metrics\[(\d+)\]$/.exec(e.argument);
    const flag = e.argument === "sortBy" ? "--sort-by" : entry ? `--metrics entry ${Number(entry[1]) + 1} (${JSON.stringify(e.value)})` : undefined;
    if (flag === undefined) throw e;
    throw new ArgumentError(flag, e.value, e.expected);
  }
}

/** `sweep report`'s files: BASE.html and BASE.csv. */
const SWEEP_REPORT_FILES: OutFiles = { endings: ["csv", "jsonl", "json", "html"], noun: "the report's files", example: "grid", writes: ["html", "csv"] };

/** `sweep report --out BASE` (a .html, .csv or .jsonl ending dropped), refusing a directory and a folder that cannot be written. */
function reportOutBase(out: string): string {
  return outBase(out, SWEEP_REPORT_FILES);
}
