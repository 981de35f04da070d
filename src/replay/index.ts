// Replaying a kernel-call script (the language of shared/conformance/README.md) against the
// simulator, printing results in the same line format as the traces the kernel's own code
// produced, so a run can be diffed against them line by line.
//
// This file parses and dispatches; each family of commands lives beside it (pgtable.ts,
// iova.ts).

import { Simulator } from "../simulator.js";
import { IommuSimError } from "../errors.js";
import { checkOneOf, checkRequiredOptions, type OptionKeys } from "../validate.js";
import { PgtableCommands } from "./pgtable.js";
import { IovaCommands } from "./iova.js";
import { PROFILES, type Profile } from "../profile.js";

/** A replay script could not be read or run: the message names the line and what was wrong. */
export class ReplayError extends IommuSimError {
  override name = "ReplayError";
  constructor(readonly line: number, readonly text: string, message: string) {
    super(`line ${line}: ${message}\n  ${text}`);
  }
}

/** Where a command family prints, and how it counts WARNINGs. */
export interface ReplayOutput {
  line(text: string): void;
  warning(text: string): void;
}

export interface CommandFamily {
  /** Handle `cmd` if it belongs to this family; false if it does not. */
  run(cmd: string, args: Args): Promise<boolean> | boolean;
  /** Release whatever the script left allocated. */
  close(): void;
}

/** A command's arguments, parsed on demand with the line number for errors. */
export class Args {
  constructor(readonly words: string[], private readonly fail: (msg: string) => never) {}

  get length(): number {
    return this.words.length;
  }

  /** A number argument: decimal or 0x hex, at most 2^53 − 1. */
  num(i: number, name: string, dflt?: number): number {
    const w = this.words[i];
    if (w === undefined) {
      if (dflt !== undefined) return dflt;
      this.fail(`missing argument ${i + 1} (${name})`);
    }
    if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(w)) this.fail(`${name} must be a decimal or 0x-hex number, got '${w}'`);
    const v = Number(w);
    if (!Number.isSafeInteger(v)) this.fail(`${name} ${w} is above 2^53 − 1, which the simulator's addresses cannot hold`);
    return v;
  }

  word(i: number, name: string): string {
    const w = this.words[i];
    if (w === undefined) this.fail(`missing argument ${i + 1} (${name})`);
    return w;
  }

  atMost(n: number): void {
    if (this.words.length > n) this.fail(`too many arguments (at most ${n})`);
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
  /** A simulator to run in (its profile must match). Default: a fresh one, closed afterwards. */
  simulator?: Simulator;
  /** How `init` makes IOVA domains search ('verify' cross-checks against the kernel's walk). */
  iovaSearch?: "fast" | "linear" | "verify";
}

const REPLAY_OPTION_KEYS = {
  profile: true, commandRules: true, simulator: true, iovaSearch: true,
} as const satisfies OptionKeys<ReplayOptions>;

/** Run a script; returns the output lines (without trailing newlines). */
export async function replayScript(script: string, opts: ReplayOptions): Promise<string[]> {
  checkRequiredOptions(opts, REPLAY_OPTION_KEYS, "replayScript", "with at least profile");
  checkOneOf("profile", opts.profile, PROFILES, "replayScript");
  const sim = opts.simulator ?? await Simulator.create({ profile: opts.profile });
  if (sim.profile !== opts.profile) {
    throw new IommuSimError(`iommu-sim: replay with profile ${opts.profile} in a simulator of profile ${sim.profile}`);
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
    const text = script.split(/\r?\n/);
    for (let n = 0; n < text.length; n++) {
      const raw = text[n]!.replace(/\s+$/, "");
      const trimmed = raw.trim();
      if (trimmed === "") continue;
      if (trimmed.startsWith("#")) { lines.push(raw); continue; }
      lines.push(`> ${trimmed}`);
      const [cmd, ...words] = trimmed.split(/\s+/);
      const fail = (msg: string): never => { throw new ReplayError(n + 1, raw, msg); };
      const args = new Args(words, fail);
      let handled = false;
      try {
        for (const f of families) {
          if (await f.run(cmd!, args)) { handled = true; break; }
        }
      } catch (e) {
        if (e instanceof ReplayError) throw e;
        fail((e as Error).message);
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
