// The cost model: what the modelled hardware would spend, charged to the CPU (commands it
// writes, syncs it waits for, kernel spinlocks it takes) or to the SMMU (lookups, walks),
// with the costs configurable per run.

import { describe, expect, it } from "vitest";
import { DEFAULT_CPU_COSTS, Prot, Simulator } from "../dist/index.js";

describe("cost model", () => {
  it("charges the SMMU per lookup and descriptor read, with the run's costs", async () => {
    const sim = await Simulator.create();
    try {
      const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48 });
      const dom = sim.createSmmuDomain(pt, { id: 1 });
      const smmu = sim.createSmmu({ microTlb: 0, costs: { pteRead: 70, iotlbMiss: 5, iotlbHit: 2, walkCacheHit: 9 } });
      const dev = smmu.attachDevice(0, dom);
      pt.mapPages(0x1000, 0x1000, 0x1000, 2, Prot.READ);
      dev.access(0x1000, 4, "read");
      expect(smmu.stats().modelledNs).toBe(5 + 4 * 70); // a miss, then a 4-level walk
      dev.access(0x1000, 4, "read");
      expect(smmu.stats().modelledNs).toBe(5 + 4 * 70 + 2); // a hit
      dev.access(0x2000, 4, "read");
      expect(smmu.stats().modelledNs).toBe(5 + 4 * 70 + 2 + 5 + 9 + 70); // miss, L2 walk-cache hit, 1 read
    } finally {
      await sim.close();
    }
  });

  it("charges the CPU for the kernel's spinlocks, its own work, and for commands and syncs", async () => {
    const sim = await Simulator.create({ profile: "7.1", cpuCosts: { lock: 7, iovaTree: 100, walkStep: 3, pte: 1 } });
    try {
      const iovad = sim.createIovaDomain({ granule: 0x1000, startPfn: 1, cpus: 1, checkFastFrees: false });
      sim.cpuModelledNs({ reset: true });
      iovad.alloc(1, 0xfffff);
      expect(sim.cpuModelledNs()).toBe(7 + 100); // the tree lock, the rbtree insert
      const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48 });
      const dom = sim.createSmmuDomain(pt, { id: 2 });
      const smmu = sim.createSmmu({ costs: { tlbi: 40, sync: 900 } });
      smmu.attachDevice(0, dom);
      pt.mapPages(0x1000, 0x1000, 0x1000, 1, Prot.READ);
      sim.cpuModelledNs({ reset: true });
      pt.unmapPages(0x1000, 0x1000, 1);
      expect(sim.cpuModelledNs()).toBe(40 + 900 + 3 * 3 + 1); // TLBI + sync, 3 walk steps, 1 PTE cleared
      expect(() => sim.createSmmu({ costs: { sync: -1 } })).toThrow(/costs.sync must be an integer/);
    } finally {
      await sim.close();
    }
    await expect(Simulator.create({ cpuCosts: { lock: 1.5 } })).rejects.toThrow(/cpuCosts.lock must be an integer/);
  });

  it("has documented CPU-cost defaults, changeable per Simulator, each charged where the work is", async () => {
    const sim = await Simulator.create({ profile: "7.1", cpuCosts: { dmaApi: 1000 } });
    try {
      expect(sim.cpuCosts).toEqual({ ...DEFAULT_CPU_COSTS, dmaApi: 1000 });
      sim.setCpuCosts({ dmaApi: 0, lock: 0, iovaRcache: 0, iovaTree: 0, walkStep: 0, pte: 0, tableAlloc: 0, fqQueue: 0 });
      expect(() => sim.setCpuCosts({ bogus: 1 } as never)).toThrow(/^setCpuCosts: costs\.bogus is not a known CPU cost; known: lock, /);
      expect(() => sim.setCpuCosts({ pte: -1 })).toThrow(/^setCpuCosts: costs\.pte must be an integer/);
      const smmu = sim.createSmmu({ costs: { tlbi: 0, sync: 0 } });
      const dom = sim.createDmaDomain({ smmu, cpus: 1 });
      const dev = dom.attachDevice({ streamId: 1, dmaMask: 32 });
      const costOf = (k: keyof typeof DEFAULT_CPU_COSTS, n: number, fn: () => void) => {
        sim.setCpuCosts({ [k]: n });
        sim.cpuModelledNs({ reset: true });
        fn();
        const ns = sim.cpuModelledNs();
        sim.setCpuCosts({ [k]: 0 });
        return ns;
      };
      // A 4 KiB map: one API call, one tree allocation (the rcache is empty), 3 tables, 3
      // steps down the walk, 1 PTE; its unmap: one call, 3 steps, 1 PTE, one rcache free.
      let iova = 0;
      expect(costOf("tableAlloc", 10, () => { iova = dev.map(0x1_0000_0000, 4096); })).toBe(30);
      expect(costOf("iovaTree", 10, () => dev.unmap(iova, 4096))).toBe(0); // into the rcache
      expect(costOf("dmaApi", 10, () => { iova = dev.map(0x1_0000_0000, 4096); })).toBe(10);
      dev.unmap(iova, 4096);
      expect(costOf("iovaRcache", 10, () => { iova = dev.map(0x1_0000_0000, 4096); })).toBe(10);
      expect(costOf("pte", 10, () => dev.unmap(iova, 4096))).toBe(10);
      expect(costOf("walkStep", 10, () => { iova = dev.map(0x1_0000_0000, 4096); })).toBe(30);
      expect(costOf("iovaRcache", 10, () => dev.unmap(iova, 4096))).toBe(10);
      // 1 MiB is above the rcache's 32-page limit: the rbtree both ways.
      expect(costOf("iovaTree", 10, () => { iova = dev.map(0x1_0000_0000, 1 << 20); })).toBe(10);
      expect(costOf("pte", 1, () => dev.unmap(iova, 1 << 20))).toBe(256);
    } finally {
      await sim.close();
    }
  });
});
