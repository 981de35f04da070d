// Device DMA engines: a device takes posted descriptors from its ring and does the DMA
// through the SMMU; an attacker keeps the IOVAs it was given and keeps retrying them —
// getting through after a lazy unmap (and, with the oracle, caught as use-after-free once
// the IOVA is reused), never after a strict one.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Prot, Simulator } from "../dist/index.js";
import { LPAE_S1 as S1 } from "./helpers.js";

let sim: Simulator;
beforeEach(async () => { sim = await Simulator.create({ profile: "5.15" }); });
afterEach(async () => { await sim.close(); });

function setup(oracle = true) {
  const pt = sim.createPageTable(S1);
  const dom = sim.createSmmuDomain(pt, { id: 4 });
  const smmu = sim.createSmmu({ oracle, microTlb: 0 });
  const dev = smmu.attachDevice(9, dom);
  const map = (iova: number, pa: number, pages: number) => {
    pt.mapPages(iova, pa, 0x1000, pages, Prot.READ | Prot.WRITE);
    smmu.oracle?.recordMap(dom, iova, pa, pages * 0x1000);
  };
  const unmap = (iova: number, pages: number, lazy: boolean) => {
    pt.unmapPages(iova, 0x1000, pages, { gather: lazy ? "queued" : "strict" });
    smmu.oracle?.recordUnmap(dom, iova, pages * 0x1000, { lazy });
  };
  return { pt, dom, smmu, dev, map, unmap };
}

describe("device DMA engines", () => {
  it("a device takes what the driver posts and does the DMA through the SMMU", () => {
    const { dev, map } = setup(false);
    map(0x10000, 0x8000_0000, 4);
    const eng = dev.engine({ capacity: 4 });
    expect(eng.post(0x10000, 0x2000, "write")).toBe(true);
    expect(eng.post(0x12800, 0x1000, "read")).toBe(true);
    expect(eng.post(0x20000, 64, "read")).toBe(true); // not mapped
    expect(eng.post(0x10000, 8, "read")).toBe(true);
    expect(eng.post(0x10000, 8, "read")).toBe(false); // ring full
    expect(eng.pending).toBe(4);
    expect(eng.run({ budget: 2 })).toBe(2);
    expect(eng.run()).toBe(2);
    expect(eng.stats()).toEqual({ completed: 3, faulted: 1, bytes: 0x2000 + 0x1000 + 8, retries: 0, retriesThrough: 0 });
    expect(eng.pending).toBe(0);
  });

  it("an attacker gets through stale translations after a lazy unmap; the oracle names the reuse", () => {
    const { dev, map, unmap, smmu } = setup();
    const eng = dev.engine({ attacker: { history: 16, retries: 8 } });
    map(0x10000, 0x8000_0000, 1);
    eng.post(0x10000, 256, "read");
    eng.run(); // a legitimate DMA: the IOTLB now holds the translation
    unmap(0x10000, 1, true); // lazy: the translation stays
    map(0x10000, 0x9000_0000, 1); // reused for another buffer
    map(0x20000, 0x9100_0000, 1);
    eng.post(0x20000, 64, "read");
    eng.run(); // and the attacker retries 0x10000 / 0x20000 from its history
    const st = eng.stats();
    expect(st.retries).toBe(16); // 8 after each of the two descriptors
    expect(st.retriesThrough).toBe(16); // every retry got through: 0x10000 stale, 0x20000 live
    const c = smmu.oracle!.counts();
    expect(c.useAfterFree).toBeGreaterThan(0); // 0x10000 → old page 0x80000000 while mapped to 0x90000000
    expect(smmu.oracle!.takeViolations().every((v) => v.kind === "use-after-free" && v.reached === 0x8000_0000)).toBe(true);
  });

  it("after a strict unmap the attacker's retries fault", () => {
    const { dev, map, unmap, smmu } = setup();
    const eng = dev.engine({ attacker: { history: 16, retries: 8 } });
    map(0x10000, 0x8000_0000, 1);
    eng.post(0x10000, 256, "read");
    eng.run();
    const before = eng.stats().retriesThrough;
    unmap(0x10000, 1, false);
    map(0x20000, 0x9100_0000, 1);
    eng.post(0x20000, 64, "read");
    eng.run();
    const st = eng.stats();
    // Retries after the unmap reach only 0x20000 (mapped) — never the unmapped 0x10000.
    expect(st.retriesThrough - before).toBeLessThan(8);
    expect(smmu.oracle!.counts()).toMatchObject({ useAfterFree: 0, afterStrictUnmap: 0 });
  });

  it("refuses bad options", () => {
    const { dev } = setup(false);
    expect(() => dev.engine({ capacity: 100 })).toThrow(/capacity must be a power of two/);
    expect(() => dev.engine({ attacker: { history: 3 } })).toThrow(/attacker.history must be a power of two/);
    const eng = dev.engine();
    expect(() => eng.post(-1, 8, "read")).toThrow(/iova/);
    eng.destroy();
    expect(() => eng.run()).toThrow(/destroyed/);
  });
});
