// C litmus tests in the dialect of herd7 as the Linux kernel's tests write it, judged the way
// herd7 judges them: every candidate execution of the program (./lkmm/candidates.ts) is checked
// against a memory model (./lkmm/models.ts) — `lkmm`, the Linux-kernel memory model, by default;
// `sc`; or `arm`, herd7's AArch64 model on the instructions arm64 compiles the primitives to —
// and the answer is herd7's: the final states, "Ok"/"No", "Positive: p Negative: n", the
// observation word the kernel's scripts print (Never / Sometimes / Always) and the "Flag NAME"
// lines (./lkmm/flags.ts: a data race, and RCU, SRCU or spinlock misuse).

import { ArgumentError, IommuSimError } from "../errors.js";
import { checkRequiredOptions } from "../validate.js";
import { enumerate, placeName, shownPlaces, type EventInfo, type Outcome } from "./lkmm/candidates.js";
import type { ModelName } from "./lkmm/models.js";
import { LKMM_FLAGS, herdFlagOrder, type LkmmFlag } from "./lkmm/flags.js";
import { litmusProgram } from "./litmus-program.js";
import type { Program } from "./model.js";
import { LITMUS_MAX_NESTING, LitmusError, parseLitmusAst, type Expr, type LitmusAst, type Quantifier, type Stmt } from "./lkmm/syntax.js";
import { PRIMITIVES } from "./lkmm/primitives.js";
import { valText } from "./lkmm/threads.js";

export { LitmusError, LITMUS_MAX_NESTING, type LkmmFlag };
export { LitmusRunError } from "./lkmm/threads.js";

/**
 * The models a litmus test runs under. `relaxed` is the scenario explorer's operational model;
 * for litmus tests it is an alias of `lkmm` (kept so that commands which worked keep working).
 */
export type LitmusModel = ModelName | "relaxed";
export const LITMUS_MODELS: readonly LitmusModel[] = ["lkmm", "sc", "arm", "relaxed"];

/** A parsed litmus test. */
export interface LitmusTest {
  name: string;
  file: string;
  threads: number;
  quantifier: Quantifier;
  /** The final condition as written, with its quantifier. */
  condition: string;
  /** The places each final state shows: "1:r0" for a register, "x" for a location. */
  observed: string[];
  /** The syntax tree (for the enumeration). */
  readonly ast: LitmusAst;
  /**
   * The test as a program of the scenario explorer's operational engine (`explore`), when it
   * keeps to the subset that engine runs (int locations, ONCE/plain/acquire/release accesses,
   * the three fences, `if`); reading it otherwise throws a LitmusError naming what is outside.
   */
  readonly program: Program;
}

export interface LitmusOptions {
  /** Default "lkmm". */
  model?: LitmusModel;
  /** Bound on candidate executions checked against the model (default 2,000,000). */
  maxCandidates?: number;
  /** Bound on wall time, ms (default: none). */
  timeLimitMs?: number;
  /**
   * "all" (default): every candidate execution is checked, as herd7 does, and the counts are
   * herd7's. "verdict": once an allowed execution that does not satisfy the proposition is known,
   * others like it are not checked (unless the test has plain accesses, whose races any execution
   * may show): the verdict, herd7's Ok/No and the flags are the same, `positive` is exact, but
   * `negative` and the states not satisfying the proposition are only those met.
   */
  counts?: "all" | "verdict";
}

export interface LitmusState {
  /** Values of the observed places ("1:r0" → 1, "x" → 0, a pointer → the location's name). */
  values: Record<string, number | string>;
  /** herd7's form: "1:r0=1; x=0;" */
  text: string;
  /** Whether the condition's proposition holds in it. */
  satisfies: boolean;
}

export interface LitmusRaceAccess { thread: string; line: number; text: string; kind: "load" | "store"; plain: boolean }
export interface LitmusRace { var: string; accesses: [LitmusRaceAccess, LitmusRaceAccess]; text: string }

export interface LitmusResult {
  name: string;
  file: string;
  model: ModelName;
  /** The observation the kernel's scripts print: no allowed execution satisfies the proposition, some do, or all do. */
  verdict: "Never" | "Sometimes" | "Always";
  /** herd7's "Ok" (the condition, with its quantifier, is validated) or "No". */
  herd: "Ok" | "No";
  quantifier: Quantifier;
  condition: string;
  /** Allowed executions (after `filter`) satisfying the proposition, and not. */
  positive: number;
  negative: number;
  /** "exact", or "at least" for `negative` (and the states) when run with counts: "verdict". */
  counts: "exact" | "at least";
  /** Candidate executions checked against the model. */
  candidates: number;
  /**
   * herd7's flags raised by some allowed execution, in herd7's order: "data-race", or one of
   * the RCU, SRCU and spinlock misuse flags of linux-kernel.bell and lock.cat (LITMUS_FLAGS).
   * Only the lkmm model raises flags.
   */
  flags: string[];
  /** Whether "data-race" is among the flags. */
  race: boolean;
  /** The racing pairs of the first racy execution. */
  races: LitmusRace[];
  observed: string[];
  /** Distinct final states of the allowed executions, sorted. */
  states: LitmusState[];
  /**
   * The first allowed execution satisfying the proposition, in words: each read's source
   * (which write, or the initial value) and each location's coherence order when it has more
   * than one write.
   */
  witness?: string[];
  /** false when a bound stopped the run: the verdict then covers only what was enumerated. */
  complete: boolean;
  /** Why the run stopped early. */
  cutShort?: string;
}

/** Parses a litmus test; `file` names it in errors. */
export function parseLitmus(src: string, file = "<litmus>"): LitmusTest {
  if (typeof src !== "string") throw new ArgumentError("src", src, "must be the litmus test's text (a string)", "parseLitmus");
  if (typeof file !== "string") throw new ArgumentError("file", file, "must be a string (the name errors give the test)", "parseLitmus");
  const ast = parseLitmusAst(src, file);
  let program: Program | undefined;
  return {
    name: ast.name, file, threads: ast.threads.length, quantifier: ast.quantifier, condition: ast.condText,
    observed: shownPlaces(ast).map(placeName), ast,
    get program(): Program { return (program ??= litmusProgram(src, file).program); },
  };
}

/** The model a name stands for (relaxed → lkmm), or a clear refusal naming `context` (the function asked). */
export function litmusModel(m: unknown, context = "litmusModel"): ModelName {
  if (m === undefined || m === "relaxed") return "lkmm";
  if (m === "lkmm" || m === "sc" || m === "arm") return m;
  throw new IommuSimError(`${context}: model ${JSON.stringify(m)} is not one of ${LITMUS_MODELS.join(", ")} (relaxed is an alias of lkmm)`);
}

function bound(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new IommuSimError(`runLitmus: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Runs a litmus test (parsed, or its source text) under one model. */
export function runLitmus(test: LitmusTest | string, opts: LitmusOptions = {}): LitmusResult {
  checkRequiredOptions(opts, ["model", "maxCandidates", "timeLimitMs", "counts"], "runLitmus", "model, maxCandidates, timeLimitMs, counts");
  if (opts.counts !== undefined && opts.counts !== "all" && opts.counts !== "verdict") {
    throw new IommuSimError(`runLitmus: counts must be "all" or "verdict", got ${JSON.stringify(opts.counts)}`);
  }
  const model = litmusModel(opts.model, "runLitmus");
  const maxCandidates = bound("maxCandidates", opts.maxCandidates, 2_000_000);
  const timeLimit = opts.timeLimitMs === undefined ? undefined : bound("timeLimitMs", opts.timeLimitMs, 0);
  if (typeof test !== "string" && !isLitmusTest(test)) {
    throw new ArgumentError("test", test, "must be a litmus test: its text, or what parseLitmus returned", "runLitmus");
  }
  const t = typeof test === "string" ? parseLitmus(test) : test;
  const ast = t.ast;
  const observed = t.observed;
  const states = new Map<string, LitmusState>();
  const flagSet = new Set<string>();
  let positive = 0, negative = 0;
  let racy: Outcome | undefined;
  let witness: string[] | undefined;
  const visit = (o: Outcome) => {
    if (o.filtered) return;
    if (o.satisfies) positive++; else negative++;
    if (o.satisfies && !witness && o.describe) witness = o.describe();
    for (const f of o.flags) flagSet.add(f);
    if (!racy && o.races.length) racy = o;
    const text = observed.map((p) => `${p}=${valText(o.values.get(p)!)};`).join(" ");
    if (states.has(text)) return;
    const values: Record<string, number | string> = {};
    for (const place of observed) { const v = o.values.get(place)!; values[place] = typeof v === "number" ? v : v.addr; }
    states.set(text, { values, text, satisfies: o.satisfies });
  };
  // Only marked accesses: no execution can raise the data-race flag, so one negative execution
  // settles the negatives (the enumeration still checks those that might raise another flag).
  const verdictOnly = opts.counts === "verdict" && !hasPlainAccess(ast);
  let skipped = false;
  const res = enumerate(ast, {
    model, maxCandidates, deadline: timeLimit === undefined ? Infinity : Date.now() + timeLimit, visit,
    ...(verdictOnly ? { negativesDone: () => (negative > 0 ? (skipped = true) : false), flagsSeen: flagSet } : {}),
  });
  const flags = herdFlagOrder(flagSet);
  const verdict = positive === 0 ? "Never" : negative === 0 ? "Always" : "Sometimes";
  const herd = ast.quantifier === "exists" ? positive > 0 : ast.quantifier === "~exists" ? positive === 0 : negative === 0;
  return {
    name: ast.name, file: ast.file, model, verdict, herd: herd ? "Ok" : "No", quantifier: ast.quantifier, condition: ast.condText,
    positive, negative, counts: skipped ? "at least" : "exact", candidates: res.candidates, flags, race: flags.includes("data-race"),
    races: racy ? racy.races.map((r) => race(ast, r.loc, r.a, r.b)) : [],
    observed, states: [...states.values()].sort((a, b) => compareStates(a, b, observed)), ...(witness ? { witness } : {}),
    complete: res.cutShort === undefined, ...(res.cutShort ? { cutShort: res.cutShort } : {}),
  };
}

function race(ast: LitmusAst, loc: string, a: EventInfo, b: EventInfo): LitmusRace {
  const acc = (e: EventInfo): LitmusRaceAccess => ({
    thread: ast.threads[e.thread]?.name ?? "init", line: e.line, text: e.text, kind: e.dir === "W" ? "store" : "load", plain: e.plain,
  });
  const x = acc(a), y = acc(b);
  const say = (e: LitmusRaceAccess) => `${e.thread} line ${e.line} "${e.text}" (${e.plain ? "plain" : "marked"} ${e.kind})`;
  return { var: loc, accesses: [x, y], text: `data race on ${loc}: ${say(x)} and ${say(y)}` };
}

function compareStates(a: LitmusState, b: LitmusState, observed: string[]): number {
  for (const p of observed) {
    const x = a.values[p]!, y = b.values[p]!;
    if (x === y) continue;
    if (typeof x === "number" && typeof y === "number") return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

/** Whether `v` is what parseLitmus returns (its syntax tree is what a run needs). */
function isLitmusTest(v: unknown): v is LitmusTest {
  return typeof v === "object" && v !== null && typeof (v as LitmusTest).ast === "object" && (v as LitmusTest).ast !== null;
}

/** The fields of a LitmusResult formatLitmus prints. */
const PRINTED: readonly (keyof LitmusResult)[] = [
  "name", "quantifier", "model", "states", "herd", "positive", "negative", "counts", "flags", "races", "condition", "verdict", "complete",
];

/** herd7's report of a run, line by line, then the observation word. */
export function formatLitmus(r: LitmusResult): string[] {
  if (typeof r !== "object" || r === null) throw new ArgumentError("result", r, "must be what runLitmus returned", "formatLitmus");
  const missing = PRINTED.filter((k) => !(k in r));
  if (missing.length) throw new ArgumentError("result", r, `must be what runLitmus returned (it lacks ${missing.join(", ")})`, "formatLitmus");
  const out = [`Test ${r.name} ${r.quantifier === "forall" ? "Required" : "Allowed"} (model ${r.model})`, `States ${r.states.length}`];
  for (const s of r.states) out.push(`${s.satisfies ? "*" : " "} ${s.text}`);
  out.push(r.herd, "Witnesses", `Positive: ${r.positive} Negative: ${r.counts === "exact" ? "" : "at least "}${r.negative}`);
  for (const f of herdFlagOrder(r.flags)) out.push(`Flag ${f}`);
  for (const race of r.races) out.push(`  ${race.text}`);
  out.push(`Condition ${r.condition}`);
  if (r.witness) { out.push("Witness (an allowed execution satisfying it):"); for (const w of r.witness) out.push(`  ${w}`); }
  out.push(`Observation ${r.name} ${r.verdict} ${r.positive} ${r.negative}`);
  if (!r.complete) out.push(`Cut short: ${r.cutShort} — after ${r.candidates} candidate executions; the verdict covers only those`);
  return out;
}

/** Every flag a run may raise: its name, the LKMM file that defines it, and what raises it. */
export const LITMUS_FLAGS = LKMM_FLAGS;

/**
 * Whether a run found something: the condition's outcome observed, or any flag raised. herd7's
 * flags mark a test whose executions show a data race or misuse RCU, SRCU or a spinlock — not
 * a clean verdict — so the command line's `explore --litmus` exits 1 for them as for the outcome.
 */
export function litmusFound(r: Pick<LitmusResult, "positive" | "flags">): boolean {
  return r.positive > 0 || r.flags.length > 0;
}

/**
 * The exit code of a run a bound cut short (neither 1, "found", nor 0, "proven"): the command
 * line's `explore` returns it when the enumeration stopped early without finding the outcome.
 */
export const EXIT_CUT_SHORT = 3;

/** Whether some statement of the test makes a plain access (`*p`, `*p = v`). */
function hasPlainAccess(ast: LitmusAst): boolean {
  const expr = (e: Expr): boolean => {
    switch (e.k) {
      case "deref": return true;
      case "un": return expr(e.a);
      case "bin": return expr(e.a) || expr(e.b);
      case "cond": return expr(e.c) || expr(e.a) || expr(e.b);
      // The place argument of READ_ONCE(*x) and friends is marked, not a plain read.
      case "call": return e.args.some((a, i) => (PRIMITIVES[e.fn]!.args[i] === "*loc" && a.k === "deref" ? expr(a.a) : expr(a)));
      default: return false;
    }
  };
  const stmts = (ss: Stmt[]): boolean => ss.some((s) =>
    s.k === "store" || (s.k === "assign" || s.k === "expr" ? expr(s.e) : s.k === "if" ? expr(s.c) || stmts(s.then) || stmts(s.else) : false));
  return ast.threads.some((t) => stmts(t.body));
}
