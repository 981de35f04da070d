// Results that hold 64-bit values as BigInt (src/json-form.ts) go through JSON.stringify: each
// BigInt field becomes its decimal string, and the objects otherwise compare and spread as
// before (the toJSON is not an enumerable field).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Prot, Simulator, mapBenchmarkStats } from "../dist/index.js";

let sim: Simulator;
beforeAll(async () => { sim = await Simulator.create({ ramMiB: 16 }); });
afterAll(async () => { await sim.close(); });

const roundTrip = (v: unknown) => JSON.parse(JSON.stringify(v));

describe("JSON form of results with BigInt fields", () => {
  it("page tables: a map's result, a dump's PTEs, the geometry's MAIR", () => {
    const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48 });
    const r = pt.mapPages(0x1000, 0xabc000, 0x1000, 1, Prot.READ);
    expect(roundTrip(r)).toEqual({ ret: 0, mapped: 4096, mapped64: "4096" });
    expect(Object.keys(r)).toEqual(["ret", "mapped", "mapped64"]); // toJSON is not a field
    expect(r).toEqual({ ret: 0, mapped: 4096, mapped64: 4096n });
    const leaf = roundTrip(pt.dump()).find((e: { kind: string }) => e.kind === "page");
    expect(BigInt(leaf.pte)).toBe(pt.dump().find((e) => e.kind === "page")!.pte);
    expect(roundTrip(pt.geometry).mair).toBe(pt.geometry.mair!.toString());
    pt.release();
  });

  it("SMMU faults, from an access and from the fault queue", () => {
    const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48 });
    const smmu = sim.createSmmu({ microTlb: 0 });
    const dev = smmu.attachDevice(1, sim.createSmmuDomain(pt, { id: 9 }));
    const a = roundTrip(dev.access(0x5000, 4, "read"));
    expect(a).toMatchObject({ ok: false, fault: { type: "translation", iova: 0x5000, info: "0" } });
    expect(roundTrip(smmu.takeFaults())).toEqual([expect.objectContaining({ type: "translation", info: "0" })]);
    smmu.destroy();
    pt.release();
  });

  it("IOVA state, and the map benchmark's statistics", () => {
    const iova = sim.createIovaDomain({ granule: 4096, startPfn: 1 });
    const s = roundTrip(iova.state());
    expect(typeof s.cachedNode).toBe("string");
    expect(BigInt(s.cachedNode)).toBe(iova.state().cachedNode);
    iova.destroy();
    const stats = mapBenchmarkStats({ loops: 2n, sumMap: 20n, sumUnmap: 40n, sumSqMap: 200n, sumSqUnmap: 800n });
    expect(roundTrip(stats)).toMatchObject({ avgMap100ns: "10", avgUnmap100ns: "20" });
  });
});
