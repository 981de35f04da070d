// Drives a headless Chromium over an HTML report: dumps the DOM after the page's scripts ran,
// takes a screenshot, and checks the marks the report's script leaves on <body>. Used by
// scripts/screenshot-report.mjs and by the tests, so both check a report the same way.
// Each call gets its own throw-away profile folder and its own process group, and both are
// gone when the call returns, even when Chromium hangs and is killed.

import { execFile, type ExecFileOptions } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ArgumentError } from "../errors.js";

export interface ChromiumOptions {
  /** The browser to run; default findChromium(). */
  chromium?: string;
  /** Kill Chromium after this many ms (default 60 s). */
  timeoutMs?: number;
  /** Virtual time the page gets to run its scripts (ms, default 5000; virtual, so not waited out). */
  virtualTimeMs?: number;
  /** Window size, default 1280x2400: wide enough for two plots side by side, tall enough for the tables. */
  width?: number;
  height?: number;
}

/** What the report's script wrote on <body>: data-rendered, data-plots, data-render-error. */
export interface RenderMarks {
  rendered: boolean;
  plots: number;
  error: string | null;
}

const NAMES = ["chromium", "chromium-browser"];

/**
 * $CHROMIUM when set (it must then be executable), else chromium or chromium-browser on $PATH;
 * null if none. `env` is typed without @types/node so that the package's types need none.
 */
export function findChromium(env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  const given = env.CHROMIUM;
  if (given) {
    if (!isExecutable(given)) throw new ArgumentError("CHROMIUM", given, "must name an executable file", "findChromium");
    return given;
  }
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    for (const name of NAMES) {
      const candidate = join(dir || ".", name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The page's DOM as Chromium serialises it after running its scripts (--dump-dom). */
export async function dumpDom(htmlPath: string, opts: ChromiumOptions = {}): Promise<string> {
  return runChromium(["--dump-dom", fileUrl(htmlPath)], opts);
}

/** A PNG of the page at the window size (--screenshot). */
export async function screenshot(htmlPath: string, pngPath: string, opts: ChromiumOptions = {}): Promise<void> {
  await runChromium([`--screenshot=${resolve(pngPath)}`, fileUrl(htmlPath)], opts);
}

/** Reads the marks off the <body> tag of a dumped DOM. */
export function readRenderMarks(dom: string): RenderMarks {
  const tag = /<body\b[^>]*>/i.exec(dom)?.[0] ?? "";
  const attr = (name: string) => {
    const m = new RegExp(`\\s${name}="([^"]*)"`, "i").exec(tag);
    return m ? decodeEntities(m[1] ?? "") : null;
  };
  return { rendered: attr("data-rendered") === "1", plots: Number(attr("data-plots") ?? 0), error: attr("data-render-error") };
}

/** Chromium escapes & < > " in attribute values; the message reads better without. */
function decodeEntities(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/** Throws with a message saying what is wrong unless the page drew at least `minPlots` plots without error. */
export function checkRendered(dom: string, minPlots: number): RenderMarks {
  const marks = readRenderMarks(dom);
  if (marks.error !== null) throw new Error(`the report's script failed: ${marks.error}`);
  if (!marks.rendered) throw new Error("the report's script did not finish (no data-rendered=\"1\" on <body>)");
  if (marks.plots < minPlots) throw new Error(`the report drew ${marks.plots} plots, expected at least ${minPlots}`);
  return marks;
}

function fileUrl(path: string): string {
  return pathToFileURL(resolve(path)).href;
}

/**
 * Runs Chromium headless with a fresh profile and returns its stdout. It runs as the leader
 * of its own process group (detached), so after it exits or times out the whole group
 * (renderer, GPU and zygote processes included) can be killed before the profile is deleted.
 */
async function runChromium(args: string[], opts: ChromiumOptions): Promise<string> {
  const browser = opts.chromium ?? findChromium();
  if (!browser) throw new Error("Chromium not found: install it (apt-get install chromium) or set CHROMIUM");
  const profile = mkdtempSync(join(tmpdir(), "iommu-sim-chromium-"));
  const flags = [
    "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-dev-shm-usage",
    `--user-data-dir=${profile}`,
    `--window-size=${opts.width ?? 1280},${opts.height ?? 2400}`,
    `--virtual-time-budget=${opts.virtualTimeMs ?? 5000}`,
  ];
  const options: ExecFileOptions & { detached: boolean } = {
    timeout: opts.timeoutMs ?? 60_000, killSignal: "SIGKILL", maxBuffer: 64 << 20, detached: true,
  };
  let pid: number | undefined;
  try {
    return await new Promise<string>((done, fail) => {
      const child = execFile(browser, [...flags, ...args], options, (err, stdout, stderr) => {
        if (err) fail(new Error(`${browser} failed (${describeExit(err)}): ${String(stderr).trim().slice(-2000)}`));
        else done(String(stdout));
      });
      pid = child.pid;
    });
  } finally {
    killGroup(pid);
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

function describeExit(err: Error & { code?: unknown; signal?: unknown; killed?: boolean }): string {
  if (err.killed || err.signal === "SIGKILL") return "killed after the timeout";
  return err.code !== undefined ? `exit ${String(err.code)}` : err.message;
}

/** SIGKILL to the process group led by pid; a group already gone (the usual case) is fine. */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // ESRCH: every process of the group has exited.
  }
}
