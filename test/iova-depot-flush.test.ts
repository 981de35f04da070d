// IOVA_DEPOT_FULL_FLUSH (bug corpus #19's fix as posted; no profile has it): with the array
// depot, a CPU whose magazines are full and whose bin's depot is full returns every CPU's
// cached IOVAs to the tree, instead of emptying its loaded magazine into the tree and taking
// an empty one (5.15.16).

import { afterEach, describe, expect, it } from "vitest";
import { Simulator, type IovaDomain, type Profile } from "../dist/index.js";

let sim: Simulator | undefined;
afterEach(async () => { await sim?.close(); sim = undefined; });

async function domain(profile: Profile, flush: boolean): Promise<IovaDomain> {
  sim = await Simulator.create({ profile, ramMiB: 4, kheapMiB: 16, ...(flush ? { behaviours: { with: ["IOVA_DEPOT_FULL_FLUSH"] } } : {}) });
  return sim.createIovaDomain({ granule: 4096, startPfn: 1, cpus: 2 });
}

/** CPU 0 allocates `n` single pages, CPU 1 frees them all (the frees overflow its caches). */
function burst(d: IovaDomain, n: number): void {
  const pfns = Array.from({ length: n }, () => d.allocFast(0, 1, 0xfffff, true));
  for (const p of pfns) d.freeFast(1, p, 1);
}

describe("IOVA_DEPOT_FULL_FLUSH", () => {
  const mag = 128, depot = 32;
  const n = (depot + 2 + 6) * mag; // a full depot, CPU 1's two magazines, and six more

  it("without it (5.15.16), each magazine that finds the depot full goes back to the tree", async () => {
    const d = await domain("5.15", false);
    burst(d, n);
    const s = d.stats();
    expect(s.depotDrains).toBe(6);
    expect(s.depotFullFlushes).toBe(0);
    // Everything freed is still cached but the drained magazines: depot, two full and one fresh magazine.
    const cached = s.treeNodes - 1;
    expect(cached).toBe(n - 6 * mag);
    expect(d.rcacheState().bins[0]!.depot).toHaveLength(depot);
  });

  it("with it, a full depot flushes every CPU's caches instead, and fewer IOVAs stay cached", async () => {
    const d = await domain("5.15", true);
    burst(d, n);
    const s = d.stats();
    expect(s.depotDrains).toBe(0);
    expect(s.depotFullFlushes).toBeGreaterThan(0);
    expect(s.treeNodes - 1).toBeLessThan(n - 6 * mag);
    expect(d.rcacheState().bins[0]!.depot).toHaveLength(depot);
    expect(s.treeFrees).toBeGreaterThan(0);
  });

  it("changes nothing with the list depot (7.1), which is never full", async () => {
    const d = await domain("7.1", true);
    burst(d, n);
    expect(d.stats()).toMatchObject({ depotDrains: 0, depotFullFlushes: 0 });
  });
});
