// The live page's Bug zoo tab in Chromium: every entry is offered; picking one shows what the
// fix changed; running it (both forms, in a Web Worker) shows both verdicts side by side —
// the buggy form caught, the fixed one clean — and the evidence steps line by line in both
// columns, the lines that show the bug marked. Saves web/screenshots/bug-zoo.png with
// UPDATE_SCREENSHOTS=1, else to a temporary folder.

import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BUG_ZOO } from "../dist/index.js";
import { browserForSuite, withChromium } from "./browser.js";

const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? fileURLToPath(new URL("../web/screenshots/", import.meta.url))
  : mkdtempSync(join(tmpdir(), "iommu-sim-bugs-")) + "/";

describe("the live page's bug zoo", () => {
  if (!withChromium(it, it.skip)) return;
  const rig = browserForSuite({ before: () => mkdirSync(SHOTS, { recursive: true }) });

  it("runs an entry's two forms and steps through their evidence side by side", async () => {
    const { page, errors } = await rig.page();
    await page.goto(rig.url + "web/");
    await page.click("#tab-bugs");
    const offered = await page.locator("#bug option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(offered.sort()).toEqual(BUG_ZOO.map((e) => e.id).sort());

    await page.selectOption("#bug", "ttl-nonleaf");
    expect(await page.textContent("#bug-about")).toContain("6833b8f2e199");
    await page.click("#bug-run");
    await page.waitForSelector(".verdict.good", { timeout: 60_000 });
    expect(await page.textContent("#bug-verdict")).toMatch(/^PASS/);
    expect(await page.textContent("#bug-buggy-verdict")).toMatch(/^CAUGHT — AFTER_STRICT ×\d/);
    expect(await page.textContent("#bug-fixed-verdict")).toMatch(/^clean/);
    expect(await page.textContent("#bug-buggy-title")).toContain("without SMMU_NONLEAF_TTL0");
    // The walk TLBI's TTL differs between the columns; the stale accesses are marked.
    expect(await page.textContent("#bug-buggy-evidence")).toContain("ttl=3");
    expect(await page.textContent("#bug-fixed-evidence")).toContain("leaf=0 addr=0x40000000 tg=1 ttl=0");
    expect(await page.locator("#bug-buggy-evidence .telling").count()).toBeGreaterThan(0);
    // Stepping moves the current line in both columns.
    await page.locator("#bug-buggy-evidence .evidence").first().click();
    for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowRight");
    expect(await page.textContent("#bug-pos")).toMatch(/^line 6 of \d+/);
    expect(await page.locator("#bug-buggy-evidence .evidence.current").count()).toBe(1);
    expect(await page.locator("#bug-fixed-evidence .evidence.current").count()).toBe(1);
    await page.screenshot({ path: SHOTS + "bug-zoo.png", fullPage: true });

    // An explorer entry: the violating schedule, step by step.
    await page.selectOption("#bug", "seed-race");
    await page.click("#bug-run");
    await page.waitForSelector(".verdict.good", { timeout: 60_000 });
    expect(await page.textContent("#bug-buggy-verdict")).toMatch(/USE_AFTER_FREE/);
    expect(await page.textContent("#bug-buggy-evidence")).toMatch(/dev:1 +device writes/);
    expect(errors).toEqual([]);
  }, 120_000);
});
