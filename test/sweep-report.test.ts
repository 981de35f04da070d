// The sweep report's pure parts on hand-built results (src/sweep/types.ts's shapes): the table
// of points (repetitions aggregated, failed runs kept), sorting, the terminal table, CSV
// quoting, and the HTML page's escaping of what the user typed.

import { describe, expect, it } from "vitest";
import {
  csvField, defaultMetric, formatSweepTable, renderSweepHtml, sortRows, specFromResults, summarise, sweepCsv, sweepTable,
} from "../src/sweep/report.js";
import type { AxisValue, SweepResultLine, SweepSpec } from "../src/sweep/types.js";

const VERSIONS = { iommuSim: "0.1.0", node: "v20.20.0" };
const UPLOT = { js: "/* uplot */", css: "/* uplot css */" };

function spec(over: Partial<SweepSpec> = {}): SweepSpec {
  return {
    name: "iotlb", base: { name: "nic-tx" }, repeat: 2, seed: 10, keep: "full", set: { "workloads[0].ops": 20000 }, points: [],
    axes: [{ path: "smmu.iotlb.entries", values: [256, 2048] }, { path: "smmu.iotlb.policy", values: ["rr", "lru"] }],
    id: "abc123", ...over,
  };
}

function ok(index: number, values: Record<string, AxisValue>, metrics: Record<string, number>, rep = index % 2): SweepResultLine {
  return { sweep: "abc123", index, key: `k${index}`, values, rep, seed: 10 + rep, versions: VERSIONS, wallMs: 5, ranOn: "local", ok: true, metrics };
}

function failed(index: number, values: Record<string, AxisValue>, message: string, rep = index % 2): SweepResultLine {
  return { sweep: "abc123", index, key: `k${index}`, values, rep, seed: 10 + rep, versions: VERSIONS, wallMs: 5, ranOn: "local",
           ok: false, error: { name: "ScenarioError", message } };
}

const P = (entries: number, policy: string) => ({ "smmu.iotlb.entries": entries, "smmu.iotlb.policy": policy });

/** 2 × 2 points, 2 repetitions each; point 3's second repetition failed. */
function lines(): SweepResultLine[] {
  return [
    ok(0, P(256, "rr"), { "latency.unmap.p50": 100, "totals.ops": 5 }),
    ok(1, P(256, "rr"), { "latency.unmap.p50": 110, "totals.ops": 5 }),
    ok(2, P(256, "lru"), { "latency.unmap.p50": 90, "totals.ops": 5 }),
    ok(3, P(256, "lru"), { "latency.unmap.p50": 96, "totals.ops": 5 }),
    ok(4, P(2048, "rr"), { "latency.unmap.p50": 70, "totals.ops": 5 }),
    ok(5, P(2048, "rr"), { "latency.unmap.p50": 70, "totals.ops": 5 }),
    ok(6, P(2048, "lru"), { "latency.unmap.p50": 40, "totals.ops": 5 }),
    failed(7, P(2048, "lru"), "boom"),
  ];
}

describe("the table of points", () => {
  it("aggregates each point's repetitions: mean, min–max and sample standard deviation", () => {
    const t = sweepTable(spec(), lines());
    expect(t.dims).toEqual(["smmu.iotlb.entries", "smmu.iotlb.policy"]);
    expect(t.metrics).toEqual(["latency.unmap.p50", "totals.ops"]);
    expect(t.rows.map((r) => r.point)).toEqual([0, 1, 2, 3]);
    const first = t.rows[0]!.metrics["latency.unmap.p50"]!;
    expect(first).toEqual({ n: 2, mean: 105, min: 100, max: 110, sd: Math.sqrt(50) });
    expect(t.rows[1]!.metrics["latency.unmap.p50"]!.mean).toBe(93);
    expect(t.rows[1]!.metrics["latency.unmap.p50"]!.sd).toBeCloseTo(Math.sqrt(18), 12);
    expect(t.rows[2]!.metrics["latency.unmap.p50"]).toEqual({ n: 2, mean: 70, min: 70, max: 70, sd: 0 });
  });

  it("keeps a failed run with its error; the point's metrics come from the runs that succeeded", () => {
    const row = sweepTable(spec(), lines()).rows[3]!;
    expect(row.values).toEqual(P(2048, "lru"));
    expect(row.runs).toBe(2);
    expect(row.failures).toEqual([{ index: 7, rep: 1, seed: 11, name: "ScenarioError", message: "boom" }]);
    expect(row.metrics["latency.unmap.p50"]).toEqual({ n: 1, mean: 40, min: 40, max: 40, sd: 0 });
    // A point whose every run failed is still a row, with no metrics.
    const allFailed = sweepTable(spec(), [failed(6, P(2048, "lru"), "a"), failed(7, P(2048, "lru"), "b")]).rows;
    expect(allFailed).toHaveLength(1);
    expect(allFailed[0]!.failures).toHaveLength(2);
    expect(allFailed[0]!.metrics).toEqual({});
  });

  it("counts a run once when a merge repeats its line", () => {
    const t = sweepTable(spec(), [...lines(), ok(0, P(256, "rr"), { "latency.unmap.p50": 1000, "totals.ops": 5 })]);
    expect(t.rows[0]!.runs).toBe(2);
    expect(t.rows[0]!.metrics["latency.unmap.p50"]!.mean).toBe(105);
  });

  it("rebuilds the sweep's axes, repeat and first seed from the results alone, and groups the runs the same", () => {
    const guessed = specFromResults([...lines()].reverse(), "from-file");
    expect(guessed.axes).toEqual([{ path: "smmu.iotlb.entries", values: [256, 2048] }, { path: "smmu.iotlb.policy", values: ["rr", "lru"] }]);
    expect([guessed.repeat, guessed.seed, guessed.id, guessed.name]).toEqual([2, 10, "abc123", "from-file"]);
    expect(sweepTable(guessed, lines())).toEqual(sweepTable(spec(), lines()));
    // Only first repetitions finished: still one row per point, each numbered from its index.
    const firsts = lines().filter((l) => l.rep === 0);
    expect(sweepTable(spec(), firsts).rows.map((r) => [r.point, r.runs])).toEqual([[0, 1], [1, 1], [2, 1], [3, 1]]);
  });

  it("summarises only finite values", () => {
    expect(summarise([1, 2, NaN, 3])).toEqual({ n: 3, mean: 2, min: 1, max: 3, sd: 1 });
    expect(summarise([])).toBeUndefined();
  });

  it("chooses the unmap's median latency as the default metric when it varies, else the first that varies", () => {
    expect(defaultMetric(sweepTable(spec(), lines()))).toBe("latency.unmap.p50");
    const flat = lines().map((l) => (l.ok ? { ...l, metrics: { "a.b": 1, "latency.unmap.p50": 3, "c.d": l.index } } : l));
    expect(defaultMetric(sweepTable(spec(), flat))).toBe("c.d");
  });

  it("sorts by a metric or a field, numbers as numbers, stably, points without a value last", () => {
    const t = sweepTable(spec(), lines());
    expect(sortRows(t, "latency.unmap.p50").map((r) => r.point)).toEqual([3, 2, 1, 0]);
    // Equal keys keep the points' order; 256 < 2048 numerically (as text "2048" < "256").
    expect(sortRows(t, "smmu.iotlb.entries").map((r) => r.point)).toEqual([0, 1, 2, 3]);
    expect(sortRows(t, "smmu.iotlb.policy").map((r) => r.point)).toEqual([1, 3, 0, 2]);
    const withGap = sweepTable(spec(), [...lines().slice(0, 6), failed(6, P(2048, "lru"), "x"), failed(7, P(2048, "lru"), "y")]);
    expect(sortRows(withGap, "latency.unmap.p50").map((r) => r.point)).toEqual([2, 1, 0, 3]);
  });
});

describe("the terminal table", () => {
  it("shows each point's axis values, runs and the metrics that vary, in the asked order", () => {
    const out = formatSweepTable(spec(), lines(), { sortBy: "latency.unmap.p50" });
    expect(out[0]).toBe("Sweep iotlb: 4 points, 8 runs (2 repetitions each; a range is min–max over them), 1 failed");
    const header = out[1]!;
    expect(header).toMatch(/^#\s+smmu\.iotlb\.entries\s+smmu\.iotlb\.policy\s+runs\s+latency\.unmap\.p50$/);
    const body = out.slice(3, 7);
    expect(body[0]).toMatch(/^3\s+2048\s+lru\s+1\/2 ok\s+40\.0$/);
    expect(body[3]).toMatch(/^0\s+256\s+rr\s+2\s+105 \(100–110\)$/);
    expect(out).toContain("(1 metrics the same at every point not shown)");
    expect(out).toContain("Failed runs:");
    expect(out).toContain("  #3 smmu.iotlb.entries=2048 smmu.iotlb.policy=lru rep 1 (seed 11): ScenarioError: boom");
  });

  it("drops metric columns past the width and says so; names metrics when asked", () => {
    const many = lines().map((l) => (l.ok ? { ...l, metrics: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`metric.number.${i}`, l.index * (i + 1)])) } : l));
    const out = formatSweepTable(spec(), many, { width: 80 });
    expect(Math.max(...out.slice(1, 7).map((l) => l.length))).toBeLessThanOrEqual(80);
    expect(out.some((l) => /^\(\d+ more metrics not shown: too wide for 80 columns\)$/.test(l))).toBe(true);
    const named = formatSweepTable(spec(), many, { metrics: ["metric.number.3"], width: 80 });
    expect(named[1]).toMatch(/runs\s+metric\.number\.3$/);
  });

  it("shows at most maxRows points, after sorting, and counts the rest", () => {
    const out = formatSweepTable(spec(), lines(), { sortBy: "latency.unmap.p50", maxRows: 2 });
    expect(out.slice(3, 5).map((l) => l.split(/\s+/)[0])).toEqual(["3", "2"]);
    expect(out[5]).toBe("(2 more points not shown)");
    expect(() => formatSweepTable(spec(), lines(), { maxRows: 0 })).toThrow(/maxRows must be a positive integer/);
  });

  it("refuses an unknown metric or sort key, naming it and the nearest", () => {
    expect(() => formatSweepTable(spec(), lines(), { metrics: ["latency.unmap.p5O"] }))
      .toThrow(/metrics\[0\] is not a metric of these results \(did you mean 'latency\.unmap\.p50'\?\)/);
    expect(() => formatSweepTable(spec(), lines(), { sortBy: "smmu.iotlb.entrie" }))
      .toThrow(/sortBy must be a metric or a field path of the sweep \(did you mean 'smmu\.iotlb\.entries'\?\)/);
    expect(() => formatSweepTable(spec(), lines(), { width: 5 })).toThrow(/width must be an integer of at least 20/);
  });

  it("escapes control characters a user's values carry", () => {
    const hostile = spec({ name: "x\x1b[2Jy", axes: [{ path: "domains[0].type", values: ["a\nOutcome: ok"] }] });
    const out = formatSweepTable(hostile, [ok(0, { "domains[0].type": "a\nOutcome: ok" }, { m: 1 }, 0)]).join("\n");
    expect(out).not.toContain("\x1b");
    expect(out).toContain("x\\x1b[2Jy");
    expect(out).toContain("a\\nOutcome: ok");
  });
});

/** A minimal RFC 4180 reader: fields, quoted fields with doubled quotes and line breaks inside. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(field); field = ""; } else if (c === "\r" && text[i + 1] === "\n") { row.push(field); rows.push(row); row = []; field = ""; i++; } else field += c;
  }
  return rows;
}

describe("CSV", () => {
  it("quotes commas, quotes and line breaks, and leaves plain fields alone", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField(" padded")).toBe('" padded"');
  });

  it("has one row per run, in run order, with every field and metric, and reads back to the values", () => {
    const weird = 'rr, "fast"\nsecond';
    const ls = [ok(1, P(256, weird), { "latency.unmap.p50": 1.5 }, 1), ok(0, P(256, weird), { "latency.unmap.p50": 2 }, 0),
      failed(2, P(2048, "lru"), 'bad "value", at\nline 2', 0)];
    const rows = parseCsv(sweepCsv(spec(), ls));
    expect(rows[0]).toEqual(["index", "rep", "seed", "smmu.iotlb.entries", "smmu.iotlb.policy", "latency.unmap.p50", "ok", "error"]);
    expect(rows[1]).toEqual(["0", "0", "10", "256", weird, "2", "true", ""]);
    expect(rows[2]).toEqual(["1", "1", "11", "256", weird, "1.5", "true", ""]);
    expect(rows[3]).toEqual(["2", "0", "10", "2048", "lru", "", "false", 'ScenarioError: bad "value", at\nline 2']);
    expect(rows).toHaveLength(4);
  });
});

describe("the HTML page", () => {
  it("escapes the sweep's name, paths, values and errors wherever they appear", () => {
    const evil = '<img src=x onerror="alert(1)">';
    const s = spec({ name: `</title>${evil}`, axes: [{ path: `smmu.${evil}`, values: [`v${evil}`, "</script><script>alert(2)</script>"] }],
                     set: { [`set.${evil}`]: `x${evil}` } });
    const ls = [ok(0, { [`smmu.${evil}`]: `v${evil}` }, { [`m.${evil}`]: 1 }, 0),
      failed(2, { [`smmu.${evil}`]: "</script><script>alert(2)</script>" }, `err ${evil}`, 0)];
    const html = renderSweepHtml(s, ls, { uplot: UPLOT });
    expect(html).not.toContain(evil);
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    // Only the page's own three scripts end (the data, uPlot, the drawing script): a value's
    // "</script" inside the data is broken up, so it cannot end the data's script and start one.
    expect(html.match(/<\/script/gi)).toHaveLength(3);
    expect(html).not.toContain("<!--");
    // The data reads back unchanged.
    const json = /<script type="application\/json" id="sweep">([\s\S]*?)<\/script>/.exec(html)![1]!;
    const data = JSON.parse(json) as { dims: string[]; rows: { v: string[] }[] };
    expect(data.dims).toEqual([`smmu.${evil}`]);
    expect(data.rows.map((r) => r.v[0])).toEqual([`v${evil}`, "</script><script>alert(2)</script>"]);
  });

  it("keeps a huge sweep's page openable: the table's first 5000 points, the CSV linked beside it rather than embedded", () => {
    const pad = "x".repeat(2000);
    const many = Array.from({ length: 5001 }, (_, i) => ok(i, { label: `${pad}${i}` }, { m: i }, 0));
    const s = spec({ repeat: 1, axes: [{ path: "label", values: many.map((l) => l.values.label!) }] });
    const html = renderSweepHtml(s, many, { uplot: UPLOT, csvName: "big" });
    const body = /<table id="points">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(html)![1]!;
    expect(body.match(/<tr/g)).toHaveLength(5000);
    expect(html).toContain("The table shows the first 5000 of 5001 points (sorting sorts those)");
    expect(html).toContain('<a id="csv" href="big.csv">big.csv</a>, beside this page');
    expect(html).not.toContain("data:text/csv");
  });

  it("has the controls, the table with a header per column, the CSV link and the failures; says partial", () => {
    const html = renderSweepHtml(spec(), lines(), { uplot: UPLOT, partial: true, totalRuns: 10, csvName: "out/run 1" });
    expect(html).toContain('id="partial"');
    expect(html).toContain("8 of 10 runs finished, 1 failed");
    for (const id of ["metric", "xdim", "hrows", "hcols", "points", "failures", "csv"]) expect(html).toContain(`id="${id}"`);
    expect(html).toContain('<option value="0" selected>latency.unmap.p50</option>');
    expect(html).toContain("totals.ops (the same at every point)");
    const head = /<table id="points"><thead><tr>([\s\S]*?)<\/tr>/.exec(html)![1]!;
    expect([...head.matchAll(/<th[^>]*>([^<]*)<\/th>/g)].map((m) => m[1]))
      .toEqual(["#", "smmu.iotlb.entries", "smmu.iotlb.policy", "runs", "latency.unmap.p50"]);
    const href = /<a id="csv" download="out_run_1.csv" href="data:text\/csv;charset=utf-8,([^"]*)"/.exec(html)![1]!;
    expect(decodeURIComponent(href.replace(/&#39;/g, "'").replace(/&amp;/g, "&"))).toBe(sweepCsv(spec(), lines()));
    expect(html).toContain("ScenarioError: boom");
  });
});
