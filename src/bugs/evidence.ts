// What the bug zoo's entries share: a form's machine (the profile with the entry's behaviour
// removed in the buggy form), and the evidence in words — the commands the driver wrote, each
// device access with the oracle's verdict (named as the oracle names its classes, AC_* without
// the prefix: AFTER_STRICT, USE_AFTER_FREE …), and a verdict line from counts.

import { Simulator } from "../simulator.js";
import { hex } from "../errors.js";
import { formatCommandEvent } from "../smmu/commands.js";
import { ACCESS_CLASS_CODES, type AccessClass } from "../safety/oracle.js";
import type { TlbEvent } from "../pgtable.js";
import type { AccessResult } from "../smmu/smmu.js";
import type { Behaviour, Profile } from "../profile.js";
import type { BugForm } from "./types.js";

/**
 * A small machine for one form: `profile` as it ships for the fixed form, and without
 * `fix` (the behaviour the fixing commit gave the kernel) for the buggy one.
 */
export function formMachine(form: BugForm, profile: Profile, fix: Behaviour): Promise<Simulator> {
  return Simulator.create({
    profile, ramMiB: 8, kheapMiB: 4, ...(form === "buggy" ? { behaviours: { without: [fix] } } : {}),
  });
}

/** An access class as the oracle names it (AC_AFTER_STRICT → AFTER_STRICT). */
export function oracleName(c: AccessClass): string {
  return ACCESS_CLASS_CODES[c].slice("AC_".length);
}

/** The access classes that are violations (not OK, not lazy mode's accepted window, not unjudged). */
export function isViolation(c: AccessClass | undefined): boolean {
  return c !== undefined && c !== "ok" && c !== "lazy-window" && c !== "unchecked";
}

/** The driver's commands among a table's events, one trace line each (runs compacted). */
export function commandLines(events: readonly TlbEvent[]): string[] {
  return events.flatMap((e) => (e.kind === "cmd" ? formatCommandEvent(e, true).map((l) => `  ${l}`) : []));
}

/** A device access in a line: where the translation came from and the oracle's verdict, or the fault. */
export function accessLine(what: string, r: AccessResult): string {
  if (!r.ok) return `${what}: fault (${r.fault.type} at level ${r.fault.level})`;
  const s = r.segments[0]!;
  return `${what}: reached PA ${hex(s.pa)} via ${s.from}${s.check ? ` (oracle: ${oracleName(s.check)})` : ""}`;
}

/** The oracle's verdict of every segment of an access (none for a fault before the first). */
export function accessClasses(r: AccessResult): AccessClass[] {
  return r.segments.flatMap((s) => (s.check ? [s.check] : []));
}

/** Counts by name as a verdict: "AFTER_STRICT ×1, USE_AFTER_FREE ×1", or `clean` when none. */
export function verdictOf(counts: ReadonlyMap<string, number>, clean = "clean"): string {
  const parts = [...counts].filter(([, n]) => n > 0).map(([k, n]) => `${k} ×${n}`);
  return parts.length ? parts.join(", ") : clean;
}

/** Tally the violations among access classes, by the oracle's names. */
export function tallyViolations(classes: readonly AccessClass[], into = new Map<string, number>()): Map<string, number> {
  for (const c of classes) if (isViolation(c)) into.set(oracleName(c), (into.get(oracleName(c)) ?? 0) + 1);
  return into;
}
