// Checks an explorer Program and compiles it: for every step, the earlier steps of its thread
// that must execute before it, and why. Under "relaxed" these are the preserved-program-order
// (ppo) rules of an Arm-like reading of the Linux-kernel memory model (tools/memory-model,
// LKMM): smp_mb/smp_wmb/smp_rmb, acquire/release, same-variable coherence, address/data/control
// dependencies; under "sc" it is plain program order. Also records which register writers decide
// a step's register inputs, so the engine can tell when a speculated load's guard is known.

import { ArgumentError } from "../errors.js";
import { checkOptions, type OptionKeys } from "../validate.js";
import type { Dep, Footprint, MemoryModel, Program, Regs, Step } from "./model.js";

const FOOTPRINT_KEYS = { reads: true, writes: true } as const satisfies OptionKeys<Footprint>;

/** "from must execute before this step", and the rule that says so. */
export interface Edge { from: number; reason: string }

export interface CompiledThread {
  name: string;
  steps: readonly Step[];
  /** preds[j]: the direct ppo predecessors of step j (indices < j). Their closure is ppo. */
  preds: Edge[][];
  succs: number[][];
  /** inputs[j]: every step whose outcome can reach step j's register inputs (writers, the writers
   *  they read, and the guards that decide whether they took effect). */
  inputs: number[][];
  /** The register each step writes (loads and assigns), else undefined. */
  writes: (string | undefined)[];
  /** Register → the steps that write it, ascending. */
  writers: Map<string, number[]>;
  /** Every register the thread writes, in order of first writer. */
  regs: string[];
  /** Registers a step's guard / value function may read: its deps. */
  readable: Set<string>[];
}

export interface Compiled {
  model: MemoryModel;
  threads: CompiledThread[];
  /** Every variable named by init or by a load/store, sorted. */
  vars: string[];
  init: Map<string, number>;
  /** Total number of steps: the length of every complete schedule. */
  total: number;
  /** Some plain access conflicts with an access of another thread (else no race can be flagged). */
  mayRace: boolean;
}

const MODES = ["plain", "once", "acquire", "release"];
const KINDS = ["load", "store", "fence", "assign", "action"];
const FENCES = ["wmb", "rmb", "mb"];
const DEP_KINDS = ["ctrl", "addr", "data"];

/** `P1:2 "r1 = READ_ONCE(*fq)"`: how messages name a step (1-based, as schedules print it). */
export function stepName(thread: { name: string; steps: readonly Step[] }, index: number): string {
  return `${thread.name}:${index + 1} ${JSON.stringify(thread.steps[index]?.label ?? "?")}`;
}

export function compile(program: Program, model: MemoryModel, context: string): Compiled {
  // The program first: explore(null) is a missing program, not a missing model.
  checkProgramShape(program, context);
  checkModel(model, context);
  const threads = program.threads.map((th, t) => compileThread(th.name, th.steps, t, model, context));
  const init = new Map<string, number>(Object.entries(program.init ?? {}));
  const vars = new Set(init.keys());
  for (const th of threads) for (const s of th.steps) if (s.kind === "load" || s.kind === "store") vars.add(s.var);
  return {
    model, threads, init, vars: [...vars].sort(),
    total: threads.reduce((n, th) => n + th.steps.length, 0),
    mayRace: model === "relaxed" && anyConflictWithPlain(threads),
  };
}

export function checkModel(model: unknown, context: string): asserts model is MemoryModel {
  if (model !== "sc" && model !== "relaxed") throw new ArgumentError("model", model, 'must be "sc" or "relaxed"', context);
}

// ---------------------------------------------------------------------------------------------
// Shape checks: every field the engine relies on, named by its path in the program.

/** What a thread's name must be: schedules print as NAME:STEP separated by spaces, so it may not contain white space. */
export const THREAD_NAME_RULE = "must be a non-empty string without white space (a schedule prints each step as NAME:STEP, separated by spaces)";

export function isThreadName(name: unknown): name is string {
  return typeof name === "string" && /^\S+$/.test(name);
}

export function checkProgramShape(program: Program, context: string): void {
  if (typeof program !== "object" || program === null) throw new ArgumentError("program", program, "must be an object { threads, init? }", context);
  if (!Array.isArray(program.threads) || program.threads.length === 0)
    throw new ArgumentError("program.threads", program.threads, "must be a non-empty array of threads", context);
  const names = new Map<string, number>();
  program.threads.forEach((th, t) => {
    const where = `program.threads[${t}]`;
    if (typeof th !== "object" || th === null) throw new ArgumentError(where, th, "must be an object { name, steps }", context);
    if (!isThreadName(th.name)) throw new ArgumentError(`${where}.name`, th.name, THREAD_NAME_RULE, context);
    const dup = names.get(th.name);
    if (dup !== undefined) throw new ArgumentError(`${where}.name`, th.name, `must be unique (program.threads[${dup}] has it too)`, context);
    names.set(th.name, t);
    if (!Array.isArray(th.steps)) throw new ArgumentError(`${where}.steps`, th.steps, "must be an array of steps", context);
    th.steps.forEach((s, j) => checkStepShape(s, `${where}.steps[${j}]`, context));
  });
  for (const [v, x] of Object.entries(program.init ?? {}))
    if (typeof x !== "number" || !Number.isFinite(x)) throw new ArgumentError(`program.init.${v}`, x, "must be a finite number", context);
}

/** A footprint: { reads, writes }, each a list of location names (nothing else: a misspelt
 *  key would leave the step looking independent of what it touches). */
function checkFootprint(f: unknown, where: string, context: string): void {
  if (typeof f !== "object" || f === null || Array.isArray(f)) throw new ArgumentError(where, f, "must be an object { reads, writes } of location names", context);
  checkOptions(f as Footprint, FOOTPRINT_KEYS, context, where, "field");
  for (const k of ["reads", "writes"] as const) {
    const list = (f as Record<string, unknown>)[k];
    if (!Array.isArray(list)) throw new ArgumentError(`${where}.${k}`, list, "must be an array of location names (may be empty)", context);
    list.forEach((x, i) => {
      if (typeof x !== "string" || x === "") throw new ArgumentError(`${where}.${k}[${i}]`, x, "must be a non-empty location name", context);
    });
  }
}

function checkStepShape(s: Step, where: string, context: string): void {
  if (typeof s !== "object" || s === null) throw new ArgumentError(where, s, "must be a step object", context);
  if (!KINDS.includes(s.kind)) throw new ArgumentError(`${where}.kind`, s.kind, `must be one of ${KINDS.join(", ")}`, context);
  if (typeof s.label !== "string") throw new ArgumentError(`${where}.label`, s.label, "must be a string", context);
  if (s.guard !== undefined && typeof s.guard !== "function") throw new ArgumentError(`${where}.guard`, s.guard, "must be a function (regs) => boolean", context);
  if (s.run !== undefined && typeof s.run !== "function") throw new ArgumentError(`${where}.run`, s.run, "must be a function (regs, thread) => void | string", context);
  if (s.blocked !== undefined && typeof s.blocked !== "function") throw new ArgumentError(`${where}.blocked`, s.blocked, "must be a function () => string | undefined", context);
  if (s.footprint !== undefined) checkFootprint(s.footprint, `${where}.footprint`, context);
  if (s.deps !== undefined) {
    if (!Array.isArray(s.deps)) throw new ArgumentError(`${where}.deps`, s.deps, "must be an array of { reg, kind }", context);
    s.deps.forEach((d: Dep, k) => {
      if (typeof d?.reg !== "string" || d.reg === "") throw new ArgumentError(`${where}.deps[${k}].reg`, d?.reg, "must be a register name", context);
      if (!DEP_KINDS.includes(d.kind)) throw new ArgumentError(`${where}.deps[${k}].kind`, d.kind, 'must be "ctrl", "addr" or "data"', context);
    });
  }
  switch (s.kind) {
    case "load":
    case "store":
      if (typeof s.var !== "string" || s.var === "") throw new ArgumentError(`${where}.var`, s.var, "must be a variable name", context);
      if (!MODES.includes(s.mode)) throw new ArgumentError(`${where}.mode`, s.mode, `must be one of ${MODES.join(", ")}`, context);
      if (s.kind === "load" && s.mode === "release") throw new ArgumentError(`${where}.mode`, s.mode, "must be plain, once or acquire for a load", context);
      if (s.kind === "store" && s.mode === "acquire") throw new ArgumentError(`${where}.mode`, s.mode, "must be plain, once or release for a store", context);
      if (s.kind === "load" && (typeof s.reg !== "string" || s.reg === "")) throw new ArgumentError(`${where}.reg`, s.reg, "must be a register name", context);
      if (s.kind === "store" && typeof s.value !== "function" && (typeof s.value !== "number" || !Number.isFinite(s.value)))
        throw new ArgumentError(`${where}.value`, s.value, "must be a finite number or a function (regs) => number", context);
      break;
    case "fence":
      if (!FENCES.includes(s.fence)) throw new ArgumentError(`${where}.fence`, s.fence, 'must be "wmb", "rmb" or "mb"', context);
      break;
    case "assign":
      if (typeof s.reg !== "string" || s.reg === "") throw new ArgumentError(`${where}.reg`, s.reg, "must be a register name", context);
      if (typeof s.value !== "function") throw new ArgumentError(`${where}.value`, s.value, "must be a function (regs) => number", context);
      break;
    case "action":
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// One thread: register flow, dependency checks, ppo edges.

function compileThread(name: string, steps: readonly Step[], t: number, model: MemoryModel, context: string): CompiledThread {
  const writes = steps.map((s) => (s.kind === "load" || s.kind === "assign" ? s.reg : undefined));
  const writers = new Map<string, number[]>();
  writes.forEach((r, j) => { if (r !== undefined) (writers.get(r) ?? writers.set(r, []).get(r)!).push(j); });
  const th = { name, steps };
  const flow = registerFlow(steps, writes);
  const readable = steps.map((s) => new Set((s.deps ?? []).map((d) => d.reg)));
  const inputs = steps.map((s, j) => {
    const all = new Set<number>();
    for (const d of s.deps ?? []) {
      const from = flow(d.reg, j);
      if (from.size === 0)
        throw new ArgumentError(`program.threads[${t}].steps[${j}].deps`, d.reg,
          `must name registers written by an earlier load or assign of thread ${name}; nothing before ${stepName(th, j)} writes this one`, context);
      for (const k of from) all.add(k);
    }
    return [...all].sort((a, b) => a - b);
  });
  steps.forEach((s, j) => probeFunctions(s, readable[j]!, th, j, context));
  const preds = steps.map((_, j) => (model === "sc" ? (j > 0 ? [{ from: j - 1, reason: "program order (sc)" }] : [])
    : relaxedPreds(steps, j, flow)));
  const succs = steps.map(() => [] as number[]);
  preds.forEach((es, j) => es.forEach((e) => succs[e.from]!.push(j)));
  const regs = [...new Set(writes.filter((r): r is string => r !== undefined))];
  return { name, steps, preds, succs, inputs, writes, writers, regs, readable };
}

/**
 * flow(reg, j): the steps whose outcome decides the value of `reg` just before step j. Walking
 * back from j: each writer of reg, plus what that writer read (its deps' flow). A guarded writer
 * may not take effect, so the walk goes on past it to the previous writer; an unguarded one hides
 * everything older. An assign thereby passes its sources on: a dependency on an assigned
 * register is a dependency on the loads it was computed from.
 */
function registerFlow(steps: readonly Step[], writes: (string | undefined)[]) {
  const memo = new Map<string, Set<number>>();
  const flow = (reg: string, j: number): Set<number> => {
    const key = `${reg}@${j}`;
    let out = memo.get(key);
    if (out) return out;
    out = new Set();
    for (let k = j - 1; k >= 0; k--) {
      if (writes[k] !== reg) continue;
      out.add(k);
      const s = steps[k]!;
      for (const d of s.deps ?? []) for (const m of flow(d.reg, k)) out.add(m);
      if (!s.guard) break;
    }
    memo.set(key, out);
    return out;
  };
  return flow;
}

/** The direct ppo predecessors of step j under "relaxed". */
function relaxedPreds(steps: readonly Step[], j: number, flow: (reg: string, j: number) => Set<number>): Edge[] {
  const reasons = new Map<number, string>();
  const add = (i: number, why: string) => { if (!reasons.has(i)) reasons.set(i, why); };
  const b = steps[j]!;
  for (let i = 0; i < j; i++) {
    const why = orderReason(steps[i]!, b);
    if (why) add(i, why);
  }
  for (const d of b.deps ?? []) {
    // A control dependency does not hold back a later load (it is speculated past the branch); it
    // does hold back stores, fences and actions. Assigns wait for the registers they compute from.
    if (b.kind === "load" && d.kind === "ctrl") continue;
    for (const i of flow(d.reg, j)) add(i, `${d.kind} dependency on ${d.reg}`);
  }
  return [...reasons].sort((x, y) => x[0] - y[0]).map(([from, reason]) => ({ from, reason }));
}

/** Why earlier step a must stay before later step b of the same thread, or undefined. */
export function orderReason(a: Step, b: Step): string | undefined {
  const fence = (s: Step, f: string) => s.kind === "fence" && s.fence === f;
  const storeLike = (s: Step) => s.kind === "store" || s.kind === "action";
  const loadLike = (s: Step) => s.kind === "load" || s.kind === "action";
  if (fence(a, "mb") || fence(b, "mb")) return "smp_mb() orders everything around it";
  if ((fence(b, "wmb") && storeLike(a)) || (fence(a, "wmb") && storeLike(b))) return "smp_wmb() orders stores around it";
  if ((fence(b, "rmb") && loadLike(a)) || (fence(a, "rmb") && loadLike(b))) return "smp_rmb() orders loads around it";
  // Actions stand for kernel code with its own locks and completions: they keep their order
  // among themselves and with the fences.
  if (a.kind === "action" && (b.kind === "action" || b.kind === "fence")) return "actions keep their order with actions and fences";
  if (b.kind === "action" && a.kind === "fence") return "actions keep their order with actions and fences";
  if (a.kind === "load" && a.mode === "acquire") return "an acquire load orders everything after it";
  if (b.kind === "store" && b.mode === "release") return "a release store is ordered after everything before it";
  if ((a.kind === "load" || a.kind === "store") && (b.kind === "load" || b.kind === "store") && a.var === b.var) {
    if (a.kind === "store" || b.kind === "store") return `same variable ${a.var} (coherence)`;
    // Two reads of one variable stay in order only if both are marked: the compiler may merge or
    // hoist plain reads (Robin Murphy's double read of fq_domain).
    if (a.mode !== "plain" && b.mode !== "plain") return `same variable ${a.var} (marked reads, read-read coherence)`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Register discipline: a guard or value function may read only the registers in its deps.

/** Thrown by a register view when a function reads a register its step does not declare. */
export class UndeclaredRegister extends ArgumentError {}

/** What a step's guard/value/run sees: the declared registers, read-only; others throw. */
export function regsView(values: Record<string, number>, allowed: ReadonlySet<string>, where: string, fn: string): Regs {
  return new Proxy(values, {
    get(target, key) {
      if (typeof key === "symbol" || key in Object.prototype || key === "toJSON" || key === "then") return Reflect.get(target, key);
      if (!allowed.has(key))
        throw new UndeclaredRegister(`register ${key}`, key, `must be listed in the step's deps to be read by its ${fn} (it reads only declared registers: ${[...allowed].join(", ") || "none"})`, where);
      return target[key] ?? 0;
    },
    set(_t, key) { throw new ArgumentError(`register ${String(key)}`, key, `is read-only in a ${fn}; write registers with a load or assign step`, where); },
    has(_t, key) { return typeof key === "string" && allowed.has(key); },
  });
}

/** Calls the guard and value function once with all-zero registers, to catch undeclared reads
 *  early. Their other failures are not ours to judge on made-up values, so they are ignored. */
function probeFunctions(s: Step, allowed: Set<string>, th: { name: string; steps: readonly Step[] }, j: number, context: string): void {
  const zeros: Record<string, number> = {};
  for (const r of allowed) zeros[r] = 0;
  const probe = (fn: (regs: Regs) => unknown, what: string) => {
    try { fn(regsView({ ...zeros }, allowed, `${context}: ${stepName(th, j)}`, what)); }
    catch (e) { if (e instanceof UndeclaredRegister) throw e; }
  };
  if (s.guard) probe(s.guard, "guard");
  if ((s.kind === "store" || s.kind === "assign") && typeof s.value === "function") probe(s.value, "value function");
}

function anyConflictWithPlain(threads: CompiledThread[]): boolean {
  const acc = threads.map((th) => th.steps.filter((s): s is Extract<Step, { kind: "load" | "store" }> => s.kind === "load" || s.kind === "store"));
  for (let t = 0; t < acc.length; t++)
    for (let u = t + 1; u < acc.length; u++)
      for (const a of acc[t]!) for (const b of acc[u]!)
        if (a.var === b.var && (a.kind === "store" || b.kind === "store") && (a.mode === "plain" || b.mode === "plain")) return true;
  return false;
}
