// The v5.15 flush queue (then part of iova.c): the kernel-code traces of
// shared/conformance/fq515 replay identically, and its rules hold — a full ring flushes
// synchronously, an entry waits for a flush that started after it, the timeout releases
// every CPU's ring into the caches of the CPU it runs on, teardown runs the destructors.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Simulator, normalizeTrace, replayScript, type IovaDomain } from "../dist/index.js";
import { traceCases } from "./helpers.js";

const cases = traceCases("fq515");

describe("fq515 conformance traces", () => {
  it("finds the traces", () => expect(cases.length).toBeGreaterThanOrEqual(4));
  for (const c of cases) {
    it(`${c.name} [${c.profile}]`, async () => {
      const got = normalizeTrace(await replayScript(c.script, { profile: c.profile }));
      const want = normalizeTrace(c.expected.split(/\r?\n/));
      for (let i = 0; i < Math.max(got.length, want.length); i++) {
        if (got[i] !== want[i]) expect(`line ${i + 1}: ${got[i]}`).toBe(`line ${i + 1}: ${want[i]}`);
      }
    });
  }
});

describe("flush-queue rules (v5.15)", () => {
  let sim: Simulator;
  let d: IovaDomain;
  beforeEach(async () => {
    sim = await Simulator.create({ profile: "5.15" });
    d = sim.createIovaDomain({ granule: 0x1000, startPfn: 1, cpus: 2 });
    d.fqInit();
  });
  afterEach(async () => { await sim.close(); });

  const alloc = (cpu: number) => d.allocFast(cpu, 1, 0xfffff, true);
  const loaded = (cpu: number) => d.rcacheState().bins[0]!.cpus[cpu]!.loaded;

  it("a full ring (255 entries) flushes synchronously and releases into the queuing CPU", () => {
    const pfns = Array.from({ length: 256 }, () => alloc(0));
    for (let i = 0; i < 255; i++) expect(d.queue(0, pfns[i]!, 1, i)).toEqual({ startCnt: 0, finishCnt: 0, ringFullFlushes: 0, timerFlushes: 0 });
    expect(d.takeEvents()).toEqual([]);
    expect(d.queue(0, pfns[255]!, 1, 255)).toEqual({ startCnt: 1, finishCnt: 1, ringFullFlushes: 1, timerFlushes: 0 });
    const ev = d.takeEvents();
    expect(ev[0]).toEqual({ kind: "fq-flush" });
    expect(ev.slice(1)).toEqual(Array.from({ length: 255 }, (_, i) => ({ kind: "fq-release", data: i })));
    const cpu0 = d.rcacheState().bins[0]!.cpus[0]!;
    expect(cpu0.loaded.length + cpu0.prev.length).toBe(255); // all of them into CPU 0's magazines
  });

  it("an entry is released only by a flush that started after it was queued", () => {
    const [a, b] = [alloc(0), alloc(0)];
    d.queue(0, a, 1, 1); // stamped start_cnt 0
    sim.tick(3); // the timer: flush #1 finishes → finish_cnt 1 > 0: a goes
    expect(d.takeEvents()).toEqual([{ kind: "fq-flush" }, { kind: "fq-release", data: 1 }]);
    d.queue(0, b, 1, 2); // stamped start_cnt 1: the finished flush does not cover it
    expect(d.takeEvents()).toEqual([]);
    sim.tick(2);
    expect(d.takeEvents()).toEqual([]); // timer not due yet (armed for 3 jiffies)
    sim.tick(1);
    expect(d.takeEvents()).toEqual([{ kind: "fq-flush" }, { kind: "fq-release", data: 2 }]);
  });

  it("the timeout releases every CPU's ring into the caches of the CPU it runs on", () => {
    const [a, b] = [alloc(0), alloc(1)];
    d.queue(0, a, 1, 10);
    d.queue(1, b, 1, 11);
    sim.tick(3, { cpu: 1 });
    expect(loaded(1).sort()).toEqual([a, b].sort());
    expect(loaded(0)).toEqual([]);
  });

  it("teardown runs the destructors without freeing the IOVAs; v7.1 has no flush queue in iova.c", async () => {
    const a = alloc(0);
    d.queue(0, a, 1, 7);
    d.fqTeardown();
    expect(d.takeEvents()).toEqual([{ kind: "fq-release", data: 7 }]);
    expect(d.find(a)).toEqual({ lo: a, hi: a }); // still allocated: the domain goes next
    expect(() => d.queue(0, a, 1, 8)).toThrow(/has no flush queue/);
    const s71 = await Simulator.create({ profile: "7.1" });
    expect(() => s71.createIovaDomain({ granule: 0x1000, startPfn: 1 }).fqInit()).toThrow(/in 7.1 the flush queue belongs to dma-iommu/);
    await s71.close();
  });
});

describe("lazy mode end to end (v5.15): the flush queue's flush invalidates before IOVAs are reused", () => {
  it("a lazily unmapped IOVA stays reachable only until the timer's flush; reuse after it is safe", async () => {
    const sim = await Simulator.create({ profile: "5.15" });
    try {
      const { Prot } = await import("../dist/index.js");
      const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48, events: 0 });
      const dom = sim.createSmmuDomain(pt, { id: 3 });
      const smmu = sim.createSmmu({ oracle: true });
      const dev = smmu.attachDevice(1, dom);
      const iovad = sim.createIovaDomain({ granule: 0x1000, startPfn: 1, cpus: 1 });
      iovad.fqInit();
      iovad.fqFlushThrough(pt);
      const oracle = smmu.oracle!;
      // dma_map and a lazy dma_unmap, by hand (the DMA layer will do exactly this).
      const dmaMap = (pa: number) => {
        const pfn = iovad.allocFast(0, 1, 0xfffff, true);
        pt.mapPages(pfn * 0x1000, pa, 0x1000, 1, Prot.READ | Prot.WRITE);
        oracle.recordMap(dom, pfn * 0x1000, pa, 0x1000);
        return pfn;
      };
      const pfn = dmaMap(0x9000_0000);
      expect(dev.access(pfn * 0x1000, 64, "read")).toMatchObject({ ok: true, segments: [{ check: "ok" }] });
      pt.unmapPages(pfn * 0x1000, 0x1000, 1, { gather: "queued" });
      oracle.recordUnmap(dom, pfn * 0x1000, 0x1000, { lazy: true });
      iovad.queue(0, pfn, 1, 1);
      // Inside the lazy window: the stale translation still works, and that is accepted.
      expect(dev.access(pfn * 0x1000, 64, "read")).toMatchObject({ ok: true, segments: [{ check: "lazy-window" }] });
      sim.tick(3); // the 10 ms timeout (3 jiffies, rounded up): flush_iotlb_all (TLBI_NH_ASID + CMD_SYNC), then the release
      expect(smmu.stats().tlbi.context).toBe(1);
      expect(dev.access(pfn * 0x1000, 64, "read")).toMatchObject({ ok: false, fault: { type: "translation" } });
      // The IOVA comes back from the CPU cache for the next buffer, and the device reaches the new page only.
      expect(dmaMap(0xa000_0000)).toBe(pfn);
      expect(dev.access(pfn * 0x1000, 64, "write")).toMatchObject({ ok: true, pa: 0xa000_0000, segments: [{ check: "ok" }] });
      expect(oracle.counts()).toMatchObject({ lazyWindow: 1, useAfterFree: 0, afterFlush: 0 });
    } finally {
      await sim.close();
    }
  });
});
