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

import { closeSync } from "node:fs";
import type { Job, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { ArgumentError, IommuSimError } from "../errors.js";
import { checkCallback, checkOptions, checkSignal, type OptionKeys } from "../validate.js";
import { openResults, previousResults, type SweepOutcome, type SweepProgress } from "./local.js";
import { expandPoints } from "./points.js";
import { appendResult, parseResultLine } from "./results.js";
import { sweepVersions } from "./run-point.js";
import type { SweepPoint, SweepResultLine, SweepSpec } from "./types.js";
import {
  KEY_PREFIX, QueueError, REGISTRY_KEY, bullConnection, checkRedisName, lostConnection, openRedis,
  parseRedisUrl, queueName, resultsKey, sleep, specKey, withTimeout, type RedisTarget,
} from "./redis.js";
import { writeSweepRecord } from "./queue-record.js";
import type { PointJobData } from "./queue-worker.js";

/** Options of runSweepOnQueue. */
export interface QueueSweepOptions {
  /** The Redis server: redis://HOST:PORT (redis://:PASSWORD@HOST:PORT/DB; rediss:// for TLS). */
  queue: string;
  /** The results file (JSON lines) the results are written to as they arrive; an existing one only with `resume`. */
  out: string;
  /** Continue the results file `out`: points it has are not queued again (it must be this sweep's, by this version). */
  resume?: boolean;
  /** Aborting stops following (what was written stays; the jobs stay in Redis for a later resume). */
  signal?: AbortSignal;
  /** Called when a result arrives, and once at the start (as the local runner's). */
  onProgress?: (p: SweepProgress) => void;
  /** Told what was queued, and what was left in Redis when stopped (one line each). */
  onEvent?: (line: string) => void;
  /** Told about a torn last line found on resume. */
  onWarning?: (message: string) => void;
}

const SUBMIT_OPTION_KEYS = {
  queue: 1, out: 1, resume: 1, signal: 1, onProgress: 1, onEvent: 1, onWarning: 1,
} as const satisfies OptionKeys<QueueSweepOptions>;

/** Job options: retried (at least once) with backoff when a worker's run throws; kept until the sweep is done. */
const JOB_ATTEMPTS = 3;
const JOB_BACKOFF_MS = 1000;
/** How often the results hash is looked at. */
const POLL_MS = 250;
/** Jobs added, and results read, per round trip. */
const BATCH = 500;

/**
 * Runs a sweep on a Redis queue: queues its points for `iommu-sim worker` processes (on any
 * machines with that Redis) and writes their results to `out` as they arrive. Resolves, as the
 * local runner does (its `jobs`: the workers whose results arrived), when every point has a
 * line, or when `signal` stops it; a failure to reach Redis, or points whose jobs failed on
 * every attempt, are a QueueError (what was written stays).
 */
export async function runSweepOnQueue(spec: SweepSpec, options: QueueSweepOptions): Promise<SweepOutcome> {
  const o = checkOptions(options, SUBMIT_OPTION_KEYS, "runSweepOnQueue");
  checkSignal(o.signal, "runSweepOnQueue");
  for (const k of ["onProgress", "onEvent", "onWarning"] as const) checkCallback(k, o[k], "runSweepOnQueue");
  const target = parseRedisUrl(o.queue, "queue");
  if (typeof o.out !== "string" || o.out === "") throw new ArgumentError("out", o.out, "must be the results file's path", "runSweepOnQueue");
  checkRedisName("sweep id", spec.id);
  const points = expandPoints(spec);
  // The file is checked before Redis is: a refusal costs no connection.
  const previous = previousResults(spec, o.out, o.resume === true, o.onWarning);
  const redis = await openRedis(target);
  const { Queue } = await import("bullmq");
  const queue = new Queue<PointJobData>(queueName(spec.id), { connection: bullConnection(target), prefix: KEY_PREFIX });
  queue.on("error", () => {}); // its commands' failures reach us as rejections
  const fd = openResults(o.out);
  const submit = new Submission(spec, points, previous, o, target, redis, queue, fd);
  let failed = false;
  try {
    return await submit.run();
  } catch (e) {
    failed = true;
    throw e instanceof IommuSimError ? e : lostConnection(target, e);
  } finally {
    closeSync(fd);
    await submit.close(failed);
  }
}

class Submission {
  private readonly pending = new Map<string, SweepPoint>();
  private readonly kept: SweepResultLine[];
  private readonly fresh: SweepResultLine[] = [];
  private readonly t0 = performance.now();
  private failed: number;
  private seenLength = -1;

  constructor(private readonly spec: SweepSpec, private readonly points: SweepPoint[], previous: SweepResultLine[],
              private readonly o: QueueSweepOptions, private readonly target: RedisTarget,
              private readonly redis: Redis, private readonly queue: Queue<PointJobData>, private readonly fd: number) {
    const mine = new Set(points.map((p) => p.key));
    this.kept = [...new Map(previous.filter((l) => mine.has(l.key)).map((l) => [l.key, l] as const)).values()];
    const have = new Set(this.kept.map((l) => l.key));
    for (const p of points) if (!have.has(p.key)) this.pending.set(p.key, p);
    this.failed = this.kept.filter((l) => !l.ok).length;
  }

  async run(): Promise<SweepOutcome> {
    const say = this.o.onEvent ?? (() => {});
    this.progress();
    await this.publish();
    await this.collect(); // results stored by an earlier submission's workers: written, not run again
    const queued = await this.enqueue();
    say(`sweep ${this.spec.name} (${this.spec.id}): ${this.points.length} points, ${this.points.length - this.pending.size} already done, ` +
      `${queued} queued on ${this.target.shown}; \`iommu-sim worker --queue ${this.target.shown}\` on any machine takes them`);
    while (this.pending.size > 0) {
      if (this.o.signal?.aborted) {
        say(`stopped following: ${this.pending.size} points left in Redis for the workers; the same command with --resume ` +
          `writes them to ${this.o.out} when they are done`);
        return this.outcome(true);
      }
      await sleep(POLL_MS, this.o.signal);
      await this.collect();
      if (this.pending.size > 0) await this.checkFailed();
    }
    await this.cleanUp();
    return this.outcome(false);
  }

  private progress(): void {
    this.o.onProgress?.({
      total: this.points.length, done: this.kept.length + this.fresh.length, failed: this.failed, resumed: this.kept.length,
      elapsedMs: performance.now() - this.t0,
    });
  }

  private outcome(interrupted: boolean): SweepOutcome {
    const order = new Map(this.points.map((p, i) => [p.key, i] as const));
    const lines = [...this.kept, ...this.fresh].sort((a, b) => order.get(a.key)! - order.get(b.key)!);
    return {
      lines, total: this.points.length, resumed: this.kept.length, ran: this.fresh.length, failed: this.failed, interrupted,
      wallMs: performance.now() - this.t0, runWallMs: this.fresh.reduce((n, l) => n + l.wallMs, 0),
      simulatorStartMs: 0, // the workers start theirs, on their machines: none here
      jobs: new Set(this.fresh.map((l) => l.ranOn)).size,
    };
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
    for (let i = 0; i < keys.length; i += BATCH) {
      const batch = keys.slice(i, i + BATCH);
      const values = await this.redis.hmget(key, ...batch);
      values.forEach((text, j) => { if (text !== null) this.write(batch[j]!, text); });
    }
  }

  private write(key: string, text: string): void {
    const line = parseResultLine(text, `Redis ${resultsKey(this.spec.id)} field ${key}`);
    if (line.sweep !== this.spec.id || line.key !== key) {
      throw new QueueError(`Redis ${resultsKey(this.spec.id)} field ${key} holds the result of another point (sweep ${line.sweep}, key ${line.key})`);
    }
    appendResult(this.fd, line);
    this.fresh.push(line);
    this.pending.delete(key);
    if (!line.ok) this.failed++;
    this.progress();
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
    for (let i = 0; i < jobs.length; i += BATCH) {
      if (this.o.signal?.aborted) break;
      await this.queue.addBulk(jobs.slice(i, i + BATCH));
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
    throw new QueueError(`${jobs.length} point(s) failed on the workers (not a run's failure, which would be a result): ` +
      `point #${first.data.point?.index ?? "?"} (job ${first.id}), after ${first.attemptsMade} attempt(s): ${first.failedReason}; ` +
      "the jobs stay in Redis, and --resume retries them");
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
