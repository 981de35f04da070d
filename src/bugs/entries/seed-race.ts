// Bug zoo #2, the seed: the 2021 thread's live strict → lazy switch racing an unmap in flight
// (corpus #2; shared/seed/, README "Exploring schedules"). Never merged: v2 of the series read
// the flush-queue pointer twice with plain accesses, and a compiler may hoist the second read
// above the switch's store, so one unmap skips its sync and frees its IOVA at once. The
// merged v5.15 redesign (7a7c5badf858 … 452e69b58c28) reads the mode once from the gather.
// The two forms are seed variants (src/variants/seed.ts) explored on every schedule.

import { exploreScenario } from "../../explore/run.js";
import type { BugEntry, BugForm, BugFormResult } from "../types.js";

const VARIANTS = { buggy: "v2-hoisted", fixed: "merged" } as const;

async function run(form: BugForm): Promise<BugFormResult> {
  const r = await exploreScenario("seed-race", { variant: VARIANTS[form], model: "sc" });
  const lines = r.text.split("\n");
  const measures = { schedules: r.result.schedules, violations: r.result.violations };
  if (r.verdict === "violation") {
    const kind = /violation: ([a-z-]+):/.exec(r.text)?.[1] ?? "violation";
    return { form, caught: true, verdict: `${kind.toUpperCase().replace(/-/g, "_")} in schedule ${r.result.schedules}`, evidence: lines, measures };
  }
  // Bounded is not clean: what was not run could still violate.
  const clean = r.verdict === "clean";
  return { form, caught: !clean, verdict: clean ? `clean: every schedule (${r.result.schedules})` : "bounded: not proven clean",
           evidence: lines, measures };
}

export const SEED_RACE_BUG: BugEntry = {
  id: "seed-race",
  corpus: 2,
  fix: "7a7c5badf858",
  title: "iommu/arm-smmu: Allow non-strict in pgtable_quirks interface (v2 23/24; fixed by the merged v5.15 redesign)",
  component: "dma-iommu live switch",
  effect: "an unmap racing the live strict → lazy switch skips its sync and frees its IOVA at once: use-after-free",
  kernels: "none released (the v2 series lived only on the list)",
  fixChanged: "The merged series (7a7c5badf858, a8e5f04458c4, 452e69b58c28) decides strict or lazy once per unmap, " +
    "from the gather, and publishes the flush queue before the mode, so one unmap never sees both.",
  switch: { kind: "seed-variant", name: "variant", buggy: VARIANTS.buggy, fixed: VARIANTS.fixed },
  trigger: "explore seed-race under sc: CPU B unmaps, CPU A switches the domain to lazy, CPU C maps, the device writes",
  run,
};
