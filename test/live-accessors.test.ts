// The read-only accessors the live page (web/) watches a run through: the IOTLB's entries
// (Smmu.iotlbSnapshot) and each flush-queue ring's occupancy (DmaDomain.fqRingOccupancy,
// fqRingCapacity). Single-threaded here; the browser test watches them during a real run.

import { afterEach, describe, expect, it } from "vitest";
import { Prot, Simulator } from "../dist/index.js";
import { LPAE_S1 } from "./helpers.js";

const PAGE = 0x1000;
const PA = 0x1_0000_0000;

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** The set an entry of `tag` lives in (assembly/smmu/cache.ts setIndex). */
const setOf = (tag: number, sets: number) => Number((BigInt(tag) ^ (BigInt(tag) >> 17n)) % BigInt(sets));

describe("Smmu.iotlbSnapshot", () => {
  it("shows the geometry, the entries a walk filled (set, tag, ASID, size, output) and their invalidation", async () => {
    sim = await Simulator.create({ profile: "7.1" });
    const pt = sim.createPageTable(LPAE_S1);
    const dom = sim.createSmmuDomain(pt, { id: 7 });
    const smmu = sim.createSmmu({ microTlb: 0, iotlb: { entries: 64, ways: 4 } });
    const dev = smmu.attachDevice(1, dom);
    const empty = smmu.iotlbSnapshot(1);
    expect(empty).toMatchObject({ sets: 16, ways: 4, streamId: 1 });
    expect(empty.entries).toHaveLength(64);
    expect(empty.entries.filter((e) => e.valid)).toEqual([]);

    pt.mapPages(0x5000, 0x8000_0000, PAGE, 1, Prot.READ);
    pt.mapPages(0x20_0000, 0x9000_0000, 0x20_0000, 1, Prot.READ);
    expect(dev.access(0x5010, 4, "read").ok).toBe(true);
    expect(dev.access(0x20_1234, 4, "read").ok).toBe(true);

    const snap = smmu.iotlbSnapshot(1);
    const valid = snap.entries.map((e, i) => ({ ...e, set: Math.floor(i / snap.ways) })).filter((e) => e.valid);
    expect(valid).toHaveLength(2);
    const page = valid.find((e) => e.shift === 12)!;
    expect(page).toMatchObject({ tag: 5, ctx: 7, leaf: true, out: 0x8000_0000, set: setOf(5, 16) });
    const block = valid.find((e) => e.shift === 21)!;
    expect(block).toMatchObject({ tag: 1, ctx: 7, leaf: true, out: 0x9000_0000, set: setOf(1, 16) });

    smmu.submit({ op: "TLBI_NH_VA", asid: 7, addr: 0x5000, leaf: true });
    smmu.submit({ op: "CMD_SYNC" });
    const after = smmu.iotlbSnapshot(1).entries.filter((e) => e.valid);
    expect(after.map((e) => e.shift)).toEqual([21]);
  });

  it("reads one device's main TLB (IOTLB scope device, the default), or the one IOTLB every device shares (scope smmu)", async () => {
    sim = await Simulator.create({ profile: "7.1" });
    const validTags = (s: { entries: { valid: boolean; tag: number }[] }) => s.entries.filter((e) => e.valid).map((e) => e.tag);
    for (const scope of ["device", "smmu"] as const) {
      const pt = sim.createPageTable(LPAE_S1);
      pt.mapPages(0x5000, 0x8000_0000, PAGE, 1, Prot.READ);
      const smmu = sim.createSmmu({ microTlb: 0, iotlb: { entries: 64, ways: 4, scope } });
      expect(smmu.iotlbScope).toBe(scope);
      const dom = sim.createSmmuDomain(pt, { id: scope === "device" ? 7 : 8 });
      const [a, b] = [smmu.attachDevice(1, dom), smmu.attachDevice(2, dom)];
      expect(smmu.streamIds).toEqual([1, 2]);
      expect(a.access(0x5000, 4, "read")).toMatchObject({ ok: true, segments: [{ from: "walk" }] });
      // The second device finds device 1's fill only in an IOTLB they share.
      expect(b.access(0x5000, 4, "read")).toMatchObject({ ok: true, segments: [{ from: scope === "smmu" ? "iotlb" : "walk" }] });
      if (scope === "device") {
        expect(validTags(smmu.iotlbSnapshot(1))).toEqual([5]);
        expect(validTags(smmu.iotlbSnapshot(2))).toEqual([5]);
        expect(smmu.stats().iotlb).toMatchObject({ fills: 2, misses: 2, hits: 0 }); // both devices' main TLBs together
        expect(() => smmu.iotlbSnapshot()).toThrow(/streamId.*must name the device whose main TLB to read.*attached: 1, 2/);
      } else {
        expect(smmu.iotlbSnapshot()).not.toHaveProperty("streamId");
        expect(validTags(smmu.iotlbSnapshot())).toEqual([5]);
        expect(smmu.stats().iotlb).toMatchObject({ fills: 1, misses: 1, hits: 1 });
      }
      expect(() => smmu.iotlbSnapshot(3)).toThrow(/streamId is not a device attached to this SMMU, got 3/);
      // A TLBI reaches every device's main TLB.
      smmu.submit({ op: "TLBI_NH_VA", asid: scope === "device" ? 7 : 8, addr: 0x5000, leaf: true });
      smmu.submit({ op: "CMD_SYNC" });
      for (const sid of scope === "device" ? [1, 2] : [undefined]) expect(validTags(smmu.iotlbSnapshot(sid))).toEqual([]);
      smmu.destroy();
    }
  });

  it("a device detached and attached again starts with an empty main TLB: no TLBI reached it meanwhile", async () => {
    sim = await Simulator.create({ profile: "7.1" });
    const pt = sim.createPageTable(LPAE_S1);
    pt.mapPages(0x5000, 0x8000_0000, PAGE, 1, Prot.READ);
    const smmu = sim.createSmmu({ microTlb: 0 });
    const dom = sim.createSmmuDomain(pt, { id: 7 });
    const dev = smmu.attachDevice(1, dom);
    expect(dev.access(0x5000, 4, "read").ok).toBe(true);
    dev.detach();
    pt.unmapPages(0x5000, PAGE, 1); // its invalidation reaches attached streams only
    const again = smmu.attachDevice(1, dom);
    expect(smmu.iotlbSnapshot(1).entries.filter((e) => e.valid)).toEqual([]);
    expect(again.access(0x5000, 4, "read").ok).toBe(false);
  });
});

describe("DmaDomain.fqRingOccupancy", () => {
  it("is empty for a strict domain, then counts each CPU's ring as lazy unmaps queue", async () => {
    sim = await Simulator.create({ profile: "7.1" });
    const smmu = sim.createSmmu();
    const dom = sim.createDmaDomain({ smmu, cpus: 2 });
    const dev = dom.attachDevice({ streamId: 1 });
    expect(dom.fqRingOccupancy()).toEqual([]);
    expect(dom.fqRingCapacity()).toBe(0);

    dom.setType("DMA-FQ");
    expect(dom.fqRingOccupancy()).toEqual([0, 0]);
    expect(dom.fqRingCapacity()).toBe(255);
    const pairs = (cpu: number, n: number) => {
      for (let i = 0; i < n; i++) dev.unmap(dev.map(PA + i * PAGE, PAGE, { cpu }), PAGE, { cpu });
    };
    pairs(0, 3);
    pairs(1, 5);
    expect(dom.fqRingOccupancy()).toEqual([3, 5]);
    expect(dom.fqPending()).toBe(8);
  });

  it("v7.1 single mode has one ring shared by every CPU", async () => {
    sim = await Simulator.create({ profile: "7.1" });
    const smmu = sim.createSmmu();
    const dom = sim.createDmaDomain({ smmu, cpus: 2, type: "DMA-FQ", fqMode: "single" });
    const dev = dom.attachDevice({ streamId: 1 });
    for (const cpu of [0, 1]) dev.unmap(dev.map(PA, PAGE, { cpu }), PAGE, { cpu });
    expect(dom.fqRingOccupancy()).toEqual([2]);
    expect(dom.fqRingCapacity()).toBe(32767);
  });
});
