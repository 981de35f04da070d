// Candidate executions of a litmus test, enumerated as herd7 does: one path per process (its
// reads' values chosen from the value domains), then reads-from (each read from a write of the
// same location and value, or the initial write) and a coherence order per location. Pruned
// early: a combination of paths whose reads' values nobody writes is skipped, and rf/co are
// chosen per location and kept only when that location is coherent on its own (CoRR, CoRW,
// CoWR, CoWW and RMW atomicity), before the whole execution meets the model.

import { possibleFlags } from "./flags.js";
import { checkModel, staticOrder, type ExecGraph, type ModelName } from "./models.js";
import { Rel, plus } from "./relation.js";
import type { Cond, LitmusAst, Operand, Val } from "./syntax.js";
import { TAG, faultError, threadPaths, valKey, valText, valueDomains, DOMAIN_LIMITS, type PathEvent, type ThreadPath } from "./threads.js";

export interface EnumerateOptions {
  model: ModelName;
  maxCandidates: number;
  deadline: number;
  /** Sees each allowed execution's outcome (they are not kept: a test may have millions). */
  visit: (o: Outcome) => void;
  /**
   * When it returns true, executions that do not satisfy the condition's proposition no longer
   * matter (the caller only wants the verdict and has seen one): they are not checked.
   */
  negativesDone?: () => boolean;
  /**
   * The flags already raised (the caller's live set). With negativesDone, an execution that does
   * not satisfy the proposition is still checked when it might raise a flag not in it.
   */
  flagsSeen?: ReadonlySet<string>;
}

/** One allowed execution's outcome. */
export interface Outcome {
  /** Every shown place ("0:r0", "x") → its value. */
  values: Map<string, Val>;
  filtered: boolean;
  satisfies: boolean;
  flags: string[];
  races: { loc: string; a: EventInfo; b: EventInfo }[];
  /** The execution's reads-from and coherence, in words (computed when asked: most are never shown). */
  describe?: () => string[];
}

export interface EventInfo { thread: number; line: number; text: string; dir: "R" | "W" | "F"; plain: boolean }

export interface EnumerateResult {
  candidates: number;
  /** Why the run stopped early, when it did. */
  cutShort?: string;
}

interface Ev extends PathEvent { thread: number; index: number }

/** Runs the whole enumeration; `visit` sees each allowed execution. */
export function enumerate(ast: LitmusAst, opts: EnumerateOptions): EnumerateResult {
  const { domains, complete } = valueDomains(ast);
  let cutShort: string | undefined = complete ? undefined
    : `a location may hold more than ${DOMAIN_LIMITS.values} values; the values beyond were not tried`;
  const perThread = ast.threads.map((th) => {
    const r = threadPaths(ast, th, domains, DOMAIN_LIMITS.pathsPerThread);
    if (r.capped) cutShort ??= `more than ${DOMAIN_LIMITS.pathsPerThread} paths in ${th.name}`;
    return r.paths;
  });
  const locIndex = new Map(ast.locations.map((l, i) => [l, i]));
  const observed = shownPlaces(ast).flatMap((o) => (o.k === "loc" && locIndex.has(o.loc) ? [locIndex.get(o.loc)!] : []));
  let candidates = 0;
  const pick = perThread.map(() => 0);
  if (perThread.some((p) => p.length === 0)) return { candidates };
  // What each path reads and writes, as loc=value keys: a combination in which some read's
  // value is written by nobody (nor initially) has no execution, and most combinations are such.
  const initKeys = new Set(ast.locations.map((l) => `${l}=${valKey(ast.init.get(l) ?? 0)}`));
  const io = perThread.map((paths) => paths.map((p) => ({
    reads: p.events.filter((e) => e.dir === "R" && e.loc !== null).map((e) => `${e.loc}=${valKey(e.value!)}`).filter((k) => !initKeys.has(k)),
    writes: new Set(p.events.filter((e) => e.dir === "W" && e.loc !== null).map((e) => `${e.loc}=${valKey(e.value!)}`)),
  })));
  const feasible = (): boolean => {
    for (let t = 0; t < pick.length; t++) {
      for (const key of io[t]![pick[t]!]!.reads) {
        let found = false;
        for (let u = 0; u < pick.length && !found; u++) found = io[u]![pick[u]!]!.writes.has(key);
        if (!found) return false;
      }
    }
    return true;
  };
  combos: for (;;) {
    const paths = pick.map((k, t) => perThread[t]![k]!);
    // A faulting path's executions are checked whatever the condition: an allowed one is an error.
    const faults = paths.some((p) => p.fault);
    // No execution of these paths satisfies the proposition: once negatives no longer matter,
    // only a flag not yet seen can make them worth checking.
    const negativeOnly = opts.negativesDone?.() === true && !faults && !ast.filter && mayHold(ast.cond, ast, paths) === false;
    const skip = !feasible() || (negativeOnly && !mayFlag(opts, paths));
    const stop = skip ? undefined : runCombination(ast, paths, locIndex, observed, negativeOnly, opts, () => {
      // Asked before each candidate is checked: one beyond the bound is neither checked nor counted.
      if (candidates >= opts.maxCandidates) return `bound of ${opts.maxCandidates} candidate executions reached`;
      if ((candidates & 255) === 255 && Date.now() > opts.deadline) return "time limit reached";
      candidates++;
      return undefined;
    });
    if (stop) { cutShort ??= stop; break; }
    for (let t = pick.length - 1; ; t--) {
      if (t < 0) break combos;
      if (++pick[t]! < perThread[t]!.length) break;
      pick[t] = 0;
    }
  }
  return { candidates, ...(cutShort ? { cutShort } : {}) };
}

/** Events of a kind some flag other than data-race is about: RCU, SRCU and spinlock calls. */
const FLAG_TAGS = TAG.RCU_LOCK | TAG.RCU_UNLOCK | TAG.SRCU_LOCK | TAG.SRCU_UNLOCK | TAG.SYNC_SRCU | TAG.LKR | TAG.LKW | TAG.UL | TAG.LF | TAG.RU;

/** Whether these paths might raise a flag the run has not seen (a quick look before building the graph). */
function mayFlag(opts: EnumerateOptions, paths: ThreadPath[]): boolean {
  return opts.model === "lkmm" && opts.flagsSeen !== undefined && paths.some((p) => p.events.some((e) => (e.tags & FLAG_TAGS) !== 0));
}

function runCombination(ast: LitmusAst, paths: ThreadPath[], locIndex: Map<string, number>, observed: number[], negativeOnly: boolean,
                        opts: EnumerateOptions, tick: () => string | undefined): string | undefined {
  // Events: the initial writes, then each thread's.
  const evs: Ev[] = ast.locations.map((loc, i) => ({
    dir: "W", loc, value: ast.init.get(loc) ?? 0, tags: TAG.IW, addr: [], data: [], ctrl: [], line: 0, text: `${loc} initially`,
    thread: -1, index: i,
  }));
  const offset: number[] = [];
  paths.forEach((p, t) => {
    offset.push(evs.length);
    p.events.forEach((e, i) => evs.push({ ...e, thread: t, index: i }));
  });
  const n = evs.length;
  const gid = (t: number, i: number) => offset[t]! + i;

  // Writes and reads by location; a read's possible sources by value.
  const writesAt = new Map<number, number[]>(), readsAt = new Map<number, number[]>();
  evs.forEach((e, id) => {
    if (e.loc === null || e.dir === "F") return;
    const l = locIndex.get(e.loc)!;
    const m = e.dir === "W" ? writesAt : readsAt;
    if (!m.has(l)) m.set(l, []);
    m.get(l)!.push(id);
  });
  const sources = new Map<number, number[]>();
  for (const [l, reads] of readsAt) {
    const ws = writesAt.get(l) ?? [];
    for (const r of reads) {
      const er = evs[r]!, key = valKey(er.value!);
      const cands = ws.filter((w) => valKey(evs[w]!.value!) === key && !(evs[w]!.thread === er.thread && w > r));
      if (!cands.length) return undefined; // nobody writes the value this path read
      sources.set(r, cands);
    }
  }

  // Static relations of this combination.
  const po = new Rel(n), addr = new Rel(n), data = new Rel(n), ctrl = new Rel(n), rmw = new Rel(n), rcuRscs = new Rel(n);
  paths.forEach((p, t) => {
    const stack: number[] = [];
    p.events.forEach((e, i) => {
      const id = gid(t, i);
      for (let j = i + 1; j < p.events.length; j++) po.add(id, gid(t, j));
      for (const d of e.addr) addr.add(gid(t, d), id);
      for (const d of e.data) data.add(gid(t, d), id);
      for (const d of e.ctrl) ctrl.add(gid(t, d), id);
      if (e.rmwRead !== undefined) rmw.add(gid(t, e.rmwRead), id);
      if (e.tags & TAG.RCU_LOCK) stack.push(id);
      if (e.tags & TAG.RCU_UNLOCK && stack.length) rcuRscs.add(stack.pop()!, id);
    });
  });
  const g: ExecGraph = {
    n, dir: evs.map((e) => e.dir), tags: evs.map((e) => e.tags), thread: evs.map((e) => e.thread),
    loc: evs.map((e) => (e.loc === null ? -1 : locIndex.get(e.loc)!)), po, addr, data, ctrl, rmw, rcuRscs,
    val: evs.map((e) => (e.value === null ? "" : valKey(e.value))), observed,
    rf: new Rel(n), co: new Rel(n),
  };
  // Negatives no longer matter (verdict only): these paths' executions count only for a new flag.
  const possible = opts.model === "lkmm" && opts.flagsSeen && opts.negativesDone ? possibleFlags(g) : [];
  const newFlag = () => possible.some((f) => !opts.flagsSeen!.has(f));
  if (negativeOnly && !newFlag()) return undefined;

  // Per location: every coherent (co, rf) pair.
  const perLoc: { l: number; choices: { co: number[]; rf: Map<number, number> }[] }[] = [];
  for (const l of new Set([...writesAt.keys(), ...readsAt.keys()])) {
    const choices = locationChoices(evs, writesAt.get(l) ?? [], readsAt.get(l) ?? [], sources);
    if (!choices.length) return undefined;
    perLoc.push({ l, choices });
  }

  // Location by location, with the edges a model must keep acyclic whatever the rest is: a
  // choice that closes a cycle with them rules out every completion at once.
  const pre = prefilter(opts.model, g);
  const chosen: { co: number[]; rf: Map<number, number> }[] = [];
  const w = pre.reach.w;
  const search = (k: number, reach: Rel): string | undefined => {
    if (k === perLoc.length) {
      const finals = new Map<number, number>();
      perLoc.forEach(({ l }, i) => finals.set(l, chosen[i]!.co[chosen[i]!.co.length - 1]!));
      const fault = paths.find((p) => p.fault)?.fault;
      if (!fault && opts.negativesDone?.() && !newFlag()) {
        const o = outcome(ast, paths, evs, finals, locIndex, [], []);
        if (o.filtered || !o.satisfies) return undefined;
      }
      const stop = tick();
      if (stop) return stop;
      const rf = new Rel(n), co = new Rel(n);
      perLoc.forEach((_, i) => {
        const c = chosen[i]!;
        for (let a = 0; a < c.co.length; a++) for (let b = a + 1; b < c.co.length; b++) co.add(c.co[a]!, c.co[b]!);
        for (const [r, wr] of c.rf) rf.add(wr, r);
      });
      g.rf = rf;
      g.co = co;
      const v = checkModel(opts.model, g);
      if (v.allowed && fault) throw faultError(ast, fault);
      if (v.allowed) {
        const o = outcome(ast, paths, evs, finals, locIndex, v.flags, v.races);
        const picked = chosen.slice();
        o.describe = () => describeExecution(ast, evs, picked);
        opts.visit(o);
      }
      return undefined;
    }
    for (const c of perLoc[k]!.choices) {
      const next = new Rel(n, reach.bits.slice());
      if (!addEdges(next, w, pre, c, evs)) continue;
      chosen[k] = c;
      const stop = search(k + 1, next);
      if (stop) return stop;
    }
    return undefined;
  };
  return search(0, pre.reach);
}

/**
 * Edges of one location's rf/co choice that the model keeps acyclic together with its static
 * part: each function gives, for an rf, co or fr pair (a, b), the targets x of edges a → x.
 */
interface Prefilter { reach: Rel; rf: (w: number, r: number) => number[]; co: (a: number, b: number) => number[]; fr: (r: number, w: number) => number[] }

function prefilter(model: ModelName, g: ExecGraph): Prefilter {
  const ext = (a: number, b: number) => g.thread[a] !== g.thread[b] || g.thread[a]! < 0;
  const lk = staticOrder(model, g);
  const none = (): number[] => [];
  const self = (_a: number, b: number): number[] => [b];
  const extOnly = (a: number, b: number): number[] => (ext(a, b) ? [b] : []);
  switch (model) {
    // LKMM: happens-before holds rfe between marked accesses; and since hb, pb and rb are
    // acyclic together (the cat's "xb"), an external co or fr edge followed by a strong fence
    // is a pb edge: a → every x the fence orders after b.
    case "lkmm": {
      const pb = (a: number, b: number): number[] => {
        if (!ext(a, b) || !lk.marked(a) || !lk.marked(b)) return [];
        const out: number[] = [];
        for (let x = 0; x < g.n; x++) if (lk.strong.has(b, x) && lk.marked(x)) out.push(x);
        return out;
      };
      return { reach: plus(lk.rel), rf: (w, r) => (ext(w, r) && lk.marked(w) && lk.marked(r) ? [r] : []), co: pb, fr: pb };
    }
    // SC: every rf, co and fr edge is in the one order.
    case "sc": return { reach: plus(lk.rel), rf: self, co: self, fr: self };
    // Arm: the external ones are in ob.
    case "arm": return { reach: plus(lk.rel), rf: extOnly, co: extOnly, fr: extOnly };
  }
  return { reach: plus(lk.rel), rf: none, co: none, fr: none };
}

/** Adds a choice's edges to a transitive closure; false if one closes a cycle. */
function addEdges(reach: Rel, w: number, pre: Prefilter, c: { co: number[]; rf: Map<number, number> }, evs: Ev[]): boolean {
  const edge = (a: number, b: number): boolean => {
    if (a === b || reach.has(b, a)) return false;
    if (reach.has(a, b)) return true;
    // Everything reaching a (and a itself) now reaches b and all b reaches.
    const n = reach.n, rb = b * w, bw = b >>> 4, bb = 1 << (b & 15);
    for (let x = 0; x < n; x++) {
      if (x !== a && !reach.has(x, a)) continue;
      const rx = x * w;
      for (let k = 0; k < w; k++) reach.bits[rx + k]! |= reach.bits[rb + k]!;
      reach.bits[rx + bw]! |= bb;
    }
    return true;
  };
  const edges = (a: number, xs: number[]): boolean => xs.every((x) => edge(a, x));
  for (const [r, wr] of c.rf) if (!edges(wr, pre.rf(wr, r))) return false;
  for (let i = 0; i + 1 < c.co.length; i++) {
    for (let j = i + 1; j < c.co.length; j++) if (!edges(c.co[i]!, pre.co(c.co[i]!, c.co[j]!))) return false;
  }
  const pos = new Map(c.co.map((x, i) => [x, i]));
  for (const [r, wr] of c.rf) {
    for (let j = pos.get(wr)! + 1; j < c.co.length; j++) {
      const later = c.co[j]!;
      if (later !== r && evs[later]!.dir === "W" && !edges(r, pre.fr(r, later))) return false;
    }
  }
  return true;
}

/** The coherence orders (initial write first, each thread's writes in program order) and rf choices of one location that are coherent by themselves. */
function locationChoices(evs: Ev[], writes: number[], reads: number[], sources: Map<number, number[]>): { co: number[]; rf: Map<number, number> }[] {
  const init = writes.filter((w) => evs[w]!.thread < 0);
  const byThread = new Map<number, number[]>();
  for (const w of writes) if (evs[w]!.thread >= 0) { const t = evs[w]!.thread; if (!byThread.has(t)) byThread.set(t, []); byThread.get(t)!.push(w); }
  const seqs = [...byThread.values()];
  const orders: number[][] = [];
  const cur = [...init];
  const idx = seqs.map(() => 0);
  const total = writes.length;
  const merge = () => {
    if (cur.length === total) { orders.push(cur.slice()); return; }
    seqs.forEach((s, k) => {
      if (idx[k]! < s.length) { cur.push(s[idx[k]!]!); idx[k]!++; merge(); idx[k]!--; cur.pop(); }
    });
  };
  merge();
  const out: { co: number[]; rf: Map<number, number> }[] = [];
  const rmwWrites = writes.filter((w) => evs[w]!.rmwRead !== undefined);
  for (const order of orders) {
    const pos = new Map(order.map((w, i) => [w, i]));
    const pickR = reads.map(() => 0);
    for (;;) {
      const src = new Map(reads.map((r, k) => [r, sources.get(r)![pickR[k]!]!]));
      if (coherent(evs, reads, writes, src, pos, rmwWrites)) out.push({ co: order, rf: src });
      let k = reads.length - 1;
      for (; k >= 0; k--) { if (++pickR[k]! < sources.get(reads[k]!)!.length) break; pickR[k] = 0; }
      if (k < 0) break;
    }
  }
  return out;
}

function coherent(evs: Ev[], reads: number[], writes: number[], src: Map<number, number>, pos: Map<number, number>, rmwWrites: number[]): boolean {
  for (const r of reads) {
    const er = evs[r]!, ps = pos.get(src.get(r)!)!;
    for (const w of writes) {
      const ew = evs[w]!;
      if (ew.thread !== er.thread) continue;
      if (ew.index < er.index && pos.get(w)! > ps) return false; // CoWR: not older than a po-earlier write
      if (ew.index > er.index && pos.get(w)! <= ps) return false; // CoRW: not from a po-later write or after it
    }
    for (const r2 of reads) {
      const e2 = evs[r2]!;
      if (e2.thread === er.thread && e2.index > er.index && pos.get(src.get(r2)!)! < ps) return false; // CoRR
    }
  }
  // An RMW's write comes right after the write its read saw.
  for (const w of rmwWrites) {
    const e = evs[w]!;
    const rd = reads.find((r) => evs[r]!.thread === e.thread && evs[r]!.index === e.rmwRead);
    if (rd === undefined || pos.get(w)! !== pos.get(src.get(rd)!)! + 1) return false;
  }
  return true;
}

function outcome(ast: LitmusAst, paths: ThreadPath[], evs: Ev[], finals: Map<number, number>, locIndex: Map<string, number>,
                 flags: string[], races: [number, number][]): Outcome {
  const value = (o: Operand): Val => {
    switch (o.k) {
      case "int": return o.v;
      case "addr": return { addr: o.loc };
      case "reg": return paths[o.thread]!.regs.get(o.reg) ?? ast.initRegs.get(`${o.thread}:${o.reg}`) ?? 0;
      case "loc": {
        const w = finals.get(locIndex.get(o.loc)!);
        return w === undefined ? ast.init.get(o.loc) ?? 0 : evs[w]!.value!;
      }
    }
  };
  const holds = (c: Cond): boolean => {
    switch (c.k) {
      case "and": return holds(c.a) && holds(c.b);
      case "or": return holds(c.a) || holds(c.b);
      case "not": return !holds(c.a);
      case "const": return c.v;
      case "eq": return valKey(value(c.a)) === valKey(value(c.b));
    }
  };
  const values = new Map<string, Val>();
  for (const o of shownPlaces(ast)) values.set(placeName(o), value(o));
  const info = (id: number): EventInfo => {
    const e = evs[id]!;
    return { thread: e.thread, line: e.line, text: e.text, dir: e.dir, plain: e.tags === 0 };
  };
  return {
    values, filtered: ast.filter ? !holds(ast.filter) : false, satisfies: holds(ast.cond), flags,
    races: races.map(([a, b]) => ({ loc: evs[a]!.loc ?? "?", a: info(a), b: info(b) })),
  };
}

/** Each read's source and each location's coherence order, in the test's own words. */
function describeExecution(ast: LitmusAst, evs: Ev[], chosen: { co: number[]; rf: Map<number, number> }[]): string[] {
  const name = (id: number) => {
    const e = evs[id]!;
    return e.thread < 0 ? `the initial value of ${e.loc}` : `${ast.threads[e.thread]!.name} line ${e.line} "${e.text}"`;
  };
  const out: string[] = [];
  for (const c of chosen) {
    for (const [r, w] of [...c.rf].sort((a, b) => a[0] - b[0])) out.push(`${name(r)} reads ${valText(evs[r]!.value!)} from ${name(w)}`);
    if (c.co.length > 2) out.push(`coherence of ${evs[c.co[0]!]!.loc}: ${c.co.map((w) => valText(evs[w]!.value!)).join(" → ")}`);
  }
  return out;
}

/** Whether the proposition can hold with these paths' registers: false, true, or undefined when it depends on memory. */
function mayHold(c: Cond, ast: LitmusAst, paths: ThreadPath[]): boolean | undefined {
  const value = (o: Operand): Val | undefined => {
    switch (o.k) {
      case "int": return o.v;
      case "addr": return { addr: o.loc };
      case "reg": return paths[o.thread]!.regs.get(o.reg) ?? ast.initRegs.get(`${o.thread}:${o.reg}`) ?? 0;
      case "loc": return undefined;
    }
  };
  switch (c.k) {
    case "const": return c.v;
    case "not": { const a = mayHold(c.a, ast, paths); return a === undefined ? undefined : !a; }
    case "and": {
      const a = mayHold(c.a, ast, paths), b = mayHold(c.b, ast, paths);
      return a === false || b === false ? false : a === true && b === true ? true : undefined;
    }
    case "or": {
      const a = mayHold(c.a, ast, paths), b = mayHold(c.b, ast, paths);
      return a === true || b === true ? true : a === false && b === false ? false : undefined;
    }
    case "eq": {
      const a = value(c.a), b = value(c.b);
      return a === undefined || b === undefined ? undefined : valKey(a) === valKey(b);
    }
  }
}

/** The places a final state shows: `locations [...]`, then those the condition reads, each once. */
export function shownPlaces(ast: LitmusAst): Operand[] {
  const out: Operand[] = [];
  const seen = new Set<string>();
  const add = (o: Operand) => {
    if (o.k !== "reg" && o.k !== "loc") return;
    const name = placeName(o);
    if (!seen.has(name)) { seen.add(name); out.push(o); }
  };
  ast.shown.forEach(add);
  const walk = (c: Cond) => {
    if (c.k === "and" || c.k === "or") { walk(c.a); walk(c.b); }
    else if (c.k === "not") walk(c.a);
    else if (c.k === "eq") { add(c.a); add(c.b); }
  };
  walk(ast.cond);
  return out;
}

export function placeName(o: Operand): string {
  return o.k === "reg" ? `${o.thread}:${o.reg}` : o.k === "loc" ? o.loc : o.k === "addr" ? o.loc : String(o.v);
}

export { valText };
