// Every page-table trace in shared/conformance/pgtable and 612/pgtable (made by the kernel's
// own io-pgtable-arm.c, with an SMMUv3 command encoder) replays identically after the
// README's normalisation — CMD lines included. The first harness encoded commands with the
// v5.15 driver's rules for both of its profiles, so those traces are replayed with
// commandRules '5.15'; the 6.12 traces carry the 6.12 driver's own encoding.

import { describe, expect, it } from "vitest";
import { PROFILES, normalizeTrace, replayScript } from "../dist/index.js";
import { traceCases } from "./helpers.js";

const cases = [...traceCases("pgtable"), ...traceCases("612/pgtable")];

describe("page-table conformance traces", () => {
  it("finds the traces of every profile", () => {
    expect(cases.length).toBeGreaterThanOrEqual(34);
    expect(new Set(cases.map((c) => c.profile))).toEqual(new Set(PROFILES));
  });

  for (const c of cases) {
    it(`${c.name} [${c.profile}]`, async () => {
      const got = normalizeTrace(await replayScript(c.script, { profile: c.profile, commandRules: c.commandRules }));
      const want = normalizeTrace(c.expected.split(/\r?\n/));
      // Line by line first, for a readable failure; then the whole length.
      for (let i = 0; i < Math.max(got.length, want.length); i++) {
        if (got[i] !== want[i]) expect(`line ${i + 1}: ${got[i]}`).toBe(`line ${i + 1}: ${want[i]}`);
      }
      expect(got.length).toBe(want.length);
    });
  }
});
