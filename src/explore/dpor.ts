// Partial-order reduction for the schedule explorer: which steps commute (their footprints),
// and the enumeration of schedules with source-set dynamic partial-order reduction and sleep
// sets. Follows Abdulla, Aronis, Jonsson and Sagonas, "Optimal dynamic partial order
// reduction" (POPL 2014) and "Source sets: a foundation for optimal dynamic partial order
// reduction" (JACM 2017), their Algorithm 1 (source-DPOR), with the sleep sets of Godefroid
// and of Flanagan and Godefroid, "Dynamic partial-order reduction for model checking
// software" (POPL 2005). Written from those published definitions.
//
// The unit of scheduling is a step, not a thread: under the relaxed model several steps of
// one thread may be enabled at once, so each step is its own "process" with one transition,
// enabled once its preserved-program-order (ppo) predecessors have run. Happens-before over an
// executed sequence is then (ppo ∪ dependence between steps)⁺: ppo plays the part program
// order plays in the papers, so every linearisation of happens-before is a schedule the model
// allows, and two schedules with the same happens-before reach the same state. Two steps of
// one thread that ppo leaves unordered and whose footprints conflict race like steps of two
// threads, and both of their orders are explored.
//
// Footprints are static (declared, or read off a load's or store's variable) and enabledness
// depends only on which steps ran (guards decide whether a step takes effect, never whether
// it may run), so the search needs no values: it walks the step poset alone, and the caller
// runs each schedule it yields.

import type { Step } from "./model.js";
import type { Compiled } from "./ppo.js";

/** How schedules are enumerated: DPOR with sleep sets, sleep sets alone, or every interleaving. */
export type Reduction = "dpor" | "sleep" | "none";
export const REDUCTIONS: readonly Reduction[] = ["dpor", "sleep", "none"];

/** What a reduction saved: counted over the whole exploration. */
export interface ReductionStats {
  reduction: Reduction;
  /** Partial schedules abandoned because every step enabled there was asleep (its schedules
   *  were equivalent to ones already run). */
  sleepBlocked: number;
  /** Choices of a next step never taken: asleep, or (DPOR) not needed to reach every
   *  inequivalent schedule. Each stands for at least one schedule not run. */
  prunedBranches: number;
}

/** The shared state a step reads and writes, as the reduction sees it. */
export interface Access {
  reads: Set<string>;
  writes: Set<string>;
  /** A `run` with no declared footprint: it may touch anything. */
  everything: boolean;
}

/**
 * What each step touches: a load reads its variable, a store writes it; a declared footprint
 * adds its locations; a `run` without one touches everything. A guarded load whose guard is
 * not known when it runs has its `run` called later, by whichever of the steps that decide the
 * guard completes it, so those steps carry the load's footprint too.
 */
export function accesses(c: Compiled): Access[][] {
  const out = c.threads.map((th) => th.steps.map((s) => {
    const a: Access = { reads: new Set(), writes: new Set(), everything: false };
    if (s.kind === "load") a.reads.add(s.var);
    if (s.kind === "store") a.writes.add(s.var);
    addEffects(a, s);
    return a;
  }));
  c.threads.forEach((th, t) => th.steps.forEach((s, j) => {
    if (s.kind !== "load" || !s.guard || !s.run) return;
    for (const k of th.inputs[j]!) addEffects(out[t]![k]!, s);
  }));
  return out;
}

function addEffects(a: Access, s: Step): void {
  if (s.footprint) {
    for (const r of s.footprint.reads) a.reads.add(r);
    for (const w of s.footprint.writes) a.writes.add(w);
  } else if (s.run || s.blocked) a.everything = true;
}

function conflict(a: Access, b: Access): boolean {
  if (a.everything || b.everything) return true;
  for (const w of a.writes) if (b.writes.has(w) || b.reads.has(w)) return true;
  for (const w of b.writes) if (a.reads.has(w)) return true;
  return false;
}

/**
 * The program's steps numbered 0..n-1 (thread by thread), with the two relations the search
 * needs as n×n tables: dependence (footprints conflict) and ppo (its transitive closure).
 */
export class StepTable {
  readonly n: number;
  readonly base: number[] = [];
  readonly thread: number[] = [];
  readonly index: number[] = [];
  private readonly dep: Uint8Array;
  private readonly ppo: Uint8Array;

  constructor(readonly c: Compiled) {
    let n = 0;
    c.threads.forEach((th, t) => {
      this.base.push(n);
      th.steps.forEach((_, j) => { this.thread.push(t); this.index.push(j); });
      n += th.steps.length;
    });
    this.n = n;
    this.dep = new Uint8Array(n * n);
    this.ppo = new Uint8Array(n * n);
    const acc = accesses(c).flat();
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) if (a !== b && conflict(acc[a]!, acc[b]!)) this.dep[a * n + b] = 1;
    c.threads.forEach((th, t) => th.preds.forEach((es, j) => {
      const to = this.base[t]! + j;
      for (const e of es) {
        const from = this.base[t]! + e.from;
        this.ppo[from * n + to] = 1;
        // preds point backwards, so each predecessor's own closure is complete already.
        for (let x = 0; x < n; x++) if (this.ppo[x * n + from]) this.ppo[x * n + to] = 1;
      }
    }));
  }

  id(t: number, j: number): number { return this.base[t]! + j; }
  /** Swapping a and b, adjacent, could change what happens. */
  dependent(a: number, b: number): boolean { return this.dep[a * this.n + b] === 1; }
  /** ppo keeps a before b (same thread). */
  ordered(a: number, b: number): boolean { return this.ppo[a * this.n + b] === 1; }
}

/** A set of schedule positions. */
class Bits {
  readonly w: Uint32Array;
  constructor(words: number) { this.w = new Uint32Array(words); }
  has(i: number): boolean { return (this.w[i >>> 5]! & (1 << (i & 31))) !== 0; }
  add(i: number): void { this.w[i >>> 5]! |= 1 << (i & 31); }
  or(o: Bits): void { for (let k = 0; k < this.w.length; k++) this.w[k]! |= o.w[k]!; }
  intersects(o: Bits): boolean {
    for (let k = 0; k < this.w.length; k++) if ((this.w[k]! & o.w[k]!) !== 0) return true;
    return false;
  }
}

/** A point of the search: the state after `depth` steps. */
interface Node {
  /** Steps that may run next (ids, threads in order, each thread's steps in order). */
  enabled: number[];
  /** Steps not to take here: their schedules are covered by ones explored before. */
  sleep: Set<number>;
  /** Steps to take from here (DPOR adds to it as races are found below); in order added. */
  backtrack: number[];
  /** Steps taken from here whose subtrees are done. */
  done: Set<number>;
}

/**
 * Depth-first over the choice of the next step; yields complete schedules (as step ids) one
 * at a time, holding only the current path. `none` takes every enabled step at every point;
 * `sleep` skips those asleep; `dpor` starts each point with one step and adds another only
 * when a race found further down needs it reversed.
 */
export class ScheduleSearch {
  readonly stats: ReductionStats;
  private readonly path: number[] = [];
  /** hb[i]: the positions before i that happen before the step at i. */
  private readonly hb: Bits[] = [];
  private readonly nodes: Node[] = [];
  private readonly words: number;
  private readonly done: boolean[];
  private readonly waiting: number[];
  private state: "fresh" | "at-leaf" | "ready" | "finished" = "fresh";
  private keep: number;
  /** A violating prefix: schedules that start with it are walked but not returned. */
  private skip: number[] | undefined;

  constructor(private readonly steps: StepTable, private readonly reduction: Reduction) {
    this.stats = { reduction, sleepBlocked: 0, prunedBranches: 0 };
    this.words = Math.max(1, Math.ceil(steps.n / 32));
    this.done = new Array<boolean>(steps.n).fill(false);
    this.waiting = [];
    steps.c.threads.forEach((th) => th.preds.forEach((p) => this.waiting.push(p.length)));
    this.keep = steps.n;
  }

  /** The next schedule (step ids in order), or undefined when every one has been returned. */
  next(): readonly number[] | undefined {
    if (!this.hasNext()) return undefined;
    this.state = "at-leaf";
    this.keep = this.steps.n;
    return this.path;
  }

  hasNext(): boolean {
    if (this.state === "fresh") {
      this.nodes.push(this.node(new Set()));
      this.state = this.search() ? "ready" : "finished";
    } else if (this.state === "at-leaf") {
      this.state = this.retreat() && this.search() ? "ready" : "finished";
    }
    return this.state === "ready";
  }

  /**
   * Skip the other schedules that start with the first `length` steps of the last one: a
   * violation there ended the run, and they would repeat it. Without DPOR their subtree is cut.
   * DPOR still walks it, returning none of its schedules: the races it finds there can call for
   * schedules elsewhere that a cut would lose (a violating step ends its run, in effect
   * disabling every other step, which plain DPOR does not model).
   */
  prune(length: number): void {
    if (this.reduction === "dpor") this.skip = this.path.slice(0, length);
    else this.keep = Math.min(this.keep, length);
  }

  /** Goes down from the current point to a complete schedule; false when the search is over. */
  private search(): boolean {
    for (;;) {
      const d = this.path.length;
      if (d === this.steps.n) {
        // Until the search leaves the violating prefix, every schedule it reaches starts with it.
        if (this.skip === undefined) return true;
        if (!this.retreat()) return false;
        continue;
      }
      const node = this.nodes[d]!;
      const p = this.pick(node, d);
      if (p !== undefined) { this.take(node, p); continue; }
      if (node.done.size === 0 && d < this.keep) this.stats.sleepBlocked++;
      if (!this.retreat()) return false;
    }
  }

  /** The next step to take at `node`, or undefined when the point is finished. */
  private pick(node: Node, depth: number): number | undefined {
    if (depth >= this.keep) return undefined;
    if (node.backtrack.length === 0) {
      if (this.reduction === "dpor") {
        const first = node.enabled.find((s) => !node.sleep.has(s));
        if (first !== undefined) node.backtrack.push(first);
      } else node.backtrack.push(...node.enabled);
    }
    return node.backtrack.find((s) => !node.done.has(s) && !node.sleep.has(s));
  }

  /** Leaves the current point for its parent, the step that led there now done; false at the root. */
  private retreat(): boolean {
    const leaving = this.nodes.pop()!;
    if (this.path.length < this.keep) {
      for (const s of leaving.enabled) if (!leaving.done.has(s)) this.stats.prunedBranches++;
    }
    if (this.path.length === 0) return false;
    const p = this.path.pop()!;
    this.hb.pop();
    this.undo(p);
    this.nodes[this.path.length]!.done.add(p);
    if (this.path.length < this.keep) this.keep = this.steps.n;
    if (this.skip && this.path.length < this.skip.length) this.skip = undefined;
    return true;
  }

  private take(node: Node, p: number): void {
    const hb = this.happensBefore(p);
    if (this.reduction === "dpor") this.reverseRaces(p, hb);
    const sleep = new Set<number>();
    if (this.reduction !== "none") {
      for (const q of node.sleep) if (!this.steps.dependent(q, p)) sleep.add(q);
      for (const q of node.done) if (!this.steps.dependent(q, p)) sleep.add(q);
    }
    this.path.push(p);
    this.hb.push(hb);
    this.apply(p);
    this.nodes.push(this.node(sleep));
  }

  /** The positions of the current path that happen before step p if it runs next. */
  private happensBefore(p: number): Bits {
    const out = new Bits(this.words);
    for (let i = 0; i < this.path.length; i++) {
      const e = this.path[i]!;
      if (out.has(i)) continue;
      if (this.steps.dependent(e, p) || this.steps.ordered(e, p)) { out.add(i); out.or(this.hb[i]!); }
    }
    return out;
  }

  /**
   * Source-DPOR's race step: for every earlier step e that p races with — dependent, not held
   * before p by ppo, and not before p only through a step in between — the point before e must
   * also explore some first step of the schedules that run p before e: an initial of
   * notdep(e).p (the steps after e that do not happen after it, then p). If none of those
   * initials is in that point's backtrack set yet, one is added.
   */
  private reverseRaces(p: number, hb: Bits): void {
    const d = this.path.length;
    const through = new Bits(this.words);
    for (let k = 0; k < d; k++) if (hb.has(k)) through.or(this.hb[k]!);
    for (let i = 0; i < d; i++) {
      const e = this.path[i]!;
      if (!hb.has(i) || through.has(i) || !this.steps.dependent(e, p) || this.steps.ordered(e, p)) continue;
      const initials = this.initials(i, p, hb);
      const node = this.nodes[i]!;
      if (initials.some((s) => node.backtrack.includes(s))) continue;
      node.backtrack.push(initials.find((s) => !node.sleep.has(s)) ?? initials[0]!);
    }
  }

  /** The initials of notdep(path[i]).p: its steps that nothing earlier in it happens before. */
  private initials(i: number, p: number, hbP: Bits): number[] {
    const d = this.path.length;
    const v = new Bits(this.words);
    const out: number[] = [];
    for (let k = i + 1; k < d; k++) {
      if (this.hb[k]!.has(i)) continue;
      if (!this.hb[k]!.intersects(v)) out.push(this.path[k]!);
      v.add(k);
    }
    if (!hbP.intersects(v)) out.push(p);
    return out;
  }

  private node(sleep: Set<number>): Node {
    const enabled: number[] = [];
    for (let s = 0; s < this.steps.n; s++) if (!this.done[s] && this.waiting[s] === 0) enabled.push(s);
    return { enabled, sleep, backtrack: [], done: new Set() };
  }

  private apply(s: number): void {
    this.done[s] = true;
    this.forSuccs(s, (k) => this.waiting[k]!--);
  }

  private undo(s: number): void {
    this.done[s] = false;
    this.forSuccs(s, (k) => this.waiting[k]!++);
  }

  private forSuccs(s: number, f: (k: number) => void): void {
    const t = this.steps.thread[s]!;
    for (const j of this.steps.c.threads[t]!.succs[this.steps.index[s]!]!) f(this.steps.id(t, j));
  }
}
