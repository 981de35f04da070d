// The seed race under load, as a rate: runDmaStress (src/scenarios/dma-stress.ts: a scenario
// of the scenario runner) with two mapper workers, the switcher flipping the live domain
// strict → lazy through the test hook, and an attacker per mapper; three runs of 100 000
// pairs per mapper for each variant.
// Prints pairs, switches, oracle violations per million pairs and the unmaps that skipped
// the sync yet freed at once (the seed bug's signature). Kernel behaviour followed: the
// variants of reference §1 (src/dma.ts). `npm run bench -- seed-stress` runs it alone.

import { Simulator, runDmaStress } from "../dist/index.js";

export async function run({ print, profile }) {
  print(`seed race under load (profile ${profile}): 2 mappers × 100,000 pairs × 3 runs per variant, attacker on`);
  for (const variant of ["merged", "v2-two-reads", "v2-hoisted"]) {
    const sim = await Simulator.create({ profile });
    let pairs = 0, switches = 0, violations = 0, mixed = 0;
    try {
      for (let i = 0; i < 3; i++) {
        const r = await runDmaStress(sim, { variant, mappers: 2, pairs: 100_000, seed: i + 1 });
        pairs += r.pairs; switches += r.switches; violations += r.violationCount; mixed += r.dma.mixedDecisions;
      }
    } finally {
      await sim.close();
    }
    print(`  ${variant.padEnd(13)} ${pairs} pairs, ${switches} switches: ${violations} violations ` +
      `(${(violations / pairs * 1e6).toFixed(0)} per million pairs), ${mixed} mixed decisions`);
  }
}
