// The bug zoo in words, for the command line (and anything else that prints it): the list of
// entries as a table, and one entry's run with both forms' verdicts side by side, then the
// evidence of each. Browser-safe (no node: imports), like the rest of src/bugs/.

import type { BugEntry, BugFormResult, BugRunResult } from "./types.js";

/** An entry without its run function: what `bugs --json` prints for each. */
export type BugEntryInfo = Omit<BugEntry, "run">;

/** The entry's description as data. */
export function bugInfo(e: BugEntry): BugEntryInfo {
  const { run: _run, ...info } = e;
  return info;
}

/** The switch in a few words: "SMMU_NONLEAF_TTL0: 7.1 without SMMU_NONLEAF_TTL0 | 7.1". */
export function switchText(e: BugEntry): string {
  return `${e.switch.kind} ${e.switch.name}: buggy ${e.switch.buggy}, fixed ${e.switch.fixed}`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd());
}

/** The entries as a table: corpus number, id, fix commit, component, title; then each one's effect and switch. */
export function formatBugList(entries: readonly BugEntry[]): string[] {
  const out = table([["#", "id", "fix", "component", "title"],
    ...entries.map((e) => [String(e.corpus), e.id, e.fix, e.component, e.title])]);
  out.push("");
  for (const e of entries) out.push(`${e.id}: ${e.effect}`, `  switch: ${switchText(e)}`);
  out.push("", "`iommu-sim bugs run <id>` (or a fix's first 12 hex digits) runs both forms; `--all` runs every entry.");
  return out;
}

function formBlock(label: string, f: BugFormResult): string[] {
  const verdict = f.verdict === "clean" ? "clean" : `${f.caught ? "CAUGHT" : "clean"} — ${f.verdict}`;
  return [`${label}: ${verdict}`, ...f.evidence.map((l) => `  ${l}`)];
}

/** One entry's run: the fix, both verdicts side by side, each form's evidence, then PASS or FAIL and why. */
export function formatBugRun(e: BugEntry, r: BugRunResult): string[] {
  const head = [
    `${e.id} (corpus #${e.corpus}): ${e.title}`,
    `fix ${e.fix}${e.introducedBy ? `, introduced by ${e.introducedBy}` : ""}; ${e.component}; ${e.kernels}`,
    `what the fix changed: ${e.fixChanged}`,
    `trigger: ${e.trigger}`,
    "",
  ];
  const sides = table([
    ["", `buggy (${e.switch.buggy})`, `fixed (${e.switch.fixed})`],
    ["verdict", r.buggy.verdict, r.fixed.verdict],
    ["caught", r.buggy.caught ? "yes" : "no", r.fixed.caught ? "yes" : "no"],
  ]);
  const why = r.pass ? "the buggy form is caught and the fixed one is clean"
    : [!r.buggy.caught ? "the buggy form was not caught" : "", r.fixed.caught ? "the fixed form is not clean" : ""]
      .filter(Boolean).join("; ");
  return [...head, ...sides, "", ...formBlock("buggy", r.buggy), "", ...formBlock("fixed", r.fixed), "",
    `${r.pass ? "PASS" : "FAIL"}: ${why}`];
}
