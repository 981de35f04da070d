// IOVA work for the pool: a checked churn of allocFast/freeFast across simulated CPUs and
// across workers (for the concurrency tests), and the core's batched loops (throughput).
//
// The churn checks as it goes. Every page a worker is handed is claimed in a page-owner
// map shared by all workers (one byte per PFN, compare-and-swap 0 → 1); a page already
// claimed means the allocator handed out a range that is live elsewhere. Frees release the
// pages first. Ranges move between the worker's two CPUs (allocated on one, freed on the
// other) and between workers (through a single-producer ring in shared memory, freed by the
// receiver on its own CPU), so per-CPU caches, the depot and the tree all see cross traffic.
//
// The arguments are checked before the run (src/tasks/args.ts): a live domain, CPUs it has,
// each run by one worker, buffers as large as the run needs.

import type { TaskContext } from "../pool.js";
import { FAST_SIZES_CODES, IovaDomain, type FastLoopSizes } from "../iova.js";
import { checkAddress, checkInt, checkOneOf, MAX_ADDRESS, type OptionKeys } from "../validate.js";
import { rng } from "./pgtable.js";
import {
  argsCheck, checkCpu, checkList, checkLive, checkSharedBuffer, checkU32, optional, perWorker, taskFields, type ArgsScope,
  type BuiltinTask, type CpuClaim, type WorkerUse,
} from "./args.js";

export interface IovaChurnArgs {
  domain: number;
  /** The simulated CPUs this worker runs (no other worker's). */
  cpus: number[];
  ops: number;
  seed: number;
  limitPfn: number;
  /** Page-owner map: byte p − ownerBase is 1 while PFN p is handed out. */
  owners: SharedArrayBuffer;
  ownerBase: number;
  /** Largest range, in pages (sizes 1..maxPages, rounded to powers of two for 5.15). */
  maxPages: number;
  /** Keep about this many ranges live. */
  liveTarget: number;
  /** Handoff rings, one per worker (see handoffRing). */
  rings: SharedArrayBuffer;
  ringSlots: number;
  /** Optional: Int32 [2·worker] = operations done, [2·worker + 1] = phase (1 churn, 2 wind-down, 3 done). */
  progress?: SharedArrayBuffer;
}

export interface IovaChurnResult {
  ops: number;
  allocs: number;
  failures: number;
  /** Pages found already claimed when handed out (a range live twice). */
  doubleHandouts: number;
  /** Pages found unclaimed when freed (a range lost track of). */
  lostPages: number;
  /** Ranges handed out beyond limitPfn or below ownerBase (not claimed). */
  outOfLimit: number;
  crossCpuFrees: number;
  sentToPeer: number;
  freedFromPeer: number;
  ms: number;
}

/**
 * Ring layout (per receiving worker): Int32 [0] head, [1] tail, [2] producer done; then
 * Float64 pairs (pfn, pages) from byte 16. One producer (the peer), one consumer.
 */
export function handoffRingBytes(slots: number): number {
  return 16 + slots * 16;
}

class Ring {
  private readonly ctl: Int32Array;
  private readonly data: Float64Array;
  constructor(buf: SharedArrayBuffer, index: number, private readonly slots: number) {
    const base = index * handoffRingBytes(slots);
    this.ctl = new Int32Array(buf, base, 4);
    this.data = new Float64Array(buf, base + 16, slots * 2);
  }
  push(pfn: number, pages: number): boolean {
    const tail = Atomics.load(this.ctl, 1);
    if (tail - Atomics.load(this.ctl, 0) >= this.slots) return false;
    const i = (tail % this.slots) * 2;
    this.data[i] = pfn;
    this.data[i + 1] = pages;
    Atomics.store(this.ctl, 1, tail + 1);
    return true;
  }
  pop(): [number, number] | undefined {
    const head = Atomics.load(this.ctl, 0);
    if (head === Atomics.load(this.ctl, 1)) return undefined;
    const i = (head % this.slots) * 2;
    const r: [number, number] = [this.data[i]!, this.data[i + 1]!];
    Atomics.store(this.ctl, 0, head + 1);
    return r;
  }
  markDone(): void { Atomics.store(this.ctl, 2, 1); }
  done(): boolean { return Atomics.load(this.ctl, 2) === 1; }
}

function roundPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export function iovaChurn(ctx: TaskContext, a: IovaChurnArgs): IovaChurnResult {
  const dom = IovaDomain.attach(ctx.core, a.domain);
  const owners = new Uint8Array(a.owners);
  const inbox = new Ring(a.rings, ctx.worker, a.ringSlots);
  const outbox = ctx.workers > 1 ? new Ring(a.rings, (ctx.worker + 1) % ctx.workers, a.ringSlots) : undefined;
  const next = rng(a.seed * 7919 + ctx.worker);
  const livePfn: number[] = [];
  const livePages: number[] = [];
  const r: IovaChurnResult = { ops: 0, allocs: 0, failures: 0, doubleHandouts: 0, lostPages: 0, outOfLimit: 0,
    crossCpuFrees: 0, sentToPeer: 0, freedFromPeer: 0, ms: 0 };
  const claim = (pfn: number, pages: number) => {
    for (let p = pfn; p < pfn + pages; p++) {
      if (Atomics.compareExchange(owners, p - a.ownerBase, 0, 1) !== 0) r.doubleHandouts++;
    }
  };
  const unclaim = (pfn: number, pages: number) => {
    for (let p = pfn; p < pfn + pages; p++) {
      if (Atomics.compareExchange(owners, p - a.ownerBase, 1, 0) !== 1) r.lostPages++;
    }
  };
  const pickCpu = () => a.cpus[Math.floor(next() * a.cpus.length)]!;
  const release = (pfn: number, pages: number, cpu: number) => {
    unclaim(pfn, pages);
    dom.freeFast(cpu, pfn, pages);
  };
  const freeFromPeer = () => {
    const got = inbox.pop();
    if (!got) return false;
    release(got[0], got[1], pickCpu());
    r.freedFromPeer++;
    return true;
  };

  const progress = a.progress ? new Int32Array(a.progress) : undefined;
  const mark = (phase: number) => { if (progress) Atomics.store(progress, 2 * ctx.worker + 1, phase); };
  mark(1);
  const t0 = performance.now();
  for (let i = 0; i < a.ops; i++) {
    r.ops++;
    if (progress && (i & 1023) === 0) Atomics.store(progress, 2 * ctx.worker, i);
    const x = next();
    if (x < 0.1 && freeFromPeer()) continue;
    const wantAlloc = livePfn.length < a.liveTarget ? x < 0.75 : x < 0.35;
    if (wantAlloc || livePfn.length === 0) {
      let pages = 1 + Math.floor(next() * next() * a.maxPages); // mostly small
      // Below 32 pages, round as 5.15's caller does (7.1 would round inside anyway).
      if (pages < 32) pages = roundPow2(pages);
      const cpu = pickCpu();
      const pfn = dom.allocFast(cpu, pages, a.limitPfn, true);
      if (pfn === 0) { r.failures++; continue; }
      r.allocs++;
      if (pfn < a.ownerBase || pfn + pages - 1 > a.limitPfn) { r.outOfLimit++; continue; }
      claim(pfn, pages);
      livePfn.push(pfn);
      livePages.push(pages);
      continue;
    }
    // Free a random live range: on another of our CPUs, or hand it to the peer worker.
    const k = Math.floor(next() * livePfn.length);
    const pfn = livePfn[k]!;
    const pages = livePages[k]!;
    livePfn[k] = livePfn[livePfn.length - 1]!;
    livePages[k] = livePages[livePages.length - 1]!;
    livePfn.pop();
    livePages.pop();
    if (outbox && next() < 0.3 && outbox.push(pfn, pages)) { r.sentToPeer++; continue; }
    const cpu = pickCpu();
    r.crossCpuFrees++;
    release(pfn, pages, cpu);
  }
  // Wind down: stop sending, wait for the peer to stop too, then free everything.
  mark(2);
  outbox?.markDone();
  if (outbox) {
    const waitWord = new Int32Array(new SharedArrayBuffer(4));
    while (!inbox.done()) {
      freeFromPeer();
      Atomics.wait(waitWord, 0, 0, 1);
    }
  }
  while (freeFromPeer()) { /* drain */ }
  for (let k = 0; k < livePfn.length; k++) release(livePfn[k]!, livePages[k]!, pickCpu());
  r.ms = performance.now() - t0;
  for (const cpu of a.cpus) dom.releaseCpu(cpu);
  mark(3);
  return r;
}

/** loopCross's arguments: on this worker's two CPUs, `rounds` × (allocate `batch` ranges on cpus[0], free them on cpus[1]). */
export interface IovaCrossArgs {
  domain: number;
  /** This worker's two CPUs: it allocates on the first and frees on the second (no other worker's). */
  cpus: number[];
  rounds: number;
  /** 1..65536. */
  batch: number;
  /** Default "one". */
  sizes?: FastLoopSizes;
  /** Default: below the domain's 32-bit boundary. */
  limitPfn?: number;
}

/** loopFastPairs' arguments: `count` allocFast + freeFast pairs on this worker's CPU, cpus[worker]. */
export interface IovaFastPairsArgs {
  domain: number;
  /** One simulated CPU per worker, each a different one: cpus[worker]. */
  cpus: number[];
  count: number;
  sizes: FastLoopSizes;
  limitPfn?: number;
  /** Pairs first run untimed. */
  warmup?: number;
}

const CHURN_KEYS = {
  domain: true, cpus: true, ops: true, seed: true, limitPfn: true, owners: true, ownerBase: true, maxPages: true,
  liveTarget: true, rings: true, ringSlots: true, progress: true,
} as const satisfies OptionKeys<IovaChurnArgs>;
const CROSS_KEYS = {
  domain: true, cpus: true, rounds: true, batch: true, sizes: true, limitPfn: true,
} as const satisfies OptionKeys<IovaCrossArgs>;
const FAST_PAIRS_KEYS = {
  domain: true, cpus: true, count: true, sizes: true, limitPfn: true, warmup: true,
} as const satisfies OptionKeys<IovaFastPairsArgs>;
const SIZES = Object.keys(FAST_SIZES_CODES) as FastLoopSizes[];

/** The live IOVA domain field `domain` names. */
function liveDomain(v: unknown, s: ArgsScope): IovaDomain {
  return IovaDomain.attach(s.core, checkLive("iovaDomain", "domain", v, s));
}

/** A simulated CPU of `dom`, and the worker's claim on it (one thread runs a CPU of a domain at a time). */
function cpuClaim(dom: IovaDomain, name: string, v: unknown, s: ArgsScope): CpuClaim {
  const cpu = checkCpu(name, v, dom.cpus, `IOVA domain ${dom.id}`, s);
  return { key: `${dom.id}:${cpu}`, name, value: cpu };
}

/** A limit PFN no lower than the domain's first (below it nothing could ever fit) and `floor`. */
function checkLimitPfn(v: unknown, dom: IovaDomain, s: ArgsScope, floor = 0): number {
  return checkInt("limitPfn", v, Math.max(dom.startPfn, floor), MAX_ADDRESS, s.context);
}

function checkChurnArgs(a: unknown, s: ArgsScope): WorkerUse {
  const f = taskFields<IovaChurnArgs>(a, CHURN_KEYS, s);
  const dom = liveDomain(f.domain, s);
  const cpus = checkList("cpus", f.cpus, s, "a non-empty list of the simulated CPUs this worker runs", 1, Infinity,
    (name, v) => cpuClaim(dom, name, v, s));
  checkU32("ops", f.ops, s);
  checkU32("seed", f.seed, s);
  const ownerBase = checkAddress("ownerBase", f.ownerBase, s.context);
  const limitPfn = checkLimitPfn(f.limitPfn, dom, s, ownerBase);
  checkSharedBuffer("owners", f.owners, limitPfn - ownerBase + 1, "a byte per PFN from ownerBase to limitPfn", s);
  checkU32("maxPages", f.maxPages, s, 1);
  checkU32("liveTarget", f.liveTarget, s);
  const slots = checkU32("ringSlots", f.ringSlots, s, 1);
  checkSharedBuffer("rings", f.rings, s.workers * handoffRingBytes(slots), `a ${slots}-slot handoff ring per worker`, s);
  optional(f.progress, (v) => checkSharedBuffer("progress", v, 8 * s.workers, "two Int32 words per worker", s));
  return { cpus, shared: { owners: f.owners, rings: f.rings, progress: f.progress } };
}

function checkCrossArgs(a: unknown, s: ArgsScope): WorkerUse {
  const f = taskFields<IovaCrossArgs>(a, CROSS_KEYS, s);
  const dom = liveDomain(f.domain, s);
  const cpus = checkList("cpus", f.cpus, s, "this worker's two simulated CPUs (it allocates on the first, frees on the second)",
    2, 2, (name, v) => cpuClaim(dom, name, v, s));
  checkU32("rounds", f.rounds, s);
  checkInt("batch", f.batch, 1, 65536, s.context);
  optional(f.sizes, (v) => checkOneOf("sizes", v, SIZES, s.context));
  optional(f.limitPfn, (v) => checkLimitPfn(v, dom, s));
  return { cpus };
}

function checkFastPairsArgs(a: unknown, s: ArgsScope): WorkerUse {
  const f = taskFields<IovaFastPairsArgs>(a, FAST_PAIRS_KEYS, s);
  const dom = liveDomain(f.domain, s);
  const mine = perWorker("cpus", f.cpus, s, "simulated CPU", (name, v) => cpuClaim(dom, name, v, s));
  checkU32("count", f.count, s);
  checkOneOf("sizes", f.sizes, SIZES, s.context);
  optional(f.limitPfn, (v) => checkLimitPfn(v, dom, s));
  optional(f.warmup, (v) => checkU32("warmup", v, s));
  return { cpus: [mine.value] };
}

export const iovaTasks = {
  "iova.churn": { run: iovaChurn, checkArgs: argsCheck(checkChurnArgs) },

  /** loopCross on this worker's two CPUs (allocate on the first, free on the second). */
  "iova.cross": {
    run: (ctx: TaskContext, a: IovaCrossArgs) => {
      const dom = IovaDomain.attach(ctx.core, a.domain);
      const [cpuA, cpuB] = [a.cpus[0]!, a.cpus[1]!];
      const t0 = performance.now();
      const failures = dom.loopCross(cpuA, cpuB, a.rounds, a.batch, a.sizes ?? "one", a.limitPfn);
      const ms = performance.now() - t0;
      dom.releaseCpu(cpuA);
      dom.releaseCpu(cpuB);
      return { failures, ms, ops: 2 * a.rounds * a.batch };
    },
    checkArgs: argsCheck(checkCrossArgs),
  },

  /** allocFast + freeFast pairs inside Wasm on one CPU per worker (cpus[worker]). */
  "iova.fastPairs": {
    run: (ctx: TaskContext, a: IovaFastPairsArgs) => {
      const dom = IovaDomain.attach(ctx.core, a.domain);
      const cpu = a.cpus[ctx.worker]!;
      if (a.warmup) dom.loopFastPairs(cpu, a.warmup, a.sizes, a.limitPfn);
      const t0 = performance.now();
      const failures = dom.loopFastPairs(cpu, a.count, a.sizes, a.limitPfn);
      const ms = performance.now() - t0;
      dom.releaseCpu(cpu);
      return { failures, ms };
    },
    checkArgs: argsCheck(checkFastPairsArgs),
  },
} satisfies Record<string, BuiltinTask>;
