// The SMMU's caches: fills and hits, blocks cached at their size, invalidation by VA (leaf
// and non-leaf, with the walk cache), by range, by ASID/VMID and all, TTL hints, each
// replacement policy, invalidation at consume vs at CMD_SYNC, permissions and faults.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Prot, Simulator, type Device, type PageTable, type Smmu, type SmmuOptions } from "../dist/index.js";
import { LPAE_S1 as S1, LPAE_S2 as S2 } from "./helpers.js";

let sim: Simulator;
beforeEach(async () => { sim = await Simulator.create({ profile: "7.1" }); });
afterEach(async () => { await sim.close(); });

function setup(opts: SmmuOptions = {}, id = 5, cfg: typeof S1 | typeof S2 = S1, smmu?: Smmu, sid = 1) {
  const pt = sim.createPageTable(cfg);
  const dom = sim.createSmmuDomain(pt, { id });
  smmu ??= sim.createSmmu({ microTlb: 0, ...opts });
  const dev = smmu.attachDevice(sid, dom);
  return { pt, dom, smmu, dev };
}

const from = (dev: Device, iova: number) => {
  const r = dev.access(iova, 4, "read");
  if (!r.ok) throw new Error(`fault ${r.fault.type} at ${iova.toString(16)}`);
  return r.segments[0]!.from;
};

function mapPages(pt: PageTable, iova: number, n: number, pa = 0x8000_0000) {
  expect(pt.mapPages(iova, pa, 0x1000, n, Prot.READ | Prot.WRITE).mapped).toBe(n * 0x1000);
}

describe("IOTLB and walk caches", () => {
  it("hits after a fill, and caches a block at its size", () => {
    const { pt, smmu, dev } = setup();
    pt.mapPages(0x200000, 0x8000_0000, 0x200000, 1, Prot.READ);
    expect(from(dev, 0x200000)).toBe("walk");
    const r = dev.access(0x3ff123, 4, "read");
    expect(r).toMatchObject({ ok: true, pa: 0x801ff123, segments: [{ from: "iotlb" }] });
    expect(smmu.stats().iotlb).toMatchObject({ fills: 1, hits: 1 });
  });

  it("a detached device's main TLB goes back to the kheap, its counters kept in the SMMU's", () => {
    const { pt, dom, smmu, dev } = setup();
    mapPages(pt, 0x1000, 2);
    from(dev, 0x1000);
    from(dev, 0x1000);
    dev.detach();
    // Each device's main TLB is 128 KiB of the kheap: without freeing them, a few dozen
    // devices probed and removed one after another would exhaust it.
    const used = sim.memoryStats().kheapPages;
    for (let sid = 2; sid < 256; sid++) smmu.attachDevice(sid, dom).detach();
    expect(sim.memoryStats().kheapPages).toBe(used);
    // The first device's hit and fill, and its entries invalidated at detach, still count.
    expect(smmu.stats().iotlb).toMatchObject({ hits: 1, fills: 1, misses: 1, invalidated: 1 });
    const again = smmu.attachDevice(1, dom);
    expect(from(again, 0x1000)).toBe("walk"); // a new main TLB: nothing left from before
    expect(smmu.stats().iotlb).toMatchObject({ hits: 1, fills: 2, misses: 2 });
  });

  it("a leaf TLBI keeps the walk cache; a non-leaf one removes it too", () => {
    const { pt, smmu, dev } = setup();
    mapPages(pt, 0x1000, 2);
    from(dev, 0x1000);
    const reads = () => smmu.stats().pteReads;
    expect(reads()).toBe(4); // L0..L3
    smmu.submit({ op: "TLBI_NH_VA", asid: 5, addr: 0x1000, leaf: true });
    expect(from(dev, 0x1000)).toBe("walk");
    expect(reads()).toBe(5); // resumed from the L2 walk-cache entry: one read
    smmu.submit({ op: "TLBI_NH_VA", asid: 5, addr: 0x1000, leaf: false });
    expect(from(dev, 0x1000)).toBe("walk");
    expect(reads()).toBe(9); // every level again
  });

  it("a range TLBI removes (NUM+1)·2^SCALE pages from its address and nothing else", () => {
    const { pt, smmu, dev } = setup();
    mapPages(pt, 0x1000, 8);
    for (let i = 1; i <= 8; i++) from(dev, i * 0x1000);
    smmu.submit({ op: "TLBI_NH_VA", asid: 5, addr: 0x2000, leaf: true, tg: 1, scale: 1, num: 1 }); // 4 pages
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((i) => from(dev, i * 0x1000)))
      .toEqual(["iotlb", "walk", "walk", "walk", "walk", "iotlb", "iotlb", "iotlb"]);
  });

  it("TLBI by ASID and by VMID touch only their context; NSNH_ALL touches all", () => {
    const a = setup({}, 5);
    const b = setup({}, 6, S1, a.smmu, 2);
    const c = setup({}, 9, S2, a.smmu, 3);
    for (const x of [a, b, c]) { mapPages(x.pt, 0x1000, 1); from(x.dev, 0x1000); }
    a.smmu.submit({ op: "TLBI_NH_ASID", asid: 5 });
    expect([a, b, c].map((x) => from(x.dev, 0x1000))).toEqual(["walk", "iotlb", "iotlb"]);
    a.smmu.submit({ op: "TLBI_S12_VMALL", vmid: 9 });
    expect([a, b, c].map((x) => from(x.dev, 0x1000))).toEqual(["iotlb", "iotlb", "walk"]);
    // By VA for every ASID: both stage-1 contexts lose 0x1000, the stage-2 one (VMID 9) does not.
    for (const x of [a, b, c]) from(x.dev, 0x1000);
    a.smmu.submit({ op: "TLBI_NH_VAA", vmid: 0, addr: 0x1000, leaf: true });
    expect([a, b, c].map((x) => from(x.dev, 0x1000))).toEqual(["walk", "walk", "iotlb"]);
    a.smmu.submit({ op: "TLBI_NSNH_ALL" });
    expect([a, b, c].map((x) => from(x.dev, 0x1000))).toEqual(["walk", "walk", "walk"]);
    expect(a.smmu.stats().tlbi).toEqual({ va: 1, context: 2, all: 1 });
  });

  it("a cache that held several contexts loses to each TLBI its own context's entries; one it never held, none", () => {
    // Every cache keeps a filter of the contexts it held (cache.ts CTX_SEEN) and a TLBI of
    // a context outside it skips the cache. Here one IOTLB holds all three contexts (scope
    // smmu) and each device's micro-TLB its own: a device walks again only if both lost its entry.
    const shared = { iotlb: { entries: 64, ways: 4, scope: "smmu" as const }, microTlb: 8 };
    const a = setup(shared, 5);
    const b = setup(shared, 6, S1, a.smmu, 2);
    const c = setup(shared, 9, S2, a.smmu, 3);
    const all = () => [a, b, c].map((x) => from(x.dev, 0x1000));
    for (const x of [a, b, c]) mapPages(x.pt, 0x1000, 1);
    expect(all()).toEqual(["walk", "walk", "walk"]);
    expect(all()).toEqual(["micro-tlb", "micro-tlb", "micro-tlb"]);
    const invalidated = () => a.smmu.stats().entriesInvalidated;
    const before = invalidated();
    a.smmu.submit({ op: "TLBI_NH_VA", asid: 7, addr: 0x1000, leaf: true }); // a context none held
    expect(invalidated()).toBe(before);
    expect(all()).toEqual(["micro-tlb", "micro-tlb", "micro-tlb"]);
    a.smmu.submit({ op: "TLBI_NH_VA", asid: 6, addr: 0x1000, leaf: true });
    expect(all()).toEqual(["micro-tlb", "walk", "micro-tlb"]);
    a.smmu.submit({ op: "TLBI_EL2_VA", asid: 5, addr: 0x1000, leaf: true }); // the ASID, any VMID
    expect(all()).toEqual(["walk", "micro-tlb", "micro-tlb"]);
    a.smmu.submit({ op: "TLBI_S2_IPA", vmid: 9, addr: 0x1000, leaf: true }); // the VMID, any ASID
    expect(all()).toEqual(["micro-tlb", "micro-tlb", "walk"]);
  });

  it("a TTL hint narrows the TLBI only when the SMMU honours it", () => {
    for (const ttl of ["ignore", "honour"] as const) {
      const { pt, smmu, dev } = setup({ ttl });
      pt.mapPages(0x200000, 0x8000_0000, 0x200000, 1, Prot.READ);
      from(dev, 0x200000);
      // TTL 3 says "a level-3 page"; the entry is a level-2 block.
      smmu.submit({ op: "TLBI_NH_VA", asid: 5, addr: 0x200000, leaf: true, tg: 1, ttl: 3 });
      expect(from(dev, 0x200000)).toBe(ttl === "ignore" ? "walk" : "iotlb");
      smmu.submit({ op: "TLBI_NH_VA", asid: 5, addr: 0x200000, leaf: true, tg: 1, ttl: 2 });
      expect(from(dev, 0x200000)).toBe("walk");
      smmu.destroy();
    }
  });

  it("raw 16-byte commands work as the encoded ones; CFGI is accepted and counted", () => {
    const { pt, smmu, dev } = setup();
    mapPages(pt, 0x1000, 1);
    from(dev, 0x1000);
    // TLBI_NH_ASID, ASID 5: opcode 0x11, ASID in dw0[63:48].
    smmu.submitRaw((5n << 48n) | 0x11n, 0n);
    expect(from(dev, 0x1000)).toBe("walk");
    smmu.submit({ op: "CFGI_STE", streamId: 1 });
    smmu.submit({ op: "CMD_SYNC" });
    expect(from(dev, 0x1000)).toBe("iotlb");
    expect(smmu.stats()).toMatchObject({ commands: 3, syncs: 1, tlbi: { context: 1 } });
  });

  it("a TLBI takes effect when consumed, or only at the next CMD_SYNC", () => {
    for (const invalidateAt of ["consume", "sync"] as const) {
      const { pt, smmu, dev } = setup({ invalidateAt });
      mapPages(pt, 0x1000, 1);
      from(dev, 0x1000);
      smmu.submit({ op: "TLBI_NH_VA", asid: 5, addr: 0x1000, leaf: true });
      expect(from(dev, 0x1000)).toBe(invalidateAt === "consume" ? "walk" : "iotlb");
      smmu.submit({ op: "CMD_SYNC" });
      smmu.submit({ op: "TLBI_NH_VA", asid: 5, addr: 0x1000, leaf: true });
      smmu.submit({ op: "CMD_SYNC" });
      expect(from(dev, 0x1000)).toBe("walk");
      smmu.destroy();
    }
  });
});

describe("replacement", () => {
  // One set of 4 ways; pages A..E (1..5) all land in it.
  const pages = [1, 2, 3, 4, 5].map((i) => i * 0x1000);

  function run(policy: "lru" | "rr" | "random", seed = 1) {
    const { pt, dev, smmu } = setup({ iotlb: { entries: 4, ways: 4, policy, seed } });
    mapPages(pt, 0x1000, 5);
    for (const p of pages.slice(0, 4)) from(dev, p);
    expect(from(dev, pages[0]!)).toBe("iotlb"); // A used again
    from(dev, pages[4]!); // E evicts one
    expect(smmu.stats().iotlb.evictions).toBe(1);
    return { dev, smmu };
  }

  it("LRU evicts the least recently used", () => {
    const { dev } = run("lru");
    expect(from(dev, pages[0]!)).toBe("iotlb");
    expect(from(dev, pages[1]!)).toBe("walk"); // B was the oldest
  });

  it("round-robin evicts way by way", () => {
    const { dev } = run("rr");
    expect(from(dev, pages[1]!)).toBe("iotlb");
    expect(from(dev, pages[0]!)).toBe("walk"); // A sat in way 0
  });

  it("random evicts one, the same one for the same seed", () => {
    const evicted = (seed: number) => {
      const { dev, smmu } = run("random", seed);
      // Probe without disturbing: which of A..D is gone? (E is cached.)
      const gone = pages.slice(0, 4).filter((p) => from(dev, p) === "walk");
      smmu.destroy();
      return gone[0];
    };
    const first = evicted(7);
    expect(first).toBeDefined();
    expect(evicted(7)).toBe(first);
  });
});

describe("permissions and faults", () => {
  it("checks write and privilege against the leaf, stage 1 and stage 2", () => {
    const s1 = setup();
    s1.pt.mapPages(0x1000, 0x5000, 0x1000, 1, Prot.READ);
    s1.pt.mapPages(0x2000, 0x6000, 0x1000, 1, Prot.READ | Prot.WRITE | Prot.PRIV);
    expect(s1.dev.access(0x1000, 4, "write")).toMatchObject({ ok: false, fault: { type: "permission" } });
    expect(s1.dev.access(0x2000, 4, "write")).toMatchObject({ ok: false, fault: { type: "permission" } });
    expect(s1.dev.access(0x2000, 4, "write", { privileged: true })).toMatchObject({ ok: true, pa: 0x6000 });
    const s2 = setup({}, 9, S2, s1.smmu, 2);
    s2.pt.mapPages(0x1000, 0x5000, 0x1000, 1, Prot.WRITE);
    expect(s2.dev.access(0x1000, 4, "read")).toMatchObject({ ok: false, fault: { type: "permission" } });
    expect(s2.dev.access(0x1000, 4, "write")).toMatchObject({ ok: true, pa: 0x5000 });
  });

  it("records translation faults, with the level, in the fault queue", () => {
    const { pt, smmu, dev } = setup();
    mapPages(pt, 0x1000, 1);
    const r = dev.access(0x1ff8, 16, "read"); // crosses into an unmapped page
    expect(r).toMatchObject({ ok: false, fault: { type: "translation", iova: 0x2000, level: 3 }, segments: [{ iova: 0x1ff8, bytes: 8 }] });
    expect(dev.access(2 ** 48, 4, "read")).toMatchObject({ ok: false, fault: { type: "translation" } });
    expect(smmu.takeFaults().map((f) => [f.type, f.iova])).toEqual([["translation", 0x2000], ["translation", 2 ** 48]]);
  });

  it("a permission fault says the leaf's level, as its fault-queue record does (a hit as a walk)", () => {
    const { pt, smmu, dev } = setup();
    pt.mapPages(0x1000, 0x5000, 0x1000, 1, Prot.READ);
    pt.mapPages(0x4000_0000, 0x8000_0000, 0x4000_0000, 1, Prot.READ); // a 1 GiB block: level 1
    const faults = [0x1000, 0x1000, 0x4000_0000, 0x4000_1000].map((iova) => dev.access(iova, 64, "write"));
    expect(faults.map((r) => !r.ok && [r.fault.type, r.fault.level])).toEqual(
      [["permission", 3], ["permission", 3], ["permission", 1], ["permission", 1]]);
    expect(smmu.takeFaults().map((f) => f.level)).toEqual([3, 3, 1, 1]);
  });

  it("refuses bad arguments with the argument's name", () => {
    const { smmu, dev, dom } = setup();
    expect(() => dev.access(-1, 4, "read")).toThrow(/iova/);
    expect(() => dev.access(0, 0, "read")).toThrow(/length must be an integer in \[1/);
    expect(() => dev.access(0, 4, "exec" as never)).toThrow(/kind must be one of 'read', 'write'/);
    expect(() => smmu.attachDevice(1, dom)).toThrow(/streamId .* already attached/);
    expect(() => smmu.attachDevice(999, dom)).toThrow(/streamId must be an integer in \[0, 255\]/);
    expect(() => sim.createSmmu({ iotlb: { entries: 10, ways: 4 } })).toThrow(/multiple of iotlb.ways/);
    // 65536 sets of one way need 6 MiB, more than the largest block a cache is laid out in:
    // told as the geometry's fault, not as a kheap that a larger kheapMiB would cure.
    expect(() => sim.createSmmu({ iotlb: { entries: 65536, ways: 1, scope: "smmu" } }))
      .toThrow(/^createSmmu: iotlb\.entries is more than one cache can be: .* — 65536 sets of 1 way \(ESIM_CACHE_TOO_BIG\), got 65536/);
    expect(() => smmu.submit({ op: "TLBI_FOO" } as never)).toThrow(/op must be an SMMUv3 command name: CMD_TLBI_\*, CMD_CFGI_\* or CMD_SYNC/);
    expect(() => smmu.submitRaw(-1n, 0n)).toThrow(/dw0 must be a bigint in \[0, 2\^64\)/);
  });
});

describe("through the driver", () => {
  it("a lazy unmap leaves the device reaching the old page; a strict one makes it fault", () => {
    const { pt, dev, smmu } = setup({ microTlb: 32 });
    mapPages(pt, 0x1000, 2, 0x9000_0000);
    expect(dev.access(0x1000, 4, "read")).toMatchObject({ ok: true, pa: 0x9000_0000 });
    expect(dev.access(0x2000, 4, "read")).toMatchObject({ ok: true, pa: 0x9000_1000 });
    pt.unmapPages(0x1000, 0x1000, 1, { gather: "queued" });
    expect(dev.access(0x1000, 4, "read")).toMatchObject({ ok: true, pa: 0x9000_0000, segments: [{ from: "micro-tlb" }] });
    sim.cpuModelledNs({ reset: true });
    pt.unmapPages(0x2000, 0x1000, 1);
    expect(dev.access(0x2000, 4, "read")).toMatchObject({ ok: false, fault: { type: "translation" } });
    expect(smmu.stats()).toMatchObject({ syncs: 1, tlbi: { va: 1 } });
    // The strict unmap's CPU: the TLBI and the sync, and its own walk (3 levels down) and PTE clear.
    expect(sim.cpuModelledNs()).toBe(smmu.costs.tlbi + smmu.costs.sync + 3 * sim.cpuCosts.walkStep + sim.cpuCosts.pte);
  });
});
