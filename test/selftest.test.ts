// The kernel's own io-pgtable-arm self-tests pass in every profile, with no WARN and no
// table page leaked.

import { describe, expect, it } from "vitest";
import { PROFILES, Simulator, profileHas, runSelftest } from "../dist/index.js";

// The boot-time selftest runs 18 configurations; the KUnit suite (PGT_SELFTEST_KUNIT) 63
// (reference §4.14). Every profile is covered, so a new one is tested by being added.
const configurationsOf = (p: (typeof PROFILES)[number]) => (profileHas(p, "PGT_SELFTEST_KUNIT") ? 63 : 18);

describe("kernel selftests", () => {
  for (const [profile, configs] of PROFILES.map((p) => [p, configurationsOf(p)] as const)) {
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
