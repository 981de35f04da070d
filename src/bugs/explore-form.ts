// A bug zoo form that is an explore scenario (src/explore/): every schedule of the scenario's
// CPUs run, with partial-order reduction, in a kernel with or without the entry's behaviour.
// The buggy form is caught when a schedule violates; the fixed form is clean only when every
// schedule was run (a bounded run proves nothing, so it does not count as clean).

import { exploreScenario, type ScenarioReport } from "../explore/run.js";
import type { Scenario } from "../explore/scenario.js";
import { ACCESS_CLASS_CODES, type AccessClass } from "../safety/oracle.js";
import { oracleName } from "./evidence.js";
import type { BugFormResult, BugForm } from "./types.js";

/**
 * The violation in a few words: the oracle's class by its name (AFTER_STRICT …) or what the
 * step found ("fq ring accessed after free"), and the step that saw it ("at dev:1").
 */
function kindOf(r: ScenarioReport): string {
  const v = r.result.violation!;
  const head = /^([^:]+)/.exec(v.message)?.[1] ?? "violation";
  const cls = Object.keys(ACCESS_CLASS_CODES).find((c) => c === head) as AccessClass | undefined;
  const step = v.trace.at(-1);
  return `${cls ? oracleName(cls) : head}${step ? ` at ${step.thread}:${step.step}` : ""}`;
}

/** Explore `scenario` (a form's kernel already set in it) and say what the form showed. */
export async function exploreForm(form: BugForm, scenario: Scenario, signal?: AbortSignal): Promise<BugFormResult> {
  signal?.throwIfAborted();
  const r = await exploreScenario(scenario, { model: "sc", reduction: "dpor" });
  const measures = { schedules: r.result.schedules, violations: r.result.violations, blocked: r.result.blocked };
  const evidence = r.text.split("\n");
  if (r.verdict === "violation") {
    return { form, caught: true, verdict: `${kindOf(r)} in schedule ${r.result.schedules}`, evidence, measures };
  }
  const clean = r.verdict === "clean";
  const left = r.result.blocked ? `; ${r.result.blocked} the kernel cannot run left out` : "";
  return { form, caught: !clean, verdict: clean ? `clean: every schedule (${r.result.schedules}${left})` : "bounded: not proven clean",
           evidence, measures };
}
