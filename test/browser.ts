// Shared by the browser tests: Debian's Chromium driven by playwright-core (never a browser
// playwright downloads), pages served by scripts/serve.mjs — cross-origin isolated unless a
// test asks otherwise. In CI (.ci/run installs Chromium and sets CI) a missing browser is a
// failure; elsewhere the browser tests are skipped and say why.

import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { findChromium } from "../src/report/chromium.js";
// @ts-expect-error — a plain .mjs script, typed by use
import { startServer } from "../scripts/serve.mjs";

export const CHROMIUM = findChromium();

export interface BrowserRig {
  browser: Browser;
  /** Base URL of the cross-origin-isolated server (the repository root). */
  url: string;
  /** Base URL of a server without the isolation headers. */
  plainUrl: string;
  /** A new page; its console errors and uncaught exceptions are collected in `errors`. */
  page(): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<BrowserRig> {
  if (!CHROMIUM) throw new Error("Chromium not found: apt-get install chromium, or set CHROMIUM");
  const isolated = await startServer({ port: 0 });
  const plain = await startServer({ port: 0, isolation: false });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], headless: true });
  return {
    browser, url: isolated.url, plainUrl: plain.url,
    async page() {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
      page.on("console", (m) => { if (m.type() === "error" && !/Failed to load resource/.test(m.text())) errors.push(m.text()); });
      return { page, errors };
    },
    async close() {
      await browser.close();
      await isolated.close();
      await plain.close();
    },
  };
}

/**
 * The browser of a describe block: opened before its tests (after `before`), closed after
 * them (then `after`). What it returns stands for the rig once the tests run.
 */
export function browserForSuite(hooks: { before?: () => unknown; after?: () => unknown } = {}): BrowserRig {
  let rig: BrowserRig | undefined;
  beforeAll(async () => {
    await hooks.before?.();
    rig = await openBrowser();
  }, 30_000);
  afterAll(async () => {
    await rig?.close();
    await hooks.after?.();
  });
  const open = (): BrowserRig => {
    if (!rig) throw new Error("the suite's browser is not open yet (use it inside a test)");
    return rig;
  };
  return {
    get browser() { return open().browser; },
    get url() { return open().url; },
    get plainUrl() { return open().plainUrl; },
    page: () => open().page(),
    close: async () => { await rig?.close(); },
  };
}

/** describe-level guard: run `body` with Chromium, or register why it cannot run. */
export function withChromium(it: (name: string, fn: () => void) => void, skip: (name: string, fn: () => void) => void): boolean {
  if (CHROMIUM) return true;
  if (process.env.CI) it("finds Chromium (CI is set)", () => { throw new Error("Chromium not found: apt-get install chromium"); });
  else skip("skipped: Chromium not found (install chromium or set CHROMIUM)", () => {});
  return false;
}
