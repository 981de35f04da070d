// The HTML report's plots as data: what each chart shows, derived from a RunReport here in
// typed code (rates from cumulative counts, histogram buckets merged and labelled), so the
// script inside the page only hands ready arrays to uPlot. A plot with nothing to show says
// why instead, and the page prints that reason where the chart would be.

import { fmtCompact, unitLabel } from "./format.js";
import type { Histogram, RunReport } from "./types.js";

export interface PlotSeries {
  label: string;
  color: string;
  /** One value per x; null where there is none (no bar, or a gap in the line). */
  values: (number | null)[];
  /** A line: mark each value with a point, and join the points across the nulls between them. */
  points?: boolean;
  /** A line's width in CSS pixels (default 2). */
  width?: number;
}

export interface LinePlot {
  kind: "line";
  x: number[];
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
  /** A fixed y range (a percentage is 0..100) instead of one fitted to the data. */
  yRange?: [number, number];
  /** A fixed x range: the time plots span the whole run, from 0 to its modelled end. */
  xRange?: [number, number];
  /** Vertical lines at these x, each with a short label: the run's events, on the plots' clock. */
  marks?: PlotMark[];
}

export interface PlotMark {
  x: number;
  label: string;
}

export interface BarPlot {
  kind: "bars";
  /** Each bucket's range in words ("1k–2k ns"), shown in the legend as the cursor moves. */
  buckets: string[];
  /** The short label under each bucket (its lower bound, "1k"). */
  ticks: string[];
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
}

export interface EmptyPlot {
  kind: "empty";
  reason: string;
}

export type PlotSpec = { id: string; title: string } & (LinePlot | BarPlot | EmptyPlot);

const BLUE = "#2f6db5";
const ORANGE = "#d9822b";
const GREEN = "#2e8b57";
const PURPLE = "#7d4fb0";
const TEAL = "#1f8a8a";

/** The five plots of the report, in page order. */
export function plotSpecs(r: RunReport): PlotSpec[] {
  // The time plots' titles say how wide a window is (the axis titles stay short enough to fit).
  const per = r.series.length > 0 ? ` (per ${fmtWindow(r)} window)` : "";
  return [
    { id: "throughput", title: `Throughput over modelled time${per}`, ...throughputPlot(r) },
    { id: "latency", title: "Map and unmap latency", ...latencyPlot(r) },
    { id: "fq", title: `Flush-queue occupancy${per ? " (at each window's end)" : ""}`, ...fqPlot(r) },
    { id: "lazy", title: "Lazy window: unmap to flush", ...lazyPlot(r) },
    { id: "iotlb", title: `TLB hit rate (micro-TLB + IOTLB)${per}`, ...iotlbPlot(r) },
  ];
}

const NO_SERIES = "the run recorded no time series samples";

/** Modelled ms at the end of each window of the series: the x axis of the time plots. */
function timeAxis(r: RunReport): number[] {
  return r.series.map((p) => p.tUs / 1000);
}

/** The time plots' common frame: the whole run on the x axis, and its events marked where they happened. */
function timeFrame(r: RunReport): Pick<LinePlot, "xRange" | "marks" | "xLabel"> {
  const end = Math.max(r.totals.modelledUs, r.series.at(-1)?.tUs ?? 0) / 1000;
  return {
    xLabel: "modelled ms since the run began",
    xRange: [0, end > 0 ? end : 1],
    marks: r.events.map((e) => ({ x: e.atUs / 1000, label: `${e.action}${e.cpu >= 0 ? ` (cpu ${e.cpu})` : ""}` })),
  };
}

/** The series' window width in modelled ms (its points are that far apart but the last), for the axis titles. */
export function seriesWindowMs(r: RunReport): number {
  const s = r.series;
  return s.length > 1 ? (s[1]!.tUs - s[0]!.tUs) / 1000 : (s[0]?.tUs ?? 0) / 1000;
}

/**
 * Operations per modelled ms over each window of the series (src/run/runner.ts): the series
 * counts operations cumulatively at the windows' ends, so the rate is a difference over one
 * window's width. The first window is measured from the start (0 ops at t=0). Two points at
 * the same instant (a report made before the windows) give no rate (null), not an infinity.
 */
export function throughputValues(r: RunReport): (number | null)[] {
  let prevT = 0;
  let prevOps = 0;
  return r.series.map((p) => {
    const dtMs = (p.tUs - prevT) / 1000;
    const rate = dtMs > 0 ? (p.ops - prevOps) / dtMs : null;
    prevT = p.tUs;
    prevOps = p.ops;
    return rate;
  });
}

/** Colours of the per-CPU lines, after the total's blue. */
const CPU_COLORS = [ORANGE, GREEN, PURPLE, TEAL, "#b3261e", "#8a6d1f", "#4a5a70", "#c0489a"];

/**
 * Each CPU's own rate beside the total, for up to CPU_COLORS.length CPUs (more lines would be
 * a tangle): without contention each CPU meets an event at its own clock, so the total can
 * step up twice, and the per-CPU lines show which CPU stepped where.
 */
export function cpuThroughputSeries(r: RunReport): PlotSeries[] {
  const n = r.perCpu.length;
  if (n < 2 || n > CPU_COLORS.length || !r.series.every((p) => p.cpuOps?.length === n)) return [];
  return r.perCpu.map((c, i) => {
    let prevT = 0;
    let prevOps = 0;
    return {
      label: `cpu ${c.cpu}`, color: CPU_COLORS[i]!, width: 1,
      values: r.series.map((p) => {
        const ops = p.cpuOps![i]!;
        const dtMs = (p.tUs - prevT) / 1000;
        const rate = dtMs > 0 ? (ops - prevOps) / dtMs : null;
        prevT = p.tUs;
        prevOps = ops;
        return rate;
      }),
    };
  });
}

function throughputPlot(r: RunReport): LinePlot | EmptyPlot {
  if (r.series.length === 0) return empty(NO_SERIES);
  const perCpu = cpuThroughputSeries(r);
  return {
    kind: "line", x: timeAxis(r), ...timeFrame(r), yLabel: "ops / modelled ms",
    series: [{ label: perCpu.length ? "all CPUs" : "ops/ms", color: BLUE, values: throughputValues(r) }, ...perCpu],
  };
}

function latencyPlot(r: RunReport): BarPlot | EmptyPlot {
  const { map, unmap } = r.latency;
  if (map.samples + unmap.samples === 0) return empty("no map or unmap was timed");
  return histogramBars([["map", map, BLUE], ["unmap", unmap, ORANGE]], "operations");
}

function fqPlot(r: RunReport): LinePlot | EmptyPlot {
  if (r.series.length === 0) return empty(NO_SERIES);
  // Strict domains invalidate at unmap and have no queue: a flat zero would suggest a queue that never filled.
  if (r.series.every((p) => p.lazyDomains === 0 && p.fqOccupancy === 0))
    return empty("no domain was in lazy mode, so there was no flush queue");
  return {
    kind: "line", x: timeAxis(r), ...timeFrame(r), yLabel: "entries pending",
    series: [{ label: "pending entries", color: GREEN, values: r.series.map((p) => p.fqOccupancy) }],
  };
}

function lazyPlot(r: RunReport): BarPlot | EmptyPlot {
  if (r.lazyWindow.samples === 0)
    return empty("no lazy unmap was flushed (strict domains invalidate at unmap: there is no window)");
  return histogramBars([["unmaps", r.lazyWindow, PURPLE]], "unmaps");
}

function iotlbPlot(r: RunReport): LinePlot | EmptyPlot {
  if (r.series.length === 0) return empty(NO_SERIES);
  if (r.smmu.translations === 0) return empty("the devices made no translated accesses");
  return {
    kind: "line", x: timeAxis(r), ...timeFrame(r), yLabel: "hit rate %", yRange: [0, 100],
    series: [{ label: "hits %", color: TEAL, values: r.series.map((p) => p.iotlbHitRate * 100) }],
  };
}

/** "4.1 ms" / "512 µs": the series' window width, as the axis titles give it. */
function fmtWindow(r: RunReport): string {
  const ms = seriesWindowMs(r);
  return ms >= 1 ? `${fmtCompact(ms)} ms` : `${fmtCompact(ms * 1000)} µs`;
}

function empty(why: string): EmptyPlot {
  return { kind: "empty", reason: why };
}

/**
 * Histograms as grouped bars over the union of their bucket bounds (map and unmap share
 * their buckets in practice; the union keeps the plot honest if they ever differ). Empty
 * buckets before the first and after the last sample of any histogram are cut off, so the
 * bars fill the plot instead of sitting in a corner of a 40-bucket axis.
 */
export function histogramBars(hists: [label: string, h: Histogram, color: string][], yLabel: string): BarPlot {
  const bounds = [...new Set(hists.flatMap(([, h]) => h.bounds))].sort((a, b) => a - b);
  const countAt = (h: Histogram, bound: number) => {
    const i = h.bounds.indexOf(bound);
    return i < 0 ? null : (h.counts[i] ?? 0);
  };
  const used = bounds.map((b) => hists.some(([, h]) => (countAt(h, b) ?? 0) > 0));
  const first = Math.max(0, used.indexOf(true));
  const last = Math.max(first, used.lastIndexOf(true));
  const unit = unitLabel(hists[0]?.[1].unit ?? "");
  const shown = bounds.slice(first, last + 1);
  return {
    kind: "bars",
    buckets: shown.map((b, i) => bucketLabel(b, bounds[first + i + 1], unit)),
    ticks: shown.map((b) => fmtCompact(b)),
    xLabel: `${unit} (log-spaced buckets, lower bound)`,
    yLabel,
    series: hists.map(([label, h, color]) => ({ label, color, values: shown.map((b) => countAt(h, b)) })),
  };
}

/** "1k–2k ns" for [1000, 2000); the last bucket is open ("≥ 1M ns"). */
function bucketLabel(lo: number, hi: number | undefined, unit: string): string {
  return hi === undefined ? `≥ ${fmtCompact(lo)} ${unit}` : `${fmtCompact(lo)}–${fmtCompact(hi)} ${unit}`;
}
