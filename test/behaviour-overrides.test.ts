// Behaviour overrides: a machine runs its profile with behaviours added or removed by name
// (the bug zoo's switch: a fix is a behaviour, its buggy form the kernel without it). The
// effective bits live once in the control block; every record made afterwards, on any
// thread, carries them; bad overrides are refused with the field and a did-you-mean.

import { afterAll, describe, expect, it } from "vitest";
import {
  BEHAVIOURS, Prot, Simulator, formatSummary, kernelProfile, parseRunScenario, replayScript, runScenario, validateScenario,
  type TlbEvent,
} from "../dist/index.js";
import { cli, coreOf } from "./helpers.js";

const S1 = { format: "arm-lpae-s1" as const, pgsizeBitmap: 0x40201000, ias: 48, oas: 48 };
const sims: Simulator[] = [];
afterAll(async () => { for (const s of sims) await s.close(); });

async function machine(opts: Parameters<typeof Simulator.create>[0]): Promise<Simulator> {
  const sim = await Simulator.create({ ramMiB: 4, kheapMiB: 2, ...opts });
  sims.push(sim);
  return sim;
}

function bitsOf(sim: Simulator, names: readonly string[]): number {
  const L = coreOf(sim).layout as unknown as Record<string, number>;
  return names.reduce((b, n) => b | L[`KB_${n}`]!, 0) >>> 0;
}

/** The TTL of the walk TLBI for freeing the table under a 2 MiB range. */
function walkTtl(sim: Simulator): number | undefined {
  const pt = sim.createPageTable(S1);
  const dom = sim.createSmmuDomain(pt, { id: 5, rangeInvalidation: true });
  try {
    pt.mapPages(0x600000, 0x600000, 0x1000, 2, Prot.READ);
    pt.takeEvents();
    pt.unmapPages(0x600000, 0x200000, 1);
    const walk = pt.takeEvents().find((e: TlbEvent) => e.kind === "cmd" && e.command.op === "CMD_TLBI_NH_VA" && !e.command.leaf);
    return walk?.kind === "cmd" && "ttl" in walk.command ? walk.command.ttl : undefined;
  } finally {
    dom.destroy();
    pt.release();
  }
}

describe("a machine's behaviours", () => {
  it("are the profile's unless overridden, and the override is what every record carries", async () => {
    const plain = await machine({ profile: "7.1" });
    expect(plain.behaviours).toEqual(BEHAVIOURS.filter((b) => kernelProfile("7.1").behaviours.includes(b)));
    expect(plain.behaviourOverrides).toBeUndefined();
    const sim = await machine({ profile: "7.1", behaviours: { without: ["SMMU_NONLEAF_TTL0"], with: ["PGT_SPLIT_PARTIAL_UNMAP"] } });
    expect(sim.behaviours).not.toContain("SMMU_NONLEAF_TTL0");
    expect(sim.behaviours).toContain("PGT_SPLIT_PARTIAL_UNMAP");
    const L = coreOf(sim).layout;
    const want = bitsOf(sim, sim.behaviours);
    expect(want).not.toBe(bitsOf(plain, plain.behaviours));
    const pt = sim.createPageTable(S1);
    expect(coreOf(sim).readU32(L.PGT_BASE + pt.id * L.PGT_DESC_SIZE + L.D_KB)).toBe(want);
    const iova = sim.createIovaDomain({ granule: 4096, startPfn: 1 });
    expect(coreOf(sim).readU32(coreOf(sim).raw.iova_block(iova.id) + L.I_KB)).toBe(want);
    iova.destroy();
    pt.release();
  });

  it("workers that attach make records with the same bits", async () => {
    const sim = await machine({ profile: "7.1", behaviours: { without: ["SMMU_NONLEAF_TTL0", "IOVA_DEPOT_LIST"] } });
    const pool = await sim.pool({ workers: 2 });
    const url = new URL("./fixtures/behaviour-task.mjs", import.meta.url).href;
    const got = await pool.run(`${url}#recordBits`, {});
    const want = bitsOf(sim, sim.behaviours);
    expect(got).toEqual([{ table: want, iova: want }, { table: want, iova: want }]);
    await pool.close();
  });

  it("the walk TLBI's TTL follows SMMU_NONLEAF_TTL0 (7.1: 0; 7.1 without it: 3; 5.15 with it: 0)", async () => {
    expect(walkTtl(await machine({ profile: "7.1" }))).toBe(0);
    expect(walkTtl(await machine({ profile: "7.1", behaviours: { without: ["SMMU_NONLEAF_TTL0"] } }))).toBe(3);
    expect(walkTtl(await machine({ profile: "5.15" }))).toBe(3);
    expect(walkTtl(await machine({ profile: "5.15", behaviours: { with: ["SMMU_NONLEAF_TTL0"] } }))).toBe(0);
  });

  it("a DMA domain's own checks ask the machine (DMA_FQ_SINGLE removed: fqMode single refused)", async () => {
    const sim = await machine({ profile: "7.1", behaviours: { without: ["DMA_FQ_SINGLE"] } });
    const smmu = sim.createSmmu();
    expect(() => sim.createDmaDomain({ smmu, fqMode: "single" })).toThrow(/DMA_FQ_SINGLE/);
    smmu.destroy();
  });
});

describe("bad overrides are refused, saying where and why", () => {
  const cases: [string, unknown, RegExp][] = [
    ["an unknown name", { without: ["SMMU_NONLEAF_TTL"] }, /behaviours\.without\[0\] is not a behaviour \(did you mean 'SMMU_NONLEAF_TTL0'\?\)/],
    ["the KB_ prefix", { without: ["KB_SMMU_NONLEAF_TTL0"] }, /without the KB_ prefix \('SMMU_NONLEAF_TTL0'\)/],
    ["a name in both lists", { with: ["PGT_SPLIT_PARTIAL_UNMAP"], without: ["PGT_SPLIT_PARTIAL_UNMAP"] },
      /behaviours\.without\[0\] names PGT_SPLIT_PARTIAL_UNMAP, which is in 'with' too/],
    ["adding one the profile has", { with: ["SMMU_NONLEAF_TTL0"] }, /behaviours\.with\[0\] adds SMMU_NONLEAF_TTL0, which kernel 7\.1 already has/],
    ["removing one it lacks", { without: ["PGT_SPLIT_PARTIAL_UNMAP"] }, /removes PGT_SPLIT_PARTIAL_UNMAP, which kernel 7\.1 does not have/],
    ["an unknown key", { whithout: [] }, /behaviours\.whithout is not a known key \(did you mean 'without'\?\)/],
    ["not a list", { without: "SMMU_NONLEAF_TTL0" }, /behaviours\.without must be an array/],
    ["not an object", ["SMMU_NONLEAF_TTL0"], /behaviours must be an object/],
    ["a name twice", { without: ["SMMU_NONLEAF_TTL0", "SMMU_NONLEAF_TTL0"] }, /names SMMU_NONLEAF_TTL0 twice/],
  ];
  it.each(cases)("Simulator.create: %s", async (_, behaviours, message) => {
    await expect(Simulator.create({ profile: "7.1", ramMiB: 1, kheapMiB: 1, behaviours: behaviours as never }))
      .rejects.toThrow(message);
  });

  it("in a run scenario, with the field path", () => {
    const base = { name: "t", cpus: 1, domains: [{ name: "d" }], devices: [{ name: "n", domain: "d", streamId: 1 }], workloads: [{ kind: "pairs", device: "n", cpus: [0], ops: 10 }] };
    expect(() => parseRunScenario({ ...base, behaviours: { without: ["SMMU_NONLEAF_TTL"] } }))
      .toThrow(/behaviours\.without\[0\]: is not a behaviour \(did you mean 'SMMU_NONLEAF_TTL0'\?\)/);
    expect(() => parseRunScenario({ ...base, profile: "5.15", behaviours: { without: ["SMMU_NONLEAF_TTL0"] } }))
      .toThrow(/behaviours\.without\[0\]: removes SMMU_NONLEAF_TTL0, which kernel 5\.15 does not have/);
    expect(() => parseRunScenario({ ...base, behaviours: { without: [7] } })).toThrow(/behaviours\.without\[0\]/);
    expect(parseRunScenario({ ...base, behaviours: { without: ["SMMU_NONLEAF_TTL0"], with: [] } }).behaviours)
      .toEqual({ without: ["SMMU_NONLEAF_TTL0"] });
  });

  it("in an explore scenario", () => {
    expect(() => validateScenario({ threads: { A: [{ switch: "lazy" }] }, behaviours: { with: ["IOVA_FLUSH_QUEUE"] } }))
      .toThrow(/behaviours\.with\[0\] adds IOVA_FLUSH_QUEUE, which kernel 5\.15 already has/);
  });

  it("in a replay script, naming the line", async () => {
    await expect(replayScript("cfg s1 0x40201000 48 48\nbehaviours without SMMU_NONLEAF_TTL0\n", { profile: "7.1" }))
      .rejects.toThrow(/line 2: 'behaviours' must come before any command/);
    await expect(replayScript("behaviours without SMMU_NONLEAF_TTL\n", { profile: "7.1" }))
      .rejects.toThrow(/line 1: .*did you mean 'SMMU_NONLEAF_TTL0'/);
    await expect(replayScript("behaviours SMMU_NONLEAF_TTL0\n", { profile: "7.1" }))
      .rejects.toThrow(/line 1: expected 'with' or 'without' before the behaviour 'SMMU_NONLEAF_TTL0'/);
  });
});

describe("the difference shows in a trace", () => {
  const script = [
    "cfg s1 0x40201000 48 48", "smmu 1 1 5",
    "map 0x600000 0x600000 0x1000 2 0x1", "unmap 0x600000 0x200000 1", "free",
  ];
  const walk = (lines: string[]) => lines.find((l) => /CMD TLBI_NH_VA .*leaf=0/.test(l));

  it("7.1's walk TLBI has ttl=0; with the directive (or the option), ttl=3", async () => {
    const fixed = await replayScript(script.join("\n"), { profile: "7.1" });
    const buggy = await replayScript(["behaviours without SMMU_NONLEAF_TTL0", ...script].join("\n"), { profile: "7.1" });
    const byOption = await replayScript(script.join("\n"), { profile: "7.1", behaviours: { without: ["SMMU_NONLEAF_TTL0"] } });
    expect(walk(fixed)).toMatch(/ttl=0/);
    expect(walk(buggy)).toMatch(/ttl=3/);
    expect(buggy).toContain("kernel 7.1 without SMMU_NONLEAF_TTL0");
    expect(walk(byOption)).toBe(walk(buggy));
  });

  it("on the command line: --without, and a typo is exit 2", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const file = join(mkdtempSync(join(tmpdir(), "iommu-sim-kb-")), "walk.in");
    writeFileSync(file, script.join("\n") + "\n");
    const buggy = await cli("replay", file, "-p", "7.1", "--without", "SMMU_NONLEAF_TTL0");
    expect(buggy.code).toBe(0);
    expect(walk(buggy.out.split("\n"))).toMatch(/ttl=3/);
    const typo = await cli("replay", file, "--without", "SMMU_NONLEAF_TTL");
    expect(typo.code).toBe(2);
    expect(typo.out).toMatch(/did you mean 'SMMU_NONLEAF_TTL0'/);
  });

  it("`profiles` shows each behaviour's commit", async () => {
    const r = await cli("profiles");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/SMMU_NONLEAF_TTL0 .*6833b8f2e199/);
    expect(r.out).toMatch(/SMMU_RANGE_NUM_BUMP .*eb6c97647be2/);
  });
});

describe("a scenario run with a behaviour removed", () => {
  it("runs that kernel and says so in the report and its summary", async () => {
    const sc = {
      name: "t", cpus: 1, workers: 1, domains: [{ name: "d", type: "DMA-FQ" as const }], devices: [{ name: "n", domain: "d", streamId: 1 }],
      workloads: [{ kind: "pairs" as const, device: "n", cpus: [0], ops: 200 }],
      behaviours: { without: ["FQ_TIMER_READ_FIRST" as const] },
    };
    const r = await runScenario(sc);
    expect(r.scenario.behaviours).toEqual({ without: ["FQ_TIMER_READ_FIRST"] });
    expect(r.scenario.kernel).toBe("7.1 without FQ_TIMER_READ_FIRST");
    expect(formatSummary(r).join("\n")).toMatch(/7\.1 without FQ_TIMER_READ_FIRST/);
    // A simulator of the plain profile is not that kernel.
    const plain = await machine({ profile: "7.1" });
    await expect(runScenario(sc, { simulator: plain })).rejects.toThrow(/must run the scenario's kernel \('7\.1 without FQ_TIMER_READ_FIRST'\)/);
  }, 60_000);

  it("on the command line, a bad --without is exit 2 before anything runs", async () => {
    const r = await cli("run", "nic", "--without", "SMMU_NONLEAF_TT");
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^iommu-sim: kernel 7\.1: --without is not a behaviour \(did you mean 'SMMU_NONLEAF_TTL0'\?\).*, got "SMMU_NONLEAF_TT"$/m);
    const twice = await cli("explore", "seed-race", "--with", "IOVA_FLUSH_QUEUE");
    expect(twice.code).toBe(2);
    expect(twice.out).toMatch(/adds IOVA_FLUSH_QUEUE, which kernel 5\.15 already has/);
  });

  it("a flag that clashes with the file's behaviours (a scenario's field, a replay script's line) says where the other is", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const at = mkdtempSync(join(tmpdir(), "iommu-sim-kb-clash-"));
    const sc = join(at, "s.json");
    writeFileSync(sc, JSON.stringify({ profile: "7.1", behaviours: { without: ["SMMU_NONLEAF_TTL0"] }, threads: { A: [{ switch: "lazy" }] } }));
    const twice = await cli("explore", sc, "--without", "SMMU_NONLEAF_TTL0");
    expect(twice.code).toBe(2);
    expect(twice.out).toMatch(/^iommu-sim: kernel 7\.1: --without names SMMU_NONLEAF_TTL0 twice; the scenario file's behaviours\.without\[0\] names it too/m);
    const back = await cli("explore", sc, "--with", "SMMU_NONLEAF_TTL0");
    expect(back.out).toMatch(/--with adds SMMU_NONLEAF_TTL0, which kernel 7\.1 already has .*; the scenario file's behaviours\.without\[0\] names it too/);
    const script = join(at, "bh.in");
    writeFileSync(script, "# removes it\nbehaviours without SMMU_NONLEAF_TTL0\n");
    const r = await cli("replay", script, "-p", "7.1", "--without", "SMMU_NONLEAF_TTL0");
    expect(r.code).toBe(2);
    // It said "replayScript: behaviours.without[1] names SMMU_NONLEAF_TTL0 twice", with no line.
    expect(r.out).toMatch(/^iommu-sim replay: line 2: 'without SMMU_NONLEAF_TTL0' names SMMU_NONLEAF_TTL0 twice; --without SMMU_NONLEAF_TTL0 names it too$/m);
    const w = await cli("replay", script, "-p", "7.1", "--with", "SMMU_NONLEAF_TTL0");
    expect(w.out).toMatch(/^iommu-sim replay: line 2: --with SMMU_NONLEAF_TTL0 adds SMMU_NONLEAF_TTL0, which kernel 7\.1 already has .*; this line's 'without SMMU_NONLEAF_TTL0' names it too$/m);
    // A flag's own mistake is still the flag's.
    expect((await cli("replay", script, "-p", "5.15", "--with", "SMMU_NONLEAF_TTL")).out).toMatch(/^iommu-sim: kernel 5\.15: --with is not a behaviour \(did you mean 'SMMU_NONLEAF_TTL0'\?\)/m);
  });

  it("run --with is applied before the scenario is checked, as the file's own behaviours are", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const at = mkdtempSync(join(tmpdir(), "iommu-sim-kb-run-"));
    const scenario = (behaviours?: object) => JSON.stringify({
      name: "fq-single", profile: "5.15", workers: 1, cpus: 1, ...(behaviours ? { behaviours } : {}),
      domains: [{ name: "d", type: "DMA-FQ", fqMode: "single" }], devices: [{ name: "e", domain: "d", streamId: 1 }],
      workloads: [{ kind: "pairs", device: "e", cpus: [0], ops: 200 }],
    });
    writeFileSync(join(at, "plain.json"), scenario());
    writeFileSync(join(at, "own.json"), scenario({ with: ["DMA_FQ_SINGLE"] }));
    const refused = await cli("run", join(at, "plain.json"), "--no-progress");
    expect(refused.code).toBe(2);
    expect(refused.out).toMatch(/fqMode: "single" needs profile "6\.12" or "7\.1"/);
    const own = await cli("run", join(at, "own.json"), "--no-progress");
    const cliWith = await cli("run", join(at, "plain.json"), "--no-progress", "--with", "DMA_FQ_SINGLE");
    for (const r of [own, cliWith]) {
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(/^Run: +scenario fq-single · profile 5\.15 with DMA_FQ_SINGLE /m);
    }
    // One the file adds and the option removes: named as the clash it is.
    const clash = await cli("run", join(at, "own.json"), "--no-progress", "--without", "DMA_FQ_SINGLE");
    expect(clash.code).toBe(2);
    expect(clash.out).toMatch(/^iommu-sim: kernel 5\.15: --without names DMA_FQ_SINGLE, which is in 'with' too/m);
  }, 60_000);
});
