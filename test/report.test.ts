// The run reports people read: the terminal summary, the self-contained HTML report, and the
// HTML as headless Chromium renders it (the plots really drawn, a screenshot really taken).
// The RunReport is built here by hand, so these tests do not depend on the runner.

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkRendered, dumpDom, findChromium, readRenderMarks, screenshot } from "../src/report/chromium.js";
import { fmtAuto, fmtCompact, fmtHex, fmtInt, fmtNum, fmtPct } from "../src/report/format.js";
import { renderHtmlReport } from "../src/report/html.js";
import { plotSpecs, throughputValues } from "../src/report/plots.js";
import { formatSummary } from "../src/report/text.js";
import { summarise } from "../src/run/runner.js";
import type { Histogram, RunReport } from "../src/report/types.js";
import { renderSweepHtml, sweepPoint } from "../src/bench/sweep.js";
import type { MapBenchmarkResult } from "../src/bench/map-benchmark.js";
import { COMMAND_KINDS } from "../src/smmu/commands.js";

/** Log-spaced buckets (powers of two from `from`), counts shaped like a latency peak at `peak`. */
function histogram(unit: string, from: number, n: number, peak: number, scale: number): Histogram {
  const bounds = Array.from({ length: n }, (_, i) => from * 2 ** i);
  const counts = bounds.map((_, i) => Math.round(scale * Math.exp(-((i - peak) ** 2) / 2)));
  const samples = counts.reduce((a, b) => a + b, 0);
  return { unit, bounds, counts, samples, mean: from * 2 ** peak * 1.1, p50: from * 2 ** peak, p99: from * 2 ** (peak + 2), max: from * 2 ** (peak + 3) };
}

/** A two-CPU lazy-mode run that found one use-after-free: every section of the report has data. */
function makeReport(overrides: Partial<RunReport["scenario"]> = {}): RunReport {
  const map = histogram("ns", 64, 16, 4, 800);
  const unmap = histogram("ns", 64, 16, 6, 600);
  const cpu = (n: number) => ({
    cpu: n, worker: n, workload: n === 0 ? "churn:net-rx" : "churn:nvme", ops: 61_000 + n * 500,
    maps: 30_500 + n * 250, unmaps: 30_400 + n * 250, mapFailures: 0, deviceAccesses: 12_345 + n,
    faults: 0, violations: 1 - n, modelledNs: 52_000_000, modelledNsPerOp: 851.25 + n, mapLatency: map, unmapLatency: unmap,
    time: { work: 20_000_000, cmdq: 2_000_000, sync: 29_000_000, iovaTreeLock: 400_000, depotLock: 100_000, fqLock: 500_000, delay: 0, lineTransfer: 0 },
  });
  const series = Array.from({ length: 50 }, (_, i) => ({
    tUs: (i + 1) * 1000, ops: (i + 1) * 2_450 + (i % 5) * 40, wallMs: (i + 1) * 3.2,
    iotlbHitRate: 0.9 + 0.08 * Math.sin(i / 5), fqOccupancy: (i * 37) % 256, lazyDomains: 1,
  }));
  return {
    tool: "iommu-sim", version: "0.1.0",
    scenario: {
      name: "lazy-uaf", description: "Two CPUs churn a lazy domain while a device keeps reading.",
      profile: "7.1", seed: 42, workers: 2, cpus: 2, oracle: true, ...overrides,
    },
    outcome: { status: "violations", expected: "violations", asExpected: true, message: "the oracle found 1 violation" },
    totals: {
      ops: 122_500, maps: 61_250, unmaps: 61_050, mapFailures: 0, deviceAccesses: 24_691, faults: 0,
      violations: 1, unmapErrors: 0, modelledNsPerOp: 851.75, modelledUs: 50_000, kheapAllocFailures: 0,
    },
    perCpu: [cpu(0), cpu(1)],
    latency: { map, unmap },
    smmu: {
      translations: 24_691, microTlbHits: 10_000, iotlbHits: 13_500, iotlbMisses: 1_191, iotlbHitRate: 0.9189,
      walks: 1_191, pteReads: 4_764, walkCacheHits: 800, faults: 0,
      commands: { CMD_TLBI_NH_ASID: 100, CMD_TLBI_NH_VA: 3_000, CMD_SYNC: 3_100 }, modelledNs: 9_000_000,
      walksQueued: 0, walkWaitNs: 0,
    },
    oracle: { checked: 400_000, lazyWindowAccesses: 1_200, shadowFull: 0, unchecked: 0,
              violationsByClass: { afterStrictUnmap: 0, afterFlush: 0, useAfterFree: 1, unknown: 0, freedTable: 0 } },
    iova: { rcacheHits: 60_000, rcacheMisses: 1_250, rcacheHitRate: 0.9796, depotHits: 470, depotHitRate: 0.0078, treeAllocs: 250, treeFrees: 150, magazineAllocFailures: 0 },
    fq: { flushes: { ringFull: 230, timer: 12, other: 3 }, entriesQueued: 61_050, maxOccupancy: 256 },
    lazyWindow: histogram("us", 1, 14, 5, 900),
    lazyWindowsOpen: 12,
    lazyWindowsLost: 0,
    attacker: { retries: 9_000, staleReads: 1_500, faults: 7_400 },
    switcher: { rounds: 0, switches: 0 },
    domains: [{ name: "nic", variant: "merged", type: "DMA-FQ", fqPending: 12,
                dma: { maps: 61_300, mapFailures: 0, strictUnmaps: 0, lazyUnmaps: 61_050, syncs: 0, sacAttempts: 61_300,
                       sacFallbacks: 0, shortUnmaps: 0, mixedDecisions: 0, queueMissing: 0, switches: 1 } }],
    attackerWindow: histogram("us", 1, 14, 5, 300),
    events: [
      { due: "50% of cpu 0's ops", atUs: 25_000, cpu: 0, action: "set-domain-type", target: "group 0 -> DMA", result: "ok" },
      { due: "t=40 ms", atUs: 40_000, cpu: 1, action: "detach", target: "nvme0", result: "-EBUSY: device has live mappings" },
    ],
    series,
    violations: [{
      class: "use-after-free", streamId: 3, iova: 0xfffe_0000, pa: 0x8_1234_5000,
      explanation: "the device read through a stale IOTLB entry after the IOVA was freed & reused",
      trace: [
        "t=10.0us cpu0 dma_map_single iova=0xfffe0000 pa=0x812345000",
        "t=20.0us cpu0 dma_unmap_single iova=0xfffe0000 (queued for flush)",
        "t=21.0us cpu1 alloc_iova reuses 0xfffe0000",
        "t=22.0us dev3 read 0xfffe0000 -> 0x812345000 (IOTLB hit)",
      ],
    }],
    timing: {
      wallMs: 160.4, opsPerSec: 763_715,
      perWorker: [
        { worker: 0, cpus: [0], ops: 61_000, wallMs: 158.2, opsPerSec: 385_588 },
        { worker: 1, cpus: [1], ops: 61_500, wallMs: 160.4, opsPerSec: 383_416 },
      ],
    },
  };
}

describe("number formatting", () => {
  it("groups thousands, rounds sensibly, writes addresses in hex", () => {
    expect(fmtInt(1234567)).toBe("1,234,567");
    expect(fmtInt(-1234)).toBe("-1,234");
    expect(fmtNum(1234.5678, 2)).toBe("1,234.57");
    expect(fmtNum(Infinity)).toBe("–");
    expect([fmtAuto(851.75), fmtAuto(56.78), fmtAuto(8.912), fmtAuto(0.1234)]).toEqual(["852", "56.8", "8.91", "0.123"]);
    expect(fmtPct(0.9189)).toBe("91.9%");
    expect(fmtHex(0xfffe0000)).toBe("0xfffe0000");
    expect(fmtHex(2 ** 52)).toBe("0x10000000000000");
    expect([fmtCompact(950), fmtCompact(1536), fmtCompact(16384), fmtCompact(3.2e6), fmtCompact(0.5)]).toEqual(["950", "1.5k", "16k", "3.2M", "0.5"]);
  });
});

describe("histogram quantiles", () => {
  // Buckets [100, 125), [125, 150), [150, 175): 10 samples in the first, 90 in the second.
  const h = summarise("ns", [100, 125, 150, 175], [10, 90, 0, 0]);

  it("are interpolated within their bucket, not its lower bound", () => {
    expect(h.p50).toBeCloseTo(125 + 25 * (40 / 90));
    expect(h.p99).toBeCloseTo(125 + 25 * (89 / 90));
    expect(h.p50).not.toBe(h.p99);
    expect(h.max).toBe(150); // the top of the last bucket with samples: no quantile is above it
  });

  it("stay inside the bucket where the quantile falls, and at the lower bound of the open top bucket", () => {
    const open = summarise("ns", [100, 125], [0, 7]);
    expect(open.p99).toBe(125);
    expect(open.max).toBe(125);
    const one = summarise("ns", [100, 125, 150], [1, 0, 0]);
    expect(one.p50).toBeGreaterThanOrEqual(100);
    expect(one.p50).toBeLessThanOrEqual(125);
  });
});

describe("terminal summary", () => {
  const lines = formatSummary(makeReport());
  const text = lines.join("\n");

  it("names the scenario and the outcome", () => {
    expect(lines[0]).toMatch(/^Run:.*scenario lazy-uaf · profile 7\.1 · workers 2 · cpus 2 · seed 42 · oracle on/);
    expect(lines[1]).toBe("Outcome:     violations (expected violations: as expected) · the oracle found 1 violation");
  });

  it("has a padded per-CPU table with a total row", () => {
    const header = lines.find((l) => l.startsWith("cpu"))!;
    // Each time column names its clock; the note under the table says what a p50/p99 is.
    expect(header).toMatch(/cpu\s+worker\s+workload\s+ops\s+maps\s+unmaps\s+accesses\s+violations\s+modelled ns\/op\s+map p50\/p99\s+unmap p50\/p99$/);
    expect(text).toContain("map/unmap p50/p99: modelled ns, interpolated within the latency histogram's buckets");
    const row0 = lines.find((l) => l.includes("churn:net-rx"))!;
    const row1 = lines.find((l) => l.includes("churn:nvme"))!;
    const total = lines.find((l) => l.startsWith("all"))!;
    expect(row0).toContain("61,000");
    expect(row1).toContain("61,500");
    expect(total).toMatch(/^all\s+122,500\s+61,250\s+61,050\s+24,691\s+1\s+852\s+1,024\/4,096\s+4,096\/16,384$/);
    // Padding lines the columns up: every row of the table is as long as its widest row, right-aligned numbers end together.
    expect(row0.indexOf("61,000") + 6).toBe(row1.indexOf("61,500") + 6);
  });

  it("reports the SMMU, IOVA, flush queue, lazy window, events and timing", () => {
    expect(text).toMatch(/SMMU:.*translations 24,691/);
    expect(text).toMatch(/TLB hit rate 91\.9% \(micro-TLB hits 10,000, IOTLB hits 13,500, misses 1,191\)/);
    expect(text).toMatch(/walks 1,191 · PTE reads 4,764/);
    // In opcode order whatever the counts, so that two reports list their kinds alike.
    expect(text).toContain("commands CMD_TLBI_NH_ASID 100, CMD_TLBI_NH_VA 3,000, CMD_SYNC 3,100");
    expect(text).toMatch(/IOVA:.*rcache hit rate 98\.0% · alloc_iova_fast rcache hits 60,000, misses 1,250/);
    expect(text).toMatch(/rbtree allocs 250, frees 150/);
    expect(text).toMatch(/Flush queue:.*flushes ring full 230, timer 12, other 3 · entries queued 61,050 · max occupancy 256/);
    expect(text).toMatch(/Lazy window:.*samples [\d,]+ · modelled µs: mean 35\.2, p50 32\.0, p99 128, max < 256/);
    expect(text).toMatch(/50% of cpu 0's ops\s+25\.00 ms\s+0\s+set-domain-type\s+group 0 -> DMA\s+ok/);
    expect(text).toMatch(/t=40 ms\s+40\.00 ms\s+1\s+detach\s+nvme0\s+-EBUSY: device has live mappings/);
    expect(text).toMatch(/Timing:.*wall time 160\.4 ms · throughput 763,715 wall ops\/s/);
    expect(text).toMatch(/worker\s+cpus\s+ops\s+wall ms\s+wall ops\/s/);
    expect(text).toMatch(/due\s+at \(modelled\)\s+cpu/);
    expect(text).toMatch(/^\s+1\s+1\s+61,500\s+160\.4\s+383,416$/m);
  });

  it("shows a 0.1 report's command counts after the kinds, as they were written", () => {
    const old = makeReport();
    old.smmu.commands = { "TLBI by VA": 3_000, "TLBI by context": 100, "TLBI all": 0, CMD_SYNC: 3_100 };
    expect(formatSummary(old).join("\n")).toContain("commands CMD_SYNC 3,100, TLBI by VA 3,000, TLBI by context 100");
  });

  it("shows the violation with its explanation and trace", () => {
    expect(text).toContain("Violations (1):");
    expect(text).toContain("1. use-after-free: stream 3, iova 0xfffe0000, pa 0x812345000");
    expect(text).toContain("the device read through a stale IOTLB entry after the IOVA was freed & reused");
    expect(text).toContain("| t=22.0us dev3 read 0xfffe0000 -> 0x812345000 (IOTLB hit)");
  });

  it("lists at most 10 violations and counts the rest", () => {
    const r = makeReport();
    const v = r.violations[0]!;
    r.violations = Array.from({ length: 12 }, (_, i) => ({ ...v, iova: v.iova + i * 0x1000, trace: Array(9).fill("step") }));
    r.totals.violations = 30;
    const out = formatSummary(r).join("\n");
    expect(out).toContain("Violations (30):");
    expect(out).toContain("10. use-after-free");
    expect(out).not.toContain("11. use-after-free");
    expect(out).toContain("... and 20 more violations not shown");
    expect(out).toContain("(3 more trace lines)");
  });

  it("leaves out empty sections and keeps lines short", () => {
    const r = makeReport();
    r.events = [];
    r.violations = [];
    r.totals.violations = 0;
    const out = formatSummary(r);
    expect(out.join("\n")).not.toMatch(/Events|Violations/);
    for (const l of out) expect(l.length).toBeLessThanOrEqual(120);
  });
});

describe("plot data", () => {
  it("turns the cumulative op count into ops per modelled ms", () => {
    const r = makeReport();
    r.series = [
      { tUs: 1000, ops: 500, wallMs: 1, iotlbHitRate: 1, fqOccupancy: 0, lazyDomains: 1 },
      { tUs: 3000, ops: 1500, wallMs: 2, iotlbHitRate: 1, fqOccupancy: 0, lazyDomains: 1 },
      { tUs: 3000, ops: 1600, wallMs: 3, iotlbHitRate: 1, fqOccupancy: 0, lazyDomains: 1 },
    ];
    expect(throughputValues(r)).toEqual([500, 500, null]);
  });

  it("puts the time plots on the run's modelled clock, from 0 to its end, with the events marked", () => {
    const r = makeReport();
    for (const id of ["throughput", "fq", "iotlb"]) {
      const spec = plotSpecs(r).find((s) => s.id === id)!;
      if (spec.kind !== "line") throw new Error(`${id} should be a line`);
      expect(spec.xRange).toEqual([0, 50]);
      expect(spec.xLabel).toBe("modelled ms since the run began");
      expect(spec.marks).toEqual([{ x: 25, label: "set-domain-type (cpu 0)" }, { x: 40, label: "detach (cpu 1)" }]);
    }
    expect(plotSpecs(r)[0]!.title).toBe("Throughput over modelled time (per 1 ms window)");
  });

  it("trims empty buckets, labels the rest, and says why a plot has no data", () => {
    const specs = plotSpecs(makeReport());
    const lat = specs.find((s) => s.id === "latency")!;
    if (lat.kind !== "bars") throw new Error("latency should be bars");
    expect(lat.buckets[0]).toMatch(/^\d+(\.\d)?k?–\d+(\.\d)?k? ns$/);
    expect(lat.series.map((s) => s.label)).toEqual(["map", "unmap"]);
    expect(lat.series[0]!.values.every((v) => v !== null)).toBe(true);

    const r = makeReport();
    r.series = [];
    r.lazyWindow = { ...r.lazyWindow, counts: r.lazyWindow.counts.map(() => 0), samples: 0 };
    const kinds = Object.fromEntries(plotSpecs(r).map((s) => [s.id, s.kind === "empty" ? s.reason : s.kind]));
    expect(kinds).toEqual({
      throughput: "the run recorded no time series samples", latency: "bars",
      fq: "the run recorded no time series samples", iotlb: "the run recorded no time series samples",
      lazy: expect.stringMatching(/^no lazy unmap was flushed/),
    });
  });
});

describe("HTML report", () => {
  const html = renderHtmlReport(makeReport());

  it("is self-contained: uPlot, its CSS and the data are inline, nothing is fetched", () => {
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/src=["']?https?:/i);
    expect(html).not.toMatch(/<link[^>]+href=["']?https?:/i);
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).toContain(".uplot"); // the CSS
    expect(html).toMatch(/uPlot/); // the library
    expect(html.length).toBeGreaterThan(50_000);
  });

  it("embeds the report JSON, which parses back to the report", () => {
    const m = /<script type="application\/json" id="report">([\s\S]*?)<\/script>/.exec(html);
    expect(m).not.toBeNull();
    expect(JSON.parse(m![1]!)).toEqual(makeReport());
  });

  it("has the tables of the terminal summary and the violation's trace in <details>", () => {
    expect(html).toContain("<title>lazy-uaf</title>");
    expect(html).toMatch(/<tfoot><tr><td class="num">all<\/td>/);
    expect(html).toContain("<td class=\"num\">122,500</td>");
    expect(html).toContain("CMD_SYNC 3,100");
    expect(html).toContain("-EBUSY: device has live mappings");
    expect(html).toMatch(/<details class="violation"><summary>use-after-free: stream 3, iova 0xfffe0000/);
    expect(html).toContain("freed &amp; reused");
    expect(html).toContain("t=22.0us dev3 read 0xfffe0000 -&gt; 0x812345000 (IOTLB hit)");
  });

  it("escapes text from the report", () => {
    const evil = "<script>alert(1)</script>";
    const out = renderHtmlReport(makeReport({ name: evil, description: `"quoted" & <b>bold</b>` }));
    expect(out).not.toContain(evil);
    expect(out).toContain("<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>");
    expect(out).toContain("&quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;");
    // In the embedded JSON "</" is written "<\/", which JSON.parse reads back as "</".
    const m = /<script type="application\/json" id="report">([\s\S]*?)<\/script>/.exec(out);
    expect(JSON.parse(m![1]!).scenario.name).toBe(evil);
  });

  it("says why a plot is missing instead of drawing an empty one", () => {
    const r = makeReport();
    r.series = [];
    const out = renderHtmlReport(r);
    expect(out).toContain('<p class="nodata">no data: the run recorded no time series samples</p>');
    expect(out).not.toContain('id="plot-throughput"');
    expect(out).toContain('id="plot-latency"');
  });
});

describe("render marks", () => {
  it("reads data-rendered, data-plots and data-render-error off <body>", () => {
    expect(readRenderMarks('<html><body data-plots="5" data-rendered="1"><p>')).toEqual({ rendered: true, plots: 5, error: null });
    const failed = '<body data-render-error="uPlot is not &quot;defined&quot;">';
    expect(readRenderMarks(failed).error).toBe('uPlot is not "defined"');
    expect(() => checkRendered(failed, 5)).toThrow(/script failed: uPlot is not "defined"/);
    expect(() => checkRendered("<body>", 5)).toThrow(/did not finish/);
    expect(() => checkRendered('<body data-rendered="1" data-plots="3">', 5)).toThrow(/drew 3 plots, expected at least 5/);
  });
});

/** A dma_map_benchmark result with only what the sweep page reads filled in meaningfully. */
function sweepResult(): MapBenchmarkResult {
  const time = { work: 150, cmdq: 940, sync: 780, iovaTreeLock: 0, depotLock: 0, fqLock: 0, delay: 0, lineTransfer: 0 };
  return {
    avgMap100ns: 0, mapStddev100ns: 0, avgUnmap100ns: 17, unmapStddev100ns: 0, loops: 1000, threads: 1, seconds: 1, node: -1,
    dmaBits: 32, dir: 0, transNs: 0, granule: 1, mapMode: 0, profile: "7.1", mode: "strict", rangeInvalidation: false,
    machine: "snapdragon-x", cmdq: "kernel", quantumNs: 5000, workers: 1, jiffies: 250,
    perThread: [{ cpu: 0, loops: 1000, modelledNs: 1_870_000, time }], timePerLoop: time,
    dma: {} as MapBenchmarkResult["dma"], smmu: { commands: 2000, syncs: 1000, tlbi: { va: 1000, context: 0, all: 0 },
            commandsByKind: Object.fromEntries(COMMAND_KINDS.map((k) => [k, k === "CMD_TLBI_NH_VA" || k === "CMD_SYNC" ? 1000 : 0])) as MapBenchmarkResult["smmu"]["commandsByKind"] }, wallMs: 1,
  };
}

// Chromium must be there in CI (.ci/run installs it and sets CI); elsewhere, without it, the
// Chromium tests are skipped and their names say why.
const chromium = findChromium();
const CHROMIUM_MS = 20_000;

describe("HTML report in headless Chromium", () => {
  if (!chromium) {
    if (process.env.CI) it("finds Chromium (CI is set)", () => {
      throw new Error("Chromium not found: apt-get install chromium, or set CHROMIUM to the browser");
    });
    else it.skip("skipped: Chromium not found (install chromium or set CHROMIUM)", () => {});
    return;
  }
  const browser = chromium;
  const dir = mkdtempSync(join(tmpdir(), "iommu-sim-report-"));
  const page = join(dir, "report.html");
  beforeAll(() => writeFileSync(page, renderHtmlReport(makeReport({ name: "<script>alert(1)</script>" }))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("draws all five plots with uPlot", async () => {
    const dom = await dumpDom(page, { chromium: browser, timeoutMs: CHROMIUM_MS });
    const marks = checkRendered(dom, 5);
    expect(marks).toEqual({ rendered: true, plots: 5, error: null });
    expect(dom.match(/class="uplot\b/g)).toHaveLength(5); // uPlot's root div: class="uplot u-hz"
    expect(dom.match(/<canvas/g)?.length).toBeGreaterThanOrEqual(5);
    expect(dom).toContain("<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>");
  }, CHROMIUM_MS + 5_000);

  it("marks the page with the error when drawing fails", async () => {
    // Without the uPlot library the page's script throws on its first plot.
    const broken = join(dir, "broken.html");
    writeFileSync(broken, renderHtmlReport(makeReport()).replace(/<script>[^<]*uPlot=[\s\S]*?<\/script>/, "<script></script>"));
    const marks = readRenderMarks(await dumpDom(broken, { chromium: browser, timeoutMs: CHROMIUM_MS }));
    expect(marks.rendered).toBe(false);
    expect(marks.error).toMatch(/uPlot is not defined/);
  }, CHROMIUM_MS + 5_000);

  it("draws the bench sweep page: the curve, modelled against published", async () => {
    const results = [1, 8].map((threads) => ({ ...sweepResult(), threads, avgUnmap100ns: threads === 1 ? 17 : 59 }));
    const sweep = join(dir, "sweep.html");
    writeFileSync(sweep, renderSweepHtml(results.map((r) => sweepPoint(r)), { machine: "snapdragon-x", cmdq: "kernel", profile: "7.1", granule: 1 }, results));
    const dom = await dumpDom(sweep, { chromium: browser, timeoutMs: CHROMIUM_MS });
    expect(checkRendered(dom, 1)).toEqual({ rendered: true, plots: 1, error: null });
    expect(dom.match(/class="stack-row"/g)).toHaveLength(2);
    expect(dom).toContain("unmap 6.2 µs");
  }, CHROMIUM_MS + 5_000);

  it("takes a screenshot", async () => {
    const png = join(dir, "report.png");
    await screenshot(page, png, { chromium: browser, timeoutMs: CHROMIUM_MS });
    expect(statSync(png).size).toBeGreaterThan(10 * 1024);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe("PNG");
  }, CHROMIUM_MS + 5_000);
});
