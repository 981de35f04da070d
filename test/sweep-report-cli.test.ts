// The sweep report through the built command line: a sweep with --out ends with the table of
// points and BASE.html + BASE.csv; a sweep stopped by Ctrl-C writes them from what finished,
// marked partial; `sweep merge` reports the merged file; `sweep report` makes the report again
// (with its own --out, --metrics, --sort-by), and its bad flags are named as typed.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "./helpers.js";

const CLI = join(import.meta.dirname, "..", "dist", "cli.js");
const dir = mkdtempSync(join(tmpdir(), "sweep-report-cli-"));
const at = (f: string) => join(dir, f);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 2 × 2 points × 2 repetitions of very short runs.
writeFileSync(at("pkt.json"), JSON.stringify({
  name: "pkt", base: "nic-tx", repeat: 2, set: { "workloads[0].ops": 150 },
  axes: { "workloads[0].maxBytes": [1514, 16384], "domains[0].type": ["DMA", "DMA-FQ"] },
}));

function csvRows(file: string): string[] {
  return readFileSync(file, "utf8").trim().split("\r\n");
}

describe("the sweep report on the command line", { timeout: 120_000 }, () => {
  it("ends a sweep with the table of points and writes BASE.html and BASE.csv", async () => {
    const r = await cli("sweep", at("pkt.json"), "--out", at("pkt"), "--jobs", "2");
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("Sweep pkt: 4 points, 8 runs (2 repetitions each; a range is min–max over them)");
    expect(r.out).toMatch(/^#\s+workloads\[0\]\.maxBytes\s+domains\[0\]\.type\s+runs\s+latency\.unmap\.p50/m);
    expect(r.out).toMatch(/^3\s+16384\s+DMA-FQ\s+2\s/m);
    expect(r.out).toContain(`report: ${at("pkt.html")}, ${at("pkt.csv")}`);
    const html = readFileSync(at("pkt.html"), "utf8");
    expect(html).toContain("8 of 8 runs finished");
    expect(html).toContain("<dt>base scenario</dt><dd>nic-tx</dd>");
    expect(csvRows(at("pkt.csv"))).toHaveLength(9);
  });

  it("makes the report again from the results, with its own table options", async () => {
    const r = await cli("sweep", "report", at("pkt.jsonl"), "--out", at("again.html"), "--sort-by", "latency.unmap.p50",
      "--metrics", "latency.unmap.p50,smmu.iotlbHitRate");
    expect(r.code, r.out).toBe(0);
    const rows = r.out.split("\n").filter((l) => /^\d\s/.test(l));
    expect(rows.map((l) => l.split(/\s+/)[2])).toEqual(["DMA-FQ", "DMA-FQ", "DMA", "DMA"]);
    expect(r.out).toMatch(/runs\s+latency\.unmap\.p50\s+smmu\.iotlbHitRate\n/);
    expect(existsSync(at("again.html")) && existsSync(at("again.csv"))).toBe(true);
    const wrongSort = await cli("sweep", "report", at("pkt.jsonl"), "--sort-by", "latency.unmap.p5");
    expect(wrongSort.code).toBe(2);
    expect(wrongSort.out).toMatch(/--sort-by must be a metric or a field path of the sweep \(did you mean 'latency\.unmap\.p50'\?\)/);
    const wrongMetric = await cli("sweep", "report", at("pkt.jsonl"), "--metrics", "smmu.iotlbHitRat");
    expect(wrongMetric.code).toBe(2);
    expect(wrongMetric.out).toMatch(/--metrics entry 1 \("smmu\.iotlbHitRat"\) is not a metric of these results \(did you mean 'smmu\.iotlbHitRate'\?\)/);
    const second = await cli("sweep", "report", at("pkt.jsonl"), "--metrics", "totals.ops,foo");
    expect(second.code).toBe(2);
    expect(second.out).toMatch(/^iommu-sim: --metrics entry 2 \("foo"\) is not a metric of these results; /);
    // An empty entry is refused, not dropped: a later entry's number stays the one typed.
    const empty = await cli("sweep", "report", at("pkt.jsonl"), "--metrics", "totals.ops,,foo");
    expect(empty.code).toBe(2);
    expect(empty.out).toMatch(/^iommu-sim: --metrics must be metric paths separated by commas, none empty \(entry 2 is\), got "totals\.ops,,foo"/);
    const missing = await cli("sweep", "report", at("nothing.jsonl"));
    expect(missing.code).toBe(2);
    expect(missing.out).toMatch(/cannot read the results file .*nothing\.jsonl: no such file or directory \(ENOENT\)/);
  });

  it("tells a torn last line as its own warning line, not as a Node process warning", async () => {
    const first = readFileSync(at("pkt.jsonl"), "utf8").split("\n")[0]!;
    writeFileSync(at("torn.jsonl"), `${first}\n${first.slice(0, 30)}`);
    const r = await cli("sweep", "report", at("torn.jsonl"));
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^iommu-sim: warning: .*torn\.jsonl:2: a torn last line \(30 bytes without a newline: .*\) was left out/m);
    expect(r.out).not.toMatch(/\(node:\d+\)|--trace-warnings/);
    expect(r.out).toContain(`report: ${at("torn.html")}, ${at("torn.csv")}`);
  });

  it("reports the merged shards, and leaves a shard without a report of its own", async () => {
    for (const i of [0, 1]) {
      const r = await cli("sweep", at("pkt.json"), "--shard", `${i}/2`, "--out", at(`shard-${i}`), "--jobs", "1");
      expect(r.code, r.out).toBe(0);
      expect(r.out).not.toContain("report:");
      expect(existsSync(at(`shard-${i}.html`))).toBe(false);
    }
    const m = await cli("sweep", "merge", at("merged.jsonl"), at("shard-0.jsonl"), at("shard-1.jsonl"));
    expect(m.code, m.out).toBe(0);
    expect(m.out).toContain("Sweep merged: 4 points, 8 runs");
    expect(csvRows(at("merged.csv")).slice(1).map((l) => l.split(",").slice(3, 5).join(" ")))
      .toEqual(csvRows(at("pkt.csv")).slice(1).map((l) => l.split(",").slice(3, 5).join(" ")));
    expect(readFileSync(at("merged.html"), "utf8")).toContain("8 of 8 runs finished");
  });

  it("merge refuses an OUT that exists (its results would be lost) and inputs that hold no results", async () => {
    writeFileSync(at("kept.jsonl"), readFileSync(at("shard-0.jsonl")));
    const before = readFileSync(at("kept.jsonl"), "utf8");
    const over = await cli("sweep", "merge", at("kept.jsonl"), at("shard-1.jsonl"));
    expect(over.code).toBe(2);
    expect(over.out).toMatch(/^iommu-sim: .*kept\.jsonl already exists: sweep merge writes a new file and does not replace one; name another OUT, or remove .*kept\.jsonl first/);
    expect(readFileSync(at("kept.jsonl"), "utf8")).toBe(before);
    writeFileSync(at("empty.jsonl"), "");
    const empty = await cli("sweep", "merge", at("none.jsonl"), at("empty.jsonl"));
    expect(empty.code).toBe(2);
    expect(empty.out).toMatch(/^iommu-sim: .*empty\.jsonl holds no results: nothing to merge/);
    expect(existsSync(at("none.jsonl"))).toBe(false);
    // An empty shard beside others (more shards than runs) is merged as before.
    const withEmpty = await cli("sweep", "merge", at("plus-empty.jsonl"), at("shard-0.jsonl"), at("shard-1.jsonl"), at("empty.jsonl"));
    expect(withEmpty.code, withEmpty.out).toBe(0);
  });

  it("writes the report of what finished, marked partial, when Ctrl-C stops the sweep", async () => {
    writeFileSync(at("long.json"), JSON.stringify({
      name: "long", base: "nic-tx", repeat: 20, set: { "workloads[0].ops": 150 }, axes: { "domains[0].type": ["DMA", "DMA-FQ"] },
    }));
    const child = spawn(process.execPath, [CLI, "sweep", at("long.json"), "--out", at("long"), "--jobs", "1"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => { out += String(d); });
    child.stderr.on("data", (d) => { out += String(d); });
    const lines = () => (existsSync(at("long.jsonl")) ? readFileSync(at("long.jsonl"), "utf8").split("\n").length - 1 : 0);
    while (lines() < 3) await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    expect(code, out).toBe(130);
    const kept = lines();
    expect(kept).toBeLessThan(40);
    const html = readFileSync(at("long.html"), "utf8");
    expect(html).toContain('id="partial"');
    expect(html).toContain(`${kept} of 40 runs finished`);
    expect(out).toContain(`Partial: ${kept} of 40 runs have results.`);
  });
});
