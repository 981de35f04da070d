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
export { loadSweep, SweepError, type LoadSweepOptions } from "./sweep/spec.js";
export { expandPoints, pointScenario, describePoint, parseShard, inShard, countRuns, type Shard } from "./sweep/points.js";
export { runPoint, PointAbortedError, PointSimulators, type RunPointOptions } from "./sweep/run-point.js";
export { DEFAULT_SWEEP_METRICS } from "./sweep/metrics.js";
export { parseFieldPath, formatFieldPath, getPath, setPath, type FieldPath } from "./sweep/path.js";
export {
  readResults, parseResultLine, formatResultLine, appendResult, mergeResults, resultsEqual, resultsDifference,
  missingRuns, SweepResultsError, type MergedResults, type ReadResultsOptions,
} from "./sweep/results.js";
export type {
  Axis, AxisValue, SweepSpecInput, SweepSpec, SweepRunPoint, SweepVersions, SweepResultLine, SweepResultOk, SweepResultFailed,
} from "./sweep/types.js";
export { runSweep, type SweepOptions, type SweepOutcome, type SweepProgress } from "./sweep/local.js";
export { runSweepOnQueue, type QueueSweepOptions } from "./sweep/queue.js";
export { runQueueWorker, type QueueWorkerOptions, type QueueWorkerSummary } from "./sweep/queue-worker.js";
export { parseRedisUrl, QueueError, type RedisTarget } from "./sweep/redis.js";
