// `iommu-sim sweep <sweep.json>` and `iommu-sim sweep merge`: the command line's side of a
// sweep (src/cli.ts registers the options; these are the actions, kept here so that the
// report and the queue can extend them). Exit codes: 0 every run has a result and none failed,
// 2 bad input or a run that failed (its line is written all the same), 130 interrupted
// (Ctrl-C or SIGTERM: every finished run is kept; --resume runs the rest); merge: 1 when runs
// are missing.

import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { ArgumentError } from "../errors.js";
import { checkOutFolder, outBase, type OutFiles } from "../out-base.js";
import { progressBar } from "../progress.js";
import { runSweep, type SweepOutcome } from "./local.js";
import { countRuns, expandPoints, inShard, parseShard, shardText, valueText, type Shard } from "./points.js";
import { formatResultLine, mergeResults, missingRuns, readResults, SweepResultsError } from "./results.js";
import { loadSweep } from "./spec.js";
import { finishSweepReport, reportMerged, warnTo } from "./report-cli.js";
import { parseRedisUrl } from "./redis.js";
import type { SweepSpec } from "./types.js";

/** The exit code of a sweep stopped by Ctrl-C or SIGTERM (128 + SIGINT, as a shell reports it). */
export const EXIT_INTERRUPTED = 130;

/** The options of `iommu-sim sweep` as commander hands them over. */
export interface SweepCliOptions {
  jobs?: number;
  out?: string;
  resume?: boolean;
  dryRun?: boolean;
  shard?: string;
  json?: boolean;
  progress?: boolean;
  /** A Redis URL: the points go to `iommu-sim worker` processes through it (src/sweep/queue.ts). */
  queue?: string;
}

/** Where the command prints: standard output's lines (the CLI's `say`) and standard error's. */
export interface SweepCliIo {
  say: (text: string) => void;
  warn: (text: string) => void;
}

/** What `sweep` did, for commands built on it (the report, the queue). */
export interface SweepCommandResult {
  spec: SweepSpec;
  /** The results file's path (BASE.jsonl), and BASE. */
  resultsFile: string;
  base: string;
  outcome?: SweepOutcome;
}

/** `iommu-sim sweep FILE`: checks the sweep, then lists its runs (--dry-run) or runs them. */
export async function sweepCommand(file: string, o: SweepCliOptions, io: SweepCliIo): Promise<SweepCommandResult> {
  if (o.queue !== undefined) checkQueueOptions(o);
  const shard = o.shard === undefined ? undefined : parseShard(o.shard);
  const base = sweepOutBase(o.out);
  const spec = loadSweep(file);
  const outBaseName = base ?? defaultBase(spec, shard);
  const resultsFile = `${outBaseName}.jsonl`;
  if (o.dryRun) {
    printDryRun(spec, shard, o.json === true, io);
    return { spec, resultsFile, base: outBaseName };
  }
  const outcome = await runWithSignals(spec, { ...o, shard, resultsFile }, io);
  printOutcome(spec, outcome, resultsFile, o.json === true, io);
  finishSweepReport(spec, outcome.lines, { base: outBaseName, stopped: outcome.interrupted, shard: shard !== undefined, json: o.json === true }, io);
  if (outcome.interrupted) process.exitCode = EXIT_INTERRUPTED;
  else if (outcome.failed > 0) process.exitCode = 2;
  return { spec, resultsFile, base: outBaseName, outcome };
}

/** --queue's URL; and with it the workers take the points as they can: a shard or a number of jobs here means nothing. */
function checkQueueOptions(o: SweepCliOptions): void {
  parseRedisUrl(o.queue, "--queue");
  const why = "cannot be combined with --queue: the workers take the points as they can (each worker's --concurrency says how many at once)";
  if (o.shard !== undefined) throw new ArgumentError("--shard", o.shard, why);
  if (o.jobs !== undefined) throw new ArgumentError("--jobs", o.jobs, why);
}

/** A sweep's files: BASE.jsonl, and its report BASE.html and BASE.csv. */
const SWEEP_FILES: OutFiles = { endings: ["jsonl", "json", "html"], noun: "the sweep's files", example: "grid", writes: ["jsonl", "html", "csv"] };

/** `--out BASE` (a .jsonl, .json or .html ending dropped), refusing a directory and a folder that cannot be written. */
function sweepOutBase(out: string | undefined): string | undefined {
  return out === undefined ? undefined : outBase(out, SWEEP_FILES);
}

/** The sweep's name as a file name in the working folder (a shard's with its number). */
function defaultBase(spec: SweepSpec, shard: Shard | undefined): string {
  const name = spec.name.replace(/[^\w.-]+/g, "-");
  return shard ? `${name}.shard-${shard.index}-of-${shard.count}` : name;
}

async function runWithSignals(spec: SweepSpec, o: Omit<SweepCliOptions, "shard"> & { shard?: Shard; resultsFile: string },
                              io: SweepCliIo): Promise<SweepOutcome> {
  const abort = new AbortController();
  let signals = 0;
  // The first Ctrl-C (or a scheduler's SIGTERM) stops the sweep cleanly; a second one at once.
  const onSignal = () => {
    if (signals++ > 0) process.exit(EXIT_INTERRUPTED);
    io.warn(o.queue !== undefined
      ? "iommu-sim: stopping: no longer following the workers; every result written is kept, the points left stay queued in " +
        "Redis and the workers go on with them (--resume follows them again)"
      : "iommu-sim: stopping: the running points stop at their next operation; every finished one is kept " +
        "(Ctrl-C again to quit at once)");
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const bar = o.progress === false ? undefined : progressBar(`sweep ${spec.name}`);
  try {
    if (o.queue !== undefined) {
      // Loaded only here: BullMQ and its Redis client are for the queue, not for every sweep.
      const { runSweepOnQueue } = await import("./queue.js");
      return await runSweepOnQueue(spec, {
        queue: o.queue, out: o.resultsFile, resume: o.resume === true, signal: abort.signal,
        onProgress: (p) => bar?.update(p.done, p.total, `| ${p.failed} failed`),
        onEvent: (line) => io.warn(`iommu-sim: ${line}`), onWarning: warnTo(io),
      });
    }
    return await runSweep(spec, {
      ...(o.jobs !== undefined ? { jobs: o.jobs } : {}), out: o.resultsFile, resume: o.resume === true,
      ...(o.shard ? { shard: o.shard } : {}), signal: abort.signal,
      onProgress: (p) => bar?.update(p.done, p.total, `| ${p.failed} failed`),
      onWarning: warnTo(io),
    });
  } finally {
    bar?.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function printOutcome(spec: SweepSpec, r: SweepOutcome, file: string, json: boolean, io: SweepCliIo): void {
  if (json) {
    const { lines: _l, ...rest } = r;
    io.say(JSON.stringify({ sweep: spec.name, id: spec.id, resultsFile: file, ...rest }, null, 2));
  } else {
    const ok = r.lines.length - r.failed;
    const resumed = r.resumed ? ` (${r.resumed} from before, ${r.ran} now)` : "";
    io.say(`sweep ${spec.name}: ${r.lines.length} of ${r.total} runs have a result${resumed}: ${ok} ok, ${r.failed} failed → ${file}`);
    io.say(`wall ${(r.wallMs / 1000).toFixed(1)} s on ${r.jobs} job${r.jobs === 1 ? "" : "s"}; the runs' own wall time ` +
      `${(r.runWallMs / 1000).toFixed(1)} s`);
    for (const l of r.lines.filter((x) => !x.ok).slice(0, 5)) {
      if (!l.ok) io.say(`  run ${l.index} failed: ${l.error.name}: ${l.error.message}`);
    }
  }
  if (r.interrupted) {
    io.warn(`iommu-sim: sweep interrupted: ${r.lines.length} of ${r.total} runs kept in ${file}; the same command with ` +
      `--resume runs the other ${r.total - r.lines.length}`);
  }
}

function printDryRun(spec: SweepSpec, shard: Shard | undefined, json: boolean, io: SweepCliIo): void {
  const all = expandPoints(spec);
  const runs = shard ? all.filter((p) => inShard(p.index, shard)) : all;
  if (json) {
    io.say(JSON.stringify({ sweep: spec.name, id: spec.id, runs: all.length, ...(shard ? { shard: shardText(shard) } : {}), points: runs }, null, 2));
    return;
  }
  const points = countRuns(spec) / spec.repeat;
  io.say(`sweep ${spec.name} (id ${spec.id}): ${all.length} run${all.length === 1 ? "" : "s"} = ${points} point${points === 1 ? "" : "s"} ` +
    `× repeat ${spec.repeat}${shard ? `; ${shardText(shard)} runs ${runs.length} of them` : ""}`);
  const paths = [...new Set(runs.flatMap((p) => Object.keys(p.values)))];
  const rows = runs.map((p) => [String(p.index), String(p.seed), ...paths.map((k) => (k in p.values ? valueText(p.values[k]!) : "·"))]);
  const head = ["run", "seed", ...paths];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join("  ").trimEnd();
  io.say(line(head));
  for (const r of rows) io.say(line(r));
}

// ---------------------------------------------------------------------------------------
// merge

/** Merge's OUT: a new file in a folder that can be written (checked before the inputs are read). */
function checkMergeOut(out: string): void {
  if (out === "") throw new ArgumentError("OUT", out, "must name the merged results file to write, e.g. merged.jsonl");
  if (existsSync(out)) {
    throw new SweepResultsError(`${out} already exists: sweep merge writes a new file and does not replace one; name another ` +
      `OUT, or remove ${out} first (to add results to it, give it as an input too: sweep merge NEW.jsonl ${out} …)`);
  }
  checkOutFolder(out, "OUT");
}

/**
 * `iommu-sim sweep merge OUT IN…`: joins results files of one sweep into OUT (written whole,
 * then renamed into place), saying how many duplicates were kept once and which runs are
 * missing; refuses other sweeps, other versions and conflicting results. Exit 1 when runs are missing.
 * OUT must be new, as `sweep`'s results file must be without --resume: a merge that replaced a
 * file would lose the results only it held (merging it in as an input keeps them).
 */
export function mergeCommand(out: string, inputs: string[], io: SweepCliIo): void {
  if (inputs.length === 0) throw new ArgumentError("merge", inputs, "needs at least one results file to read after OUT");
  checkMergeOut(out);
  const sets = inputs.map((f) => readResults(f, { onWarning: warnTo(io) }));
  if (sets.every((lines) => lines.length === 0)) {
    throw new SweepResultsError(`${inputs.length === 1 ? `${inputs[0]} holds no results` : `none of ${inputs.join(", ")} holds any results`}: ` +
      "nothing to merge (a sweep writes a result when a run finishes)");
  }
  const merged = mergeResults(sets, inputs);
  const tmp = `${out}.merging-${process.pid}`;
  try {
    writeFileSync(tmp, merged.lines.map(formatResultLine).join(""));
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new SweepResultsError(`cannot write the merged results to ${out}: ${(e as Error).message}`);
  }
  const runs = Math.max(0, ...merged.lines.map((l) => l.runs ?? 0));
  const missing = runs > 0 ? missingRuns(merged.lines, runs) : [];
  const sweep = merged.lines[0]?.sweep ?? "(none)";
  io.say(`merged ${merged.lines.length} results of sweep ${sweep} from ${inputs.length} file${inputs.length === 1 ? "" : "s"} ` +
    `into ${out}${merged.duplicates ? `; ${merged.duplicates} duplicate${merged.duplicates === 1 ? "" : "s"} kept once` : ""}`);
  reportMerged(out, merged.lines, io);
  if (missing.length > 0) {
    const shown = missing.slice(0, 20).join(", ") + (missing.length > 20 ? ", …" : "");
    io.say(`missing ${missing.length} of ${runs} runs: ${shown} (run their shards, or the sweep with --resume --out ${out.replace(/\.jsonl$/i, "")})`);
    process.exitCode = 1;
  } else if (runs > 0) io.say(`complete: all ${runs} runs`);
}
