// A device translating continuously in one worker while another maps, unmaps and
// invalidates the same pages: every translation the SMMU returns is whole (never the tag
// of one entry with the output of another), and the caches stay usable afterwards.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Simulator, WorkerPool } from "../dist/index.js";
import type { StressArgs, StressResult } from "../src/tasks/smmu.js";

let sim: Simulator;
beforeAll(async () => { sim = await Simulator.create({ profile: "7.1" }); });
afterAll(async () => {
  await sim.close();
  expect(WorkerPool.liveWorkers).toBe(0);
});

describe("translation under concurrent invalidation", () => {
  for (const [label, opts] of [
    ["IOTLB only, TLBIs effective when consumed", { microTlb: 0 }],
    ["micro-TLB, 2-way IOTLB, TLBIs effective at CMD_SYNC", { microTlb: 8, iotlb: { entries: 64, ways: 2 }, invalidateAt: "sync" as const }],
  ] as const) {
    it(label, async () => {
      const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48, events: 0 });
      const dom = sim.createSmmuDomain(pt, { id: 3 });
      const smmu = sim.createSmmu(opts);
      smmu.attachDevice(7, dom);
      const pool = await sim.pool({ workers: 2 });
      const base = 0x4000_0000;
      const common = { smmu: smmu.id, streamId: 7, table: pt.id, base, pages: 64 };
      const results = await pool.run<StressResult>("smmu.stress", (w: number): StressArgs => ({
        ...common, role: w === 0 ? "translate" : "remap", count: w === 0 ? 300_000 : 60_000, seed: 11 + w,
      }), { timeoutMs: 120_000 });
      const t = results[0]!;
      expect(t.torn, t.example).toBe(0);
      // The race was real: the translator saw pages move under it.
      expect(t.translated).toBeGreaterThan(t.operations / 2);
      expect(t.generationsSeen).toBeGreaterThan(0);
      const s = smmu.stats();
      expect(s.tlbi.va).toBeGreaterThanOrEqual(60_000);
      expect(s.syncs).toBeGreaterThanOrEqual(60_000);
      smmu.destroy();
      dom.destroy();
      pt.release();
    });
  }
});
