// The package in a real browser (Debian's Chromium, headless): dist/index.js imported by a
// cross-origin-isolated page runs a scenario on two Web Workers.

import { describe, expect, it } from "vitest";
import { browserForSuite, withChromium } from "./browser.js";

describe("the package in Chromium", () => {
  if (!withChromium(it, it.skip)) return;
  const rig = browserForSuite();

  it("imports dist/index.js and runs the nic scenario on two Web Workers", async () => {
    const { page, errors } = await rig.page();
    await page.goto(rig.url + "test/fixtures/browser/");
    // A string, not a function: vitest would rewrite the function's dynamic import.
    const r = await page.evaluate(`(async () => {
      const m = await import("/dist/index.js");
      const sc = structuredClone(m.BUILTIN_RUN_SCENARIOS.nic);
      for (const w of sc.workloads) w.ops = 5000;
      const rep = await m.runScenario(sc, { workers: 2 });
      return { isolated: crossOriginIsolated, ops: rep.totals.ops, violations: rep.totals.violations, workers: rep.timing.perWorker.length };
    })()`);
    expect(r).toEqual({ isolated: true, ops: 10_000, violations: 0, workers: 2 });
    expect(errors).toEqual([]);
  }, 60_000);
});
