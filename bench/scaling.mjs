// How the simulator's own speed grows with workers, 1 up to this machine's cores (at most 16):
// the curve the 2-worker ratios of bench/dma.mjs are one point of. Two workloads:
//   DMA pairs — dma_map + device write + dma_unmap of a 4 KiB buffer, one simulated CPU per
//     worker, one device per CPU, in one strict (DMA) or lazy (DMA-FQ) domain, free-running
//     (bench/dma.mjs's pairsRig, same warm-up); beside each point the same pairs on N
//     Simulators of one worker each at once (sharing nothing: what this machine gives N copies
//     of this work) and the share of that the one Simulator's N workers keep — and the share
//     N workers keep whose CPUs each map in a domain on an SMMU of their own (the same core,
//     memory, pool and loop, none of the kernel's state shared: the simulator's own share).
//     What one domain's workers keep less is the kernel's sharing (the command queue every
//     strict unmap goes through, the depot, page-table lines of neighbouring IOVAs), which
//     grows with N as the kernel's own does.
//   dma_map_benchmark — the kernel tool in modelled time (16 threads, strict and lazy) on N
//     workers kept within a quantum of modelled time of each other (src/tasks/lag-window.ts):
//     wall-clock iterations per second in the steady state, and the modelled unmap latency,
//     which stays within the quantum's bound of one worker's whatever N.
// Kernel behaviour followed: as bench/dma.mjs and bench/map-benchmark.mjs.
// Run alone: `node bench/scaling.mjs [max-workers] [profiles…]` (default: this machine's cores,
// at most 16; every profile), or through `npm run bench -- scaling`.

import { availableParallelism } from "node:os";
import { DEFAULT_PROFILE, PROFILES, runMapBenchmark } from "../dist/index.js";
import { median } from "./lib/control.mjs";
import { pairsRig, rateOf } from "./dma.mjs";

const fmt = (n, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

/** Worker counts to measure: 1, 2, 4, … and the top itself, up to `top`. */
export function workerCounts(top) {
  const counts = [];
  for (let n = 1; n < top; n *= 2) counts.push(n);
  counts.push(top);
  return counts;
}

/** The most workers this machine runs side by side, at most 16 (the main thread only waits on them). */
const machineTop = () => Math.min(16, availableParallelism());

/**
 * One point of the DMA-pairs curve: `n` workers of one Simulator (one domain), `n` workers of
 * one Simulator whose CPUs each map in a domain on an SMMU of their own (none of the kernel's
 * state shared), and `n` Simulators of one worker each (sharing nothing), taking turns `reps`
 * times. Returns medians: pairs/s of each, and the shares of the last the first two keep.
 */
async function pairsPoint(profile, type, n, count, reps) {
  const rigs = [await pairsRig(profile, type, n, count), await pairsRig(profile, type, n, count, { own: true })];
  const apart = [];
  try {
    for (let i = 0; i < n; i++) apart.push(await pairsRig(profile, type, 1, count));
    const turns = { rate: [], own: [], control: [] };
    for (let r = 0; r < reps; r++) {
      turns.rate.push(rateOf(await rigs[0].go(count, 100 + r), count));
      turns.own.push(rateOf(await rigs[1].go(count, 100 + r), count));
      const res = await Promise.all(apart.map((g) => g.go(count, 100 + r)));
      turns.control.push(rateOf(res.map((x) => x[0]), count));
    }
    const kept = (xs) => median(xs.map((x, i) => x / turns.control[i]));
    return { rate: median(turns.rate), control: median(turns.control), kept: kept(turns.rate), ownKept: kept(turns.own) };
  } finally {
    await Promise.all([...rigs, ...apart].map((g) => g.sim.close()));
  }
}

/** The DMA-pairs curve of `profile`, strict then lazy, over the worker counts `counts`. */
export async function pairsCurve(profile, counts, print) {
  const count = 200_000;
  const reps = 3;
  for (const [mode, type] of [["strict", "DMA"], ["lazy", "DMA-FQ"]]) {
    let base;
    for (const n of counts) {
      const p = await pairsPoint(profile, type, n, count, reps);
      base ??= p.rate;
      print(`  ${profile}  pairs ${mode.padEnd(6)} ${String(n).padStart(2)} worker${n > 1 ? "s" : " "}: ` +
        `${fmt(p.rate / 1e6, 2)} M pairs/s = ${fmt(p.rate / base, 2)}× one worker | ${n} Simulator${n > 1 ? "s" : ""} of one worker: ` +
        `${fmt(p.control / 1e6, 2)} M pairs/s = ${fmt(p.control / base, 2)}× | kept ${fmt(p.kept, 2)}, by CPUs in ` +
        `domains on SMMUs of their own ${fmt(p.ownKept, 2)}`);
    }
  }
}

/**
 * Wall-clock iterations per second of dma_map_benchmark's steady state (`threads` threads on
 * `workers` workers): two runs of different lengths, the difference of their iterations over
 * the difference of their times, so that what every run pays once (the Simulator, the pool's
 * start, the tables) drops out. Returns that rate and the longer run's result.
 */
async function steadyMapBenchmark(options) {
  const timed = async (maxLoops) => {
    const t0 = performance.now();
    const r = await runMapBenchmark({ ...options, seconds: 300, maxLoops });
    return { r, ms: performance.now() - t0 };
  };
  const short = await timed(20_000);
  const long = await timed(100_000);
  return { rate: (long.r.loops - short.r.loops) / ((long.ms - short.ms) / 1000), result: long.r };
}

/** dma_map_benchmark on 1..N workers, kept together by a quantum (two quanta for lazy). */
export async function mapBenchmarkCurve(profile, counts, print) {
  const threads = 16;
  for (const [mode, quantumNs] of [["strict", 500], ["lazy", 500], ["lazy", 10_000]]) {
    let base;
    for (const n of counts.filter((c) => c <= threads)) {
      const { rate, result: r } = await steadyMapBenchmark({ threads, mode, profile, workers: n, quantumNs });
      base ??= { rate, unmap: r.avgUnmap100ns };
      print(`  ${profile}  dma_map_benchmark -t ${threads} ${mode.padEnd(6)} ${String(n).padStart(2)} worker${n > 1 ? "s" : " "}: ` +
        `${fmt(rate / 1e6, 2)} M iterations/s wall = ${fmt(rate / base.rate, 2)}× | modelled unmap ` +
        `${fmt(r.avgUnmap100ns / 10, 1)} µs (one worker's ${fmt(base.unmap / 10, 1)} µs, quantum ${r.quantumNs} ns)`);
    }
  }
}

/** One profile when `profile` is given (bench/run.mjs calls once per profile). */
export async function run({ print = console.log, profile = DEFAULT_PROFILE, top = machineTop() } = {}) {
  const counts = workerCounts(top);
  print(`Simulator speed against workers (${counts.join(", ")}; this machine: ${availableParallelism()} cores)`);
  await pairsCurve(profile, counts, print);
  await mapBenchmarkCurve(profile, counts, print);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const top = process.argv[2] === undefined ? machineTop() : Number(process.argv[2]);
  if (!Number.isInteger(top) || top < 1 || top > 63) {
    console.error(`bench/scaling.mjs: max-workers (the first argument) must be an integer in [1, 63] (a pool's most), got ${process.argv[2]}`);
    process.exit(2);
  }
  const profiles = process.argv.slice(3);
  for (const profile of profiles.length ? profiles : PROFILES) await run({ profile, top });
}
