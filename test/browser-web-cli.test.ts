// `iommu-sim web` as an installed package runs it: the package packed (npm pack, without
// rebuilding: dist/ as built), unpacked into an empty project's node_modules beside its
// dependencies, and its CLI started with --port 0. The page it serves is cross-origin
// isolated, explains itself before any run, refuses a negative operation count in words, runs
// a nic scenario on two workers to the end with counters that count what they say, and shows
// the whole summary. A second server on the same port is refused clearly, as a bad --port is.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBrowser, withChromium, type BrowserRig } from "./browser.js";

const REPO = resolve(fileURLToPath(new URL("..", import.meta.url)));
const TMP = mkdtempSync(join(tmpdir(), "iommu-sim-web-cli-"));
const APP = join(TMP, "app");
const run = promisify(execFile);

/** The package as npm would install it: the packed files in node_modules/iommu-sim, its dependencies beside it. */
async function installPacked(): Promise<string> {
  // --ignore-scripts: pack dist/ as the suite's build left it (no second build).
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", TMP], { cwd: REPO, timeout: 60_000 });
  const { filename } = (JSON.parse(stdout) as { filename: string }[])[0]!;
  const pkg = join(APP, "node_modules", "iommu-sim");
  mkdirSync(pkg, { recursive: true });
  await run("tar", ["-xzf", join(TMP, filename), "-C", pkg, "--strip-components=1"]);
  // The dependencies from the clone's node_modules (no registry here): what npm would have put beside it.
  const deps = Object.keys((JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { dependencies: object }).dependencies);
  for (const d of deps) symlinkSync(join(REPO, "node_modules", d), join(APP, "node_modules", d), "dir");
  return join(pkg, "dist", "cli.js");
}

/** Start `iommu-sim web` with these arguments; resolves with the URL it prints. */
function startWeb(cli: string, args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, "web", ...args], { cwd: APP, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`iommu-sim web printed no URL in 20 s: ${out}${err}`)), 20_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      const m = /iommu-sim live page: (http:\S+)/.exec(out);
      if (m) { clearTimeout(timer); done({ child, url: m[1]! }); }
    });
    child.stderr!.on("data", (d: Buffer) => { err += d; });
    child.on("exit", (code) => { clearTimeout(timer); fail(new Error(`iommu-sim web exited ${code}: ${out}${err}`)); });
  });
}

/** Run the CLI to its end: exit code and standard error. */
function runCli(cli: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: APP, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => { stderr += d; });
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("exit", (code) => { clearTimeout(timer); done({ code, stderr }); });
  });
}

const number = (id: string) => `Number(document.getElementById(${JSON.stringify(id)}).textContent.replace(/[^0-9]/g, ""))`;

describe("iommu-sim web, from the packed package", () => {
  if (!withChromium(it, it.skip)) return;
  let rig: BrowserRig;
  let cli: string;
  let server: ChildProcess | undefined;
  beforeAll(async () => {
    cli = await installPacked();
    rig = await openBrowser();
  }, 90_000);
  afterAll(async () => {
    server?.kill("SIGTERM");
    await rig?.close();
    rmSync(TMP, { recursive: true, force: true });
  });

  it("ships the page: dist/web/ with uPlot, no path into the clone", () => {
    const web = join(APP, "node_modules", "iommu-sim", "dist", "web");
    expect(readdirSync(web)).toEqual(expect.arrayContaining(["index.html", "main.js", "live.js", "style.css", "vendor"]));
    expect(readdirSync(join(web, "vendor")).sort()).toEqual(["uPlot.LICENSE", "uPlot.iife.min.js", "uPlot.min.css"]);
    expect(readFileSync(join(web, "index.html"), "utf8")).not.toMatch(/["']\/(dist|node_modules)\//);
  });

  it("serves the live page cross-origin isolated, and it runs a scenario", async () => {
    const started = await startWeb(cli, ["--port", "0"]);
    server = started.child;
    const { url } = started;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/web\/$/);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("cross-origin-opener-policy")).toBe("same-origin");
    expect(res.headers.get("cross-origin-embedder-policy")).toBe("require-corp");
    expect((await fetch(new URL("/", url))).url).toBe(url); // the root sends the browser to the page

    const { page, errors } = await rig.page();
    await page.goto(url);
    expect(await page.evaluate("crossOriginIsolated")).toBe(true);
    expect(await page.locator("#isolation-warning").isHidden()).toBe(true);
    // The first screen says what this is and what to press, and claims nothing of a domain not yet made.
    expect(await page.textContent("#intro")).toMatch(/press Start/);
    expect(await page.textContent("#domain-hint")).toMatch(/No domain yet/);
    expect(await page.textContent("#view-live")).not.toMatch(/the domain is strict/);

    // A negative count is refused where it was typed, and nothing starts.
    await page.fill("#ops", "-5");
    await page.click("#start");
    expect(await page.textContent("#ops-error")).toBe('Operations per CPU must be a whole number from 1 to 1,000,000,000; got "-5".');
    expect(await page.locator("#ops-error").isVisible()).toBe(true);
    expect(await page.textContent("#run-state")).toBe("idle");

    // nic on two workers, its timed switch kept: it runs to the end, strict then lazy.
    await page.selectOption("#scenario", "nic");
    await page.fill("#ops", "20000");
    expect(await page.locator("#ops-error").isHidden()).toBe(true);
    await page.selectOption("#workers", "2");
    await page.check("#timed-switch");
    await page.click("#start");
    await page.waitForSelector("#summary-panel:not([hidden])", { timeout: 60_000 });
    expect(await page.textContent("#run-state")).toMatch(/^finished: ok/);
    expect(await page.evaluate(number("c-ops"))).toBe(40_000);
    // Every operation of a nic-rx CPU unmaps a filled buffer and maps a fresh one; the rings' first fills are maps alone.
    const [maps, unmaps] = ((await page.textContent("#c-mapunmap")) ?? "").split("/").map((t) => Number(t.replace(/[^0-9]/g, "")));
    expect(maps).toBeGreaterThanOrEqual(40_000);
    expect(unmaps).toBeGreaterThan(30_000);
    expect(await page.textContent("#domain-type")).toBe("DMA-FQ");
    // The whole summary shows: no box cuts it off.
    const summary = (await page.textContent("#summary")) ?? "";
    expect(summary).toMatch(/^Run:\s+scenario nic [\s\S]*\nOutcome:[\s\S]*\nTiming:/);
    expect(await page.evaluate(`(() => { const s = document.getElementById("summary");
      return getComputedStyle(s).maxHeight === "none" && s.scrollHeight <= s.clientHeight + 1; })()`)).toBe(true);
    expect(errors).toEqual([]);

    // The port is now taken: a second server says so, and how to choose another.
    const port = new URL(url).port;
    const busy = await runCli(cli, ["web", "--port", port]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain(`iommu-sim web: port ${port} on 127.0.0.1 is already in use`);
    expect(busy.stderr).toContain("--port 0 for any free port");
  }, 120_000);

  it("refuses a port that is not one", async () => {
    const bad = await runCli(cli, ["web", "--port", "-1"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/port must be an integer in \[0, 65535\]/);
  });
});
