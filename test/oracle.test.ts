// The safety oracle: a device keeps a translation after its IOVA is unmapped lazily
// (accepted: the lazy window), then the IOVA is handed out again for a new page and the
// device still reaches the old one (use-after-free); strict invalidation makes the same
// sequence fault instead. Plus the other classes, and the oracle's own limits.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Prot, Simulator, type SmmuOptions } from "../dist/index.js";
import { LPAE_S1 as S1, LPAE_S2 as S2 } from "./helpers.js";

const OLD = 0x9000_0000, NEW = 0xa000_0000, IOVA = 0xfff0_0000;

let sim: Simulator;
beforeEach(async () => { sim = await Simulator.create({ profile: "5.15" }); });
afterEach(async () => { await sim.close(); });

function setup(opts: SmmuOptions = {}) {
  const pt = sim.createPageTable(S1);
  const dom = sim.createSmmuDomain(pt, { id: 5 });
  const smmu = sim.createSmmu({ oracle: true, ...opts });
  const dev = smmu.attachDevice(2, dom);
  const oracle = smmu.oracle!;
  // The DMA API's dma_map: the page table and the shadow together.
  const dmaMap = (pa: number) => {
    expect(pt.mapPages(IOVA, pa, 0x1000, 1, Prot.READ | Prot.WRITE).ret).toBe(0);
    oracle.recordMap(dom, IOVA, pa, 0x1000);
  };
  const dmaUnmap = (lazy: boolean) => {
    pt.unmapPages(IOVA, 0x1000, 1, { gather: lazy ? "queued" : "strict" });
    oracle.recordUnmap(dom, IOVA, 0x1000, { lazy });
  };
  return { pt, dom, smmu, dev, oracle, dmaMap, dmaUnmap };
}

describe("safety oracle", () => {
  it("lazy unmap: the stale translation is a lazy-window access, then a use-after-free once the IOVA is reused", () => {
    const { dev, oracle, dmaMap, dmaUnmap } = setup();
    dmaMap(OLD);
    expect(dev.access(IOVA, 64, "write")).toMatchObject({ ok: true, pa: OLD, segments: [{ check: "ok" }] });
    dmaUnmap(true); // no TLBI: the IOTLB still holds IOVA → OLD
    expect(dev.access(IOVA, 64, "read")).toMatchObject({ ok: true, pa: OLD, segments: [{ check: "lazy-window" }] });
    dmaMap(NEW); // the IOVA handed out again, for another buffer
    expect(dev.access(IOVA, 64, "write")).toMatchObject({ ok: true, pa: OLD, segments: [{ check: "use-after-free" }] });
    expect(oracle.counts()).toMatchObject({ ok: 1, lazyWindow: 1, useAfterFree: 1 });
    const [v] = oracle.takeViolations();
    expect(v).toMatchObject({ kind: "use-after-free", streamId: 2, iova: IOVA, reached: OLD, expected: NEW, generation: 2 });
    expect(v!.explanation).toMatch(/reached PA 0x90000000 through IOVA 0xfff00000.*handed that IOVA out again.*now to PA 0xa0000000.*use-after-free/);
  });

  it("the shadow keeps whole what it was told: a PA far above the page table's, and a jiffy past 2^40", () => {
    const { pt, dom, dev, oracle } = setup();
    const HIGH = 2 ** 53 - 0x1000; // the last page the oracle can be told of; the page table maps OLD
    expect(pt.mapPages(IOVA, OLD, 0x1000, 1, Prot.READ).ret).toBe(0);
    oracle.recordMap(dom, IOVA, NEW, 0x1000);
    oracle.recordMap(dom, IOVA, HIGH, 0x1000); // remapped without an unmap: NEW becomes its previous page
    expect(dev.access(IOVA, 4, "read")).toMatchObject({ ok: true, pa: OLD, segments: [{ check: "use-after-free" }] });
    expect(oracle.takeViolations()[0]).toMatchObject({ kind: "use-after-free", reached: OLD, expected: HIGH, generation: 2 });
    sim.tick(2 ** 40);
    sim.tick(5);
    oracle.recordUnmap(dom, IOVA, 0x1000, { lazy: false });
    expect(dev.access(IOVA, 4, "read")).toMatchObject({ ok: true, segments: [{ check: "after-strict-unmap" }] });
    expect(oracle.takeViolations()[0]).toMatchObject({ kind: "after-strict-unmap", unmappedAt: 2 ** 40 + 5, generation: 2 });
  });

  it("each context has a shadow of its own: stage-2 domains whose VMIDs differ only above bit 7, stage-1 ones by ASID", () => {
    const smmu = sim.createSmmu({ oracle: true });
    const oracle = smmu.oracle!;
    const pairs = [[2, 1], [2, 257], [1, 3], [1, 0x8003]] as const;
    const devs = pairs.map(([stage, id], i) => {
      const pt = sim.createPageTable(stage === 2 ? S2 : S1);
      const dom = sim.createSmmuDomain(pt, { stage, id });
      expect(pt.mapPages(0x40_0000, OLD + i * 0x1000, 0x1000, 1, Prot.READ).ret).toBe(0);
      return { dom, dev: smmu.attachDevice(10 + i, dom) };
    });
    // The DMA API mapped the IOVA in the first domain of each stage only.
    for (const i of [0, 2]) oracle.recordMap(devs[i]!.dom, 0x40_0000, OLD + i * 0x1000, 0x1000);
    const checks = devs.map(({ dev }) => dev.access(0x40_0000, 4, "read")).map((r) => (r.ok ? r.segments[0]!.check : "fault"));
    expect(checks).toEqual(["ok", "unknown", "ok", "unknown"]);
  });

  it("strict unmap: the same sequence faults instead, and the reused IOVA reaches the new page", () => {
    const { dev, oracle, dmaMap, dmaUnmap } = setup();
    dmaMap(OLD);
    dev.access(IOVA, 64, "write");
    dmaUnmap(false); // TLBI + CMD_SYNC before the unmap returns
    expect(dev.access(IOVA, 64, "read")).toMatchObject({ ok: false, fault: { type: "translation" } });
    dmaMap(NEW);
    expect(dev.access(IOVA, 64, "read")).toMatchObject({ ok: true, pa: NEW, segments: [{ check: "ok" }] });
    expect(oracle.counts()).toMatchObject({ ok: 2, lazyWindow: 0, useAfterFree: 0 });
    expect(oracle.takeViolations()).toEqual([]);
  });

  it("an SMMU that drops invalidations is caught: after a strict unmap, and after a flush closed the window", () => {
    const { pt, dom, dev, oracle, dmaMap, dmaUnmap } = setup({ injectDroppedInvalidations: true, microTlb: 0 });
    dmaMap(OLD);
    dev.access(IOVA, 64, "read");
    dmaUnmap(false);
    expect(dev.access(IOVA, 64, "read")).toMatchObject({ ok: true, pa: OLD, segments: [{ check: "after-strict-unmap" }] });
    // Lazily unmapped elsewhere, then the flush queue's flush-all (TLBI_NH_ASID + CMD_SYNC) completes.
    pt.mapPages(0x10000, 0x7000_0000, 0x1000, 1, Prot.READ);
    oracle.recordMap(dom, 0x10000, 0x7000_0000, 0x1000);
    dev.access(0x10000, 4, "read");
    pt.unmapPages(0x10000, 0x1000, 1, { gather: "queued" });
    oracle.recordUnmap(dom, 0x10000, 0x1000, { lazy: true });
    expect(dev.access(0x10000, 4, "read")).toMatchObject({ ok: true, segments: [{ check: "lazy-window" }] });
    pt.free(); // tlb_flush_all: the window closes, whatever the broken SMMU did with it
    expect(dev.access(0x10000, 4, "read")).toMatchObject({ ok: true, segments: [{ check: "after-flush" }] });
    expect(oracle.takeViolations().map((v) => v.kind)).toEqual(["after-strict-unmap", "after-flush"]);
  });

  it("a walk through a freed table page is flagged", () => {
    const { pt, dom, dev, oracle } = setup({ injectDroppedInvalidations: true, microTlb: 0, walkCache: [4, 28, 348, 4] });
    pt.mapPages(0x200000, 0x1000, 0x1000, 1, Prot.READ);
    oracle.recordMap(dom, 0x200000, 0x1000, 0x1000);
    dev.access(0x200000, 4, "read"); // the L2 walk-cache entry now points at the L3 table
    // Unmapping the whole 2M frees the L3 table (walk flush, dropped by the broken SMMU).
    pt.unmapPages(0x200000, 0x200000, 1, { raw: true });
    oracle.recordUnmap(dom, 0x200000, 0x200000, { lazy: false });
    dev.access(0x201000, 4, "read"); // misses the IOTLB, resumes from the stale walk-cache entry
    expect(oracle.counts().freedTable).toBe(1);
    expect(oracle.takeViolations()[0]).toMatchObject({ kind: "freed-table", iova: 0x201000 });
  });

  it("a domain serves one SMMU", () => {
    const { dom } = setup();
    expect(() => sim.createSmmu().attachDevice(0, dom)).toThrow(/already attached to SMMU \d, and a domain serves one SMMU/);
  });

  it("an access through a translation the DMA API never made is flagged", () => {
    const { pt, dev, oracle } = setup();
    pt.mapPages(0x5000, 0x5000, 0x1000, 1, Prot.READ); // behind the DMA API's back
    expect(dev.access(0x5000, 4, "read")).toMatchObject({ ok: true, segments: [{ check: "unknown" }] });
    expect(oracle.takeViolations()[0]).toMatchObject({ kind: "unknown", iova: 0x5000 });
  });

  it("a shadow out of room: the lost updates are counted and pages it has no record of go unjudged, not 'unknown'", () => {
    const { pt, dom, dev, oracle } = setup({ oracle: { capacity: 16 } });
    // 32 scattered pages (every other one) mapped through the DMA API: the shadow has room
    // for 16 of them.
    const at = (i: number) => 0x10_0000 + i * 0x2000;
    for (let i = 0; i < 32; i++) {
      expect(pt.mapPages(at(i), at(i), 0x1000, 1, Prot.READ).ret).toBe(0);
      oracle.recordMap(dom, at(i), at(i), 0x1000);
    }
    expect(oracle.counts().shadowFull).toBe(16);
    const checks = Array.from({ length: 32 }, (_, i) => {
      const r = dev.access(at(i), 4, "read");
      return r.ok ? r.segments[0]!.check : "fault";
    });
    expect(checks.filter((c) => c === "ok")).toHaveLength(16);
    expect(checks.filter((c) => c === "unchecked")).toHaveLength(16);
    expect(oracle.counts()).toMatchObject({ ok: 16, unchecked: 16, unknown: 0 });
    expect(oracle.takeViolations()).toEqual([]);
  });

  it("a shadow keeps neighbouring pages in pairs: 32 pages mapped together fit a capacity of 16, a 17th pair does not", () => {
    const { pt, dom, dev, oracle } = setup({ oracle: { capacity: 16 } });
    expect(pt.mapPages(0x10_0000, 0x7000_0000, 0x1000, 34, Prot.READ).ret).toBe(0);
    // Two maps of 16 (one of more pages than the capacity is refused: validation.test.ts).
    for (const at of [0x10_0000, 0x11_0000]) oracle.recordMap(dom, at, 0x7000_0000 + (at - 0x10_0000), 16 * 0x1000);
    expect(oracle.counts().shadowFull).toBe(0);
    oracle.recordMap(dom, 0x12_0000, 0x7002_0000, 2 * 0x1000); // a 17th pair
    expect(oracle.counts().shadowFull).toBe(2);
    const checks = Array.from({ length: 34 }, (_, i) => dev.access(0x10_0000 + i * 0x1000, 4, "read"))
      .map((r) => (r.ok ? r.segments[0]!.check : "fault"));
    expect(checks.slice(0, 32).every((c) => c === "ok")).toBe(true);
    expect(checks.slice(32)).toEqual(["unchecked", "unchecked"]);
    // Each page of a pair keeps its own history: unmapping one leaves its neighbour mapped.
    oracle.recordUnmap(dom, 0x10_1000, 0x1000, { lazy: false });
    expect(oracle.takeViolations()).toEqual([]);
    expect(dev.access(0x10_0000, 4, "read")).toMatchObject({ ok: true, segments: [{ check: "ok" }] });
    expect(dev.access(0x10_1000, 4, "read")).toMatchObject({ ok: true, segments: [{ check: "after-strict-unmap" }] });
  });

  it("without an oracle, accesses carry no verdict", () => {
    const pt = sim.createPageTable(S1);
    const dom = sim.createSmmuDomain(pt, { id: 1 });
    const smmu = sim.createSmmu();
    const dev = smmu.attachDevice(0, dom);
    pt.mapPages(0, 0, 0x1000, 1, Prot.READ);
    const r = dev.access(0, 4, "read");
    expect(r.ok && r.segments[0]!.check).toBeUndefined();
    expect(smmu.oracle).toBeUndefined();
    expect(() => sim.createSmmu({ oracle: { capacity: 100 } })).toThrow(/powers of two/);
  });
});
