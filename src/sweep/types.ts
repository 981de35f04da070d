// The sweep's contract: what a sweep file says, what one point of it is, and what one line of
// its results file holds. The local runner (src/sweep/local.ts), the shard/merge commands, the
// Redis queue and its workers (src/sweep/queue.ts) and the sweep report (src/sweep/report.ts)
// all read and write these shapes and nothing else, so a results file written by any of them
// can be merged with, resumed from and reported like any other.

/** A value an axis takes: anything a scenario field can hold (as JSON). */
export type AxisValue = string | number | boolean | null | AxisValue[] | { [key: string]: AxisValue };

/**
 * One axis: a list of values, or a numeric range. A range has `from` and `to` (both included
 * when `to` is reached exactly) and either `step` (arithmetic) or `factor` (geometric, e.g.
 * 2 for 16, 32, 64 …).
 */
export type Axis = AxisValue[] | { from: number; to: number; step?: number; factor?: number };

/** A sweep file (`iommu-sim sweep <sweep.json>`), as the user writes it. */
export interface SweepSpecInput {
  /** What the sweep is about, for the report's title (default: the file name). */
  name?: string;
  /** The base scenario: a built-in name, a scenario file's path (relative to the sweep file), or a scenario object. */
  base: string | Record<string, unknown>;
  /**
   * Field path → axis. Paths name scenario fields with dots and indices:
   * `smmu.iotlb.entries`, `domains[0].type`, `workloads[0].ops`, `cpus`, `profile`, `machine`.
   * Axes are crossed (every combination), the first axis varying slowest.
   */
  axes?: Record<string, Axis>;
  /** Explicit points instead of (or after) the crossed axes: each a map of field path → value. */
  points?: Array<Record<string, AxisValue>>;
  /** Fixed overrides by the same paths, applied before the axes; missing objects are created. */
  set?: Record<string, AxisValue>;
  /** Runs of each point, each with its own seed (default 1). */
  repeat?: number;
  /** The first repetition's seed (default: the base scenario's); repetition r runs with seed + r. */
  seed?: number;
  /**
   * What each result line keeps of the run's report: "full" (the whole RunReport, default) or a
   * list of metric paths into it (e.g. "totals.violations", "latency.unmap.p99").
   */
  keep?: "full" | string[];
}

/** A sweep after validation: everything resolved, the base scenario loaded. */
export interface SweepSpec {
  name: string;
  /**
   * The base scenario object before `set` and the axes: checked, but kept as written (a
   * built-in's or a file's object), its defaults applied per point by parseRunScenario — so
   * that a field derived from another (a machine preset's costs and range invalidation)
   * follows an axis that changes the other.
   */
  base: Record<string, unknown>;
  axes: Array<{ path: string; values: AxisValue[] }>;
  points: Array<Record<string, AxisValue>>;
  set: Record<string, AxisValue>;
  repeat: number;
  seed: number;
  keep: "full" | string[];
  /**
   * Identifies the sweep: a hash of everything above (sorted-key JSON). Results of different
   * sweeps are never merged; a results file whose lines carry another id is refused.
   */
  id: string;
}

/**
 * One run of the sweep: a point of the axes (or an explicit point) and a repetition. (Published
 * as SweepRunPoint: "iommu-sim/node" already has a SweepPoint, the `bench -t` page's.)
 */
export interface SweepRunPoint {
  /** Position in the sweep's deterministic order (0-based): points in order, repetitions innermost. */
  index: number;
  /** The axis (or explicit point) values of this run, by field path. */
  values: Record<string, AxisValue>;
  /** Repetition number, 0-based. */
  rep: number;
  /** The seed this run uses. */
  seed: number;
  /** A stable key for de-duplication and --resume: `${index}` is not enough across edits, so it is a hash of (sweep id, values, rep). */
  key: string;
}

/** The same as SweepRunPoint (the contract's first name; declarations that are published use SweepRunPoint). */
export type SweepPoint = SweepRunPoint;

/** The versions a result was produced by; results with different versions are never merged. */
export interface SweepVersions {
  iommuSim: string;
  node: string;
}

/** One line of the results file (JSON lines): one finished point. */
export type SweepResultLine = SweepResultOk | SweepResultFailed;

interface SweepResultCommon {
  sweep: string;
  /** How many runs the whole sweep has (every shard's together), so that a merge can tell which are missing. */
  runs?: number;
  index: number;
  key: string;
  values: Record<string, AxisValue>;
  rep: number;
  seed: number;
  versions: SweepVersions;
  /** Wall-clock time the point's run took (ms): not compared between runs. */
  wallMs: number;
  /** Where it ran: "local", "shard 2/4", or a queue worker's id. */
  ranOn: string;
}

export interface SweepResultOk extends SweepResultCommon {
  ok: true;
  /**
   * The metrics kept (metric path → number), always present: the report and the table read
   * these. With keep "full", DEFAULT_SWEEP_METRICS (src/sweep/metrics.ts); with a list, the
   * list's. A path the run's report lacks (perCpu[3] of a two-CPU run) is left out.
   */
  metrics: Record<string, number>;
  /** The whole RunReport when the sweep keeps "full". */
  report?: unknown;
}

export interface SweepResultFailed extends SweepResultCommon {
  ok: false;
  /** The error's class name and message (a failed point is a result, not a crash of the sweep). */
  error: { name: string; message: string };
}
