// The kernel's own io-pgtable-arm self-tests pass in both profiles, with no WARN and no
// table page leaked.

import { describe, expect, it } from "vitest";
import { Simulator, runSelftest } from "../dist/index.js";

describe("kernel selftests", () => {
  for (const [profile, configs] of [["5.15", 18], ["7.1", 63]] as const) {
    it(`${profile}: ${configs} configurations pass`, async () => {
      const sim = await Simulator.create({ profile });
      try {
        const r = runSelftest(sim);
        expect(r.failures).toEqual([]);
        expect(r.pass).toBe(configs);
        expect(r.fail).toBe(0);
        expect(r.warnings).toEqual([]);
        expect(r.leakedAllocations).toBe(0);
        expect(sim.memoryStats()).toMatchObject({ tablePages: 0, badFrees: 0 });
      } finally {
        await sim.close();
      }
    });
  }
});
