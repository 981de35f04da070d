// One run of a sweep and the results file: a point's line (metrics, report, versions), a run
// that fails as a failed line, the same point run twice giving equal results, reading with a
// torn last line, and merging (duplicates, conflicts, other sweeps and versions refused).

import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import {
  appendResult, DEFAULT_SWEEP_METRICS, expandPoints, formatResultLine, loadSweep, mergeResults, parseResultLine,
  readResults, resultsDifference, resultsEqual, runPoint, runSweep, type SweepResultLine,
} from "../dist/node.js";
import { VERSION } from "../dist/index.js";

const spec = loadSweep({ base: "nic-tx", axes: { "domains[0].type": ["DMA", "DMA-FQ"] }, set: { "workloads[0].ops": 300 } });
const points = expandPoints(spec);

describe("runPoint", async () => {
  const strict = await runPoint(spec, points[0]!, { ranOn: "local" });
  const lazy = await runPoint(spec, points[1]!, { ranOn: "elsewhere" });

  it("returns an ok line with the default metrics, the report and the versions", () => {
    expect(strict.ok).toBe(true);
    if (!strict.ok) return;
    expect(Object.keys(strict.metrics).sort()).toEqual([...DEFAULT_SWEEP_METRICS].sort());
    expect(strict.metrics["totals.ops"]).toBe(600); // 300 per CPU, two CPUs
    expect(strict.versions).toEqual({ iommuSim: VERSION, node: process.version });
    expect((strict.report as { scenario: { workers: number } }).scenario.workers).toBe(1);
    expect(strict).toMatchObject({ sweep: spec.id, runs: 2, index: 0, key: points[0]!.key, seed: 1, ranOn: "local" });
    // Strict unmaps sync every time; lazy ones leave it to the flush queue.
    expect(strict.metrics["smmu.commands.CMD_SYNC"]).toBeGreaterThan(lazy.ok ? lazy.metrics["smmu.commands.CMD_SYNC"]! : Infinity);
  });

  it("gives the same result for the same point, wherever and however long it ran", async () => {
    const again = await runPoint(spec, points[0]!, { ranOn: "worker-7" });
    expect(resultsEqual([strict], [again])).toBe(true);
    expect(resultsDifference([strict], [lazy])).toMatch(/only in the first set/);
  });

  it("keeps only the metrics asked for", async () => {
    const lean = loadSweep({ base: "nic-tx", set: { "workloads[0].ops": 100 }, keep: ["totals.ops", "perCpu[1].unmaps"] });
    const line = await runPoint(lean, expandPoints(lean)[0]!, { ranOn: "local" });
    expect(line).toMatchObject({ ok: true, metrics: { "totals.ops": 200, "perCpu[1].unmaps": 100 } });
    expect(line.ok && line.report).toBeUndefined();
  });

  it("returns a failed line when the run fails", async () => {
    const failing = loadSweep({ base: "nic-tx", set: {
      "workloads[0].ops": 1000, events: [{ at: { ops: 10 }, cpu: 0, action: "fail-worker", mode: "throw" }] } });
    const line = await runPoint(failing, expandPoints(failing)[0]!, { ranOn: "local" });
    expect(line.ok).toBe(false);
    if (!line.ok) expect(line.error).toMatchObject({ name: "RunError" });
  });

  it("throws, writing nothing, when the sweep's signal stops it", async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(runPoint(spec, points[0]!, { ranOn: "local", signal: abort.signal })).rejects.toThrow(/the sweep was stopped/);
  });

  it("runSweep refuses an unknown option and a shard past the count, before running anything", async () => {
    await expect(runSweep(spec, { jbos: 2 } as never)).rejects.toThrow(/runSweep: jbos is not a known option \(did you mean 'jobs'\?\)/);
    await expect(runSweep(spec, { shard: { index: 4, count: 4 } })).rejects.toThrow(/shard\.index must be an integer in \[0, 3\]/);
  });

  describe("the results file", () => {
    const dir = mkdtempSync(join(tmpdir(), "sweep-results-"));

    it("round-trips lines and tolerates a torn last line with a warning", () => {
      const file = join(dir, "r.jsonl");
      appendResult(file, strict);
      appendResult(file, lazy);
      appendFileSync(file, formatResultLine(strict).slice(0, 40));
      const warnings: string[] = [];
      const lines = readResults(file, { onWarning: (m) => warnings.push(m) });
      expect(lines).toEqual([strict, lazy]);
      expect(warnings).toEqual([expect.stringMatching(/r\.jsonl:3: a torn last line/)]);
      // Without onWarning the line is left out all the same, and nothing goes to the process's warnings.
      const emitted = vi.spyOn(process, "emitWarning");
      try {
        expect(readResults(file)).toEqual([strict, lazy]);
        expect(emitted).not.toHaveBeenCalled();
      } finally {
        emitted.mockRestore();
      }
    });

    it("refuses a damaged line, naming file:line and the field", () => {
      const file = join(dir, "bad.jsonl");
      const { key: _k, ...noKey } = strict;
      writeFileSync(file, formatResultLine(strict) + JSON.stringify(noKey) + "\n" + formatResultLine(lazy));
      expect(() => readResults(file)).toThrow(/bad\.jsonl:2: key: required field missing/);
      expect(() => parseResultLine('{"ok": 1}', "x:9")).toThrow(/^x:9: /);
      expect(readFileSync(file, "utf8").split("\n")).toHaveLength(4);
    });
  });

  describe("merging", () => {
    it("keeps identical duplicates once, in the sweep's order", () => {
      const r = mergeResults([[lazy, strict], [{ ...strict, wallMs: 1, ranOn: "w2" }]]);
      expect(r.lines.map((l) => l.index)).toEqual([0, 1]);
      expect(r.duplicates).toBe(1);
    });

    it("refuses conflicting duplicates, other sweeps and other versions, naming both", () => {
      const other = strict.ok ? { ...strict, metrics: { ...strict.metrics, "totals.ops": 1 } } : strict;
      expect(() => mergeResults([[strict], [other]], ["a.jsonl", "b.jsonl"])).toThrow(/run 0 .* two different results: one in a\.jsonl, another in b\.jsonl/);
      expect(() => mergeResults([[strict], [{ ...lazy, sweep: "feedbeef" }]], ["a.jsonl", "b.jsonl"]))
        .toThrow(new RegExp(`two different sweeps: ${spec.id} \\(a\\.jsonl\\) and feedbeef \\(b\\.jsonl\\)`));
      const old: SweepResultLine = { ...lazy, versions: { iommuSim: "0.0.9", node: process.version } };
      expect(() => mergeResults([[strict, old]])).toThrow(/different versions: iommu-sim .* \(set 1\) and iommu-sim 0\.0\.9/);
    });
  });
});
