// The saved report's schema: `iommu-sim report` reads a JSON file a user hands it, which may
// be damaged, hand-edited or from another tool. Every field is checked (type, range, unknown
// fields refused) before a printer sees it, so a bad file gets one line naming the field —
// not a TypeError, nor a summary printing `undefined` or 1e+308 and exiting 0. The compiler
// holds the schema to RunReport (src/report/types.ts) both ways: a field added to the report
// and not here fails the typecheck.

import { z } from "zod";
import { ArgumentError, IommuSimError } from "../errors.js";
import { BEHAVIOURS, PROFILES, type Behaviour, type Profile } from "../profile.js";
import { formatPath, integer, messageFor, problemsOf, type Problem } from "../run/scenario.js";
import type { RunReport } from "./types.js";
import { CORE_LIMITS } from "../core-limits.js";

// A report holds at most what a run can make: one entry per simulated CPU, one per worker.
const { MAX_DMA_CPUS, MAX_THREADS } = CORE_LIMITS;

/** A report file that is not a run report, or a damaged one. `message`: `<file>: <field>: <what>`. */
export class ReportError extends IommuSimError {
  override name = "ReportError";
  constructor(readonly source: string, readonly path: string, readonly issues: readonly string[]) {
    const more = issues.length - 1;
    super(issues[0] + (more > 0 ? ` (and ${more} more problem${more === 1 ? "" : "s"})` : ""));
  }
}

// Numbers a report holds: counts are whole and ≥ 0; amounts (times, means) ≥ 0 and no larger
// than a u64 counter holds (a latency bucket bound can pass 2^53); rates are fractions.
const count = () => z.int().min(0);
const amount = () => z.number().min(0).max(2 ** 64);
const rate = () => z.number().min(0).max(1);
const text = () => z.string().max(100_000);

const histogram = z.strictObject({
  unit: z.string().max(16),
  bounds: z.array(amount()).max(4096),
  counts: z.array(count()).max(4096),
  samples: count(),
  mean: amount(),
  p50: amount(),
  p99: amount(),
  max: amount(),
}).superRefine((h, ctx) => {
  if (h.bounds.length !== h.counts.length) {
    ctx.addIssue({ code: "custom", path: ["counts"], input: h.counts,
      message: `expected as many entries as bounds (${h.bounds.length}), found ${h.counts.length}` });
  }
  for (let i = 1; i < h.bounds.length; i++) {
    if (!(h.bounds[i]! > h.bounds[i - 1]!)) {
      ctx.addIssue({ code: "custom", path: ["bounds", i], input: h.bounds[i],
        message: `expected bounds in ascending order, found ${h.bounds[i]} after ${h.bounds[i - 1]}` });
      break;
    }
  }
});

const opCounts = {
  ops: count(), maps: count(), unmaps: count(), mapFailures: count(), deviceAccesses: count(), faults: count(),
  violations: count(),
};

const timeBreakdown = z.strictObject({
  work: amount(), cmdq: amount(), sync: amount(), iovaTreeLock: amount(), depotLock: amount(), fqLock: amount(),
  delay: amount(),
  // Reports saved before line transfers had a part of their own counted them in `work`.
  lineTransfer: amount().default(0),
});

const cpuReport = z.strictObject({
  ...opCounts,
  cpu: count(), worker: count(), workload: text(), modelledNs: amount(), modelledNsPerOp: amount(),
  time: timeBreakdown, mapLatency: histogram, unmapLatency: histogram,
});

const dmaStats = z.strictObject({
  maps: count(), mapFailures: count(), strictUnmaps: count(), lazyUnmaps: count(), syncs: count(),
  sacAttempts: count(), sacFallbacks: count(), shortUnmaps: count(), mixedDecisions: count(), queueMissing: count(),
  switches: count(),
});

const PROFILE_NAMES = PROFILES as unknown as readonly [Profile, ...Profile[]];
const BEHAVIOUR_NAMES = BEHAVIOURS as unknown as readonly [Behaviour, ...Behaviour[]];

export const reportSchema = z.strictObject({
  tool: z.literal("iommu-sim"),
  version: z.string().max(64),
  scenario: z.strictObject({
    name: text(), description: text(), profile: z.enum(PROFILE_NAMES),
    behaviours: z.strictObject({ with: z.array(z.enum(BEHAVIOUR_NAMES)).optional(), without: z.array(z.enum(BEHAVIOUR_NAMES)).optional() }).optional(),
    kernel: text().optional(), seed: count(), workers: integer(1, MAX_THREADS - 1), cpus: integer(1, MAX_DMA_CPUS),
    oracle: z.boolean(), machine: z.string().max(64).optional(), contention: z.boolean().optional(),
  }),
  outcome: z.strictObject({
    status: z.enum(["ok", "violations", "stopped", "failed"]),
    expected: z.enum(["clean", "violations", "any"]),
    asExpected: z.boolean(),
    message: text(),
  }),
  totals: z.strictObject({
    ...opCounts, unmapErrors: count(), modelledNsPerOp: amount(), modelledUs: amount(), kheapAllocFailures: count(),
  }),
  oracle: z.strictObject({
    checked: count(), lazyWindowAccesses: count(), shadowFull: count(), unchecked: count(),
    violationsByClass: z.strictObject({
      afterStrictUnmap: count(), afterFlush: count(), useAfterFree: count(), unknown: count(), freedTable: count(),
    }),
  }),
  perCpu: z.array(cpuReport).max(MAX_DMA_CPUS),
  latency: z.strictObject({ map: histogram, unmap: histogram }),
  smmu: z.strictObject({
    translations: count(), microTlbHits: count(), iotlbHits: count(), iotlbMisses: count(), iotlbHitRate: rate(),
    walks: count(), pteReads: count(), walkCacheHits: count(), faults: count(),
    commands: z.record(z.string().max(64), count()), modelledNs: amount(),
    // Reports saved before the walkers were a resource lack these.
    walksQueued: count().default(0), walkWaitNs: amount().default(0),
    model: z.enum(["v3", "v2", "v1"]).optional(), registers: z.record(z.string().max(64), count()).optional(),
  }),
  iova: z.strictObject({
    rcacheHits: count(), rcacheMisses: count(), rcacheHitRate: rate(), depotHits: count(), depotHitRate: rate(),
    treeAllocs: count(), treeFrees: count(), magazineAllocFailures: count(),
  }),
  fq: z.strictObject({
    flushes: z.strictObject({ ringFull: count(), timer: count(), other: count() }),
    entriesQueued: count(), maxOccupancy: count(),
  }),
  lazyWindow: histogram,
  lazyWindowsOpen: count(),
  lazyWindowsLost: count(),
  attackerWindow: histogram,
  attacker: z.strictObject({ retries: count(), staleReads: count(), faults: count() }),
  switcher: z.strictObject({ rounds: count(), switches: count() }),
  domains: z.array(z.strictObject({
    name: text(), variant: text(), type: z.enum(["DMA", "DMA-FQ"]), dma: dmaStats, fqPending: count(),
    magazineSize: count().optional(),
  })).max(1024),
  events: z.array(z.strictObject({
    due: text(), atUs: amount(), cpu: z.int().min(-1), action: text(), target: text(), result: text(),
  })).max(100_000),
  series: z.array(z.strictObject({
    // A hit rate over 1 is taken: 0.1's runner sampled the SMMU's counters unlocked while
    // workers translated, so its reports can hold 1.05; today's count per CPU and stay ≤ 1.
    tUs: amount(), ops: count(), cpuOps: z.array(count()).max(MAX_DMA_CPUS).optional(), wallMs: amount(), iotlbHitRate: amount(),
    fqOccupancy: count(), lazyDomains: count(),
  })).max(1_000_000),
  violations: z.array(z.strictObject({
    class: text(), streamId: count(), iova: amount(), pa: amount(), explanation: text(), trace: z.array(text()).max(10_000),
  })).max(100_000),
  timing: z.strictObject({
    wallMs: amount(), opsPerSec: amount(),
    perWorker: z.array(z.strictObject({
      worker: count(), cpus: z.array(count()).max(MAX_DMA_CPUS), ops: count(), wallMs: amount(), opsPerSec: amount(),
    })).max(MAX_THREADS - 1),
  }),
});

// The schema and the report type must say the same thing.
type Assert<T extends true> = T;
type Parsed = z.output<typeof reportSchema>;
type _SchemaIsReport = Assert<Parsed extends RunReport ? (RunReport extends Parsed ? true : false) : false>;

/** The top-level fields every run report has (the schema's, less those it may lack). */
const REPORT_FIELDS = Object.entries(reportSchema.shape).filter(([, f]) => !f.safeParse(undefined).success).map(([k]) => k);

/**
 * The printers' cheap check (formatSummary, renderHtmlReport): `report` is an object with
 * every top-level field of a run report — not what each holds, which parseRunReport checks —
 * so that a wrong argument is named instead of failing as a TypeError deep in a printer.
 */
export function checkReportShape(report: unknown, context: string): asserts report is RunReport {
  const what = "must be a run report (what runScenario returns, or parseRunReport of a saved one)";
  if (typeof report !== "object" || report === null || Array.isArray(report)) throw new ArgumentError("report", report, what, context);
  const missing = REPORT_FIELDS.filter((k) => !(k in report));
  if (missing.length) {
    const list = missing.length > 6 ? `${missing.slice(0, 6).join(", ")} and ${missing.length - 6} more` : missing.join(", ");
    throw new ArgumentError("report", report, `${what}; it lacks ${list}`, context);
  }
}

/**
 * Checks that `input` is a run report (as `run --json` or `--out` writes it): every field of
 * the right type and range, none unknown. Throws a ReportError: `<source>: <field>: <what>`.
 */
export function parseRunReport(input: unknown, source = "report"): RunReport {
  if (typeof input !== "object" || input === null || (input as { tool?: unknown }).tool !== "iommu-sim") {
    throw new ReportError(source, "(root)", [`${source} is not an iommu-sim run report (expected the JSON that ` +
      "`run --json` or `run --out` writes)"]);
  }
  const result = reportSchema.safeParse(input, { error: messageFor, reportInput: true });
  const problems = result.success ? inconsistencies(result.data) : problemsOf(result.error.issues);
  if (problems.length > 0) {
    const oneLine = (s: string) => s.replace(/\s*[\r\n]+\s*/g, " ");
    throw new ReportError(source, formatPath(problems[0]!.path),
      problems.map((p) => oneLine(`${source}: ${formatPath(p.path)}: ${p.message}`)));
  }
  return result.data!;
}

/**
 * Where a report's fields contradict each other, as no run writes them (a file edited or
 * damaged): each CPU one of the scenario's, once; the totals the sum of the CPUs' counts.
 */
function inconsistencies(r: RunReport): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<number>();
  r.perCpu.forEach((c, i) => {
    if (c.cpu >= r.scenario.cpus) out.push({ path: ["perCpu", i, "cpu"], message: `cpu ${c.cpu} is not one of the scenario's ${r.scenario.cpus} (scenario.cpus)` });
    else if (seen.has(c.cpu)) out.push({ path: ["perCpu", i, "cpu"], message: `cpu ${c.cpu} is listed twice` });
    seen.add(c.cpu);
  });
  for (const k of ["ops", "maps", "unmaps", "deviceAccesses"] as const) {
    const sum = r.perCpu.reduce((n, c) => n + c[k], 0);
    if (sum !== r.totals[k]) {
      out.push({ path: ["totals", k], message: `is ${r.totals[k]}, but the CPUs' own (perCpu[].${k}) add up to ${sum}` });
    }
  }
  return out;
}
