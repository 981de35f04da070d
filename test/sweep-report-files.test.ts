// The sweep report's files: a results file read back into BASE.html and BASE.csv (partial when
// runs are missing), the sweep file checked against the results' sweep, and the refusals of a
// file with no results or with several sweeps' results.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatResultLine } from "../src/sweep/results.js";
import { reportResultsFile } from "../src/sweep/report-cli.js";
import { loadSweep } from "../src/sweep/spec.js";
import { countRuns, expandPoints, pointScenario } from "../src/sweep/points.js";
import { runScenario, type RunScenarioInput } from "../dist/index.js";
import type { AxisValue, SweepResultLine } from "../src/sweep/types.js";

const TMP = mkdtempSync(join(tmpdir(), "iommu-sim-sweep-files-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const SWEEP = { base: "nic-tx", axes: { "smmu.iotlb.entries": [256, 2048], "smmu.iotlb.policy": ["rr", "lru"] }, repeat: 2 };

function line(sweep: string, index: number, values: Record<string, AxisValue>, unmap: number, runs = 8): SweepResultLine {
  return { sweep, runs, index, key: `k${index}`, values, rep: index % 2, seed: 1 + (index % 2), versions: { iommuSim: "0.1.0", node: "v20.20.0" },
           wallMs: 3, ranOn: "local", ok: true, metrics: { "latency.unmap.p50": unmap } };
}

function resultsFile(name: string, lines: SweepResultLine[]): string {
  const path = join(TMP, `${name}.jsonl`);
  writeFileSync(path, lines.map(formatResultLine).join(""));
  return path;
}

const V = (entries: number, policy: string) => ({ "smmu.iotlb.entries": entries, "smmu.iotlb.policy": policy });

describe("sweep report from a results file", () => {
  const spec = loadSweep(SWEEP);
  const all = [
    line(spec.id, 0, V(256, "rr"), 100), line(spec.id, 1, V(256, "rr"), 120), line(spec.id, 2, V(256, "lru"), 90),
    line(spec.id, 3, V(256, "lru"), 90), line(spec.id, 4, V(2048, "rr"), 60), line(spec.id, 5, V(2048, "rr"), 64),
    line(spec.id, 6, V(2048, "lru"), 40), line(spec.id, 7, V(2048, "lru"), 42),
  ];

  it("writes FILE.html and FILE.csv beside the results and prints the table", () => {
    const file = resultsFile("whole", all);
    const out = reportResultsFile(file, {});
    expect(out.files).toEqual([join(TMP, "whole.html"), join(TMP, "whole.csv")]);
    expect(out.missing).toBe(0);
    expect(out.lines[0]).toBe("Sweep whole: 4 points, 8 runs (2 repetitions each; a range is min–max over them)");
    expect(out.lines.some((l) => /^0\s+256\s+rr\s+2\s+110 \(100–120\)$/.test(l))).toBe(true);
    const html = readFileSync(join(TMP, "whole.html"), "utf8");
    expect(html).toContain("8 of 8 runs finished");
    expect(html).not.toContain('id="partial"');
    expect(readFileSync(join(TMP, "whole.csv"), "utf8").trim().split("\r\n")).toHaveLength(9);
  });

  it("marks the report partial when runs are missing, and says how many have results", () => {
    const file = resultsFile("half", all.slice(0, 5));
    const out = reportResultsFile(file, { base: join(TMP, "half-report") });
    expect(out.missing).toBe(3);
    expect(out.lines.at(-1)).toBe("Partial: 5 of 8 runs have results.");
    expect(readFileSync(join(TMP, "half-report.html"), "utf8")).toContain('id="partial"');
  });

  it("takes the sweep file the results are of (its name, base and axes in the page), and refuses another", () => {
    const sweepFile = join(TMP, "iotlb.json");
    writeFileSync(sweepFile, JSON.stringify(SWEEP));
    const file = resultsFile("named", all);
    reportResultsFile(file, { sweep: sweepFile });
    const html = readFileSync(join(TMP, "named.html"), "utf8");
    expect(html).toContain("Sweep iotlb</h1>");
    expect(html).toContain("<dt>base scenario</dt><dd>nic-tx</dd>");
    const other = join(TMP, "other.json");
    writeFileSync(other, JSON.stringify({ ...SWEEP, repeat: 3 }));
    expect(() => reportResultsFile(file, { sweep: other })).toThrow(/holds the results of sweep \w+, but .*other\.json is sweep \w+/);
  });

  it("refuses a file with no results, or with the results of two sweeps", () => {
    expect(() => reportResultsFile(resultsFile("empty", []), {})).toThrow(/empty\.jsonl holds no results: nothing to report/);
    const mixed = resultsFile("mixed", [all[0]!, line("0123456789abcdef", 1, V(256, "rr"), 1)]);
    expect(() => reportResultsFile(mixed, {})).toThrow(/mixes the results of 2 sweeps/);
    expect(existsSync(join(TMP, "mixed.html"))).toBe(false);
  });
});

/** The fenced block after `<!-- readme-test: KIND -->` in the README. */
function readmeBlock(kind: string): string {
  const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");
  const m = new RegExp(`<!-- readme-test: ${kind} -->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!m) throw new Error(`the README has no block marked readme-test: ${kind}`);
  return m[1]!;
}

describe("the README's Sweeps section", () => {
  it("gives a sweep file that loads as the 8 runs it says", () => {
    const spec = loadSweep(JSON.parse(readmeBlock("sweep-file")));
    expect(countRuns(spec)).toBe(8);
    expect(spec.set).toEqual({ "workloads[0].ops": 20000 });
  });

  it("gives a sweep file whose every axis moves what it measures (an example that varies nothing teaches nothing)", async () => {
    const spec = loadSweep(JSON.parse(readmeBlock("sweep-file")));
    const unmapNs = new Map<string, number>();
    for (const point of expandPoints(spec).filter((p) => p.rep === 0)) {
      const sc = pointScenario(spec, point) as RunScenarioInput;
      for (const w of sc.workloads) w.ops = 2000; // the same points, smaller
      unmapNs.set(JSON.stringify(point.values), (await runScenario(sc, { workers: 1 })).latency.unmap.mean);
    }
    for (const axis of spec.axes) {
      // Each pair of points that differ in this axis alone differs in the unmap's mean latency.
      const others = spec.axes.filter((a) => a !== axis);
      for (const point of expandPoints(spec).filter((p) => p.rep === 0 && p.values[axis.path] === axis.values[0])) {
        const moved = { ...point.values, [axis.path]: axis.values[1]! };
        expect(unmapNs.get(JSON.stringify(moved)), `${axis.path} with ${others.map((a) => a.path)} fixed`)
          .not.toBe(unmapNs.get(JSON.stringify(point.values)));
      }
    }
  });

  it("gives an Indexed Job whose shards are 0..N-1 of N, each with its own results file, resumed on a retry", () => {
    const job = readmeBlock("k8s-job");
    const n = Number(/^\s+completions: (\d+)/m.exec(job)?.[1]);
    expect(n).toBeGreaterThan(1);
    expect(job).toMatch(/^\s+completionMode: Indexed$/m);
    expect(job).toMatch(/^\s+parallelism: \d+/m);
    expect(job).toMatch(/^\s+restartPolicy: Never$/m);
    expect(job).toContain(`--shard "\${JOB_COMPLETION_INDEX}/${n}"`);
    expect(job).toContain('--out "/results/unmap-${JOB_COMPLETION_INDEX}"');
    expect(job).toContain("--resume");
    // The results volume is mounted where --out writes; the sweep file where the command reads it.
    expect(job).toMatch(/mountPath: \/results\b/);
    expect(job).toMatch(/iommu-sim sweep \/sweep\/unmap\.json/);
    expect(job).toMatch(/mountPath: \/sweep\b/);
  });
});
