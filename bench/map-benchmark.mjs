// dma_map_benchmark (kernel/dma/map_benchmark.c and its tool; reference §6) on the
// simulator's modelled time, on each machine preset (src/machines.ts) at the thread counts
// it has published figures for, with those figures and the ratio beside ours, and the same
// on two workers instead of one (the modelled figures must agree within the clocks'
// quantum: src/tasks/map-benchmark.ts). Strict domains, as the published runs; the 1 MiB rows
// are the presets' SMMUs without range invalidation.
//
// Ours are modelled, not measured: each thread's clock is what the cost model charged it,
// and threads contend in modelled time for the command queue, the SMMU and shared PTE
// lines. With one worker a run is deterministic. Wall time is the simulator's own speed.
// Run alone: `node bench/map-benchmark.mjs`, or through `npm run bench -- map-benchmark`.

import { MACHINES, MACHINE_NAMES, runMapBenchmark } from "../dist/index.js";

const us = (v) => (v / 10).toFixed(1);
const perCpu = (r) => Math.round(r.perThread.reduce((n, t) => n + t.loops / (t.modelledNs / 1e9), 0) / r.threads);

function figure(f, r) {
  if (f.unmapUs !== undefined) return { ours: `map/unmap ${us(r.avgMap100ns)}/${us(r.avgUnmap100ns)} µs`,
    theirs: `${f.mapUs ?? "–"}/${f.unmapUs} µs`, ratio: r.avgUnmap100ns / 10 / f.unmapUs };
  return { ours: `${perCpu(r).toLocaleString("en-US")} pairs/CPU/s`, theirs: `${f.pairsPerCpuPerSecond.toLocaleString("en-US")}`,
    ratio: perCpu(r) / f.pairsPerCpuPerSecond };
}

/** One profile when `profile` is given (bench/run.mjs calls once per profile), else the default. */
export async function run({ print = console.log, profile } = {}) {
  print(`dma_map_benchmark on the machine presets, ${profile ?? "default profile"}, strict, modelled: ` +
    "ours vs published (ratio), 1 worker | 2 workers");
  for (const name of MACHINE_NAMES) {
    for (const f of MACHINES[name].published) {
      const opts = { ...(profile ? { profile } : {}), machine: name, threads: f.threads, granule: f.granule, mode: f.mode, seconds: 1,
        maxLoops: f.granule > 1 ? 300 : f.threads >= 32 ? 400 : 5000, ...(f.cmdq ? { cmdq: f.cmdq } : {}) };
      const one = await runMapBenchmark({ ...opts, workers: 1 });
      const two = await runMapBenchmark({ ...opts, workers: Math.min(2, f.threads) });
      const a = figure(f, one);
      const b = figure(f, two);
      print(`  ${name.padEnd(12)} ${String(f.threads).padStart(3)} thr ${String(f.granule * 4).padStart(4)} KiB${f.cmdq ? ` ${f.cmdq}` : ""}: ` +
        `${a.ours} vs ${a.theirs} (${a.ratio.toFixed(2)}×) | 2 workers ${b.ours} (${b.ratio.toFixed(2)}×); ` +
        `wall ${Math.round(one.wallMs)} | ${Math.round(two.wallMs)} ms`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
