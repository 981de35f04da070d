// `iommu-sim bench --threads 1,2,4,…`: dma_map_benchmark at each thread count on one machine,
// as a table of modelled latency against threads with the published figure and the ratio
// beside each point (src/machines.ts), where each thread's time went, and an HTML page with
// the latency-vs-threads curve (modelled and published) and the breakdown as a stacked bar
// per thread count.

import type { MapBenchmarkResult } from "./map-benchmark.js";
import { machinePreset, type CmdqVariant, type MachineName, type PublishedFigure } from "../machines.js";
import { TIME_CODES, type TimeBreakdown } from "../cpu-time.js";
import type { Table } from "../report/format.js";
import { esc, htmlSection, htmlTable, renderPlotPage } from "../report/html.js";
import type { PlotSpec } from "../report/plots.js";

/** One thread count's figures. */
export interface SweepPoint {
  threads: number;
  mode: "strict" | "lazy";
  mapUs: number;
  unmapUs: number;
  /** Map+unmap pairs per CPU per modelled second. */
  pairsPerCpuPerSecond: number;
  /** Where each thread's time went, per iteration on average (ns). */
  timePerLoop: TimeBreakdown;
  /** The published figure for this point, if the machine has one, and modelled / published. */
  published?: PublishedFigure;
  ratio?: number;
}

const BREAKDOWN_COLOURS: Record<keyof TimeBreakdown, string> = {
  work: "#4e79a7", cmdq: "#f28e2b", sync: "#e15759", iovaTreeLock: "#76b7b2", depotLock: "#59a14f", fqLock: "#edc948",
  delay: "#b07aa1", lineTransfer: "#ff9da7",
};

/** The published figure matching a run (threads, granule, mode, command-queue variant). */
export function publishedFor(machine: MachineName | undefined, r: MapBenchmarkResult): PublishedFigure | undefined {
  if (machine === undefined) return undefined;
  return machinePreset(machine).published.find((f) => f.threads === r.threads && f.granule === r.granule &&
    f.mode === r.mode && (f.cmdq ?? "kernel") === r.cmdq);
}

/** One point of a sweep from a map-benchmark result: latencies, pairs per CPU per second, the published figure it matches. */
export function sweepPoint(r: MapBenchmarkResult): SweepPoint {
  const perCpu = r.perThread.reduce((n, t) => n + (t.modelledNs > 0 ? t.loops / (t.modelledNs / 1e9) : 0), 0) / r.threads;
  const p: SweepPoint = {
    threads: r.threads, mode: r.mode, mapUs: r.avgMap100ns / 10, unmapUs: r.avgUnmap100ns / 10,
    pairsPerCpuPerSecond: Math.round(perCpu), timePerLoop: r.timePerLoop,
  };
  const pub = publishedFor(r.machine, r);
  if (pub) {
    p.published = pub;
    if (pub.unmapUs !== undefined && pub.unmapUs > 0) p.ratio = p.unmapUs / pub.unmapUs;
    else if (pub.pairsPerCpuPerSecond !== undefined) p.ratio = p.pairsPerCpuPerSecond / pub.pairsPerCpuPerSecond;
  }
  return p;
}

const fmt = (n: number, d = 1) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

function publishedText(f: PublishedFigure | undefined): string {
  if (!f) return "–";
  if (f.unmapUs !== undefined) return `unmap ${fmt(f.unmapUs)} µs`;
  if (f.pairsPerCpuPerSecond !== undefined) return `${fmt(f.pairsPerCpuPerSecond, 0)} pairs/CPU/s`;
  return "–";
}

/** The latency-against-threads table (modelled time throughout; the published figure beside). */
export function sweepTable(points: SweepPoint[]): Table {
  const parts = Object.keys(TIME_CODES) as (keyof TimeBreakdown)[];
  return {
    headers: ["threads", "mode", "map µs", "unmap µs", "pairs/CPU/s", "published", "modelled/published",
      ...parts.map((k) => `${k} ns`)],
    align: ["r", "l", "r", "r", "r", "l", "r", ...parts.map(() => "r" as const)],
    rows: points.map((p) => [String(p.threads), p.mode, fmt(p.mapUs), fmt(p.unmapUs), fmt(p.pairsPerCpuPerSecond, 0),
      publishedText(p.published), p.ratio === undefined ? "–" : `${fmt(p.ratio, 2)}×`,
      ...parts.map((k) => fmt(p.timePerLoop[k], 0))]),
  };
}

/** The table as aligned text. */
export function sweepText(t: Table): string[] {
  const widths = t.headers.map((h, i) => Math.max(h.length, ...t.rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (t.align[i] === "r" ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  return [line(t.headers), ...t.rows.map(line)];
}

function curve(points: SweepPoint[], mode: "strict" | "lazy"): PlotSpec {
  const ps = points.filter((p) => p.mode === mode);
  const byRate = ps.some((p) => p.published?.pairsPerCpuPerSecond !== undefined);
  const value = (p: SweepPoint) => (byRate ? p.pairsPerCpuPerSecond : p.unmapUs);
  const pub = (p: SweepPoint) => (byRate ? p.published?.pairsPerCpuPerSecond : p.published?.unmapUs) ?? null;
  return {
    id: `curve-${mode}`, title: `${mode}: ${byRate ? "map+unmap pairs per CPU per second" : "average unmap latency"} against threads`,
    kind: "line", x: ps.map((p) => p.threads), xLabel: "threads", yLabel: byRate ? "pairs/CPU/s" : "µs (modelled)",
    series: [
      { label: "modelled", color: "#4e79a7", values: ps.map(value), points: true },
      { label: "published", color: "#e15759", values: ps.map(pub), points: true },
    ],
  };
}

/** Each point's breakdown as one stacked bar (CSS widths: no script needed). */
function stackedBars(points: SweepPoint[]): string {
  const parts = Object.keys(TIME_CODES) as (keyof TimeBreakdown)[];
  const legend = parts.map((k) => `<span class="key"><i style="background:${BREAKDOWN_COLOURS[k]}"></i>${esc(k)}</span>`).join(" ");
  const rows = points.map((p) => {
    const total = parts.reduce((n, k) => n + p.timePerLoop[k], 0) || 1;
    const segs = parts.filter((k) => p.timePerLoop[k] > 0).map((k) =>
      `<span title="${esc(`${k}: ${fmt(p.timePerLoop[k], 0)} ns`)}" style="width:${(100 * p.timePerLoop[k]) / total}%;background:${BREAKDOWN_COLOURS[k]}"></span>`);
    return `<div class="stack-row"><span class="stack-label">${p.threads} thr, ${esc(p.mode)}: ${fmt(total, 0)} ns</span>` +
      `<span class="stack">${segs.join("")}</span></div>`;
  });
  const css = "<style>.stack-row{display:flex;align-items:center;gap:.6em;margin:.2em 0}.stack-label{width:16em;font-size:.9em}" +
    ".stack{display:flex;flex:1;height:1.2em}.stack span{display:block;height:100%}.key{margin-right:1em;font-size:.9em}" +
    ".key i{display:inline-block;width:.8em;height:.8em;margin-right:.3em}</style>";
  return `${css}<p>${legend}</p>${rows.join("\n")}`;
}

export interface SweepPageInfo {
  machine?: MachineName;
  cmdq: CmdqVariant;
  profile: string;
  granule: number;
  /** IOVA_MAG_SIZE, when the run was given one instead of the profile's. */
  magazineSize?: number;
}

/** The sweep as a self-contained HTML page. */
export function renderSweepHtml(points: SweepPoint[], info: SweepPageInfo, results: MapBenchmarkResult[]): string {
  const modes = [...new Set(points.map((p) => p.mode))];
  const title = `dma_map_benchmark against threads${info.machine ? ` on ${info.machine}` : ""}`;
  const magazines = info.magazineSize === undefined ? "" : `, IOVA magazines of ${info.magazineSize} (not the profile's)`;
  const intro = `Modelled time (not this machine's wall clock), kernel ${info.profile}${magazines}, granule ${info.granule}, ` +
    `command queue: ${info.cmdq}. Published figures and their sources: src/machines.ts.`;
  const body = htmlSection("Latency against threads", htmlTable(sweepTable(points))) +
    htmlSection("Where each thread's time went (per iteration)", stackedBars(points));
  return renderPlotPage(title, intro, modes.map((m) => curve(points, m)), body, { points, results });
}
