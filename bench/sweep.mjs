// The sweep machinery's overhead (src/sweep/local.ts): 200-point local sweeps (nic-tx, IOTLB
// size, packets per CPU and domain type crossed, 4 repetitions) written to a results file as
// `iommu-sim sweep` does — once with runs of the example size (10,000–30,000 packets
// per CPU: its sweep sets 20,000) and once with very short runs (1,000–5,000 packets, ~10 ms),
// where the one-time simulator start weighs most. Each result line carries its run's own
// wall time (runScenario, from its start to its report); the overhead is what the sweep costs
// on top of the runs themselves:
//
//   overhead = (sweep wall time × jobs − Σ runs' own wall time) / Σ runs' own wall time
//
// at jobs = 1 (the machinery alone: expanding and checking points, starting the kept
// simulators, writing lines) and at jobs = the machine's cores (adding what running side by
// side leaves idle: a slot waiting at the end for the last runs). Starting each slot's
// simulator (~0.5–1 s: its worker thread and the core) is counted as overhead, not as a run's.
// Beside it, the same runs each on a fresh simulator (what a shell loop around `iommu-sim run`
// pays per run), as the sum of their wall times over a sample.
// Run alone: `node bench/sweep.mjs`, or `npm run bench -- sweep`.

import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_PROFILE } from "../dist/index.js";
import { expandPoints, loadSweep, runPoint, runSweep } from "../dist/node.js";

/** A 200-point sweep (5 IOTLB sizes × 5 packet counts × 2 domain types × 4 repetitions). */
const sweepOf = (name, ops) => ({
  name,
  base: "nic-tx",
  axes: {
    "smmu.iotlb.entries": { from: 16, to: 256, factor: 2 },
    "workloads[0].ops": ops,
    "domains[0].type": ["DMA", "DMA-FQ"],
  },
  repeat: 4,
});
const SWEEPS = [
  { label: "runs of the issue's example size (10,000–30,000 packets per CPU)", sweep: sweepOf("bench-sweep", { from: 10_000, to: 30_000, step: 5_000 }) },
  { label: "very short runs (1,000–5,000 packets per CPU)", sweep: sweepOf("bench-sweep-short", { from: 1000, to: 5000, step: 1000 }) },
];
/** Runs sampled on fresh simulators (each costs a simulator start). */
const FRESH_SAMPLE = 10;

const fmt = (n, d = 1) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

async function measure(spec, jobs) {
  const dir = mkdtempSync(join(tmpdir(), "bench-sweep-"));
  try {
    const r = await runSweep(spec, { jobs, out: join(dir, "results.jsonl") });
    if (r.lines.length !== 200 || r.failed !== 0) throw new Error(`the sweep ran ${r.lines.length} runs, ${r.failed} failed`);
    return { wallMs: r.wallMs, runMs: r.runWallMs, startMs: r.simulatorStartMs,
             overhead: (r.wallMs * jobs - r.runWallMs) / r.runWallMs,
             perRun: (r.wallMs * jobs - r.runWallMs - r.simulatorStartMs) / 200 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run({ print, profile }) {
  if (profile !== DEFAULT_PROFILE) return; // the sweep's own cost does not depend on the kernel
  const cores = availableParallelism();
  print(`200-point local sweeps (nic-tx), wall clock; overhead = (wall × jobs − Σ runs) / Σ runs`);
  let spec;
  for (const { label, sweep } of SWEEPS) {
    spec = loadSweep({ ...sweep, set: { profile } });
    print(` ${label}:`);
    for (const jobs of [...new Set([1, cores])]) {
      const m = await measure(spec, jobs);
      print(`  jobs ${String(jobs).padStart(2)}: wall ${fmt(m.wallMs / 1000)} s, Σ runs' own ${fmt(m.runMs / 1000)} s ` +
        `(${fmt(m.runMs / 200, 0)} ms a run): overhead ${fmt(m.overhead * 100)}% — starting the simulators ` +
        `${fmt(m.startMs / 1000, 2)} s, the rest ${fmt(m.perRun, 2)} ms a run`);
    }
  }
  const sample = expandPoints(spec).filter((_, i) => i % 20 === 0).slice(0, FRESH_SAMPLE);
  let freshMs = 0;
  for (const p of sample) freshMs += (await runPoint(spec, p, { ranOn: "bench" })).wallMs;
  print(`  each short run on a fresh simulator instead (a shell loop around \`iommu-sim run\`): ${fmt(freshMs / sample.length, 0)} ms a run`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run({ print: (l) => console.log(l), profile: DEFAULT_PROFILE });
