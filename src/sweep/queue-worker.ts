// The worker side of a sweep on a Redis queue (`iommu-sim worker --queue redis://HOST:PORT`):
// on any number of machines, take the points that `iommu-sim sweep --queue` made BullMQ jobs
// of, run each (runPoint, src/sweep/run-point.ts) and store its result line in the sweep's
// results hash in Redis, keyed by the point (src/sweep/redis.ts names the keys).
//
// Delivery is at least once: a worker that dies holding a job stops renewing the job's lock,
// and BullMQ's stalled-job check (run by every worker serving that sweep) puts the job back
// for another worker. So a point may run twice; its result is deterministic, and the hash
// keeps the first line stored — a second one is compared with it (timing aside) and a
// difference is an error, never a silent second answer.
//
// Which sweep: the registry (a sorted set of sweep ids by submission time) says which sweeps
// exist; a worker serves the oldest one that still has points waiting or running, so several
// sweeps on one Redis run one after another and a worker's concurrency bounds all its runs.

import { availableParallelism, hostname } from "node:os";
import type { Job, Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { ArgumentError } from "../errors.js";
import { checkCallback, checkInt, checkOptions, checkSignal, type OptionKeys } from "../validate.js";
import { PointSimulators, runPoint, sweepVersions } from "./run-point.js";
import { parseResultLine, resultsDifference } from "./results.js";
import type { SweepPoint, SweepResultLine } from "./types.js";
import {
  KEEP_SECONDS, KEY_PREFIX, QueueError, REGISTRY_KEY, bullConnection, lostConnection, openRedis, parseRedisUrl,
  queueName, resultsKey, sleep, withTimeout, type RedisTarget,
} from "./redis.js";
import { readSweepRecord, type SweepRecord } from "./queue-record.js";

/** Options of runQueueWorker. */
export interface QueueWorkerOptions {
  /** The Redis URL the sweeps were submitted to: redis://HOST:PORT. */
  queue: string;
  /** Points run at once (default: the machine's available parallelism; each point's run is one worker thread). */
  concurrency?: number;
  /** Aborting stops taking jobs; the points being run are finished and stored, then it returns. */
  signal?: AbortSignal;
  /** This worker's name in the results' `ranOn` (default hostname:pid). */
  id?: string;
  /** Told of each point taken and finished, and of sweeps started and skipped (one line each). */
  onEvent?: (line: string) => void;
}

const WORKER_OPTION_KEYS = { queue: 1, concurrency: 1, signal: 1, id: 1, onEvent: 1 } as const satisfies OptionKeys<QueueWorkerOptions>;

/** What a worker did before it stopped. */
export interface QueueWorkerSummary {
  /** Points run and stored (or found stored already, with the same result). */
  ran: number;
}

/**
 * A job's lock lasts this long and is renewed at half of it; a worker that dies stops renewing,
 * and the next stalled check (every STALLED_INTERVAL_MS, in every live worker of that sweep)
 * gives its job to another worker: within ~12 s. A point's run is on a worker thread (runPoint
 * runs the scenario on one), so the event loop that renews locks stays free however long it is.
 */
export const LOCK_DURATION_MS = 8000;
export const STALLED_INTERVAL_MS = 4000;
/** A job may be found stalled this many times (its workers died) before it fails. */
const MAX_STALLED = 3;
/** How often the registry is looked at for sweeps to serve. */
const REGISTRY_POLL_MS = 1000;

/** The data of one job: the sweep's id and the point (stored whole, so a worker needs no recomputation). */
export interface PointJobData {
  sweep: string;
  point: SweepPoint;
}

/** Runs queued points until `signal` is aborted (or Redis goes away: then it throws a QueueError). */
export async function runQueueWorker(options: QueueWorkerOptions): Promise<QueueWorkerSummary> {
  const o = checkOptions(options, WORKER_OPTION_KEYS, "runQueueWorker");
  checkSignal(o.signal, "runQueueWorker");
  checkCallback("onEvent", o.onEvent, "runQueueWorker");
  const target = parseRedisUrl(o.queue, "queue");
  const concurrency = o.concurrency === undefined ? availableParallelism() : checkInt("concurrency", o.concurrency, 1, 256, "runQueueWorker");
  if (o.id !== undefined && (typeof o.id !== "string" || o.id === "")) throw new ArgumentError("id", o.id, "must be a non-empty string", "runQueueWorker");
  const w = new QueueWorker(target, await openRedis(target), concurrency, o.id ?? `${hostname()}:${process.pid}`, o.onEvent ?? (() => {}));
  return w.serve(o.signal);
}

class QueueWorker {
  private readonly queues = new Map<string, Queue>();
  private readonly refused = new Set<string>();
  private readonly errors = new Set<string>();
  /** Simulators kept between points (a new one costs more than a short run); one set per point run at once. */
  private readonly idle: PointSimulators[] = [];
  private serving?: { id: string; record: SweepRecord; worker: Worker };
  private ran = 0;
  private failure?: QueueError;

  constructor(private readonly target: RedisTarget, private readonly redis: Redis, private readonly concurrency: number,
              private readonly id: string, private readonly say: (line: string) => void) {}

  async serve(signal: AbortSignal | undefined): Promise<QueueWorkerSummary> {
    this.say(`worker ${this.id}: serving sweeps on ${this.target.shown} (${this.concurrency} at a time)`);
    try {
      while (!signal?.aborted && !this.failure) {
        await this.choose();
        await sleep(REGISTRY_POLL_MS, signal);
      }
    } catch (e) {
      this.failure ??= lostConnection(this.target, e);
    } finally {
      await this.close(!!this.failure);
    }
    if (this.failure) throw this.failure;
    return { ran: this.ran };
  }

  /** Serve the oldest registered sweep with points left; switch when the one served has none. */
  private async choose(): Promise<void> {
    const ids = await this.redis.zrange(REGISTRY_KEY, 0, -1);
    let next: { id: string; record: SweepRecord } | undefined;
    for (const id of ids) {
      if (this.refused.has(id)) continue;
      const record = this.serving?.id === id ? this.serving.record : await this.record(id);
      if (!record) continue;
      if (await this.hasWork(id)) { next = { id, record }; break; }
    }
    if (this.serving && this.serving.id !== next?.id) {
      const done = this.serving;
      this.serving = undefined;
      await done.worker.close();
    }
    if (next && !this.serving) this.serving = { ...next, worker: await this.start(next.id, next.record) };
  }

  /** The sweep's record, or undefined (and never asked again) when this worker cannot run it. */
  private async record(id: string): Promise<SweepRecord | undefined> {
    let record: SweepRecord | undefined;
    try {
      record = await readSweepRecord(this.redis, id);
    } catch (e) {
      if (!(e instanceof QueueError)) throw e;
      return this.refuse(id, e.message);
    }
    if (!record) return undefined; // finished and cleaned up, or expired: nothing to run
    const mine = sweepVersions();
    const theirs = record.versions;
    if (theirs.iommuSim !== mine.iommuSim || theirs.node !== mine.node) {
      return this.refuse(id, `sweep ${record.spec.name} was submitted by iommu-sim ${theirs.iommuSim} on Node ${theirs.node}, ` +
        `this worker is iommu-sim ${mine.iommuSim} on Node ${mine.node} (results of different versions are never merged)`);
    }
    return record;
  }

  private refuse(id: string, why: string): undefined {
    this.refused.add(id);
    this.say(`worker ${this.id}: not serving sweep ${id}: ${why}`);
    return undefined;
  }

  private async hasWork(id: string): Promise<boolean> {
    const counts = await (await this.queue(id)).getJobCounts("waiting", "active", "delayed", "prioritized", "paused");
    return Object.values(counts).some((n) => n > 0);
  }

  private async queue(id: string): Promise<Queue> {
    let q = this.queues.get(id);
    if (!q) {
      const { Queue } = await import("bullmq");
      q = new Queue(queueName(id), { connection: bullConnection(this.target), prefix: KEY_PREFIX });
      q.on("error", () => {}); // its commands' failures reach us as rejections; the events would only be printed twice
      this.queues.set(id, q);
    }
    return q;
  }

  private async start(id: string, record: SweepRecord): Promise<Worker> {
    const { Worker } = await import("bullmq");
    this.say(`worker ${this.id}: sweep ${record.spec.name} (${id})`);
    const worker = new Worker<PointJobData>(queueName(id), (job) => this.process(job, record), {
      connection: bullConnection(this.target), prefix: KEY_PREFIX, concurrency: this.concurrency,
      lockDuration: LOCK_DURATION_MS, stalledInterval: STALLED_INTERVAL_MS, maxStalledCount: MAX_STALLED,
    });
    // A lost connection is reported by the registry poll; anything else is said once, not at every retry.
    worker.on("error", (e) => {
      if (/ECONNREFUSED|ECONNRESET|Connection is closed|max retries/i.test(e.message) || this.errors.has(e.message)) return;
      this.errors.add(e.message);
      this.say(`worker ${this.id}: BullMQ: ${e.message}`);
    });
    worker.on("failed", (job, e) => { if (job) this.say(`worker ${this.id}: point #${job.data.point.index} (${job.id}) failed: ${e.message}`); });
    return worker;
  }

  /** One job: run the point, store its line unless an equal one is stored already. */
  private async process(job: Job<PointJobData>, record: SweepRecord): Promise<{ ranOn: string }> {
    const { point } = job.data;
    if (job.data.sweep !== record.spec.id || job.id !== point.key) {
      throw new (await import("bullmq")).UnrecoverableError(`job ${job.id} does not belong to sweep ${record.spec.id}: ${JSON.stringify(job.data).slice(0, 200)}`);
    }
    this.say(`worker ${this.id}: taking point #${point.index} (${point.key})`);
    const simulators = this.idle.pop() ?? new PointSimulators();
    let line: SweepResultLine;
    try {
      line = await runPoint(record.spec, point, { ranOn: this.id, simulators });
    } finally {
      this.idle.push(simulators);
    }
    await this.store(line);
    this.ran++;
    this.say(`worker ${this.id}: point #${point.index} ${line.ok ? "done" : `failed (${line.error.name}: ${line.error.message})`} in ${Math.round(line.wallMs)} ms`);
    return { ranOn: this.id };
  }

  private async store(line: SweepResultLine): Promise<void> {
    const prev = await this.redis.eval(STORE_ONCE, 1, resultsKey(line.sweep), line.key, JSON.stringify(line), KEEP_SECONDS) as string | null;
    if (prev === null) return;
    if (resultsDifference([parseResultLine(prev, `Redis ${resultsKey(line.sweep)} field ${line.key}`)], [line]) !== undefined) {
      throw new (await import("bullmq")).UnrecoverableError(`point #${line.index} (${line.key}) ran twice with different results ` +
        "(timing aside): a run is deterministic, so this is a bug in iommu-sim; the first result is kept");
    }
  }

  private async close(force: boolean): Promise<void> {
    const bounded = (p: Promise<unknown>) => withTimeout(p, force ? 3000 : 24 * 3600_000, () => new Error("close timed out")).catch(() => {});
    if (this.serving) await bounded(this.serving.worker.close(force));
    await Promise.all([...this.queues.values()].map((q) => bounded(force ? q.disconnect() : q.close())));
    if (force) this.redis.disconnect();
    else await bounded(this.redis.quit());
    await Promise.all(this.idle.splice(0).map((sims) => bounded(sims.close())));
  }
}

/**
 * Stores a result line under its point's key unless one is there, and keeps the hash for
 * KEEP_SECONDS more; returns the line stored before (nil when this one was stored). One script,
 * so two workers finishing the same point at once cannot both store.
 */
const STORE_ONCE = `
local prev = redis.call('HGET', KEYS[1], ARGV[1])
if not prev then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return prev`;
