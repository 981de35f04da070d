// The package through a bundler: test/fixtures/vite/ is an app that imports "iommu-sim" by
// name; Vite builds it (default settings) into a temporary folder, and Chromium runs the
// result from a cross-origin-isolated server. This checks that Vite sees the worker
// (`new Worker(new URL("./worker.js", import.meta.url), { type: "module" })` in src/pool.ts)
// and bundles it with its imports, and that core.wasm is emitted and found.

import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "vite";
import { openBrowser, withChromium, type BrowserRig } from "./browser.js";
// @ts-expect-error — a plain .mjs script, typed by use
import { startServer } from "../scripts/serve.mjs";

const REPO = resolve(import.meta.dirname, "..");
const FIXTURE = join(REPO, "test", "fixtures", "vite");

/**
 * Copy the fixture app to `dir` and build it into `dir`/out. The app gets
 * node_modules/iommu-sim linked to this repository, so that "iommu-sim" resolves through
 * package.json's exports as it would when installed.
 */
async function buildApp(dir: string): Promise<string> {
  const app = join(dir, "app");
  const out = join(dir, "out");
  await cp(FIXTURE, app, { recursive: true });
  await mkdir(join(app, "node_modules"));
  await symlink(REPO, join(app, "node_modules", "iommu-sim"), "dir");
  await build({ root: app, configFile: false, logLevel: "silent", build: { outDir: out, emptyOutDir: true } });
  return out;
}

describe("the package through Vite", () => {
  if (!withChromium(it, it.skip)) return;
  let rig: BrowserRig;
  let dir: string;
  let out: string;
  let server: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "iommu-sim-vite-"));
    out = await buildApp(dir);
    server = await startServer({ root: out, port: 0 });
    rig = await openBrowser();
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("emits the worker bundled (no import of a chunk left in it) and core.wasm as assets", async () => {
    const assets = await readdir(join(out, "assets"));
    const workers = assets.filter((f) => /^worker-.*\.js$/.test(f));
    expect(workers).toHaveLength(1);
    // Copied as a bare asset (the bundler not seeing a worker), it would still import ./x.js.
    expect(await readFile(join(out, "assets", workers[0]!), "utf8")).not.toMatch(/^import .* from ['"]\.\//m);
    expect(assets.filter((f) => /^core-.*\.wasm$/.test(f))).toHaveLength(1);
  });

  it("runs the nic scenario on two Web Workers in the built page", async () => {
    const { page, errors } = await rig.page();
    await page.goto(server.url);
    await page.waitForFunction("window.__result", null, { timeout: 45_000 });
    const r = await page.evaluate("window.__result");
    expect(r).toEqual({ ok: true, ops: 10_000, violations: 0, workers: 2 });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
