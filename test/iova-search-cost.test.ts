// What each search costs on the same fragmented tree (bug corpus #12): the kernel's linear
// walk touches every range it crosses; the O(log n) search touches a logarithmic number of
// nodes and stops at the same node (search 'verify' runs both and counts disagreements).

import { afterEach, describe, expect, it } from "vitest";
import { Simulator, type IovaStats } from "../dist/index.js";

let sim: Simulator | undefined;
afterEach(async () => { await sim?.close(); sim = undefined; });

/** N dense single-page ranges under 4 GiB, then `rounds` random free + realloc pairs. */
async function churn(search: "linear" | "verify", n: number, rounds: number): Promise<{ before: IovaStats; after: IovaStats; failures: number; ranges: string }> {
  sim = await Simulator.create({ profile: "7.1", ramMiB: 4, kheapMiB: 16 });
  const d = sim.createIovaDomain({ granule: 4096, startPfn: 1, search });
  expect(d.loopTree("populate", n)).toBe(0);
  const before = d.stats();
  const failures = d.loopTree("refill", rounds, { seed: 11, spanLo: d.dma32BitPfn - n, spanN: n });
  const after = d.stats();
  const ranges = JSON.stringify(d.ranges());
  return { before, after, failures, ranges };
}

describe("search cost (searchVisits)", () => {
  it("the linear walk touches exactly the nodes the kernel's walk visits", async () => {
    const { before, after } = await churn("linear", 5000, 50);
    expect(after.searchVisits - before.searchVisits).toBe(after.kernelWalkSteps - before.kernelWalkSteps);
    expect(after.searchVisitsMax).toBe(after.kernelWalkMax);
    expect(after.kernelWalkMax).toBeGreaterThan(1000); // a random refill crosses a good part of 5000 ranges
  });

  it("the O(log n) search touches a logarithmic number of nodes, with the same answers", async () => {
    const lin = await churn("linear", 5000, 50);
    await sim!.close();
    sim = undefined;
    const fast = await churn("verify", 5000, 50);
    expect(fast.failures).toBe(0); // every realloc landed in the hole just made
    expect(fast.after.searchMismatches).toBe(0);
    expect(fast.ranges).toBe(lin.ranges);
    // The kernel's walk is counted the same way whichever search ran.
    expect(fast.after.kernelWalkSteps).toBe(lin.after.kernelWalkSteps);
    const bound = 8 * Math.ceil(Math.log2(5000 + 1));
    expect(fast.after.searchVisitsMax).toBeLessThanOrEqual(bound);
    expect(fast.after.searchVisits - fast.before.searchVisits).toBeLessThan(lin.after.searchVisits - lin.before.searchVisits);
  });
});
