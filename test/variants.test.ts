// Code variants as data (issue 15, parts 3 and 5): a variant written by a user in the variant
// vocabulary is checked strictly, runs in a DMA domain (the core interprets its program),
// is explored from an explore scenario's JSON and from the CLI, and is exported as a C
// litmus test that today's litmus parser reads and whose verdict agrees with the explorer's
// for the seed variants and for the README's variant with its smp_wmb() moved.

import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ArgumentError, SEED_RACE, SEED_VARIANTS, SEED_VARIANT_DEFINITIONS, Simulator, VARIANT_OPS, exploreScenario, exportLitmus,
  parseLitmus, parseRunScenario, parseVariant, runLitmus, runScenario, validateScenario, type RunScenarioInput,
  type MemoryModel, type Scenario, type SeedVariant, type VariantDefinition,
} from "../dist/index.js";
import { cli } from "./helpers.js";


/** The README's variant: the merged code with the writer's smp_wmb() moved after the publication. */
const WMB_LATE: VariantDefinition = {
  name: "wmb-after-publish",
  switch: [{ op: "build-fq" }, { op: "publish-fq-domain", access: "once" }, { op: "smp_wmb" }, { op: "set-type" }],
  unmap: [
    { op: "read", var: "fq_domain", access: "once", into: "queued" },
    { op: "clear-ptes", lazyIf: "queued" },
    { op: "iotlb_sync", unless: "queued" },
    { op: "smp_mb", if: "queued" },
    { op: "read", var: "fq", into: "fq", if: "queued" },
    { op: "iommu_dma_free_iova", queueIf: "queued", fq: "fq" },
  ],
};

const withUnmap = (unmap: unknown[]): unknown => ({ ...WMB_LATE, unmap });

describe("a variant is checked strictly", () => {
  const refused = (v: unknown, ...patterns: RegExp[]) => {
    let err: unknown;
    try { parseVariant(v, "my-variant.json"); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ArgumentError);
    for (const p of patterns) expect((err as Error).message).toMatch(p);
  };

  it("accepts the README's variant and the seed variants, and names every op it knows in its error for one it does not", () => {
    expect(parseVariant(WMB_LATE).name).toBe("wmb-after-publish");
    for (const v of SEED_VARIANTS) expect(parseVariant(SEED_VARIANT_DEFINITIONS[v]).name).toBe(v);
    refused(withUnmap([...WMB_LATE.unmap.slice(0, 2), { op: "iotlb_synk" }, ...WMB_LATE.unmap.slice(3)]),
      /^my-variant\.json: unmap\[2\]\.op must be one of the known ops: /, new RegExp(Object.keys(VARIANT_OPS).join(", ")), /"iotlb_synk"/);
    refused(withUnmap([{ op: "toString" }]), /unmap\[0\]\.op must be one of the known ops/);
    refused(withUnmap([{ op: 3 }]), /unmap\[0\]\.op must be one of the known ops/);
  });

  it("refuses unknown keys, at the top and in a step, with the step's path", () => {
    refused({ ...WMB_LATE, swich: [] }, /swich is not a known field \(did you mean 'switch'\?\)/);
    refused(withUnmap([{ ...WMB_LATE.unmap[0], acess: "once" }, ...WMB_LATE.unmap.slice(1)]), /unmap\[0\]\.acess is not a known field \(did you mean 'access'\?\)/);
    refused(withUnmap([{ ...WMB_LATE.unmap[0], access: "release" }, ...WMB_LATE.unmap.slice(1)]), /unmap\[0\]\.access must be one of plain, once, acquire/);
    refused(withUnmap([{ ...WMB_LATE.unmap[0], var: "fq_domian" }, ...WMB_LATE.unmap.slice(1)]), /unmap\[0\]\.var must be one of fq_domain, fq, quirk/);
    refused("merged", /variant must be an object/);
  });

  it("refuses a local no earlier read filled, too many locals or steps, both guards, an op of the other sequence", () => {
    refused(withUnmap([WMB_LATE.unmap[1], ...WMB_LATE.unmap]), /unmap\[0\]\.lazyIf must name a local an earlier read of the unmap filled \(none does yet/);
    const reads = ["a", "b", "c", "d", "e"].map((into) => ({ op: "read", var: "fq", into }));
    refused(withUnmap([...reads, ...WMB_LATE.unmap]), /unmap\[4\]\.into is a 5th local; a sequence may have at most 4/);
    refused(withUnmap([...Array(12).fill({ op: "smp_mb" }), ...WMB_LATE.unmap]), /unmap may have at most 15 steps/);
    refused(withUnmap([WMB_LATE.unmap[0], { op: "smp_mb", if: "queued", unless: "queued" }, ...WMB_LATE.unmap.slice(1)]), /unmap\[1\] may have a guard 'if' or 'unless', not both/);
    refused({ ...WMB_LATE, switch: [...WMB_LATE.switch, { op: "clear-ptes" }] }, /switch\[4\]\.op is a step of the unmap, not of the switch/);
  });

  it("refuses shapes the core could not run: no clear, a sync before it, no or two releases, a switch that does not publish", () => {
    refused(withUnmap(WMB_LATE.unmap.filter((s) => s.op !== "clear-ptes")), /unmap must clear the PTEs exactly once/);
    refused(withUnmap([WMB_LATE.unmap[0], WMB_LATE.unmap[2], WMB_LATE.unmap[1], ...WMB_LATE.unmap.slice(3)]), /unmap\[1\] must come after clear-ptes/);
    refused(withUnmap(WMB_LATE.unmap.slice(0, 5)), /must release the IOVA exactly once on every path/);
    refused(withUnmap([...WMB_LATE.unmap, { op: "free_iova_fast" }]), /must release the IOVA exactly once on every path/);
    refused({ ...WMB_LATE, switch: WMB_LATE.switch.filter((s) => s.op !== "publish-fq-domain") }, /switch must publish fq_domain/);
    // The guarded pair is one release on every path.
    expect(() => parseVariant(withUnmap([...WMB_LATE.unmap.slice(0, 5),
      { op: "queue_iova", if: "queued", fq: "fq" }, { op: "free_iova_fast", unless: "queued" }]))).not.toThrow();
  });
});

describe("a user's variant runs in a DMA domain: the core interprets its program", () => {
  it("an unmap that never syncs and always frees at once is counted as a mixed decision once the domain is lazy", async () => {
    const sim = await Simulator.create({ profile: "5.15", ramMiB: 4, kheapMiB: 4 });
    try {
      const careless: VariantDefinition = {
        name: "careless", switch: WMB_LATE.switch,
        unmap: [{ op: "read", var: "fq_domain", access: "once", into: "q" }, { op: "clear-ptes", lazyIf: "q" }, { op: "free_iova_fast" }],
      };
      const smmu = sim.createSmmu({ oracle: { capacity: 4096, violations: 64 } });
      const dom = sim.createDmaDomain({ smmu, cpus: 1, variant: careless });
      const dev = dom.attachDevice({ streamId: 1, dmaMask: 64, bus: "pci" });
      dom.setType("DMA-FQ");
      const a = dev.map(0x4000_0000, 4096);
      dev.access(a, 64, "write");
      dev.unmap(a, 4096);
      const s = dom.stats();
      expect([s.strictUnmaps, s.lazyUnmaps, s.mixedDecisions, s.syncs]).toEqual([1, 0, 1, 0]);
      expect(dom.variant).toBe("careless");
      // The same with the merged code queues the IOVA.
      const merged = sim.createDmaDomain({ smmu, cpus: 1, variant: "merged" });
      const dev2 = merged.attachDevice({ streamId: 2, dmaMask: 64, bus: "pci" });
      merged.setType("DMA-FQ");
      dev2.unmap(dev2.map(0x4100_0000, 4096), 4096);
      expect(merged.stats().lazyUnmaps).toBe(1);
    } finally {
      await sim.close();
    }
  });

  it("createDmaDomain names a bad variant's field", async () => {
    const sim = await Simulator.create({ ramMiB: 1, kheapMiB: 1 });
    try {
      const smmu = sim.createSmmu({});
      expect(() => sim.createDmaDomain({ smmu, variant: withUnmap([{ op: "nope" }]) as VariantDefinition }))
        .toThrow(/^createDmaDomain: variant\.unmap\[0\]\.op must be one of the known ops/);
      expect(() => sim.createDmaDomain({ smmu, variant: "hoisted" as SeedVariant }))
        .toThrow(/createDmaDomain: variant must be one of merged, v2-two-reads, v2-hoisted, no-wmb, or a variant definition/);
    } finally {
      await sim.close();
    }
  });
});

describe("a user's variant in a run scenario: workers interpret it", () => {
  /** An unmap that never syncs and always frees at once: every lazy unmap is the seed race's mixed decision. */
  const careless: VariantDefinition = {
    name: "careless", switch: WMB_LATE.switch,
    unmap: [{ op: "read", var: "fq_domain", access: "once", into: "q" }, { op: "clear-ptes", lazyIf: "q" }, { op: "free_iova_fast" }],
  };
  const scenario = (variant: unknown): RunScenarioInput => ({
    name: "own-variant", profile: "7.1", seed: 3, workers: 2, cpus: 2,
    domains: [{ name: "d", type: "DMA", variant: variant as VariantDefinition }],
    devices: [{ name: "dev", domain: "d", streamId: 5 }],
    workloads: [{ kind: "pairs", name: "m0", device: "dev", cpus: [0], ops: 4000 },
                { kind: "switcher", name: "sw", domain: "d", cpus: [1], gap: 200 }],
    checks: { oracle: true, expect: "any" },
  });

  it("runs across workers with the switch flipping the domain, its mixed decisions counted and named in the report", async () => {
    // The switcher flips the domain in wall time, beside the pairs: on a loaded machine the
    // 4000 pairs can finish before its first flip, so the run is repeated (at most thrice)
    // until one overlapped. Everything asserted below holds for each run.
    let r = await runScenario(scenario(careless));
    for (let tries = 1; r.domains[0]!.dma.switches === 0 && tries < 3; tries++) r = await runScenario(scenario(careless));
    const d = r.domains[0]!;
    expect(d.variant).toBe("careless");
    expect(d.dma.maps).toBe(4000);
    // It never syncs and never queues: every unmap frees an IOVA whose invalidation was skipped.
    expect([d.dma.lazyUnmaps, d.dma.syncs, d.dma.strictUnmaps, d.dma.mixedDecisions]).toEqual([0, 0, 4000, 4000]);
    expect(d.dma.switches).toBeGreaterThan(0);
    // The device's next write through a stale translation reaches a freed page: the oracle says so.
    expect(r.totals.violations).toBeGreaterThan(0);
  }, 120_000);

  it("is checked with the scenario: a bad step is named under the domain's variant", () => {
    expect(() => parseRunScenario(scenario(withUnmap([{ op: "nope" }])), "run.json"))
      .toThrow(/run\.json: domains\[0\]\.variant: unmap\[0\]\.op must be one of the known ops/);
    expect(() => parseRunScenario(scenario("hoisted"), "run.json"))
      .toThrow(/domains\[0\]\.variant: expected one of "merged", "v2-two-reads", "v2-hoisted", "no-wmb", or a variant definition/);
    expect(parseRunScenario(scenario("v2-hoisted"), "run.json").domains[0]!.variant).toBe("v2-hoisted");
  });
});

describe("a user's variant in an explore scenario", () => {
  const scenario: Scenario = { ...SEED_RACE, name: "moved-wmb", variant: WMB_LATE };

  it("is explored: caught under relaxed (the queue read as not yet built), clean under sc", async () => {
    const rx = await exploreScenario(scenario, { model: "relaxed" });
    expect(rx.variant).toBe("wmb-after-publish");
    expect(rx.result.violation?.message).toMatch(/^queue-before-publish/);
    expect(rx.replay).toMatch(/^moved-wmb@wmb-after-publish@relaxed: /);
    const sc = await exploreScenario(scenario, { model: "sc" });
    expect(sc.result.violation).toBeUndefined();
    expect(sc.result.complete).toBe(true);
    expect(sc.text).not.toMatch(/--variant/); // the scenario chose its code
  });

  it("is validated with the scenario, its errors naming the field under variant", () => {
    expect(() => validateScenario({ ...scenario, variant: withUnmap([{ op: "nope" }]) }, "my.json"))
      .toThrow(/^my\.json: variant\.unmap\[0\]\.op must be one of the known ops/);
    expect(() => validateScenario({ ...scenario, variant: "hoisted" }, "my.json")).toThrow(/variant must be one of merged/);
    expect(validateScenario({ ...SEED_RACE, variant: "v2-hoisted" })).toBeDefined(); // names stay valid
  });

  it("from the CLI: a scenario file with its own variant, --variant FILE, a replay of it, a bad file refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "iommu-sim-variant-"));
    const scFile = join(dir, "moved.json");
    writeFileSync(scFile, JSON.stringify({ ...SEED_RACE, name: undefined, variant: WMB_LATE }));
    const caught = await cli("explore", scFile, "--model", "relaxed");
    expect(caught.code).toBe(1);
    expect(caught.out).toContain(`${scFile}@wmb-after-publish@relaxed:`);
    const line = /--replay "(.+)"/.exec(caught.out)![1]!;
    const rep = await cli("explore", "--replay", line);
    expect(rep.code).toBe(1);
    expect((await cli("explore", scFile, "--model", "sc")).code).toBe(0);

    const vFile = join(dir, "wmb-late.json");
    writeFileSync(vFile, JSON.stringify(WMB_LATE));
    const viaFlag = await cli("explore", "seed-race", "--variant", vFile, "--model", "relaxed");
    expect(viaFlag.code).toBe(1);
    expect(viaFlag.out).toContain(`seed-race@${vFile}@relaxed:`);
    const line2 = /--replay "(.+)"/.exec(viaFlag.out)![1]!;
    expect((await cli("explore", "--replay", line2)).code).toBe(1);

    // A scenario file may name a variant file beside it.
    const beside = join(dir, "beside.json");
    writeFileSync(beside, JSON.stringify({ ...SEED_RACE, name: undefined, variant: "wmb-late.json" }));
    const viaBeside = await cli("explore", beside, "--model", "relaxed");
    expect(viaBeside.code).toBe(1);
    expect(viaBeside.out).toContain(`${beside}@wmb-after-publish@relaxed:`);
    expect((await cli("explore", "--replay", /--replay "(.+)"/.exec(viaBeside.out)![1]!)).code).toBe(1);

    const badFile = join(dir, "bad.json");
    writeFileSync(badFile, JSON.stringify(withUnmap([{ op: "clear" }])));
    const bad = await cli("explore", "seed-race", "--variant", badFile);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain(`${badFile}: unmap[0].op must be one of the known ops`);
    expect((await cli("explore", "seed-race", "--variant", join(dir, "missing.json"))).code).toBe(2);
    writeFileSync(beside, JSON.stringify({ ...SEED_RACE, name: undefined, variant: "bad.json" }));
    const badBeside = await cli("explore", beside);
    expect(badBeside.code).toBe(2);
    expect(badBeside.out).toContain(`${join(dir, "bad.json")}: unmap[0].op must be one of the known ops`);
  });
});

describe("a scenario and a variant exported as a C litmus test", () => {
  /** The explorer's verdict (a violation found) and the litmus test's (its exists clause reached). */
  async function verdicts(variant: SeedVariant | VariantDefinition, model: MemoryModel) {
    const explored = await exploreScenario("seed-race", { variant, model, maxSchedules: 300_000 });
    expect(explored.result.complete || !!explored.result.violation).toBe(true);
    const test = parseLitmus(exportLitmus("seed-race", { variant }), "exported.litmus");
    const lit = runLitmus(test, { model });
    return { explorer: !!explored.result.violation, litmus: lit.positive > 0 };
  }

  const cases: [string, SeedVariant | VariantDefinition, boolean, boolean][] = [
    // variant, bad under sc, bad under relaxed: the seed verdicts
    ["merged", "merged", false, false],
    ["no-wmb", "no-wmb", false, true],
    ["v2-two-reads", "v2-two-reads", false, true],
    ["v2-hoisted", "v2-hoisted", true, true],
    ["wmb-after-publish", WMB_LATE, false, true],
  ];
  it.each(cases)("%s: the litmus test parses, and reaches its exists clause exactly when the explorer finds a violation", async (_, variant, sc, relaxed) => {
    for (const [model, bad] of [["sc", sc], ["relaxed", relaxed]] as const) {
      const v = await verdicts(variant, model);
      expect(v, model).toEqual({ explorer: bad, litmus: bad });
    }
  }, 120_000);

  it("is herd7's dialect: P0.. with the modelled words as parameters, marked and plain accesses, barriers, guards, an exists clause", () => {
    const text = exportLitmus("seed-race", { variant: "v2-hoisted" });
    expect(text).toMatch(/^C seed-race\+v2-hoisted\n/);
    expect(text).toContain("P0(int *fq, int *fq_domain, int *quirk)");
    expect(text).toContain("\ta = *fq_domain;");
    expect(text).toContain("\tif (a) f = *fq;");
    expect(text).toContain("\t*fq_domain = 1;");
    expect(text).toMatch(/Left out \(no modelled access\): C, dev\./);
    expect(text).toMatch(/\nexists \(\(0:a=0 \/\\ \(~0:k=0 \\\/ ~0:b=0\)\) \\\/ \(~0:a=0 \/\\ 0:f=0\)\)\n$/);
    const merged = exportLitmus("seed-race", { variant: "merged" });
    expect(merged).toContain("\tq = READ_ONCE(*fq_domain);");
    expect(merged).toContain("\tWRITE_ONCE(*fq_domain, 1);");
    expect(merged).toContain("\tsmp_wmb();");
    expect(parseLitmus(merged, "m.litmus").program.threads.map((t) => t.name)).toEqual(["P0", "P1"]);
  });

  it("starts from the state the scenario's setup leaves, and refuses bad options", () => {
    const lazyFirst: Scenario = { ...SEED_RACE, setup: [{ switch: "lazy" }, ...SEED_RACE.setup!] };
    const text = exportLitmus(lazyFirst, { variant: "v2-two-reads", name: "already-lazy" });
    expect(text).toMatch(/^C already-lazy\n/);
    expect(text).toContain("{ fq_domain=1; fq=1; quirk=1; }");
    expect(runLitmus(parseLitmus(text, "t.litmus"), { model: "sc" }).verdict).toBe("Never");
    expect(() => exportLitmus("seed-race", { varient: "merged" } as never)).toThrow(/varient is not a known option/);
    expect(() => exportLitmus("no-such")).toThrow(/exportLitmus: scenario is not a built-in scenario/);
  });

  it("refuses a scenario with no modelled shared access (no thread switches or unmaps) instead of writing a test with no process", () => {
    for (const name of ["split-race", "fq-timeout-teardown", "probe-race"]) {
      expect(() => exportLitmus(name)).toThrow(new RegExp(`^exportLitmus: scenario has no modelled shared access to export: no thread switches or unmaps .*got "${name}"$`));
    }
    // A lone switch has accesses, and an exists clause no register decides: still a test the parser takes.
    const text = exportLitmus({ name: "switch-only", threads: { A: [{ switch: "lazy" }] } });
    expect(runLitmus(parseLitmus(text, "s.litmus"), { model: "sc" }).verdict).toBe("Never");
  });

  it("writes one process per CPU that switches or unmaps; a CPU's second unmap gets registers of its own", () => {
    const sc: Scenario = {
      name: "two-unmappers", setup: [{ map: "old", cpu: "B" }, { map: "old2", cpu: "D" }, { map: "old3", cpu: "B" }],
      threads: { B: [{ unmap: "old" }, { map: "x" }, { unmap: "old3" }], D: [{ unmap: "old2" }], A: [{ switch: "lazy" }],
                 dev: [{ access: "old" }] },
    };
    const text = exportLitmus(sc, { variant: "no-wmb" });
    const test = parseLitmus(text, "two.litmus");
    expect(test.program.threads.map((t) => t.name)).toEqual(["P0", "P1", "P2"]);
    expect(text).toContain("\tq_2 = READ_ONCE(*fq_domain);");
    expect(text).toContain("/* dma_map(x): no modelled access */");
    expect(test.observed).toEqual(expect.arrayContaining(["0:q", "0:f", "0:q_2", "0:f_2", "1:q", "1:f"]));
    expect(runLitmus(test, { model: "sc" }).verdict).toBe("Never");
    expect(runLitmus(test, { model: "relaxed" }).positive).toBeGreaterThan(0);
  });

  it("an unmap that never syncs and always frees is bad on every schedule; one that always syncs never is", () => {
    const sc: Scenario = { name: "lone", setup: [{ map: "old", cpu: "B" }], threads: { B: [{ unmap: "old" }] } };
    const never: VariantDefinition = { ...WMB_LATE, unmap: [{ op: "clear-ptes" }, { op: "free_iova_fast" }] };
    const always = exportLitmus(sc, { variant: never });
    expect(always).toContain("P0(int *fq_domain)");
    expect(runLitmus(parseLitmus(always, "a.litmus"), { model: "sc" }).verdict).toBe("Always");
    const safe: VariantDefinition = { ...WMB_LATE, unmap: [{ op: "clear-ptes" }, { op: "iotlb_sync" }, { op: "free_iova_fast" }] };
    expect(runLitmus(parseLitmus(exportLitmus(sc, { variant: safe }), "s.litmus"), { model: "relaxed" }).verdict).toBe("Never");
  });

  it("from the CLI: --export-litmus writes the file and explores nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "iommu-sim-litmus-"));
    const out = join(dir, "out.litmus");
    const r = await cli("explore", "seed-race", "--variant", "no-wmb", "--export-litmus", out);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`wrote ${out}: seed-race+no-wmb`);
    expect(readFileSync(out, "utf8")).toBe(exportLitmus("seed-race", { variant: "no-wmb" }));
    const lit = await cli("explore", "--litmus", out, "--model", "relaxed");
    expect(lit.code).toBe(1);
    expect(lit.out).toMatch(/Sometimes/);
    const none = join(dir, "split.litmus");
    const refused = await cli("explore", "split-race", "--export-litmus", none);
    expect(refused.code).toBe(2);
    expect(refused.out).toMatch(/exportLitmus: scenario has no modelled shared access to export/);
    expect(existsSync(none)).toBe(false);
  });
});
