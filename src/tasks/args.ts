// A built-in task's arguments, checked in the orchestrating thread before any worker hears of
// the run (WorkerPool.run). Each task file says what its arguments are — a check of one
// worker's arguments, and the rules across workers — and this file holds the pieces they
// share: the argument object (no unknown key), a list with one entry per worker, a handle
// (an id) that must name a live object, a simulated CPU only one worker may run. The orchestrator
// has the workers' shared memory through its own core, so what a worker would find there (no
// such table, a device on another domain, a CPU the domain does not have) is found here
// first: the caller gets an ArgumentError naming the task and the field, and the pool, which
// a failing worker would have stopped, stays usable.

import type { Core } from "../../bindings/core.js";
import type { TaskContext } from "../pool.js";
import { ArgumentError, hex } from "../errors.js";
import { checkInt, checkOptions, MAX_ADDRESS, type OptionKeys } from "../validate.js";
import { liveRecord, requireLive, type HandleKind } from "../handles.js";

/** Where one worker's arguments are checked. */
export interface ArgsScope {
  /** The orchestrator's core, over the workers' memory. */
  readonly core: Core;
  readonly worker: number;
  readonly workers: number;
  /** The task's name, and the worker when each worker got arguments of its own: what errors are prefixed with. */
  readonly context: string;
  /** The task's name alone: what errors of a rule across workers are prefixed with. */
  readonly task: string;
}

/**
 * A built-in task's check of every worker's arguments (`args[w]` is worker w's, already
 * resolved when they were given as a function of the worker): throws an ArgumentError.
 */
export type ArgsCheck = (args: readonly unknown[], pool: { core: Core; perWorker: boolean }, task: string) => void;

/** A task the workers run by name: what each runs, and the check of what it is given. */
export interface BuiltinTask {
  run: (ctx: TaskContext, args: any) => unknown;
  checkArgs: ArgsCheck;
}

/** What one worker's checked arguments give it for the run, for the rules every task's workers follow. */
export interface WorkerUse {
  /** The simulated CPUs it runs: no other worker's, each named once (checkOneWorkerPerCpu). */
  cpus?: readonly CpuClaim[];
  /** By field: what it shares with the other workers, which must be theirs too (checkSharedByAll). */
  shared?: Readonly<Record<string, unknown>>;
}

/**
 * A task's check made of `each`, which checks one worker's arguments and returns what that
 * worker will use, and `across`, the task's own rules between the workers (given what each
 * returned), after the rules of every task: one worker per CPU, one buffer shared by all.
 */
export function argsCheck<T extends WorkerUse | void>(
  each: (args: unknown, s: ArgsScope) => T,
  across?: (checked: readonly T[], scopes: readonly ArgsScope[]) => void,
): ArgsCheck {
  return (args, pool, task) => {
    const scopes = args.map((_, worker): ArgsScope => ({
      core: pool.core, worker, workers: args.length, task,
      context: pool.perWorker ? `${task} (worker ${worker}'s args)` : task,
    }));
    const checked = args.map((a, w) => each(a, scopes[w]!));
    const uses = checked.map((c): WorkerUse => c ?? {});
    checkOneWorkerPerCpu(uses.map((u) => u.cpus ?? []), scopes);
    for (const name of Object.keys(uses[0]?.shared ?? {})) checkSharedByAll(name, uses.map((u) => u.shared?.[name]), scopes);
    across?.(checked, scopes);
  };
}

/**
 * The arguments object: a plain object with no key but `keys` (a typo is refused, with the
 * nearest known key). `name` is its path in errors ("" for the arguments themselves).
 */
export function taskFields<T extends object>(v: unknown, keys: OptionKeys<T>, s: ArgsScope,
                                             name = ""): Record<keyof T, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ArgumentError(name || "args", v, `must be an object with the fields ${Object.keys(keys).join(", ")}`, s.context);
  }
  return checkOptions(v as T, keys, s.context, name, "field") as Record<keyof T, unknown>;
}

/**
 * A list of `min`..`max` entries, each checked by `item` under its own name (`cpus[1]`);
 * `expected` says what the list must be, for the error.
 */
export function checkList<T>(name: string, v: unknown, s: ArgsScope, expected: string, min: number, max: number,
                             item: (name: string, v: unknown) => T): T[] {
  if (!Array.isArray(v) || v.length < min || v.length > max) throw new ArgumentError(name, v, `must be ${expected}`, s.context);
  return v.map((x, i) => item(`${name}[${i}]`, x));
}

/**
 * A list with one entry per worker (worker w uses entry w): this worker's entry, checked
 * (every worker's check checks its own). Fewer entries would leave a worker with none; more
 * would be ignored.
 */
export function perWorker<T>(name: string, v: unknown, s: ArgsScope, what: string,
                             item: (name: string, v: unknown) => T): { name: string; value: T } {
  if (!Array.isArray(v) || v.length !== s.workers) {
    throw new ArgumentError(name, v, `must have one ${what} per worker (${s.workers} worker${s.workers === 1 ? "" : "s"})`,
      s.context);
  }
  const at = `${name}[${s.worker}]`;
  return { name: at, value: item(at, v[s.worker]) };
}

/** One value for every worker, or a list with one per worker (see perWorker): this worker's. */
export function oneOrPerWorker<T>(name: string, v: unknown, s: ArgsScope, what: string,
                                  item: (name: string, v: unknown) => T): { name: string; value: T } {
  return Array.isArray(v) ? perWorker(name, v, s, what, item) : { name, value: item(name, v) };
}

/** A field that may be left out: `check` runs on it when it is there. */
export function optional<T>(v: unknown, check: (v: unknown) => T): T | undefined {
  return v === undefined ? undefined : check(v);
}

/** An unsigned 32-bit integer (a count, a seed): what the core's loops take. */
export function checkU32(name: string, v: unknown, s: ArgsScope, min = 0): number {
  return checkInt(name, v, min, 2 ** 32 - 1, s.context);
}

/** A string (a label, a reason). */
export function checkString(name: string, v: unknown, s: ArgsScope): string {
  if (typeof v !== "string") throw new ArgumentError(name, v, "must be a string", s.context);
  return v;
}

/** A SharedArrayBuffer of at least `bytes` bytes (`what` says what it holds). */
export function checkSharedBuffer(name: string, v: unknown, bytes: number, what: string, s: ArgsScope): SharedArrayBuffer {
  if (!(v instanceof SharedArrayBuffer) || v.byteLength < bytes) {
    throw new ArgumentError(name, v instanceof SharedArrayBuffer ? `a SharedArrayBuffer of ${v.byteLength} bytes` : v,
      `must be a SharedArrayBuffer of at least ${bytes} bytes (${what})`, s.context);
  }
  return v;
}

/**
 * [base, base + span) must lie below 2^bits: `name` is the base's field, `spanName` the span's,
 * `what` whose addresses those are.
 */
export function checkSpanWithin(name: string, base: number, spanName: string, span: number, bits: number, what: string,
                                s: ArgsScope): void {
  if (base + span > Math.min(2 ** bits, MAX_ADDRESS + 1)) {
    throw new ArgumentError(name, base, `+ ${spanName} (${hex(span)}) must end at or below 2^${bits}, the top of ${what}`, s.context);
  }
}

/** [base, base + span) must end within what a JS number holds exactly (MAX_ADDRESS): a range of no table's. */
export function checkSpanExact(name: string, base: number, spanName: string, span: number, s: ArgsScope): void {
  checkSpanWithin(name, base, spanName, span, Math.log2(MAX_ADDRESS + 1), "the addresses a JS number holds exactly", s);
}

/**
 * What the workers share to work together (a handoff ring, control words) must be one buffer
 * for all of them: each worker's own would leave a worker waiting for a word no other writes.
 * `buffers[w]` is worker w's (undefined where it has none).
 */
function checkSharedByAll(name: string, buffers: readonly unknown[], scopes: readonly ArgsScope[]): void {
  const w = buffers.findIndex((b) => b !== buffers[0]);
  if (w > 0) {
    throw new ArgumentError(name, buffers[w], "must be the same SharedArrayBuffer for every worker (they share it), " +
      "but worker 0 got another", scopes[w]!.context);
  }
}

// ── handles: ids of objects in the shared memory ─────────────────────────────

/** `v` must be the id of a live object of kind `kind` (one not destroyed, released or detached): its id. */
export function checkLive(kind: HandleKind, name: string, v: unknown, s: ArgsScope): number {
  requireLive(s.core, kind, name, v, s.context);
  return v as number;
}

/** The simulated CPUs of live IOVA domain `id`: 0..n−1. */
export function iovaDomainCpus(core: Core, id: number): number {
  return core.readU32(core.raw.iova_block(id) + core.layout.I_NCPUS);
}

/** The simulated CPUs of live DMA domain `id` (its IOVA domain's). */
export function dmaDomainCpus(core: Core, id: number): number {
  return iovaDomainCpus(core, core.readU32(liveRecord(core, "dmaDomain", id) + core.layout.DD_IOVA));
}

/** The DMA domain live device `id` is attached to. */
export function deviceDomain(core: Core, id: number): number {
  return core.readU32(liveRecord(core, "dmaDevice", id) + core.layout.DV_DOMAIN);
}

/** `v` must be the id of a live DMA device attached to DMA domain `domain` (named `domainName`). */
export function checkDeviceOf(name: string, v: unknown, domain: number, domainName: string, s: ArgsScope): number {
  const device = checkLive("dmaDevice", name, v, s);
  const on = deviceDomain(s.core, device);
  if (on !== domain) {
    throw new ArgumentError(name, v, `must be a device of DMA domain ${domain} (${domainName}), not of DMA domain ${on}`,
      s.context);
  }
  return device;
}

/** `v` must be one of the `cpus` simulated CPUs of `whose` (0..cpus−1). */
export function checkCpu(name: string, v: unknown, cpus: number, whose: string, s: ArgsScope): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= cpus) {
    throw new ArgumentError(name, v, `must be a simulated CPU of ${whose}, 0..${cpus - 1}`, s.context);
  }
  return v;
}

// ── the simulated CPUs each worker runs ──────────────────────────────────────

/** A simulated CPU a worker runs for the run: `key` says which, `name` and `value` where it was given. */
export interface CpuClaim {
  key: string;
  name: string;
  value: unknown;
}

/**
 * Every worker's CPUs must be its own, each named once: a simulated CPU is run by one thread
 * at a time (the core refuses a second with ESIM_CPU_BUSY, once the run has begun), and a
 * worker that names one twice gives it back twice.
 */
function checkOneWorkerPerCpu(claims: readonly (readonly CpuClaim[])[], scopes: readonly ArgsScope[]): void {
  const held = new Map<string, { worker: number; name: string }>();
  claims.forEach((list, worker) => {
    for (const c of list) {
      const other = held.get(c.key);
      if (other && other.worker === worker) {
        throw new ArgumentError(c.name, c.value, `must not be the same simulated CPU as ${other.name}`, scopes[worker]!.context);
      }
      if (other) {
        throw new ArgumentError(c.name, c.value, `must name a simulated CPU no other worker runs, but workers ${other.worker} ` +
          `and ${worker} both would (one thread runs a simulated CPU at a time)`, scopes[worker]!.context);
      }
      held.set(c.key, { worker, name: c.name });
    }
  });
}
