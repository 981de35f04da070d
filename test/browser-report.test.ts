// The HTML report of the default two-worker nic run (`iommu-sim run nic --out …`, the
// built CLI), opened in Chromium: every plot drawn, and the time plots' data on one
// modelled clock — x strictly increasing in equal windows from 0 to the run's modelled end,
// no window's rate far above the run's average (the old wall-instant snapshots gave spikes
// of 1000× it), the events inside the series' range and drawn where the events table puts
// them, the fastest windows after the switch to lazy, and cpu 0's own line stepping up
// right at the switch it made. Saves web/screenshots/report-nic.png (committed, UPDATE_SCREENSHOTS=1) or a
// temporary copy.

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { browserForSuite, withChromium } from "./browser.js";
import type { RunReport } from "../dist/index.js";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const TMP = mkdtempSync(join(tmpdir(), "iommu-sim-report-"));
const SHOT = process.env.UPDATE_SCREENSHOTS
  ? fileURLToPath(new URL("../web/screenshots/report-nic.png", import.meta.url))
  : join(TMP, "report-nic.png");
/** How far above the run's average rate one window may go: lazy mode on both CPUs is about twice the average. */
const RATE_FACTOR = 4;

interface LineSpec { id: string; kind: "line"; x: number[]; xRange: [number, number]; marks: { x: number; label: string }[];
                     series: { label: string; values: (number | null)[] }[] }

describe("the nic run's HTML report in Chromium", () => {
  if (!withChromium(it, it.skip)) return;
  const rig = browserForSuite({ after: () => rmSync(TMP, { recursive: true, force: true }) });

  it("draws the series and the events on one modelled clock", async () => {
    // The run as a user makes it: the default scenario, its two workers, the report files.
    await promisify(execFile)(process.execPath, [CLI, "run", "nic", "--out", join(TMP, "r"), "--no-progress"], { timeout: 90_000 });
    const report = JSON.parse(readFileSync(join(TMP, "r.json"), "utf8")) as RunReport;
    expect(report.scenario.workers).toBe(2);
    const { page, errors } = await rig.page();
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.goto(pathToFileURL(join(TMP, "r.html")).href);
    await page.waitForSelector("body[data-rendered='1']", { timeout: 20_000 });
    expect(await page.getAttribute("body", "data-render-error")).toBeNull();
    expect(await page.locator(".uplot").count()).toBe(5);

    const specs = JSON.parse((await page.textContent("#plots"))!) as LineSpec[];
    const throughput = specs.find((s) => s.id === "throughput")!;
    const endMs = report.totals.modelledUs / 1000;
    const x = throughput.x;
    expect(x.length).toBeGreaterThanOrEqual(100);
    // Monotonic, in equal windows (the last may be up to half a window longer), ending at the run's end.
    const width = x[0]!;
    for (let i = 1; i < x.length; i++) {
      const dx = x[i]! - x[i - 1]!;
      if (i < x.length - 1) expect(dx).toBeCloseTo(width, 6);
      else expect(dx).toBeGreaterThan(width / 2 - 1e-9), expect(dx).toBeLessThanOrEqual(1.5 * width + 1e-9);
    }
    expect(x.at(-1)).toBeCloseTo(endMs, 6);
    expect(throughput.xRange).toEqual([0, endMs]);
    // Rates over windows: none null, none far above the run's average.
    const average = report.totals.ops / endMs;
    const rates = throughput.series[0]!.values;
    expect(rates.every((v) => v !== null && v >= 0)).toBe(true);
    expect(Math.max(...(rates as number[]))).toBeLessThan(RATE_FACTOR * average);
    // The switch happened half-way through cpu 0's operations, at its clock. Without
    // contention cpu 1 meets it at its own clock (wherever it was at that wall instant: on a
    // loaded machine far from cpu 0's), so the total rises in a step on each side; but both
    // CPUs are lazy (the fastest windows) only after the event — when cpu 1 is still running
    // then: a worker 1 that fell far enough behind in wall time goes lazy early on its clock
    // and ends before cpu 0 switches, and no window has both. How slow strict was is read on
    // cpu 0's own line below, which no other worker's timing moves.
    expect(report.events).toHaveLength(1);
    const switchMs = report.events[0]!.atUs / 1000;
    expect(switchMs).toBeGreaterThan(0);
    expect(switchMs).toBeLessThan(endMs);
    expect(throughput.marks).toEqual([{ x: switchMs, label: "switch-to-lazy (cpu 0)" }]);
    const values = rates as number[];
    const fastest = Math.max(...values);
    const cpu1EndMs = report.perCpu[1]!.modelledNs / 1e6;
    if (cpu1EndMs > switchMs + width) expect(x[values.indexOf(fastest)]!).toBeGreaterThan(switchMs - width);
    // On cpu 0's own line the step is at the event: the switch is on its clock.
    expect(throughput.series.map((l) => l.label)).toEqual(["all CPUs", "cpu 0", "cpu 1"]);
    const cpu0 = throughput.series[1]!.values as number[];
    const strict0 = cpu0.filter((_, i) => x[i]! < switchMs - width);
    const lazy0 = cpu0.filter((_, i) => x[i]! > switchMs + width && x[i]! < switchMs + 10 * width);
    expect(lazy0.length).toBeGreaterThan(0);
    expect(Math.min(...lazy0)).toBeGreaterThan(2 * Math.max(...strict0));
    // The CPUs' lines add up to the total, window by window.
    values.forEach((v, i) => expect(v).toBeCloseTo((throughput.series[1]!.values[i] ?? 0) + (throughput.series[2]!.values[i] ?? 0), 6));
    const fq = specs.find((s) => s.id === "fq")!;
    expect(fq.x).toEqual(x);
    const pending = fq.series[0]!.values as number[];
    // Strict: no queue. Cpu 1 goes lazy at its own clock, which may be before cpu 0's
    // switchMs, so "strict" is read from the series' lazyDomains, not from the event's time.
    expect(pending).toEqual(report.series.map((p) => p.fqOccupancy));
    const strictWindows = report.series.filter((p) => p.lazyDomains === 0);
    expect(strictWindows.length).toBeGreaterThan(0);
    expect(strictWindows.every((p) => p.fqOccupancy === 0)).toBe(true);
    expect(Math.max(...pending)).toBeGreaterThan(0);

    // The axis titles stand clear of the tick labels: each y axis is as wide as its tick, its
    // gap and its widest label (uPlot draws the title outside that width).
    const fits = await page.evaluate(`window.reportPlots.map((u) => {
      const y = u.axes[1], dpr = devicePixelRatio || 1;
      u.ctx.font = y.font[0];
      const widest = Math.max(0, ...y._values.map((v) => u.ctx.measureText(String(v)).width / dpr));
      return y._size >= y.ticks.size + y.gap + widest;
    })`);
    expect(fits).toEqual([true, true, true, true, true]);
    await page.screenshot({ path: SHOT, clip: { x: 0, y: 0, width: 1280, height: 1000 } });
    expect(errors).toEqual([]);
  }, 120_000);
});
