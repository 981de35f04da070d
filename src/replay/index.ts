// Replaying a kernel-call script (the language of shared/conformance/README.md) against the
// simulator, printing results in the same line format as the traces the kernel's own code
// produced, so a run can be diffed against them line by line.
//
// This file parses and dispatches; each family of commands lives beside it (pgtable.ts,
// iova.ts).

import { Simulator, checkBehaviourOverrides } from "../simulator.js";
import { ArgumentError, IommuSimError } from "../errors.js";
import { checkBool, checkOneOf, checkOptions, checkRequiredOptions, type OptionKeys } from "../validate.js";
import { Args, type CommandFamily, type ReplayOutput } from "./args.js";
import { PgtableCommands } from "./pgtable.js";
import { IovaCommands } from "./iova.js";
import {
  PROFILES, behaviourOverrideProblems, describeKernel, effectiveBehaviours, normaliseOverrides, otherOverrideEntry,
  type Behaviour, type BehaviourOverrideProblem, type BehaviourOverrides, type OverrideEntry, type Profile,
} from "../profile.js";

/** A replay script could not be read or run: the message names the line and what was wrong. */
export class ReplayError extends IommuSimError {
  override name = "ReplayError";
  constructor(readonly line: number, readonly text: string, message: string) {
    super(`line ${line}: ${message}\n  ${text}`);
  }
}

export interface ReplayOptions {
  profile: Profile;
  /**
   * Whose SMMUv3 driver encodes the CMD lines. Default: the profile's. The kernel-code
   * harness encoded the 5.15 and 7.1 traces with the v5.15 rules; the 6.12 traces carry
   * the 6.12 driver's own encoding (conformance README).
   */
  commandRules?: Profile;
  /**
   * The profile's behaviours changed by name, as the script's `behaviours with … without …`
   * lines do (both apply; a behaviour both adds and removes is refused).
   */
  behaviours?: BehaviourOverrides;
  /**
   * How messages name an entry of `behaviours`: "options" (the default) as the field,
   * `behaviours.without[0]`; "flags" as the command line gives it, `--without`.
   */
  behavioursFrom?: "options" | "flags";
  /** A simulator to run in (its kernel must match). Default: a fresh one, closed afterwards. */
  simulator?: Simulator;
  /** How `init` makes IOVA domains search ('verify' cross-checks against the kernel's walk). */
  iovaSearch?: "fast" | "linear" | "verify";
}

const REPLAY_OPTION_KEYS = {
  profile: true, behaviours: true, behavioursFrom: true, commandRules: true, simulator: true, iovaSearch: true,
} as const satisfies OptionKeys<ReplayOptions>;

/** Run a script; returns the output lines (without trailing newlines). */
export async function replayScript(script: string, opts: ReplayOptions): Promise<string[]> {
  checkRequiredOptions(opts, REPLAY_OPTION_KEYS, "replayScript", "with at least profile");
  checkOneOf("profile", opts.profile, PROFILES, "replayScript");
  const text = script.split(/\r?\n/);
  checkOneOf("behavioursFrom", opts.behavioursFrom ?? "options", ["options", "flags"], "replayScript");
  const behaviours = scriptBehaviours(text, opts.profile, opts.behaviours, opts.behavioursFrom ?? "options");
  const sim = opts.simulator ?? await Simulator.create({ profile: opts.profile, behaviours });
  if (sim.profile !== opts.profile) {
    throw new IommuSimError(`iommu-sim: replay with profile ${opts.profile} in a simulator of profile ${sim.profile}`);
  }
  if (sim.behaviours.join() !== effectiveBehaviours(opts.profile, behaviours).join()) {
    throw new IommuSimError(`iommu-sim: replay of kernel ${describeKernel(opts.profile, behaviours)} in a simulator ` +
      `of kernel ${describeKernel(sim.profile, sim.behaviourOverrides)}`);
  }
  const lines: string[] = [];
  let warnings = 0;
  const out: ReplayOutput = {
    line: (t) => lines.push(t),
    warning: (t) => { warnings++; lines.push(`WARNING: ${t}`); },
  };
  // IOVA first: its `free PFN` takes an argument, the page tables' `free` none.
  const families: CommandFamily[] = [new IovaCommands(sim, out, opts.iovaSearch), new PgtableCommands(sim, out, opts.commandRules)];
  try {
    for (let n = 0; n < text.length; n++) {
      const raw = text[n]!.replace(/\s+$/, "");
      const trimmed = raw.trim();
      if (trimmed === "") continue;
      if (trimmed.startsWith("#")) { lines.push(raw); continue; }
      lines.push(`> ${trimmed}`);
      const [cmd, ...words] = trimmed.split(/\s+/);
      const fail = (msg: string): never => { throw new ReplayError(n + 1, raw, msg); };
      if (cmd === BEHAVIOURS_DIRECTIVE) {
        // Read before the machine was made (scriptBehaviours); here it only says what is in force.
        lines.push(`kernel ${describeKernel(opts.profile, behaviours)}`);
        continue;
      }
      const args = new Args(words, fail);
      let handled = false;
      try {
        for (const f of families) {
          if (await f.run(cmd!, args)) { handled = true; break; }
        }
      } catch (e) {
        if (e instanceof ReplayError) throw e;
        // The line number says where; an error's own "iommu-sim: " would come after it.
        fail((e as Error).message.replace(/^iommu-sim: /, ""));
      }
      if (!handled) fail(`unknown command '${cmd}'`);
    }
    lines.push(`# warnings=${warnings}`);
  } finally {
    for (const f of families) f.close();
    if (!opts.simulator) await sim.close();
  }
  return lines;
}

/**
 * The normalisation the conformance README prescribes: what depends on the harness's page
 * arena or clock (table addresses in descriptors, TTBR/VTTBR, WARNING locations, jiffies,
 * kmalloc_live), blank lines and trailing spaces. `dropCmd` also drops SMMU `CMD` lines.
 */
export function normalizeTrace(lines: string[], opts: { dropCmd?: boolean } = {}): string[] {
  if (!Array.isArray(lines) || !lines.every((l) => typeof l === "string")) {
    throw new ArgumentError("lines", lines, "must be an array of strings (a trace's lines)", "normalizeTrace");
  }
  checkOptions(opts, ["dropCmd"], "normalizeTrace");
  checkBool("dropCmd", opts.dropCmd, false, "normalizeTrace");
  const out: string[] = [];
  for (let l of lines) {
    l = l.replace(/\s+$/, "");
    if (l === "") continue;
    if (opts.dropCmd && /^\s*CMD /.test(l)) continue;
    l = l.replace(/pte=0x[0-9a-f]+ TABLE/, "pte=* TABLE")
      .replace(/\b(V?TTBR)=0x[0-9a-f]+/, "$1=*")
      .replace(/^WARNING:.*$/, "WARNING: *")
      .replace(/jiffies=\d+/, "jiffies=*")
      .replace(/kmalloc_live=\d+/, "kmalloc_live=*");
    out.push(l);
  }
  return out;
}

/** The directive that changes the profile's behaviours: `behaviours with A B without C`. */
const BEHAVIOURS_DIRECTIVE = "behaviours";

/** Where each override came from, by list and index: a script line's number, or 0 for the caller's. */
type Origins = Record<OverrideEntry["list"], number[]>;

/**
 * The script's `behaviours` lines (each before any command: they choose the machine the
 * script runs on) merged with the caller's overrides, checked against the profile: an
 * unknown name, or one that would change nothing, is an error naming the line.
 */
function scriptBehaviours(text: readonly string[], profile: Profile, given: BehaviourOverrides | undefined,
                          from: "options" | "flags"): BehaviourOverrides | undefined {
  // The caller's object itself (not an object, an unknown key, a list that is not one): its own error.
  if (behaviourOverrideProblems(profile, given).some((p) => p.path.length < 2)) checkBehaviourOverrides(profile, given, "replayScript", "behaviours");
  const merged = { with: [...(given?.with ?? [])], without: [...(given?.without ?? [])] };
  const origins: Origins = { with: merged.with.map(() => 0), without: merged.without.map(() => 0) };
  let commandSeen = false;
  for (let n = 0; n < text.length; n++) {
    const trimmed = text[n]!.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const [cmd, ...words] = trimmed.split(/\s+/);
    const fail = (msg: string): never => { throw new ReplayError(n + 1, text[n]!.replace(/\s+$/, ""), msg); };
    if (cmd !== BEHAVIOURS_DIRECTIVE) { commandSeen = true; continue; }
    if (commandSeen) fail("'behaviours' must come before any command: it chooses the kernel the whole script runs");
    const own = directiveOverrides(words, fail);
    for (const list of ["with", "without"] as const) {
      merged[list].push(...own[list]);
      origins[list].push(...own[list].map(() => n + 1));
    }
  }
  const [problem] = behaviourOverrideProblems(profile, merged);
  if (!problem) return normaliseOverrides(merged);
  throw overridesError(text, profile, merged, origins, problem, given, from);
}

/**
 * The first problem of the merged overrides, told where its entries came from: at the script
 * line it is on, or the line of the other entry naming the same behaviour (a duplicate, or
 * added and removed), each entry named as its source writes it. A problem of the caller's
 * own that no line takes part in is the caller's ArgumentError.
 */
function overridesError(text: readonly string[], profile: Profile, merged: Required<BehaviourOverrides>, origins: Origins,
                        problem: BehaviourOverrideProblem, given: BehaviourOverrides | undefined, from: "options" | "flags"): Error {
  const at: OverrideEntry = { list: problem.path[0] as OverrideEntry["list"], index: problem.path[1] as number };
  const other = otherOverrideEntry(merged, at);
  const line = origins[at.list][at.index]!;
  const blamed = line || (other ? origins[other.list][other.index]! : 0);
  if (blamed === 0 && from === "flags") return new ArgumentError(`--${at.list}`, merged[at.list][at.index], problem.message, `kernel ${profile}`);
  if (blamed === 0) {
    try { checkBehaviourOverrides(profile, given, "replayScript", "behaviours"); } catch (e) { return e as Error; }
  }
  const name = (e: OverrideEntry): string => {
    const l = origins[e.list][e.index]!, entry = `'${e.list} ${merged[e.list][e.index]}'`;
    if (l === 0) return from === "flags" ? `--${e.list} ${merged[e.list][e.index]}` : `behaviours.${e.list}[${e.index}] of the options`;
    return l === blamed ? (e === at ? entry : `this line's ${entry}`) : `line ${l}'s ${entry}`;
  };
  const also = other ? `; ${name(other)} names it too` : "";
  return new ReplayError(blamed, text[blamed - 1]!.replace(/\s+$/, ""), `${name(at)} ${problem.message}${also}`);
}

/** `with A B without C` → the lists; anything else is an error. */
function directiveOverrides(words: readonly string[], fail: (msg: string) => never): { with: Behaviour[]; without: Behaviour[] } {
  const out = { with: [] as Behaviour[], without: [] as Behaviour[] };
  let list: Behaviour[] | undefined;
  for (const w of words) {
    if (w === "with" || w === "without") list = out[w];
    else if (list === undefined) fail(`expected 'with' or 'without' before the behaviour '${w}'`);
    else list.push(w as Behaviour);
  }
  if (out.with.length + out.without.length === 0) fail("expected 'with NAME…' and/or 'without NAME…' (behaviour names: `iommu-sim profiles`)");
  return out;
}
