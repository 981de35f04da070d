// The sweep report in Chromium: the page a real small sweep writes (`iommu-sim sweep --out`) draws its
// line plot (a canvas with ink on it, one line per other-axis combination), its heatmap (one
// SVG cell per pair of values, a colour legend), the table of points (a row per point) that a
// header click re-sorts, and a CSV download; changing the metric redraws. Saves
// web/screenshots/sweep-report.png (committed, UPDATE_SCREENSHOTS=1) or a temporary copy.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { browserForSuite, withChromium } from "./browser.js";
import { cli } from "./helpers.js";

const TMP = mkdtempSync(join(tmpdir(), "iommu-sim-sweep-report-"));
const SHOT = process.env.UPDATE_SCREENSHOTS
  ? fileURLToPath(new URL("../web/screenshots/sweep-report.png", import.meta.url))
  : join(TMP, "sweep-report.png");

/** A NIC's largest packet against strict and lazy: 4 × 2 points, 2 repetitions each (their own seeds: their own packet sizes), short runs. */
const SWEEP = {
  name: "nic-tx: packet size, strict and lazy",
  base: "nic-tx",
  axes: { "workloads[0].maxBytes": [1514, 4096, 16384, 65536], "domains[0].type": ["DMA", "DMA-FQ"] },
  set: { "workloads[0].ops": 400 },
  repeat: 2,
};

describe("the sweep report in Chromium", () => {
  if (!withChromium(it, it.skip)) return;
  const rig = browserForSuite({ after: () => rmSync(TMP, { recursive: true, force: true }) });

  it("draws the line plot and the heatmap, sorts the table and offers the CSV", async () => {
    const file = join(TMP, "pkt.json");
    writeFileSync(file, JSON.stringify(SWEEP));
    const base = join(TMP, "s");
    const run = await cli("sweep", file, "--out", base, "--jobs", "2");
    expect(run.code, run.out).toBe(0);
    expect(readFileSync(`${base}.jsonl`, "utf8").trim().split("\n")).toHaveLength(16);

    const { page, errors } = await rig.page();
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.goto(pathToFileURL(`${base}.html`).href);
    await page.waitForSelector("body[data-rendered='1']", { timeout: 20_000 });
    expect(await page.getAttribute("body", "data-render-error")).toBeNull();
    expect(await page.getAttribute("body", "data-plots")).toBe("2");

    // The line plot: x is the numeric axis, a line per domain type, ink on the canvas.
    expect(await page.locator(".uplot").count()).toBe(1);
    const line = await page.evaluate(`(() => {
      const u = window.sweepPlots.line, c = u.ctx.canvas, px = u.ctx.getImageData(0, 0, c.width, c.height).data;
      let ink = 0; for (let i = 3; i < px.length; i += 4) if (px[i] > 0) ink++;
      return { x: u.data[0], lines: u.series.slice(1).map((s) => s.label), filled: u.data.slice(1).map((d) => d.filter((v) => v != null).length), ink };
    })()`) as { x: number[]; lines: string[]; filled: number[]; ink: number };
    expect(line.x).toEqual([1514, 4096, 16384, 65536]);
    expect(line.lines).toEqual(["domains[0].type=DMA", "domains[0].type=DMA-FQ"]);
    expect(line.filled).toEqual([4, 4]);
    expect(line.ink).toBeGreaterThan(1000);

    // The heatmap over the two axes: 4 × 2 cells, each titled with its value, and a legend.
    expect(await page.locator("#heatmap svg g.cell rect").count()).toBe(8);
    expect(await page.locator("#heatmap svg rect.legend").count()).toBe(1);
    expect(await page.locator("#heatmap svg g.cell title").first().textContent()).toMatch(/^workloads\[0\]\.maxBytes=1514, domains\[0\]\.type=DMA: [\d.e+-]+/);

    // The table: a row per point; a click on a metric's header sorts by it, a second reverses.
    const rows = page.locator("#points tbody tr");
    expect(await rows.count()).toBe(8);
    const headers = await page.locator("#points thead th").allTextContents();
    const col = headers.indexOf("latency.unmap.p50");
    expect(col).toBeGreaterThan(3);
    const columnValues = () => page.$$eval(`#points tbody tr td:nth-child(${col + 1})`, (tds) => tds.map((td) => Number(td.getAttribute("data-v"))));
    const before = await columnValues();
    await page.locator("#points thead th").nth(col).click();
    const ascending = await columnValues();
    expect(ascending).toEqual([...before].sort((a, b) => a - b));
    await page.locator("#points thead th").nth(col).click();
    expect(await columnValues()).toEqual([...before].sort((a, b) => b - a));

    // Another metric redraws both plots under its name.
    const second = await page.$eval("#metric", (s) => (s as HTMLSelectElement).options[1]!.textContent!);
    await page.selectOption("#metric", "1");
    expect(await page.textContent("#line-title")).toContain(second.replace(/ \(the same at every point\)$/, ""));
    expect(await page.getAttribute("body", "data-plots")).toBe("2");

    // The CSV: one row per run, plus the header.
    const href = (await page.getAttribute("#csv", "href"))!;
    expect(href.startsWith("data:text/csv;charset=utf-8,")).toBe(true);
    const csv = decodeURIComponent(href.slice(href.indexOf(",") + 1));
    expect(csv.trim().split("\r\n")).toHaveLength(17);

    // The screenshot shows the page as it opens: the default metric.
    await page.reload();
    await page.waitForSelector("body[data-rendered='1']");
    await page.evaluate("window.scrollTo(0, 0)");
    await page.screenshot({ path: SHOT, fullPage: false });
    expect(errors).toEqual([]);
  }, 360_000);
});
