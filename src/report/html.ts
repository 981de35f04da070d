// The HTML report of a run: one self-contained file (uPlot, its CSS, the data and the script
// that draws the plots are all inline) that opens from disk or a CI artifact with no network.
// Its tables mirror the terminal summary (the rows come from format.ts); its plots come from
// plots.ts. The report JSON is embedded too, so the file carries the run's full data.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import {
  QUANTILE_NOTE, cpuTable, eventTable, timeTable, fmtAuto, fmtInt, fmtPct, fmtUs, fqFacts, iovaFacts, lazyFacts, scenarioFacts,
  smmuFacts, switchFacts, timingFacts, violationCount, violationHead, workerTable, type Fact, type Table,
} from "./format.js";
import { plotSpecs, seriesWindowMs, type PlotSpec } from "./plots.js";
import type { RunReport, ViolationReport } from "./types.js";
import { checkReportShape } from "./schema.js";
import { PAGE_CSS, esc, jsonScript, scriptText } from "./page.js";

/** Violations written out in the page; past this the page only counts them (it must stay openable). */
const MAX_HTML_VIOLATIONS = 100;

/** The report as a complete HTML document. */
export function renderHtmlReport(report: RunReport): string {
  checkReportShape(report, "renderHtmlReport");
  const specs = plotSpecs(report);
  const drawable = specs.filter((s) => s.kind !== "empty");
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(report.scenario.name)}</title>`,
    `<style>${uplotAsset("uPlot.min.css")}</style>`,
    `<style>${PAGE_CSS}</style>`,
    "</head>",
    "<body>",
    "<main>",
    headerSection(report),
    plotSection(specs),
    clockNote(report),
    cpuSection(report),
    unitsSection(report),
    eventSection(report),
    violationSection(report),
    timingSection(report),
    `<footer>${esc(report.tool)} ${esc(report.version)}</footer>`,
    "</main>",
    jsonScript("report", report),
    jsonScript("plots", drawable),
    `<script>${scriptText(uplotAsset("uPlot.iife.min.js"))}</script>`,
    `<script>${DRAW_SCRIPT}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

/**
 * A page of plots and tables other than a run's (the bench's thread sweep): the same
 * self-contained file, styles and drawing script as the run report.
 */
export function renderPlotPage(title: string, intro: string, specs: PlotSpec[], bodyHtml: string, data: unknown): string {
  return [
    "<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">', `<title>${esc(title)}</title>`,
    `<style>${uplotAsset("uPlot.min.css")}</style>`, `<style>${PAGE_CSS}</style>`, "</head>", "<body>", "<main>",
    `<header><h1>${esc(title)}</h1><p class="description">${esc(intro)}</p></header>`,
    plotSection(specs), bodyHtml, "</main>",
    jsonScript("report", data), jsonScript("plots", specs.filter((s) => s.kind !== "empty")),
    `<script>${scriptText(uplotAsset("uPlot.iife.min.js"))}</script>`, `<script>${DRAW_SCRIPT}</script>`,
    "</body>", "</html>", "",
  ].join("\n");
}

/** A titled section of a page (a table or any HTML). */
export function htmlSection(title: string, body: string): string {
  return section(title, body);
}

export { htmlTable, esc };

const assets = new Map<string, string>();

/** uPlot's script and style, to inline into a page made elsewhere (the sweep report, src/sweep/report.ts). */
export function uplotAssets(): { js: string; css: string } {
  return { js: uplotAsset("uPlot.iife.min.js"), css: uplotAsset("uPlot.min.css") };
}

/** A file of uPlot's dist/, read once per process from wherever node resolves the package. */
function uplotAsset(file: string): string {
  let text = assets.get(file);
  if (text === undefined) {
    const path = createRequire(import.meta.url).resolve(`uplot/dist/${file}`);
    text = readFileSync(path, "utf8");
    assets.set(file, text);
  }
  return text;
}

function headerSection(r: RunReport): string {
  const o = r.outcome;
  const badge = `<span class="badge ${o.asExpected ? "good" : "bad"}">${esc(o.status)}</span>`;
  const expected = `expected ${esc(o.expected)}: ${o.asExpected ? "as expected" : "<strong>not as expected</strong>"}`;
  return [
    "<header>",
    `<h1>${esc(r.scenario.name)}</h1>`,
    r.scenario.description ? `<p class="description">${esc(r.scenario.description)}</p>` : "",
    `<p class="outcome">${badge} ${expected} — ${esc(o.message)}</p>`,
    factList(scenarioFacts(r).slice(1), "inline"),
    keyNumbers(r),
    "</header>",
  ].join("\n");
}

/** The handful of numbers a reader looks for first, large. */
function keyNumbers(r: RunReport): string {
  const t = r.totals;
  const cards: Fact[] = [
    ["operations", fmtInt(t.ops)],
    ["modelled time", fmtUs(t.modelledUs)],
    ["modelled ns/op", fmtAuto(t.modelledNsPerOp)],
    ["TLB hit rate", fmtPct(r.smmu.iotlbHitRate)],
    ["violations", fmtInt(violationCount(r))],
  ];
  const html = cards.map(([label, value]) => `<div class="card"><div class="value">${esc(value)}</div><div class="label">${esc(label)}</div></div>`);
  return `<div class="cards">${html.join("")}</div>`;
}

/** A figure per plot: an empty box the script fills, or the reason there is nothing to draw. */
function plotSection(specs: PlotSpec[]): string {
  const figures = specs.map((s) => {
    const body = s.kind === "empty"
      ? `<p class="nodata">no data: ${esc(s.reason)}</p>`
      : `<div class="chart" id="plot-${esc(s.id)}"></div>`;
    return `<figure class="plot"><figcaption>${esc(s.title)}</figcaption>${body}</figure>`;
  });
  return section("Plots", `<div class="plots">${figures.join("\n")}</div>`);
}

/** How the time plots are made: a reader comparing them with the events table needs to know they share a clock. */
function clockNote(r: RunReport): string {
  if (r.series.length === 0) return "";
  const ms = seriesWindowMs(r);
  return `<p class="note">The time plots share one clock: modelled time since the run began. Each point is a window of ` +
    `${esc(fmtAuto(ms))} ms of it; every CPU counts what it did in a window by its own clock, and the CPUs are added ` +
    "up window by window (without contention the workers do not keep their CPUs' clocks together in wall time, " +
    "so a snapshot at one wall instant would mix different modelled times). The events are drawn at their modelled time " +
    "on the clock of the CPU that fired them; another CPU meets an event at its own clock, which is why the throughput " +
    "plot also draws each CPU's rate (up to eight CPUs).</p>";
}

function cpuSection(r: RunReport): string {
  return section("Per CPU", htmlTable(cpuTable(r)) +
    `<p class="note">${esc(QUANTILE_NOTE)}.</p>`) +
    section("Where each CPU's modelled time went", htmlTable(timeTable(r)) +
    '<p class="note">Shares of each CPU\'s modelled clock: the kernel\'s own work, the command queue (claim, MMIO), ' +
    "CMD_SYNC waits (the SMMU consuming commands), spinlock waits and requested delays.</p>");
}

/** SMMU, IOVA allocator, flush queue and lazy window side by side: each a short list. */
function unitsSection(r: RunReport): string {
  const boxes: [string, Fact[]][] = [
    ["SMMU", smmuFacts(r)],
    ["IOVA allocator", iovaFacts(r)],
    ["Flush queue", fqFacts(r)],
    ["Lazy window", lazyFacts(r)],
    ...(switchFacts(r).length ? [["Live switch", switchFacts(r)] as [string, Fact[]]] : []),
  ];
  const html = boxes.map(([title, facts]) => `<div class="box"><h3>${esc(title)}</h3>${factList(facts)}</div>`);
  return section("Simulated hardware and allocator", `<div class="boxes">${html.join("\n")}</div>`);
}

function eventSection(r: RunReport): string {
  const body = r.events.length === 0 ? '<p class="note">The scenario had no events.</p>' : htmlTable(eventTable(r)) +
    '<p class="note">"at" is modelled time on the clock of the CPU that fired the event (the orchestrator\'s: the ' +
    "furthest CPU's clock when it was asked): the clock of the plots' x axis, where the events are drawn as dashed lines.</p>";
  return section(`Events (${r.events.length})`, body);
}

function violationSection(r: RunReport): string {
  const total = violationCount(r);
  if (total === 0) return section("Violations (0)", '<p class="note">The oracle saw no unsafe access.</p>');
  const shown = r.violations.slice(0, MAX_HTML_VIOLATIONS);
  const more = total - shown.length;
  const tail = more > 0 ? `<p class="note">… and ${fmtInt(more)} more not listed.</p>` : "";
  return section(`Violations (${fmtInt(total)})`, shown.map(violationDetails).join("\n") + tail);
}

/** A violation folded to its head line; opening it shows the explanation and the access's history. */
function violationDetails(v: ViolationReport): string {
  return [
    '<details class="violation">',
    `<summary>${esc(violationHead(v))}</summary>`,
    `<p>${esc(v.explanation)}</p>`,
    v.trace.length > 0 ? `<pre>${esc(v.trace.join("\n"))}</pre>` : "",
    "</details>",
  ].join("");
}

function timingSection(r: RunReport): string {
  return section("Timing",
    '<p class="note">Wall clock: the only part of the report that differs between two runs of one seed.</p>' +
    factList(timingFacts(r), "inline") + htmlTable(workerTable(r)));
}

function section(title: string, body: string): string {
  return `<section><h2>${esc(title)}</h2>\n${body}\n</section>`;
}

function factList(facts: Fact[], cls = ""): string {
  const items = facts.map(([label, value]) => `<dt>${esc(label)}</dt><dd>${esc(value)}</dd>`);
  return `<dl class="${cls}">${items.join("")}</dl>`;
}

/** A Table as HTML: numeric columns right-aligned, the total row in a <tfoot>. */
function htmlTable(t: Table): string {
  const cell = (tag: string, text: string, i: number) =>
    `<${tag}${t.align[i] === "r" ? ' class="num"' : ""}>${esc(text)}</${tag}>`;
  const row = (tag: string) => (cells: string[]) => `<tr>${cells.map((c, i) => cell(tag, c, i)).join("")}</tr>`;
  const foot = t.footer?.length ? `<tfoot>${t.footer.map(row("td")).join("")}</tfoot>` : "";
  return `<div class="scroll"><table><thead>${row("th")(t.headers)}</thead>` +
    `<tbody>${t.rows.map(row("td")).join("")}</tbody>${foot}</table></div>`;
}


/**
 * The page's own script: reads the plot specs (id="plots") and hands each to uPlot. Plain
 * ES2017 in a string so it runs as written in any browser. When every plot is drawn it
 * marks <body data-rendered="1" data-plots="N">; if drawing throws it leaves
 * data-render-error instead. The headless-Chromium check reads those marks (and a test,
 * window.reportPlots: the uPlot instances).
 */
const DRAW_SCRIPT = `
(function () {
  "use strict";
  var body = document.body;
  var GRID = { stroke: "#eceff3", width: 1 };
  // The charts, for a test to inspect (the axes' sizes against their tick labels).
  var drawn = window.reportPlots = [];

  function fromZero(u, min, max) { return [0, max > 0 ? max * 1.08 : 1]; }

  // Tick labels short (12k, 3.5M), so that they stay narrow.
  function compact(v) {
    var a = Math.abs(v), units = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
    for (var i = 0; i < units.length; i++) {
      if (a >= units[i][0]) { var x = v / units[i][0]; return (Math.abs(x) >= 10 ? x.toFixed(0) : String(+x.toFixed(1))) + units[i][1]; }
    }
    return a >= 10 || v === Math.round(v) ? v.toFixed(0) : String(+v.toFixed(2));
  }

  // The y axis as wide as its widest tick label (measured in the axis's font) plus the tick
  // and the gap: uPlot puts the title outside that width, so title and labels never overlap.
  function yAxisSize(u, values, i, cycle) {
    var axis = u.axes[i];
    if (cycle > 1) return axis._size;
    var size = axis.ticks.size + axis.gap, widest = 0;
    u.ctx.font = axis.font[0];
    (values || []).forEach(function (v) { widest = Math.max(widest, u.ctx.measureText(String(v)).width); });
    return Math.ceil(size + widest / (window.devicePixelRatio || 1)) + 4;
  }

  function axes(spec, xExtra) {
    var x = { label: spec.xLabel, stroke: "#444", grid: GRID };
    for (var k in xExtra) x[k] = xExtra[k];
    var y = { label: spec.yLabel, stroke: "#444", grid: GRID, size: yAxisSize, labelSize: 24, labelGap: 4,
              values: function (u, splits) { return splits.map(compact); } };
    return [x, y];
  }

  // The run's events as dashed vertical lines across the plot, each labelled at the top.
  function drawMarks(marks) {
    return function (u) {
      var ctx = u.ctx, dpr = window.devicePixelRatio || 1, top = u.bbox.top, bottom = top + u.bbox.height;
      ctx.save();
      ctx.strokeStyle = "#b3261e"; ctx.fillStyle = "#b3261e"; ctx.lineWidth = dpr; ctx.setLineDash([5 * dpr, 4 * dpr]);
      ctx.font = (11 * dpr) + "px system-ui, sans-serif"; ctx.textBaseline = "top";
      marks.forEach(function (m) {
        var x = Math.round(u.valToPos(m.x, "x", true));
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
        ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
        var text = m.label, w = ctx.measureText(text).width;
        // Right of the line, or left of it when it would run off the plot.
        ctx.fillText(text, x + 4 * dpr + w > u.bbox.left + u.bbox.width ? x - 4 * dpr - w : x + 4 * dpr, top + 2 * dpr);
      });
      ctx.restore();
    };
  }

  function lineOptions(spec, width) {
    var x = { time: false };
    if (spec.xRange) x.range = spec.xRange;
    return {
      width: width, height: 260,
      scales: { x: x, y: { range: spec.yRange ? spec.yRange : fromZero } },
      axes: axes(spec, {}),
      hooks: spec.marks && spec.marks.length ? { draw: [drawMarks(spec.marks)] } : {},
      series: [{ label: spec.xLabel }].concat(spec.series.map(function (s) {
        return { label: s.label, stroke: s.color, width: s.width || 2, spanGaps: !!s.points,
                 points: { show: !!s.points, size: 8, fill: s.color } };
      }))
    };
  }

  // Buckets sit at x = 0..n-1; the axis shows a tick label every few buckets so they never
  // overlap, and the legend names the bucket under the cursor in full. Two histograms are
  // drawn side by side in each bucket (the first left of its x, the second right of it).
  function barOptions(spec, width) {
    var n = spec.buckets.length, grouped = spec.series.length > 1;
    var every = Math.max(1, Math.ceil(n / 12)), ticks = [];
    for (var i = 0; i < n; i += every) ticks.push(i);
    return {
      width: width, height: 260,
      scales: { x: { time: false, range: [-0.5, n - 0.5] }, y: { range: fromZero } },
      axes: axes(spec, {
        splits: function () { return ticks; },
        values: function (u, splits) { return splits.map(function (i) { return spec.ticks[i] || ""; }); }
      }),
      series: [{ label: "bucket", value: function (u, i) { return i == null ? "-" : spec.buckets[i]; } }]
        .concat(spec.series.map(function (s, k) {
          return {
            label: s.label, stroke: s.color, fill: s.color + "b3", width: 1, points: { show: false },
            paths: uPlot.paths.bars({ size: [grouped ? 0.4 : 0.8, 60], align: grouped ? (k === 0 ? -1 : 1) : 0 })
          };
        }))
    };
  }

  function seriesData(spec, x) {
    return [x].concat(spec.series.map(function (s) { return s.values; }));
  }

  function draw(spec) {
    var box = document.getElementById("plot-" + spec.id);
    var width = Math.max(320, box.clientWidth);
    if (spec.kind === "bars") {
      var x = spec.buckets.map(function (_, i) { return i; });
      drawn.push(new uPlot(barOptions(spec, width), seriesData(spec, x), box));
    } else {
      drawn.push(new uPlot(lineOptions(spec, width), seriesData(spec, spec.x), box));
    }
  }

  try {
    var specs = JSON.parse(document.getElementById("plots").textContent);
    specs.forEach(draw);
    body.dataset.plots = String(specs.length);
    body.dataset.rendered = "1";
  } catch (e) {
    body.dataset.renderError = String(e && e.message ? e.message : e);
  }
})();
`;
