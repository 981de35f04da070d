// The submitting side of a sweep on a Redis queue (`iommu-sim sweep FILE --queue redis://HOST:PORT`):
// the sweep is stored once in Redis, each point not yet done becomes a BullMQ job (its id the
// point's key, so submitting again adds nothing twice), `iommu-sim worker` processes on any
// number of machines run them (src/sweep/queue-worker.ts), and this side follows their results
// into the same results file the local runner writes (src/sweep/results.ts), one line per point.
//
// Workers store each point's line in the sweep's results hash (keyed by point: a point run twice,
// as at-least-once delivery allows, is stored once); this side polls the hash's length and reads
// the lines it has not written yet. Polling, not BullMQ's event stream: a submitter that was not
// listening (stopped with Ctrl-C, resumed later) misses nothing, and results stored before it
// started are found the same way.
//
// Ctrl-C stops following: what was written stays, the jobs stay in Redis (the workers go on),
// and `--resume` picks the sweep up again, writing what finished meanwhile.

import { existsSync, writeFileSync } from "node:fs";
import type { Job, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { ArgumentError } from "../errors.js";
import { checkOptions, type OptionKeys } from "../validate.js";
import { expandPoints } from "./points.js";
import { appendResult, cutTornTail, parseResultLine, readResults, SweepResultsError } from "./results.js";
import { sweepVersions } from "./run-point.js";
import type { SweepPoint, SweepResultLine, SweepSpec } from "./types.js";
import {
  KEY_PREFIX, QueueError, REGISTRY_KEY, bullConnection, checkRedisName, lostConnection, openRedis,
  parseRedisUrl, queueName, resultsKey, sleep, specKey, withTimeout, type RedisTarget,
} from "./redis.js";
import { writeSweepRecord } from "./queue-record.js";
import type { PointJobData } from "./queue-worker.js";

/** Where a sweep on a queue stands: points with a result written (of them, failed runs), of all. */
export interface QueueProgress {
  done: number;
  failed: number;
  total: number;
}

/** Options of runSweepOnQueue. */
export interface QueueSweepOptions {
  /** The Redis server: redis://HOST:PORT (redis://:PASSWORD@HOST:PORT/DB; rediss:// for TLS). */
  queue: string;
  /** The results file (JSON lines) the results are written to as they arrive. */
  out: string;
  /** Keep the results file's lines and queue only the points it lacks (default: start the file afresh). */
  resume?: boolean;
  /** Aborting stops following (what was written stays; the jobs stay in Redis for a later resume). */
  signal?: AbortSignal;
  /** Called when a result arrives (and once at the start). */
  onProgress?: (p: QueueProgress) => void;
  /** Told what was queued, and what was left in Redis when stopped (one line each). */
  onEvent?: (line: string) => void;
}

const SUBMIT_OPTION_KEYS = { queue: 1, out: 1, resume: 1, signal: 1, onProgress: 1, onEvent: 1 } as const satisfies OptionKeys<QueueSweepOptions>;

/** How a sweep on a queue ended. */
export interface QueueSweepOutcome {
  /** Every point's line is in the results file. */
  complete: boolean;
  /** Stopped by the signal before that (the jobs are left in Redis). */
  interrupted: boolean;
  progress: QueueProgress;
}

/** Job options: retried (at least once) with backoff when a worker's run throws; kept until the sweep is done. */
const JOB_ATTEMPTS = 3;
const JOB_BACKOFF_MS = 1000;
/** How often the results hash is looked at. */
const POLL_MS = 250;
/** Jobs added per round trip. */
const ADD_BATCH = 500;

/**
 * Runs a sweep on a Redis queue: queues its points for `iommu-sim worker` processes (on any
 * machines with that Redis) and writes their results to `out` as they arrive. Resolves when
 * every point has a line, or when `signal` stops it; a failure to reach Redis, or points whose
 * jobs failed on every attempt, are a QueueError (what was written stays).
 */
export async function runSweepOnQueue(spec: SweepSpec, options: QueueSweepOptions): Promise<QueueSweepOutcome> {
  const o = checkOptions(options, SUBMIT_OPTION_KEYS, "runSweepOnQueue");
  const target = parseRedisUrl(o.queue, "queue");
  if (typeof o.out !== "string" || o.out === "") throw new ArgumentError("out", o.out, "must be the results file's path", "runSweepOnQueue");
  checkRedisName("sweep id", spec.id);
  const points = expandPoints(spec);
  const written = startResultsFile(o.out, spec, !!o.resume);
  const redis = await openRedis(target);
  const { Queue } = await import("bullmq");
  const queue = new Queue<PointJobData>(queueName(spec.id), { connection: bullConnection(target), prefix: KEY_PREFIX });
  queue.on("error", () => {}); // its commands' failures reach us as rejections
  const submit = new Submission(spec, points, written, o, target, redis, queue);
  let failed = false;
  try {
    return await submit.run();
  } catch (e) {
    failed = true;
    throw e instanceof SweepResultsError || e instanceof QueueError ? e : lostConnection(target, e);
  } finally {
    await submit.close(failed);
  }
}

/** The lines already in the results file (on resume), which must be this sweep's; else a fresh, empty file. */
function startResultsFile(out: string, spec: SweepSpec, resume: boolean): Map<string, SweepResultLine> {
  const have = new Map<string, SweepResultLine>();
  if (!resume || !existsSync(out)) {
    writeFileSync(out, "");
    return have;
  }
  cutTornTail(out);
  for (const line of readResults(out)) {
    if (line.sweep !== spec.id) {
      throw new SweepResultsError(`${out} holds results of sweep ${line.sweep}, not of this one (${spec.id}): --resume continues the same sweep only`);
    }
    have.set(line.key, line);
  }
  return have;
}

class Submission {
  private readonly pending = new Map<string, SweepPoint>();
  private readonly progress: QueueProgress;
  private seenLength = -1;

  constructor(private readonly spec: SweepSpec, points: SweepPoint[], private readonly written: Map<string, SweepResultLine>,
              private readonly o: QueueSweepOptions, private readonly target: RedisTarget,
              private readonly redis: Redis, private readonly queue: Queue<PointJobData>) {
    for (const p of points) if (!written.has(p.key)) this.pending.set(p.key, p);
    const failed = [...written.values()].filter((l) => !l.ok).length;
    this.progress = { done: written.size, failed, total: points.length };
  }

  async run(): Promise<QueueSweepOutcome> {
    const say = this.o.onEvent ?? (() => {});
    this.o.onProgress?.({ ...this.progress });
    await this.publish();
    await this.collect(); // results stored by an earlier submission's workers: written, not run again
    const queued = await this.enqueue();
    say(`sweep ${this.spec.name} (${this.spec.id}): ${this.progress.total} points, ${this.progress.done} already done, ` +
      `${queued} queued on ${this.target.shown}; run \`iommu-sim worker --queue ${this.target.shown}\` on any machine to take them`);
    while (this.pending.size > 0) {
      if (this.o.signal?.aborted) {
        say(`stopped following: ${this.pending.size} points left in Redis for the workers; ` +
          `\`iommu-sim sweep … --queue ${this.target.shown} --resume\` writes them to ${this.o.out} when they are done`);
        return { complete: false, interrupted: true, progress: { ...this.progress } };
      }
      await sleep(POLL_MS, this.o.signal);
      await this.collect();
      if (this.pending.size > 0) await this.checkFailed();
    }
    await this.cleanUp();
    return { complete: true, interrupted: false, progress: { ...this.progress } };
  }

  /** The sweep's record for workers, then its entry in the registry they read (oldest first). */
  private async publish(): Promise<void> {
    await writeSweepRecord(this.redis, { spec: this.spec, versions: sweepVersions() });
    await this.redis.zadd(REGISTRY_KEY, "NX", Date.now(), this.spec.id);
  }

  /** Writes the results of pending points that workers have stored since the last look. */
  private async collect(): Promise<void> {
    const key = resultsKey(this.spec.id);
    const length = await this.redis.hlen(key);
    if (length === this.seenLength) return;
    this.seenLength = length;
    const keys = [...this.pending.keys()];
    for (let i = 0; i < keys.length; i += ADD_BATCH) {
      const batch = keys.slice(i, i + ADD_BATCH);
      const values = await this.redis.hmget(key, ...batch);
      values.forEach((text, j) => { if (text !== null) this.write(batch[j]!, text); });
    }
  }

  private write(key: string, text: string): void {
    const line = parseResultLine(text, `Redis ${resultsKey(this.spec.id)} field ${key}`);
    if (line.sweep !== this.spec.id || line.key !== key) {
      throw new QueueError(`Redis ${resultsKey(this.spec.id)} field ${key} holds the result of another point (sweep ${line.sweep}, key ${line.key})`);
    }
    appendResult(this.o.out, line);
    this.written.set(key, line);
    this.pending.delete(key);
    this.progress.done++;
    if (!line.ok) this.progress.failed++;
    this.o.onProgress?.({ ...this.progress });
  }

  /**
   * One job per pending point, its id the point's key: BullMQ adds nothing for an id it has, so
   * submitting again (--resume) never makes a second job. A job that failed on every attempt is
   * retried; one that completed without a stored result (its results expired) is run again.
   */
  private async enqueue(): Promise<number> {
    const stale = await this.queue.getJobs(["failed", "completed"]);
    for (const job of stale) {
      if (!job.id || !this.pending.has(job.id)) continue;
      if (await job.isFailed()) await job.retry("failed");
      // Completed since the last look (its result is stored first, then the job completes): collected next time.
      else if (!await this.redis.hexists(resultsKey(this.spec.id), job.id)) await job.remove();
    }
    const before = await this.jobCount();
    const jobs = [...this.pending.values()].map((point) => ({
      name: "point", data: { sweep: this.spec.id, point },
      opts: { jobId: point.key, attempts: JOB_ATTEMPTS, backoff: { type: "exponential", delay: JOB_BACKOFF_MS }, removeOnComplete: false, removeOnFail: false },
    }));
    for (let i = 0; i < jobs.length; i += ADD_BATCH) {
      if (this.o.signal?.aborted) break;
      await this.queue.addBulk(jobs.slice(i, i + ADD_BATCH));
    }
    return (await this.jobCount()) - before;
  }

  private async jobCount(): Promise<number> {
    const counts = await this.queue.getJobCounts("waiting", "active", "delayed", "prioritized", "paused", "completed", "failed");
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /** Points whose jobs failed on every attempt are an error once nothing else is left to wait for. */
  private async checkFailed(): Promise<void> {
    const { failed } = await this.queue.getJobCounts("failed");
    if (!failed) return;
    const jobs = (await this.queue.getFailed()).filter((j: Job<PointJobData>) => j.id && this.pending.has(j.id));
    if (jobs.length === 0 || jobs.length < this.pending.size) return;
    const first = jobs[0]!;
    throw new QueueError(`${jobs.length} point(s) failed on the workers after ${JOB_ATTEMPTS} attempts each (not a run's failure, ` +
      `which would be a result): point #${first.data.point.index} (${first.id}): ${first.failedReason}; the jobs stay in Redis, ` +
      `and --resume retries them`);
  }

  /** Every point is written: the sweep's jobs, record and results go from Redis (the results file has them). */
  private async cleanUp(): Promise<void> {
    await this.redis.zrem(REGISTRY_KEY, this.spec.id);
    await this.queue.obliterate({ force: true });
    await this.redis.del(specKey(this.spec.id), resultsKey(this.spec.id));
  }

  /** Closes the connections; after a failure (Redis may be gone) without waiting for it. */
  async close(failed: boolean): Promise<void> {
    if (failed) {
      await withTimeout(this.queue.disconnect(), 1000, () => new Error("disconnect timed out")).catch(() => {});
      this.redis.disconnect();
      return;
    }
    const bounded = (p: Promise<unknown>) => withTimeout(p, 5000, () => new Error("close timed out")).catch(() => {});
    await bounded(this.queue.close());
    await bounded(this.redis.quit());
    this.redis.disconnect();
  }
}
