// Every IOVA trace in shared/conformance/iova and 612/iova (printed by the kernel's own
// iova.c, 5.15.16, 6.12.63 and v7.1) replays identically after the README's normalisation — with the O(log n) gap
// search, and again with the search cross-checked against the kernel's linear walk.

import { describe, expect, it } from "vitest";
import { PROFILES, normalizeTrace, replayScript } from "../dist/index.js";
import { traceCases } from "./helpers.js";

const traces = [...traceCases("iova"), ...traceCases("612/iova")];

function expectSame(got: string[], expectedText: string): void {
  const g = normalizeTrace(got);
  const w = normalizeTrace(expectedText.split(/\r?\n/));
  for (let i = 0; i < Math.max(g.length, w.length); i++) {
    if (g[i] !== w[i]) expect(`line ${i + 1}: ${g[i]}`).toBe(`line ${i + 1}: ${w[i]}`);
  }
  expect(g.length).toBe(w.length);
}

describe("IOVA conformance traces", () => {
  it("finds the traces of every profile", () => {
    expect(traces.length).toBeGreaterThanOrEqual(38);
    expect(new Set(traces.map((t) => t.profile))).toEqual(new Set(PROFILES));
  });

  for (const t of traces) {
    it(`${t.name} [${t.profile}]`, async () => {
      expectSame(await replayScript(t.script, { profile: t.profile }), t.expected);
    });
  }

  for (const t of traces) {
    it(`${t.name} [${t.profile}], every search checked against the kernel's walk`, async () => {
      // The replay throws if the O(log n) search ever stops at another node than the walk.
      expectSame(await replayScript(t.script, { profile: t.profile, iovaSearch: "verify" }), t.expected);
    });
  }

  it("a wrong profile is caught (the comparison can fail)", async () => {
    const depot = traces.find((t) => t.name === "iova/depot.71");
    expect(depot).toBeDefined();
    const got = normalizeTrace(await replayScript(depot!.script, { profile: "5.15" }));
    expect(got).not.toEqual(normalizeTrace(depot!.expected.split(/\r?\n/)));
  });
});
