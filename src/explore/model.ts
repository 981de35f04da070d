// The deterministic schedule explorer: runs a small concurrent program — threads (simulated CPUs)
// of loads, stores, fences, register assignments and opaque actions on the simulation — under
// every schedule (or seeded random ones) of one of two memory models:
//  - "sc": sequential consistency; each thread runs in program order, threads interleave.
//  - "relaxed": Arm-like, after the Linux-kernel memory model (LKMM, tools/memory-model): a thread
//    may run any step once the earlier steps that preserved program order (ppo, see ppo.ts) keeps
//    before it have run; the global run is then sequentially consistent over those reordered
//    steps (Arm is multi-copy atomic). Conflicting plain accesses not ordered by happens-before
//    are flagged as data races, as herd7 flags them under LKMM; after one, LKMM promises nothing.
// Schedules print as THREAD:STEP (1-based) separated by spaces, e.g. "P1:1 P0:1 P0:2 P1:2".

import { ArgumentError, IommuSimError } from "../errors.js";
import { checkOptions, type OptionKeys } from "../validate.js";
import { checkProgramShape, compile, regsView, stepName, type Compiled, type CompiledThread } from "./ppo.js";
import { REDUCTIONS, ScheduleSearch, StepTable, accesses, type Reduction, type ReductionStats } from "./dpor.js";

export type { Reduction, ReductionStats } from "./dpor.js";

export type MemoryModel = "sc" | "relaxed";
/** plain C access, READ_ONCE/WRITE_ONCE, smp_load_acquire, smp_store_release */
export type AccessMode = "plain" | "once" | "acquire" | "release";
/** A thread's registers; unassigned ones read as 0. */
export type Regs = Record<string, number>;
export interface Dep { reg: string; kind: "ctrl" | "addr" | "data" }
export interface StepBase {
  /** Human text, e.g. "read #1 of fq_domain (plain)". */
  label: string;
  /** Registers this step depends on; each must be written by an earlier load/assign of the thread. */
  deps?: Dep[];
  /** The step takes effect only if true (`if (r0) …`); it may read only registers in deps. */
  guard?: (regs: Regs) => boolean;
  /** Side effect on the simulation when the step takes effect; may return a note for the trace. */
  run?: (regs: Regs, thread: number) => void | string;
  /**
   * The shared locations (any names) this step's `run` reads and writes, for partial-order
   * reduction: steps of a schedule commute unless one writes what the other reads or writes.
   * A load's or store's own variable counts without being listed. A step with a `run` or a
   * `blocked` and no footprint conflicts with every step (the safe default).
   */
  footprint?: Footprint;
  /**
   * For a step that waits (del_timer_sync, a spinlock): asked just before the step would run;
   * a string says the CPU would still be waiting here, and why. The kernel cannot run such a
   * schedule — the waiting CPU runs the step only once what it waits for is done — so it is
   * dropped (counted in `blocked`, neither a violation nor a final state), and the schedules
   * that run the step later are explored as any others. What it reads belongs in the footprint.
   */
  blocked?: () => string | undefined;
}
export interface Footprint { reads: readonly string[]; writes: readonly string[] }
export type Step =
  | (StepBase & { kind: "load"; var: string; mode: AccessMode; reg: string })
  | (StepBase & { kind: "store"; var: string; mode: AccessMode; value: number | ((regs: Regs) => number) })
  | (StepBase & { kind: "fence"; fence: "wmb" | "rmb" | "mb" })
  | (StepBase & { kind: "assign"; reg: string; value: (regs: Regs) => number })
  | (StepBase & { kind: "action" });
export interface Thread { name: string; steps: Step[] }
export interface Program { threads: Thread[]; init?: Record<string, number> }

/** One step of a schedule: 0-based indices into program.threads and that thread's steps. */
export interface StepRef { thread: number; index: number }
export type Schedule = readonly StepRef[];

export interface TraceEntry {
  /** Thread name, and the step's 1-based number in it (as schedules print it). */
  thread: string;
  threadIndex: number;
  step: number;
  /** Position in the schedule of this step. */
  position: number;
  label: string;
  kind: Step["kind"];
  var?: string;
  /** Whether the step took effect (its guard held). */
  effective: boolean;
  /** The value a load read or a store/assign wrote, when it took effect. */
  value?: number;
  /** What `run` returned. */
  note?: string;
  /** A guarded load that executed before its guard's registers were known (speculation): its
   *  `effective`, `value` and `note` were filled in when the last of them became known. */
  speculative?: boolean;
}

export interface RaceAccess { thread: string; step: number; label: string; kind: "load" | "store"; mode: AccessMode }
/** A data race: conflicting accesses of two threads, one plain, not ordered by happens-before. */
export interface Race { var: string; accesses: [RaceAccess, RaceAccess]; text: string }

export interface Execution {
  model: MemoryModel;
  schedule: Schedule;
  trace: TraceEntry[];
  /** Final value of every variable of the program. */
  memory: Record<string, number>;
  /** Final registers of each thread (index = thread index): every register the thread writes. */
  regs: Regs[];
  /** Data races of this execution (relaxed only; empty under sc). */
  races: Race[];
  /** False when `check` reported a violation, or a step was blocked, and the run stopped there. */
  completed: boolean;
  violation?: { message: string; position: number; step: StepRef };
  /** The step that would have had to wait (see StepBase.blocked): the schedule cannot happen. */
  blocked?: { message: string; position: number; step: StepRef };
}

export interface RunScheduleOptions {
  model: MemoryModel;
  /** Called before the schedule runs: the caller restores the simulation behind the actions. */
  reset?: () => void;
  /** Called after each step that took effect; a string is a violation and stops the run. */
  check?: () => string | undefined;
}

export interface ExploreOptions extends RunScheduleOptions {
  /** At most this many schedules (default DEFAULT_MAX_SCHEDULES, 100 000); `complete: false` when more were left. */
  maxSchedules?: number;
  /**
   * How schedules are enumerated. "dpor" (the default): dynamic partial-order reduction
   * (source sets) with sleep sets — one schedule per class of schedules that differ only in
   * the order of commuting steps (steps whose footprints do not conflict), so every final
   * state, data race and violation is still reached. "sleep": sleep sets alone (the same
   * classes, more partial schedules abandoned on the way). "none": every interleaving, as
   * counts of witnesses among all schedules need.
   */
  reduction?: Reduction;
  /** Stop exploring at the first violating schedule (default true). */
  stopAtFirst?: boolean;
  /** For litmus tests: is this final state the bad one. Only completed runs are asked. */
  predicate?: (exec: Execution) => boolean;
  /** Called after each schedule with the number run so far (for a progress display). */
  onSchedule?: (schedules: number) => void;
}

/** For randomSchedules: `count` schedules are run (maxSchedules is not used). */
export interface RandomOptions extends ExploreOptions {
  seed: number;
  count: number;
}

/** The schedule bound when none is given. */
export const DEFAULT_MAX_SCHEDULES = 100_000;

const RUN_SCHEDULE_KEYS = { model: true, reset: true, check: true } as const satisfies OptionKeys<RunScheduleOptions>;
const EXPLORE_KEYS = {
  ...RUN_SCHEDULE_KEYS, maxSchedules: true, reduction: true, stopAtFirst: true, predicate: true, onSchedule: true,
} as const satisfies OptionKeys<ExploreOptions>;
const RANDOM_KEYS = { ...EXPLORE_KEYS, seed: true, count: true } as const satisfies OptionKeys<RandomOptions>;

export interface ScheduleViolation { schedule: Schedule; text: string; message: string; position: number; step: StepRef; trace: TraceEntry[] }
export interface Witness { schedule: Schedule; text: string; execution: Execution }
export interface FinalState {
  memory: Record<string, number>;
  regs: Regs[];
  /** Completed schedules run that ended here (with a reduction, one per class of schedules
   *  that only reorder commuting steps), whether the predicate held, whether any of them raced. */
  count: number;
  flagged: boolean;
  raced: boolean;
  /** The first schedule that ended here. */
  example: string;
}

export interface ExploreResult {
  model: MemoryModel;
  /** Schedules run (completed or stopped by a violation). */
  schedules: number;
  /** The reduction used and what it pruned ("none", nothing pruned, for random schedules). */
  reduction: ReductionStats;
  /** Every schedule of the program was run (with a reduction: one of every class of schedules
   *  that only reorder commuting steps), so what was not found cannot happen. False when the
   *  bound or a violation stopped it, and always for random schedules. */
  complete: boolean;
  stoppedBy?: "maxSchedules" | "violation";
  /** Schedules that reported a violation. Schedules that share the prefix up to a violation
   *  would repeat it and are skipped (not counted) when exploration goes on. With a reduction,
   *  a violation is found if there is one, but not necessarily every distinct one. */
  violations: number;
  violation?: ScheduleViolation;
  /** Completed executions run for which the predicate held (counted among the schedules run:
   *  use reduction "none" to count among all schedules), and the first of them. */
  witnesses: number;
  witness?: Witness;
  /** Distinct final states of completed executions, in the order first reached. */
  finalStates: FinalState[];
  /** Distinct data races seen (relaxed), and how many executions had one. */
  races: Race[];
  racyExecutions: number;
  /** Schedules dropped because a step in them would still have been waiting (StepBase.blocked):
   *  ones the kernel cannot run. Counted among `schedules`; schedules sharing the prefix up to
   *  the waiting step are skipped, not counted. */
  blocked: number;
  /** Why the first of them would have waited (StepBase.blocked's text). */
  blockedBy?: string;
}

/** A schedule that cannot run: a step out of range, repeated, missing or not yet enabled. */
export class ScheduleError extends IommuSimError {
  override name = "ScheduleError";
  constructor(message: string, readonly position: number) { super(message); }
}

// ---------------------------------------------------------------------------------------------
// Which steps may run next: depends only on the program's structure and which steps ran.

class Frontier {
  readonly done: boolean[][];
  /** Unexecuted direct ppo predecessors of each step. */
  readonly waiting: number[][];
  constructor(readonly c: Compiled) {
    this.done = c.threads.map((th) => th.steps.map(() => false));
    this.waiting = c.threads.map((th) => th.preds.map((p) => p.length));
  }
  enabled(): StepRef[] {
    const out: StepRef[] = [];
    this.c.threads.forEach((th, t) => {
      for (let j = 0; j < th.steps.length; j++) if (!this.done[t]![j] && this.waiting[t]![j] === 0) out.push({ thread: t, index: j });
    });
    return out;
  }
  apply(t: number, j: number): void {
    this.done[t]![j] = true;
    for (const k of this.c.threads[t]!.succs[j]!) this.waiting[t]![k]!--;
  }
  undo(t: number, j: number): void {
    this.done[t]![j] = false;
    for (const k of this.c.threads[t]!.succs[j]!) this.waiting[t]![k]!++;
  }
}

// ---------------------------------------------------------------------------------------------
// Running one schedule.

interface StepState {
  executed: boolean;
  /** Whether the step took effect is known (a speculated load waits for its guard's inputs). */
  resolved: boolean;
  effective: boolean;
  /** What a load read from memory (even speculatively). */
  read: number;
  /** The register value a load/assign produced, when effective. */
  value: number;
  /** For a load: the store it read from, [thread, step], or undefined for the initial value. */
  from?: [number, number];
  entry?: TraceEntry;
}

class Run {
  private readonly f: Frontier;
  private readonly st: StepState[][];
  private readonly mem = new Map<string, number>();
  private readonly lastStore = new Map<string, [number, number]>();
  readonly trace: TraceEntry[] = [];
  violation?: { message: string; position: number; step: StepRef };
  blocked?: { message: string; position: number; step: StepRef };
  private position = 0;

  constructor(private readonly c: Compiled, private readonly check?: () => string | undefined, private readonly context = "runSchedule") {
    this.f = new Frontier(c);
    this.st = c.threads.map((th) => th.steps.map(() => ({ executed: false, resolved: false, effective: false, read: 0, value: 0 })));
    for (const v of c.vars) this.mem.set(v, c.init.get(v) ?? 0);
  }

  /** Throws a ScheduleError unless step (t, j) may run now. */
  assertEnabled(r: StepRef, position: number): void {
    const th = this.c.threads[r.thread];
    const at = `schedule position ${position + 1}`;
    if (!th) throw new ScheduleError(`${at}: there is no thread ${r.thread} (the program has ${this.c.threads.length})`, position);
    if (!Number.isInteger(r.index) || r.index < 0 || r.index >= th.steps.length)
      throw new ScheduleError(`${at}: thread ${th.name} has no step ${r.index + 1} (it has ${th.steps.length})`, position);
    if (this.f.done[r.thread]![r.index]) throw new ScheduleError(`${at}: ${stepName(th, r.index)} already ran`, position);
    const blocker = th.preds[r.index]!.find((e) => !this.f.done[r.thread]![e.from]);
    if (blocker)
      throw new ScheduleError(`${at}: ${stepName(th, r.index)} cannot run before ${stepName(th, blocker.from)}, which has not run yet ` +
        `(${this.c.model}: ${blocker.reason})`, position);
  }

  step(r: StepRef): void {
    const t = r.thread, j = r.index;
    const th = this.c.threads[t]!;
    const s = th.steps[j]!;
    const state = this.st[t]![j]!;
    const entry: TraceEntry = { thread: th.name, threadIndex: t, step: j + 1, position: this.position, label: s.label, kind: s.kind, effective: false };
    const waits = s.blocked?.();
    if (typeof waits === "string") {
      this.trace.push({ ...entry, note: `would wait here: ${waits}` });
      this.blocked = { message: waits, position: this.position, step: r };
      return;
    }
    if (s.kind === "load" || s.kind === "store") entry.var = s.var;
    this.trace.push(entry);
    state.entry = entry;
    state.executed = true;
    this.f.apply(t, j);
    if (s.kind === "load") {
      state.read = this.mem.get(s.var)!;
      state.from = this.lastStore.get(s.var);
      if (s.guard && !this.inputsResolved(t, j)) entry.speculative = true;
      else this.resolve(t, j);
    } else {
      this.resolve(t, j);
    }
    this.resolvePending(t);
    this.position++;
  }

  /** Decides whether (t, j) takes effect and applies it. Its register inputs are all known. */
  private resolve(t: number, j: number): void {
    if (this.violation) return;
    const th = this.c.threads[t]!;
    const s = th.steps[j]!;
    const state = this.st[t]![j]!;
    const entry = state.entry!;
    const where = `${this.context}: ${stepName(th, j)}`;
    state.resolved = true;
    state.effective = s.guard ? Boolean(s.guard(this.view(t, j, th.readable[j]!, where, "guard"))) : true;
    entry.effective = state.effective;
    if (!state.effective) return;
    switch (s.kind) {
      case "load":
        state.value = state.read;
        entry.value = state.read;
        break;
      case "store": {
        const v = typeof s.value === "function" ? s.value(this.view(t, j, th.readable[j]!, where, "value function")) : s.value;
        if (typeof v !== "number" || !Number.isFinite(v)) throw new ArgumentError("store value", v, "must be a finite number", where);
        this.mem.set(s.var, v);
        this.lastStore.set(s.var, [t, j]);
        entry.value = v;
        break;
      }
      case "assign": {
        const v = s.value(this.view(t, j, th.readable[j]!, where, "value function"));
        if (typeof v !== "number" || !Number.isFinite(v)) throw new ArgumentError("assigned value", v, "must be a finite number", where);
        state.value = v;
        entry.value = v;
        break;
      }
    }
    if (s.run) {
      // run may also read the register its own load/assign just wrote.
      const own = th.writes[j];
      const allowed = own === undefined ? th.readable[j]! : new Set([...th.readable[j]!, own]);
      const note = s.run(this.view(t, j + 1, allowed, where, "run"), t);
      if (typeof note === "string") entry.note = note;
    }
    if (this.check) {
      const message = this.check();
      if (typeof message === "string") this.violation = { message, position: this.position, step: { thread: t, index: j } };
    }
  }

  /** Speculated loads of thread t whose guard inputs are now known take effect or not, in program order. */
  private resolvePending(t: number): void {
    const row = this.st[t]!;
    for (let j = 0; j < row.length; j++) {
      const s = row[j]!;
      if (s.executed && !s.resolved && this.inputsResolved(t, j)) this.resolve(t, j);
    }
  }

  private inputsResolved(t: number, j: number): boolean {
    return this.c.threads[t]!.inputs[j]!.every((k) => this.st[t]![k]!.resolved);
  }

  /** The registers `allowed` as seen just before step `limit` of thread t (program order). */
  private view(t: number, limit: number, allowed: ReadonlySet<string>, where: string, fn: string): Regs {
    const values: Record<string, number> = {};
    for (const r of allowed) values[r] = this.regAt(t, r, limit, where);
    return regsView(values, allowed, where, fn);
  }

  /** `lenient`: a run stopped by a violation may have writers that never ran; skip them. */
  private regAt(t: number, reg: string, limit: number, where: string, lenient = false): number {
    const ws = this.c.threads[t]!.writers.get(reg) ?? [];
    for (let i = ws.length - 1; i >= 0; i--) {
      const k = ws[i]!;
      if (k >= limit) continue;
      const s = this.st[t]![k]!;
      if (!s.resolved && lenient) continue;
      // ppo keeps every step behind the writers of the registers it reads; this would be a bug here.
      if (!s.resolved) throw new IommuSimError(`${where}: internal error: reads ${reg} before ${stepName(this.c.threads[t]!, k)} is known`);
      if (s.effective) return s.value;
    }
    return 0;
  }

  finish(schedule: Schedule): Execution {
    const completed = !this.violation && !this.blocked;
    const regs = this.c.threads.map((th, t) => {
      const out: Regs = {};
      for (const r of th.regs) out[r] = this.regAt(t, r, th.steps.length, "final registers", !completed);
      return out;
    });
    return {
      model: this.c.model, schedule, trace: this.trace, memory: Object.fromEntries(this.mem), regs,
      races: completed && this.c.mayRace ? findRaces(this.c, this.st) : [], completed,
      ...(this.violation ? { violation: this.violation } : {}),
      ...(this.blocked ? { blocked: this.blocked } : {}),
    };
  }
}

/** Runs a schedule known to be valid (from the enumerator or the random walk). */
function execute(c: Compiled, schedule: Schedule, opts: RunScheduleOptions, context: string): Execution {
  opts.reset?.();
  const run = new Run(c, opts.check, context);
  for (const r of schedule) {
    run.step(r);
    if (run.violation || run.blocked) break;
  }
  return run.finish(schedule);
}

// ---------------------------------------------------------------------------------------------
// Data races (relaxed): hb = (ppo between effective steps ∪ rf from a marked store to a marked load)+.

function findRaces(c: Compiled, st: StepState[][]): Race[] {
  const base: number[] = [];
  let n = 0;
  for (const th of c.threads) { base.push(n); n += th.steps.length; }
  const id = (t: number, j: number) => base[t]! + j;
  const eff = (t: number, j: number) => st[t]![j]!.effective;
  const out: number[][] = Array.from({ length: n }, () => []);
  c.threads.forEach((th, t) => th.preds.forEach((es, j) => {
    if (eff(t, j)) for (const e of es) if (eff(t, e.from)) out[id(t, e.from)]!.push(id(t, j));
  }));
  c.threads.forEach((th, t) => th.steps.forEach((s, j) => {
    const from = st[t]![j]!.from;
    if (s.kind !== "load" || s.mode === "plain" || !eff(t, j) || !from) return;
    const w = c.threads[from[0]]!.steps[from[1]]!;
    if (w.kind === "store" && w.mode !== "plain") out[id(from[0], from[1])]!.push(id(t, j));
  }));
  const reach = new Map<number, Set<number>>();
  const reaches = (a: number, b: number) => {
    let seen = reach.get(a);
    if (!seen) {
      seen = new Set();
      const todo = [a];
      while (todo.length) for (const m of out[todo.pop()!]!) if (!seen.has(m)) { seen.add(m); todo.push(m); }
      reach.set(a, seen);
    }
    return seen.has(b);
  };
  type Acc = { t: number; j: number; s: Extract<Step, { kind: "load" | "store" }> };
  const accesses: Acc[] = [];
  c.threads.forEach((th, t) => th.steps.forEach((s, j) => {
    if ((s.kind === "load" || s.kind === "store") && eff(t, j)) accesses.push({ t, j, s });
  }));
  const races: Race[] = [];
  for (let x = 0; x < accesses.length; x++)
    for (let y = x + 1; y < accesses.length; y++) {
      const a = accesses[x]!, b = accesses[y]!;
      if (a.t === b.t || a.s.var !== b.s.var) continue;
      if (a.s.kind !== "store" && b.s.kind !== "store") continue;
      if (a.s.mode !== "plain" && b.s.mode !== "plain") continue;
      if (reaches(id(a.t, a.j), id(b.t, b.j)) || reaches(id(b.t, b.j), id(a.t, a.j))) continue;
      races.push(makeRace(c, a, b));
    }
  return races;
}

function makeRace(c: Compiled, a: { t: number; j: number }, b: { t: number; j: number }): Race {
  const acc = (x: { t: number; j: number }): RaceAccess => {
    const th = c.threads[x.t]!;
    const s = th.steps[x.j]! as Extract<Step, { kind: "load" | "store" }>;
    return { thread: th.name, step: x.j + 1, label: s.label, kind: s.kind, mode: s.mode };
  };
  const pa = acc(a), pb = acc(b);
  const v = (c.threads[a.t]!.steps[a.j]! as { var: string }).var;
  const say = (p: RaceAccess) => `${p.thread}:${p.step} ${JSON.stringify(p.label)} (${p.mode} ${p.kind})`;
  return { var: v, accesses: [pa, pb], text: `data race on ${v}: ${say(pa)} and ${say(pb)}` };
}

// ---------------------------------------------------------------------------------------------
// Public API.

/**
 * Runs one schedule and returns its execution. The schedule must name every step once, each at a
 * point where it is enabled; otherwise a ScheduleError names the step, the earlier step that
 * must precede it and the rule (or the thread that has no such step). A violation reported by
 * `check` stops the run (the rest of the schedule is not run).
 */
export function runSchedule(program: Program, schedule: Schedule | string, opts: RunScheduleOptions): Execution {
  checkOptions(opts, RUN_SCHEDULE_KEYS, "runSchedule");
  const c = compile(program, opts?.model, "runSchedule");
  const sched = typeof schedule === "string" ? parseSchedule(program, schedule) : schedule;
  if (!Array.isArray(sched)) throw new ArgumentError("schedule", sched, "must be an array of { thread, index } or a string", "runSchedule");
  opts.reset?.();
  const run = new Run(c, opts.check);
  sched.forEach((r, p) => {
    if (run.violation || run.blocked) return;
    run.assertEnabled(r, p);
    run.step(r);
  });
  if (!run.violation && !run.blocked && sched.length !== c.total) {
    const missing = c.threads.flatMap((th, t) => th.steps.map((_, j) => ({ t, j })))
      .filter(({ t, j }) => !sched.some((r) => r.thread === t && r.index === j))
      .map(({ t, j }) => `${c.threads[t]!.name}:${j + 1}`);
    throw new ScheduleError(`schedule ends with ${missing.length} step(s) not run: ${missing.join(" ")}`, sched.length);
  }
  return run.finish(sched);
}

/** Runs every schedule of the program (up to maxSchedules), depth-first, each from reset(). */
export function explore(program: Program, opts: ExploreOptions): ExploreResult {
  checkOptions(opts, EXPLORE_KEYS, "explore");
  const c = compile(program, opts?.model, "explore");
  const max = opts.maxSchedules ?? DEFAULT_MAX_SCHEDULES;
  if (!Number.isInteger(max) || max < 1) throw new ArgumentError("maxSchedules", max, "must be a positive integer", "explore");
  const reduction = opts.reduction ?? "dpor";
  if (!REDUCTIONS.includes(reduction)) throw new ArgumentError("reduction", reduction, `must be one of ${REDUCTIONS.map((r) => `"${r}"`).join(", ")}`, "explore");
  const table = new StepTable(c);
  const search = new ScheduleSearch(table, reduction);
  const agg = new Aggregate(program, c, opts, search.stats);
  for (;;) {
    if (agg.result.schedules >= max) {
      if (search.hasNext()) agg.stop("maxSchedules");
      break;
    }
    const ids = search.next();
    if (!ids) break;
    const s: StepRef[] = ids.map((id) => ({ thread: table.thread[id]!, index: table.index[id]! }));
    const exec = agg.add(execute(c, s, opts, "explore"));
    if (exec.violation) {
      if (opts.stopAtFirst ?? true) { agg.stop("violation"); break; }
      search.prune(exec.violation.position + 1);
    }
    // Every schedule through the waiting step is one the kernel cannot run.
    if (exec.blocked) search.prune(exec.blocked.position + 1);
  }
  return agg.result;
}

/**
 * Runs `count` random schedules: at each point, a uniformly chosen enabled step, from a PRNG
 * seeded with `seed` (the same seed gives the same schedules). Never `complete`.
 */
export function randomSchedules(program: Program, opts: RandomOptions): ExploreResult {
  checkOptions(opts, RANDOM_KEYS, "randomSchedules");
  const c = compile(program, opts?.model, "randomSchedules");
  if (!Number.isInteger(opts.seed)) throw new ArgumentError("seed", opts.seed, "must be an integer", "randomSchedules");
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new ArgumentError("count", opts.count, "must be a non-negative integer", "randomSchedules");
  const rand = splitmix32(opts.seed);
  const agg = new Aggregate(program, c, opts, { reduction: "none", sleepBlocked: 0, prunedBranches: 0 });
  agg.result.complete = false;
  for (let i = 0; i < opts.count; i++) {
    const exec = agg.add(execute(c, randomWalk(c, rand), opts, "randomSchedules"));
    if (exec.violation && (opts.stopAtFirst ?? true)) { agg.stop("violation"); break; }
  }
  return agg.result;
}

function randomWalk(c: Compiled, rand: () => number): Schedule {
  const f = new Frontier(c);
  const out: StepRef[] = [];
  while (out.length < c.total) {
    const e = f.enabled();
    const r = e[rand() % e.length]!;
    f.apply(r.thread, r.index);
    out.push(r);
  }
  return out;
}

/** splitmix32: a small seeded PRNG giving 32-bit unsigned integers. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Collects an exploration's result from its executions. */
class Aggregate {
  readonly result: ExploreResult;
  private readonly states = new Map<string, FinalState>();
  private readonly raceKeys = new Set<string>();
  constructor(private readonly program: Program, c: Compiled, private readonly opts: ExploreOptions, reduction: ReductionStats) {
    this.result = { model: c.model, schedules: 0, reduction, complete: true, violations: 0, witnesses: 0, finalStates: [], races: [], racyExecutions: 0, blocked: 0 };
  }

  stop(why: "maxSchedules" | "violation"): void {
    this.result.complete = false;
    this.result.stoppedBy = why;
  }

  add(exec: Execution): Execution {
    const r = this.result;
    r.schedules++;
    this.opts.onSchedule?.(r.schedules);
    const text = formatSchedule(this.program, exec.schedule);
    if (exec.blocked) {
      r.blocked++;
      r.blockedBy ??= exec.blocked.message;
      return exec;
    }
    if (exec.violation) {
      r.violations++;
      r.violation ??= { schedule: exec.schedule, text, message: exec.violation.message, position: exec.violation.position, step: exec.violation.step, trace: exec.trace };
      return exec;
    }
    const flagged = this.opts.predicate ? Boolean(this.opts.predicate(exec)) : false;
    if (flagged) {
      r.witnesses++;
      r.witness ??= { schedule: exec.schedule, text, execution: exec };
    }
    if (exec.races.length) r.racyExecutions++;
    for (const race of exec.races) {
      const key = race.text;
      if (!this.raceKeys.has(key)) { this.raceKeys.add(key); r.races.push(race); }
    }
    const key = JSON.stringify([exec.memory, exec.regs]);
    let fs = this.states.get(key);
    if (!fs) {
      fs = { memory: exec.memory, regs: exec.regs, count: 0, flagged, raced: false, example: text };
      this.states.set(key, fs);
      r.finalStates.push(fs);
    }
    fs.count++;
    fs.raced ||= exec.races.length > 0;
    return exec;
  }
}

/** "P1:1 P0:1 P0:2 P1:2": thread name, a colon, the 1-based step number; separated by spaces. */
export function formatSchedule(program: Program, schedule: Schedule): string {
  checkProgramShape(program, "formatSchedule");
  if (!Array.isArray(schedule)) throw new ArgumentError("schedule", schedule, "must be an array of { thread, index } (as explore gives it)", "formatSchedule");
  return schedule.map((r, p) => {
    const th = typeof r === "object" && r !== null ? program.threads[r.thread] : undefined;
    if (!th || !Number.isInteger(r.index) || r.index < 0 || r.index >= th.steps.length)
      throw new ArgumentError(`schedule[${p}]`, th ? `${r.thread}/${r.index}` : r, "must name an existing thread and step ({ thread, index })", "formatSchedule");
    return `${th.name}:${r.index + 1}`;
  }).join(" ");
}

/**
 * The inverse of formatSchedule. Every step must appear exactly once; thread names are split
 * from the step number at the last colon, so a name may contain colons too.
 */
export function parseSchedule(program: Program, text: string): Schedule {
  if (typeof text !== "string") throw new ArgumentError("schedule", text, "must be a string like \"P0:1 P1:1\"", "parseSchedule");
  const byName = new Map(program.threads.map((th, t) => [th.name, t]));
  const seen = new Map<string, number>();
  const out: StepRef[] = [];
  const tokens = text.trim() === "" ? [] : text.trim().split(/\s+/);
  tokens.forEach((tok, p) => {
    const at = `parseSchedule: token ${p + 1} ${JSON.stringify(tok)}`;
    const colon = tok.lastIndexOf(":");
    const num = tok.slice(colon + 1);
    if (colon <= 0 || !/^[1-9][0-9]*$/.test(num)) throw new ScheduleError(`${at}: expected THREAD:STEP with a 1-based step number, e.g. "${program.threads[0]?.name ?? "P0"}:1"`, p);
    const name = tok.slice(0, colon);
    const t = byName.get(name);
    if (t === undefined) throw new ScheduleError(`${at}: no thread named ${JSON.stringify(name)} (threads: ${[...byName.keys()].join(", ")})`, p);
    const th = program.threads[t]!;
    const index = Number(num) - 1;
    if (index >= th.steps.length) throw new ScheduleError(`${at}: thread ${name} has no step ${num} (it has ${th.steps.length})`, p);
    const key = `${t}/${index}`;
    const before = seen.get(key);
    if (before !== undefined) throw new ScheduleError(`${at}: ${name}:${num} is repeated (first at token ${before + 1})`, p);
    seen.set(key, p);
    out.push({ thread: t, index });
  });
  const missing = program.threads.flatMap((th, t) => th.steps.map((_, j) => (seen.has(`${t}/${j}`) ? [] : [`${th.name}:${j + 1}`])).flat());
  if (missing.length) throw new ScheduleError(`parseSchedule: the schedule leaves out ${missing.join(" ")} (every step must appear once)`, tokens.length);
  return out;
}

/**
 * The ordering the model keeps within each thread: for every step, the earlier steps (1-based)
 * that must run before it and the rule that says so (direct edges; ppo is their closure).
 * For tools and tests built on the explorer, and for explaining why a schedule is refused.
 */
export function describePpo(program: Program, model: MemoryModel): { thread: string; step: number; label: string; after: { step: number; reason: string }[] }[] {
  const c = compile(program, model, "describePpo");
  return c.threads.flatMap((th: CompiledThread) => th.steps.map((s, j) => ({
    thread: th.name, step: j + 1, label: s.label, after: th.preds[j]!.map((e) => ({ step: e.from + 1, reason: e.reason })),
  })));
}

/**
 * What the partial-order reduction takes each step to read and write: a load's or store's
 * variable, its declared footprint, and — for a step with a `run` and no footprint —
 * `everything: true` (it conflicts with every step). Two steps commute unless one writes what
 * the other reads or writes, or either touches everything. For checking the footprints of
 * one's own steps.
 */
export function describeFootprints(program: Program, model: MemoryModel): {
  thread: string; step: number; label: string; reads: string[]; writes: string[]; everything: boolean;
}[] {
  const c = compile(program, model, "describeFootprints");
  const acc = accesses(c);
  return c.threads.flatMap((th, t) => th.steps.map((s, j) => ({
    thread: th.name, step: j + 1, label: s.label, reads: [...acc[t]![j]!.reads].sort(), writes: [...acc[t]![j]!.writes].sort(),
    everything: acc[t]![j]!.everything,
  })));
}
