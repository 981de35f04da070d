// The IovaDomain API: bad input is refused with a clear error and changes nothing; what the
// kernel defines for odd-but-valid calls happens as in the kernel and is reported; the
// range caches, the depot and simulated time behave as reference §3 says.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArgumentError, IommuSimError, PROFILES, Simulator, profileHas, type IovaDomain, type Profile } from "../dist/index.js";

let sim: Simulator;
afterEach(async () => { await sim?.close(); });

async function domain(profile: Profile, cpus = 2, startPfn = 1): Promise<IovaDomain> {
  sim = await Simulator.create({ profile });
  return sim.createIovaDomain({ granule: 4096, startPfn, cpus });
}

describe("IOVA domain: bad input", () => {
  let d: IovaDomain;
  beforeEach(async () => { d = await domain("7.1"); });

  it("refuses a size of 0, with the argument named", () => {
    expect(() => d.alloc(0, 0xfffff)).toThrow(ArgumentError);
    expect(() => d.alloc(0, 0xfffff)).toThrow(/size .*at least 1.*got 0/);
    expect(() => d.allocFast(0, 0, 0xfffff)).toThrow(/size/);
    expect(() => d.freeFast(0, 0x100, 0)).toThrow(/size/);
  });

  it("refuses a limit below startPfn (raw mode fails as the kernel does)", async () => {
    await sim.close();
    d = await domain("7.1", 1, 0x100);
    expect(() => d.alloc(1, 0xff)).toThrow(/limitPfn .*startPfn 0x100/);
    expect(() => d.allocFast(0, 1, 0x10)).toThrow(/limitPfn/);
    expect(d.alloc(1, 0xff, true, { raw: true })).toBeNull();
  });

  it("refuses CPUs out of range, non-integers and PFNs beyond 2^53", () => {
    expect(() => d.allocFast(2, 1, 0xfffff)).toThrow(/cpu .*0\.\.1.*got 2/);
    expect(() => d.allocFast(-1, 1, 0xfffff)).toThrow(ArgumentError);
    expect(() => d.freeFast(0, 1.5, 1)).toThrow(/pfn/);
    expect(() => d.free(2 ** 53)).toThrow(/pfn/);
    expect(() => d.flushCpu(7)).toThrow(/cpu/);
    expect(() => d.reserve(0x200, 0x100)).toThrow(/hi .*at least lo/);
  });

  it("refuses bad domain options", async () => {
    expect(() => sim.createIovaDomain({ granule: 3000, startPfn: 1 })).toThrow(/granule .*power of two/);
    expect(() => sim.createIovaDomain({ granule: 1 << 17, startPfn: 1 })).toThrow(/granule/);
    expect(() => sim.createIovaDomain({ granule: 4096, startPfn: 1, cpus: 0 })).toThrow(/cpus/);
    expect(() => sim.createIovaDomain({ granule: 4096, startPfn: -1 })).toThrow(/startPfn/);
  });

  it("leaves the state unchanged after a refusal", () => {
    const a = d.alloc(4, 0xfffff)!;
    const before = [d.ranges(), d.state(), d.rcacheState()];
    expect(() => d.alloc(0, 0xfffff)).toThrow();
    expect(() => d.allocFast(9, 1, 0xfffff)).toThrow();
    expect(() => d.reserve(5, 4)).toThrow();
    expect([d.ranges(), d.state(), d.rcacheState()]).toEqual(before);
    expect(d.find(a.lo)).toEqual(a);
  });

  it("refuses calls on a destroyed domain", () => {
    expect(d.destroy()).toBe(0);
    expect(() => d.alloc(1, 0xfffff)).toThrow(/destroyed/);
    expect(() => d.destroy()).toThrow(/already destroyed/);
  });
});

describe("IOVA domain: what the kernel defines, reported", () => {
  it("free of a PFN in no range is a no-op, counted", async () => {
    const d = await domain("5.15");
    const r = d.alloc(1, 0xfffff)!;
    expect(d.free(0x1234)).toBe(false);
    expect(d.ranges()).toEqual([r]);
    expect(d.stats().unknownFrees).toBe(1);
    expect(d.free(r.lo)).toBe(true);
    expect(d.stats().unknownFrees).toBe(1);
  });

  it("freeFast of a PFN that starts no range is cached anyway, counted, and WARNs when flushed", async () => {
    const d = await domain("7.1");
    expect(d.freeFast(0, 0x5000, 1)).toBe(true);
    expect(d.stats().badFastFrees).toBe(1);
    // The kernel hands it out again on that CPU…
    expect(d.allocFast(0, 1, 0xfffff)).toBe(0x5000);
    d.freeFast(0, 0x5000, 1);
    // …and WARNs when the cache goes back to the tree.
    d.flushCpu(0);
    expect(d.takeWarnings().map((w) => [w.code, w.value])).toEqual([["magazine-pfn-missing", 0x5000n]]);
    expect(d.stats().warnings).toBe(1);
  });

  it("free_iova_fast of more than 32 pages goes to the tree; 32 is cached", async () => {
    const d = await domain("7.1");
    const big = d.allocFast(0, 33, 0xfffff);
    const cached = d.allocFast(0, 32, 0xfffff);
    expect(d.freeFast(0, big, 33)).toBe(false);
    expect(d.freeFast(0, cached, 32)).toBe(true);
    expect(d.ranges().map((r) => r.lo)).toEqual([cached]);
    expect(d.rcacheState().bins[5]!.cpus[0]!.loaded).toEqual([cached]);
  });

  it("7.1 rounds fast sizes below 32 up; 5.15 leaves that to its caller", async () => {
    const d71 = await domain("7.1");
    const p = d71.allocFast(0, 3, 0xfffff);
    expect(d71.find(p)).toEqual({ lo: p, hi: p + 3 });
    await sim.close();
    const d515 = await domain("5.15");
    const q = d515.allocFast(0, 3, 0xfffff);
    expect(d515.find(q)).toEqual({ lo: q, hi: q + 2 });
  });

  it("5.15.16's second pass from the anchor hands out PFNs below startPfn (counted); later kernels fail", async () => {
    for (const profile of PROFILES) {
      const d = await domain(profile, 1, 0x100);
      d.free(d.alloc(1, 0x100)!.lo); // cached32 back at the anchor
      const r = d.alloc(1, 0xff, true, { raw: true });
      if (!profileHas(profile, "IOVA_RETRY_ABOVE_CACHED")) {
        expect(r).toEqual({ lo: 0xff, hi: 0xff });
        expect(d.stats().belowStartAllocs).toBe(1);
      } else {
        expect(r).toBeNull();
        expect(d.state().max32AllocSize).toBe(1);
      }
      await sim.close();
    }
  });

  it("failatomic: a CPU whose magazines are full frees to the tree instead", async () => {
    const d = await domain("5.15");
    const pfns = Array.from({ length: 260 }, () => d.allocFast(0, 1, 0xfffff));
    d.setFailAtomic(true);
    const cached = pfns.map((p) => d.freeFast(0, p, 1));
    expect(cached.filter((c) => c).length).toBe(256);
    expect(d.stats().magazineAllocFailures).toBe(4);
    expect(d.treeNodes()).toBe(1 + 256);
    d.setFailAtomic(false);
    expect(d.freeFast(0, d.allocFast(1, 1, 0xfffff), 1)).toBe(true);
  });

  it("reserve merges overlapping ranges as the kernel does", async () => {
    const d = await domain("7.1");
    expect(d.reserve(0x100, 0x1ff)).toEqual({ lo: 0x100, hi: 0x1ff });
    expect(d.reserve(0x180, 0x2ff)).toEqual({ lo: 0x200, hi: 0x2ff });
    expect(d.reserve(0x400, 0x4ff)).toEqual({ lo: 0x400, hi: 0x4ff });
    expect(d.reserve(0x350, 0x450)).toEqual({ lo: 0x350, hi: 0x4ff });
    expect(d.reserve(0x120, 0x130)).toEqual({ lo: 0x100, hi: 0x1ff });
    expect(d.ranges()).toEqual([{ lo: 0x100, hi: 0x1ff }, { lo: 0x200, hi: 0x2ff }, { lo: 0x350, hi: 0x4ff }]);
  });
});

describe("IOVA domain: caches, depot and time", () => {
  it("v7.1 trims the depot by one magazine per 100 ms down to the number of CPUs", async () => {
    const d = await domain("7.1", 2);
    const pfns = Array.from({ length: 127 * 6 }, () => d.allocFast(0, 1, 0xfffff));
    for (const p of pfns) d.freeFast(0, p, 1);
    const depot = () => d.rcacheState().bins[0]!.depot.length;
    expect(depot()).toBe(4);
    sim.advance(96);
    expect(depot()).toBe(4);
    sim.advance(4); // 100 ms: the first reclaim
    expect(depot()).toBe(3);
    sim.advance(1000); // re-armed every 100 ms until the depot is down to 2 (= CPUs)
    expect(depot()).toBe(2);
    expect(d.stats().depotReclaims).toBe(2);
    expect(d.treeNodes()).toBe(1 + 127 * 4);
  });

  it("v5.15's full depot drains the old magazine into the tree", async () => {
    const d = await domain("5.15", 1);
    const n = 128 * 35;
    const pfns = Array.from({ length: n }, () => d.allocFast(0, 1, 0xfffffff));
    for (const p of pfns) d.freeFast(0, p, 1);
    const s = d.rcacheState().bins[0]!;
    expect(s.depot.length).toBe(32);
    expect(d.stats().depotDrains).toBe(1);
    expect(d.treeNodes()).toBe(1 + n - 128);
    sim.advance(10_000);
    expect(d.rcacheState().bins[0]!.depot.length).toBe(32);
  });

  it("alloc_iova_fast flushes every cache and retries when the tree is full", async () => {
    const d = await domain("7.1", 2, 1);
    // A 16-page space: fill it, park everything in CPU 1's cache, then allocate on CPU 0.
    const got = Array.from({ length: 16 }, () => d.allocFast(1, 1, 16));
    expect(got.every((p) => p >= 1 && p <= 16)).toBe(true);
    expect(d.allocFast(1, 1, 16, false)).toBe(0);
    for (const p of got) d.freeFast(1, p, 1);
    expect(d.allocFast(0, 2, 16, false)).toBe(0);
    const p = d.allocFast(0, 2, 16, true);
    expect(p).toBeGreaterThan(0);
    expect(d.stats().flushRetries).toBe(1);
    expect(d.ranges()).toEqual([{ lo: p, hi: p + 1 }]);
  });

  it("one thread runs a simulated CPU at a time: a second thread gets a clear error", async () => {
    const d = await domain("7.1", 2);
    d.allocFast(0, 1, 0xfffff); // the main thread now runs CPU 0
    const pool = await sim.pool({ workers: 1 });
    await expect(pool.run("iova.fastPairs", { domain: d.id, cpus: [0], count: 10, sizes: "one" }))
      .rejects.toThrow(/simulated CPU 0 of IOVA domain \d+ is being run by the main thread/);
    expect(d.cpuRunner(0)).toBe(0);
    d.releaseCpu(0);
    expect(d.cpuRunner(0)).toBe(-1);
    const pool2 = await sim.pool({ workers: 1 });
    const [r] = await pool2.run<{ failures: number }>("iova.fastPairs", { domain: d.id, cpus: [0], count: 10, sizes: "one" });
    expect(r!.failures).toBe(0);
    expect(() => d.releaseCpu(1)).toThrow(IommuSimError);
  });
});
