#!/usr/bin/env node
// Checks an HTML run report in headless Chromium and saves a screenshot of it: the page must
// finish its script (data-rendered="1" on <body>), draw at least five plots and report no
// render error. Exits 0 when it does, 1 when the page is wrong, 2 on bad usage or when
// Chromium cannot be run. Needs dist/ (npm run build); $CHROMIUM picks the browser.
// usage: node scripts/screenshot-report.mjs <report.html> <out.png>

import { existsSync, statSync } from "node:fs";

const MIN_PLOTS = 5;
const TIMEOUT_MS = 60_000;

function usage(message) {
  console.error(`screenshot-report: ${message}\nusage: node scripts/screenshot-report.mjs <report.html> <out.png>`);
  process.exit(2);
}

const [html, png, ...extra] = process.argv.slice(2);
if (!html || !png || extra.length > 0) usage("expected two arguments");
if (!existsSync(html)) usage(`${html}: no such file`);

// The Chromium driver is TypeScript (src/report/chromium.ts), shared with the tests; this
// script runs its build so it needs nothing but node.
const driver = new URL("../dist/node.js", import.meta.url);
if (!existsSync(driver)) usage("dist/node.js is missing: run `npm run build` first");
const { checkRendered, dumpDom, findChromium, screenshot } = await import(driver.href);

let chromium;
try {
  chromium = findChromium();
} catch (e) {
  usage(e.message);
}
if (!chromium) usage("Chromium not found: install it (apt-get install chromium) or set CHROMIUM");

try {
  const dom = await dumpDom(html, { chromium, timeoutMs: TIMEOUT_MS });
  let marks;
  try {
    marks = checkRendered(dom, MIN_PLOTS);
  } catch (e) {
    console.error(`screenshot-report: ${html}: ${e.message}`);
    process.exit(1);
  }
  await screenshot(html, png, { chromium, timeoutMs: TIMEOUT_MS });
  if (!existsSync(png)) throw new Error(`Chromium wrote no ${png}`);
  console.log(`${html}: ${marks.plots} plots drawn; screenshot ${png} (${statSync(png).size} bytes)`);
} catch (e) {
  console.error(`screenshot-report: ${e.message}`);
  process.exit(2);
}
