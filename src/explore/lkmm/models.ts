// The axiomatic memory models a candidate execution is checked against.
//
// - lkmm: the Linux-kernel memory model (linux-kernel.bell/.cat and lock.cat, as published with
//   the kernel's tools/memory-model and in Alglave, Maranget, McKenney, Parri, Stern, ASPLOS 2018),
//   written here in our own code: coherence, atomicity, happens-before (ppo, rfe, prop), the
//   propagation axiom (pb), RCU's grace-period guarantee (rcu-order, rcu-fence, rb), plain
//   accesses (plain-coherence), the data-race flag and the bell's and lock.cat's flags
//   (./flags.ts). Locks are reads and writes of the lock
//   word with values (0 free, 1 held), so lock.cat's rf and co for them come out of the ordinary
//   rf/co enumeration, and its lock-read/lock-write pairs are RMWs.
// - sc: herd7's sc.cat on the same events: acyclic (po | rf | co | fr), plus atomicity.
// - arm: herd7's AArch64 model (other-multi-copy atomic: acyclic ob over obs | dob | aob | bob)
//   on the instructions the kernel compiles the C primitives to on arm64: READ_ONCE/WRITE_ONCE
//   and plain accesses LDR/STR, acquire LDAR, release STLR, smp_mb (and synchronize_rcu,
//   smp_mb__{before,after}_atomic, smp_mb__after_spinlock) DMB ISH, smp_rmb DMB ISHLD,
//   smp_wmb DMB ISHST, fully ordered RMWs acquire+release with a full barrier after, spinlocks
//   an acquire RMW and a release store. RCU read-side critical sections compile to nothing.

import {
  Rel, acyclic, cross, identity, inter, inverse, irreflexive, minus, opt, plus, rangeOf, relOf,
  restrict, seq, seqs, setHas, setMinus, setOf, setUnion, star, union, type EvSet,
} from "./relation.js";
import { TAG } from "./threads.js";
import { herdFlagOrder, srcuFlags, srcuMatches, srcuParts, staticFlags, type SrcuParts } from "./flags.js";

/** What a model needs of a candidate execution. */
export interface ExecGraph {
  n: number;
  dir: ("R" | "W" | "F")[];
  tags: number[];
  /** Thread of each event; -1 for the initial writes. */
  thread: number[];
  /** Location index (-1 for fences without one). */
  loc: number[];
  po: Rel;
  addr: Rel;
  data: Rel;
  ctrl: Rel;
  /** Read → write of each RMW (atomics and lock-read/lock-write). */
  rmw: Rel;
  rf: Rel;
  co: Rel;
  /** Matched rcu_read_lock → rcu_read_unlock pairs, nesting as the bell computes it. */
  rcuRscs: Rel;
  /** Each event's value as a key ("" for a fence): SRCU's value-match flag compares them. */
  val: string[];
  /** Locations the final state shows (the condition's and the `locations` line's): lock.cat's FW. */
  observed: number[];
}

export interface Verdict { allowed: boolean; flags: string[]; races: [number, number][] }

export type ModelName = "lkmm" | "sc" | "arm";

/** What depends only on the events (not on rf and co): computed once per combination of paths. */
class Static {
  readonly n: number;
  readonly R: EvSet; readonly W: EvSet; readonly F: EvSet; readonly M: EvSet; readonly IW: EvSet;
  readonly int: Rel; readonly ext: Rel; readonly locRel: Rel; readonly poLoc: Rel;
  constructor(g: ExecGraph) {
    const n = this.n = g.n;
    this.R = setOf(n, (i) => g.dir[i] === "R");
    this.W = setOf(n, (i) => g.dir[i] === "W");
    this.F = setOf(n, (i) => g.dir[i] === "F");
    this.M = setUnion(this.R, this.W);
    this.IW = setOf(n, (i) => (g.tags[i]! & TAG.IW) !== 0);
    this.int = relOf(n, (i, j) => g.thread[i] === g.thread[j] && g.thread[i]! >= 0);
    this.ext = minus(relOf(n, () => true), this.int);
    this.locRel = relOf(n, (i, j) => g.loc[i]! >= 0 && g.loc[i] === g.loc[j]);
    this.poLoc = restrict(inter(g.po, this.locRel), this.M, this.M);
  }
}
const statics = new WeakMap<Rel, Static>();

/** Relations and sets every model derives the same way. */
class Base {
  readonly n: number;
  readonly R: EvSet; readonly W: EvSet; readonly F: EvSet; readonly M: EvSet; readonly IW: EvSet;
  readonly int: Rel; readonly ext: Rel; readonly locRel: Rel; readonly poLoc: Rel;
  readonly fr: Rel; readonly rfe: Rel; readonly rfi: Rel; readonly coe: Rel; readonly fre: Rel;
  constructor(readonly g: ExecGraph) {
    // The po relation object stands for the combination of paths: rf and co change under it.
    let st = statics.get(g.po);
    if (!st) { st = new Static(g); statics.set(g.po, st); }
    this.n = st.n;
    ({ R: this.R, W: this.W, F: this.F, M: this.M, IW: this.IW, int: this.int, ext: this.ext, locRel: this.locRel, poLoc: this.poLoc } = st);
    const n = this.n;
    this.fr = minus(seq(inverse(g.rf), g.co), identity(n));
    this.rfe = inter(g.rf, this.ext);
    this.rfi = inter(g.rf, this.int);
    this.coe = inter(g.co, this.ext);
    this.fre = inter(this.fr, this.ext);
  }
  tagged(t: number): EvSet { return setOf(this.n, (i) => (this.g.tags[i]! & t) !== 0); }
  /** po ; [S] ; po — herd's fencerel(S). */
  fencerel(s: EvSet): Rel { return seq(restrict(this.g.po, undefined, s), this.g.po); }
  coherent(): boolean { return acyclic(union(this.poLoc, this.g.rf, this.g.co, this.fr)); }
  atomic(): boolean { return inter(this.g.rmw, seq(this.fre, this.coe)).isEmpty(); }
}

export function checkModel(model: ModelName, g: ExecGraph): Verdict {
  switch (model) {
    case "lkmm": return lkmm(g);
    case "sc": return sc(g);
    case "arm": return arm(g);
  }
}

const NO: Verdict = { allowed: false, flags: [], races: [] };

function sc(g: ExecGraph): Verdict {
  const b = new Base(g);
  if (!b.atomic()) return NO;
  return { allowed: acyclic(union(g.po, g.rf, g.co, b.fr)), flags: [], races: [] };
}

function arm(g: ExecGraph): Verdict {
  const b = new Base(g);
  if (!b.coherent() || !b.atomic()) return NO;
  const { n } = b;
  // Acquire reads: LDAR, the lock's LDAXR, and the read of a fully ordered RMW.
  const AR = setOf(n, (i) => g.dir[i] === "R" && (g.tags[i]! & (TAG.ACQUIRE | TAG.LKR | TAG.MB)) !== 0);
  const L = setOf(n, (i) => g.dir[i] === "W" && (g.tags[i]! & (TAG.RELEASE | TAG.UL | TAG.MB)) !== 0);
  const full = setOf(n, (i) => g.dir[i] === "F" && (g.tags[i]! & (TAG.MB | TAG.SYNC_RCU | TAG.SYNC_SRCU |
    TAG.BEFORE_ATOMIC | TAG.AFTER_ATOMIC | TAG.AFTER_SPINLOCK)) !== 0);
  const dmbLd = b.tagged(TAG.RMB), dmbSt = b.tagged(TAG.WMB);
  // A fully ordered RMW is followed by a full barrier (arm64's LDAXR/STLXR + DMB ISH, or SWPAL).
  const mbW = setOf(n, (i) => g.dir[i] === "W" && (g.tags[i]! & TAG.MB) !== 0);
  const po = g.po;
  const obs = union(b.rfe, b.fre, b.coe);
  const dob = union(g.addr, g.data, restrict(g.ctrl, undefined, b.W), restrict(seq(g.addr, po), undefined, b.W),
    seq(union(g.addr, g.data), b.rfi));
  const aob = union(g.rmw, restrict(b.rfi, rangeOf(g.rmw), AR));
  const bob = union(
    restrict(b.fencerel(full), b.M, b.M),
    restrict(po, L, AR),
    restrict(b.fencerel(dmbLd), b.R, b.M),
    restrict(po, AR, b.M),
    restrict(b.fencerel(dmbSt), b.W, b.W),
    restrict(po, b.M, L),
    restrict(po, mbW, b.M),
  );
  // Local write successor: a write after an access to the same location in program order.
  const lws = restrict(b.poLoc, b.M, b.W);
  return { allowed: acyclic(union(obs, dob, aob, bob, lws)), flags: [], races: [] };
}

/** LKMM's sets and the relations that do not depend on rf or co: once per combination of paths. */
class LkmmStatic {
  readonly Marked: EvSet; readonly Plain: EvSet; readonly LKR: EvSet; readonly UL: EvSet;
  readonly R4rmb: EvSet; readonly notNoreturn: EvSet; readonly SrcuLock: EvSet; readonly SrcuUnlock: EvSet;
  readonly notSrcuUnlock: EvSet; readonly AfterUnlockLock: EvSet;
  readonly acqPo: Rel; readonly poRel: Rel; readonly rmb: Rel; readonly wmb: Rel; readonly mb0: Rel; readonly gp: Rel;
  readonly rmbF: EvSet; readonly dataNotSrcu: Rel; readonly carries: boolean; readonly hasRcu: boolean; readonly hasUnlock: boolean;
  readonly rcuGp: Rel; readonly srcuGp: Rel; readonly rcuRscsi: Rel;
  /** The flags fixed by the events alone (./flags.ts), and what srcu-rscs is made of when there is SRCU. */
  readonly flags0: string[]; readonly srcu?: SrcuParts;
  /** Part of happens-before known before rf/co: a cycle in it and rfe rules a candidate out at once. */
  readonly hb0: Rel;
  constructor(g: ExecGraph, b: Base) {
    const { n, R, W, M, IW } = b;
    const po = g.po;
    const t = (x: number) => b.tagged(x);
    const all = setOf(n, () => true);
    const F = (tag: number) => setOf(n, (i) => g.dir[i] === "F" && (g.tags[i]! & tag) !== 0);
    this.LKR = t(TAG.LKR); this.UL = t(TAG.UL);
    this.hasUnlock = this.UL.some((x) => x !== 0);
    const LKW = t(TAG.LKW);
    this.Marked = setUnion(b.F, IW, t(TAG.ONCE | TAG.RELEASE | TAG.ACQUIRE | TAG.MB | TAG.RMW | TAG.LKR | TAG.LKW |
      TAG.UL | TAG.LF | TAG.RU | TAG.SRCU_LOCK | TAG.SRCU_UNLOCK));
    this.Plain = setMinus(M, this.Marked);
    const Acquire = setOf(n, (i) => g.dir[i] === "R" && (g.tags[i]! & (TAG.ACQUIRE | TAG.LKR)) !== 0);
    const Release = setOf(n, (i) => g.dir[i] === "W" && (g.tags[i]! & (TAG.RELEASE | TAG.UL)) !== 0);
    const Noreturn = setOf(n, (i) => g.dir[i] === "R" && (g.tags[i]! & TAG.NORETURN) !== 0);
    this.R4rmb = setMinus(R, Noreturn);
    this.notNoreturn = setMinus(all, Noreturn);
    const RMW = t(TAG.RMW);
    const MbR = setOf(n, (i) => g.dir[i] === "R" && (g.tags[i]! & TAG.MB) !== 0);
    const MbW = setOf(n, (i) => g.dir[i] === "W" && (g.tags[i]! & TAG.MB) !== 0);
    this.SrcuUnlock = t(TAG.SRCU_UNLOCK); this.SrcuLock = t(TAG.SRCU_LOCK);
    this.notSrcuUnlock = setMinus(all, this.SrcuUnlock);
    this.AfterUnlockLock = t(TAG.AFTER_UNLOCK_LOCK);
    this.dataNotSrcu = restrict(g.data, undefined, this.notSrcuUnlock);
    this.carries = !this.dataNotSrcu.isEmpty();
    this.acqPo = restrict(po, Acquire, M);
    this.poRel = restrict(po, M, Release);
    this.rmbF = F(TAG.RMB);
    this.rmb = restrict(b.fencerel(this.rmbF), this.R4rmb, this.R4rmb);
    this.wmb = restrict(b.fencerel(F(TAG.WMB)), W, W);
    const fenceOf = (tag: number) => b.fencerel(F(tag));
    this.mb0 = union(
      restrict(b.fencerel(F(TAG.MB)), M, M),
      restrict(po, M, MbR),
      restrict(po, MbW, M),
      restrict(seqs(restrict(fenceOf(TAG.BEFORE_ATOMIC), undefined, RMW), opt(po)), undefined, M),
      restrict(seqs(restrict(opt(po), M, RMW), fenceOf(TAG.AFTER_ATOMIC)), undefined, M),
      restrict(seqs(restrict(opt(po), M, LKW), fenceOf(TAG.AFTER_SPINLOCK)), undefined, M),
      restrict(seqs(restrict(opt(po), M, this.SrcuUnlock), fenceOf(TAG.AFTER_SRCU_UNLOCK)), undefined, M),
    );
    this.gp = seq(restrict(po, undefined, t(TAG.SYNC_RCU | TAG.SYNC_SRCU)), opt(po));
    this.rcuGp = identity(n, t(TAG.SYNC_RCU));
    this.srcuGp = identity(n, t(TAG.SYNC_SRCU));
    this.rcuRscsi = inverse(g.rcuRscs);
    this.hasRcu = !g.rcuRscs.isEmpty() || !this.rcuGp.isEmpty() || !this.srcuGp.isEmpty() || this.SrcuLock.some((x) => x !== 0);
    const fence0 = union(this.mb0, this.gp, this.poRel, this.acqPo, this.wmb, this.rmb);
    const rwdep0 = restrict(union(g.addr, g.data, g.ctrl), undefined, W);
    this.hb0 = restrict(union(fence0, rwdep0, restrict(g.addr, undefined, R)), this.Marked, this.Marked);
    this.flags0 = staticFlags(g);
    if (this.SrcuLock.some((x) => x !== 0) || this.SrcuUnlock.some((x) => x !== 0)) this.srcu = srcuParts(g);
  }
}
const lkmmStatics = new WeakMap<Rel, LkmmStatic>();

function lkmm(g: ExecGraph): Verdict {
  const b = new Base(g);
  // Coherence and atomicity hold by construction: the enumeration keeps only coherent rf/co per location.
  let st = lkmmStatics.get(g.po);
  if (!st) { st = new LkmmStatic(g, b); lkmmStatics.set(g.po, st); }
  const { n, R, W, M, IW } = b;
  const po = g.po, rf = g.rf, co = g.co;
  const { Marked, Plain, LKR, UL, R4rmb, notNoreturn, acqPo, poRel, rmb, wmb, gp } = st;
  // A cycle of static happens-before edges and rfe is a happens-before cycle: no need to go on.
  if (!acyclic(union(st.hb0, restrict(b.rfe, Marked, Marked)))) return NO;

  // Dependencies carried through plain stores and loads of the same thread (the bell's carry-dep).
  let addr = g.addr, data = g.data, ctrl = g.ctrl;
  if (st.carries) {
    const carryDep = star(seq(st.dataNotSrcu, b.rfi));
    addr = seq(carryDep, g.addr); data = seq(carryDep, g.data); ctrl = seq(carryDep, g.ctrl);
  }

  // SRCU read-side critical sections: lock → unlock through data (and rf) on the same srcu_struct.
  const srcuRscs = st.srcu ? srcuMatches(st.srcu, g.data, rf) : new Rel(n);

  // --- basic relations
  const poUnlockLockPo = st.hasUnlock ? seqs(restrict(po, undefined, UL), restrict(union(po, rf), undefined, LKR), po) : new Rel(n);
  const mb = union(st.mb0, restrict(seqs(restrict(poUnlockLockPo, M, st.AfterUnlockLock), po), undefined, M));
  const strongFence = union(mb, gp);
  const nonrwFence = union(strongFence, poRel, acqPo);
  const fence = union(nonrwFence, wmb, rmb);

  // --- happens-before
  const overwrite = union(co, b.fr);
  const dep = union(addr, data);
  const rwdep = restrict(union(dep, ctrl), undefined, W);
  const toW = union(rwdep, inter(overwrite, b.int), restrict(seq(restrict(addr, undefined, Plain), wmb)));
  const toR = union(restrict(addr, undefined, R), seq(restrict(dep, undefined, Marked), b.rfi));
  const ppo = union(toR, toW, inter(fence, b.int), inter(poUnlockLockPo, b.int));
  const aCumul = (r: Rel) => seq(opt(restrict(b.rfe, undefined, Marked)), r);
  const rmwSequence = star(seq(rf, g.rmw));
  const cumulFence = seq(restrict(union(aCumul(union(strongFence, poRel)), wmb, poUnlockLockPo), Marked, Marked), rmwSequence);
  const prop = restrict(seqs(restrict(opt(inter(overwrite, b.ext)), Marked), star(cumulFence), restrict(opt(b.rfe), Marked)), undefined, Marked);
  const hb = restrict(union(ppo, b.rfe, inter(minus(prop, identity(n)), b.int)), Marked, Marked);
  const hbPlus = plus(hb);
  if (!irreflexive(hbPlus)) return NO;
  const hbStar = opt(hbPlus);
  const pb = restrict(seqs(prop, strongFence, hbStar), undefined, Marked);
  const pbPlus = plus(pb);
  if (!irreflexive(pbPlus)) return NO;
  const pbStar = opt(pbPlus);

  // --- RCU
  let rcuFence = new Rel(n);
  let rb = new Rel(n);
  if (st.hasRcu) {
    const { rcuGp, srcuGp, rcuRscsi } = st;
    const srcuRscsi = inverse(srcuRscs);
    const link = seqs(opt(po), hbStar, pbStar, prop, po);
    const L = b.locRel;
    // The links on either side of a nested rcu-order, composed once.
    const gpL = seq(rcuGp, link), sgpL = seq(srcuGp, link), csL = seq(rcuRscsi, link), scsL = seq(srcuRscsi, link);
    const lCs = seq(link, rcuRscsi), lScs = seq(link, srcuRscsi), lGp = seq(link, rcuGp), lSgp = seq(link, srcuGp);
    let order = union(rcuGp, srcuGp, seq(rcuGp, lCs), inter(seq(srcuGp, lScs), L), seq(rcuRscsi, lGp), inter(seq(srcuRscsi, lSgp), L));
    // rcu-order is recursive: grow it to its least fixpoint.
    for (;;) {
      const next = union(order,
        seqs(gpL, order, lCs), inter(seqs(sgpL, order, lScs), L),
        seqs(csL, order, lGp), inter(seqs(scsL, order, lSgp), L),
        seqs(order, link, order));
      if (equal(next, order)) break;
      order = next;
    }
    rcuFence = seqs(po, order, opt(po));
    rb = restrict(seqs(prop, rcuFence, hbStar, pbStar), undefined, Marked);
    if (!irreflexive(rb)) return NO;
  }
  const fence2 = union(fence, rcuFence);
  const strongFence2 = union(strongFence, rcuFence);

  // The execution is allowed unless plain accesses make it incoherent: the flags it raises.
  const flags = st.srcu ? [...st.flags0, ...srcuFlags(g, st.srcu, srcuRscs)] : st.flags0;

  // --- plain accesses and data races: with no plain access there is nothing to check or flag.
  if (Plain.every((x) => x === 0)) return { allowed: true, flags: herdFlagOrder(flags), races: [] };
  const xbstar = star(union(hb, pb, rb));
  const vis = seqs(star(cumulFence), restrict(opt(b.rfe), undefined, Marked),
    union(seqs(restrict(strongFence2, undefined, Marked), xbstar), inter(xbstar, b.int)));
  const rmbTo = (from: EvSet, to: EvSet) => restrict(b.fencerel(st.rmbF), from, to);
  const wPreBounded = restrict(opt(union(addr, fence2)), Marked);
  const rPreBounded = restrict(opt(union(addr, nonrwFence, rmbTo(R4rmb, notNoreturn))), Marked);
  const wPostBounded = seq(restrict(opt(fence2), undefined, Marked), rmwSequence);
  const rPostBounded = restrict(opt(union(nonrwFence, rmbTo(notNoreturn, R4rmb))), undefined, Marked);
  const wwVis = union(fence2, seqs(strongFence2, xbstar, wPreBounded), seqs(wPostBounded, vis, wPreBounded));
  const wrVis = union(fence2, seqs(strongFence2, xbstar, rPreBounded), seqs(wPostBounded, vis, rPreBounded));
  const rwXbstar = union(fence2, seqs(rPostBounded, xbstar, wPreBounded));
  const preRace = inter(b.ext, union(cross(n, Plain, M), cross(n, setMinus(M, IW), Plain)));
  const incoherent = union(inter(preRace, rf, inverse(rwXbstar)), inter(preRace, b.fr, inverse(wrVis)), inter(preRace, co, inverse(wwVis)));
  if (!incoherent.isEmpty()) return NO;
  const wwNonrace = inter(wwVis, union(cross(n, Marked, W), rwXbstar), union(cross(n, W, Marked), wrVis));
  const wwRace = minus(inter(preRace, co), wwNonrace);
  const wrRace = minus(inter(preRace, seq(opt(co), rf)), wrVis, inverse(rwXbstar));
  const rwRace = minus(inter(preRace, b.fr), rwXbstar);
  const races = union(wwRace, wrRace, rwRace);
  return { allowed: true, flags: herdFlagOrder(races.isEmpty() ? flags : [...flags, "data-race"]), races: races.pairs() };
}

function equal(a: Rel, b: Rel): boolean {
  for (let k = 0; k < a.bits.length; k++) if (a.bits[k] !== b.bits[k]) return false;
  return true;
}

/**
 * The part of each model's acyclic order known before rf and co are chosen, for pruning the
 * enumeration: lkmm's happens-before from fences and dependencies, sc's program order, arm's
 * ordered-before from barriers, dependencies and acquire/release.
 */
export function staticOrder(model: ModelName, g: ExecGraph): { rel: Rel; marked: (i: number) => boolean; strong: Rel } {
  const b = new Base(g);
  if (model === "sc") return { rel: g.po, marked: () => true, strong: new Rel(g.n) };
  if (model === "arm") {
    const A = setOf(b.n, (i) => g.dir[i] === "R" && (g.tags[i]! & (TAG.ACQUIRE | TAG.LKR | TAG.MB)) !== 0);
    const full = setOf(b.n, (i) => g.dir[i] === "F" && (g.tags[i]! & (TAG.MB | TAG.SYNC_RCU | TAG.SYNC_SRCU |
      TAG.BEFORE_ATOMIC | TAG.AFTER_ATOMIC | TAG.AFTER_SPINLOCK)) !== 0);
    return { rel: union(g.addr, g.data, restrict(g.ctrl, undefined, b.W), restrict(b.fencerel(full), b.M, b.M), restrict(g.po, A, b.M)), marked: () => true, strong: new Rel(g.n) };
  }
  let st = lkmmStatics.get(g.po);
  if (!st) { st = new LkmmStatic(g, b); lkmmStatics.set(g.po, st); }
  const marked = st.Marked;
  return { rel: st.hb0, marked: (i) => setHas(marked, i), strong: union(st.mb0, st.gp) };
}
