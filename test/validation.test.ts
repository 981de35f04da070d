// Input that used to get past unchecked (issue 14): unknown option keys, null options,
// objects of another Simulator, terminal escapes in names, duplicate JSON keys, damaged
// saved reports, deep nesting, the simulator's own memory running out, illegal raw SMMU
// commands, histograms that saturated. Each case gets a named error of the package (or is
// handled), and the test says which.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
// What needs the Wasm core comes from the built package (dist/, as the other tests); the pure
// helpers from src/, checked against src/'s error classes.
import {
  Simulator, ArgumentError, ForeignObjectError, IommuSimError, SimulatorResourceError, UnknownOptionError,
  exploreScenario, runScenario, formatSummary, parseRunReport, ReportError, LitmusError, parseLitmus, replayScript,
  runLitmus, dmaStressScenario, explore, BUILTIN_RUN_SCENARIOS, buildScenario, formatMapBenchmark, SEED_RACE,
  type RunReport, type RunScenarioInput,
} from "../dist/index.js";
import * as S from "../src/errors.js";
import { didYouMean } from "../src/validate.js";
import { terminalText } from "../src/terminal.js";
import { findDuplicateKey, JsonInputError, parseJsonStrict } from "../src/json-input.js";
import { validateScenario } from "../src/explore/scenario.js";
import { LITMUS_MAX_NESTING } from "../src/explore/litmus.js";
import { runDemo } from "../src/demo.js";
import { coreOf } from "./helpers.js";
import { CHURN_MAX_WORKERS, churnOps } from "../src/tasks/pgtable.js";
import { outBase } from "../src/out-base.js";

const PT = { format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48 } as const;
const LITMUS = "C t\n{ x=0; }\nP0(int *x) { WRITE_ONCE(*x, 1); }\nexists (x=1)";

/** The error `f` throws (or the promise rejects with); fails the test if it returns. */
async function thrown(f: () => unknown): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error, got a result");
}

describe("unknown option keys are refused, with the nearest known key", () => {
  let sim: Simulator;
  beforeAll(async () => { sim = await Simulator.create({ ramMiB: 8, kheapMiB: 4 }); });
  afterAll(async () => { await sim.close(); });

  it("Simulator.create: a misspelt profile is not silently the default", async () => {
    const e = await thrown(() => Simulator.create({ profil: "5.15" } as never));
    expect(e).toBeInstanceOf(UnknownOptionError);
    expect(e.message).toMatch(/^Simulator\.create: profil is not a known option \(did you mean 'profile'\?\)/);
    expect((e as UnknownOptionError).suggestion).toBe("profile");
  });

  it("Simulator.create: an unknown key in behaviours is an UnknownOptionError, as in any options object", async () => {
    const e = await thrown(() => Simulator.create({ behaviours: { NOPE: true } } as never));
    expect(e).toBeInstanceOf(UnknownOptionError);
    expect(e.message).toBe("Simulator.create: behaviours.NOPE is not a known key; known: with, without, got true");
    const near = await thrown(() => Simulator.create({ behaviours: { whith: [] } } as never));
    expect((near as UnknownOptionError).suggestion).toBe("with");
    const cpu = await thrown(() => Simulator.create({ cpuCosts: { lokc: 1 } } as never));
    expect(cpu).toBeInstanceOf(UnknownOptionError);
    expect(cpu.message).toMatch(/^Simulator\.create: cpuCosts\.lokc is not a known CPU cost \(did you mean 'lock'\?\)/);
  });

  it("null options are an ArgumentError, not a TypeError", async () => {
    const smmu = sim.createSmmu();
    const dom = sim.createDmaDomain({ smmu });
    const pt = sim.createPageTable(PT);
    const pool = await sim.pool({ workers: 1 });
    const cases: [string, () => unknown][] = [
      ["Simulator.create", () => Simulator.create(null as never)],
      ["createSmmu", () => sim.createSmmu(null as never)],
      ["attachDevice", () => dom.attachDevice(null as never)],
      ["unmapPages", () => pt.unmapPages(0, 4096, 1, null as never)],
      ["mapPages", () => pt.mapPages(0, 0, 4096, 1, 3, null as never)],
      ["pool.run", () => pool.run("pgtable.loop", {}, null as never)],
      ["tick", () => sim.tick(1, null as never)],
    ];
    for (const [where, f] of cases) {
      const e = await thrown(f);
      expect(e, where).toBeInstanceOf(ArgumentError);
      // Optional options say they may be left out; required ones say what they need.
      expect(e.message, where).toMatch(where === "attachDevice" ? /options must be an object \(with at least streamId\), got null/
        : /options must be an object \(or left out\), got null/);
    }
  });

  it("buildScenario, exploreScenario and formatMapBenchmark check what they are given, not a TypeError later", async () => {
    const build = (opts: unknown) => thrown(() => buildScenario(SEED_RACE, opts as never));
    expect(await build({ varaint: "v2-hoisted" })).toBeInstanceOf(UnknownOptionError);
    expect((await build({ varaint: "v2-hoisted" })).message).toMatch(/^buildScenario: varaint is not a known option \(did you mean 'variant'\?\)/);
    expect((await build({ oracle: "no" })).message).toBe('buildScenario: oracle must be true or false, got "no"');
    expect((await build(null)).message).toBe("buildScenario: options must be an object (or left out), got null");
    for (const bad of [undefined, null]) {
      const e = await thrown(() => exploreScenario(bad as never));
      expect(e).toBeInstanceOf(ArgumentError);
      expect(e.message).toMatch(/^explore: scenario must be a built-in scenario's name \(seed-race, .*\) or a scenario \(an object\), got (undefined|null)$/);
    }
    expect(() => formatMapBenchmark({} as never)).toThrow(/^formatMapBenchmark: result\.threads must be a number \(a runMapBenchmark result's\), got undefined$/);
    const line = { threads: 1, seconds: 1, node: -1, dir: 0, granule: 1, avgMap100ns: 1n, mapStddev100ns: 0n, avgUnmap100ns: 18n, unmapStddev100ns: 0n };
    expect(() => formatMapBenchmark({ ...line, avgUnmap100ns: -1 } as never)).toThrow(/result\.avgUnmap100ns must be an integer ≥ 0, a bigint or a string of digits/);
    // A result's JSON form (bigints as strings of digits) still prints.
    expect(formatMapBenchmark({ ...line, avgUnmap100ns: "18" } as never).split("\n")[2]).toBe("average unmap latency(us):1.8 standard deviation:0.0");
  });

  it("fqFlushThrough takes a PageTable of this Simulator or null, said so", () => {
    const iovad = sim.createIovaDomain({ granule: 4096, startPfn: 1, cpus: 1 });
    for (const bad of ["x", { id: 0 }]) {
      expect(() => iovad.fqFlushThrough(bad as never)).toThrow(/^fqFlushThrough: pt must be a PageTable \(Simulator\.createPageTable\) or null, got /);
    }
    iovad.fqFlushThrough(null);
    iovad.destroy();
  });

  it("an ArgumentError keeps the value it got out of its printing (a handle would print the machine behind it)", () => {
    const pt = sim.createPageTable(PT);
    const e = new ArgumentError("pageTable", pt, "must be another table");
    expect(e.value).toBe(pt);
    expect(Object.keys(e)).not.toContain("value");
    expect(inspect(e, { depth: 10 })).not.toMatch(/PageTable \{|layout/);
    pt.release();
  });

  it("every public options object refuses a key it does not have", async () => {
    const smmu = sim.createSmmu();
    const dom = sim.createDmaDomain({ smmu });
    const dev = dom.attachDevice({ streamId: 7 });
    const pt = sim.createPageTable(PT);
    const pool = await sim.pool({ workers: 1 });
    const cases: [() => unknown, string, string | undefined][] = [
      [() => sim.createSmmu({ invalidatAt: "sync" } as never), "invalidatAt", "invalidateAt"],
      [() => sim.createSmmu({ iotlb: { way: 2 } } as never), "iotlb.way", "ways"],
      [() => sim.createSmmu({ costs: { tlbiCost: 1 } } as never), "costs.tlbiCost", undefined],
      [() => sim.createDmaDomain({ smmu, tpye: "DMA-FQ" } as never), "tpye", "type"],
      [() => dom.attachDevice({ streamId: 9, dmamask: 32 } as never), "dmamask", "dmaMask"],
      [() => dev.map(0x1000, 4096, { cpus: 1 } as never), "cpus", "cpu"],
      [() => dev.unmap(0x1000, 4096, { cpu: 0, sync: true } as never), "sync", undefined],
      [() => pt.mapPages(0, 0, 4096, 1, 3, { rwa: true } as never), "rwa", "raw"],
      [() => pt.unmapPages(0, 4096, 1, { gathr: "none" } as never), "gathr", "gather"],
      [() => sim.createPageTable({ ...PT, quirk: 1 } as never), "config.quirk", "quirks"],
      [() => sim.createIovaDomain({ granule: 4096, startPfn: 1, cpu: 2 } as never), "cpu", "cpus"],
      [() => sim.createSmmuDomain(pt, { id: 3, stge: 1 } as never), "stge", "stage"],
      [() => pool.run("pgtable.loop", {}, { timeout: 5 } as never), "timeout", "timeoutMs"],
      [() => sim.pool({ worker: 2 } as never), "worker", "workers"],
      [() => sim.advance(1, { cpus: 0 } as never), "cpus", "cpu"],
      [() => exploreScenario("seed-race", { varient: "v2-hoisted" } as never), "varient", "variant"],
      [() => runScenario(tinyScenario("t"), { worker: 1 } as never), "worker", "workers"],
      [() => runScenario(tinyScenario("t"), { keepOpen: true } as never), "keepOpen", undefined],
      [() => replayScript("", { profile: "7.1", iovasearch: "fast" } as never), "iovasearch", "iovaSearch"],
      [() => runLitmus(LITMUS, { model: "sc", maxCandidate: 3 } as never),
        "maxCandidate", "maxCandidates"],
      [() => dmaStressScenario("7.1", { mapper: 2 } as never), "mapper", "mappers"],
      [() => smmu.submit({ op: "TLBI_NH_VA", adr: 0 } as never), "adr", "addr"],
      [() => smmu.submit({ op: "CMD_SYNC", asid: 1 } as never), "asid", undefined],
      [() => explore(parseLitmus(LITMUS).program, { model: "sc", maxSchedule: 1 } as never), "maxSchedule", "maxSchedules"],
    ];
    for (const [f, key, suggestion] of cases) {
      const e = await thrown(f);
      expect(e, key).toBeInstanceOf(UnknownOptionError);
      expect((e as UnknownOptionError).key, key).toBe(key);
      expect((e as UnknownOptionError).suggestion, key).toBe(suggestion);
    }
  });

  it("suggests only near keys", () => {
    expect(didYouMean("profil", ["profile", "ramMiB"])).toBe("profile");
    expect(didYouMean("tpye", ["type", "variant"])).toBe("type");
    expect(didYouMean("RAMMIB", ["ramMiB"])).toBe("ramMiB");
    expect(didYouMean("banana", ["profile", "ramMiB"])).toBeUndefined();
    // An abbreviation past the edit limit: suggested only where one key alone fits it.
    expect(didYouMean("secs", ["seconds", "threads", "mode"])).toBe("seconds");
    expect(didYouMean("thr", ["seconds", "threads", "mode"])).toBe("threads");
    expect(didYouMean("sz", ["size", "seconds"])).toBeUndefined(); // two letters: too short to tell
    expect(didYouMean("ses", ["seconds", "sizes"])).toBeUndefined(); // both fit: no guess
    expect(didYouMean("ecs", ["seconds"])).toBeUndefined(); // not its first letter
  });
});

describe("objects must belong to this simulator and domain", () => {
  let a: Simulator, b: Simulator;
  beforeAll(async () => {
    a = await Simulator.create({ ramMiB: 8, kheapMiB: 4 });
    b = await Simulator.create({ ramMiB: 8, kheapMiB: 4 });
  });
  afterAll(async () => { await a.close(); await b.close(); });

  it("refuses another Simulator's SMMU, page table and SMMU domain", async () => {
    const smmuB = b.createSmmu();
    const ptB = b.createPageTable(PT);
    const sdB = b.createSmmuDomain(ptB, { id: 5 });
    const smmuA = a.createSmmu();
    for (const f of [() => a.createDmaDomain({ smmu: smmuB }), () => a.createSmmuDomain(ptB, { id: 6 }),
                     () => smmuA.attachDevice(4, sdB)]) {
      const e = await thrown(f);
      expect(e).toBeInstanceOf(ForeignObjectError);
      expect(e.message).toMatch(/of this Simulator, not one made by another Simulator/);
    }
    // Not a handle at all: a plain object with the right shape.
    const e = await thrown(() => a.createDmaDomain({ smmu: { id: 0, attachDevice() {} } as never }));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/smmu must be an Smmu \(Simulator\.createSmmu\), got an object/);
  });

  it("refuses a second SMMU domain on one page table (its invalidations would leave the first's devices stale)", async () => {
    const pt = a.createPageTable(PT);
    const first = a.createSmmuDomain(pt, { id: 11 });
    const e = await thrown(() => a.createSmmuDomain(pt, { id: 12 }));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/already has an SMMU domain/);
    // Once the first is gone the table can have another.
    first.destroy();
    expect(a.createSmmuDomain(pt, { id: 12 }).asidOrVmid).toBe(12);
    // The core refuses it too (for callers that skip the bindings, such as a worker).
    const L = coreOf(a).layout;
    expect(coreOf(a).raw.pgt_set_smmu_domain(pt.id, first.id === 0 ? 1 : 0)).toBeLessThan(0);
    expect(L.ESIM_TABLE_HAS_SMMU_DOMAIN).toBeGreaterThan(4096);
  });

  it("refuses a stage the table's format is not (the SMMU would read its descriptors as the other stage's)", async () => {
    const s1 = a.createPageTable(PT);
    const e = await thrown(() => a.createSmmuDomain(s1, { id: 13, stage: 2 }));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toBe("createSmmuDomain: stage must be the page table's own stage (1): its format arm-lpae-s1 is a " +
      "stage-1 one, and the SMMU walks a table as its domain's stage has them, got 2 (0x2)");
    const s2 = a.createPageTable({ ...PT, format: "arm-lpae-s2" });
    expect(() => a.createSmmuDomain(s2, { id: 13, stage: 1 })).toThrow(/stage must be the page table's own stage \(2\)/);
    // Nothing was made: the tables take a domain of their own stage.
    expect(a.createSmmuDomain(s1, { id: 13, stage: 1 }).stage).toBe(1);
    expect(a.createSmmuDomain(s2, { id: 14 }).stage).toBe(2);
  });
});

describe("each domain on an SMMU has a context (ASID, VMID) of its own", () => {
  let sim: Simulator;
  beforeAll(async () => { sim = await Simulator.create({ ramMiB: 8, kheapMiB: 8 }); });
  afterAll(async () => { await sim.close(); });

  it("createDmaDomain refuses an ASID in use on its SMMU, naming the domain that has it", async () => {
    const smmu = sim.createSmmu({ oracle: true });
    const first = sim.createDmaDomain({ smmu, cpus: 1, asid: 7 });
    const e = await thrown(() => sim.createDmaDomain({ smmu, cpus: 1, asid: 7 }));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toBe(`createDmaDomain: asid is already in use on SMMU ${smmu.id} by SMMU domain ${first.smmuDomain.id} ` +
      "(a DmaDomain's is its smmuDomain); each domain on an SMMU needs its own ASID, got 7 (0x7)");
    // Another SMMU has ASIDs of its own; and once the holder is gone its ASID is free again.
    const other = sim.createSmmu();
    sim.createDmaDomain({ smmu: other, cpus: 1, asid: 7 }).destroy();
    first.destroy();
    sim.createDmaDomain({ smmu, cpus: 1, asid: 7 }).destroy();
    other.destroy();
    smmu.destroy();
  });

  it("an ASID left out skips those in use, explicit 0 included", async () => {
    const smmu = sim.createSmmu();
    const taken = [0, 1, 2, 3, 4, 5].map((asid) => sim.createDmaDomain({ smmu, cpus: 1, asid }));
    const auto = [sim.createDmaDomain({ smmu, cpus: 1 }), sim.createDmaDomain({ smmu, cpus: 1 })];
    const asids = [...taken, ...auto].map((d) => d.smmuDomain.asidOrVmid);
    expect(new Set(asids).size).toBe(asids.length);
    for (const d of [...taken, ...auto]) d.destroy();
    smmu.destroy();
  });

  it("attachDevice refuses an SMMU domain whose ASID or VMID another domain there has", async () => {
    const smmu = sim.createSmmu();
    const s1 = { ...PT };
    const s2 = { format: "arm-lpae-s2", pgsizeBitmap: 0x40201000, ias: 40, oas: 40 } as const;
    const a = sim.createSmmuDomain(sim.createPageTable(s1), { id: 5 });
    smmu.attachDevice(1, a);
    const b = sim.createSmmuDomain(sim.createPageTable(s1), { id: 5 });
    const e = await thrown(() => smmu.attachDevice(2, b));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(new RegExp(`^attachDevice: domain has ASID 5, which is already in use on SMMU ${smmu.id} ` +
      `by SMMU domain ${a.id} .*got "SMMU domain ${b.id} \\(ASID 5\\)"$`));
    expect(smmu.streamIds).toEqual([1]);
    // VMID 5 at stage 2 is another context; a second VMID 5 is not.
    smmu.attachDevice(3, sim.createSmmuDomain(sim.createPageTable(s2), { id: 5 }));
    const e2 = await thrown(() => smmu.attachDevice(4, sim.createSmmuDomain(sim.createPageTable(s2), { id: 5 })));
    expect(e2.message).toMatch(/domain has VMID 5, which is already in use/);
    smmu.destroy();
  });

  it("ASID 0 and VMID 0 are one cache context: one SMMU takes a domain with either, not both", async () => {
    // Both would be tagged 0 in its caches: the second device translated through the first's IOTLB entries.
    const s2 = { format: "arm-lpae-s2", pgsizeBitmap: 0x40201000, ias: 40, oas: 40 } as const;
    const table = (stage: 1 | 2) => sim.createPageTable(stage === 1 ? PT : s2);
    for (const first of [1, 2] as const) {
      const second = first === 1 ? 2 : 1;
      const smmu = sim.createSmmu();
      const a = sim.createSmmuDomain(table(first), { stage: first, id: 0 });
      smmu.attachDevice(1, a);
      const e = await thrown(() => smmu.attachDevice(2, sim.createSmmuDomain(table(second), { stage: second, id: 0 })));
      expect(e).toBeInstanceOf(ArgumentError);
      const [mine, theirs] = first === 1 ? ["VMID", "ASID"] : ["ASID", "VMID"];
      expect(e.message).toMatch(new RegExp(`^attachDevice: domain has ${mine} 0, which is the cache context of SMMU domain ` +
        `${a.id} \\(stage ${first}, ${theirs} 0\\) on SMMU ${smmu.id}: .*ASID 0 and VMID 0 cannot both be used on one SMMU`));
      // Any other id at the other stage is a context of its own.
      expect(smmu.attachDevice(2, sim.createSmmuDomain(table(second), { stage: second, id: 1 })).streamId).toBe(2);
      smmu.destroy();
    }
  });

  it("a destroyed SMMU's domains hold no context on the SMMU that reuses its id", async () => {
    const old = sim.createSmmu();
    const dom = sim.createSmmuDomain(sim.createPageTable(PT), { id: 9 });
    old.attachDevice(1, dom);
    old.destroy();
    const fresh = sim.createSmmu();
    expect(fresh.id).toBe(old.id);
    fresh.attachDevice(1, sim.createSmmuDomain(sim.createPageTable(PT), { id: 9 }));
    // The old domain may join another SMMU now (its ASID is taken on this one).
    expect((await thrown(() => fresh.attachDevice(2, dom))).message).toMatch(/ASID 9, which is already in use/);
    const other = sim.createSmmu();
    expect(other.attachDevice(2, dom).streamId).toBe(2);
    fresh.destroy();
    other.destroy();
  });
});

describe("DmaDevice.unmap checks the device's mappings first, as DMA-API debugging does", () => {
  let sim: Simulator;
  beforeAll(async () => { sim = await Simulator.create({ ramMiB: 8, kheapMiB: 8 }); });
  afterAll(async () => { await sim.close(); });

  it("refuses a double unmap, an address never mapped, one inside a mapping and another size, touching nothing", async () => {
    const smmu = sim.createSmmu({ oracle: true });
    const dom = sim.createDmaDomain({ smmu, cpus: 1 });
    const nic = dom.attachDevice({ streamId: 1 });
    const a = nic.map(0x9000_0000, 4096);
    nic.unmap(a, 4096);
    const b = nic.map(0x9100_0000, 8192);
    const before = { dma: dom.stats(), iova: dom.iova.stats() };
    const cases: [() => unknown, RegExp][] = [
      [() => nic.unmap(a, 4096), /^DmaDevice\.unmap: addr was already unmapped \(4096 bytes\).*free its IOVA twice/],
      [() => nic.unmap(0x1234000, 4096), /addr is not mapped by this device.*"device driver tries to free DMA memory it has not allocated", got 19087360/],
      [() => nic.unmap(b + 4096, 4096), new RegExp(`addr is inside the mapping at 0x${b.toString(16)} \\(8192 bytes\\), not its start`)],
      [() => nic.unmap(b, 4096), /size must be the size 0x[0-9a-f]+ was mapped with \(8192 bytes\).*"device driver frees DMA memory with different size", got 4096/],
    ];
    for (const [f, message] of cases) {
      const e = await thrown(f);
      expect(e).toBeInstanceOf(ArgumentError);
      expect(e.message).toMatch(message);
    }
    // Nothing was freed: the IOVA allocator and the domain saw none of it.
    expect({ dma: dom.stats(), iova: dom.iova.stats() }).toEqual(before);
    // Fresh maps get fresh IOVAs, and the right unmap still works.
    const c = nic.map(0x9200_0000, 4096);
    expect(c).not.toBe(b);
    nic.unmap(b, 8192);
    nic.unmap(c, 4096);
    // A mapping of another device of the domain is not this device's to unmap.
    const disk = dom.attachDevice({ streamId: 2 });
    const d = disk.map(0x9300_0000, 4096);
    expect((await thrown(() => nic.unmap(d, 4096))).message).toMatch(/^DmaDevice\.unmap: addr (is not mapped by this device|was already unmapped)/);
    disk.unmap(d, 4096);
    dom.destroy();
    smmu.destroy();
  });

  it("the kernel's short unmap is still there to reproduce: part of the mapping unmapped on the page table first", () => {
    const smmu = sim.createSmmu();
    const dom = sim.createDmaDomain({ smmu, cpus: 1 });
    const nic = dom.attachDevice({ streamId: 1 });
    const a = nic.map(0x9000_0000, 8192);
    expect(dom.pageTable.unmapPages(a, 4096, 1).unmapped).toBe(4096);
    nic.unmap(a, 8192);
    expect(dom.stats().shortUnmaps).toBe(1);
    dom.destroy();
    smmu.destroy();
  });
});

describe("a map the oracle's shadow cannot hold is refused up front, not recorded page by page", () => {
  it("DmaDevice.map and oracle.recordMap take at most oracle.capacity pages", async () => {
    const sim = await Simulator.create({ ramMiB: 8, kheapMiB: 8 });
    try {
      const smmu = sim.createSmmu({ oracle: { capacity: 1024 } });
      const dom = sim.createDmaDomain({ smmu, cpus: 1 });
      const nic = dom.attachDevice({ streamId: 1 });
      nic.unmap(nic.map(0x9000_0000, 1024 * 4096), 1024 * 4096);
      const started = Date.now();
      for (const [size, pages] of [[1024 * 4096 + 1, 1025], [2 ** 40, 2 ** 28]] as const) {
        const e = await thrown(() => nic.map(0x9000_0000, size));
        expect(e).toBeInstanceOf(ArgumentError);
        expect(e.message).toMatch(new RegExp(`^DmaDevice\\.map: size must take at most 1024 IOVA pages of 4 KiB .*` +
          `its shadow has room for 1024 pages \\(oracle\\.capacity.*this map needs ${pages};`));
      }
      // 1 byte at the end of a page needs two.
      expect((await thrown(() => nic.map(0x9000_0fff, 1024 * 4096))).message).toMatch(/this map needs 1025/);
      expect(Date.now() - started).toBeLessThan(1000); // it took minutes when each page was recorded
      expect(dom.stats().maps).toBe(1);
      const pt = sim.createPageTable(PT);
      const sd = sim.createSmmuDomain(pt, { id: 40 });
      const e = await thrown(() => smmu.oracle!.recordMap(sd, 0, 0x9000_0000, 2 ** 40));
      expect(e.message).toMatch(/^oracle\.recordMap: size must take at most 1024 IOVA pages/);
    } finally {
      await sim.close();
    }
  });
});

describe("Smmu.submit: every command's required fields are required", () => {
  it("a command without its ASID, VMID, stream or address is refused, not sent for 0", async () => {
    const sim = await Simulator.create({ ramMiB: 4, kheapMiB: 2 });
    try {
      const smmu = sim.createSmmu();
      const cases: [object, string][] = [
        [{ op: "CMD_TLBI_NH_ASID" }, "asid"], [{ op: "CMD_TLBI_EL2_ASID", vmid: 1 }, "asid"],
        [{ op: "CMD_TLBI_S12_VMALL" }, "vmid"], [{ op: "TLBI_NH_ALL" }, "vmid"],
        [{ op: "CMD_CFGI_STE" }, "streamId"], [{ op: "CMD_CFGI_CD", ssid: 1 }, "streamId"],
        [{ op: "CMD_TLBI_NH_VA", asid: 5 }, "addr"],
      ];
      for (const [cmd, field] of cases) {
        const e = await thrown(() => smmu.submit(cmd as never));
        expect(e).toBeInstanceOf(ArgumentError);
        expect((e as ArgumentError).argument).toBe(field);
        expect(e.message).toMatch(new RegExp(`^Smmu\\.submit: ${field} is required by CMD_\\w+ \\(it takes ${field}`));
      }
      expect((await thrown(() => smmu.submit({ op: "CMD_TLBI_NH_VA", addr: 0, leaf: "yes" } as never))).message)
        .toMatch(/leaf must be true or false, got "yes"/);
      expect(smmu.stats().commands).toBe(0);
      // What may be left out still may: CFGI_ALL's stream, a range TLBI's ASID, leaf, TTL.
      smmu.submit({ op: "CMD_CFGI_ALL" });
      smmu.submit({ op: "CMD_TLBI_NH_VAA", addr: 0x1000 });
      expect(smmu.stats().commands).toBe(2);
    } finally {
      await sim.close();
    }
  });
});

describe("booleans are booleans, and each bound is the field's own", () => {
  it("allocFast's flushRcache, alloc's sizeAligned, setFailAtomic: \"no\" is not true", async () => {
    const sim = await Simulator.create({ ramMiB: 4, kheapMiB: 2 });
    try {
      const iovad = sim.createIovaDomain({ granule: 4096, startPfn: 1 });
      const cases: [() => unknown, RegExp][] = [
        [() => iovad.allocFast(0, 1, 0xfffff, "no" as never), /^allocFast: flushRcache must be true or false, got "no"$/],
        [() => iovad.alloc(1, 0xfffff, "yes" as never), /^alloc: sizeAligned must be true or false, got "yes"$/],
        [() => iovad.setFailAtomic("no" as never), /^setFailAtomic: on must be true or false, got "no"$/],
        [() => sim.advance(1e15), /^advance: ms must be a number of milliseconds from 0 to 2\^42 \(4398046511104\), got 1000000000000000/],
      ];
      for (const [f, message] of cases) {
        const e = await thrown(f);
        expect(e).toBeInstanceOf(ArgumentError);
        expect(e.message).toMatch(message);
      }
      expect(iovad.stats().treeAllocs).toBe(0);
    } finally {
      await sim.close();
    }
  });

  it("memory that ran out is said so, with the option that grows it, not a table's size", async () => {
    const ram = await Simulator.create({ ramMiB: 1, kheapMiB: 4 });
    try {
      const pt = ram.createPageTable({ ...PT, events: 0 });
      // A page every 2 MiB: a last-level table each, until the 1 MiB of RAM is gone.
      for (let i = 0; i < 400 && pt.mapPages(i * 0x20_0000, 0x8000_0000, 0x1000, 1, 1).ret === 0; i++);
      const e = await thrown(() => ram.createPageTable({ ...PT, events: 0 }));
      expect(e.message).toBe("iommu-sim: createPageTable: out of memory (-ENOMEM) — the simulated RAM has no free page for " +
        "its top-level table: create the Simulator with a larger ramMiB (ENOMEM)");
    } finally {
      await ram.close();
    }
    const kheap = await Simulator.create({ kheapMiB: 1 });
    try {
      // Each IOVA domain takes its caches from the kheap: 1 MiB holds fewer than the 64 slots.
      const e = await thrown(() => { for (let i = 0; i < 64; i++) kheap.createIovaDomain({ granule: 4096, startPfn: 1 }); });
      expect(e).toBeInstanceOf(SimulatorResourceError);
      expect((e as Error).message).toBe("iommu-sim: createIovaDomain: out of simulator memory (kheap); create the Simulator " +
        "with a larger kheapMiB (ESIM_KHEAP)");
    } finally {
      await kheap.close();
    }
  });
});

describe("the simulator's own limits, told apart from the kernel's", () => {
  it("an IOVA allocation that fails because the kheap ran out is a SimulatorResourceError, and counted", async () => {
    const sim = await Simulator.create({ ramMiB: 4, kheapMiB: 1 });
    try {
      const iova = sim.createIovaDomain({ granule: 4096, startPfn: 1 });
      let e: unknown;
      for (let i = 0; i < 100_000 && !e; i++) {
        try {
          // The kernel would not run out here: 2^36 pages of IOVA space, 64 B of slab per range.
          expect(iova.alloc(1, 2 ** 36)).not.toBeNull();
        } catch (err) {
          e = err;
        }
      }
      expect(e).toBeInstanceOf(SimulatorResourceError);
      expect((e as Error).message).toMatch(/simulator's own memory \(kheap\) ran out.*larger kheapMiB/);
      expect(sim.memoryStats().kheapAllocFailures).toBeGreaterThan(0);
    } finally {
      await sim.close();
    }
  });

  it("a raw SMMU command with an illegal opcode is refused and counted apart (CERROR_ILL)", async () => {
    const sim = await Simulator.create({ ramMiB: 4, kheapMiB: 2 });
    try {
      const smmu = sim.createSmmu();
      smmu.submit({ op: "CMD_SYNC" });
      const before = smmu.stats();
      const e = await thrown(() => smmu.submitRaw(0x99n, 0n));
      expect(e).toBeInstanceOf(ArgumentError);
      expect(e.message).toMatch(/^Smmu\.submitRaw: dw0 has an opcode that is not an SMMUv3 command .*CERROR_ILL.* opcode 0x99/);
      const after = smmu.stats();
      expect(after.illegalCommands).toBe(1);
      expect(after.commands).toBe(before.commands);
      // A defined command the model does not act on (PREFETCH_CONFIG) is still legal.
      smmu.submitRaw(0x01n, 0n);
      expect(smmu.stats().commands).toBe(before.commands + 1);
    } finally {
      await sim.close();
    }
  });

  it("latency histograms cover every u64 value: no catch-all bucket at 2^32 ns", async () => {
    const sim = await Simulator.create({ ramMiB: 4, kheapMiB: 2 });
    try {
      const L = coreOf(sim).layout;
      const last = coreOf(sim).raw.wl_hist_floor(L.WL_HIST_BUCKETS - 1);
      expect(last).toBeGreaterThanOrEqual(2 ** 63);
      // 4 buckets per power of two all the way up: the bound after 2^32 ns is still 2^32 · 5/4.
      expect(coreOf(sim).raw.wl_hist_floor(31 * 4 + 1)).toBe(2 ** 32 * 1.25);
      // Every bucket holds values (0–3 one each, then 4 per octave), so the floors ascend.
      const floors = Array.from({ length: L.WL_HIST_BUCKETS }, (_, b) => coreOf(sim).raw.wl_hist_floor(b));
      expect(floors.slice(0, 9)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      expect(floors.filter((f, b) => b > 0 && f <= floors[b - 1]!)).toEqual([]);
    } finally {
      await sim.close();
    }
  });
});

describe("an attacker that measured nothing", () => {
  it("makes the outcome say so and why, instead of a bare ok", async () => {
    // One op on a worker of its own: it is done before its victim has unmapped anything
    // (almost always; the check below holds either way).
    const report = await runScenario({
      name: "idle-attacker", workers: 2, cpus: 2, domains: [{ name: "nic", type: "DMA-FQ" }],
      devices: [{ name: "eth0", domain: "nic", streamId: 1 }],
      workloads: [{ kind: "nic-rx", name: "rx", device: "eth0", cpus: [0], ops: 3000 },
                  { kind: "attacker", name: "evil", victim: "rx", cpus: [1], keep: 32, ops: 1 }],
    });
    const warned = /WARNING: attacker "evil" measured nothing: it retried no unmapped IOVA, because its victim "rx" \(cpu 0\) unmapped none while it ran \(it ran its 1 op first; leave out its ops/;
    if (report.attacker.retries === 0) expect(report.outcome.message).toMatch(warned);
    else expect(report.outcome.message).not.toMatch(/measured nothing/);
  });
});

describe("text reaching a terminal is escaped", () => {
  it("control characters show as escapes; printable text (tabs, Unicode) is unchanged; idempotent", () => {
    expect(terminalText("a\x1b[2Jb")).toBe("a\\x1b[2Jb");
    expect(terminalText("x\nOutcome: ok")).toBe("x\\nOutcome: ok");
    expect(terminalText("\r\x07\x7f\x9b\u2028\u202e")).toBe("\\r\\x07\\x7f\\x9b\\u2028\\u202e");
    expect(terminalText("tab\there · µs ✓")).toBe("tab\there · µs ✓");
    const once = terminalText("\x1b]0;title\x07");
    expect(terminalText(once)).toBe(once);
  });

  it("a scenario name cannot clear the screen or forge the summary's Outcome line", async () => {
    const report = await runScenario(tinyScenario("evil\x1b[2J\nOutcome:     ok"), { workers: 1 });
    const lines = formatSummary(report);
    expect(lines.join("\n")).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(lines.filter((l) => l.startsWith("Outcome:"))).toHaveLength(1);
    expect(lines[0]).toContain("evil\\x1b[2J\\nOutcome:");
  });
});

describe("duplicate JSON keys are refused", () => {
  it("names the key, the object and the line", () => {
    const e = (() => { try { parseJsonStrict('{"a": 1,\n "b": {"c": [1, {"d": 2, "d": 3}]}}', "f.json"); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(JsonInputError);
    expect((e as Error).message).toBe('f.json: line 2: the key "d" appears twice in the object at b.c[1] ' +
      "(JSON would keep only the last; remove one)");
    expect(() => parseJsonStrict('{"workers": 1, "workers": 8}', "s.json")).toThrow(/"workers" appears twice in the top-level object/);
    // Equal after unescaping is equal.
    expect(findDuplicateKey('{"ab": 1, "a\\u0062": 2}')?.key).toBe("ab");
    // The same key in different objects, and keys inside strings, are fine.
    expect(parseJsonStrict('[{"a": 1}, {"a": 2, "s": "{\\"a\\": 1, \\"a\\": 2}"}]', "ok.json")).toHaveLength(2);
    expect(() => parseJsonStrict("{", "bad.json")).toThrow(/^bad\.json: not JSON: /);
  });

  it("walks 100,000 levels of nesting without overflowing the stack", () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    let r: unknown;
    try { r = parseJsonStrict(deep, "deep.json"); } catch (e) { r = e; }
    // Whatever JSON.parse makes of it, the answer is a value or a JsonInputError, never a RangeError.
    expect(r instanceof RangeError).toBe(false);
    if (r instanceof Error) expect(r).toBeInstanceOf(JsonInputError);
  });
});

describe("explore scenarios: unknown fields and wrong shapes", () => {
  const base = { profile: "5.15", setup: [{ map: "x" }], threads: { B: [{ unmap: "x" }], dev: [{ access: "x" }] } };
  it("refuses a misspelt field instead of exploring the merged code", () => {
    const e = (() => { try { validateScenario({ ...base, varient: "v2-hoisted" }, "sc.json"); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(S.UnknownOptionError);
    expect((e as Error).message).toMatch(/^sc\.json: varient is not a known field \(did you mean 'variant'\?\)/);
  });
  it("refuses a setup that is not a list, an operation with a stray field, a non-object", () => {
    expect(() => validateScenario({ ...base, setup: { map: "x" } })).toThrow(/setup must be a list of operations, got an object/);
    expect(() => validateScenario({ ...base, setup: [{ unmap: "x", cpu: "B" }] })).toThrow(S.UnknownOptionError);
    expect(() => validateScenario({ ...base, threads: { B: [{ access: "x", knd: "read" }] } })).toThrow(/did you mean 'kind'/);
    expect(() => validateScenario([base])).toThrow(S.ArgumentError);
    expect(() => validateScenario({ ...base, threads: [] })).toThrow(S.ArgumentError);
  });
  const refusal = (sc: unknown) => (() => { try { validateScenario(sc, "sc.json"); } catch (x) { return x as Error; } })();
  it("refuses a buffer unmapped more times than it is mapped, in any order of the threads, naming the operation", () => {
    const twice = refusal({ setup: [{ map: "old" }, { access: "old" }],
                            threads: { B: [{ unmap: "old" }], C: [{ unmap: "old" }], D: [{ map: "new" }], dev: [{ access: "old" }] } });
    expect(twice).toBeInstanceOf(S.ArgumentError);
    expect(twice!.message).toMatch(/^sc\.json: threads\.C\[0\]\.unmap unmaps a buffer more times than it is mapped: in some order of the threads it is unmapped 2 times \(threads\.B\[0\], threads\.C\[0\]\) but mapped 1 time \(setup\[0\]\).*got "old"$/);
    expect(refusal({ setup: [{ map: "old" }, { unmap: "old" }, { unmap: "old" }], threads: { A: [{ map: "x" }] } })!.message)
      .toMatch(/^sc\.json: setup\[2\]\.unmap unmaps a buffer more times than it is mapped: in the setup it is unmapped 2 times/);
    expect(refusal({ setup: [{ map: "old" }], threads: { A: [{ unmap: "old" }, { unmap: "old" }] } })!.message)
      .toMatch(/^sc\.json: threads\.A\[1\]\.unmap unmaps a buffer more times/);
    // Another CPU's map may come after the unmap.
    expect(refusal({ threads: { A: [{ unmap: "old" }], B: [{ map: "old" }] } })!.message)
      .toMatch(/^sc\.json: threads\.A\[0\]\.unmap unmaps a buffer that is not mapped before it in some order of the threads/);
    // A thread that maps before it unmaps again adds nothing another CPU's unmap could race with.
    expect(refusal({ setup: [{ map: "x" }], threads: { A: [{ map: "x" }, { unmap: "x" }], B: [{ unmap: "x" }] } })).toBeUndefined();
    expect(refusal({ setup: [{ map: "x" }, { unmap: "x" }, { map: "x" }], threads: { A: [{ unmap: "x" }, { map: "x" }, { unmap: "x" }] } })).toBeUndefined();
  });
  it("refuses cpu on a thread's operation (it only places setup operations), and a setup cpu that is no thread, by path", () => {
    expect(refusal({ threads: { B: [{ map: "old", cpu: "Q" }] } })!.message)
      .toBe(`sc.json: threads.B[0].cpu is only for setup operations (a thread's operations run on that thread's CPU), got "Q"`);
    expect(refusal({ setup: [{ map: "old", cpu: "Z" }], threads: { A: [{ unmap: "old" }] } })!.message)
      .toBe(`sc.json: setup[0].cpu must be one of the threads (A), got "Z"`);
  });
  it("refuses an access of a buffer that some order of the threads reaches before any map", () => {
    expect(refusal({ threads: { A: [{ map: "x" }], dev: [{ access: "x" }] } })!.message)
      .toMatch(/^sc\.json: threads\.dev\[0\]\.access names a buffer with no IOVA yet: map \(or iommuMap\) it in the setup or earlier in this thread/);
    expect(refusal({ threads: { A: [{ map: "x" }, { access: "x" }] } })).toBeUndefined();
  });
});

describe("deep nesting in a litmus file", () => {
  const test = (cond: string) => `C deep\n{ x=0; }\nP0(int *x) { WRITE_ONCE(*x, 1); }\nexists (${cond})`;
  it("is a LitmusError at the token that goes too deep, not a stack overflow", () => {
    for (const cond of ["(".repeat(100_000) + "x=1" + ")".repeat(100_000), Array(50_000).fill("x=1").join(" /\\ "),
                        "~".repeat(100_000) + "x=1"]) {
      const e = (() => { try { parseLitmus(test(cond), "deep.litmus"); } catch (x) { return x; } })();
      expect(e).toBeInstanceOf(LitmusError);
      expect((e as Error).message).toMatch(new RegExp(`^deep\\.litmus:4:\\d+: nested deeper than ${LITMUS_MAX_NESTING} levels`));
    }
    // Ordinary nesting is fine.
    expect(parseLitmus(test("((x=1) /\\ ~(x=0))")).name).toBe("deep");
  });
});

describe("the demo's worker count", () => {
  it("is refused above the chunks a region has (they would overlap)", async () => {
    expect(CHURN_MAX_WORKERS).toBe(32);
    const e = await thrown(() => runDemo({ profile: "7.1", workers: 33, ops: 10, print: () => {} }));
    expect(e).toBeInstanceOf(S.ArgumentError);
    expect(e.message).toMatch(/^demo: workers must be an integer in \[1, 32\], got 33/);
    expect(() => churnOps({ table: 0, seed: 1, ops: 10, base: 0, regions: 1 }, 0, 33)).toThrow(S.ArgumentError);
  });
});

describe("--out names a file base, not a directory", () => {
  const dir = mkdtempSync(join(tmpdir(), "iommu-sim-out-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it("refuses a directory (trailing slash, or one that exists) and says what to write", () => {
    mkdirSync(join(dir, "files"));
    for (const out of [`${dir}/files/`, `${dir}/files`, `${dir}/new/`, ".json", ".", ".."]) {
      expect(() => outBase(out), out).toThrow(/not a directory: e\.g\. --out .*\/report writes .*\/report\.json/);
    }
    expect(outBase(`${dir}/files/report.json`)).toBe(`${dir}/files/report`);
    expect(outBase("report.HTML")).toBe("report");
  });
});

/** One CPU of map/unmap pairs: a run that takes well under a second. */
function tinyScenario(name: string): RunScenarioInput {
  return {
    name, workers: 1, cpus: 1, domains: [{ name: "d" }], devices: [{ name: "e", domain: "d", streamId: 1 }],
    workloads: [{ kind: "pairs", device: "e", cpus: [0], ops: 200 }],
  };
}

describe("saved reports are checked field by field", () => {
  let report: RunReport;
  beforeAll(async () => { report = await runScenario(tinyScenario("tiny"), { workers: 1 }); });

  it("a report the runner wrote passes, through JSON and back", () => {
    expect(parseRunReport(JSON.parse(JSON.stringify(report)), "r.json")).toEqual(report);
    expect(report.totals.kheapAllocFailures).toBe(0);
  });

  it("an attacker's report passes too: its windows of 0–3 µs sit in buckets whose bounds ascend", async () => {
    const sc = structuredClone(BUILTIN_RUN_SCENARIOS.attacker);
    for (const w of sc.workloads) w.ops = 20_000;
    const r = await runScenario(sc, { workers: 1 });
    expect(r.attackerWindow.samples).toBeGreaterThan(0);
    expect(r.attackerWindow.bounds[0]).toBeLessThan(4);
    expect(parseRunReport(JSON.parse(JSON.stringify(r)), "attacker.json")).toEqual(r);
  });

  it("takes what real runs write: a sampled hit rate a little over 1 (counters read while workers run)", () => {
    const r = structuredClone(report);
    r.series = [{ tUs: 1, ops: 10, wallMs: 0.5, iotlbHitRate: 1.052734375, fqOccupancy: 0, lazyDomains: 0 }];
    expect(parseRunReport(r, "r.json").series[0]!.iotlbHitRate).toBe(1.052734375);
  });

  it("reads back a run of 128 CPUs: its series has a count per CPU, as many as a scenario may have", async () => {
    const cpus = [...Array(128).keys()];
    const r = await runScenario({ ...tinyScenario("wide"), cpus: 128, workloads: [{ kind: "pairs", device: "e", cpus, ops: 20 }] }, { workers: 1 });
    expect(r.series.at(-1)!.cpuOps).toHaveLength(128);
    expect(parseRunReport(JSON.parse(JSON.stringify(r)), "wide.json")).toEqual(r);
  });

  it("reads a report saved before line transfers had a part of their own (they were in work), or walkers were modelled", () => {
    const r = structuredClone(report) as any;
    for (const c of r.perCpu) delete c.time.lineTransfer;
    delete r.smmu.walksQueued;
    delete r.smmu.walkWaitNs;
    const old = parseRunReport(r, "old.json");
    expect(old.perCpu.map((c) => c.time.lineTransfer)).toEqual(report.perCpu.map(() => 0));
    expect([old.smmu.walksQueued, old.smmu.walkWaitNs]).toEqual([0, 0]);
    r.perCpu[0].time.lineTransfer = -1;
    expect(() => parseRunReport(r, "old.json")).toThrow(/perCpu\[0\]\.time\.lineTransfer: expected a value of type number ≥ 0, found -1/);
  });

  it("a damaged one is a ReportError naming the field, never a TypeError or a printed undefined", () => {
    const damage: [string, (r: any) => void, RegExp][] = [
      ["1e308", (r) => { r.totals.ops = 1e308; }, /totals\.ops: /],
      ["missing", (r) => { delete r.latency; }, /latency: required field missing/],
      ["null", (r) => { r.perCpu[0].mapLatency = null; }, /perCpu\[0\]\.mapLatency: expected an object, found null/],
      ["unknown", (r) => { r.extra = 1; }, /extra: unknown field/],
      ["type", (r) => { r.outcome.status = "fine"; }, /outcome\.status: expected one of "ok", "violations"/],
      ["string", (r) => { r.smmu.commands.CMD_SYNC = "3"; }, /smmu\.commands\.CMD_SYNC: /],
      ["lengths", (r) => { r.latency.map.counts.push(1); }, /latency\.map\.counts: expected as many entries as bounds/],
      ["negative", (r) => { r.timing.wallMs = -1; }, /timing\.wallMs: /],
      // Fields that contradict each other, as no run writes them.
      ["no CPUs", (r) => { r.perCpu = []; }, /totals\.ops: is 200, but the CPUs' own \(perCpu\[\]\.ops\) add up to 0/],
      ["too many CPUs", (r) => { r.scenario.cpus = 1e9; }, /scenario\.cpus: expected an integer ≤ 128, found 1000000000/],
      ["a CPU not the scenario's", (r) => { r.perCpu[0].cpu = 5; }, /perCpu\[0\]\.cpu: cpu 5 is not one of the scenario's 1 \(scenario\.cpus\)/],
    ];
    for (const [what, f, re] of damage) {
      const r = structuredClone(report) as any;
      f(r);
      const e = (() => { try { parseRunReport(r, "r.json"); } catch (x) { return x; } })();
      expect(e, what).toBeInstanceOf(ReportError);
      expect((e as Error).message, what).toMatch(/^r\.json: /);
      expect((e as Error).message, what).toMatch(re);
    }
    for (const notReport of [null, [], "x", { tool: "other" }]) {
      expect(() => parseRunReport(notReport, "x.json")).toThrow(/^x\.json is not an iommu-sim run report/);
    }
  });
});

describe("a signal or callback option that is not one", () => {
  it("is refused up front with an ArgumentError by every call that takes it, not a TypeError later", async () => {
    const D = await import("../dist/index.js");
    const N = await import("../dist/node.js");
    const spec = N.loadSweep({ base: "nic", axes: { "workloads[0].ops": [10, 20] } });
    const sc = { ...BUILTIN_RUN_SCENARIOS.nic, events: [] } as RunScenarioInput;
    const notASignal = { aborted: false };
    const cases: [string, () => unknown][] = [
      ["runScenario", () => runScenario(sc, { signal: notASignal as never })],
      ["dma_map_benchmark", () => D.runMapBenchmark({ signal: notASignal as never })],
      ["runSweep", () => N.runSweep(spec, { signal: notASignal as never })],
      ["runBug", () => D.runBug(D.BUG_ZOO[0]!, { signal: notASignal as never })],
      ["runPoint", () => N.runPoint(spec, N.expandPoints(spec)[0]!, { ranOn: "local", signal: notASignal as never })],
      ["runSweepOnQueue", () => N.runSweepOnQueue(spec, { queue: "redis://localhost:1", out: "/nonexistent/x.jsonl", signal: notASignal as never })],
      ["runQueueWorker", () => N.runQueueWorker({ queue: "redis://localhost:1", signal: notASignal as never })],
    ];
    for (const [call, f] of cases) {
      const e = await thrown(f);
      expect(e, call).toBeInstanceOf(ArgumentError);
      expect(e.message, call).toBe(`${call}: signal must be an AbortSignal, got an object`);
    }
    for (const k of ["onProgress", "onResult", "onWarning"] as const) {
      const e = await thrown(() => N.runSweep(spec, { [k]: "log" } as never));
      expect(e.message).toBe(`runSweep: ${k} must be a function, got "log"`);
    }
  });
});

describe("errors stay the package's", () => {
  it("every error class here is an IommuSimError", () => {
    for (const C of [UnknownOptionError, ForeignObjectError, SimulatorResourceError, ReportError, LitmusError]) {
      expect(C.prototype).toBeInstanceOf(IommuSimError);
    }
    expect(JsonInputError.prototype).toBeInstanceOf(S.IommuSimError);
  });
});

describe("exported helpers refuse a bad argument with the package's error, naming it", () => {
  it("explore, litmus, sweep, report, trace, profile, bug and benchmark helpers", async () => {
    const D = await import("../dist/index.js");
    const N = await import("../dist/node.js");
    const spec = N.loadSweep({ base: "nic", axes: { "workloads[0].ops": [10, 20] } });
    const cases: [string, () => unknown, RegExp][] = [
      ["formatSchedule(null)", () => D.formatSchedule(null as never, []), /^formatSchedule: program must be an object/],
      ["formatSchedule(p, 5)", () => D.formatSchedule({ threads: [{ name: "A", steps: [] }] }, 5 as never), /^formatSchedule: schedule must be an array/],
      ["parseLitmus(5)", () => D.parseLitmus(5 as never), /^parseLitmus: src must be the litmus test's text \(a string\), got 5/],
      ["runLitmus(null)", () => D.runLitmus(null as never), /^runLitmus: test must be a litmus test/],
      ["formatLitmus(null)", () => D.formatLitmus(null as never), /^formatLitmus: result must be what runLitmus returned, got null/],
      ["formatLitmus({})", () => D.formatLitmus({} as never), /^formatLitmus: result must be what runLitmus returned \(it lacks name, /],
      ["litmusModel('tso')", () => D.litmusModel("tso"), /^litmusModel: model "tso" is not one of/],
      ["pointScenario(spec, null)", () => N.pointScenario(spec, null as never), /^pointScenario: point must be a run's point/],
      ["describePoint(null)", () => N.describePoint(null as never), /^describePoint: point must be a run's point/],
      ["inShard(0, null)", () => N.inShard(0, null as never), /^inShard: shard must be \{ index, count \}/],
      ["inShard(0, 1/0)", () => N.inShard(0, { index: 1, count: 0 }), /^inShard: shard\.count must be an integer in \[1, 1000000\], got 0/],
      ["renderHtmlReport(null)", () => N.renderHtmlReport(null as never), /^renderHtmlReport: report must be a run report/],
      ["renderHtmlReport({})", () => N.renderHtmlReport({} as never), /^renderHtmlReport: report must be a run report .*; it lacks tool, version, /],
      ["formatSummary({})", () => D.formatSummary({} as never), /^formatSummary: report must be a run report .*; it lacks tool, /],
      ["formatCommandEvent({})", () => D.formatCommandEvent({} as never, false), /^formatCommandEvent: event\.command must be a decoded command/],
      ["formatCommandEvent(null)", () => D.formatCommandEvent(null as never, false), /^formatCommandEvent: event must be a command event/],
      ["mapBenchmarkStats({})", () => D.mapBenchmarkStats({} as never), /^mapBenchmarkStats: sums\.loops must be a bigint ≥ 0, got undefined/],
      ["normalizeTrace(5)", () => D.normalizeTrace(5 as never), /^normalizeTrace: lines must be an array of strings/],
      ["runSelftest()", () => (D.runSelftest as (s?: unknown) => unknown)(), /^runSelftest: sim must be a Simulator/],
      ["profileHas('9.9', …)", () => D.profileHas("9.9" as never, "DMA_FQ_SINGLE"), /^profileHas: profile must be one of '5\.15', '6\.12', '7\.1', got "9\.9"/],
      ["profileHas('7.1', 'NOPE')", () => D.profileHas("7.1", "NOPE" as never), /^profileHas: behaviour must be a behaviour's name/],
      ["decodeCommand(1, 2)", () => D.decodeCommand(1 as never, 2 as never), /^decodeCommand: dw0 must be a 64-bit word: a bigint in \[0, 2\^64\), got 1/],
      ["kernelProfile('9.9')", () => D.kernelProfile("9.9" as never), /^kernelProfile: profile must be one of/],
      ["describeKernel('9.9')", () => D.describeKernel("9.9" as never), /^describeKernel: profile must be one of/],
      ["describeKernel('7.1', NOPE)", () => D.describeKernel("7.1", { with: ["NOPE" as never] }), /^describeKernel: overrides\.with\[0\] is not a behaviour/],
      ["dmaStressScenario('9.9')", () => D.dmaStressScenario("9.9" as never, {}), /^dmaStressScenario: profile must be one of/],
      ["runBug(5)", () => D.runBug(5 as never), /^runBug: entry must be a bug zoo entry/],
      ["explore(null)", () => D.explore(null as never, { model: "sc" }), /^explore: program must be an object \{ threads, init\? \}, got null/],
      ["describeFootprints(null)", () => D.describeFootprints(null as never, "sc"), /^describeFootprints: program must be an object/],
      ["compileCore('/nonexistent')", () => D.compileCore("/nonexistent"), /^iommu-sim: could not load the Wasm core from \/nonexistent: /],
      ["compileCore(bytes)", () => D.compileCore(new Uint8Array([1, 2, 3])), /^iommu-sim: the bytes given as the core are not a Wasm module/],
      ["compileCore(5)", () => D.compileCore(5 as never), /^compileCore: core must be core\.wasm/],
      ["Simulator.create({ core })", () => D.Simulator.create({ core: "/nonexistent/core.wasm" }), /could not load the Wasm core from \/nonexistent\/core\.wasm/],
    ];
    for (const [what, f, re] of cases) {
      const e = await thrown(f);
      expect(e, what).toBeInstanceOf(D.IommuSimError);
      expect(e.message, what).toMatch(re);
    }
    // What a good argument gets is unchanged.
    expect(D.describeKernel("7.1", { without: ["SMMU_NONLEAF_TTL0"] })).toBe("7.1 without SMMU_NONLEAF_TTL0");
    expect(N.inShard(5, { index: 1, count: 4 })).toBe(true);
  });

  it("decodeCommand and formatRegisterEvent before any core is loaded: an IommuSimError saying to create a Simulator", () => {
    const code = `import("${new URL("../dist/index.js", import.meta.url).href}").then((D) => { for (const f of [() => D.decodeCommand(0n, 0n), ` +
      `() => D.formatRegisterEvent({ kind: "reg", register: "TLBSYNC", value: 0n, count: 1, step: 1 })]) { try { f(); console.log("returned"); } ` +
      `catch (e) { console.log(e instanceof D.IommuSimError, e.message); } } })`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" });
    expect(r.stdout.trim().split("\n")).toEqual([
      "true iommu-sim: decodeCommand needs the core's constants: create a Simulator (or load the core) first",
      "true iommu-sim: formatRegisterEvent needs the core's constants: create a Simulator (or load the core) first",
    ]);
  });
});
