// Cache lines two workers would move between their cores, per DMA pair, strict and lazy:
// counted, not timed (bench/lib/line-sharing.mjs), so the figure is the same on any machine,
// and the functions that move them are named. Each transfer costs what a line move costs
// on the machine running the workers (printed by bench/dma.mjs beside its 2-worker ratios:
// about 70–320 ns on the 2-core VMs the benchmarks were tuned on), so a workload scales to
// two workers only if its transfers per operation times that cost stay small beside the
// time one operation takes. Needs the release build's build/core.wasm and build/core.wat
// (npm run build). Then the same per operation of the built-in scenarios whose DMA path it
// can run (nic strict and lazy, nic-tx, random, storage, attacker). Run alone: `node bench/lines.mjs`,
// or `npm run bench -- lines`.

import { BUILTIN_RUN_SCENARIOS, DEFAULT_PROFILE, PROFILES, Simulator } from "../dist/index.js";
import { dmaPairsSharing, scenarioSharing, tracedCore } from "./lib/line-sharing.mjs";

/** The scenarios counted, each on its own profile: [label, name, options]. */
const SCENARIOS = [
  ["nic strict", "nic", { type: "DMA" }],
  ["nic lazy", "nic", { type: "DMA-FQ" }],
  ["nic-tx", "nic-tx", {}],
  ["random", "random", {}],
  ["storage", "storage", {}],
  ["attacker", "attacker", {}],
];

const fmt = (n) => n.toFixed(3);
/** A count's total and the four functions that move the most. */
const summary = (r, per) => {
  const top = r.functions.slice(0, 4).map((f) => `${f.name} ${fmt(f.perOp)}`).join(", ");
  return `${fmt(r.total)} per ${per} over ${r.lines} lines${top ? `: ${top}` : ""}`;
};

export async function run({ print = console.log, profile: only } = {}) {
  const traced = await tracedCore();
  print("Line transfers between two workers per DMA pair (map + device write + unmap), one device per CPU");
  for (const profile of only ? [only] : PROFILES) {
    for (const [mode, type] of [["strict", "DMA"], ["lazy", "DMA-FQ"]]) {
      print(`  ${profile}  ${mode.padEnd(6)} ${summary(await dmaPairsSharing(Simulator, traced, { profile, type }), "pair")}`);
    }
  }
  if (only && only !== DEFAULT_PROFILE) return; // bench/run.mjs calls once per profile: the scenarios once
  print("Line transfers between two workers per scenario operation (its two CPUs taking turns; events left out)");
  for (const [label, name, options] of SCENARIOS) {
    const scenario = BUILTIN_RUN_SCENARIOS[name];
    print(`  ${label.padEnd(10)} (${scenario.profile}) ${summary(await scenarioSharing(Simulator, traced, scenario, options), "operation")}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
