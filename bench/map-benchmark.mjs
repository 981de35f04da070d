// dma_map_benchmark (kernel/dma/map_benchmark.c and its tool; reference §6) on the
// simulator's modelled time, strict (DMA) against lazy (DMA-FQ), for the cases published for
// SMMUv3 machines (reference §7.1: Arm Morello, Snapdragon X), with those numbers beside
// ours. The published rows do not say strict or lazy; arm64 defaults to strict.
//
// Ours are modelled, not measured: each thread's clock is the cost model's charge for what
// it did (Simulator cpuCosts, SMMU costs), so they are exact and noise-free (σ mostly 0.0),
// and threads do not contend (4 threads give 1 thread's latencies; the published growth
// with threads is command-queue and cache-line contention, which is not modelled). The
// last row runs an SMMU without range invalidation (one TLBI per page, as SMMUv3.1 parts
// have it), the likely reason for the published 1 MiB unmap times. Wall time is the
// simulator's own speed on this machine.
// Run alone: `node bench/map-benchmark.mjs`, or through `npm run bench -- map-benchmark`.

import { PROFILES, runMapBenchmark } from "../dist/index.js";

const CASES = [
  { name: "4K, 1 thread ", opts: { threads: 1, granule: 1 }, published: "Morello 0.1/0.6, Snapdragon X 0.0/1.8" },
  { name: "4K, 4 threads", opts: { threads: 4, granule: 1 }, published: "Morello 0.1/1.1 (Snapdragon X 8 thr 0.2/6.2)" },
  { name: "1M, 1 thread ", opts: { threads: 1, granule: 256 }, published: "Morello 0.8/21.2, Snapdragon X 0.5/54.3" },
  { name: "1M, 1 thread, no range TLBI", opts: { threads: 1, granule: 256, rangeInvalidation: false },
    published: "Morello 0.8/21.2" },
];

const us = (v) => (v / 10).toFixed(1);
const pair = (r) => `${us(r.avgMap100ns)}/${us(r.avgUnmap100ns)} (σ ${us(r.mapStddev100ns)}/${us(r.unmapStddev100ns)})`;

/** One profile when `profile` is given (bench/run.mjs calls once per profile), else every profile. */
export async function run({ print = console.log, profile: only } = {}) {
  const profiles = only ? [only] : PROFILES;
  const seconds = 1;
  print(`dma_map_benchmark, ${seconds} modelled s per run: average map/unmap µs (σ), strict | lazy — published beside`);
  for (const profile of profiles) {
    for (const c of CASES) {
      const strict = await runMapBenchmark({ ...c.opts, seconds, profile, mode: "strict" });
      const lazy = await runMapBenchmark({ ...c.opts, seconds, profile, mode: "lazy" });
      const speed = (r) => `${((r.loops / r.wallMs) * 1e3 / 1e6).toFixed(2)} M loops/s`;
      print(`  ${profile}  ${c.name}: strict ${pair(strict)} | lazy ${pair(lazy)} — published ${c.published}`);
      print(`        simulator: strict ${speed(strict)}, lazy ${speed(lazy)} wall, ${strict.workers} worker(s)`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
