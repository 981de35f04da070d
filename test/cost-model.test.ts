// The cost model: what the modelled hardware would spend, charged to the CPU (commands it
// writes, syncs it waits for, kernel spinlocks it takes) or to the SMMU (lookups, walks),
// with the costs configurable per run.

import { describe, expect, it } from "vitest";
import { Prot, Simulator } from "../dist/index.js";

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

  it("charges the CPU for the kernel's spinlocks and for commands and syncs", async () => {
    const sim = await Simulator.create({ profile: "7.1", cpuCosts: { lock: 7 } });
    try {
      const iovad = sim.createIovaDomain({ granule: 0x1000, startPfn: 1, cpus: 1, checkFastFrees: false });
      sim.cpuModelledNs({ reset: true });
      iovad.alloc(1, 0xfffff);
      expect(sim.cpuModelledNs()).toBe(7); // the tree lock
      const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48 });
      const dom = sim.createSmmuDomain(pt, { id: 2 });
      const smmu = sim.createSmmu({ costs: { tlbi: 40, sync: 900 } });
      smmu.attachDevice(0, dom);
      pt.mapPages(0x1000, 0x1000, 0x1000, 1, Prot.READ);
      sim.cpuModelledNs({ reset: true });
      pt.unmapPages(0x1000, 0x1000, 1);
      expect(sim.cpuModelledNs()).toBe(40 + 900);
      expect(() => sim.createSmmu({ costs: { sync: -1 } })).toThrow(/costs.sync must be an integer/);
    } finally {
      await sim.close();
    }
    await expect(Simulator.create({ cpuCosts: { lock: 1.5 } })).rejects.toThrow(/cpuCosts.lock must be an integer/);
  });
});
