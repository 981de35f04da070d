// Sweep files: the issue's example as written, every refusal naming its field path or point,
// ranges, field paths, the points' order and seeds, and shards as a partition of the runs.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  expandPoints, getPath, inShard, loadSweep, parseFieldPath, parseShard, pointScenario, setPath, type SweepSpecInput,
} from "../dist/node.js";
import { parseRunScenario } from "../dist/index.js";
import { cli } from "./helpers.js";

const ISSUE_EXAMPLE: SweepSpecInput = {
  base: "nic-tx",
  axes: { "smmu.iotlb.entries": [256, 2048], "smmu.iotlb.policy": ["rr", "lru"] },
  repeat: 2,
  set: { "workloads[0].ops": 20000 },
};

/** The message loadSweep throws for `input`. */
function refusal(input: unknown): string {
  try {
    loadSweep(input as SweepSpecInput);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("loadSweep accepted it");
}

describe("the issue's example", () => {
  const spec = loadSweep(ISSUE_EXAMPLE);
  const points = expandPoints(spec);

  it("gives exactly 8 runs, first axis slowest, repetitions innermost with seed + rep", () => {
    expect(points.map((p) => [p.values["smmu.iotlb.entries"], p.values["smmu.iotlb.policy"], p.rep, p.seed])).toEqual([
      [256, "rr", 0, 1], [256, "rr", 1, 2], [256, "lru", 0, 1], [256, "lru", 1, 2],
      [2048, "rr", 0, 1], [2048, "rr", 1, 2], [2048, "lru", 0, 1], [2048, "lru", 1, 2],
    ]);
    expect(points.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(points.map((p) => p.key)).size).toBe(8);
  });

  it("builds each point's scenario from the base, set and the values, on one worker", () => {
    const sc = parseRunScenario(pointScenario(spec, points[5]!));
    expect(sc.smmu.iotlb).toEqual({ entries: 2048, policy: "rr" });
    expect(sc.workloads[0]!.ops).toBe(20000);
    expect(sc.seed).toBe(2);
    expect(sc.workers).toBe(1);
    expect(sc.name).toBe("nic-tx");
  });

  it("has an id that follows what decides the results, not the key order or the name", () => {
    const reordered = loadSweep({ set: ISSUE_EXAMPLE.set, repeat: 2, axes: ISSUE_EXAMPLE.axes, base: "nic-tx", name: "other" });
    expect(reordered.id).toBe(spec.id);
    expect(expandPoints(reordered).map((p) => p.key)).toEqual(points.map((p) => p.key));
    const changed = loadSweep({ ...ISSUE_EXAMPLE, set: { "workloads[0].ops": 20001 } });
    expect(changed.id).not.toBe(spec.id);
    expect(expandPoints(changed)[0]!.key).not.toBe(points[0]!.key);
  });
});

describe("ranges, explicit points, files", () => {
  it("expands step and factor ranges, `to` included", () => {
    const spec = loadSweep({ base: "nic-tx", axes: { "smmu.iotlb.entries": { from: 16, to: 256, factor: 2 },
                                                   "workloads[0].ops": { from: 100, to: 300, step: 100 } } });
    expect(spec.axes.map((a) => a.values)).toEqual([[16, 32, 64, 128, 256], [100, 200, 300]]);
    expect(expandPoints(spec)).toHaveLength(15);
  });

  it("adds explicit points after the crossed axes", () => {
    const spec = loadSweep({ base: "nic-tx", axes: { cpus: [2, 4] }, points: [{ "domains[0].type": "DMA", profile: "6.12" }] });
    expect(expandPoints(spec).map((p) => p.values)).toEqual([{ cpus: 2 }, { cpus: 4 }, { "domains[0].type": "DMA", profile: "6.12" }]);
  });

  it("reads a sweep file with a base scenario file beside it", () => {
    const dir = mkdtempSync(join(tmpdir(), "sweep-spec-"));
    writeFileSync(join(dir, "base.json"), JSON.stringify({
      name: "mine", cpus: 1, domains: [{ name: "d" }], devices: [{ name: "n", domain: "d", streamId: 1 }],
      workloads: [{ kind: "pairs", device: "n", cpus: [0], ops: 10 }],
    }));
    writeFileSync(join(dir, "s.json"), JSON.stringify({ base: "./base.json", axes: { "domains[0].type": ["DMA", "DMA-FQ"] } }));
    const spec = loadSweep(join(dir, "s.json"));
    expect(spec.name).toBe("s");
    expect(expandPoints(spec).map((p) => pointScenario(spec, p).domains[0]!.type)).toEqual(["DMA", "DMA-FQ"]);
    writeFileSync(join(dir, "dup.json"), '{"base": "nic-tx", "repeat": 2, "repeat": 3}');
    expect(() => loadSweep(join(dir, "dup.json"))).toThrow(/"repeat" appears twice/);
  });
});

describe("refusals name the field path or the point", () => {
  it.each([
    [{ base: "nic-tx", axis: {} }, /sweep: axis: unknown field \(did you mean "axes"\?/],
    [{ base: "nic-tx", repeat: 0 }, /sweep: repeat: .*≥ 1/],
    [{ base: "nic-txx" }, /sweep: base: no built-in scenario named "nic-txx"/],
    [{ base: "nic-tx", axes: { "smmu.iotlb.entrys": [16] } }, /axes\["smmu\.iotlb\.entrys"\]: .*did you mean smmu\.iotlb\.entries\?/],
    [{ base: "nic-tx", set: { "workloads[0].opps": 5 } }, /set\["workloads\[0\]\.opps"\]: .*did you mean workloads\[0\]\.ops\?/],
    [{ base: "nic-tx", axes: { "smmu..x": [1] } }, /axes\["smmu\.\.x"\]: the field path is not one such as .*expected a field name .* at character 6/],
    [{ base: "nic-tx", axes: { seed: [1, 2] } }, /axes\.seed: seed is the sweep's own/],
    [{ base: "nic-tx", axes: { workers: [1, 2] } }, /axes\.workers: workers cannot change/],
    [{ base: "nic-tx", axes: { cpus: [] } }, /axes\.cpus: expected at least 1 entry/],
    [{ base: "nic-tx", axes: { cpus: { from: 4, to: 2, step: 1 } } }, /axes\.cpus\.to: expected at least from \(4\), found 2/],
    [{ base: "nic-tx", axes: { cpus: { from: 1, to: 2 } } }, /axes\.cpus: a range needs exactly one of "step" .* found neither/],
    [{ base: "nic-tx", axes: { cpus: { from: 0, to: 8, factor: 2 } } }, /axes\.cpus\.from: a range with "factor" needs from > 0/],
    [{ base: "nic-tx", axes: { cpus: { from: 1, to: 1e9, step: 1 } } }, /axes\.cpus: the range has 1000000000 values/],
    [{ base: "nic-tx", axes: { cpus: { from: 2, to: 100, step: 1 } }, repeat: 2000 }, /sweep: \(root\): the sweep has 198000 runs \(99 points × repeat 2000\), more than a sweep may \(100000\)/],
    [{ base: "nic-tx", keep: ["latency.unmap.p999"] }, /keep\[0\]: latency\.unmap\.p999: latency\.unmap has no field "p999" \(did you mean latency\.unmap\.p99\?/],
    [{ base: "nic-tx", keep: ["latency"] }, /keep\[0\]: latency: is a table of figures/],
    [{ base: "nic-tx", keep: ["timing.wallMs"] }, /keep\[0\]: timing\.wallMs: is wall-clock time/],
    [{ base: "nic-tx", seed: 2 ** 32 - 2, repeat: 3 }, /sweep: seed: seed 4294967294 with repeat 3 would run seeds up to 4294967296/],
    [{ base: "nic-tx", set: { "events[3].cpu": 1 } }, /^sweep: set\["events\[3\]\.cpu"\]: events\[3\]\.cpu cannot be set: events is not there/],
    [{ base: "nic-tx", set: { "domains[0].type.x": 1 } }, /set\["domains\[0\]\.type\.x"\]: .*domains\[0\]\.type is a single value: it has no field "x"/],
    // Each field's errors say what it takes in words, not the schema library's types ("a value of type union").
    [{ base: "nic-tx", keep: "partial" }, /^sweep: keep: expected "full" \(the whole report\) or a list of metric paths \(at least one\), found "partial" \(a string\)$/],
    [{ base: "nic-tx", repeat: 1.5 }, /^sweep: repeat: expected an integer 1\.\.100000, found 1\.5$/],
    [{ base: "nic-tx", seed: -1 }, /^sweep: seed: expected an integer ≥ 0, found -1$/],
    [{ base: "nic-tx", axes: { cpus: 5 } }, /^sweep: axes\.cpus: expected a list of the axis's values \(at least one\), or a range \{ from, to, step or factor \}, found 5/],
    [{}, /^sweep: base: required field missing \(expected a built-in scenario's name \(nic, .*\), a scenario file's path, or a scenario \(an object\)\)$/],
    // A value of one branch's shape is told that branch's problem, at its own path.
    [{ base: "nic-tx", axes: { cpus: { from: 1, to: "8", step: 1 } } }, /^sweep: axes\.cpus\.to: expected a number, found "8" \(a string\)$/],
    [{ base: "nic-tx", axes: { cpus: { to: 8, step: 1 } } }, /^sweep: axes\.cpus\.from: required field missing \(expected a number\)$/],
    [{ base: "nic-tx", axes: { cpus: { from: 1, to: 8, step: -1 } } }, /^sweep: axes\.cpus\.step: expected a number > 0, found -1$/],
    [{ base: "nic-tx", axes: { cpus: { from: 1, to: "8", stp: 1 } } }, /^sweep: axes\.cpus\.stp: unknown field \(did you mean "step"\?/],
    [{ base: "nic-tx", keep: ["totals.ops", 3] }, /^sweep: keep\[1\]: expected a metric path, found 3 \(a number\)$/],
    [{ base: "" }, /^sweep: base: expected at least 1 character, found ""/],
    // A misspelt key is told first: it is why the field it meant is missing.
    [{ bse: "nic-tx" }, /^sweep: bse: unknown field \(did you mean "base"\?/],
  ])("%j", (input, message) => {
    expect(refusal(input)).toMatch(message);
  });

  it("names an invalid point by its axis values before anything runs", () => {
    expect(refusal({ base: "nic-tx", axes: { "smmu.iotlb.entries": [256, 300], "smmu.iotlb.policy": ["rr"] } }))
      .toMatch(/^sweep: point 1 \(smmu\.iotlb\.entries=300, smmu\.iotlb\.policy=rr\): smmu\.iotlb\.entries: expected a power of two/);
  });

  it("names a point whose costs break createSmmu's rule, before anything runs", () => {
    expect(refusal({ base: "nic-tx", axes: { "smmu.costs.cmdqClaim": [0, 2000] }, set: { "workloads[0].ops": 300 } }))
      .toMatch(/^sweep: point 1 \(smmu\.costs\.cmdqClaim=2000\): smmu\.costs\.sync: must be at least smmu\.costs\.cmdqClaim \+ .* \(2000 \+ 0 \+ 0 ns\)/);
    // A machine on one axis, the file's own cost on another: each point's costs together.
    expect(refusal({ base: "nic-tx", axes: { machine: ["kunpeng-920", "snapdragon-x"], "smmu.costs.sync": [500] } }))
      .toMatch(/^sweep: point 1 \(machine=snapdragon-x, smmu\.costs\.sync=500\): smmu\.costs\.sync: .* \(40 \+ 100 \+ 800 ns\).*found 500 \(the costs the scenario does not give are machine "snapdragon-x"'s/);
  });

  it("names a point whose path indexes past a list's end", () => {
    expect(refusal({ base: "nic-tx", points: [{ "domains[0].type": "DMA" }, { "domains[2].type": "DMA" }] }))
      .toMatch(/point 1 \(domains\[2\]\.type=DMA\): domains\[2\]\.type cannot be set: domains has 1 entry, so \[2\] is past its end/);
  });

  it("tells a base scenario's own mistake as the base's", () => {
    expect(refusal({ base: { name: "x", cpus: 0 } })).toMatch(/^sweep: base: cpus: expected an integer ≥ 1, found 0/);
  });
});

// A run's results line is found by its key: two points with one key would be two runs that
// --resume counts as one (it then never finishes) and merge refuses.
describe("every point once", () => {
  const ONCE = /each (value|point) once \(a point run twice would be two runs with one key/;

  it.each([
    ["an axis value given twice", { base: "nic-tx", axes: { "smmu.iotlb.entries": [256, 512, 256] } },
      /^sweep: axes\["smmu\.iotlb\.entries"\]\[2\]: 256 is already the axis's value \[0\]: /],
    ["an object value with its keys reordered", { base: "nic-tx", axes: { "smmu.iotlb": [{ entries: 256, policy: "rr" }, { policy: "rr", entries: 256 }] } },
      /^sweep: axes\["smmu\.iotlb"\]\[1\]: .* is already the axis's value \[0\] \(.* are one value\): /],
    ["a point given twice", { base: "nic-tx", points: [{ "smmu.iotlb.entries": 256 }, { cpus: 2 }, { "smmu.iotlb.entries": 256 }] },
      /^sweep: points\[2\]: is the same point as points\[0\]: /],
    ["a point the axes already cross", { base: "nic-tx", axes: { "smmu.iotlb.entries": [256, 512], "smmu.iotlb.policy": ["rr", "lru"] },
      points: [{ "smmu.iotlb.policy": "lru", "smmu.iotlb.entries": 512 }], repeat: 2 },
      /^sweep: points\[0\]: is the same point as the axes' point 6 \(smmu\.iotlb\.entries=512, smmu\.iotlb\.policy=lru\): /],
  ])("refuses %s", (_what, input, message) => {
    const m = refusal(input);
    expect(m).toMatch(message);
    expect(m).toMatch(ONCE);
  });

  it("refuses a range whose rounding gives a value twice", () => {
    expect(refusal({ base: "nic-tx", axes: { "smmu.costs.tlbi": { from: 50, to: 50.0000000001, step: 1e-11 } } }))
      .toMatch(/^sweep: axes\["smmu\.costs\.tlbi"\]: the range gives 50 twice \(its values 0 and 1, rounded to 12 significant digits\)/);
  });

  it("takes points that differ, and the same value on two axes", () => {
    const spec = loadSweep({ base: "nic-tx", axes: { "smmu.costs.tlbi": [50, 60], "smmu.costs.pteRead": [50, 60] },
                             points: [{ "smmu.costs.tlbi": 50 }] });
    expect(new Set(expandPoints(spec).map((p) => p.key)).size).toBe(5);
  });

  it("is checked by --dry-run, with 256 and 256.0 as the one value they are", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sweep-spec-"));
    const file = join(dir, "dup.json");
    writeFileSync(file, '{ "base": "nic-tx", "axes": { "smmu.iotlb.entries": [256, 256.0] }, "set": { "workloads[0].ops": 500 } }');
    const r = await cli("sweep", file, "--dry-run");
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^iommu-sim: bad sweep: .*dup\.json: axes\["smmu\.iotlb\.entries"\]\[1\]: 256 is already the axis's value \[0\]/);
  });
});

describe("field paths", () => {
  it("parse once into names and indices, and read and write", () => {
    const path = parseFieldPath("workloads[0].cpus[1]");
    expect(path).toEqual(["workloads", 0, "cpus", 1]);
    const o: Record<string, unknown> = { workloads: [{ cpus: [0, 1] }] };
    expect(getPath(o, path)).toBe(1);
    setPath(o, path, 5);
    expect(getPath(o, path)).toBe(5);
    setPath(o, parseFieldPath("smmu.iotlb.entries"), 64);
    expect(o.smmu).toEqual({ iotlb: { entries: 64 } });
    expect(() => setPath(o, parseFieldPath("workloads[0].cpus.x"), 1)).toThrow(/workloads\[0\]\.cpus is not an object/);
    expect(() => parseFieldPath("a[x]")).toThrow(/at character 2/);
  });
});

describe("shards", () => {
  it("parse I/N counted from 0 and refuse the rest", () => {
    expect(parseShard("0/4")).toEqual({ index: 0, count: 4 });
    expect(parseShard("3/4")).toEqual({ index: 3, count: 4 });
    expect(() => parseShard("4/4")).toThrow(/counted from 0, so 4 shards are 0\/4 … 3\/4/);
    expect(() => parseShard("1-4")).toThrow(/--shard must be I\/N/);
    expect(() => parseShard("0/0")).toThrow(/N between 1/);
  });

  it("partition the runs exactly, by index alone", () => {
    const points = expandPoints(loadSweep({ base: "nic-tx", axes: { cpus: [2, 3, 4, 5, 6, 7, 8] }, repeat: 3 }));
    for (const count of [1, 2, 4, 5, 21, 30]) {
      const owners = points.map((p) => Array.from({ length: count }, (_, i) => i).filter((i) => inShard(p.index, { index: i, count })));
      expect(owners.every((o) => o.length === 1)).toBe(true);
      // A pure function: asked again, or of the index alone, the same answer.
      expect(points.map((p) => inShard(p.index, { index: 0, count }))).toEqual(points.map((_, i) => i % count === 0));
    }
  });
});
