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
import { PROFILES, describeKernel, effectiveBehaviours, type Behaviour, type BehaviourOverrides, type Profile } from "../profile.js";

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
  /** A simulator to run in (its kernel must match). Default: a fresh one, closed afterwards. */
  simulator?: Simulator;
  /** How `init` makes IOVA domains search ('verify' cross-checks against the kernel's walk). */
  iovaSearch?: "fast" | "linear" | "verify";
}

const REPLAY_OPTION_KEYS = {
  profile: true, behaviours: true, commandRules: true, simulator: true, iovaSearch: true,
} as const satisfies OptionKeys<ReplayOptions>;

/** Run a script; returns the output lines (without trailing newlines). */
export async function replayScript(script: string, opts: ReplayOptions): Promise<string[]> {
  checkRequiredOptions(opts, REPLAY_OPTION_KEYS, "replayScript", "with at least profile");
  checkOneOf("profile", opts.profile, PROFILES, "replayScript");
  const text = script.split(/\r?\n/);
  const behaviours = scriptBehaviours(text, opts.profile, opts.behaviours);
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

/**
 * The script's `behaviours` lines (each before any command: they choose the machine the
 * script runs on) merged with the caller's overrides, checked against the profile: an
 * unknown name, or one that would change nothing, is an error naming the line.
 */
function scriptBehaviours(text: readonly string[], profile: Profile, given: BehaviourOverrides | undefined): BehaviourOverrides | undefined {
  const merged = { with: [...(given?.with ?? [])], without: [...(given?.without ?? [])] };
  let commandSeen = false;
  for (let n = 0; n < text.length; n++) {
    const trimmed = text[n]!.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const [cmd, ...words] = trimmed.split(/\s+/);
    const fail = (msg: string): never => { throw new ReplayError(n + 1, text[n]!.replace(/\s+$/, ""), msg); };
    if (cmd !== BEHAVIOURS_DIRECTIVE) { commandSeen = true; continue; }
    if (commandSeen) fail("'behaviours' must come before any command: it chooses the kernel the whole script runs");
    const own = directiveOverrides(words, fail);
    try {
      checkBehaviourOverrides(profile, own, `kernel ${profile}`, "behaviours");
    } catch (e) {
      fail((e as Error).message);
    }
    merged.with.push(...own.with);
    merged.without.push(...own.without);
  }
  try {
    return checkBehaviourOverrides(profile, merged, "replayScript", "behaviours");
  } catch (e) {
    if (given) throw e;
    // Two lines that contradict each other: the first of them is as good a place as any.
    const at = text.findIndex((l) => l.trim().startsWith(BEHAVIOURS_DIRECTIVE));
    throw new ReplayError(at + 1, text[at]!.trim(), (e as Error).message);
  }
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
