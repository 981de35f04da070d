// Each process of a litmus test run on its own, as herd7 does before it pairs reads with writes:
// every read may return any value the location can hold (its value domain), so one process
// gives a set of paths, each a list of events (reads, writes, fences) with their values, tags
// and dependencies — address, data and control (an event inside an `if` depends on the reads
// its condition used; events after the `if` do not, as in herd7). The value domains are a
// fixpoint: the initial values, then what the paths write, until nothing new appears.

import { IommuSimError } from "../../errors.js";
import { PRIMITIVES, type FenceKind, type Order, type Primitive } from "./primitives.js";
import type { Cond, Expr, LitmusAst, Stmt, ThreadAst, Val } from "./syntax.js";

/** Event tags: the bell file's annotations and event classes, one bit each. */
export const TAG = {
  ONCE: 1 << 0, ACQUIRE: 1 << 1, RELEASE: 1 << 2, MB: 1 << 3, NORETURN: 1 << 4, IW: 1 << 5, RMW: 1 << 6,
  LKR: 1 << 7, LKW: 1 << 8, UL: 1 << 9, LF: 1 << 10, RU: 1 << 11,
  SRCU_LOCK: 1 << 12, SRCU_UNLOCK: 1 << 13, SYNC_SRCU: 1 << 14,
  RMB: 1 << 15, WMB: 1 << 16, BARRIER: 1 << 17, RCU_LOCK: 1 << 18, RCU_UNLOCK: 1 << 19, SYNC_RCU: 1 << 20,
  BEFORE_ATOMIC: 1 << 21, AFTER_ATOMIC: 1 << 22, AFTER_SPINLOCK: 1 << 23, AFTER_UNLOCK_LOCK: 1 << 24,
  AFTER_SRCU_UNLOCK: 1 << 25,
} as const;

const FENCE_TAG: Record<FenceKind, number> = {
  "mb": TAG.MB, "rmb": TAG.RMB, "wmb": TAG.WMB, "barrier": TAG.BARRIER, "rcu-lock": TAG.RCU_LOCK,
  "rcu-unlock": TAG.RCU_UNLOCK, "sync-rcu": TAG.SYNC_RCU, "before-atomic": TAG.BEFORE_ATOMIC,
  "after-atomic": TAG.AFTER_ATOMIC, "after-spinlock": TAG.AFTER_SPINLOCK, "after-unlock-lock": TAG.AFTER_UNLOCK_LOCK,
  "after-srcu-read-unlock": TAG.AFTER_SRCU_UNLOCK,
};

/** One event of a path; dependencies are indices of earlier reads of the same path. */
export interface PathEvent {
  dir: "R" | "W" | "F";
  loc: string | null;
  value: Val | null;
  tags: number;
  /** For the write of an RMW: the index of its read. */
  rmwRead?: number;
  addr: number[];
  data: number[];
  ctrl: number[];
  line: number;
  text: string;
  /** While the domains are computed: the write slots this write's value rests on (see valueDomains). */
  just?: Set<string>;
}

/**
 * A path that dereferenced an integer read from memory: it ends there. Whether that is an
 * error depends on whether an execution the model allows takes it (a value from the domains
 * may be one no execution reads), which only the enumeration knows.
 */
export interface PathFault { line: number; text: string; value: number }

export interface ThreadPath { events: PathEvent[]; regs: Map<string, Val>; fault?: PathFault }

/** A run that went wrong in a way the syntax could not tell: dereferencing an integer, say. */
export class LitmusRunError extends IommuSimError {
  override name = "LitmusRunError";
  constructor(file: string, line: number, problem: string) { super(`${file}:${line}: ${problem}`); }
}

export function valKey(v: Val): string { return typeof v === "number" ? String(v) : `&${v.addr}`; }
export function valText(v: Val): string { return typeof v === "number" ? String(v) : v.addr; }
export function valEq(a: Val, b: Val): boolean { return valKey(a) === valKey(b); }

interface DVal { v: Val; deps: number[] }

/** The values a location may hold, by location. */
export type Domains = Map<string, Val[]>;
/** A value with the write slots ("thread:event") its chain of writes went through. */
interface Justified { v: Val; just: Set<string> }

interface Choice { picked: number; count: number }

/** Runs one path of a thread, choosing read values by `choices` (extended with 0s as it goes). */
class PathRunner {
  events: PathEvent[] = [];
  regs = new Map<string, DVal>();
  private ctrl: number[][] = [];
  private k = 0;
  private line = 0;
  private text = "";
  /** The slots every value read so far rests on (only while computing domains). */
  private just = new Set<string>();
  constructor(private readonly ast: LitmusAst, private readonly th: ThreadAst, private readonly domains: Domains,
              private readonly choices: Choice[], private readonly justified?: Map<string, Justified[]>) {
    for (const [key, v] of ast.initRegs) {
      const [n, reg] = key.split(":");
      if (Number(n) === th.index) this.regs.set(reg!, { v, deps: [] });
    }
  }

  /** The path, or null when no execution takes it; `partial` keeps what such a path did before it ended. */
  run(partial = false): ThreadPath | null {
    try {
      this.block(this.th.body);
    } catch (e) {
      if (e !== IMPOSSIBLE && !(e instanceof Fault)) throw e;
      if (e instanceof Fault) return { ...this.result(), fault: e.fault };
      if (!partial) return null;
    }
    return this.result();
  }

  private result(): ThreadPath {
    return { events: this.events, regs: new Map([...this.regs].map(([r, d]) => [r, d.v])) };
  }

  private choose(count: number): number {
    if (count === 0) throw IMPOSSIBLE;
    if (this.k < this.choices.length) return this.choices[this.k++]!.picked;
    this.choices.push({ picked: 0, count });
    this.k++;
    return 0;
  }

  private block(body: Stmt[]): void { for (const s of body) this.stmt(s); }

  private stmt(s: Stmt): void {
    this.line = s.line;
    this.text = s.text;
    switch (s.k) {
      case "assign": this.regs.set(s.reg, this.eval(s.e)); return;
      case "declare": return;
      case "expr": this.eval(s.e); return;
      case "store": {
        const a = this.address(s.addr);
        const v = this.eval(s.e);
        this.emit({ dir: "W", loc: a.loc, value: v.v, tags: 0, addr: a.deps, data: v.deps });
        return;
      }
      case "if": {
        const c = this.eval(s.c);
        this.ctrl.push(c.deps);
        this.block(truthy(c.v) ? s.then : s.else);
        this.ctrl.pop();
      }
    }
  }

  private emit(e: Omit<PathEvent, "ctrl" | "line" | "text">): number {
    const ctrl = this.ctrl.length === 0 ? [] : this.ctrl.length === 1 ? this.ctrl[0]! : [...new Set(this.ctrl.flat())];
    const ev: PathEvent = { ...e, ctrl, line: this.line, text: this.text };
    if (this.justified && e.dir === "W") {
      // A value resting on this very slot would need the write to happen before itself.
      const slot = `${this.th.index}:${this.events.length}`;
      if (!this.just.has(slot)) ev.just = new Set([...this.just, slot]);
    }
    this.events.push(ev);
    return this.events.length - 1;
  }

  /** A read of `loc` returning one of its domain's values (chosen). */
  private read(loc: string, tags: number, addr: number[], only?: (v: Val) => boolean): { id: number; v: Val } {
    if (this.justified) {
      const dom = (this.justified.get(loc) ?? [{ v: 0, just: new Set<string>() }]).filter((x) => !only || only(x.v));
      const x = dom[this.choose(dom.length)]!;
      for (const s of x.just) this.just.add(s);
      return { id: this.emit({ dir: "R", loc, value: x.v, tags, addr, data: [] }), v: x.v };
    }
    const dom = (this.domains.get(loc) ?? [0]).filter((v) => !only || only(v));
    const v = dom[this.choose(dom.length)]!;
    return { id: this.emit({ dir: "R", loc, value: v, tags, addr, data: [] }), v };
  }

  private address(e: Expr): { loc: string; deps: number[] } {
    const a = this.eval(e);
    if (typeof a.v === "number") {
      // An integer read from memory: while the domains are computed, the path just ends; else
      // it ends with a fault, an error if an allowed execution takes it (candidates.ts).
      if (a.deps.length) throw this.justified ? IMPOSSIBLE : new Fault({ line: this.line, text: this.text, value: a.v });
      throw new LitmusRunError(this.ast.file, this.line, `"${this.text}" dereferences ${a.v}, which is not the address of a location`);
    }
    return { loc: a.v.addr, deps: a.deps };
  }

  private eval(e: Expr): DVal {
    switch (e.k) {
      case "int": return { v: e.v, deps: [] };
      case "addr": return { v: { addr: e.loc }, deps: [] };
      case "reg": return this.regs.get(e.name) ?? { v: 0, deps: [] };
      case "deref": {
        const a = this.address(e.a);
        const r = this.read(a.loc, 0, a.deps);
        return { v: r.v, deps: [r.id] };
      }
      case "un": {
        const a = this.eval(e.a);
        return { v: unary(e.op, a.v, this), deps: a.deps };
      }
      case "bin": {
        const a = this.eval(e.a), b = this.eval(e.b);
        return { v: binary(e.op, a.v, b.v, this), deps: union(a.deps, b.deps) };
      }
      case "cond": {
        const c = this.eval(e.c);
        const r = truthy(c.v) ? this.eval(e.a) : this.eval(e.b);
        return { v: r.v, deps: union(c.deps, r.deps) };
      }
      case "call": return this.call(PRIMITIVES[e.fn]!, e.args);
    }
  }

  fail(msg: string): never { throw new LitmusRunError(this.ast.file, this.line, `"${this.text}": ${msg}`); }

  private loc(arg: Expr, kind: string): { loc: string; deps: number[] } {
    return this.address(kind === "*loc" && arg.k === "deref" ? arg.a : arg);
  }

  private call(p: Primitive, args: Expr[]): DVal {
    switch (p.op) {
      case "load": {
        const a = this.loc(args[0]!, p.args[0]!);
        const r = this.read(a.loc, p.order === "acquire" ? TAG.ACQUIRE : TAG.ONCE, a.deps);
        return { v: r.v, deps: [r.id] };
      }
      case "store": {
        const a = this.loc(args[0]!, p.args[0]!);
        const v = this.eval(args[1]!);
        this.emit({ dir: "W", loc: a.loc, value: v.v, tags: p.order === "release" ? TAG.RELEASE : TAG.ONCE, addr: a.deps, data: v.deps });
        if (p.mb) this.emit({ dir: "F", loc: null, value: null, tags: TAG.MB, addr: [], data: [] });
        return { v: 0, deps: [] };
      }
      case "fence":
        this.emit({ dir: "F", loc: null, value: null, tags: FENCE_TAG[p.fence], addr: [], data: [] });
        return { v: 0, deps: [] };
      case "xchg": {
        const a = this.loc(args[0]!, "loc");
        const v = this.eval(args[1]!);
        const r = this.read(a.loc, readTags(p.order), a.deps);
        this.rmwWrite(a, r.id, v.v, v.deps, writeTags(p.order));
        return { v: r.v, deps: [r.id] };
      }
      case "cmpxchg": {
        const a = this.loc(args[0]!, "loc");
        const old = this.eval(args[1]!), nu = this.eval(args[2]!);
        const r = this.read(a.loc, readTags(p.order), a.deps);
        if (valKey(r.v) === valKey(old.v)) this.rmwWrite(a, r.id, nu.v, nu.deps, writeTags(p.order));
        else this.events[r.id]!.tags = TAG.RMW | TAG.ONCE; // a failed cmpxchg orders nothing
        return { v: r.v, deps: [r.id] };
      }
      case "atomic": {
        const by = p.by === 1 ? { v: 1 as Val, deps: [] as number[] } : this.eval(args[0]!);
        const a = this.loc(args[p.by === 1 ? 0 : 1]!, "loc");
        const rt = p.result === "none" ? TAG.RMW | TAG.NORETURN : readTags(p.order);
        const r = this.read(a.loc, rt, a.deps);
        const nu = binary(p.sign > 0 ? "+" : "-", r.v, by.v, this);
        this.rmwWrite(a, r.id, nu, by.deps, p.result === "none" ? TAG.RMW | TAG.ONCE : writeTags(p.order));
        const result: Val = p.result === "old" ? r.v : p.result === "new" || p.result === "none" ? nu
          : p.result === "is-zero" ? Number(valKey(nu) === "0") : Number(typeof nu === "number" && nu < 0);
        return { v: result, deps: [r.id] };
      }
      case "add-unless": {
        const a = this.loc(args[0]!, "loc");
        const add = this.eval(args[1]!), unless = this.eval(args[2]!);
        const r = this.read(a.loc, readTags("mb"), a.deps);
        if (valKey(r.v) === valKey(unless.v)) { this.events[r.id]!.tags = TAG.RMW | TAG.ONCE; return { v: 0, deps: [r.id] }; }
        this.rmwWrite(a, r.id, binary("+", r.v, add.v, this), add.deps, writeTags("mb"));
        return { v: 1, deps: [r.id] };
      }
      case "spin_lock": {
        const a = this.loc(args[0]!, "loc");
        this.lock(a);
        return { v: 0, deps: [] };
      }
      case "spin_unlock": {
        const a = this.loc(args[0]!, "loc");
        this.emit({ dir: "W", loc: a.loc, value: 0, tags: TAG.UL, addr: a.deps, data: [] });
        return { v: 0, deps: [] };
      }
      case "spin_trylock": {
        const a = this.loc(args[0]!, "loc");
        if (this.choose(2) === 0) { this.lock(a); return { v: 1, deps: [] }; }
        const r = this.read(a.loc, TAG.LF, a.deps, (v) => v === 1);
        return { v: 0, deps: [r.id] };
      }
      case "spin_is_locked": {
        const a = this.loc(args[0]!, "loc");
        const locked = this.choose(2) === 0;
        // Returning true is a read of a lock write (herd7's RL, treated as LF); false reads an unlock (RU).
        const r = this.read(a.loc, locked ? TAG.LF : TAG.RU, a.deps, (v) => v === (locked ? 1 : 0));
        return { v: locked ? 1 : 0, deps: [r.id] };
      }
      case "srcu_read_lock": {
        const a = this.loc(args[0]!, "loc");
        const r = this.read(a.loc, TAG.SRCU_LOCK, a.deps);
        return { v: r.v, deps: [r.id] };
      }
      case "srcu_read_unlock": {
        const a = this.loc(args[0]!, "loc");
        const v = this.eval(args[1]!);
        this.emit({ dir: "W", loc: a.loc, value: v.v, tags: TAG.SRCU_UNLOCK, addr: a.deps, data: v.deps });
        return { v: 0, deps: [] };
      }
      case "synchronize_srcu": {
        const a = this.loc(args[0]!, "loc");
        this.emit({ dir: "F", loc: a.loc, value: null, tags: TAG.SYNC_SRCU, addr: a.deps, data: [] });
        return { v: 0, deps: [] };
      }
    }
  }

  /** spin_lock: a lock read that sees the lock free (0), then the lock write (1). */
  private lock(a: { loc: string; deps: number[] }): void {
    const r = this.read(a.loc, TAG.LKR, a.deps, (v) => v === 0);
    this.rmwWrite(a, r.id, 1, [], TAG.LKW);
  }

  private rmwWrite(a: { loc: string; deps: number[] }, read: number, v: Val, data: number[], tags: number): void {
    this.emit({ dir: "W", loc: a.loc, value: v, tags, addr: a.deps, data, rmwRead: read });
  }
}

const IMPOSSIBLE = Symbol("impossible path");

/** Thrown inside a path that dereferences an integer it read; caught by run(). */
class Fault {
  constructor(readonly fault: PathFault) {}
}

/** The error of an allowed execution in which a path dereferenced an integer it read. */
export function faultError(ast: LitmusAst, f: PathFault): LitmusRunError {
  return new LitmusRunError(ast.file, f.line, `"${f.text}" dereferences ${f.value}, which is not the address of a location ` +
    "(a value read from memory, in an execution the model allows)");
}

function readTags(o: Order): number {
  return TAG.RMW | (o === "acquire" ? TAG.ACQUIRE : o === "mb" ? TAG.MB : TAG.ONCE);
}
function writeTags(o: Order): number {
  return TAG.RMW | (o === "release" ? TAG.RELEASE : o === "mb" ? TAG.MB : TAG.ONCE);
}

function union(a: number[], b: number[]): number[] { return a.length === 0 ? b : b.length === 0 ? a : [...new Set([...a, ...b])]; }

export function truthy(v: Val): boolean { return typeof v === "number" ? v !== 0 : true; }

function unary(op: string, a: Val, r: { fail(m: string): never }): Val {
  if (op === "!") return Number(!truthy(a));
  if (typeof a !== "number") return r.fail(`${op} applied to the address ${a.addr}`);
  // ~a is −a − 1 for every integer (a number's ~ would cut a to 32 bits first).
  return op === "-" ? -a : -a - 1;
}

/** The largest integer a value holds exactly (litmus literals past it are refused by the tokenizer too). */
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

function binary(op: string, a: Val, b: Val, r: { fail(m: string): never }): Val {
  if (op === "==") return Number(valKey(a) === valKey(b));
  if (op === "!=") return Number(valKey(a) !== valKey(b));
  if (op === "&&") return Number(truthy(a) && truthy(b));
  if (op === "||") return Number(truthy(a) || truthy(b));
  if (typeof a !== "number" || typeof b !== "number") {
    // Pointer arithmetic only as far as herd7's tests use it: an address plus or minus 0, and p - p.
    if (op === "+" && typeof a !== "number" && b === 0) return a;
    if ((op === "+" || op === "-") && typeof b !== "number" && a === 0 && op === "+") return b;
    if (op === "-" && typeof a !== "number" && b === 0) return a;
    if (op === "-" && typeof a !== "number" && typeof b !== "number" && a.addr === b.addr) return 0;
    return r.fail(`arithmetic ${op} on an address (${valText(a)} ${op} ${valText(b)}) is not supported`);
  }
  // Exact integers, as herd7's are (a JavaScript number's bitwise operators would cut them to
  // 32 bits: 1 << 40 to 256), and a result the explorer cannot hold exactly is refused.
  const exact = (v: number | bigint): Val => {
    if (typeof v === "bigint" ? v >= -MAX_EXACT && v <= MAX_EXACT : Number.isSafeInteger(v)) return Number(v);
    return r.fail(`${a} ${op} ${b} is ${v}, past what the explorer holds exactly (integers up to 2^53 − 1, either sign)`);
  };
  const shift = (): bigint => (b < 0 || b > 63 ? r.fail(`a shift by ${b} is undefined (0..63)`) : BigInt(b));
  switch (op) {
    case "+": return exact(a + b);
    case "-": return exact(a - b);
    case "*": return exact(a * b);
    case "/": return b === 0 ? r.fail("division by zero") : Math.trunc(a / b);
    case "%": return b === 0 ? r.fail("division by zero") : a % b;
    case "&": return exact(BigInt(a) & BigInt(b));
    case "|": return exact(BigInt(a) | BigInt(b));
    case "^": return exact(BigInt(a) ^ BigInt(b));
    case "<<": return exact(BigInt(a) << shift());
    case ">>": return exact(BigInt(a) >> shift());
    case "<": return Number(a < b);
    case "<=": return Number(a <= b);
    case ">": return Number(a > b);
    case ">=": return Number(a >= b);
  }
  return r.fail(`unknown operator ${op}`);
}

/** Every path of one thread under the given domains. */
export function threadPaths(ast: LitmusAst, th: ThreadAst, domains: Domains, maxPaths: number, partial = false,
                            justified?: Map<string, Justified[]>): { paths: ThreadPath[]; capped: boolean } {
  const paths: ThreadPath[] = [];
  const choices: Choice[] = [];
  for (;;) {
    const path = new PathRunner(ast, th, domains, choices, justified).run(partial);
    if (path) paths.push(path);
    if (paths.length >= maxPaths) return { paths, capped: true };
    // Next choice vector: the odometer, last choice first.
    while (choices.length && choices[choices.length - 1]!.picked + 1 >= choices[choices.length - 1]!.count) choices.pop();
    if (!choices.length) return { paths, capped: false };
    choices[choices.length - 1]!.picked++;
  }
}

/** How many different chains of writes one value of one location is remembered with (valueDomains). */
const JUSTIFICATIONS = 2;

/** Most values one location may hold, and most paths per thread, before a run says it was cut short. */
export const DOMAIN_LIMITS = { values: 32, pathsPerThread: 50000 };

/**
 * The value domains: initial values, then every value some path writes, until stable. Each value
 * carries the write slots (thread, event) its chain of writes went through, and a write may not
 * rest on its own slot: a counter incremented from whatever it read (r = *c; *c = r + 1 on two
 * CPUs) then stops at the values real executions reach instead of growing for ever. A location
 * written with a value computed from reads may also hold any integer the test mentions (its code
 * or its condition): herd7 solves reads-from as equations, so a cycle of copies (r = *x; *y = r
 * on one side, the reverse on the other) may carry a value that no single write produces alone.
 */
export function valueDomains(ast: LitmusAst): { domains: Domains; complete: boolean } {
  const justified = new Map<string, Justified[]>();
  for (const loc of ast.locations) justified.set(loc, [{ v: ast.init.get(loc) ?? 0, just: new Set() }]);
  const literals = testIntegers(ast);
  const add = (loc: string, v: Val, just: Set<string>): boolean => {
    const dom = justified.get(loc) ?? [];
    // Keep a value once per minimal set of slots (a superset justifies nothing more), and at
    // most JUSTIFICATIONS of them, the smallest: each one multiplies the paths that read it.
    const same = dom.filter((x) => valEq(x.v, v));
    if (same.some((x) => [...x.just].every((s) => just.has(s)))) return false;
    if (same.length >= JUSTIFICATIONS) {
      const largest = same.reduce((a, b) => (b.just.size > a.just.size ? b : a));
      if (largest.just.size <= just.size) return false;
      dom.splice(dom.indexOf(largest), 1);
    }
    dom.push({ v, just });
    justified.set(loc, dom);
    return true;
  };
  const domains = (): Domains => {
    const out: Domains = new Map();
    for (const [loc, xs] of justified) {
      const vs: Val[] = [];
      for (const x of xs) if (!vs.some((v) => valEq(v, x.v))) vs.push(x.v);
      out.set(loc, vs);
    }
    return out;
  };
  for (;;) {
    let grew = false;
    for (const th of ast.threads) {
      // Paths cut off by a value nobody wrote yet still count: their writes before that feed the domains.
      const { paths, capped } = threadPaths(ast, th, new Map(), DOMAIN_LIMITS.pathsPerThread, true, justified);
      if (capped) return { domains: domains(), complete: false };
      for (const p of paths) {
        for (const e of p.events) {
          if (e.dir !== "W" || e.loc === null || e.value === null || !e.just) continue;
          if (add(e.loc, e.value, e.just)) grew = true;
          if (e.data.length) for (const v of literals) if (add(e.loc, v, new Set())) grew = true;
        }
      }
    }
    const d = domains();
    if ([...d.values()].some((vs) => vs.length > DOMAIN_LIMITS.values)) return { domains: d, complete: false };
    if (!grew) return { domains: d, complete: true };
  }
}

/** Every integer written in the test's code or condition. */
function testIntegers(ast: LitmusAst): number[] {
  const out = new Set<number>();
  const expr = (e: Expr): void => {
    switch (e.k) {
      case "int": out.add(e.v); return;
      case "deref": case "un": expr(e.a); return;
      case "bin": expr(e.a); expr(e.b); return;
      case "cond": expr(e.c); expr(e.a); expr(e.b); return;
      case "call": e.args.forEach(expr); return;
    }
  };
  const stmts = (ss: Stmt[]): void => {
    for (const s of ss) {
      if (s.k === "assign" || s.k === "expr") expr(s.e);
      if (s.k === "store") { expr(s.addr); expr(s.e); }
      if (s.k === "if") { expr(s.c); stmts(s.then); stmts(s.else); }
    }
  };
  ast.threads.forEach((t) => stmts(t.body));
  const cond = (c: Cond): void => {
    if (c.k === "and" || c.k === "or") { cond(c.a); cond(c.b); }
    else if (c.k === "not") cond(c.a);
    else if (c.k === "eq") for (const o of [c.a, c.b]) if (o.k === "int") out.add(o.v);
  };
  cond(ast.cond);
  if (ast.filter) cond(ast.filter);
  return [...out];
}
