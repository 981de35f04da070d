// Exploring an IOMMU scenario: every schedule of its CPUs' steps (bounded), or seeded
// random ones, under a memory model; the first schedule the safety oracle objects to is
// printed as a readable trace and as a line `--replay` accepts, which re-runs it exactly.
//
// Printed schedule: "<scenario>@<variant>@<model>: <steps>", e.g.
//   seed-race@v2-hoisted@sc: B:1 B:2 A:1 A:2 A:3 B:3 ...
// where <scenario> is a built-in name, a scenario's `name` or the path of its file, and
// <variant> a seed variant's name, the name of the scenario's own variant, or the path of a
// variant file. A line that names a scenario by its `name` replays with its file given
// beside it (`explore FILE --replay LINE`, as the printed command has it).

import { ArgumentError } from "../errors.js";
import { terminalText } from "../terminal.js";
import { checkOptions, type OptionKeys } from "../validate.js";
import { SEED_VARIANTS, type SeedVariant } from "../dma.js";
import { resolveVariant } from "../variants/program.js";
import type { ResolvedVariant, VariantDefinition } from "../variants/vocabulary.js";
import { SMMU_MODELS, type SmmuModel } from "../smmu/smmu.js";
import {
  DEFAULT_MAX_SCHEDULES, ScheduleError, explore, randomSchedules, runSchedule,
  type ExploreResult, type Execution, type MemoryModel, type Reduction, type TraceEntry,
} from "./model.js";
import { BUILTIN_SCENARIOS, buildScenario, validateScenario, type Scenario } from "./scenario.js";
import { EXIT_CUT_SHORT } from "./litmus.js";
import { describeKernel, normaliseOverrides, type Behaviour, type BehaviourOverrides } from "../profile.js";

export interface ExploreScenarioOptions {
  /** The switch and unmap code (overrides the scenario's): a seed variant's name or a definition. */
  variant?: SeedVariant | VariantDefinition;
  /** The SMMU the domain sits behind (overrides the scenario's; default "v3"): "v2" runs the arm-smmu driver. */
  smmu?: SmmuModel;
  /** Where a variant definition came from (a file's path), printed in the replay line instead of its name. */
  variantSource?: string;
  model?: MemoryModel;
  /** Bound on schedules enumerated (default 100 000). */
  maxSchedules?: number;
  /** Seeded random schedules instead of enumeration (for larger scenarios). */
  random?: { seed: number; count: number };
  /** Judge device accesses with the safety oracle (default true). */
  oracle?: boolean;
  /**
   * How schedules are enumerated (default "dpor": partial-order reduction, one schedule per
   * class of schedules that only reorder commuting steps; every outcome is still reached).
   * "none" runs every interleaving, to cross-check; "sleep" uses sleep sets alone.
   */
  reduction?: Reduction;
  /**
   * Where a scenario file came from: the name shown (and in the replay line) when the scenario
   * has no `name`; when it has one, the file the printed replay command gives beside the line.
   */
  source?: string;
  /** Called after each schedule: schedules run so far, and the most there will be (the bound). */
  onProgress?: (schedules: number, bound: number) => void;
}

const EXPLORE_OPTION_KEYS = {
  variant: true, variantSource: true, model: true, maxSchedules: true, random: true, oracle: true, reduction: true,
  source: true, onProgress: true, smmu: true,
} as const satisfies OptionKeys<ExploreScenarioOptions>;

/**
 * What an exploration shows: "violation" — a schedule the oracle objects to (exit 1);
 * "clean" — every schedule there is ran clean, a proof for this scenario, variant and model
 * (exit 0); "bounded" — no violation in the schedules run, but they were not all of them
 * (the schedule bound stopped it, or they were random): not a proof (exit 3).
 */
export type ExploreVerdict = "violation" | "clean" | "bounded";

/** The CLI's exit code for each verdict (bounded: neither found nor proven, as for a cut-short litmus run). */
export const VERDICT_EXIT_CODES: Readonly<Record<ExploreVerdict, number>> = Object.freeze({ clean: 0, violation: 1, bounded: EXIT_CUT_SHORT });

export interface ScenarioReport {
  scenario: string;
  /** The variant's name (a seed variant's, or the definition's). */
  variant: string;
  model: MemoryModel;
  verdict: ExploreVerdict;
  result: ExploreResult;
  /** Wall-clock milliseconds the exploration took (this machine; building the simulation excluded). */
  wallMs: number;
  /** One line: schedules explored and pruned, and the wall time (what `explore --stats` prints). */
  statsText: string;
  /** The violating schedule in replayable form, when one was found. */
  replay?: string;
  /** Readable account of the run. */
  text: string;
}

function resolve(scenario: string | Scenario, source: string | undefined): { name: string; sc: Scenario } {
  if (typeof scenario !== "string" && (typeof scenario !== "object" || scenario === null)) {
    throw new ArgumentError("scenario", scenario, `must be a built-in scenario's name (${Object.keys(BUILTIN_SCENARIOS).join(", ")}) ` +
      "or a scenario (an object)", "explore");
  }
  if (typeof scenario !== "string") return { name: scenario.name ?? source ?? "scenario", sc: validateScenario(scenario) };
  const sc = BUILTIN_SCENARIOS[scenario];
  if (!sc) throw new ArgumentError("scenario", scenario, `is not a built-in scenario (${Object.keys(BUILTIN_SCENARIOS).join(", ")}) — pass a scenario file instead`, "explore");
  return { name: scenario, sc };
}

function checkModel(model: unknown): MemoryModel {
  if (model !== "sc" && model !== "relaxed") throw new ArgumentError("model", model, "must be 'sc' or 'relaxed'", "explore");
  return model;
}

/** Explore a scenario (a built-in name such as 'seed-race', or a Scenario object). */
export async function exploreScenario(scenario: string | Scenario, options?: ExploreScenarioOptions): Promise<ScenarioReport> {
  const opts = checkOptions(options, EXPLORE_OPTION_KEYS, "explore");
  if (opts.random !== undefined) checkOptions(opts.random, ["seed", "count"], "explore", "random");
  const { name, sc } = resolve(scenario, opts.source);
  const resolved = resolveVariant(opts.variant ?? sc.variant ?? "merged", "explore");
  const variant = resolved.name;
  const model = checkModel(opts.model ?? "sc");
  const built = await buildScenario(sc, { variant: resolved, oracle: opts.oracle, smmu: opts.smmu });
  try {
    const bound = opts.random ? opts.random.count : opts.maxSchedules ?? DEFAULT_MAX_SCHEDULES;
    const base = { model, reset: built.reset, check: built.check,
                   onSchedule: opts.onProgress && ((n: number) => opts.onProgress!(n, bound)) };
    const started = performance.now();
    const result = opts.random
      ? randomSchedules(built.program, { ...base, seed: opts.random.seed, count: opts.random.count })
      : explore(built.program, { ...base, maxSchedules: opts.maxSchedules, reduction: opts.reduction ?? "dpor" });
    const wallMs = performance.now() - started;
    const label = withRunChanges(name, sc, opts.smmu);
    const replay = result.violation ? `${label}@${opts.variantSource ?? variant}@${model}: ${result.violation.text}` : undefined;
    const verdict: ExploreVerdict = result.violation ? "violation" : result.complete ? "clean" : "bounded";
    return {
      scenario: label, variant, model, verdict, result, wallMs, statsText: statsLine(result, wallMs), replay,
      text: describe(label, variant, model, result, replay, opts, sc),
    };
  } finally {
    await built.close();
  }
}

export interface ReplayReport {
  scenario: string;
  /** The variant as the line names it: a seed variant, the scenario's own variant's name, or a variant file. */
  variant: string;
  model: MemoryModel;
  /** The SMMU the schedule was replayed on: the line's `[smmu …]`, else the scenario's. */
  smmu: SmmuModel;
  /** The schedule as the line gives it: its steps, NAME:STEP separated by spaces. */
  steps: string;
  execution: Execution;
  text: string;
}

/** Split a printed schedule into its parts (no scenario is loaded). */
export function parseReplayLine(line: string): { scenario: string; variant: string; model: MemoryModel; steps: string } {
  const m = /^\s*(.+?)@([^@\s]+)@([a-z]+)\s*:\s*(.*)$/s.exec(String(line));
  if (!m) {
    throw new ArgumentError("schedule", line, "must look like 'seed-race@v2-hoisted@sc: B:1 A:1 …' (scenario@variant@model: steps), as explore prints it", "replay");
  }
  return { scenario: m[1]!, variant: m[2]!, model: checkModel(m[3]), steps: m[4]! };
}

/** The variant a replay line names: a seed variant, the scenario's own (by its name), or a variant file. */
function replayVariant(name: string, sc: Scenario, loadVariant?: (source: string) => unknown): ResolvedVariant {
  if ((SEED_VARIANTS as readonly string[]).includes(name)) return resolveVariant(name as SeedVariant, "replay");
  if (typeof sc.variant === "object" && (sc.variant.name ?? "custom") === name) return resolveVariant(sc.variant, "replay");
  if (!loadVariant) {
    throw new ArgumentError("variant", name, `must be one of ${SEED_VARIANTS.join(", ")}, or the name of the scenario's own variant`, "replay");
  }
  return resolveVariant(loadVariant(name) as VariantDefinition, name);
}

/**
 * A replay line's scenario part: its name, and in brackets what the run changed from the
 * scenario as written — the kernel when it runs its profile with behaviours changed
 * ("split-race[5.15 without PGT_SPLIT_LOSER_UNMAPS]"), the SMMU when `--smmu` chose another
 * one than the scenario's ("seed-race[smmu v2]"), both as "[KERNEL; smmu v2]" — so that a
 * schedule replays on the code and the hardware that found it.
 */
function withRunChanges(label: string, sc: Scenario, smmu?: SmmuModel): string {
  const o = normaliseOverrides(sc.behaviours);
  const parts = [...(o ? [describeKernel(sc.profile ?? "5.15", o)] : []),
                 ...(smmu !== undefined && smmu !== (sc.smmu ?? "v3") ? [`smmu ${smmu}`] : [])];
  return parts.length ? `${label}[${parts.join("; ")}]` : label;
}

/** The inverse of withRunChanges: the scenario's name, and the kernel and SMMU it names (undefined: the scenario's). */
function splitRunChanges(part: string): { name: string; kernel?: { profile: string; overrides: BehaviourOverrides }; smmu?: SmmuModel } {
  const m = /^(.*)\[([^\]]*)\]$/s.exec(part);
  if (!m) return { name: part };
  let kernel: { profile: string; overrides: BehaviourOverrides } | undefined;
  let smmu: SmmuModel | undefined;
  for (const piece of m[2]!.split(";").map((x) => x.trim())) {
    const sm = /^smmu (\S+)$/.exec(piece);
    if (sm) {
      if (!(SMMU_MODELS as readonly string[]).includes(sm[1]!)) {
        throw new ArgumentError("schedule", part, `names SMMU ${sm[1]}, but the SMMU models are ${SMMU_MODELS.join(", ")}`, "replay");
      }
      smmu = sm[1] as SmmuModel;
      continue;
    }
    const k = /^(\S+)(?: with ((?:(?! without ).)+))?(?: without (.+))?$/.exec(piece);
    if (!k || kernel) {
      throw new ArgumentError("schedule", part, "must name what it changed as '[PROFILE with A, B without C; smmu MODEL]', as explore prints it", "replay");
    }
    const list = (x: string | undefined) => (x ? x.split(",").map((b) => b.trim()) as Behaviour[] : undefined);
    kernel = { profile: k[1]!, overrides: { ...(k[2] ? { with: list(k[2]) } : {}), ...(k[3] ? { without: list(k[3]) } : {}) } };
  }
  return { name: m[1]!, ...(kernel ? { kernel } : {}), ...(smmu ? { smmu } : {}) };
}

export interface ReplayScenarioOptions {
  /** Judge device accesses with the safety oracle (default true). */
  oracle?: boolean;
  /**
   * The scenario the line names, given rather than looked up (a scenario that names itself in
   * its `name` field, whose file the name does not find); its `name`, when it has one, must be
   * the line's.
   */
  scenario?: Scenario;
}

/**
 * Re-run one printed schedule; `load` turns a non-built-in scenario name (a path) into a
 * Scenario, `loadVariant` a variant that is neither built in nor the scenario's (a path) into a definition.
 */
export async function replayScenario(line: string, load?: (source: string) => Scenario, options?: ReplayScenarioOptions,
                                     loadVariant?: (source: string) => unknown): Promise<ReplayReport> {
  const opts = checkOptions(options, ["oracle", "scenario"], "replay");
  const p = parseReplayLine(line);
  const { name, kernel, smmu } = splitRunChanges(p.scenario);
  let sc = opts.scenario !== undefined ? givenScenario(opts.scenario, name)
    : BUILTIN_SCENARIOS[name] ?? (load ? validateScenario(load(name), name) : undefined);
  if (!sc) throw new ArgumentError("scenario", name, "is neither a built-in scenario nor a file that could be read", "replay");
  if (kernel) {
    if (kernel.profile !== (sc.profile ?? "5.15")) {
      throw new ArgumentError("schedule", p.scenario, `names kernel ${kernel.profile}, but scenario ${name} runs ${sc.profile ?? "5.15"}`, "replay");
    }
    sc = validateScenario({ ...sc, behaviours: kernel.overrides }, `replay ${name}`);
  }
  const built = await buildScenario(sc, { variant: replayVariant(p.variant, sc, loadVariant), oracle: opts.oracle, smmu });
  try {
    const execution = runSchedule(built.program, p.steps, { model: p.model, reset: built.reset, check: built.check });
    if (execution.blocked) throw blockedError(execution);
    const used = built.domain.smmu.model;
    const head = `replay ${p.scenario}, variant ${p.variant}, model ${p.model}${used === "v3" ? "" : `, SMMU ${used}`}: ` +
      (execution.violation ? "VIOLATION" : "clean");
    return { ...p, smmu: used, execution, text: [head, ...traceLines(execution.trace), ...violationLines(execution.violation?.message)].map(terminalText).join("\n") };
  } finally {
    await built.close();
  }
}

/** ReplayScenarioOptions.scenario, checked against the name the line gives its scenario. */
function givenScenario(given: Scenario, name: string): Scenario {
  const sc = validateScenario(given, "replay's scenario");
  if (sc.name !== undefined && sc.name !== name) {
    throw new ArgumentError("schedule", name, `must name the scenario given, ${sc.name} (the line's scenario part names another one)`, "replay");
  }
  return sc;
}

/**
 * A replayed schedule in which a step would still be waiting (a lock held, a running timer
 * callback): the kernel cannot run it, so it is refused as a schedule that breaks program
 * order is, not reported as a run.
 */
function blockedError(e: Execution): ScheduleError {
  const b = e.blocked!;
  const label = e.trace[e.trace.length - 1]?.label ?? "";
  return new ScheduleError(`schedule position ${b.position + 1}: ${e.trace[e.trace.length - 1]?.thread ?? "?"}:${b.step.index + 1} ` +
    `${JSON.stringify(label)} would still be waiting there (${b.message}), so the kernel cannot run this schedule ` +
    "(explore leaves such schedules out)", b.position);
}

function describe(name: string, variant: string, model: MemoryModel, r: ExploreResult, replay: string | undefined,
                  opts: ExploreScenarioOptions, sc: Scenario): string {
  const how = opts.random ? `${r.schedules} random schedules (seed ${opts.random.seed})`
    : `${r.schedules} schedule(s)${r.complete ? `, every one there is${r.reduction.reduction === "none" ? "" : " up to reordering of commuting steps"}` : ` (stopped: ${r.stoppedBy ?? "bound"})`}`;
  const smmu = opts.smmu ?? sc.smmu ?? "v3";
  const head = `explore ${name}, variant ${variant}, model ${model}${smmu === "v3" ? "" : `, SMMU ${smmu}`}: ${how}`;
  if (!r.violation) {
    const races = r.races.length ? [`  data races flagged (LKMM: plain accesses racing): ${r.races.map((x) => x.text).join("; ")}`] : [];
    const waited = r.blocked ? [`  ${r.blocked} schedule(s) left out as ones the kernel cannot run: a CPU would still be waiting there (${r.blockedBy})`] : [];
    const verdict = r.complete ? "  clean: no schedule violated the oracle"
      : `  bounded: ${r.schedules} ${opts.random ? "random " : ""}schedules explored, no violation found (not a proof)` +
        (opts.random ? "" : ` — the bound of ${opts.maxSchedules ?? DEFAULT_MAX_SCHEDULES} stopped it; --max-schedules raises it`);
    return [head, verdict, ...waited, ...races, ...variantHint(variant, opts, sc)].map(terminalText).join("\n");
  }
  return [head, `  VIOLATION in schedule ${r.schedules}:`, ...traceLines(r.violation.trace),
    ...violationLines(r.violation.message), `  replay with: ${replayCommand(name, replay!, opts.source)}`].map(terminalText).join("\n");
}

/**
 * The command that replays a printed line: a line naming its scenario by the scenario's own
 * `name` (not the file's path) cannot find the file from the name, so the file goes beside it.
 */
function replayCommand(name: string, replay: string, source: string | undefined): string {
  const file = source !== undefined && source !== name ? `${shellWord(source)} ` : "";
  return `iommu-sim explore ${file}--replay "${replay}"`;
}

/** A path as one shell word: as it is when it needs no quoting, else in single quotes. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, "'\\''")}'`;
}

function statsLine(r: ExploreResult, wallMs: number): string {
  const p = r.reduction;
  const pruned = p.reduction === "none" ? "none pruned (every interleaving)"
    : `pruned: ${p.sleepBlocked} sleep-set blocked, ${p.prunedBranches} redundant branches`;
  const waited = r.blocked ? ` (${r.blocked} of them cannot run: a CPU waits there)` : "";
  return `  stats: reduction ${p.reduction}; ${r.schedules} schedules explored${waited}; ${pruned}; wall ${(wallMs / 1000).toFixed(2)} s`;
}

/**
 * After a clean run of code the user did not pick: which code that was and how to pick
 * another. A clean result on the merged code alone reads as "the explorer finds nothing".
 */
function variantHint(variant: string, opts: ExploreScenarioOptions, sc: Scenario): string[] {
  if (opts.variant !== undefined || typeof sc.variant === "object") return [];
  // Only the DMA API's unmap and the live switch run a variant's code.
  if (!Object.values(sc.threads).flat().some((op) => "unmap" in op || "switch" in op)) return [];
  const others = SEED_VARIANTS.filter((v) => v !== variant);
  return [`  this explored the scenario's code, variant ${variant}${variant === "merged" ? " (the fix as merged in v5.15)" : ""}; ` +
    `--variant (the variant option) picks another: ${others.join(", ")} (v2-hoisted has the seed race)`];
}

function traceLines(trace: TraceEntry[]): string[] {
  const rows = trace.map((t) => {
    const what = t.kind === "load" ? `read ${t.var} = ${t.value ?? "-"}` : t.kind === "store" ? `wrote ${t.var} = ${t.value ?? "-"}` : "";
    const note = [what, t.note].filter(Boolean).join("; ");
    const mark = t.effective ? "" : " (not taken)";
    return `  ${String(t.position + 1).padStart(3)}  ${`${t.thread}:${t.step}`.padEnd(7)} ${t.label}${mark}${note ? ` — ${note}` : ""}`;
  });
  return ["  step  cpu:n   what it did", ...rows];
}

function violationLines(message: string | undefined): string[] {
  return message ? [`  violation: ${message}`] : [];
}

