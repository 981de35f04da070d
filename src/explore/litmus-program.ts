// A litmus test as a program of the operational explorer (./model.ts), for the subset of the
// dialect it can run: int locations, READ_ONCE/WRITE_ONCE, plain accesses,
// smp_load_acquire/smp_store_release, smp_wmb/smp_rmb/smp_mb, `if` with control dependencies,
// register arithmetic, an `exists` clause. The scenario explorer's own tests cross-check it
// (schedules, sleep sets) on litmus programs; litmus verdicts come from ./litmus.ts.

import { LITMUS_MAX_NESTING, LitmusError, tokenize, type Tok } from "./lkmm/syntax.js";
import type { AccessMode, Dep, Program, Regs, Step } from "./model.js";

/** The `exists` condition. */
export type LitmusCond =
  | { kind: "and" | "or"; left: LitmusCond; right: LitmusCond }
  | { kind: "not"; arg: LitmusCond }
  | { kind: "reg"; thread: number; reg: string; value: number }
  | { kind: "var"; var: string; value: number };

export interface LitmusProgram {
  name: string;
  program: Program;
  exists: LitmusCond;
  observed: string[];
}

// ---------------------------------------------------------------------------------------------
// The parser, over the LKMM engine's tokens (src/explore/lkmm/syntax.ts: one lexer for C litmus files).

/** A compiled expression over registers: its live registers (written earlier) and its value. */
interface Expr { regs: Set<string>; fn: (regs: Regs) => number }
interface Guard { regs: Set<string>; test: (regs: Regs) => boolean; text: string }
interface Proc {
  index: number;
  name: string;
  params: Set<string>;
  declared: Set<string>;
  /** Registers some earlier step writes; others still hold their initial 0. */
  written: Set<string>;
  guards: Guard[];
  steps: Step[];
}

/** The operational program of a litmus test in the explorer's subset; a LitmusError names what is outside it. */
export function litmusProgram(src: string, file = "<litmus>"): LitmusProgram {
  return new Parser(src, file).parse();
}


class Parser {
  private toks: Tok[] = [];
  private p = 0;
  /** Nesting of the expression or condition being parsed (see LITMUS_MAX_NESTING). */
  private depth = 0;

  /** Runs `f` one level deeper; a file past LITMUS_MAX_NESTING is refused at the token that goes too deep. */
  private nested<T>(levels: number, f: () => T): T {
    if (this.depth + levels > LITMUS_MAX_NESTING) {
      this.fail(this.tok().start, `nested deeper than ${LITMUS_MAX_NESTING} levels (parentheses, ~ ! -, chained ` +
        "operators, if): split the expression or the clause");
    }
    this.depth += levels;
    try {
      return f();
    } finally {
      this.depth -= levels;
    }
  }
  constructor(private readonly src: string, private readonly file: string) {}

  parse(): LitmusProgram {
    const { name, end } = this.header();
    this.toks = tokenize(this.src, end, (at, msg) => this.fail(at, msg));
    const init = this.peek("{") ? this.init() : {};
    const procs: Proc[] = [];
    while (this.peekId() && /^P[0-9]+$/.test(this.tok().text)) procs.push(this.process(procs));
    if (procs.length === 0) this.expected("a process P0(...) { ... }");
    procs.forEach((pr, k) => { if (pr.index !== k) this.fail(0, `processes must be P0..P${procs.length - 1} in order; process ${k} is ${pr.name}`); });
    const shared = new Set([...Object.keys(init), ...procs.flatMap((pr) => [...pr.params])]);
    const observed: string[] = [];
    this.word("exists");
    const exists = this.cond(procs, shared, observed);
    if (this.tok().kind !== "eof") this.expected("end of file after the exists clause");
    return {
      name, exists, observed,
      program: { init, threads: procs.map((pr) => ({ name: pr.name, steps: pr.steps })) },
    };
  }

  /** First non-blank line: "C <name>". */
  private header(): { name: string; end: number } {
    const m = /^\s*C[ \t]+(\S+)[^\n]*(\n|$)/.exec(this.src);
    if (!m) this.fail(this.src.length - this.src.trimStart().length, 'expected the header line "C <test name>"');
    return { name: m[1]!, end: m[0].length };
  }

  // --- init: { x = 1; int y = 2; }
  private init(): Record<string, number> {
    this.punct("{");
    const out: Record<string, number> = {};
    while (!this.peek("}")) {
      if (this.peekWord("int")) this.p++;
      const v = this.ident("a variable name in the initial state");
      this.punct("=");
      out[v] = this.signedInt();
      if (!this.peek("}")) this.punct(";");
    }
    this.punct("}");
    return out;
  }

  // --- P0(int *x, int *y) { ... }
  private process(before: Proc[]): Proc {
    const head = this.tok();
    const index = Number(head.text.slice(1));
    if (before.some((q) => q.index === index)) this.fail(head.start, `process ${head.text} is defined twice`);
    this.p++;
    const pr: Proc = { index, name: head.text, params: new Set(), declared: new Set(), written: new Set(), guards: [], steps: [] };
    this.punct("(");
    while (!this.peek(")")) {
      this.word("int");
      this.punct("*");
      pr.params.add(this.ident("a parameter name"));
      if (!this.peek(")")) this.punct(",");
    }
    this.punct(")");
    this.block(pr);
    return pr;
  }

  private block(pr: Proc): void {
    this.punct("{");
    while (!this.peek("}")) this.statement(pr);
    this.punct("}");
  }

  private statement(pr: Proc): void {
    const t = this.tok();
    if (this.peek(";")) { this.p++; return; }
    if (this.peek("{")) return this.nested(1, () => this.block(pr));
    if (t.kind !== "id" && !this.peek("*")) this.expected("a statement");
    switch (t.text) {
      case "int": return this.declaration(pr);
      case "if": return this.ifStatement(pr);
      case "WRITE_ONCE": return this.storeCall(pr, "once");
      case "smp_store_release": return this.storeCall(pr, "release");
      case "smp_wmb": case "smp_rmb": case "smp_mb": return this.fence(pr);
    }
    if (this.peek("*")) return this.plainStore(pr);
    if (this.toks[this.p + 1]?.text === "(")
      this.fail(t.start, `unknown call ${t.text}(...): expected WRITE_ONCE, smp_store_release, smp_wmb, smp_rmb, smp_mb, or r = READ_ONCE(*x) / smp_load_acquire(x)`);
    return this.assignment(pr);
  }

  // int r0; int r1, r2 = 0;
  private declaration(pr: Proc): void {
    const start = this.tok().start;
    this.p++;
    for (;;) {
      const at = this.tok();
      const r = this.ident("a register name");
      if (pr.params.has(r)) this.fail(at.start, `${r} is already a shared variable of ${pr.name}`);
      pr.declared.add(r);
      if (this.peek("=")) {
        this.p++;
        const e = this.expr(pr);
        this.emitAssign(pr, r, e, start);
      }
      if (this.peek(";")) break;
      this.punct(",");
    }
    this.punct(";");
  }

  // if (cond) stmt [else stmt]
  private ifStatement(pr: Proc): void {
    this.p++;
    this.punct("(");
    const cs = this.tok().start;
    const cond = this.expr(pr);
    const text = this.text(cs, this.prev().end);
    this.punct(")");
    pr.guards.push({ regs: cond.regs, test: (r) => cond.fn(r) !== 0, text });
    this.nested(1, () => this.statement(pr));
    pr.guards.pop();
    if (this.peekWord("else")) {
      this.p++;
      pr.guards.push({ regs: cond.regs, test: (r) => cond.fn(r) === 0, text: `!(${text})` });
      this.nested(1, () => this.statement(pr));
      pr.guards.pop();
    }
  }

  // WRITE_ONCE(*x, e);  smp_store_release(x, e);
  private storeCall(pr: Proc, mode: AccessMode): void {
    const start = this.tok().start;
    this.p++;
    this.punct("(");
    if (mode === "once") this.punct("*");
    const v = this.sharedVar(pr);
    this.punct(",");
    const e = this.expr(pr);
    this.punct(")");
    this.punct(";");
    this.emitStore(pr, v, mode, e, start);
  }

  // *x = e;
  private plainStore(pr: Proc): void {
    const start = this.tok().start;
    this.punct("*");
    const v = this.sharedVar(pr);
    this.punct("=");
    const e = this.expr(pr);
    this.punct(";");
    this.emitStore(pr, v, "plain", e, start);
  }

  private fence(pr: Proc): void {
    const t = this.tok();
    this.p++;
    this.punct("(");
    this.punct(")");
    this.punct(";");
    const fence = t.text.slice(4) as "wmb" | "rmb" | "mb";
    this.emit(pr, { kind: "fence", fence, label: "" }, [], t.start);
  }

  // r = READ_ONCE(*x); r = smp_load_acquire(x); r = *x; r = expr;
  private assignment(pr: Proc): void {
    const at = this.tok();
    const start = at.start;
    const r = this.register(pr);
    this.punct("=");
    let load: { var: string; mode: AccessMode } | undefined;
    if (this.peekWord("READ_ONCE")) {
      this.p++; this.punct("("); this.punct("*");
      load = { var: this.sharedVar(pr), mode: "once" };
      this.punct(")");
    } else if (this.peekWord("smp_load_acquire")) {
      this.p++; this.punct("(");
      load = { var: this.sharedVar(pr), mode: "acquire" };
      this.punct(")");
    } else if (this.peek("*")) {
      this.p++;
      load = { var: this.sharedVar(pr), mode: "plain" };
    }
    if (load) {
      this.punct(";");
      this.emit(pr, { kind: "load", var: load.var, mode: load.mode, reg: r, label: "" }, [], start);
      pr.written.add(r);
      return;
    }
    const e = this.expr(pr);
    this.punct(";");
    this.emitAssign(pr, r, e, start);
  }

  // --- emitting steps: the enclosing ifs become a guard and control dependencies.

  private emitStore(pr: Proc, v: string, mode: AccessMode, e: Expr, start: number): void {
    this.emit(pr, { kind: "store", var: v, mode, value: e.fn, label: "" }, [...e.regs].map((reg) => ({ reg, kind: "data" })), start);
  }

  private emitAssign(pr: Proc, r: string, e: Expr, start: number): void {
    this.emit(pr, { kind: "assign", reg: r, value: e.fn, label: "" }, [...e.regs].map((reg) => ({ reg, kind: "data" })), start);
    pr.written.add(r);
  }

  private emit(pr: Proc, step: Step, own: Dep[], start: number): void {
    const guards = pr.guards.slice();
    const deps: Dep[] = [];
    const add = (d: Dep) => { if (!deps.some((x) => x.reg === d.reg && x.kind === d.kind)) deps.push(d); };
    for (const g of guards) for (const reg of g.regs) add({ reg, kind: "ctrl" });
    own.forEach(add);
    step.label = guards.map((g) => `if (${g.text}) `).join("") + this.text(start, this.prev().end);
    if (deps.length) step.deps = deps;
    if (guards.length) step.guard = (regs) => guards.every((g) => g.test(regs));
    pr.steps.push(step);
  }

  // --- expressions: integers, registers, ( ), unary ! and -, binary + -, == and !=.

  private expr(pr: Proc): Expr {
    const left = this.additive(pr);
    if (!this.peek("==") && !this.peek("!=")) return left;
    const eq = this.tok().text === "==";
    this.p++;
    const right = this.additive(pr);
    return { regs: union(left.regs, right.regs), fn: (r) => Number((left.fn(r) === right.fn(r)) === eq) };
  }

  private additive(pr: Proc): Expr {
    let acc = this.unary(pr);
    for (let n = 1; this.peek("+") || this.peek("-"); n++) {
      const plus = this.tok().text === "+";
      this.p++;
      const a = acc, b = this.nested(n, () => this.unary(pr));
      acc = { regs: union(a.regs, b.regs), fn: plus ? (r) => a.fn(r) + b.fn(r) : (r) => a.fn(r) - b.fn(r) };
    }
    return acc;
  }

  private unary(pr: Proc): Expr {
    if (this.peek("!") || this.peek("-")) {
      const not = this.tok().text === "!";
      this.p++;
      const a = this.nested(1, () => this.unary(pr));
      return { regs: a.regs, fn: not ? (r) => Number(a.fn(r) === 0) : (r) => -a.fn(r) };
    }
    if (this.peek("(")) {
      this.p++;
      const e = this.nested(1, () => this.expr(pr));
      this.punct(")");
      return e;
    }
    const t = this.tok();
    if (t.kind === "int") { this.p++; const v = Number(t.text); return { regs: new Set(), fn: () => v }; }
    if (t.kind !== "id") this.expected("an integer, a register or (");
    const r = this.register(pr);
    // A register nothing has written yet still holds 0: no dependency, just the constant.
    if (!pr.written.has(r)) return { regs: new Set(), fn: () => 0 };
    return { regs: new Set([r]), fn: (regs) => regs[r] ?? 0 };
  }

  // --- exists (1:r0=1 /\ ~(x=0 \/ ...))

  private cond(procs: Proc[], shared: Set<string>, observed: string[]): LitmusCond {
    let left = this.conj(procs, shared, observed);
    for (let n = 1; this.peek("\\/"); n++) {
      this.p++;
      const l = left;
      left = this.nested(n, () => ({ kind: "or", left: l, right: this.conj(procs, shared, observed) }));
    }
    return left;
  }

  private conj(procs: Proc[], shared: Set<string>, observed: string[]): LitmusCond {
    let left = this.atom(procs, shared, observed);
    for (let n = 1; this.peek("/\\"); n++) {
      this.p++;
      const l = left;
      left = this.nested(n, () => ({ kind: "and", left: l, right: this.atom(procs, shared, observed) }));
    }
    return left;
  }

  private atom(procs: Proc[], shared: Set<string>, observed: string[]): LitmusCond {
    if (this.peek("~")) { this.p++; return { kind: "not", arg: this.nested(1, () => this.atom(procs, shared, observed)) }; }
    if (this.peek("(")) {
      this.p++;
      const c = this.nested(1, () => this.cond(procs, shared, observed));
      this.punct(")");
      return c;
    }
    const t = this.tok();
    const see = (loc: string) => { if (!observed.includes(loc)) observed.push(loc); };
    if (t.kind === "int") {
      const thread = Number(t.text);
      this.p++;
      this.punct(":");
      const rt = this.tok();
      const reg = this.ident("a register name");
      const pr = procs[thread];
      if (!pr) this.fail(t.start, `exists names thread ${thread}, but the test has only P0..P${procs.length - 1}`);
      if (!pr.declared.has(reg)) this.fail(rt.start, `exists names ${thread}:${reg}, but ${pr.name} declares no register ${reg}`);
      this.punct("=");
      see(`${thread}:${reg}`);
      return { kind: "reg", thread, reg, value: this.signedInt() };
    }
    if (t.kind === "id") {
      const v = this.ident("a location");
      if (!shared.has(v)) this.fail(t.start, `exists names ${v}, which is neither a shared variable nor N:register`);
      this.punct("=");
      see(v);
      return { kind: "var", var: v, value: this.signedInt() };
    }
    return this.expected("N:register=value, variable=value, ~ or (");
  }

  // --- token helpers

  private tok(): Tok { return this.toks[this.p]!; }
  private prev(): Tok { return this.toks[this.p - 1]!; }
  private peek(p: string): boolean { const t = this.tok(); return t.kind === "punct" && t.text === p; }
  private peekId(): boolean { return this.tok().kind === "id"; }
  private peekWord(w: string): boolean { const t = this.tok(); return t.kind === "id" && t.text === w; }

  private punct(p: string): void {
    if (!this.peek(p)) this.expected(JSON.stringify(p));
    this.p++;
  }
  private word(w: string): void {
    if (!this.peekWord(w)) this.expected(JSON.stringify(w));
    this.p++;
  }
  private ident(what: string): string {
    const t = this.tok();
    if (t.kind !== "id") this.expected(what);
    this.p++;
    return t.text;
  }
  private signedInt(): number {
    const neg = this.peek("-");
    if (neg) this.p++;
    const t = this.tok();
    if (t.kind !== "int") this.expected("an integer");
    this.p++;
    return neg ? -Number(t.text) : Number(t.text);
  }

  private sharedVar(pr: Proc): string {
    const t = this.tok();
    const v = this.ident("a shared variable");
    if (!pr.params.has(v)) this.fail(t.start, `${v} is not a parameter of ${pr.name} (its shared variables: ${[...pr.params].join(", ") || "none"})`);
    return v;
  }

  private register(pr: Proc): string {
    const t = this.tok();
    const r = this.ident("a register");
    if (pr.params.has(r)) this.fail(t.start, `${r} is a shared variable: access it with READ_ONCE(*${r}), *${r} or WRITE_ONCE(*${r}, v)`);
    if (!pr.declared.has(r)) this.fail(t.start, `register ${r} is not declared in ${pr.name} (expected "int ${r};" before this)`);
    return r;
  }

  private text(from: number, to: number): string { return this.src.slice(from, to).replace(/\s+/g, " ").trim(); }

  private expected(what: string): never {
    const t = this.tok();
    return this.fail(t.start, `expected ${what}, found ${t.kind === "eof" ? "end of file" : JSON.stringify(t.text)}`);
  }

  private fail(at: number, msg: string): never {
    const before = this.src.slice(0, at);
    const line = before.split("\n").length;
    const col = at - before.lastIndexOf("\n");
    throw new LitmusError(this.file, line, col, msg);
  }
}

function union<T>(a: Set<T>, b: Set<T>): Set<T> { return new Set([...a, ...b]); }
