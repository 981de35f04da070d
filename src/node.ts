// iommu-sim's Node-only helpers ("iommu-sim/node"): what reads files, renders the HTML
// report (inlining the plotting library from node_modules) or drives a headless Chromium.
// The main entry ("iommu-sim") stays free of Node imports so it also loads in browsers.

export { loadRunScenarioFile } from "./run/load.js";
export { renderHtmlReport } from "./report/html.js";
export { renderSweepHtml, sweepPoint, sweepTable, type SweepPoint } from "./bench/sweep.js";
export {
  findChromium, dumpDom, screenshot, readRenderMarks, checkRendered,
  type ChromiumOptions, type RenderMarks,
} from "./report/chromium.js";
