// The sweep's report: a results file (JSON lines of SweepResultLine, src/sweep/types.ts) read
// against its sweep, as a table of points (each point's repetitions aggregated: mean, min–max,
// standard deviation), as CSV (one row per run), as a compact terminal table, and as one
// self-contained HTML page with line plots over an axis, heatmaps over two, the sortable table
// and the CSV to download. Pure functions with no Node imports, so the page can be made in a
// browser too; uPlot's files are handed in (src/sweep/report-file.ts reads them in Node).

import { fmtAuto, type Align, type Table } from "../report/format.js";
import { PAGE_CSS, esc, jsonScript, scriptText } from "../report/page.js";
import { formatTable } from "../report/text.js";
import { terminalText } from "../terminal.js";
import { ArgumentError } from "../errors.js";
import { didYouMean } from "../validate.js";
import type { AxisValue, SweepResultLine, SweepSpec } from "./types.js";

/** A metric's figures over a point's successful repetitions. */
export interface MetricSummary {
  /** Repetitions that gave the metric a finite value. */
  n: number;
  mean: number;
  min: number;
  max: number;
  /** Sample standard deviation (n − 1 in the denominator); 0 with one repetition. */
  sd: number;
}

/** A failed run of a point: which repetition, its seed, and the error it ended with. */
export interface RunFailure {
  index: number;
  rep: number;
  seed: number;
  name: string;
  message: string;
}

/** One point of the sweep with its repetitions aggregated. */
export interface SweepRow {
  /** The point's position in the sweep's order (a run's index divided by the repeat count). */
  point: number;
  /** The point's values by field path. */
  values: Record<string, AxisValue>;
  /** Runs of this point in the results (successful and failed). */
  runs: number;
  failures: RunFailure[];
  /** Metric path → its summary over the successful runs; absent when no run gave it. */
  metrics: Record<string, MetricSummary>;
}

/** The table of points: the field paths the points vary (axes first), the metrics seen, the rows in point order. */
export interface SweepTableData {
  dims: string[];
  metrics: string[];
  rows: SweepRow[];
}

/** The metric a reader looks for first when it varies: the unmap's median latency. */
const PREFERRED_METRICS = ["latency.unmap.p50", "totals.modelledNsPerOp"];

/**
 * A sweep as far as its results tell it, for a results file read without its sweep file: the
 * field paths and their values as the runs met them (numbers in order), the repeat count and
 * first seed the runs show, the sweep's id from the lines. The base scenario is unknown.
 */
export function specFromResults(lines: readonly SweepResultLine[], name: string): SweepSpec {
  const runs = uniqueRuns(lines);
  const axes = sweepDims({ axes: [], points: [] } as unknown as SweepSpec, runs).map((path) => {
    const values = [...new Map(runs.filter((l) => path in l.values).map((l) => [JSON.stringify(l.values[path]), l.values[path]!])).values()];
    if (values.every((v) => typeof v === "number")) (values as number[]).sort((a, b) => a - b);
    return { path, values };
  });
  const repeat = runs.reduce((n, l) => Math.max(n, l.rep + 1), 1);
  const seed = runs.find((l) => l.rep === 0)?.seed ?? 0;
  return { name, base: {}, axes, points: [], set: {}, repeat, seed, keep: "full", id: runs[0]?.sweep ?? "" };
}

/** The field paths that tell points apart: the axes in order, then any path only explicit points (or the lines) name. */
export function sweepDims(spec: SweepSpec, lines: readonly SweepResultLine[] = []): string[] {
  const dims = spec.axes.map((a) => a.path);
  const add = (path: string) => { if (!dims.includes(path)) dims.push(path); };
  for (const p of spec.points) Object.keys(p).forEach(add);
  for (const l of lines) Object.keys(l.values).forEach(add);
  return dims;
}

/** The lines once each (a merge or a retried queue job may repeat a run: the first copy is kept), in run order. */
function uniqueRuns(lines: readonly SweepResultLine[]): SweepResultLine[] {
  const seen = new Map<number, SweepResultLine>();
  for (const l of lines) if (!seen.has(l.index)) seen.set(l.index, l);
  return [...seen.values()].sort((a, b) => a.index - b.index);
}

/** Every metric path the successful runs carry, in the order they were first met. */
function metricPaths(lines: readonly SweepResultLine[]): string[] {
  const paths = new Set<string>();
  for (const l of lines) if (l.ok) Object.keys(l.metrics).forEach((k) => paths.add(k));
  return [...paths];
}

/** Mean, min, max and sample standard deviation of the finite values. */
export function summarise(values: readonly number[]): MetricSummary | undefined {
  const xs = values.filter(Number.isFinite);
  if (xs.length === 0) return undefined;
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const sd = xs.length < 2 ? 0 : Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1));
  return { n: xs.length, mean, min: Math.min(...xs), max: Math.max(...xs), sd };
}

/** The points of the results, each with its repetitions aggregated; failed runs are kept with their errors. */
export function sweepTable(spec: SweepSpec, lines: readonly SweepResultLine[]): SweepTableData {
  const runs = uniqueRuns(lines);
  const repeat = Math.max(1, spec.repeat);
  // A run's index is point × repeat + rep (repetitions innermost), so index − rep names its
  // point even where the repeat count is not known for sure (a report rebuilt from lines alone).
  const byPoint = new Map<number, SweepResultLine[]>();
  for (const l of runs) {
    const first = l.index - l.rep;
    const group = byPoint.get(first);
    if (group) group.push(l);
    else byPoint.set(first, [l]);
  }
  const metrics = metricPaths(runs);
  const rows = [...byPoint.entries()].sort(([a], [b]) => a - b)
    .map(([first, group]) => pointRow(Math.floor(first / repeat), group, metrics));
  return { dims: sweepDims(spec, runs), metrics, rows };
}

function pointRow(point: number, group: SweepResultLine[], metrics: string[]): SweepRow {
  const ok = group.filter((l) => l.ok);
  const summaries: Record<string, MetricSummary> = {};
  for (const m of metrics) {
    const s = summarise(ok.flatMap((l) => (m in l.metrics ? [l.metrics[m]!] : [])));
    if (s) summaries[m] = s;
  }
  const failures = group.flatMap((l) => (l.ok ? [] : [{ index: l.index, rep: l.rep, seed: l.seed, ...l.error }]));
  return { point, values: group[0]!.values, runs: group.length, failures, metrics: summaries };
}

/** Whether a metric's mean differs between the points (a constant one says nothing about the axes). */
export function metricVaries(t: SweepTableData, metric: string): boolean {
  const means = t.rows.flatMap((r) => (r.metrics[metric] ? [r.metrics[metric]!.mean] : []));
  return means.some((m) => m !== means[0]);
}

/** The metric shown first: the unmap's median latency when it varies, else the first metric that varies, else the first. */
export function defaultMetric(t: SweepTableData): string | undefined {
  const varying = t.metrics.filter((m) => metricVaries(t, m));
  return PREFERRED_METRICS.find((m) => varying.includes(m)) ?? varying[0] ??
    PREFERRED_METRICS.find((m) => t.metrics.includes(m)) ?? t.metrics[0];
}

/** An axis value as a reader sees it: strings and numbers as they are, anything else as JSON; a dash when the point has none. */
export function shownValue(v: AxisValue | undefined): string {
  if (v === undefined) return "–";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  return JSON.stringify(v);
}

// ---------------------------------------------------------------------------------------------
// The terminal table

export interface SweepTableOptions {
  /** Metric paths to show (default: the default metric, then the others that vary, as many as fit). */
  metrics?: string[];
  /** A metric or a field path to sort by, ascending (default: the points' order). */
  sortBy?: string;
  /** The widest line wanted, in characters (default 120): metric columns past it are left out and counted. */
  width?: number;
  /** At most this many points' rows (after sorting; the rest counted): a sweep's end prints a few dozen, not thousands. */
  maxRows?: number;
}

/** Failed runs listed under the terminal table; past this they are counted. */
const MAX_FAILURES_LISTED = 10;

/** The sweep as a few lines for a terminal: a head line, the table of points, what was left out, the failures. */
export function formatSweepTable(spec: SweepSpec, lines: readonly SweepResultLine[], opts: SweepTableOptions = {}): string[] {
  const t = sweepTable(spec, lines);
  const width = checkWidth(opts.width);
  const chosen = opts.metrics === undefined ? undefined : opts.metrics.map((m, i) => checkMetric(t, m, `metrics[${i}]`));
  const sorted = opts.sortBy === undefined ? t.rows : sortRows(t, checkSortKey(t, opts.sortBy));
  const rows = sorted.slice(0, checkMaxRows(opts.maxRows));
  const candidates = chosen ?? terminalMetrics(t);
  const fitted = fitColumns(t, rows, candidates, width, chosen !== undefined);
  const out = [headLine(spec, t), ...formatTable(textTable(t, rows, fitted))];
  if (rows.length < sorted.length) out.push(`(${sorted.length - rows.length} more points not shown)`);
  const left = candidates.length - fitted.length;
  if (left > 0) out.push(`(${left} more metric${left === 1 ? "" : "s"} not shown: too wide for ${width} columns)`);
  if (opts.metrics === undefined && t.metrics.length > candidates.length)
    out.push(`(${t.metrics.length - candidates.length} metrics the same at every point not shown)`);
  return [...out, ...failureLines(t)].map(terminalText);
}

function checkWidth(width: number | undefined): number {
  if (width === undefined) return 120;
  if (!Number.isInteger(width) || width < 20) throw new ArgumentError("width", width, "must be an integer of at least 20 (characters)", "formatSweepTable");
  return width;
}

function checkMaxRows(n: number | undefined): number {
  if (n === undefined) return Infinity;
  if (!Number.isInteger(n) || n < 1) throw new ArgumentError("maxRows", n, "must be a positive integer (rows)", "formatSweepTable");
  return n;
}

function checkMetric(t: SweepTableData, metric: unknown, field: string): string {
  if (typeof metric === "string" && t.metrics.includes(metric)) return metric;
  const near = typeof metric === "string" ? didYouMean(metric, t.metrics) : undefined;
  throw new ArgumentError(field, metric, `is not a metric of these results${near ? ` (did you mean '${near}'?)` : ""}; ` +
    `known: ${t.metrics.length ? t.metrics.slice(0, 20).join(", ") + (t.metrics.length > 20 ? ", …" : "") : "none"}`,
  "formatSweepTable");
}

function checkSortKey(t: SweepTableData, key: unknown): string {
  if (typeof key === "string" && (t.metrics.includes(key) || t.dims.includes(key))) return key;
  const all = [...t.dims, ...t.metrics];
  const near = typeof key === "string" ? didYouMean(key, all) : undefined;
  throw new ArgumentError("sortBy", key, `must be a metric or a field path of the sweep${near ? ` (did you mean '${near}'?)` : ""}; ` +
    `field paths: ${t.dims.join(", ") || "none"}`, "formatSweepTable");
}

/** The default metric first, then the others that vary between points, in their order. */
function terminalMetrics(t: SweepTableData): string[] {
  const first = defaultMetric(t);
  const rest = t.metrics.filter((m) => m !== first && metricVaries(t, m));
  return first === undefined ? [] : [first, ...rest];
}

/**
 * The rows ordered by a metric's mean or a field's value, ascending, stably (equal keys keep
 * the points' order); points without a value go last. Numbers compare as numbers.
 */
export function sortRows(t: SweepTableData, key: string): SweepRow[] {
  const isMetric = t.metrics.includes(key);
  const keyOf = (r: SweepRow): number | string | undefined =>
    isMetric ? r.metrics[key]?.mean : sortableValue(r.values[key]);
  return t.rows.map((r, i) => ({ r, i, k: keyOf(r) })).sort((a, b) => compareKeys(a.k, b.k) || a.i - b.i).map((x) => x.r);
}

function sortableValue(v: AxisValue | undefined): number | string | undefined {
  return v === undefined ? undefined : typeof v === "number" ? v : shownValue(v);
}

function compareKeys(a: number | string | undefined, b: number | string | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "number") return -1; // numbers before text in a mixed column
  if (typeof b === "number") return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** As many metric columns as fit the width (at least one); all of them when the user named them. */
function fitColumns(t: SweepTableData, rows: SweepRow[], metrics: string[], width: number, all: boolean): string[] {
  if (all) return metrics;
  const fitted: string[] = [];
  for (const m of metrics) {
    const trial = formatTable(textTable(t, rows, [...fitted, m]));
    if (fitted.length > 0 && Math.max(...trial.map((l) => l.length)) > width) break;
    fitted.push(m);
  }
  return fitted;
}

function textTable(t: SweepTableData, rows: SweepRow[], metrics: string[]): Table {
  return {
    headers: ["#", ...t.dims, "runs", ...metrics],
    align: ["r", ...t.dims.map((d) => (t.rows.every((r) => typeof r.values[d] === "number") ? "r" : "l") as Align), "r",
      ...metrics.map(() => "r" as Align)],
    rows: rows.map((r) => [String(r.point), ...t.dims.map((d) => terminalText(shownValue(r.values[d]))), runsText(r),
      ...metrics.map((m) => summaryText(r.metrics[m]))]),
  };
}

/** "2" when every run succeeded, "1/2 ok" when some failed. */
function runsText(r: SweepRow): string {
  return r.failures.length === 0 ? String(r.runs) : `${r.runs - r.failures.length}/${r.runs} ok`;
}

/** The mean, and the repetitions' range after it when they differ: "12.3 (11.9–12.8)". */
export function summaryText(s: MetricSummary | undefined): string {
  if (!s) return "–";
  const [lo, hi] = [fmtAuto(s.min), fmtAuto(s.max)];
  // A spread too small to show at the mean's precision is left out rather than printed as "304 (304–304)".
  return s.n > 1 && lo !== hi ? `${fmtAuto(s.mean)} (${lo}–${hi})` : fmtAuto(s.mean);
}

function headLine(spec: SweepSpec, t: SweepTableData): string {
  const runs = t.rows.reduce((n, r) => n + r.runs, 0);
  const failed = t.rows.reduce((n, r) => n + r.failures.length, 0);
  return `Sweep ${spec.name}: ${t.rows.length} point${t.rows.length === 1 ? "" : "s"}, ${runs} run${runs === 1 ? "" : "s"}` +
    (spec.repeat > 1 ? ` (${spec.repeat} repetitions each; a range is min–max over them)` : "") +
    (failed > 0 ? `, ${failed} failed` : "");
}

function failureLines(t: SweepTableData): string[] {
  const all = t.rows.flatMap((r) => r.failures.map((f) => ({ r, f })));
  if (all.length === 0) return [];
  const shown = all.slice(0, MAX_FAILURES_LISTED).map(({ r, f }) =>
    `  #${r.point} ${pointLabel(t.dims, r.values)} rep ${f.rep} (seed ${f.seed}): ${f.name}: ${f.message}`);
  const more = all.length - shown.length;
  return ["Failed runs:", ...shown, ...(more > 0 ? [`  … and ${more} more`] : [])];
}

/** "smmu.iotlb.entries=256 smmu.iotlb.policy=rr": a point by its values. */
export function pointLabel(dims: string[], values: Record<string, AxisValue>): string {
  return dims.filter((d) => d in values).map((d) => `${d}=${shownValue(values[d])}`).join(" ");
}

// ---------------------------------------------------------------------------------------------
// CSV

/** One field of CSV (RFC 4180): quoted when it holds a comma, a quote, a line break or edge spaces; quotes doubled. */
export function csvField(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The results as CSV, one row per run in run order: index, rep, seed, each field path, each metric, ok, error. */
export function sweepCsv(spec: SweepSpec, lines: readonly SweepResultLine[]): string {
  const runs = uniqueRuns(lines);
  const dims = sweepDims(spec, runs);
  const metrics = metricPaths(runs);
  const header = ["index", "rep", "seed", ...dims, ...metrics, "ok", "error"];
  const rows = runs.map((l) => [
    String(l.index), String(l.rep), String(l.seed), ...dims.map((d) => (d in l.values ? shownValue(l.values[d]) : "")),
    ...metrics.map((m) => (l.ok && m in l.metrics ? String(l.metrics[m]) : "")),
    String(l.ok), l.ok ? "" : `${l.error.name}: ${l.error.message}`,
  ]);
  return [header, ...rows].map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}

// ---------------------------------------------------------------------------------------------
// HTML

/** uPlot's files, inlined into the page (src/report/html.ts's uplotAssets() in Node). */
export interface UplotFiles {
  js: string;
  css: string;
}

export interface SweepHtmlOptions {
  uplot: UplotFiles;
  /** The sweep stopped before every run finished (Ctrl-C, or a shard's file): the page says so. */
  partial?: boolean;
  /** How many runs the whole sweep has, for "N of M finished" (default: what the lines say). */
  totalRuns?: number;
  /** The CSV download's file name (default: the sweep's name). */
  csvName?: string;
  /** The CSV when the caller made it already (to write it beside the page): made again otherwise. */
  csv?: string;
}

/** The data the page's script draws from: each point's display values and metric summaries. */
interface PageData {
  dims: string[];
  /** Per field path: every point's value a number (a numeric x axis) or not (categories). */
  numeric: boolean[];
  /** Per field path: its distinct values as shown, in the sweep's order. */
  levels: string[][];
  metrics: string[];
  rows: { p: number; v: string[]; x: (number | null)[]; m: ([number, number, number, number, number] | null)[] }[];
  defaults: { metric: number; x: number; rows: number; cols: number };
}

/** The sweep as one self-contained HTML page (opens from disk, fetches nothing). */
export function renderSweepHtml(spec: SweepSpec, lines: readonly SweepResultLine[], opts: SweepHtmlOptions): string {
  const t = sweepTable(spec, lines);
  const data = pageData(spec, t);
  const csv = opts.csv ?? sweepCsv(spec, lines);
  return [
    "<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(`Sweep ${spec.name}`)}</title>`,
    `<style>${opts.uplot.css}</style>`, `<style>${PAGE_CSS}${SWEEP_CSS}</style>`,
    "</head>", "<body>", "<main>",
    headerHtml(spec, t, lines, opts),
    controlsHtml(data),
    plotsHtml(),
    tableHtml(t, data, csv, opts.csvName ?? spec.name),
    failuresHtml(t),
    `<footer>iommu-sim sweep report · sweep id ${esc(spec.id)}</footer>`,
    "</main>",
    jsonScript("sweep", data),
    `<script>${scriptText(opts.uplot.js)}</script>`,
    `<script>${SWEEP_SCRIPT}</script>`,
    "</body>", "</html>", "",
  ].join("\n");
}

function pageData(spec: SweepSpec, t: SweepTableData): PageData {
  const numeric = t.dims.map((d) => t.rows.length > 0 && t.rows.every((r) => typeof r.values[d] === "number"));
  const levels = t.dims.map((d) => [...new Set([...axisOrder(spec, d), ...t.rows.map((r) => shownValue(r.values[d]))])]
    .filter((v) => t.rows.some((r) => shownValue(r.values[d]) === v)));
  const metric = defaultMetric(t);
  const x = firstIndex(t.dims, (d, i) => numeric[i]! && levels[i]!.length > 1) ??
    firstIndex(t.dims, (_, i) => levels[i]!.length > 1) ?? 0;
  return {
    dims: t.dims, numeric, levels, metrics: t.metrics,
    rows: t.rows.map((r) => ({
      p: r.point,
      v: t.dims.map((d) => shownValue(r.values[d])),
      x: t.dims.map((d) => (typeof r.values[d] === "number" ? (r.values[d] as number) : null)),
      m: t.metrics.map((m) => { const s = r.metrics[m]; return s ? [s.mean, s.min, s.max, s.sd, s.n] : null; }),
    })),
    defaults: { metric: metric === undefined ? 0 : t.metrics.indexOf(metric), x, rows: 0, cols: t.dims.length > 1 ? 1 : 0 },
  };
}

/** An axis's values in the order the sweep file gave them (the levels of the plots follow it). */
function axisOrder(spec: SweepSpec, path: string): string[] {
  return (spec.axes.find((a) => a.path === path)?.values ?? []).map(shownValue);
}

function firstIndex<T>(xs: T[], pred: (x: T, i: number) => boolean): number | undefined {
  const i = xs.findIndex(pred);
  return i < 0 ? undefined : i;
}

function headerHtml(spec: SweepSpec, t: SweepTableData, lines: readonly SweepResultLine[], opts: SweepHtmlOptions): string {
  const runs = t.rows.reduce((n, r) => n + r.runs, 0);
  const failed = t.rows.reduce((n, r) => n + r.failures.length, 0);
  const total = opts.totalRuns ?? lines.find((l) => l.runs !== undefined)?.runs;
  const done = total === undefined ? `${runs} runs` : `${runs} of ${total} runs finished`;
  const badge = opts.partial
    ? '<span class="badge bad" id="partial">partial</span> '
    : failed > 0 ? `<span class="badge bad">${failed} failed</span> ` : '<span class="badge good">complete</span> ';
  const baseName = typeof spec.base.name === "string" ? spec.base.name
    : Object.keys(spec.base).length ? "(an inline scenario)" : "(not known: the report was made from the results alone)";
  const facts: [string, string][] = [
    ["base scenario", baseName],
    ["points", String(t.rows.length)],
    ["runs", `${done}${failed > 0 ? `, ${failed} failed` : ""}`],
    ["repeat", String(spec.repeat)],
    ["first seed", String(spec.seed)],
    ...(Array.isArray(spec.keep) ? [["kept metrics", spec.keep.join(", ")] as [string, string]] : []),
    ["versions", versionsText(lines)],
  ];
  const axes = spec.axes.map((a) => [a.path, a.values.map(shownValue).join(", ")] as [string, string]);
  const set = Object.entries(spec.set).map(([k, v]) => [k, shownValue(v)] as [string, string]);
  return [
    "<header>",
    `<h1>${badge}Sweep ${esc(spec.name)}</h1>`,
    opts.partial ? '<p class="note">The sweep stopped before every run finished: this report shows the runs that did.</p>' : "",
    dl(facts, "inline"),
    axes.length ? `<h3>Axes (crossed, the first varying slowest)</h3>${dl(axes)}` : "",
    spec.points.length ? `<p class="note">Plus ${spec.points.length} explicit point${spec.points.length === 1 ? "" : "s"}.</p>` : "",
    set.length ? `<h3>Fixed overrides (set)</h3>${dl(set)}` : "",
    "</header>",
  ].join("\n");
}

/** The versions the runs were made with ("iommu-sim 0.1.0, node v20.20.0"); several if a file mixes them. */
function versionsText(lines: readonly SweepResultLine[]): string {
  const all = new Set(lines.map((l) => `iommu-sim ${l.versions.iommuSim}, node ${l.versions.node}`));
  return all.size ? [...all].join("; ") : "–";
}

function dl(facts: [string, string][], cls = ""): string {
  return `<dl class="${cls}">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>`;
}

function options(names: string[], selected: number, note: (i: number) => string = () => ""): string {
  return names.map((n, i) => `<option value="${i}"${i === selected ? " selected" : ""}>${esc(n + note(i))}</option>`).join("");
}

function controlsHtml(d: PageData): string {
  if (d.metrics.length === 0) return '<p class="note">No run finished with metrics: nothing to plot.</p>';
  const varies = (i: number) => new Set(d.rows.map((r) => (r.m[i] ? r.m[i]![0] : null))).size > 1;
  const metricNote = (i: number) => (varies(i) ? "" : " (the same at every point)");
  return [
    '<section class="controls">',
    `<label>metric <select id="metric">${options(d.metrics, d.defaults.metric, metricNote)}</select></label>`,
    d.dims.length ? `<label>line plot x <select id="xdim">${options(d.dims, d.defaults.x)}</select></label>` : "",
    d.dims.length > 1 ? `<label>heatmap rows <select id="hrows">${options(d.dims, d.defaults.rows)}</select></label>` +
      `<label>columns <select id="hcols">${options(d.dims, d.defaults.cols)}</select></label>` : "",
    "</section>",
  ].join("\n");
}

function plotsHtml(): string {
  return [
    "<section><h2>Plots</h2>",
    '<div class="plots">',
    '<figure class="plot"><figcaption id="line-title">Line plot</figcaption><div class="chart" id="line-plot"></div>' +
      '<p class="note" id="line-note"></p></figure>',
    '<figure class="plot"><figcaption id="heat-title">Heatmap</figcaption><div id="heatmap"></div>' +
      '<p class="note" id="heat-note"></p></figure>',
    "</div></section>",
  ].join("\n");
}

/**
 * The page stays quick to open and sort: past this many points its table shows the first ones
 * (the plots and the CSV have them all), and past this much CSV the download is the file
 * written beside the page rather than a copy inside it.
 */
const MAX_TABLE_ROWS = 5000;
const MAX_EMBEDDED_CSV = 8 << 20;

/** Metrics in the table: those that vary between points (all of them when none does). */
function tableMetrics(t: SweepTableData): string[] {
  const varying = t.metrics.filter((m) => metricVaries(t, m));
  return varying.length ? varying : t.metrics;
}

function tableHtml(t: SweepTableData, d: PageData, csv: string, csvName: string): string {
  const metrics = tableMetrics(t);
  const th = (text: string, num: boolean) => `<th class="sortable${num ? " num" : ""}" title="sort by ${esc(text)}">${esc(text)}</th>`;
  const head = [th("#", true), ...t.dims.map((dim, i) => th(dim, d.numeric[i]!)), th("runs", true), ...metrics.map((m) => th(m, true))];
  const body = t.rows.slice(0, MAX_TABLE_ROWS).map((r) => {
    const cells = [
      td(String(r.point), String(r.point), true),
      ...t.dims.map((dim, i) => td(shownValue(r.values[dim]), typeof r.values[dim] === "number" ? String(r.values[dim]) : shownValue(r.values[dim]), d.numeric[i]!)),
      td(runsText(r), String(r.runs - r.failures.length), true, r.failures.length ? "failed" : ""),
      ...metrics.map((m) => metricCell(r.metrics[m])),
    ];
    return `<tr${r.failures.length ? ' class="has-failed"' : ""}>${cells.join("")}</tr>`;
  });
  const constant = t.metrics.filter((m) => !metrics.includes(m));
  const constNote = constant.length
    ? `<details class="constants"><summary>${constant.length} metrics the same at every point</summary>${dl(constant.map((m) =>
      [m, fmtAuto(t.rows.find((r) => r.metrics[m])?.metrics[m]?.mean ?? NaN)]))}</details>`
    : "";
  const name = `${csvName.replace(/[^A-Za-z0-9._-]+/g, "_") || "sweep"}.csv`;
  const link = csv.length <= MAX_EMBEDDED_CSV
    ? `<a id="csv" download="${esc(name)}" href="${esc(`data:text/csv;charset=utf-8,${encodeURIComponent(csv)}`)}">Download CSV</a> (one row per run).`
    : `<a id="csv" href="${esc(encodeURIComponent(name))}">${esc(name)}</a>, beside this page (one row per run; too large to embed).`;
  const cut = t.rows.length > MAX_TABLE_ROWS
    ? ` The table shows the first ${MAX_TABLE_ROWS} of ${t.rows.length} points (sorting sorts those); the plots and the CSV have them all.`
    : "";
  return `<section><h2>Points (${t.rows.length})</h2>` +
    `<p class="note">Click a column's header to sort by it (again to reverse). Each cell is the mean over the point's ` +
    `successful repetitions; hover for min–max, standard deviation and count.${cut} ${link}</p>` +
    `<div class="scroll"><table id="points"><thead><tr>${head.join("")}</tr></thead><tbody>${body.join("\n")}</tbody></table></div>` +
    `${constNote}</section>`;
}

function td(text: string, sortValue: string, num: boolean, cls = ""): string {
  const classes = [num ? "num" : "", cls].filter(Boolean).join(" ");
  return `<td${classes ? ` class="${classes}"` : ""} data-v="${esc(sortValue)}">${esc(text)}</td>`;
}

function metricCell(s: MetricSummary | undefined): string {
  if (!s) return '<td class="num" data-v="">–</td>';
  const title = `mean ${fmtAuto(s.mean)}, min ${fmtAuto(s.min)}, max ${fmtAuto(s.max)}, sd ${fmtAuto(s.sd)}, n ${s.n}`;
  return `<td class="num" data-v="${s.mean}" title="${esc(title)}">${esc(fmtAuto(s.mean))}</td>`;
}

function failuresHtml(t: SweepTableData): string {
  const all = t.rows.flatMap((r) => r.failures.map((f) => ({ r, f })));
  if (all.length === 0) return "";
  const rows = all.map(({ r, f }) => `<tr><td class="num">${f.index}</td><td>${esc(pointLabel(t.dims, r.values))}</td>` +
    `<td class="num">${f.rep}</td><td class="num">${f.seed}</td><td class="error">${esc(`${f.name}: ${f.message}`)}</td></tr>`);
  return `<section><h2>Failed runs (${all.length})</h2><div class="scroll"><table id="failures"><thead><tr>` +
    "<th>index</th><th>point</th><th>rep</th><th>seed</th><th>error</th></tr></thead>" +
    `<tbody>${rows.join("\n")}</tbody></table></div></section>`;
}

const SWEEP_CSS = `
.controls { display: flex; flex-wrap: wrap; gap: 8px 20px; margin: 18px 0 0; padding: 10px 14px; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
.controls select { margin-left: 6px; max-width: 320px; }
th.sortable { cursor: pointer; user-select: none; }
th[aria-sort="ascending"]::after { content: " ▲"; }
th[aria-sort="descending"]::after { content: " ▼"; }
tr.has-failed td.failed, td.error { color: var(--bad); font-weight: 600; }
td.error { white-space: pre-wrap; }
#heatmap svg { display: block; max-width: 100%; }
.u-legend { font-size: 12px; }
header h3 { margin-top: 14px; }
#heatmap text { font: 12px system-ui, sans-serif; }
details.constants { margin-top: 8px; }
`;

/**
 * The page's own script (plain ES2017 in a string, like the run report's): draws the line
 * plot with uPlot (the repetitions' min–max as error bars) and the heatmap as SVG from the
 * embedded data, redraws both when a control changes, and sorts the table on a header click.
 * Marks <body data-rendered="1" data-plots="N"> when done, data-render-error if it threw.
 */
const SWEEP_SCRIPT = `
(function () {
  "use strict";
  var body = document.body, D = JSON.parse(document.getElementById("sweep").textContent);
  var COLORS = ["#2f6db5", "#d9822b", "#2e8b57", "#7d4fb0", "#1f8a8a", "#b3261e", "#8a6d1f", "#4a5a70", "#c0489a", "#5c9e2f"];
  var MAX_LINES = COLORS.length, SVG = "http://www.w3.org/2000/svg";
  var line = null;
  window.sweepPlots = { line: null };

  function compact(v) {
    var a = Math.abs(v), units = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
    for (var i = 0; i < units.length; i++) {
      if (a >= units[i][0]) { var x = v / units[i][0]; return (Math.abs(x) >= 10 ? x.toFixed(0) : String(+x.toFixed(1))) + units[i][1]; }
    }
    return a >= 10 || v === Math.round(v) ? v.toFixed(0) : String(+v.toPrecision(3));
  }
  function sel(id) { var e = document.getElementById(id); return e ? Number(e.value) : 0; }
  function text(id, s) { var e = document.getElementById(id); if (e) e.textContent = s; }

  // One line per combination of the other axes' values; x the chosen axis (numbers, or categories 0..n-1).
  function lineSeries(metric, xd) {
    var numeric = D.numeric[xd], xs, groups = {}, order = [];
    if (numeric) {
      xs = []; D.rows.forEach(function (r) { if (xs.indexOf(r.x[xd]) < 0) xs.push(r.x[xd]); });
      xs.sort(function (a, b) { return a - b; });
    } else xs = D.levels[xd].map(function (_, i) { return i; });
    D.rows.forEach(function (r) {
      var m = r.m[metric]; if (!m) return;
      var label = D.dims.map(function (d, i) { return i === xd ? null : d + "=" + r.v[i]; }).filter(Boolean).join(" · ") || "all points";
      var g = groups[label];
      if (!g) { g = groups[label] = { label: label, mean: xs.map(function () { return null; }), lo: [], hi: [] }; order.push(label); }
      var xi = numeric ? xs.indexOf(r.x[xd]) : D.levels[xd].indexOf(r.v[xd]);
      g.mean[xi] = m[0]; g.lo[xi] = m[1]; g.hi[xi] = m[2];
    });
    return { xs: xs, numeric: numeric, groups: order.map(function (k) { return groups[k]; }) };
  }

  // The repetitions' spread: a vertical bar from min to max with caps at each point of each shown line.
  function errorBars(groups) {
    return function (u) {
      var ctx = u.ctx, dpr = window.devicePixelRatio || 1;
      ctx.save(); ctx.lineWidth = dpr;
      groups.forEach(function (g, k) {
        if (!u.series[k + 1].show) return;
        ctx.strokeStyle = COLORS[k % COLORS.length];
        g.mean.forEach(function (m, i) {
          if (m == null || g.lo[i] == null || g.hi[i] <= g.lo[i]) return;
          var x = u.valToPos(u.data[0][i], "x", true), y0 = u.valToPos(g.lo[i], "y", true), y1 = u.valToPos(g.hi[i], "y", true);
          ctx.beginPath(); ctx.moveTo(x, y0); ctx.lineTo(x, y1);
          ctx.moveTo(x - 4 * dpr, y0); ctx.lineTo(x + 4 * dpr, y0); ctx.moveTo(x - 4 * dpr, y1); ctx.lineTo(x + 4 * dpr, y1);
          ctx.stroke();
        });
      });
      ctx.restore();
    };
  }

  function drawLine() {
    var box = document.getElementById("line-plot"); if (!box) return 0;
    if (line) { line.destroy(); line = null; }
    box.textContent = "";
    if (!D.metrics.length || !D.dims.length) { text("line-note", "No axis or no metric: nothing to plot."); return 0; }
    var metric = sel("metric"), xd = sel("xdim"), s = lineSeries(metric, xd);
    var shown = s.groups.slice(0, MAX_LINES);
    text("line-title", D.metrics[metric] + " against " + D.dims[xd]);
    text("line-note", "Mean over each point's repetitions; bars: min–max over them." +
      (s.groups.length > MAX_LINES ? " The first " + MAX_LINES + " of " + s.groups.length + " lines are drawn." : ""));
    var xv = s.xs, xscale = { time: false };
    var lg = s.numeric && xv.length > 2 && xv[0] > 0 && xv[xv.length - 1] / xv[0] >= 8;
    if (lg) { xscale.distr = 3; xscale.log = 2; }
    if (!s.numeric) xscale.range = [-0.5, xv.length - 0.5];
    var xAxis = { label: D.dims[xd], stroke: "#444", grid: { stroke: "#eceff3" } };
    if (!s.numeric) {
      xAxis.splits = function () { return xv; };
      xAxis.values = function (u, splits) { return splits.map(function (i) { return D.levels[xd][i] || ""; }); };
    } else if (lg) {
      xAxis.splits = function () { return xv; };
      // The ticks are the sweep's own values: written out in full (4096, not 4.1k).
      xAxis.values = function (u, splits) { return splits.map(String); };
    }
    var opts = {
      width: Math.max(320, box.clientWidth), height: 300,
      scales: { x: xscale, y: { auto: true } },
      axes: [xAxis, { label: D.metrics[metric], stroke: "#444", grid: { stroke: "#eceff3" }, size: 64,
                      values: function (u, splits) { return splits.map(compact); } }],
      hooks: { draw: [errorBars(shown)] },
      legend: { live: false },
      series: [{ label: D.dims[xd], value: function (u, v) { return v == null ? "-" : s.numeric ? String(v) : D.levels[xd][v]; } }]
        .concat(shown.map(function (g, k) {
          return { label: g.label, stroke: COLORS[k % COLORS.length], width: 2, spanGaps: true,
                   points: { show: true, size: 7, fill: COLORS[k % COLORS.length] } };
        }))
    };
    line = new uPlot(opts, [xv].concat(shown.map(function (g) { return g.mean; })), box);
    window.sweepPlots.line = line;
    return 1;
  }

  // Colour from a 0..1 fraction: a perceptual ramp (viridis' ends and middle).
  var RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function colour(f) {
    f = Math.max(0, Math.min(1, f)) * (RAMP.length - 1);
    var i = Math.min(RAMP.length - 2, Math.floor(f)), t = f - i, a = RAMP[i], b = RAMP[i + 1];
    return "rgb(" + [0, 1, 2].map(function (k) { return Math.round(a[k] + (b[k] - a[k]) * t); }).join(",") + ")";
  }
  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function label(parent, x, y, s, anchor, fill) {
    var t = el("text", { x: x, y: y, "text-anchor": anchor || "start", "dominant-baseline": "middle", fill: fill || "#1d232b" }, parent);
    t.textContent = s; return t;
  }

  // Each cell the mean of the metric over the points with those two values (averaged over the other axes).
  function heatCells(metric, rd, cd) {
    var rows = D.levels[rd], cols = D.levels[cd], sum = {}, n = {};
    D.rows.forEach(function (r) {
      var m = r.m[metric]; if (!m) return;
      var key = rows.indexOf(r.v[rd]) + "," + cols.indexOf(r.v[cd]);
      sum[key] = (sum[key] || 0) + m[0]; n[key] = (n[key] || 0) + 1;
    });
    var cells = [], lo = Infinity, hi = -Infinity;
    for (var key in sum) {
      var ij = key.split(","), v = sum[key] / n[key];
      cells.push({ r: +ij[0], c: +ij[1], v: v, n: n[key] }); lo = Math.min(lo, v); hi = Math.max(hi, v);
    }
    return { rows: rows, cols: cols, cells: cells, lo: lo, hi: hi };
  }

  function drawHeat() {
    var box = document.getElementById("heatmap"); if (!box) return 0;
    box.textContent = "";
    if (D.dims.length < 2 || !D.metrics.length) {
      text("heat-title", "Heatmap"); text("heat-note", "A heatmap needs two axes."); return 0;
    }
    var metric = sel("metric"), rd = sel("hrows"), cd = sel("hcols");
    text("heat-title", D.metrics[metric] + ": " + D.dims[rd] + " × " + D.dims[cd]);
    if (rd === cd) { text("heat-note", "Choose two different axes for the rows and the columns."); return 0; }
    var h = heatCells(metric, rd, cd);
    var others = D.dims.length > 2 ? " Each cell averages the points over the other axes." : "";
    text("heat-note", "Colour: the mean over the repetitions; hover a cell for its value." + others);
    var labelW = 12 + 7 * Math.max.apply(null, h.rows.map(function (s) { return s.length; }).concat([4])), top = 46;
    var width = Math.max(320, box.clientWidth || 520), cw = Math.max(24, Math.min(90, (width - labelW - 10) / h.cols.length)), ch = 28;
    var svg = el("svg", { width: labelW + cw * h.cols.length + 10, height: top + ch * h.rows.length + 60, role: "img" }, box);
    label(svg, labelW + cw * h.cols.length / 2, 10, D.dims[cd], "middle", "#5b6673");
    h.cols.forEach(function (c, j) { label(svg, labelW + cw * j + cw / 2, 30, c.length > cw / 7 ? c.slice(0, Math.max(1, Math.floor(cw / 7) - 1)) + "…" : c, "middle"); });
    h.rows.forEach(function (r, i) { label(svg, labelW - 6, top + ch * i + ch / 2, r, "end"); });
    var span = h.hi - h.lo;
    h.cells.forEach(function (c) {
      var f = span > 0 ? (c.v - h.lo) / span : 0.5;
      var g = el("g", { "class": "cell" }, svg);
      el("rect", { x: labelW + cw * c.c, y: top + ch * c.r, width: cw - 1, height: ch - 1, fill: colour(f) }, g);
      var t = el("title", {}, g);
      t.textContent = D.dims[rd] + "=" + h.rows[c.r] + ", " + D.dims[cd] + "=" + h.cols[c.c] + ": " + c.v + (c.n > 1 ? " (mean of " + c.n + " points)" : "");
      if (cw >= 40) label(g, labelW + cw * c.c + cw / 2, top + ch * c.r + ch / 2, compact(c.v), "middle", f > 0.6 ? "#1d232b" : "#fff");
    });
    // The colour scale: a gradient from the lowest to the highest cell, with both ends labelled.
    var ly = top + ch * h.rows.length + 18, lw = Math.min(260, Math.max(120, cw * h.cols.length));
    var defs = el("defs", {}, svg), grad = el("linearGradient", { id: "heat-scale" }, defs);
    for (var k = 0; k <= 4; k++) el("stop", { offset: (k * 25) + "%", "stop-color": colour(k / 4) }, grad);
    el("rect", { x: labelW, y: ly, width: lw, height: 12, fill: "url(#heat-scale)", "class": "legend" }, svg);
    label(svg, labelW, ly + 26, compact(h.lo), "start");
    label(svg, labelW + lw, ly + 26, compact(h.hi), "end");
    label(svg, labelW + lw + 10, ly + 6, D.metrics[metric], "start", "#5b6673");
    return 1;
  }

  function cellValue(tr, col, numeric) {
    var v = tr.cells[col].getAttribute("data-v");
    return v === "" ? null : numeric ? Number(v) : v;
  }

  // Click a header: sort by that column, ascending then descending; ties keep their order; empty cells last.
  function sortable(table) {
    var ths = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(ths, function (th, col) {
      th.addEventListener("click", function () {
        var desc = th.getAttribute("aria-sort") === "ascending", numeric = th.classList.contains("num");
        Array.prototype.forEach.call(ths, function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", desc ? "descending" : "ascending");
        var tbody = table.tBodies[0];
        var rows = Array.prototype.map.call(tbody.rows, function (tr, i) { return { tr: tr, i: i, v: cellValue(tr, col, numeric) }; });
        rows.sort(function (a, b) {
          if (a.v === null || b.v === null) return a.v === b.v ? a.i - b.i : a.v === null ? 1 : -1;
          var c = numeric ? a.v - b.v : a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
          return (desc ? -c : c) || a.i - b.i;
        });
        rows.forEach(function (r) { tbody.appendChild(r.tr); });
      });
    });
  }

  function drawAll() { var n = drawLine() + drawHeat(); body.dataset.plots = String(n); return n; }

  try {
    ["metric", "xdim", "hrows", "hcols"].forEach(function (id) {
      var e = document.getElementById(id); if (e) e.addEventListener("change", drawAll);
    });
    var table = document.getElementById("points"); if (table) sortable(table);
    drawAll();
    body.dataset.rendered = "1";
  } catch (e) {
    body.dataset.renderError = String(e && e.message ? e.message : e);
  }
})();
`;
