// The figures a sweep's result line keeps of a run's report: paths into RunReport
// (src/report/types.ts), each a number, checked against the report's schema
// (src/report/schema.ts) when the sweep is loaded — a metric that names nothing, or a
// table, is refused before anything runs. Wall-clock parts (timing, series' wallMs) are not
// metrics: a point's metrics are a function of its scenario and seed, so that shards, the
// queue's workers and a resumed run give the same lines.

import { didYouMean } from "../validate.js";
import { reportSchema } from "../report/schema.js";
import { COMMAND_KINDS } from "../smmu/commands.js";
import type { RunReport } from "../report/types.js";
import { formatFieldPath, getPath, parseFieldPath, type FieldPath } from "./path.js";

/** The stage-1 invalidations dma-iommu sends, and CMD_SYNC: the commands a researcher counts. */
const COUNTED_COMMANDS = COMMAND_KINDS.filter((k) => k.startsWith("CMD_TLBI_NH_") || k === "CMD_SYNC");

/**
 * What a sweep keeps of each run by default (beside the full report): operations and
 * violations, modelled cost per operation, map/unmap latency, the SMMU's hit rate, walks and
 * commands, the flush queue and the lazy window, the IOVA caches. Each a number in every report.
 */
export const DEFAULT_SWEEP_METRICS: readonly string[] = Object.freeze([
  "totals.ops", "totals.violations", "totals.faults", "totals.modelledNsPerOp", "totals.modelledUs",
  "latency.map.mean", "latency.map.p50", "latency.map.p99",
  "latency.unmap.mean", "latency.unmap.p50", "latency.unmap.p99",
  "smmu.iotlbHitRate", "smmu.translations", "smmu.walks", "smmu.modelledNs",
  ...COUNTED_COMMANDS.map((k) => `smmu.commands.${k}`),
  "fq.entriesQueued", "fq.maxOccupancy", "fq.flushes.ringFull", "fq.flushes.timer",
  "lazyWindow.mean", "lazyWindow.p99", "lazyWindow.max", "lazyWindowsOpen",
  "iova.rcacheHitRate", "iova.depotHitRate", "iova.treeAllocs",
  "oracle.lazyWindowAccesses",
]);

type Def = Record<string, unknown> & { type: string };
type AnySchema = { _zod: { def: Def } };

function unwrap(s: AnySchema): AnySchema {
  let cur = s;
  while (["optional", "default", "prefault", "nullable"].includes(cur._zod.def.type)) cur = cur._zod.def.innerType as AnySchema;
  return cur;
}

/** Why `path` is not a metric of a run report (in words, naming the step that fails), or undefined. */
export function metricPathProblem(path: FieldPath): string | undefined {
  if (path[0] === "timing" || (path[0] === "series" && path[2] === "wallMs")) {
    return "is wall-clock time, which differs run to run (each result line has its wallMs); a metric must be a " +
      "function of the point's scenario and seed";
  }
  let s = unwrap(reportSchema as unknown as AnySchema);
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const def = s._zod.def;
    const here = i === 0 ? "the report" : formatFieldPath(path.slice(0, i));
    if (typeof seg === "number") {
      if (def.type !== "array") return `${here} is not a list: it has no entry [${seg}]`;
      s = unwrap(def.element as AnySchema);
    } else if (def.type === "object") {
      const shape = def.shape as Record<string, AnySchema>;
      if (!Object.hasOwn(shape, seg)) {
        const near = didYouMean(seg, Object.keys(shape));
        return `${here} has no field ${JSON.stringify(seg)} (${near ? `did you mean ${formatFieldPath([...path.slice(0, i), near])}? ` : ""}` +
          `its fields: ${Object.keys(shape).join(", ")})`;
      }
      s = unwrap(shape[seg]!);
    } else if (def.type === "record" && path[i - 1] === "commands") {
      if (!(COMMAND_KINDS as readonly string[]).includes(seg)) {
        const near = didYouMean(seg, COMMAND_KINDS);
        return `${here} has no command ${JSON.stringify(seg)} (${near ? `did you mean ${near}? ` : ""}commands: ${COMMAND_KINDS.join(", ")})`;
      }
      s = unwrap(def.valueType as AnySchema);
    } else return `${here} is a single value: it has no field ${JSON.stringify(seg)}`;
  }
  const type = s._zod.def.type;
  if (type !== "number") {
    const what = type === "object" ? "a table of figures (name one of its fields)" : type === "array" ? "a list (name an entry and a field)" : `not a number (${type})`;
    return `is ${what}`;
  }
  return undefined;
}

/**
 * The metrics at `paths` in `report`. A path a report of this run lacks (an entry of perCpu
 * past its CPUs) is left out rather than made up: the line says what the run had.
 */
export function metricsOf(report: RunReport, paths: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of paths) {
    const v = getPath(report, parseFieldPath(p, "the metric path"));
    if (typeof v === "number" && Number.isFinite(v)) out[p] = v;
  }
  return out;
}
