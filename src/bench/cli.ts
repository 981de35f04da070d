// `iommu-sim bench`: the kernel's dma_map_benchmark user tool (tools/dma/dma_map_benchmark.c
// in v7.1, tools/testing/selftests/dma/ in v5.15; reference §6.5), run on the simulator —
// the same short options and defaults, the same output, once per domain type asked for.
// Registered in src/cli.ts; everything it prints on stdout is the tool's format (or JSON),
// while the progress bar goes to stderr, and only to a terminal.

import { ArgumentError } from "../errors.js";
import { outBase, writeOutFile } from "../out-base.js";
import { progressBar, type ProgressSink } from "../progress.js";
import {
  checkMapBenchmarkOptions, formatMapBenchmark, runMapBenchmark, type MapBenchmarkOptions, type MapBenchmarkResult,
} from "./map-benchmark.js";
import { kernelProfile, type Profile } from "../profile.js";
import type { CmdqVariant, MachineName } from "../machines.js";
import { renderSweepHtml, sweepPoint, sweepTable, sweepText } from "./sweep.js";

export type BenchMode = "strict" | "lazy" | "both";

export interface BenchCliOptions {
  /** One thread count, or several (a sweep: a table against threads). */
  threads: number | number[];
  seconds: number;
  node: number;
  bits: number;
  dir: number;
  delay: number;
  granule: number;
  mapMode: number;
  profile: Profile;
  mode: BenchMode;
  workers?: number;
  json?: boolean;
  /** Undefined: the machine's (or true). */
  rangeInvalidation?: boolean;
  maxLoops?: number;
  machine?: MachineName;
  cmdq?: CmdqVariant;
  quantum?: number;
  /** IOVA_MAG_SIZE when not the profile's. */
  magazineSize?: number;
  /** Write BASE.html (the curve and the breakdown) and BASE.json. */
  out?: string;
}

/** The header line before each domain type's block, as the kernel command line would set it. */
const HEADERS = { strict: "iommu.strict=1 (DMA domain):", lazy: "iommu.strict=0 (DMA-FQ domain):" } as const;

/** One bar over the runs at once (their average fraction done), on stderr once they have taken a second, if it is a terminal. */
class Progress {
  private readonly sink: ProgressSink;
  private readonly fractions: number[];

  constructor(label: string, runs: number) {
    this.sink = progressBar(label);
    this.fractions = new Array(runs).fill(0);
  }

  update(run: number, fraction: number): void {
    this.fractions[run] = fraction;
    this.sink.update(Math.floor((this.fractions.reduce((a, b) => a + b, 0) / this.fractions.length) * 100), 100);
  }

  stop(): void {
    this.sink.stop();
  }
}

/**
 * Run the benchmark for one domain type or both, at one thread count or several, and print
 * the tool's output (or JSON); with several thread counts or a machine, the table against
 * threads with the published figures. Both types run at once when there are cores enough.
 */
export async function runBenchCommand(o: BenchCliOptions, print: (line: string) => void): Promise<"done" | "interrupted"> {
  if (o.out !== undefined) o = { ...o, out: outBase(o.out) }; // before the run: a long run must not end in a refusal
  const modes = o.mode === "both" ? (["strict", "lazy"] as const) : [o.mode];
  const counts = Array.isArray(o.threads) ? o.threads : [o.threads];
  for (const threads of counts) checkMapBenchmarkOptions(benchOptions(o, threads)); // every point before the first runs
  checkNoRepeats(counts);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once("SIGINT", onSigint);
  const runs: MapBenchmarkResult[][] = [];
  const t0 = performance.now();
  try {
    for (const threads of counts) {
      if (abort.signal.aborted) break;
      runs.push(await runModes(o, threads, modes, abort));
    }
  } finally {
    process.off("SIGINT", onSigint);
  }
  const results = runs.flat();
  const interrupted = abort.signal.aborted || results.some((r) => r.stoppedEarly === "signal");
  if (interrupted) {
    process.stderr.write(`iommu-sim bench: interrupted; the results cover the modelled time run so far\n`);
  }
  const points = results.map(sweepPoint);
  if (o.json) printJson(o, modes, runs, points, print);
  else printText(o, modes, runs, points, (performance.now() - t0) / 1000, print);
  // Last: a write that fails all the same (a folder that passed the check up front but refuses
  // the file, as /sys does root) must not lose the results of a run that may have taken long.
  if (o.out !== undefined) writeOut(o, points, results);
  return interrupted ? "interrupted" : "done";
}

function printJson(o: BenchCliOptions, modes: readonly ("strict" | "lazy")[], runs: MapBenchmarkResult[][],
                   points: ReturnType<typeof sweepPoint>[], print: (line: string) => void): void {
  const one = (rs: MapBenchmarkResult[]) => (modes.length === 1 ? rs[0] : Object.fromEntries(modes.map((m, i) => [m, rs[i]])));
  print(JSON.stringify(Array.isArray(o.threads) ? { points, results: runs.flat() } : one(runs[0] ?? []), null, 2));
}

/** The tool's blocks, the table against threads when there is one, and on standard error which clock they are on. */
function printText(o: BenchCliOptions, modes: readonly ("strict" | "lazy")[], runs: MapBenchmarkResult[][],
                   points: ReturnType<typeof sweepPoint>[], wallS: number, print: (line: string) => void): void {
  runs.forEach((rs) => rs.forEach((r, i) => {
    if (modes.length > 1) print(HEADERS[modes[i]!]);
    print(formatMapBenchmark(r, o.profile));
  }));
  if (Array.isArray(o.threads) || o.machine) {
    print("");
    print(`modelled latency against threads${o.machine ? ` on ${o.machine}` : ""} (ns columns: where each thread's time went, per iteration):`);
    for (const l of sweepText(sweepTable(points))) print(l);
  }
  // The tool's own lines cannot say which clock they are on; standard error can, without
  // changing the format scripts parse from standard output.
  // Nor can they say that the kernel ran with magazines of its own size.
  const magazines = o.magazineSize === undefined ? ""
    : `, with IOVA magazines of ${o.magazineSize} (--magazine-size; ${o.profile}'s are ${kernelProfile(o.profile).iovaMagazineSize})`;
  process.stderr.write(`iommu-sim bench: every latency above is modelled time (the cost model's), not this machine's${magazines}; ` +
    `the run took ${wallS.toFixed(1)} s of wall time\n`);
}

/** A list of thread counts names each once: a repeat would run the same point twice and print it twice. */
function checkNoRepeats(counts: readonly number[]): void {
  const repeated = counts.find((n, i) => counts.indexOf(n) !== i);
  if (repeated !== undefined) {
    throw new ArgumentError("threads", counts.join(","), `must list each thread count once (${repeated} is there twice)`,
      "dma_map_benchmark");
  }
}

function benchOptions(o: BenchCliOptions, threads: number): MapBenchmarkOptions {
  return {
    threads, seconds: o.seconds, node: o.node, dmaBits: o.bits, dir: o.dir, transNs: o.delay,
    granule: o.granule, mapMode: o.mapMode, profile: o.profile,
    ...(o.rangeInvalidation !== undefined ? { rangeInvalidation: o.rangeInvalidation } : {}),
    ...(o.workers !== undefined ? { workers: o.workers } : {}), ...(o.maxLoops !== undefined ? { maxLoops: o.maxLoops } : {}),
    ...(o.machine !== undefined ? { machine: o.machine } : {}), ...(o.cmdq !== undefined ? { cmdq: o.cmdq } : {}),
    ...(o.quantum !== undefined ? { quantumNs: o.quantum } : {}),
    ...(o.magazineSize !== undefined ? { magazineSize: o.magazineSize } : {}),
  };
}

/** One thread count: each domain type asked for, at once when the cores allow. */
async function runModes(o: BenchCliOptions, threads: number, modes: readonly ("strict" | "lazy")[],
                        abort: AbortController): Promise<MapBenchmarkResult[]> {
  const base = benchOptions(o, threads);
  const progress = new Progress(`dma_map_benchmark -t ${threads} ${modes.join(" + ")}`, modes.length);
  // A run that fails stops the other one too (it would keep the process alive for nothing).
  const run = (mode: "strict" | "lazy", i: number) =>
    runMapBenchmark({ ...base, mode, signal: abort.signal, onProgress: (p) => progress.update(i, p.fraction) })
      .catch((e: unknown) => { abort.abort(); throw e; });
  try {
    const { availableParallelism } = await import("node:os");
    const workersEach = o.workers ?? 1;
    return modes.length * workersEach <= availableParallelism()
      ? await Promise.all(modes.map(run))
      : await sequentially(modes.map((m, i) => () => run(m, i)));
  } finally {
    progress.stop();
  }
}

function writeOut(o: BenchCliOptions, points: ReturnType<typeof sweepPoint>[], results: MapBenchmarkResult[]): void {
  const info = { ...(o.machine ? { machine: o.machine } : {}), cmdq: o.cmdq ?? "kernel", profile: o.profile, granule: o.granule,
                 ...(o.magazineSize !== undefined ? { magazineSize: o.magazineSize } : {}) };
  writeOutFile(`${o.out}.html`, renderSweepHtml(points, info, results));
  writeOutFile(`${o.out}.json`, JSON.stringify({ points, results }, null, 2));
  process.stderr.write(`iommu-sim bench: wrote ${o.out}.html and ${o.out}.json\n`);
}

async function sequentially<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  for (const job of jobs) out.push(await job());
  return out;
}
