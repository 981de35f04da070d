// DMA-API stress work for the pool: the three roles of the seed race (reference §1) run
// on real threads over one DMA domain in shared memory —
//
//   mapper    a driver CPU doing dma_map → the device writes the buffer → dma_unmap, in
//             the domain's variant (assembly/dma/loop.ts loopPairs, LOOP_TOUCH|LOOP_PARKABLE,
//             optionally LOOP_POST to its device's ring). It runs in chunks, so between two
//             chunks it can see the run's stop word.
//   switcher  the sysfs writer: over and over, park the mappers, make the domain strict
//             again (a TEST HOOK — the kernel only goes DMA → DMA-FQ on a live domain,
//             §1.8 O6), resume them, and switch DMA → DMA-FQ while their unmaps are in
//             flight (loopSwitch, one round per call), advancing simulated time by a jiffy
//             per round so the flush queue's 10 ms timer fires on its CPU.
//   device    the DMA engines of the mappers' devices, as the threat model's attacker: it
//             takes the IOVAs the mappers post, does the DMA after the driver may already
//             have unmapped them, and keeps retrying old ones.
//
// Deadlock freedom. The switcher's pause (dmaPause) waits until the loops that are parked
// equal the loops that are running (entered and not left). A mapper counts as running only
// while inside one dma_loop_pairs call, and parks between any two pairs of it; between
// chunks it is in JavaScript and not counted. So the pause always completes: every counted
// loop reaches its next pair boundary. The switcher never waits for anything while the
// pause is held (pause, rebuild, resume are one Wasm call), and the device role takes no
// part in the pause: it only translates.
//
// Stopping. The roles share a few words (a SharedArrayBuffer of DMA_CONTROL_BYTES that the
// orchestrator hands every role, not the pool's TaskContext.shared, which it cannot read):
// a stop word, the mappers that have finished, and the workers that have left their loop
// for good. Each role looks at the stop word between two chunks, rounds or passes — points
// where it holds no lock of the simulated kernel. A role that fails with an exception
// raises the stop word and waits, for a bounded time, until its peers have reached such a
// point and said so, and only then lets the exception go: the pool then stops workers that
// are idle, and the orchestrator may tear the domain down. (A Wasm trap inside the core is
// such an exception, but may leave a lock the failing thread itself held.) A worker that
// dies without a word (process exit, out of memory) cannot do that; its peers are stopped
// by the pool wherever they are, and the orchestrator knows it from the quiet count (see
// src/scenarios/dma-stress.ts). Each worker gives back its simulated CPU when it ends, so
// the orchestrator (or the next run) may use it.

import type { TaskContext } from "../pool.js";
import type { Core } from "../../bindings/core.js";
import { DmaEngine } from "../device/engine.js";
import { cpuError } from "../dma.js";

/** Int32 words of a run's control buffer (DMA_CONTROL_BYTES, shared by every role). */
export const SH_STOP = 0; //         non-zero: every role stops at its next check (STOP_*)
export const SH_MAPPERS_DONE = 1; // mappers that have finished (or failed)
export const SH_QUIET = 2; //        workers that have left their loop (finished or stopped): idle for good
export const DMA_CONTROL_BYTES = 16;
/** Why SH_STOP was raised. */
export const STOP_VIOLATION = 1;
export const STOP_FAILURE = 2;

/** How long a failing role waits for its peers to reach a safe point (ms). */
const QUIESCE_MS = 10_000;

/**
 * TEST ONLY — how a role fails on purpose: `throw` (an exception, the peers are stopped
 * cleanly first), `exit` (the same, then the worker thread exits), `crash` (the thread
 * exits at once, like a worker killed from outside: its peers are stopped wherever they are).
 */
export type InjectedFailure = "throw" | "exit" | "crash";

interface CommonArgs {
  /** The run's control words (DMA_CONTROL_BYTES): stop, mappers done, quiet. */
  control: SharedArrayBuffer;
  /** Workers in the run (for the quiet count). */
  workers: number;
}

export interface DmaMapperArgs extends CommonArgs {
  role: "mapper";
  /** DMA domain and device ids (the device is this mapper's own, with its own stream). */
  domain: number;
  device: number;
  /** The simulated CPU this mapper runs (no other thread may). */
  cpu: number;
  /** dma_map + dma_unmap pairs to do (fewer if the run is stopped). */
  pairs: number;
  /** Pairs per dma_loop_pairs call (the stop word is checked between calls). */
  chunk: number;
  /** Buffer size in bytes; each buffer starts at a random page of [physBase, + physPages pages). */
  size: number;
  physBase: number;
  physPages: number;
  /** enum dma_data_direction: 0 bidirectional (the device's touch is a write). */
  dir: number;
  /** Device ring to post each IOVA to (its address), or 0 for none. */
  ring: number;
  seed: number;
  /** The SMMU whose oracle counts violations (for stopOnViolation). */
  smmu: number;
  stopOnViolation: boolean;
  /** TEST ONLY: fail after the first chunk. */
  failForTesting?: InjectedFailure;
}

export interface DmaSwitcherArgs extends CommonArgs {
  role: "switcher";
  domain: number;
  cpu: number;
  /** Rounds at most; the switcher also stops when every mapper has finished. */
  rounds: number;
  /** Spins before and after each switch (how long the domain stays strict, then lazy). */
  gap: number;
  mappers: number;
  smmu: number;
  stopOnViolation: boolean;
  failForTesting?: InjectedFailure;
}

export interface DmaDeviceArgs extends CommonArgs {
  role: "device";
  smmu: number;
  /** One engine per mapper device: its ring and stream. */
  engines: { ring: number; streamId: number }[];
  /** Old IOVAs the attacker retries after each descriptor. */
  retries: number;
  /** Descriptors taken per engine per pass. */
  budget: number;
  mappers: number;
  seed: number;
  failForTesting?: InjectedFailure;
}

export type DmaStressArgs = DmaMapperArgs | DmaSwitcherArgs | DmaDeviceArgs;

export interface DmaMapperResult {
  role: "mapper";
  worker: number;
  cpu: number;
  pairs: number;
  mapFailures: number;
  /** Device writes right after each map, and those that faulted or that the oracle flagged. */
  touches: number;
  touchFaults: number;
  touchViolations: number;
  unmapErrors: number;
  /** IOVAs not posted because the device ring was full. */
  postDrops: number;
  ms: number;
}

export interface DmaSwitcherResult {
  role: "switcher";
  worker: number;
  cpu: number;
  rounds: number;
  /** DMA → DMA-FQ switches done (one per round unless the queue could not be built). */
  switches: number;
  ms: number;
}

export interface DmaDeviceResult {
  role: "device";
  worker: number;
  /** Descriptors the engines took, and passes over them that found nothing to do. */
  descriptors: number;
  idlePasses: number;
  ms: number;
}

export type DmaStressResult = DmaMapperResult | DmaSwitcherResult | DmaDeviceResult;

/** Raise the stop word (the first reason wins). */
function raiseStop(w: Int32Array, why: number): void {
  Atomics.compareExchange(w, SH_STOP, 0, why);
}

/** At a safe point: whether the run is stopping. */
function stopping(w: Int32Array): boolean {
  return Atomics.load(w, SH_STOP) !== 0;
}

/** This worker has left its loop for good (it holds no lock and touches nothing more). */
function quiet(w: Int32Array): void {
  Atomics.add(w, SH_QUIET, 1);
  Atomics.notify(w, SH_QUIET);
}

/**
 * This worker failed: stop the peers, wait (bounded) until they are all at a safe point,
 * then let the failure go on. A second failing worker waits out the bound, no longer.
 */
function failCleanly(w: Int32Array, workers: number, e: unknown): never {
  raiseStop(w, STOP_FAILURE);
  const deadline = performance.now() + QUIESCE_MS;
  for (let q = Atomics.load(w, SH_QUIET); q < workers - 1 && performance.now() < deadline; q = Atomics.load(w, SH_QUIET)) {
    Atomics.wait(w, SH_QUIET, q, 10);
  }
  throw e;
}

function injected(how: InjectedFailure, role: string, w: Int32Array, workers: number): never {
  const err = new Error(`${role}: failure injected for testing (${how})`);
  const exit = () => {
    if (typeof process !== "undefined" && process.versions?.node) process.exit(7);
    (globalThis as unknown as { close(): void }).close();
  };
  if (how === "crash") exit();
  if (how === "exit") {
    try { failCleanly(w, workers, err); } catch { exit(); }
  }
  throw err;
}

// loopPairs' results in the thread slot's TS_STATS (assembly/dma/loop.ts LS_*), u64 each.
const LS_PAIRS = 0;
const LS_MAP_FAILS = 1;
const LS_TOUCHES = 2;
const LS_TOUCH_FAULTS = 3;
const LS_TOUCH_VIOLATIONS = 4;
const LS_UNMAP_ERRORS = 5;
const LS_POST_DROPS = 6;
const LS_SWITCHES = 7;

function loopStat(core: Core, which: number): number {
  const L = core.layout;
  return core.readU64Number(L.THREAD_SLOTS_BASE + core.slot * L.THREAD_SLOT_SIZE + L.TS_STATS + 8 * which);
}

/** Violations the SMMU's oracle has counted so far (every class but ok, lazy-window, full). */
export function oracleViolationCount(core: Core, smmuId: number): number {
  const L = core.layout;
  const o = core.readU32(L.SMMUS_BASE + smmuId * L.SMMU_DESC_SIZE + L.S_ORACLE);
  if (o === 0) return 0;
  let n = 0;
  for (const k of [L.AC_AFTER_STRICT, L.AC_AFTER_FLUSH, L.AC_USE_AFTER_FREE, L.AC_UNKNOWN, L.AC_FREED_TABLE]) {
    n += core.readU64Number(o + L.O_COUNTERS + 8 * k);
  }
  return n;
}

function mapper(ctx: TaskContext, a: DmaMapperArgs): DmaMapperResult {
  const { core } = ctx;
  const L = core.layout;
  const w = new Int32Array(a.control);
  const r: DmaMapperResult = { role: "mapper", worker: ctx.worker, cpu: a.cpu, pairs: 0, mapFailures: 0, touches: 0,
    touchFaults: 0, touchViolations: 0, unmapErrors: 0, postDrops: 0, ms: 0 };
  const flags = L.LOOP_TOUCH | L.LOOP_PARKABLE | (a.ring ? L.LOOP_POST : 0);
  const t0 = performance.now();
  try {
    for (let chunk = 0; r.pairs < a.pairs && !stopping(w); chunk++) {
      const n = Math.min(a.chunk, a.pairs - r.pairs);
      // A fresh seed per chunk: the loop restarts its generator at every call.
      const seed = ((a.seed * 0x9e3779b1) ^ Math.imul(chunk + 1, 0x85ebca6b) ^ (a.cpu << 24)) >>> 0 || 1;
      const rc = core.raw.dma_loop_pairs(a.device, a.cpu, n, a.size, a.physBase, a.physPages, a.dir, flags, a.ring, seed);
      if (rc !== 0) throw cpuError(core, rc, a.cpu, `dma.stress mapper (worker ${ctx.worker})`);
      r.pairs += loopStat(core, LS_PAIRS);
      r.mapFailures += loopStat(core, LS_MAP_FAILS);
      r.touches += loopStat(core, LS_TOUCHES);
      r.touchFaults += loopStat(core, LS_TOUCH_FAULTS);
      r.touchViolations += loopStat(core, LS_TOUCH_VIOLATIONS);
      r.unmapErrors += loopStat(core, LS_UNMAP_ERRORS);
      r.postDrops += loopStat(core, LS_POST_DROPS);
      if (a.failForTesting) injected(a.failForTesting, "mapper", w, a.workers);
      if (a.stopOnViolation && (r.touchViolations > 0 || oracleViolationCount(core, a.smmu) > 0)) raiseStop(w, STOP_VIOLATION);
    }
  } catch (e) {
    done(core, a, w);
    failCleanly(w, a.workers, e);
  }
  done(core, a, w);
  quiet(w);
  r.ms = performance.now() - t0;
  return r;
}

/** A mapper is done: its CPU goes back, and the switcher and device may stop waiting for it. */
function done(core: Core, a: DmaMapperArgs, w: Int32Array): void {
  core.raw.dma_release_cpu(a.domain, a.cpu);
  Atomics.add(w, SH_MAPPERS_DONE, 1);
}

function switcher(ctx: TaskContext, a: DmaSwitcherArgs): DmaSwitcherResult {
  const { core } = ctx;
  const w = new Int32Array(a.control);
  const r: DmaSwitcherResult = { role: "switcher", worker: ctx.worker, cpu: a.cpu, rounds: 0, switches: 0, ms: 0 };
  const t0 = performance.now();
  try {
    // One round per call: between rounds the stop word and the mappers' progress are
    // JavaScript's to read (the core's own stop word would have to live in Wasm memory).
    while (r.rounds < a.rounds && !stopping(w) && Atomics.load(w, SH_MAPPERS_DONE) < a.mappers) {
      const rc = core.raw.dma_loop_switch(a.domain, a.cpu, 1, a.gap, 0);
      if (rc !== 0) throw cpuError(core, rc, a.cpu, `dma.stress switcher (worker ${ctx.worker})`);
      r.rounds++;
      r.switches += loopStat(core, LS_SWITCHES);
      if (a.failForTesting && r.rounds === 2) injected(a.failForTesting, "switcher", w, a.workers);
      if (a.stopOnViolation && (r.rounds & 7) === 0 && oracleViolationCount(core, a.smmu) > 0) raiseStop(w, STOP_VIOLATION);
    }
  } catch (e) {
    core.raw.dma_release_cpu(a.domain, a.cpu);
    failCleanly(w, a.workers, e);
  }
  core.raw.dma_release_cpu(a.domain, a.cpu);
  quiet(w);
  r.ms = performance.now() - t0;
  return r;
}

function device(ctx: TaskContext, a: DmaDeviceArgs): DmaDeviceResult {
  const { core } = ctx;
  const w = new Int32Array(a.control);
  const r: DmaDeviceResult = { role: "device", worker: ctx.worker, descriptors: 0, idlePasses: 0, ms: 0 };
  const engines = a.engines.map((e) => DmaEngine.attach(core, { ring: e.ring, smmuId: a.smmu, streamId: e.streamId,
                                                                  retries: a.retries }));
  // A short sleep when every ring is empty: on a machine with fewer cores than workers a
  // spinning device would only take time from the mappers it waits for.
  const idle = new Int32Array(new SharedArrayBuffer(4));
  const t0 = performance.now();
  let seed = a.seed >>> 0 || 1;
  try {
    for (let pass = 0; ; pass++) {
      if (stopping(w)) break;
      // Read before the pass: after the last mapper is done, one more pass drains its ring.
      const last = Atomics.load(w, SH_MAPPERS_DONE) >= a.mappers;
      let took = 0;
      for (const e of engines) {
        took += e.run({ budget: a.budget, seed });
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0 || 1;
      }
      r.descriptors += took;
      if (a.failForTesting && pass === 10) injected(a.failForTesting, "device", w, a.workers);
      if (last) break;
      if (took === 0) {
        r.idlePasses++;
        Atomics.wait(idle, 0, 0, 0.05);
      }
    }
  } catch (e) {
    failCleanly(w, a.workers, e);
  }
  quiet(w);
  r.ms = performance.now() - t0;
  return r;
}

export interface DmaPairsArgs {
  domain: number;
  device: number;
  /** One simulated CPU per worker: cpus[worker]. */
  cpus: number[];
  count: number;
  size: number;
  physBase: number;
  physPages: number;
  /** LOOP_* flags (LOOP_TOUCH: the device writes each buffer once, through the SMMU). */
  flags: number;
  seed: number;
}

export interface DmaPairsResult {
  pairs: number;
  mapFailures: number;
  ms: number;
  /** Modelled CPU time this worker was charged (commands written, syncs waited for, locks). */
  cpuNs: number;
}

export const dmaTasks = {
  /**
   * Benchmark: `count` dma_map + dma_unmap pairs inside Wasm on this worker's CPU, timed;
   * the worker's modelled CPU time is reset before and read after.
   */
  "dma.pairs": (ctx: TaskContext, a: DmaPairsArgs): DmaPairsResult => {
    const { core } = ctx;
    const cpu = a.cpus[ctx.worker]!;
    core.raw.cpu_modelled_ns(true);
    const t0 = performance.now();
    const rc = core.raw.dma_loop_pairs(a.device, cpu, a.count, a.size, a.physBase, a.physPages, 0, a.flags, 0,
                                       (a.seed + ctx.worker * 7919) >>> 0 || 1);
    const ms = performance.now() - t0;
    const cpuNs = core.raw.cpu_modelled_ns(false);
    core.raw.dma_release_cpu(a.domain, cpu);
    if (rc !== 0) throw cpuError(core, rc, cpu, `dma.pairs (worker ${ctx.worker})`);
    return { pairs: loopStat(core, LS_PAIRS), mapFailures: loopStat(core, LS_MAP_FAILS), ms, cpuNs };
  },

  /** One role of a DMA stress run (src/scenarios/dma-stress.ts): mapper, switcher or device. */
  "dma.stress": (ctx: TaskContext, a: DmaStressArgs): DmaStressResult => {
    switch (a?.role) {
      case "mapper": return mapper(ctx, a);
      case "switcher": return switcher(ctx, a);
      case "device": return device(ctx, a);
      default:
        throw new Error(`dma.stress: role must be 'mapper', 'switcher' or 'device', got ${JSON.stringify((a as { role?: unknown })?.role)}`);
    }
  },
};
