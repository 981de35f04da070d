// The package through browser bundlers, as installed from its tarball (test/pack.ts): a
// small app that imports "iommu-sim" by name, built by Vite (default settings: it takes
// package.json's "browser" export, sees the worker in `new Worker(new URL("./worker.js",
// import.meta.url), …)` and bundles it, and emits core.wasm as an asset) and by esbuild
// (`--platform=browser`, which refuses any `node:` import reaching the browser entry, and
// bundles to an iife without import.meta, so the app places core.wasm and the worker with
// the `core`/`workerUrl` options). Each runs in headless Chromium from a cross-origin-
// isolated server and must come back with a real result; so does the Vite app under
// Vite's dev server, and the browser build served as it is, with no bundler at all.

import { cp, mkdir, readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build as viteBuild, createServer as viteServer } from "vite";
import { build as esbuild } from "esbuild";
import { openBrowser, withChromium, type BrowserRig } from "./browser.js";
import { REPO, packAndInstall, type Installed } from "./pack.js";
// @ts-expect-error — a plain .mjs script, typed by use
import { startServer } from "../scripts/serve.mjs";

const FIXTURES = join(REPO, "test", "fixtures");

describe("the package through bundlers", () => {
  if (!withChromium(it, it.skip)) return;
  let rig: BrowserRig;
  let inst: Installed;
  beforeAll(async () => {
    inst = await packAndInstall();
    rig = await openBrowser();
  }, 120_000);
  afterAll(async () => {
    await rig?.close();
    await inst?.cleanup();
  });

  /** Serve `root` cross-origin isolated, open it, and return what the app left in window.__result. */
  async function runPage(root: string): Promise<unknown> {
    const server = await startServer({ root, port: 0 });
    const { page, errors } = await rig.page();
    try {
      await page.goto(server.url);
      await page.waitForFunction("window.__result", null, { timeout: 45_000 });
      const r = await page.evaluate("window.__result");
      expect(errors).toEqual([]);
      return r;
    } finally {
      await page.close();
      await server.close();
    }
  }

  describe("Vite", () => {
    let out: string;
    beforeAll(async () => {
      const app = join(inst.app, "vite");
      out = join(inst.app, "vite-out");
      await cp(join(FIXTURES, "vite"), app, { recursive: true });
      await viteBuild({ root: app, configFile: false, logLevel: "silent", build: { outDir: out, emptyOutDir: true } });
    }, 120_000);

    it("emits the worker bundled (no import of a chunk left in it) and core.wasm as assets", async () => {
      const assets = await readdir(join(out, "assets"));
      const workers = assets.filter((f) => /^worker-.*\.js$/.test(f));
      expect(workers).toHaveLength(1);
      // Copied as a bare asset (the bundler not seeing a worker), it would still import ./x.js.
      expect(await readFile(join(out, "assets", workers[0]!), "utf8")).not.toMatch(/^import .* from ['"]\.\//m);
      expect(assets.filter((f) => /^core-.*\.wasm$/.test(f))).toHaveLength(1);
    });

    it("runs the nic scenario on two Web Workers in the built page", async () => {
      expect(await runPage(out)).toEqual({ ok: true, ops: 10_000, violations: 0, workers: 2 });
    }, 60_000);
  });

  it("Vite's dev server (dependency pre-bundling on, the isolation headers set) runs the same app", async () => {
    const app = join(inst.app, "vite-dev");
    await cp(join(FIXTURES, "vite"), app, { recursive: true });
    const server = await viteServer({
      root: app, configFile: false, logLevel: "silent",
      server: { port: 0, host: "127.0.0.1", headers: { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" } },
    });
    await server.listen();
    const { page, errors } = await rig.page();
    try {
      await page.goto(server.resolvedUrls!.local[0]!);
      await page.waitForFunction("window.__result", null, { timeout: 60_000 });
      expect(await page.evaluate("window.__result")).toEqual({ ok: true, ops: 10_000, violations: 0, workers: 2 });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await server.close();
    }
  }, 90_000);

  describe("esbuild --platform=browser", () => {
    let out: string;
    let inputs: string[];
    beforeAll(async () => {
      const app = join(inst.app, "esb");
      out = join(inst.app, "esb-out");
      await cp(join(FIXTURES, "esbuild"), app, { recursive: true });
      const r = await esbuild({
        absWorkingDir: app, entryPoints: ["main.js"], bundle: true, platform: "browser", outfile: join(out, "main.js"),
        metafile: true, logLevel: "silent",
      });
      inputs = Object.keys(r.metafile.inputs);
      await cp(join(app, "index.html"), join(out, "index.html"));
      // The two runtime files, where the app says they are.
      await mkdir(join(out, "iommu-sim"));
      for (const f of ["core.wasm", "worker.js"]) await cp(join(inst.pkg, "dist", "browser", f), join(out, "iommu-sim", f));
    }, 120_000);

    it("bundles the browser entry, one file with no node: import", () => {
      const pkg = inputs.filter((f) => f.includes("node_modules/iommu-sim/")).map((f) => f.replace(/^.*node_modules\/iommu-sim\//, ""));
      expect(pkg).toEqual(["dist/browser/index.js"]);
      expect(inputs.filter((f) => f.startsWith("node:"))).toEqual([]);
    });

    it("maps a page and runs the nic scenario on two Web Workers, the core and the worker placed by options", async () => {
      const r = await runPage(out) as { ok: boolean; error?: string; mapping: { phys: number; va: number; pte: string } };
      expect(r).toMatchObject({ ok: true, ops: 4000, violations: 0, workers: 2 });
      expect((r as { unplaced?: string }).unplaced).toMatch(/cannot locate core\.wasm.*pass Simulator\.create\(\{ core \}\)/);
      expect(r.mapping.phys).toBe(0xabc123);
      expect(r.mapping.va).toBe(0x40000);
      // The leaf PTE's output address (bits 47:12) is the page mapped.
      expect(BigInt(r.mapping.pte) & 0xffff_ffff_f000n).toBe(0xabc000n);
    }, 60_000);
  });

  describe("no bundler", () => {
    it("dist/browser/ served as it is, imported as a module, runs nic on two Web Workers with no options", async () => {
      const out = join(inst.app, "no-bundler-out");
      await cp(join(FIXTURES, "no-bundler"), out, { recursive: true });
      await cp(join(inst.pkg, "dist", "browser"), join(out, "iommu-sim"), { recursive: true });
      expect(await runPage(out)).toEqual({ ok: true, ops: 4000, violations: 0, workers: 2 });
    }, 60_000);
  });
});
