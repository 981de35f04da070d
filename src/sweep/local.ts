// A sweep on this machine (`iommu-sim sweep`, and each shard of one): its runs side by side,
// `jobs` at a time, each on a worker thread of its own and a simulator its runner keeps
// (src/sweep/run-point.ts) — every run already has a worker thread, so runs in one process
// need no child processes, and a simulator kept between runs saves more than a short run costs.
// Each result is appended to the results file the moment it is known (one write per line),
// so an interrupted sweep keeps everything that finished and --resume runs only the rest.

import { closeSync, existsSync, openSync } from "node:fs";
import { availableParallelism } from "node:os";
import { checkCallback, checkInt, checkOptions, checkSignal, type OptionKeys } from "../validate.js";
import { expandPoints, inShard, shardText, type Shard } from "./points.js";
import { appendResult, cutTornTail, readResults, SweepResultsError } from "./results.js";
import { PointAbortedError, PointSimulators, runPoint, sweepVersions } from "./run-point.js";
import type { SweepResultLine, SweepSpec } from "./types.js";

/** How a local sweep is going (runSweep's onProgress, after each run). */
export interface SweepProgress {
  /** Runs this sweep (or shard) has to run in all, those already in the file on --resume included. */
  total: number;
  /** Runs with a result: found on --resume, and finished since. */
  done: number;
  /** Of those, runs that failed. */
  failed: number;
  /** Runs found in the results file on --resume (not run again). */
  resumed: number;
  /** Wall-clock ms since this sweep started. */
  elapsedMs: number;
}

/** Options of runSweep. */
export interface SweepOptions {
  /** Runs at once (default: the machine's available parallelism), each on a worker thread. */
  jobs?: number;
  /** The results file (JSON lines) to append each result to; left out, results are only returned. */
  out?: string;
  /** Continue the results file `out`: runs it has are not run again (it must be this sweep's, by this version). */
  resume?: boolean;
  /** Run only this shard's runs (src/sweep/points.ts: index mod count = index). */
  shard?: Shard;
  /** Aborting stops starting runs and stops the running ones; what finished is kept. */
  signal?: AbortSignal;
  /** Called after each run and once at the start. (A callback that throws stops the sweep, as onResult's does.) */
  onProgress?: (p: SweepProgress) => void;
  /**
   * Called with each result once it is written. If it throws, the sweep stops the running runs
   * (they have no line, as after the signal) and rejects with its error.
   */
  onResult?: (line: SweepResultLine) => void;
  /** Told about a torn last line found on --resume. */
  onWarning?: (message: string) => void;
  /** What the lines' ranOn says (default "local", or "shard I/N"). */
  ranOn?: string;
}

const SWEEP_OPTION_KEYS = {
  jobs: true, out: true, resume: true, shard: true, signal: true, onProgress: true, onResult: true, onWarning: true, ranOn: true,
} as const satisfies OptionKeys<SweepOptions>;

/** What a local sweep did. */
export interface SweepOutcome {
  /** Every result of this sweep's runs (or shard's), those found on --resume first, in the sweep's order. */
  lines: SweepResultLine[];
  /** Runs this sweep (or shard) has in all. */
  total: number;
  /** Results found in the file on --resume, and those run now. */
  resumed: number;
  ran: number;
  /** Runs that failed (a failed line), of all `lines`. */
  failed: number;
  /** Stopped by the signal before every run had a result. */
  interrupted: boolean;
  /** Wall-clock ms of this sweep, and the sum of its runs' own (their lines' wallMs). */
  wallMs: number;
  runWallMs: number;
  /** Wall-clock ms the slots spent starting their simulators (each with its worker thread): the sweep's fixed cost. */
  simulatorStartMs: number;
  /** Runs at once. */
  jobs: number;
}

/**
 * Runs a sweep's runs (or one shard's) on this machine, `jobs` at a time, appending each
 * result to `out` as it finishes. Resolves when every run has a result, or, after the signal,
 * once the running ones have stopped (`interrupted`; their runs have no line and are run on
 * --resume). Refuses an existing `out` without `resume`, and on `resume` one of another sweep
 * or version.
 */
export async function runSweep(spec: SweepSpec, options?: SweepOptions): Promise<SweepOutcome> {
  const opts = checkOptions(options, SWEEP_OPTION_KEYS, "runSweep");
  const jobs = checkInt("jobs", opts.jobs ?? availableParallelism(), 1, 1024, "runSweep");
  checkSignal(opts.signal, "runSweep");
  for (const k of ["onProgress", "onResult", "onWarning"] as const) checkCallback(k, opts[k], "runSweep");
  if (opts.shard !== undefined) {
    checkInt("shard.count", opts.shard?.count, 1, 1_000_000, "runSweep");
    checkInt("shard.index", opts.shard.index, 0, opts.shard.count - 1, "runSweep (shards are counted from 0)");
  }
  const mine = expandPoints(spec).filter((p) => opts.shard === undefined || inShard(p.index, opts.shard));
  const previous = opts.out === undefined ? [] : previousResults(spec, opts.out, opts.resume === true, opts.onWarning);
  const have = new Set(previous.map((l) => l.key));
  const mineKeys = new Set(mine.map((p) => p.key));
  const kept = [...new Map(previous.filter((l) => mineKeys.has(l.key)).map((l) => [l.key, l] as const)).values()];
  const todo = mine.filter((p) => !have.has(p.key));
  const ranOn = opts.ranOn ?? (opts.shard ? shardText(opts.shard) : "local");
  const t0 = performance.now();
  const fd = opts.out === undefined ? undefined : openResults(opts.out);
  const fresh: SweepResultLine[] = [];
  let failed = kept.filter((l) => !l.ok).length;
  const progress = () => opts.onProgress?.({
    total: mine.length, done: kept.length + fresh.length, failed, resumed: kept.length, elapsedMs: performance.now() - t0,
  });
  // The caller's signal, a run that could not even start (no simulator), or a callback of the
  // caller's that threw stops every slot.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  let next = 0;
  let simulatorStartMs = 0;
  /** What stopped the sweep first (other slots may fail after it, as they are stopped). */
  let failure: { reason: unknown } | undefined;
  /** Writes a result, then tells the caller (whose callbacks may throw: the line is written by then). */
  const record = (line: SweepResultLine) => {
    if (fd !== undefined) appendResult(fd, line);
    fresh.push(line);
    if (!line.ok) failed++;
    opts.onResult?.(line);
    progress();
  };
  // Each slot takes the next run when its last one is done, on simulators of its own. A
  // result is written once the next run has been handed to its worker thread, so that
  // writing it (a full report is ~30 KB of JSON) overlaps that run where a core is free.
  const slot = async () => {
    const simulators = new PointSimulators();
    let running: Promise<SweepResultLine> | undefined;
    let written: SweepResultLine | undefined;
    /** The result waiting to be written, taken first so that it is written once even if recording throws. */
    const take = () => { const line = written!; written = undefined; return line; };
    try {
      while (next < todo.length && !stop.signal.aborted) {
        const point = todo[next++]!;
        running = runPoint(spec, point, { ranOn, simulators, signal: stop.signal });
        running.catch(() => undefined); // awaited below, after a turn of the event loop: not unhandled meanwhile
        if (written !== undefined) {
          await new Promise((go) => setImmediate(go));
          record(take());
        }
        try {
          written = await running;
        } catch (e) {
          if (e instanceof PointAbortedError) break;
          throw e;
        } finally {
          running = undefined;
        }
      }
      if (written !== undefined) record(take());
    } catch (e) {
      failure ??= { reason: e };
      stop.abort();
      // A run still going (recording the last result threw) stops before its simulator closes.
      await running?.catch(() => undefined);
      throw e;
    } finally {
      simulatorStartMs += simulators.startMs;
      await simulators.close();
    }
  };
  try {
    progress();
    opts.signal?.addEventListener("abort", onAbort);
    if (opts.signal?.aborted) stop.abort();
    await Promise.allSettled(Array.from({ length: Math.min(jobs, todo.length) }, slot));
  } finally {
    if (fd !== undefined) closeSync(fd);
    opts.signal?.removeEventListener("abort", onAbort);
  }
  if (failure) throw failure.reason;
  const interrupted = kept.length + fresh.length < mine.length;
  const order = new Map(mine.map((p, i) => [p.key, i] as const));
  const lines = [...kept, ...fresh].sort((a, b) => order.get(a.key)! - order.get(b.key)!);
  return {
    lines, total: mine.length, resumed: kept.length, ran: fresh.length, failed, interrupted,
    wallMs: performance.now() - t0, runWallMs: fresh.reduce((n, l) => n + l.wallMs, 0), simulatorStartMs, jobs,
  };
}

/** The results file, open for appending (created if need be). (The queue's submitter opens its own so too.) */
export function openResults(out: string): number {
  try {
    return openSync(out, "a");
  } catch (e) {
    throw new SweepResultsError(`cannot write the results file: ${(e as Error).message}`);
  }
}

/**
 * The results already in `out` (on resume), checked to be this sweep's; refuses an existing file
 * otherwise. (The queue's submitter, src/sweep/queue.ts, starts its results file the same way.)
 */
export function previousResults(spec: SweepSpec, out: string, resume: boolean, onWarning?: (m: string) => void): SweepResultLine[] {
  if (!existsSync(out)) return [];
  if (!resume) {
    throw new SweepResultsError(`${out} already exists: continue it with --resume (resume: true), or remove it, or name another --out`);
  }
  const lines = readResults(out, onWarning ? { onWarning } : {});
  cutTornTail(out);
  const versions = sweepVersions();
  for (const l of lines) {
    if (l.sweep !== spec.id) {
      throw new SweepResultsError(`${out} holds results of another sweep (${l.sweep}; this one is ${spec.id}): ` +
        "resume it with the sweep file it was started with, or name another --out");
    }
    if (l.versions.iommuSim !== versions.iommuSim || l.versions.node !== versions.node) {
      throw new SweepResultsError(`${out} was written by iommu-sim ${l.versions.iommuSim} on Node ${l.versions.node}; ` +
        `this is iommu-sim ${versions.iommuSim} on Node ${versions.node}: results of two versions are not mixed`);
    }
  }
  return lines;
}

