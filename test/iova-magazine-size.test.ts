// IOVA_MAG_SIZE as a what-if: a domain's magazines may hold another number of PFNs than its
// profile's (128 on 5.15, 127 from 6.7). The reason to have it: a lazy domain's CPU frees the
// 255 IOVAs of its full flush queue at once, and two magazines of 127 hold 254 of them, so
// every flush sends a magazine through the depot, and the CPUs end up taking each other's
// IOVAs (and with them the page-table lines). The test below shows that exchange, and its
// absence when two magazines hold a flush.

import { afterEach, describe, expect, it } from "vitest";
import {
  ArgumentError, PROFILES, Simulator, formatSummary, kernelProfile, parseRunScenario, runMapBenchmark, runScenario, type Profile,
} from "../dist/index.js";
import { CORE_LIMITS } from "../src/core-limits.js";
import { cli, coreOf } from "./helpers.js";

let sim: Simulator | undefined;
afterEach(async () => { await sim?.close(); sim = undefined; });

async function machine(profile: Profile = "7.1"): Promise<Simulator> {
  sim = await Simulator.create({ profile, ramMiB: 4, kheapMiB: 8 });
  return sim;
}

describe("magazineSize: refused when it is not a size the core can hold", () => {
  const bad: [unknown, RegExp][] = [
    [0, new RegExp(`magazineSize must be an integer in \\[1, ${CORE_LIMITS.MAG_SIZE_MAX}\\], got 0`)],
    [CORE_LIMITS.MAG_SIZE_MAX + 1, /magazineSize/], [1.5, /magazineSize/], ["128", /magazineSize/],
  ];

  it("by createIovaDomain and createDmaDomain, naming the option", async () => {
    const s = await machine();
    const smmu = s.createSmmu();
    for (const [value, message] of bad) {
      expect(() => s.createIovaDomain({ granule: 4096, startPfn: 1, magazineSize: value as number })).toThrow(ArgumentError);
      expect(() => s.createIovaDomain({ granule: 4096, startPfn: 1, magazineSize: value as number })).toThrow(message);
      expect(() => s.createDmaDomain({ smmu, magazineSize: value as number })).toThrow(/createDmaDomain.*magazineSize/);
    }
    // The refusals left nothing half made: a good size is taken.
    expect(s.createDmaDomain({ smmu, magazineSize: 64 }).iova.rcacheState().magazineSize).toBe(64);
  });

  it("by a scenario file, with the field's path", () => {
    const scenario = (magazineSize: unknown) => ({
      name: "m", cpus: 1, domains: [{ name: "d", type: "DMA-FQ", magazineSize }],
      devices: [{ name: "n", domain: "d", streamId: 1 }], workloads: [{ kind: "pairs", device: "n", cpus: [0], ops: 10 }],
    });
    for (const [value] of bad) expect(() => parseRunScenario(scenario(value))).toThrow(/domains\[0\]\.magazineSize/);
    expect(parseRunScenario(scenario(128)).domains[0]!.magazineSize).toBe(128);
    expect(parseRunScenario({ ...scenario(1), domains: [{ name: "d" }] }).domains[0]!.magazineSize).toBeUndefined();
  });
});

describe("magazineSize: the profile's unless given", () => {
  it.each(PROFILES)("%s", async (profile) => {
    const s = await machine(profile);
    expect(s.createIovaDomain({ granule: 4096, startPfn: 1 }).rcacheState().magazineSize).toBe(kernelProfile(profile).iovaMagazineSize);
    expect(s.createIovaDomain({ granule: 4096, startPfn: 1, magazineSize: 200 }).rcacheState().magazineSize).toBe(200);
    const dom = s.createDmaDomain({ smmu: s.createSmmu(), type: "DMA-FQ", magazineSize: 128 });
    expect(dom.iova.rcacheState().magazineSize).toBe(128);
  });
});

/**
 * Two CPUs taking turns, each allocating a full flush queue's worth of single pages and then
 * freeing them all (what a lazy CPU's flush does): of the IOVAs each CPU gets after a warm-up,
 * the share the other CPU freed last, and the depot's hits.
 */
async function exchange(profile: Profile, magazineSize: number) {
  const s = await machine(profile);
  const d = s.createIovaDomain({ granule: 4096, startPfn: 1, cpus: 2, magazineSize });
  const batch = coreOf(s).layout.FQ_SIZE - 1; // a ring of FQ_SIZE holds one less
  const lastFreedBy = new Map<number, number>();
  let crossed = 0;
  let counted = 0;
  for (let round = 0; round < 60; round++) {
    for (const cpu of [0, 1]) {
      const got = Array.from({ length: batch }, () => d.allocFast(cpu, 1, 0xfffff));
      if (round >= 20) {
        counted += got.length;
        crossed += got.filter((pfn) => (lastFreedBy.get(pfn) ?? cpu) !== cpu).length;
      }
      for (const pfn of got) {
        expect(d.freeFast(cpu, pfn, 1)).toBe(true);
        lastFreedBy.set(pfn, cpu);
      }
    }
  }
  return { crossed: crossed / counted, depotHits: d.stats().rcacheDepotHits, batch };
}

describe("magazineSize: two magazines that hold a flush keep each CPU's IOVAs its own", () => {
  for (const profile of PROFILES) {
    for (const size of [100, 127, 128, 200]) {
      it(`${profile}, magazines of ${size}`, async () => {
        const r = await exchange(profile, size);
        if (2 * size >= r.batch) {
          expect(r.crossed).toBe(0);
          expect(r.depotHits).toBe(0);
        } else {
          // Half of what a CPU gets the other freed: a magazine through the depot every flush.
          expect(r.crossed).toBeGreaterThan(0.3);
          expect(r.depotHits).toBeGreaterThan(0);
        }
      });
    }
  }
});

describe("magazineSize in a scenario run", () => {
  // Lazy DMA pairs on two CPUs of one domain, one worker: deterministic.
  const scenario = (magazineSize?: number) => ({
    name: "m", profile: "6.12" as const, cpus: 2, workers: 1,
    domains: [{ name: "d", type: "DMA-FQ" as const, ...(magazineSize === undefined ? {} : { magazineSize }) }],
    devices: [{ name: "a", domain: "d", streamId: 1 }, { name: "b", domain: "d", streamId: 2 }],
    workloads: [{ kind: "pairs" as const, device: "a", cpus: [0], ops: 3000 }, { kind: "pairs" as const, device: "b", cpus: [1], ops: 3000 }],
  });

  it("runs the domain with it, and the report and its summary say so", async () => {
    const kernel = await runScenario(scenario());
    const fits = await runScenario(scenario(128));
    expect(kernel.domains[0]!.magazineSize).toBe(127);
    expect(fits.domains[0]!.magazineSize).toBe(128);
    expect(formatSummary(fits).join("\n")).toMatch(/depot .*magazines of 128/);
    // 6.12's magazines of 127 send one through the depot at every flush of a full queue; 128 keep them.
    expect(kernel.iova.depotHits).toBeGreaterThan(0);
    expect(fits.iova.depotHits).toBe(0);
  });
});

describe("magazineSize in dma_map_benchmark (iommu-sim bench --magazine-size)", () => {
  // Two lazy threads on a machine that costs line transfers, modelled time: deterministic with one worker.
  const run = (magazineSize?: number) => runMapBenchmark({
    threads: 2, mode: "lazy", profile: "6.12", machine: "snapdragon-x", seconds: 1, maxLoops: 20_000,
    ...(magazineSize === undefined ? {} : { magazineSize }),
  });

  it("takes the depot out of the threads' way when two magazines hold a full flush queue", async () => {
    const [kernel, fits] = [await run(), await run(128)];
    expect(kernel.magazineSize).toBeUndefined();
    expect(fits.magazineSize).toBe(128);
    expect(kernel.timePerLoop.depotLock).toBeGreaterThan(0);
    expect(fits.timePerLoop.depotLock).toBe(0);
    expect(fits.timePerLoop.lineTransfer).toBeLessThan(kernel.timePerLoop.lineTransfer);
    expect(fits.timePerLoop.work).toBeCloseTo(kernel.timePerLoop.work, -1);
  });

  it("refuses a size the core cannot hold, on the API and the command line, and says when it ran with one", async () => {
    await expect(run(0)).rejects.toThrow(/dma_map_benchmark: magazineSize must be an integer in \[1, /);
    const r = await cli("bench", "-t", "1", "-s", "1", "--magazine-size", "2000");
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/magazineSize must be an integer/);
    const ok = await cli("bench", "-t", "1", "-s", "1", "--max-loops", "100", "--mode", "lazy", "--magazine-size", "64", "--json");
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out).magazineSize).toBe(64); // one mode, one thread count: one result
    // The tool's own lines cannot say it; the note after them does.
    const text = await cli("bench", "-t", "1", "-s", "1", "--max-loops", "100", "--mode", "lazy", "--magazine-size", "64");
    expect(text.out).toMatch(/IOVA magazines of 64 \(--magazine-size; 7\.1's are 127\)/);
  });
});
