// The Redis side of a sweep on a queue (src/sweep/queue.ts submits points, src/sweep/queue-worker.ts
// runs them): the URL a user gives, connections to it with every wait bounded, the errors that
// say which server and what went wrong, and the one place where the sweep's keys are named.
//
// ioredis reconnects forever and queues commands while it does, so a missing server would be a
// hang: the first connection here gets no retry at all (a refusal is reported at once), later
// ones a few seconds of reconnecting before their commands fail and the command exits.
//
// Nothing here is the simulated kernel's: the queue is the sweep's transport (issue 17), and the
// Redis client is the one BullMQ itself uses (ioredis), loaded only when a queue is asked for.

import type { Redis, RedisOptions } from "ioredis";
import { IommuSimError } from "../errors.js";

/** A queue's Redis could not be reached or used, or a sweep on it went wrong: the message names the server. */
export class QueueError extends IommuSimError {
  override name = "QueueError";
}

/** What a `redis://` URL says, checked. */
export interface RedisTarget {
  /** The URL as given, with any password replaced by `***`: what messages show. */
  shown: string;
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
}

export const REDIS_URL_FORM = "redis://HOST:PORT (or redis://:PASSWORD@HOST:PORT/DB; rediss:// for TLS)";
const DEFAULT_PORT = 6379;

/** A `--queue` value, refused with what was expected unless it is a Redis URL. */
export function parseRedisUrl(value: unknown, where = "--queue"): RedisTarget {
  const bad = (why: string): never => {
    throw new QueueError(`${where} ${typeof value === "string" ? JSON.stringify(value) : String(value)}: ${why}; expected ${REDIS_URL_FORM}`);
  };
  if (typeof value !== "string" || value.trim() === "") return bad("not a URL");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return bad("not a URL");
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") return bad(`the scheme is "${url.protocol.replace(/:$/, "")}", not redis or rediss`);
  if (url.hostname === "") return bad("no host");
  if (url.search || url.hash) return bad("a query or fragment is not understood");
  const path = url.pathname.replace(/^\//, "");
  if (path !== "" && !/^\d{1,5}$/.test(path)) return bad(`the database "${path}" is not a number`);
  const port = url.port === "" ? DEFAULT_PORT : Number(url.port);
  if (port === 0) return bad("port 0 is not a server's port");
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const shown = password === undefined ? value : value.replace(`:${url.password}@`, ":***@");
  return {
    shown, host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port, db: path === "" ? 0 : Number(path), tls: url.protocol === "rediss:",
    ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }),
  };
}

/** How long one attempt to connect may take. */
export const CONNECT_TIMEOUT_MS = 3000;
/** After a connection was made: reconnect this many times, this far apart, then give up (~10 s). */
const RECONNECT_TRIES = 20;
const RECONNECT_DELAY_MS = 500;
/** A command of ours (never a blocking one) that gets no answer in this time fails. */
const COMMAND_TIMEOUT_MS = 10_000;

/** After a connection was made: a bounded number of reconnections, then the connection ends and its commands fail. */
export function boundedRetry(times: number): number | null {
  return times > RECONNECT_TRIES ? null : RECONNECT_DELAY_MS;
}

/**
 * Options for the connections BullMQ makes itself (its queues and workers): the target's, with
 * the reconnections bounded. BullMQ wants `maxRetriesPerRequest: null` (its blocking reads wait
 * as long as they need); the bound comes from the retry strategy, which ends the connection.
 */
export function bullConnection(t: RedisTarget): RedisOptions {
  return { ...serverOptions(t), maxRetriesPerRequest: null, retryStrategy: boundedRetry };
}

function serverOptions(t: RedisTarget): RedisOptions {
  return {
    host: t.host, port: t.port, db: t.db, connectTimeout: CONNECT_TIMEOUT_MS,
    ...(t.username === undefined ? {} : { username: t.username }),
    ...(t.password === undefined ? {} : { password: t.password }),
    ...(t.tls ? { tls: {} } : {}),
  };
}

/**
 * A connection of our own (the sweep's spec, its results, the registry), made now: a refused
 * connection, an unknown host, a wrong password or something that is not Redis is a QueueError
 * within a few seconds. Once made, it reconnects for about ten seconds when Redis goes away,
 * then its commands fail (see `lostConnection`).
 */
export async function openRedis(t: RedisTarget): Promise<Redis> {
  const { Redis } = await import("ioredis");
  const client = new Redis({
    ...serverOptions(t), lazyConnect: true, commandTimeout: COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  let last: Error | undefined;
  // Without a listener ioredis prints every connection error itself; the last one is kept for the message.
  client.on("error", (e: Error) => { last = e; });
  try {
    await withTimeout(client.connect().then(() => client.ping()), CONNECT_TIMEOUT_MS + 2000,
      () => new QueueError(`no answer from ${t.shown} within ${(CONNECT_TIMEOUT_MS + 2000) / 1000} s: is a Redis server listening at ${t.host}:${t.port}?`));
  } catch (e) {
    client.disconnect();
    throw e instanceof QueueError ? e : connectError(t, last ?? (e as Error));
  }
  // From now on a command waits while the connection is remade, as long as the retry strategy goes on.
  client.options.retryStrategy = boundedRetry;
  client.options.maxRetriesPerRequest = null;
  return client;
}

/** What a failed first connection means, in words that say what to check. */
export function connectError(t: RedisTarget, e: Error): QueueError {
  const code = (e as { code?: string }).code;
  const msg = e.message;
  const at = `Redis at ${t.shown}`;
  if (code === "ECONNREFUSED") return new QueueError(`cannot reach ${at}: connection refused (expected a Redis server listening at ${t.host}:${t.port}; is redis-server running there?)`);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return new QueueError(`cannot reach ${at}: no host named "${t.host}"`);
  if (code === "ETIMEDOUT") return new QueueError(`cannot reach ${at}: no connection within ${CONNECT_TIMEOUT_MS / 1000} s`);
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password|without any password configured|AUTH failed/i.test(msg)) {
    return new QueueError(`${at} refused the credentials: ${msg} (give them in the URL: redis://USER:PASSWORD@HOST:PORT, or redis://:PASSWORD@HOST:PORT)`);
  }
  return new QueueError(`cannot use ${at}: ${msg}`);
}

/** A command of an established connection failed: Redis went away (or refused it). */
export function lostConnection(t: RedisTarget, e: unknown): QueueError {
  if (e instanceof QueueError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/Connection is closed|ECONNREFUSED|ECONNRESET|Command timed out|EPIPE|max retries/i.test(msg)) {
    return new QueueError(`lost the connection to Redis at ${t.shown} (no answer after ${RECONNECT_TRIES * RECONNECT_DELAY_MS / 1000} s of reconnecting): ${msg}`);
  }
  return new QueueError(`Redis at ${t.shown}: ${msg}`);
}

/** `p`, or the error `timeout()` makes if it has not settled in `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, timeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(timeout()), ms); }),
  ]);
}

/** Resolves after `ms`, or at once when `signal` is aborted. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => { clearTimeout(timer); signal?.removeEventListener("abort", done); resolve(); };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * The sweep's names in Redis, all under one prefix. A sweep is known by its id (a hash of the
 * sweep file, src/sweep/types.ts), so two sweeps never share a queue or a results hash:
 *
 * - `iommu-sim:sweeps` — a sorted set, the registry workers read: sweep id → when it was first
 *   submitted (ms); workers serve the oldest sweep that has points left first.
 * - `iommu-sim:sweep:ID:spec` — the sweep (SweepSpec JSON) and the versions of who submitted it,
 *   stored once: a worker needs nothing but the Redis URL.
 * - `iommu-sim:sweep:ID:results` — a hash, point key → its SweepResultLine (JSON).
 * - the BullMQ queue `sweep-ID` (its keys `iommu-sim:sweep-ID:*`) — one job per point, the
 *   job's id the point's key.
 */
export const KEY_PREFIX = "iommu-sim";
export const REGISTRY_KEY = `${KEY_PREFIX}:sweeps`;
export const specKey = (id: string): string => `${KEY_PREFIX}:sweep:${id}:spec`;
export const resultsKey = (id: string): string => `${KEY_PREFIX}:sweep:${id}:results`;
export const queueName = (id: string): string => `sweep-${id}`;
/** A sweep's spec and results are dropped this long after they were last written (seconds). */
export const KEEP_SECONDS = 7 * 24 * 3600;

/** A sweep id or point key as a Redis name: BullMQ refuses ':' in job ids and queue names. */
export function checkRedisName(what: string, v: string): string {
  if (!/^[A-Za-z0-9_.-]{1,200}$/.test(v)) throw new QueueError(`${what} ${JSON.stringify(v)} cannot name a queue or a job (letters, digits, '.', '_', '-' only)`);
  return v;
}
