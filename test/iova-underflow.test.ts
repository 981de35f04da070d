// KB_IOVA_LIMIT_NO_UNDERFLOW (bug corpus #11, 5016bdb796b3): without it, alloc_iova trusts
// the candidate computed under a range that starts below the request's size, which wraps to
// the top of the PFN space. The same calls on a 7.1 domain with and without the behaviour.

import { afterEach, describe, expect, it } from "vitest";
import { IovaWrappedError, Simulator, replayScript, type IovaDomain } from "../dist/index.js";

let sim: Simulator | undefined;
afterEach(async () => { await sim?.close(); sim = undefined; });

/** A 7.1 IOVA domain (4K granule), with or without the underflow guard (a behaviour override). */
async function domain(guard: boolean, startPfn = 0): Promise<IovaDomain> {
  sim = await Simulator.create({
    profile: "7.1", ramMiB: 4, kheapMiB: 4, ...(guard ? {} : { behaviours: { without: ["IOVA_LIMIT_NO_UNDERFLOW"] } }),
  });
  return sim.createIovaDomain({ granule: 4096, startPfn, search: "verify" });
}

/** The commit's reproducer, with start_pfn 0 (see the test below for why). */
function reproducer(d: IovaDomain): unknown {
  d.reserve(0, 0);
  expect(d.alloc(2, 3, true)).toEqual({ lo: 2, hi: 3 });
  try {
    return d.alloc(2, 3, true);
  } catch (e) {
    return e;
  }
}

describe("IOVA_LIMIT_NO_UNDERFLOW", () => {
  it("with it (every profile), the second size-2 allocation under limit 3 fails", async () => {
    const d = await domain(true);
    expect(reproducer(d)).toBeNull();
    expect(d.stats()).toMatchObject({ aboveLimitAllocs: 0, belowStartAllocs: 0, searchMismatches: 0 });
    expect(d.ranges()).toEqual([{ lo: 0, hi: 0 }, { lo: 2, hi: 3 }]);
  });

  it("without it, the wrapped range {-2, -1} is handed out, counted, and left in the tree", async () => {
    const d = await domain(false);
    const e = reproducer(d);
    expect(e).toBeInstanceOf(IovaWrappedError);
    const w = e as IovaWrappedError;
    expect([w.lo, w.hi]).toEqual([2n ** 64n - 2n, 2n ** 64n - 1n]);
    expect(w.message).toMatch(/past the limit 0x3.*IOVA_LIMIT_NO_UNDERFLOW/);
    expect(d.stats()).toMatchObject({ aboveLimitAllocs: 1, treeAllocs: 2, searchMismatches: 0 });
    expect(d.treeNodes()).toBe(4); // anchor, [0,0], [2,3] and the wrapped range
    expect(d.state().cachedNode).toBe(2n ** 64n - 2n);
    // No number holds the wrapped range: ranges() says so rather than round it.
    expect(() => d.ranges()).toThrow(/holds \[0xfffffffffffffffe, 0xffffffffffffffff\], beyond 2\^53/);
  });

  it("an allocation searching among overlapping wrapped ranges ends, as the kernel's walk does", async () => {
    // Wrapped ranges of 32, 64 and 1024 PFNs all end at the top of the PFN space, so they
    // overlap: the next search's jumps went round in circles (the call never returned),
    // while the kernel's walk steps to the predecessor each time and ends.
    const d = await domain(false);
    for (const size of [32, 64, 1024]) expect(() => d.alloc(size, 0, true)).toThrow(IovaWrappedError);
    expect(() => d.alloc(32, 0, true)).toThrow(/the range tree refused a duplicate pfn_lo/);
    expect(d.stats()).toMatchObject({ aboveLimitAllocs: 3, treeAllocs: 3 });
  });

  it("with the commit's own start_pfn 1, today's walk stops at start_pfn first: no wrap either way", async () => {
    for (const guard of [true, false]) {
      const d = await domain(guard, 1);
      expect(reproducer(d)).toBeNull();
      expect(d.stats().aboveLimitAllocs).toBe(0);
      await sim!.close();
      sim = undefined;
    }
  });

  it("every profile has the guard, so replays print FAIL; without it the replay prints the wrapped range", async () => {
    const script = "init 4096 0\nreserve 0 0\nalloc 2 3 1\nalloc 2 3 1\n";
    for (const profile of ["5.15", "6.12", "7.1"] as const) {
      const out = await replayScript(script, { profile });
      expect(out.slice(-2)).toEqual(["FAIL", "# warnings=0"]);
      const bug = await replayScript("behaviours without IOVA_LIMIT_NO_UNDERFLOW\n" + script, { profile });
      expect(bug.slice(-2)).toEqual(["0xfffffffffffffffe 0xffffffffffffffff", "# warnings=0"]);
      const tree = await replayScript("behaviours without IOVA_LIMIT_NO_UNDERFLOW\n" + script + "tree\n", { profile });
      expect(tree.at(-2)).toBe("[0x0-0x0] [0x2-0x3] [0xfffffffffffffffe-0xffffffffffffffff]");
    }
  });
});
