// The C litmus dialect of herd7 as the Linux kernel's litmus tests write it, read into a syntax
// tree: the "C name" header and the diy information lines after it, the initial state
// (`{ int x; y=1; int *p = &x; p=x; atomic_t a = ATOMIC_INIT(1); 0:r1=2; }`), processes
// `P0(int *x, spinlock_t *l, struct srcu_struct *s)` with declarations, assignments, calls
// (READ_ONCE, the xchg/cmpxchg/atomic families, locks, RCU, SRCU, fences), casts, `*p`
// dereferences and if/else; then `locations [...]`, `filter (...)` and the final condition
// (`exists`, `~exists` or `forall` over `/\`, `\/`, `~`, `0:r0=1`, `x=2`, `0:r1=x`, `0:r0=1:r0`,
// `==` and `!=`), which herd7 lets a test leave out: then it checks `forall (true)`.
// What each call means is the table in ./primitives.ts; this file only checks names and arity.

import { IommuSimError } from "../../errors.js";
import { PRIMITIVES } from "./primitives.js";

/** Bad litmus syntax: where (file:line:col) and what was expected. */
export class LitmusError extends IommuSimError {
  override name = "LitmusError";
  constructor(readonly file: string, readonly line: number, readonly col: number, readonly problem: string) {
    super(`${file}:${line}:${col}: ${problem}`);
  }
}

/** A value: an integer, or the address of a shared location (herd's pointer values). */
export type Val = number | { addr: string };

export type Expr =
  | { k: "int"; v: number }
  | { k: "reg"; name: string }
  | { k: "addr"; loc: string }
  | { k: "deref"; a: Expr }
  | { k: "un"; op: "!" | "-" | "~"; a: Expr }
  | { k: "bin"; op: string; a: Expr; b: Expr }
  | { k: "cond"; c: Expr; a: Expr; b: Expr }
  | { k: "call"; fn: string; args: Expr[] };

export interface Where { line: number; text: string }
export type Stmt =
  | ({ k: "expr"; e: Expr } & Where)
  | ({ k: "assign"; reg: string; e: Expr } & Where)
  /** `int r;` — names a register without changing it (it may have an initial value from the state). */
  | ({ k: "declare"; reg: string } & Where)
  | ({ k: "store"; addr: Expr; e: Expr } & Where)
  | ({ k: "if"; c: Expr; then: Stmt[]; else: Stmt[] } & Where);

export interface ThreadAst { index: number; name: string; params: string[]; body: Stmt[]; line: number }

/** An operand of the final condition: a register, a location's final value, an integer or an address. */
export type Operand =
  | { k: "reg"; thread: number; reg: string }
  | { k: "loc"; loc: string }
  | { k: "int"; v: number }
  | { k: "addr"; loc: string };

export type Cond =
  | { k: "and" | "or"; a: Cond; b: Cond }
  | { k: "not"; a: Cond }
  | { k: "eq"; a: Operand; b: Operand }
  | { k: "const"; v: boolean };

export type Quantifier = "exists" | "~exists" | "forall";

export interface LitmusAst {
  name: string;
  file: string;
  /** Initial values of shared locations (absent: 0). */
  init: Map<string, Val>;
  /** Initial register values, "N:reg" → value. */
  initRegs: Map<string, Val>;
  /** Every shared location: the initial state's and every process parameter. */
  locations: string[];
  threads: ThreadAst[];
  /** The `locations [...]` line: more places to show in each final state. */
  shown: Operand[];
  filter?: Cond;
  quantifier: Quantifier;
  cond: Cond;
  /** The condition as written, for the output. */
  condText: string;
}

/** A token of a C litmus file (also read by the older program builder, src/explore/litmus-program.ts). */
export interface Tok { kind: "id" | "int" | "punct" | "str" | "eof"; text: string; start: number; end: number }

// Longest first: "/\" before "/", "<<" before "<".
const PUNCT = ["/\\", "\\/", "==", "!=", "<=", ">=", "&&", "||", "<<", ">>", "->", "(", ")", "{", "}", "[", "]", ";", ",",
  "*", "=", "+", "-", "!", "~", ":", "&", "|", "^", "<", ">", "/", "%", "?", "."];

/** Type words a declaration, parameter or cast may use. */
const TYPE_WORDS = new Set(["int", "long", "unsigned", "signed", "char", "short", "bool", "_Bool", "intptr_t", "uintptr_t",
  "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "atomic_t", "atomic_long_t", "spinlock_t", "struct", "const", "volatile", "void"]);

/** The deepest an expression or condition may nest; deeper files are refused rather than overflowing the stack. */
export const LITMUS_MAX_NESTING = 200;

const INT_LITERAL = /0x[0-9a-fA-F]+|[0-9]+/y;

export function tokenize(src: string, from: number, err: (at: number, msg: string) => never): Tok[] {
  const out: Tok[] = [];
  let i = from, depth = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (src.startsWith("//", i)) { const e = src.indexOf("\n", i); i = e < 0 ? src.length : e; continue; }
    if (src.startsWith("/*", i)) { i = skipComment(src, i, "*/", err); continue; }
    // herd's (* *) is a comment only outside braces: inside a process "(*x" is a parenthesis and a star.
    if (depth === 0 && src.startsWith("(*", i)) { i = skipComment(src, i, "*)", err); continue; }
    if (c === '"') {
      const e = src.indexOf('"', i + 1);
      if (e < 0) err(i, "string is not closed (expected '\"')");
      out.push({ kind: "str", text: src.slice(i + 1, e), start: i, end: e + 1 });
      i = e + 1;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i, i + 200));
    if (word) { out.push({ kind: "id", text: word[0], start: i, end: i + word[0].length }); i += word[0].length; continue; }
    INT_LITERAL.lastIndex = i;  // sticky, and the whole literal however long: a cut one would read as two
    const num = INT_LITERAL.exec(src);
    if (num) {
      checkExactInt(num[0], i, err);
      out.push({ kind: "int", text: num[0], start: i, end: i + num[0].length });
      i += num[0].length;
      continue;
    }
    const p = PUNCT.find((q) => src.startsWith(q, i));
    if (!p) err(i, `unexpected character ${JSON.stringify(c)}`);
    if (p === "{") depth++;
    if (p === "}") depth = Math.max(0, depth - 1);
    out.push({ kind: "punct", text: p, start: i, end: i + p.length });
    i += p.length;
  }
  out.push({ kind: "eof", text: "end of file", start: src.length, end: src.length });
  return out;
}

/**
 * Values are JavaScript numbers (in both parsers and the engines), which hold integers exactly only up
 * to 2^53 − 1: a longer literal would be rounded (99999999999999999998 reads as 1e20) and a condition
 * judged on another number than the one written, so it is refused here, where every integer of a file
 * (initial values, constants, conditions, thread numbers) is read.
 */
function checkExactInt(text: string, at: number, err: (at: number, msg: string) => never): void {
  if (BigInt(text) <= BigInt(Number.MAX_SAFE_INTEGER)) return;
  err(at, `integer ${text} is too large to be held exactly (the explorer's values are JavaScript numbers: ` +
    `at most ${Number.MAX_SAFE_INTEGER}, 2^53 − 1, either sign)`);
}

function skipComment(src: string, i: number, close: string, err: (at: number, msg: string) => never): number {
  const e = src.indexOf(close, i + 2);
  if (e < 0) err(i, `comment is not closed (expected ${JSON.stringify(close)})`);
  return e + close.length;
}

/** Parses a litmus test; `file` names it in errors. */
export function parseLitmusAst(src: string, file: string): LitmusAst {
  return new Parser(src, file).parse();
}

class Parser {
  private toks: Tok[] = [];
  private p = 0;
  private depth = 0;
  private locs = new Set<string>();
  constructor(private readonly src: string, private readonly file: string) {}

  parse(): LitmusAst {
    const { name, end } = this.header();
    this.toks = tokenize(this.src, end, (at, msg) => this.fail(at, msg));
    this.infoLines();
    const init = new Map<string, Val>(), initRegs = new Map<string, Val>();
    if (this.peek("{")) this.init(init, initRegs);
    else this.expected('the initial state "{ ... }"');
    const threads: ThreadAst[] = [];
    while (this.tok().kind === "id" && /^P[0-9]+$/.test(this.tok().text)) threads.push(this.thread(threads));
    if (threads.length === 0) this.expected("a process P0(...) { ... }");
    threads.forEach((t, k) => { if (t.index !== k) this.failLine(t.line, `processes must be P0..P${threads.length - 1} in order; process ${k} is ${t.name}`); });
    for (const key of initRegs.keys()) {
      const n = Number(key.split(":")[0]);
      if (!threads[n]) this.fail(0, `the initial state sets ${key}, but the test has only P0..P${threads.length - 1}`);
    }
    const ast: LitmusAst = {
      name, file: this.file, init, initRegs, locations: [], threads, shown: [], quantifier: "exists",
      cond: { k: "const", v: true }, condText: "",
    };
    if (this.peekWord("locations")) { this.p++; ast.shown = this.locationsList(threads); }
    if (this.peekWord("filter")) { this.p++; ast.filter = this.cond(threads); }
    // herd7 lets the final condition be left out: it then checks "forall (true)" (ConstrGen's constr_true).
    if (this.tok().kind === "eof") { ast.quantifier = "forall"; ast.condText = "forall (true)"; }
    else this.finalCondition(ast, threads);
    if (this.tok().kind !== "eof") this.expected("end of file after the final condition");
    ast.locations = [...this.locs].sort();
    return ast;
  }

  /** `exists (...)`, `~exists (...)` or `forall (...)`. */
  private finalCondition(ast: LitmusAst, threads: ThreadAst[]): void {
    if (this.peek("~") && this.toks[this.p + 1]?.text === "exists") { this.p += 2; ast.quantifier = "~exists"; }
    else if (this.peekWord("exists")) { this.p++; ast.quantifier = "exists"; }
    else if (this.peekWord("forall")) { this.p++; ast.quantifier = "forall"; }
    else this.expected('"exists", "~exists" or "forall"');
    const cStart = this.tok().start;
    ast.cond = this.cond(threads);
    ast.condText = `${ast.quantifier} ${this.text(cStart, this.prev().end)}`;
  }

  /** First non-blank line: "C <name>". */
  private header(): { name: string; end: number } {
    const m = /^\s*C[ \t]+(\S+)[^\n]*(\n|$)/.exec(this.src);
    if (!m) this.fail(this.src.length - this.src.trimStart().length, 'expected the header line "C <test name>"');
    return { name: m[1]!, end: m[0].length };
  }

  /** diy's information lines between the header and the initial state: "text" or Key=value. */
  private infoLines(): void {
    while (!this.peek("{") && this.tok().kind !== "eof") {
      const t = this.tok();
      if (t.kind === "str") { this.p++; continue; }
      if (t.kind === "id" && this.toks[this.p + 1]?.text === "=") {
        const line = this.lineOf(t.start);
        while (this.tok().kind !== "eof" && this.lineOf(this.tok().start) === line) this.p++;
        continue;
      }
      this.expected('the initial state "{ ... }" (only "quoted" or Key=value information lines may come before it)');
    }
  }

  // --- { int x; y=1; int *p = &x; p=x; atomic_t a = ATOMIC_INIT(1); spinlock_t l; 0:r1=2; }
  private init(init: Map<string, Val>, regs: Map<string, Val>): void {
    this.punct("{");
    while (!this.peek("}")) {
      if (this.peek(";")) { this.p++; continue; }
      const typed = this.typeWords();
      if (this.tok().kind === "int") {
        const th = this.tok().text;
        this.p++;
        this.punct(":");
        const reg = this.ident("a register name");
        if (this.peek("=") || !typed) { this.punct("="); regs.set(`${th}:${reg}`, this.initValue()); }
        else regs.set(`${th}:${reg}`, 0);
        if (!this.peek("}")) this.punct(";");
        continue;
      }
      const at = this.tok();
      const loc = this.ident("a variable name in the initial state");
      if (init.has(loc)) this.fail(at.start, `${loc} is given an initial value twice`);
      this.locs.add(loc);
      init.set(loc, 0);
      if (this.peek("=")) {
        this.p++;
        init.set(loc, this.initValue());
      }
      if (!this.peek("}")) this.punct(";");
    }
    this.punct("}");
    this.initRegs = regs;
  }
  private initRegs = new Map<string, Val>();
  private regUses: { name: string; at: number }[] = [];

  /** `&x`, `x` (its address, as herd7 reads `p=x`), ATOMIC_INIT(n) or an integer. */
  private initValue(): Val {
    if (this.peek("&")) {
      this.p++;
      const loc = this.ident("a location after &");
      this.locs.add(loc);
      return { addr: loc };
    }
    if (this.peekWord("ATOMIC_INIT")) {
      this.p++; this.punct("(");
      const v = this.signedInt();
      this.punct(")");
      return v;
    }
    if (this.tok().kind === "id") {
      const t = this.tok();
      this.p++;
      this.locs.add(t.text);
      return { addr: t.text };
    }
    return this.signedInt();
  }

  // --- P0(int *x, spinlock_t *l) { ... }
  private thread(before: ThreadAst[]): ThreadAst {
    const head = this.tok();
    const index = Number(head.text.slice(1));
    if (before.some((q) => q.index === index)) this.fail(head.start, `process ${head.text} is defined twice`);
    this.p++;
    const params: string[] = [];
    this.punct("(");
    while (!this.peek(")")) {
      this.typeWords();
      const at = this.tok();
      const name = this.ident("a parameter name");
      if (params.includes(name)) this.fail(at.start, `parameter ${name} appears twice in ${head.text}`);
      params.push(name);
      this.locs.add(name);
      if (!this.peek(")")) this.punct(",");
    }
    this.punct(")");
    const th: ThreadAst = { index, name: head.text, params, body: [], line: this.lineOf(head.start) };
    this.regUses = [];
    th.body = this.block(th);
    // A register need not be declared (herd7 allows that), but it must be one: assigned, declared or set initially.
    const regs = registersOf(th.body);
    for (const u of this.regUses) {
      if (!regs.has(u.name) && !this.initRegs.has(`${index}:${u.name}`)) {
        this.fail(u.at, `${u.name} is not a parameter of ${th.name} (its shared locations: ${params.join(", ") || "none"}) nor a register it declares or assigns`);
      }
    }
    return th;
  }

  /** `int`, `unsigned long`, `struct srcu_struct`, then stars: a type. Returns whether one was there. */
  private typeWords(): boolean {
    let any = false;
    while (this.tok().kind === "id" && TYPE_WORDS.has(this.tok().text)) {
      const w = this.tok().text;
      this.p++;
      any = true;
      if (w === "struct") this.ident("a struct name");
    }
    while (any && this.peek("*")) this.p++;
    return any;
  }

  private isTypeStart(at = this.p): boolean {
    const t = this.toks[at]!;
    return t.kind === "id" && TYPE_WORDS.has(t.text);
  }

  private block(th: ThreadAst): Stmt[] {
    this.punct("{");
    const out: Stmt[] = [];
    while (!this.peek("}")) {
      if (this.tok().kind === "eof") this.expected('"}"');
      this.statement(th, out);
    }
    this.punct("}");
    return out;
  }

  private statement(th: ThreadAst, out: Stmt[]): void {
    const t = this.tok();
    if (this.peek(";")) { this.p++; return; }
    if (this.peek("{")) { out.push(...this.nested(1, () => this.block(th))); return; }
    if (this.isTypeStart()) return this.declaration(th, out);
    if (this.peekWord("if")) { out.push(this.ifStatement(th)); return; }
    if (this.peekWord("while") || this.peekWord("for") || this.peekWord("do") || this.peekWord("goto") || this.peekWord("return")) {
      this.fail(t.start, `${t.text} is not part of the litmus dialect (no loops or jumps: herd7 unrolls nothing)`);
    }
    const line = this.lineOf(t.start);
    if (this.peek("*")) {
      // *e = v;  a plain store
      this.p++;
      const addr = this.unary(th);
      this.punct("=");
      const e = this.expr(th);
      this.punct(";");
      out.push({ k: "store", addr, e, line, text: this.text(t.start, this.prev().end) });
      return;
    }
    if (t.kind === "id" && this.toks[this.p + 1]?.text === "=" && !th.params.includes(t.text)) {
      this.p += 2;
      const e = this.expr(th);
      this.punct(";");
      out.push({ k: "assign", reg: t.text, e, line, text: this.text(t.start, this.prev().end) });
      return;
    }
    if (t.kind === "id" && th.params.includes(t.text) && this.toks[this.p + 1]?.text === "=") {
      this.fail(t.start, `${t.text} is a shared location of ${th.name}: write it with WRITE_ONCE(*${t.text}, v) or *${t.text} = v`);
    }
    // A call, possibly cast: (void)atomic_add_unless(v, 1, 0);
    const cast = this.peek("(") && this.isTypeStart(this.p + 1);
    if (!cast && (t.kind !== "id" || this.toks[this.p + 1]?.text !== "(")) this.expected("a statement");
    const e = this.expr(th);
    this.punct(";");
    out.push({ k: "expr", e, line, text: this.text(t.start, this.prev().end) });
  }

  // int r0; int r1 = READ_ONCE(*x), r2; int *r3;
  private declaration(th: ThreadAst, out: Stmt[]): void {
    const start = this.tok().start;
    this.typeWords();
    for (;;) {
      while (this.peek("*")) this.p++;
      const at = this.tok();
      const r = this.ident("a register name");
      if (th.params.includes(r)) this.fail(at.start, `${r} is already a shared location of ${th.name}`);
      if (this.peek("=")) {
        this.p++;
        const e = this.expr(th);
        out.push({ k: "assign", reg: r, e, line: this.lineOf(at.start), text: this.text(start, this.prev().end) + ";" });
      } else {
        // A declared register holds its initial value (0 unless the initial state sets it) until written.
        out.push({ k: "declare", reg: r, line: this.lineOf(at.start), text: `int ${r};` });
      }
      if (this.peek(";")) break;
      this.punct(",");
    }
    this.punct(";");
  }

  private ifStatement(th: ThreadAst): Stmt {
    const t = this.tok();
    this.p++;
    this.punct("(");
    const c = this.expr(th);
    this.punct(")");
    const text = `if (${this.text(t.start, this.prev().end).replace(/^if\s*\(/, "").replace(/\)$/, "")})`;
    const then: Stmt[] = [];
    this.nested(1, () => this.statement(th, then));
    const els: Stmt[] = [];
    if (this.peekWord("else")) { this.p++; this.nested(1, () => this.statement(th, els)); }
    return { k: "if", c, then, else: els, line: this.lineOf(t.start), text };
  }

  // --- expressions, C precedence: ?: || && | ^ & == != < <= > >= << >> + - * / % unary
  private static readonly LEVELS: string[][] = [["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<", "<=", ">", ">="], ["<<", ">>"], ["+", "-"], ["*", "/", "%"]];

  private expr(th: ThreadAst): Expr {
    const c = this.binary(th, 0);
    if (!this.peek("?")) return c;
    this.p++;
    const a = this.nested(1, () => this.expr(th));
    this.punct(":");
    const b = this.nested(1, () => this.expr(th));
    return { k: "cond", c, a, b };
  }

  private binary(th: ThreadAst, level: number): Expr {
    if (level === Parser.LEVELS.length) return this.unary(th);
    let acc = this.binary(th, level + 1);
    for (let n = 1; this.peekAny(Parser.LEVELS[level]!); n++) {
      const op = this.tok().text;
      this.p++;
      const a = acc, b = this.nested(n, () => this.binary(th, level + 1));
      acc = { k: "bin", op, a, b };
    }
    return acc;
  }

  private unary(th: ThreadAst): Expr {
    const t = this.tok();
    if (this.peek("!") || this.peek("-") || this.peek("~")) {
      this.p++;
      return { k: "un", op: t.text as "!" | "-" | "~", a: this.nested(1, () => this.unary(th)) };
    }
    if (this.peek("*")) { this.p++; return { k: "deref", a: this.nested(1, () => this.unary(th)) }; }
    if (this.peek("&")) {
      this.p++;
      const at = this.tok();
      const loc = this.ident("a shared location after &");
      if (!th.params.includes(loc)) this.fail(at.start, `&${loc}: ${loc} is not a parameter of ${th.name}`);
      return { k: "addr", loc };
    }
    if (this.peek("(")) {
      this.p++;
      if (this.isTypeStart()) {
        // A cast, (intptr_t) or (int **): values carry no C type here, so it changes nothing.
        this.typeWords();
        this.punct(")");
        return this.nested(1, () => this.unary(th));
      }
      const e = this.nested(1, () => this.expr(th));
      this.punct(")");
      return e;
    }
    if (t.kind === "int") { this.p++; return { k: "int", v: Number(t.text) }; }
    if (t.kind !== "id") this.expected("an expression (integer, register, location, call or parenthesis)");
    this.p++;
    if (this.peek("(")) return this.call(th, t);
    if (th.params.includes(t.text)) return { k: "addr", loc: t.text };
    if (TYPE_WORDS.has(t.text)) this.fail(t.start, `unexpected type ${t.text} in an expression`);
    this.regUses.push({ name: t.text, at: t.start });
    return { k: "reg", name: t.text };
  }

  private call(th: ThreadAst, t: Tok): Expr {
    const prim = PRIMITIVES[t.text];
    if (!prim) {
      this.fail(t.start, `unknown call ${t.text}(...): the dialect knows ${Object.keys(PRIMITIVES).length} primitives ` +
        "(READ_ONCE, WRITE_ONCE, smp_*, xchg*/cmpxchg*/atomic_*, spin_*, rcu_*, srcu_*, synchronize_*)");
    }
    this.punct("(");
    const args: Expr[] = [];
    while (!this.peek(")")) {
      args.push(this.nested(1, () => this.expr(th)));
      if (!this.peek(")")) this.punct(",");
    }
    this.punct(")");
    if (args.length !== prim.args.length) {
      this.fail(t.start, `${t.text} takes ${prim.args.length} argument${prim.args.length === 1 ? "" : "s"} ` +
        `(${prim.args.join(", ") || "none"}), found ${args.length}`);
    }
    prim.args.forEach((kind, i) => {
      if (kind === "*loc" && args[i]!.k !== "deref") {
        this.fail(t.start, `${t.text}'s argument ${i + 1} must be a dereference like *x (herd7: ${t.text}(*x, ...))`);
      }
    });
    return { k: "call", fn: t.text, args };
  }

  // --- locations [x; 0:r1; y]
  private locationsList(threads: ThreadAst[]): Operand[] {
    this.punct("[");
    const out: Operand[] = [];
    while (!this.peek("]")) {
      // herd7 shows a register the thread never uses (as 0) rather than refusing the test: the
      // list only says what to print, so a stale name there (kernel tests keep them) is harmless.
      out.push(this.peekRegRef() ? this.regRef(threads, false) : this.lhs(threads));
      if (this.peek(";")) this.p++;
      else if (!this.peek("]")) this.expected('";" or "]"');
    }
    this.punct("]");
    return out;
  }

  // --- conditions
  private cond(threads: ThreadAst[]): Cond {
    let left = this.conj(threads);
    for (let n = 1; this.peek("\\/"); n++) {
      this.p++;
      const l = left;
      left = this.nested(n, () => ({ k: "or", a: l, b: this.conj(threads) }));
    }
    return left;
  }

  private conj(threads: ThreadAst[]): Cond {
    let left = this.atom(threads);
    for (let n = 1; this.peek("/\\"); n++) {
      this.p++;
      const l = left;
      left = this.nested(n, () => ({ k: "and", a: l, b: this.atom(threads) }));
    }
    return left;
  }

  private atom(threads: ThreadAst[]): Cond {
    if (this.peek("~")) { this.p++; return { k: "not", a: this.nested(1, () => this.atom(threads)) }; }
    if (this.peek("(")) {
      this.p++;
      const c = this.nested(1, () => this.cond(threads));
      this.punct(")");
      return c;
    }
    if (this.peekWord("true") || this.peekWord("false")) { const v = this.tok().text === "true"; this.p++; return { k: "const", v }; }
    const a = this.lhs(threads);
    // herd7's state grammar reads "==" as "=" and "x != v" as "~(x = v)".
    if (this.peek("!=")) { this.p++; return { k: "not", a: { k: "eq", a, b: this.rhs(threads) } }; }
    if (this.peek("==")) this.p++;
    else this.punct("=");
    return { k: "eq", a, b: this.rhs(threads) };
  }

  /** A place: N:reg or a location (its final value). */
  private lhs(threads: ThreadAst[]): Operand {
    const t = this.tok();
    if (t.kind === "int") return this.regRef(threads);
    if (t.kind === "id") {
      this.p++;
      if (!this.locs.has(t.text)) this.fail(t.start, `${t.text} is neither a shared location of the test nor N:register`);
      return { k: "loc", loc: t.text };
    }
    if (this.peek("*")) { this.p++; return this.lhs(threads); }
    return this.expected("N:register or a location");
  }

  /** A value: an integer, N:reg, or a location's name (its address, as herd7 reads `0:r1=x`). */
  private rhs(threads: ThreadAst[]): Operand {
    const t = this.tok();
    if (t.kind === "int" && this.toks[this.p + 1]?.text === ":") return this.regRef(threads);
    if (t.kind === "id") {
      this.p++;
      if (!this.locs.has(t.text)) this.fail(t.start, `${t.text} is not a shared location of the test (a value here is an integer, N:register or a location's address)`);
      return { k: "addr", loc: t.text };
    }
    return { k: "int", v: this.signedInt() };
  }

  private peekRegRef(): boolean {
    return this.tok().kind === "int" && this.toks[this.p + 1]?.text === ":";
  }

  /** N:reg; `strict` (a condition) refuses a register thread N neither has nor is given initially. */
  private regRef(threads: ThreadAst[], strict = true): Operand {
    const t = this.tok();
    const thread = Number(t.text);
    this.p++;
    this.punct(":");
    const rt = this.tok();
    const reg = this.ident("a register name");
    const th = threads[thread];
    if (!th) this.fail(t.start, `the condition names thread ${thread}, but the test has only P0..P${threads.length - 1}`);
    if (strict && !registersOf(th.body).has(reg) && !this.initRegs.has(`${thread}:${reg}`)) {
      this.fail(rt.start, `the condition names ${thread}:${reg}, but ${th.name} has no register ${reg}`);
    }
    return { k: "reg", thread, reg };
  }

  // --- helpers
  private nested<T>(levels: number, f: () => T): T {
    if (this.depth + levels > LITMUS_MAX_NESTING) {
      this.fail(this.tok().start, `nested deeper than ${LITMUS_MAX_NESTING} levels (parentheses, operators, if): split the expression or the clause`);
    }
    this.depth += levels;
    try { return f(); } finally { this.depth -= levels; }
  }
  private tok(): Tok { return this.toks[this.p]!; }
  private prev(): Tok { return this.toks[this.p - 1]!; }
  private peek(p: string): boolean { const t = this.tok(); return t.kind === "punct" && t.text === p; }
  private peekAny(ps: string[]): boolean { const t = this.tok(); return t.kind === "punct" && ps.includes(t.text); }
  private peekWord(w: string): boolean { const t = this.tok(); return t.kind === "id" && t.text === w; }
  private punct(p: string): void { if (!this.peek(p)) this.expected(JSON.stringify(p)); this.p++; }
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
  private text(from: number, to: number): string { return this.src.slice(from, to).replace(/\s+/g, " ").trim(); }
  private lineOf(at: number): number { return this.src.slice(0, at).split("\n").length; }
  private expected(what: string): never {
    const t = this.tok();
    return this.fail(t.start, `expected ${what}, found ${t.kind === "eof" ? "end of file" : JSON.stringify(t.text)}`);
  }
  private failLine(line: number, msg: string): never { throw new LitmusError(this.file, line, 1, msg); }
  private fail(at: number, msg: string): never {
    const before = this.src.slice(0, at);
    const line = before.split("\n").length;
    const col = at - before.lastIndexOf("\n");
    throw new LitmusError(this.file, line, col, msg);
  }
}

/** Every register a body assigns (declared or not: herd7 lets a test use a register it never declares). */
export function registersOf(body: Stmt[], out = new Set<string>()): Set<string> {
  for (const s of body) {
    if (s.k === "assign" || s.k === "declare") out.add(s.reg);
    if (s.k === "if") { registersOf(s.then, out); registersOf(s.else, out); }
  }
  return out;
}
