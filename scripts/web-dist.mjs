// Copies the live page (web/) into the built package as dist/web/, so that an installed
// package can serve it (`iommu-sim web`, src/web/server.ts) with nothing from the clone:
// the page's scripts and styles, and uPlot's two files in dist/web/vendor/. In the clone the
// page loads the library from /dist/ and uPlot from /node_modules/ (scripts/serve.mjs serves
// the repository root); in dist/web/ those become relative paths — the library is dist/
// itself, one folder up. The build fails if any such absolute path is left over, since the
// page would then load nothing from an installed package. Called by rollup.config.mjs after
// the bundle is written; also runnable alone: node scripts/web-dist.mjs.

import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** uPlot's files the page links, by where the clone's page finds them. */
const UPLOT_FILES = ["uPlot.iife.min.js", "uPlot.min.css"];
/** What the page is made of; web/screenshots/ (evidence for the repository) is not shipped. */
const SHIPPED = /\.(html|js|css)$/;

/** The clone's absolute paths, and what they are in dist/web/. */
const REWRITES = [
  ["/node_modules/uplot/dist/", "./vendor/"],
  ["/dist/", "../"],
];

export async function copyWebPage({ from = join(ROOT, "web"), to = join(ROOT, "dist", "web") } = {}) {
  await rm(to, { recursive: true, force: true });
  await mkdir(join(to, "vendor"), { recursive: true });
  const names = (await readdir(from, { withFileTypes: true })).filter((e) => e.isFile() && SHIPPED.test(e.name)).map((e) => e.name);
  if (!names.includes("index.html")) throw new Error(`web-dist: ${from} has no index.html`);
  for (const name of names) {
    let text = await readFile(join(from, name), "utf8");
    // Only quoted paths (imports, src/href attributes): comments that mention /dist/ stay as written.
    for (const [clone, shipped] of REWRITES) text = text.replace(new RegExp(`(["'])${escape(clone)}`, "g"), `$1${shipped}`);
    const left = /["']\/(dist|node_modules)\/[^"']*/.exec(text);
    if (left) throw new Error(`web-dist: ${name} still loads ${left[0].slice(1)}, which an installed package does not serve`);
    await writeFile(join(to, name), text);
  }
  const uplot = dirname(createRequire(import.meta.url).resolve("uplot/dist/uPlot.iife.min.js"));
  for (const f of UPLOT_FILES) await copyFile(join(uplot, f), join(to, "vendor", f));
  // uPlot is MIT-licensed: its licence travels with the copy.
  await copyFile(join(uplot, "..", "LICENSE"), join(to, "vendor", "uPlot.LICENSE"));
  return names.length + UPLOT_FILES.length + 1;
}

function escape(s) {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = await copyWebPage();
  console.log(`web-dist: ${n} files in dist/web/`);
}
