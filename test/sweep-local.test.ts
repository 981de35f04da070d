// The local sweep through the command line: a 200-point sweep of short runs; the same sweep
// interrupted (SIGINT once some lines are written) and resumed, running only what is missing;
// the same sweep in 4 shards, merged, equal to the local results run by run. And the runner's
// promise that lets all of that compare: a point's result does not depend on what its
// simulator ran before (runs share kept simulators), nor on the order.

import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  expandPoints, formatResultLine, loadSweep, readResults, resultsDifference, runPoint, runSweep, type SweepResultLine,
} from "../dist/node.js";
import { WorkerPool } from "../dist/index.js";
import { cli } from "./helpers.js";

const CLI = join(import.meta.dirname, "..", "dist", "cli.js");
const dir = mkdtempSync(join(tmpdir(), "sweep-local-"));
const at = (f: string) => join(dir, f);

// 5 × 5 × 2 points × 4 repetitions = 200 short runs (100–500 packets per CPU).
const SWEEP = {
  name: "grid",
  base: "nic-tx",
  axes: {
    "smmu.iotlb.entries": { from: 16, to: 256, factor: 2 },
    "workloads[0].ops": { from: 100, to: 500, step: 100 },
    "domains[0].type": ["DMA", "DMA-FQ"],
  },
  repeat: 4,
  keep: ["totals.ops", "totals.modelledNsPerOp", "latency.unmap.p99", "smmu.iotlbHitRate", "smmu.commands.CMD_SYNC"],
};
writeFileSync(at("grid.json"), JSON.stringify(SWEEP));

/** Each line's key once, and how many lines there were. */
function keysOf(lines: SweepResultLine[]): { unique: number; total: number } {
  return { unique: new Set(lines.map((l) => l.key)).size, total: lines.length };
}

/** Lines in a file so far (complete ones). */
function linesIn(file: string): number {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").length - 1 : 0;
}

describe("a 200-point sweep on this machine", { timeout: 120_000 }, () => {
  let local: SweepResultLine[] = [];

  it("runs every point once and writes one line each", async () => {
    const r = await cli("sweep", at("grid.json"), "--out", at("local"), "--jobs", "2");
    expect(r.out).toMatch(/sweep grid: 200 of 200 runs have a result: 200 ok, 0 failed/);
    expect(r.code).toBe(0);
    local = readResults(at("local.jsonl"));
    expect(keysOf(local)).toEqual({ unique: 200, total: 200 });
    expect(local.map((l) => l.index).sort((a, b) => a - b)).toEqual([...Array(200).keys()]);
    // The values reached the runs: ops per CPU × 2 CPUs.
    for (const l of local) expect(l.ok && l.metrics["totals.ops"]).toBe(2 * (l.values["workloads[0].ops"] as number));
  });

  it("refuses to overwrite the results without --resume", async () => {
    const r = await cli("sweep", at("grid.json"), "--out", at("local"));
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/local\.jsonl.* already exists: continue it with --resume/);
  });

  it("after an interruption, --resume runs only the missing points", async () => {
    const file = at("cut.jsonl");
    const child = spawn(process.execPath, [CLI, "sweep", at("grid.json"), "--out", at("cut"), "--jobs", "2"]);
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((done) => {
      const poll = setInterval(() => {
        if (linesIn(file) >= 30) { clearInterval(poll); child.kill("SIGINT"); }
      }, 20);
      child.on("exit", (c) => { clearInterval(poll); done(c); });
    });
    expect(code).toBe(130);
    const kept = readResults(file);
    expect(kept.length).toBeGreaterThanOrEqual(30);
    expect(kept.length).toBeLessThan(200);
    expect(stderr).toMatch(new RegExp(`${kept.length} of 200 runs kept in .*cut\\.jsonl; the same command with --resume runs the other ${200 - kept.length}`));

    // As if the kill had come in the middle of a write: a torn last line.
    appendFileSync(file, formatResultLine(kept[0]!).slice(0, 50));
    const r = await cli("sweep", at("grid.json"), "--out", at("cut"), "--resume");
    expect(r.out).toMatch(/warning: .*cut\.jsonl:\d+: a torn last line \(50 bytes/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`200 of 200 runs have a result \\(${kept.length} from before, ${200 - kept.length} now\\)`));
    const all = readResults(file);
    expect(keysOf(all)).toEqual({ unique: 200, total: 200 });
    expect(all.slice(0, kept.length)).toEqual(kept); // the kept lines untouched
    expect(resultsDifference(all, local)).toBeUndefined();
  });

  it("in 4 shards, merged, equals the local results", async () => {
    mkdirSync(at("shards"));
    for (const pair of [[0, 1], [2, 3]]) {
      const runs = await Promise.all(pair.map((i) => cli("sweep", at("grid.json"), "--shard", `${i}/4`, "--jobs", "1",
        "--out", at(`shards/part${i}`))));
      for (const r of runs) expect(r.out).toMatch(/50 of 50 runs have a result/);
    }
    const parts = [0, 1, 2, 3].map((i) => readResults(at(`shards/part${i}.jsonl`)));
    for (const [i, part] of parts.entries()) {
      expect(part.every((l) => l.index % 4 === i && l.ranOn === `shard ${i}/4`)).toBe(true);
    }
    const partial = await cli("sweep", "merge", at("partial.jsonl"), at("shards/part0.jsonl"), at("shards/part2.jsonl"));
    expect(partial.code).toBe(1);
    expect(partial.out).toMatch(/missing 100 of 200 runs: 1, 3, 5, /);
    const r = await cli("sweep", "merge", at("merged.jsonl"), ...[0, 1, 2, 3, 0].map((i) => at(`shards/part${i}.jsonl`)));
    expect(r.out).toMatch(/merged 200 results of sweep .* from 5 files .*; 50 duplicates kept once/);
    expect(r.out).toMatch(/complete: all 200 runs/);
    expect(r.code).toBe(0);
    const merged = readResults(at("merged.jsonl"));
    expect(merged.map((l) => l.index)).toEqual([...Array(200).keys()]);
    expect(resultsDifference(merged, local)).toBeUndefined();
    // And a result that differs is seen: the comparison can fail.
    const bent = merged.map((l, i) => (i === 7 && l.ok ? { ...l, metrics: { ...l.metrics, "totals.ops": -1 } } : l));
    expect(resultsDifference(bent, local)).toMatch(/run 7 .* differs/);
  });

  it("refuses to resume another sweep's file, and a directory as --out", async () => {
    writeFileSync(at("other.json"), JSON.stringify({ ...SWEEP, repeat: 3 }));
    const r = await cli("sweep", at("other.json"), "--out", at("local"), "--resume");
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/local\.jsonl holds results of another sweep/);
    writeFileSync(at("typo.json"), JSON.stringify({ ...SWEEP, axes: { "smmu.iotlb.entrys": [16] } }));
    const t = await cli("sweep", at("typo.json"), "--dry-run");
    expect(t.code).toBe(2);
    expect(t.out).toMatch(/^iommu-sim: bad sweep: .*typo\.json: axes\["smmu\.iotlb\.entrys"\]: .*did you mean smmu\.iotlb\.entries\?/);
    const nowhere = await cli("sweep", at("grid.json"), "--out", at("no/such/folder/r"));
    expect(nowhere.code).toBe(2);
    expect(nowhere.out).toMatch(/^iommu-sim: --out must be in a folder that exists \(.*no\/such\/folder does not: create it first\)/);
    const m = await cli("sweep", "merge", at("no/such/m.jsonl"), at("local.jsonl"));
    expect(m.out).toMatch(/^iommu-sim: OUT must be in a folder that exists \(.*no\/such does not: create it first\), got ".*m\.jsonl"/);
    const d = await cli("sweep", at("grid.json"), "--out", `${dir}/`);
    expect(d.code).toBe(2);
    expect(d.out).toMatch(/--out must be the base of the sweep's files, not a directory/);
  });

  it("lists a shard's points with --dry-run", async () => {
    const r = await cli("sweep", at("grid.json"), "--dry-run", "--shard", "3/4", "--json");
    const listed = JSON.parse(r.out) as { runs: number; points: { index: number; seed: number }[] };
    expect(listed.runs).toBe(200);
    expect(listed.points.map((p) => p.index)).toEqual(Array.from({ length: 50 }, (_, k) => 4 * k + 3));
    expect(listed.points.slice(0, 4).map((p) => p.seed)).toEqual([4, 4, 4, 4]); // index 3, 7, 11, 15: repetition 3
  });
});

describe("a run that fails", () => {
  it("is a failed line, the other runs go on, and the sweep exits 2", async () => {
    writeFileSync(at("failing.json"), JSON.stringify({
      base: "nic-tx", set: { "workloads[0].ops": 300 },
      points: [{}, { events: [{ at: { ops: 10 }, cpu: 0, action: "fail-worker", mode: "throw" }] }, { "smmu.iotlb.entries": 64 }],
    }));
    const r = await cli("sweep", at("failing.json"), "--out", at("failing"), "--jobs", "1");
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/3 of 3 runs have a result: 2 ok, 1 failed/);
    expect(r.out).toMatch(/run 1 failed: RunError: /);
    expect(readResults(at("failing.jsonl")).map((l) => [l.index, l.ok])).toEqual([[0, true], [1, false], [2, true]]);
    const j = await cli("sweep", at("failing.json"), "--out", at("failing"), "--resume", "--json");
    expect(JSON.parse(j.out)).toMatchObject({ resultsFile: at("failing.jsonl"), total: 3, resumed: 3, ran: 0, failed: 1, interrupted: false });
    expect(j.code).toBe(2);
  });
});

describe("a progress callback that throws with the first result", () => {
  it("stops the sweep, which rejects with its error; what was written is written once", async () => {
    const spec = loadSweep({ base: "nic-tx", set: { "workloads[0].ops": 200 }, axes: { "smmu.iotlb.entries": [16, 32, 64, 128] } });
    const blew = new Error("progress callback blew up");
    let calls = 0;
    // Its second call comes with the first result: the sweep stops there.
    const run = runSweep(spec, { jobs: 1, out: at("callback.jsonl"), onProgress: () => { if (++calls === 2) throw blew; } });
    await expect(run).rejects.toBe(blew);
    expect(calls).toBe(2);
    // The run going on then may have finished before it heard: kept too, but nothing twice, and no run started after.
    const { unique, total } = keysOf(readResults(at("callback.jsonl")));
    expect(unique).toBe(total);
    expect(total).toBeLessThanOrEqual(2);
  });
});

describe("runs on kept simulators", () => {
  it("give each point the result a fresh simulator gives, whatever ran before", { timeout: 120_000 }, async () => {
    // Profiles and machine presets change between runs of one simulator; the last point has no
    // machine, after runs that set a machine's CPU costs.
    const spec = loadSweep({
      base: "nic-tx",
      axes: { profile: ["7.1", "5.15"], machine: ["kunpeng-920", "morello"], "domains[0].type": ["DMA", "DMA-FQ"] },
      points: [{ "smmu.iotlb.entries": 64 }],
      set: { "workloads[0].ops": 300 },
    });
    const kept = await runSweep(spec, { jobs: 1 });
    expect(kept.lines).toHaveLength(9);
    const fresh: SweepResultLine[] = [];
    for (const p of expandPoints(spec).reverse()) fresh.push(await runPoint(spec, p, { ranOn: "fresh" }));
    expect(resultsDifference(kept.lines, fresh)).toBeUndefined();
    // The machine's costs reached the runs (or the comparison above would prove little).
    const nsPerOp = (i: number) => { const l = kept.lines[i]!; return l.ok ? l.metrics["totals.modelledNsPerOp"] : NaN; };
    expect(nsPerOp(0)).not.toBe(nsPerOp(2));
    expect(nsPerOp(8)).not.toBe(nsPerOp(0));
  });
});

describe("a callback of the caller's that throws", () => {
  // 4 short runs, so that a run is still going when the first result is written.
  const spec = loadSweep({ base: "nic-tx", axes: { "smmu.iotlb.entries": [256, 2048] }, repeat: 2, set: { "workloads[0].ops": 300 } });
  const boom = () => { throw new Error("the caller's callback blew up"); };

  it.each([1, 2])("onResult (jobs %i): the sweep rejects with its error, each line written once, every run stopped and its simulator closed", async (jobs) => {
    const out = at(`on-result-${jobs}.jsonl`);
    await expect(runSweep(spec, { jobs, out, onResult: boom })).rejects.toThrow("the caller's callback blew up");
    // Closed by the time it rejects: no run goes on in the background on a worker nobody closes.
    expect(WorkerPool.liveWorkers).toBe(0);
    const lines = readResults(out);
    expect(keysOf(lines)).toEqual({ unique: lines.length, total: lines.length });
    if (jobs === 1) expect(lines).toHaveLength(1); // the first result, and nothing run after it
  });

  /** The descriptors this process has open on `file` (Linux's /proc). */
  const openOn = (file: string) => readdirSync("/proc/self/fd").filter((fd) => {
    try { return readlinkSync(`/proc/self/fd/${fd}`) === file; } catch { return false; }
  });

  it.skipIf(!existsSync("/proc/self/fd"))("onProgress, on its first call: the sweep rejects with its error and closes the results file", async () => {
    const out = at("on-progress.jsonl");
    await expect(runSweep(spec, { jobs: 1, out, onProgress: boom })).rejects.toThrow("the caller's callback blew up");
    expect(openOn(out)).toEqual([]);
    expect(WorkerPool.liveWorkers).toBe(0);
  });
});
