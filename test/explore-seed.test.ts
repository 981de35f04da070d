// The seed race, found and explained: the deterministic explorer over the DMA layer's
// unmap and switch steps (src/explore/scenario.ts), judged by the safety oracle.
// Acceptance of issue 5: hoisted read → a use-after-free with a replayable schedule; the
// merged path clean under both models; no-wmb caught under relaxed and not under sc; and
// none of the bad verdicts without the oracle.

import { describe, expect, it } from "vitest";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  exploreScenario, replayScenario, parseReplayLine, SEED_RACE, TWO_UNMAPPERS, BUILTIN_SCENARIOS, VERDICT_EXIT_CODES, ArgumentError,
  buildScenario, describePpo,
} from "../dist/index.js";
import { cli } from "./helpers.js";


describe("seed race: v2 with the second read hoisted (Robin's mail)", () => {
  it("finds a use of a freed IOVA through a stale IOTLB entry under sc, and the printed schedule replays it", async () => {
    const r = await exploreScenario("seed-race", { variant: "v2-hoisted", model: "sc" });
    expect(r.result.violation).toBeDefined();
    const v = r.result.violation!;
    // The oracle names it: the IOVA went back to the allocator with its translation still cached.
    expect(v.message).toMatch(/^(use-after-free|after-strict-unmap):/);
    // The trace shows the bad pair of reads: the hoisted read saw NULL, the sync read saw the domain.
    const reads = v.trace.filter((t) => t.thread === "B" && t.kind === "load" && t.var === "fq_domain");
    expect(reads.map((t) => t.value)).toEqual([0, 1]);
    expect(v.trace.some((t) => t.note?.includes("sync skipped"))).toBe(true);
    expect(v.trace.some((t) => t.note?.includes("freed at once"))).toBe(true);
    expect(r.text).toContain("replay with: iommu-sim explore --replay");

    const again = await replayScenario(r.replay!);
    expect(again.execution.violation?.message).toBe(v.message);
    expect(again.execution.trace.map((t) => t.note)).toEqual(v.trace.map((t) => t.note));
    expect(again.steps).toBe(r.replay!.split(": ")[1]); // the schedule the line gave, as its type says
  });

  it("is not caught when the oracle is off: the finding is the oracle's", async () => {
    const r = await exploreScenario("seed-race", { variant: "v2-hoisted", model: "sc", oracle: false });
    expect(r.result.violation).toBeUndefined();
    expect(r.result.complete).toBe(true);
    expect(r.result.schedules).toBeGreaterThan(100);
  });
});

describe("seed race: the merged fix", () => {
  for (const model of ["sc", "relaxed"] as const) {
    it(`explores every schedule clean under ${model}`, async () => {
      const r = await exploreScenario("seed-race", { variant: "merged", model });
      expect(r.result.complete).toBe(true);
      expect(r.result.violation).toBeUndefined();
      expect(r.result.races).toEqual([]);
      // One schedule per class of schedules that only reorder commuting steps (DPOR).
      expect(r.result.reduction.reduction).toBe("dpor");
      expect(r.result.schedules).toBeGreaterThan(10);
      expect(r.verdict).toBe("clean");
      expect(r.text).toMatch(/clean/);
    });
  }

  it("relaxed allows strictly more schedules than sc (the model does reorder)", async () => {
    // What each model keeps in order within a CPU: relaxed leaves some of sc's program order out.
    const built = await buildScenario(SEED_RACE, { variant: "merged" });
    try {
      // Pairs of one CPU's steps kept in order (the closure of each step's direct predecessors).
      const orderedPairs = (model: "sc" | "relaxed") => {
        const before = new Map<string, Set<number>>();
        for (const p of describePpo(built.program, model)) {
          const set = new Set<number>();
          for (const a of p.after) { set.add(a.step); for (const x of before.get(`${p.thread}:${a.step}`)!) set.add(x); }
          before.set(`${p.thread}:${p.step}`, set);
        }
        return [...before.values()].reduce((n, x) => n + x.size, 0);
      };
      expect(orderedPairs("relaxed")).toBeLessThan(orderedPairs("sc"));
    } finally {
      await built.close();
    }
  });
});

describe("seed race: the writer without smp_wmb before publishing", () => {
  it("is caught under relaxed: an unmap sees fq_domain before the queue exists", async () => {
    const r = await exploreScenario("seed-race", { variant: "no-wmb", model: "relaxed" });
    expect(r.result.violation?.message).toMatch(/^queue-before-publish:/);
    const again = await replayScenario(r.replay!);
    expect(again.execution.violation?.message).toBe(r.result.violation!.message);
  });

  it("is clean under sc", async () => {
    const r = await exploreScenario("seed-race", { variant: "no-wmb", model: "sc" });
    expect(r.result.complete).toBe(true);
    expect(r.result.violation).toBeUndefined();
  });
});

describe("seed race: v2 with its two plain reads in program order", () => {
  it("is clean under sc (read-read coherence: the writer never goes back to NULL)", async () => {
    const r = await exploreScenario("seed-race", { variant: "v2-two-reads", model: "sc" });
    expect(r.result.complete).toBe(true);
    expect(r.result.violation).toBeUndefined();
  });

  it("is caught under relaxed, where plain reads may be reordered, and flags the data race", async () => {
    const r = await exploreScenario("seed-race", { variant: "v2-two-reads", model: "relaxed", maxSchedules: 200_000 });
    expect(r.result.violation).toBeDefined();
    expect(r.result.races.some((x) => x.var === "fq_domain")).toBe(true);
  });
});

describe("seed race on the v7.1 profile", () => {
  it("the hoisted read is caught and the merged path is clean there too", async () => {
    const sc71 = { ...SEED_RACE, name: "seed-race-7.1", profile: "7.1" as const };
    const bad = await exploreScenario(sc71, { variant: "v2-hoisted" });
    expect(bad.result.violation?.message).toMatch(/^(use-after-free|after-strict-unmap):/);
    const good = await exploreScenario(sc71, { variant: "merged", model: "relaxed" });
    expect(good.result.complete).toBe(true);
    expect(good.result.violation).toBeUndefined();
  });
});

describe("random schedules and scenario files", () => {
  it("seeded random schedules are reproducible and find the hoisted race", async () => {
    const a = await exploreScenario("seed-race", { variant: "v2-hoisted", random: { seed: 7, count: 5000 } });
    const b = await exploreScenario("seed-race", { variant: "v2-hoisted", random: { seed: 7, count: 5000 } });
    expect(a.result.violation).toBeDefined();
    expect(a.replay).toBe(b.replay);
  });

  it("a scenario object runs like the built-in one and bad ones are refused with the field named", async () => {
    const r = await exploreScenario({ ...SEED_RACE, name: "mine" }, { variant: "merged", maxSchedules: 50, reduction: "none" });
    expect(r.result.schedules).toBe(50);
    expect(r.result.complete).toBe(false);
    // Cut short by the bound: not a proof, and it says so.
    expect(r.verdict).toBe("bounded");
    expect(r.text).toMatch(/^ {2}bounded: 50 schedules explored, no violation found \(not a proof\)/m);
    expect(r.text).not.toMatch(/clean/);
    await expect(exploreScenario({ threads: { A: [{ switch: "strict" }] } } as never)).rejects.toThrow(/threads\.A\[0\]\.switch/);
    await expect(exploreScenario({ threads: {} } as never)).rejects.toThrow(ArgumentError);
    expect(() => parseReplayLine("seed-race: A:1")).toThrow(/scenario@variant@model/);
    await expect(replayScenario("seed-race@merged@sc: B:1 B:1")).rejects.toThrow(/repeated/);
  });
});

describe("iommu-sim explore (CLI)", () => {
  it("exit 1 with the schedule for the hoisted variant, 1 again on --replay, 0 for merged, 2 for bad input", async () => {
    const bad = await cli("explore", "seed-race", "--variant", "v2-hoisted");
    expect(bad.code).toBe(1);
    const line = /--replay "(.+)"/.exec(bad.out)?.[1];
    expect(line).toBeDefined();
    const rep = await cli("explore", "--replay", line!);
    expect(rep.code).toBe(1);
    expect(rep.out).toMatch(/VIOLATION/);
    const ok = await cli("explore", "seed-race", "--variant", "merged", "--model", "relaxed");
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/every one there is/);
    expect(ok.out).not.toMatch(/--variant/); // the user picked the code: nothing to suggest
    // Without --variant it is the merged code that comes out clean: the output says so, and how to pick the buggy one.
    const plain = await cli("explore", "seed-race");
    expect(plain.code).toBe(0);
    expect(plain.out).toMatch(/^ {2}clean: no schedule violated the oracle$/m);
    expect(plain.out).toMatch(/this explored the scenario's code, variant merged \(the fix as merged in v5\.15\); --variant .*v2-hoisted/);
    expect((await cli("explore", "seed-race", "--variant", "nonsense")).code).toBe(2);
    expect((await cli("explore", "no-such-scenario.json")).code).toBe(2);
    const dir = mkdtempSync(join(tmpdir(), "iommu-sim-"));
    const file = join(dir, "s.json");
    writeFileSync(file, JSON.stringify({ ...SEED_RACE, name: undefined, variant: "v2-hoisted" }));
    const fromFile = await cli("explore", file);
    expect(fromFile.code).toBe(1);
    expect(fromFile.out).toContain(`${file}@v2-hoisted@sc:`);
    expect(fromFile.out).toContain(`replay with: iommu-sim explore --replay "${file}@`);
  });

  it("a scenario file's name is what the output and the replay line show; the printed command replays it with the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "iommu-sim-"));
    const file = join(dir, "em.json");
    writeFileSync(file, JSON.stringify({ ...SEED_RACE, name: "myname", variant: "v2-hoisted" }));
    const r = await cli("explore", file);
    expect(r.code).toBe(1);
    // It printed "explore <path> …" and "<path>@v2-hoisted@sc: …", the name ignored.
    expect(r.out).toMatch(/^explore myname, variant v2-hoisted, model sc:/);
    const cmd = /replay with: iommu-sim explore (\S+) --replay "(myname@v2-hoisted@sc: [^"]+)"/.exec(r.out);
    expect(cmd?.[1]).toBe(file);
    const again = await cli("explore", cmd![1]!, "--replay", cmd![2]!);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/^replay myname, variant v2-hoisted, model sc: VIOLATION/);
    // Without the file the name finds nothing, and the message says how to give it.
    const alone = await cli("explore", "--replay", cmd![2]!);
    expect(alone.code).toBe(2);
    expect(alone.out).toMatch(/for a scenario named by its "name" field, give its file beside the line: explore FILE --replay LINE\) must name a file that exists, got "myname"/);
    const other = await cli("explore", "seed-race", "--replay", cmd![2]!);
    expect(other.code).toBe(2);
    expect(other.out).toMatch(/replay: schedule must name the scenario given, seed-race .*got "myname"/);
  });
});

describe("iommu-sim explore: bounded runs, --stats, --no-dpor", () => {
  it("a run cut short by the bound exits 3 and says it is not a proof; --stats counts; --no-dpor enumerates", async () => {
    const cut = await cli("explore", "seed-race", "--variant", "merged", "--max-schedules", "5", "--stats");
    expect(cut.code).toBe(3);
    expect(cut.out).toMatch(/^ {2}bounded: 5 schedules explored, no violation found \(not a proof\)/m);
    expect(cut.out).toMatch(/^ {2}stats: reduction dpor; 5 schedules explored; pruned: \d+ sleep-set blocked, \d+ redundant branches; wall \d+\.\d\d s$/m);
    const random = await cli("explore", "seed-race", "--variant", "merged", "--random", "20");
    expect(random.code).toBe(3);
    expect(random.out).toMatch(/bounded: 20 random schedules explored, no violation found \(not a proof\)/);
    const all = await cli("explore", "seed-race", "--variant", "merged", "--no-dpor", "--max-schedules", "30", "--stats");
    expect(all.code).toBe(3);
    expect(all.out).toMatch(/stats: reduction none; 30 schedules explored; none pruned/);
    const proof = await cli("explore", "seed-race", "--variant", "merged", "--stats");
    expect(proof.code).toBe(0);
    expect(proof.out).toMatch(/stats: reduction dpor; \d+ schedules explored/);
    const help = await cli("explore", "--help");
    expect(help.out).toMatch(/3 when the run was\s+bounded/);
    expect(help.out).toMatch(/--no-dpor/);
    expect(help.out).toMatch(/--stats/);
  });

  it("the exit codes are one table, and a bad reduction is refused by name", async () => {
    expect(VERDICT_EXIT_CODES).toEqual({ clean: 0, violation: 1, bounded: 3 });
    await expect(exploreScenario("seed-race", { reduction: "fast" as never })).rejects.toThrow(/reduction must be one of "dpor", "sleep", "none"/);
    await expect(exploreScenario("seed-race", { reduce: true } as never)).rejects.toThrow(/reduce/);
  });
});

describe("two-unmappers: the seed race on five CPUs, every seed verdict as on four", () => {
  // Two unmappers on different CPUs, the switch, a mapper, the device using both old buffers.
  const expected = { "v2-hoisted": ["violation", "violation"], "no-wmb": ["clean", "violation"], "v2-two-reads": ["clean", "violation"], merged: ["clean", "clean"] } as const;
  for (const [variant, [sc, relaxed]] of Object.entries(expected)) {
    it(`${variant}: ${sc} under sc, ${relaxed} under relaxed`, async () => {
      for (const [model, verdict] of [["sc", sc], ["relaxed", relaxed]] as const) {
        const r = await exploreScenario("two-unmappers", { variant: variant as keyof typeof expected, model });
        expect(r.verdict, model).toBe(verdict);
        expect(r.result.complete, model).toBe(verdict === "clean");
        if (verdict === "violation") {
          const again = await replayScenario(r.replay!);
          expect(again.execution.violation?.message).toBe(r.result.violation!.message);
        }
      }
    }, 120_000);
  }

  it("has five CPUs, two of them unmapping, and the device touching both buffers", () => {
    expect(Object.keys(TWO_UNMAPPERS.threads)).toHaveLength(5);
    expect(BUILTIN_SCENARIOS["two-unmappers"]).toBe(TWO_UNMAPPERS);
    const ops = Object.values(TWO_UNMAPPERS.threads).flat();
    expect(ops.filter((o) => "unmap" in o)).toHaveLength(2);
    expect(ops.filter((o) => "access" in o).map((o) => (o as { access: string }).access).sort()).toEqual(["old1", "old2"]);
  });
});

describe("exploration progress", () => {
  it("reports each schedule run, with the bound, for a progress display", async () => {
    const seen: [number, number][] = [];
    const r = await exploreScenario("seed-race", { variant: "v2-hoisted", onProgress: (n, bound) => seen.push([n, bound]) });
    expect(seen).toHaveLength(r.result.schedules);
    expect(seen[0]).toEqual([1, 100_000]);
    expect(seen.at(-1)).toEqual([r.result.schedules, 100_000]);
    const random: number[] = [];
    await exploreScenario("seed-race", { variant: "merged", random: { seed: 3, count: 50 }, onProgress: (n, b) => random.push(b) });
    expect(random).toEqual(Array(50).fill(50));
  });
});
