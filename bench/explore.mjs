// The schedule explorer's cost: each built-in explore scenario (the seed race on four CPUs,
// two-unmappers on five) for the merged fix and the hoisted read of the v2 series, under sc
// and relaxed, with partial-order reduction (DPOR with sleep sets, src/explore/dpor.ts):
// schedules explored and pruned, and wall time on this machine. And the seed race without
// reduction, every interleaving, for comparison. Kernel behaviour followed: the seed
// variants of reference §1 on the scenario's profile. `npm run bench -- explore` runs it alone.

import { BUILTIN_SCENARIOS, exploreScenario } from "../dist/index.js";

export async function run({ print, profile }) {
  print(`explore (profile ${profile}): verdict, schedules explored and pruned, wall time (this machine)`);
  for (const [name, scenario] of Object.entries(BUILTIN_SCENARIOS)) {
    for (const variant of ["merged", "v2-hoisted"]) {
      for (const model of ["sc", "relaxed"]) {
        const r = await exploreScenario({ ...scenario, profile }, { variant, model });
        print(`  ${`${name} ${variant} ${model}`.padEnd(32)} ${r.verdict.padEnd(9)} ${r.statsText.trim()}`);
      }
    }
  }
  const all = await exploreScenario({ ...BUILTIN_SCENARIOS["seed-race"], profile }, { variant: "merged", model: "sc", reduction: "none" });
  print(`  ${"seed-race merged sc, no DPOR".padEnd(32)} ${all.verdict.padEnd(9)} ${all.statsText.trim()}`);
}
