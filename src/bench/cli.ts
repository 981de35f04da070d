// `iommu-sim bench`: the kernel's dma_map_benchmark user tool (tools/dma/dma_map_benchmark.c
// in v7.1, tools/testing/selftests/dma/ in v5.15; reference §6.5), run on the simulator —
// the same short options and defaults, the same output, once per domain type asked for.
// Registered in src/cli.ts; everything it prints on stdout is the tool's format (or JSON),
// while the progress bar goes to stderr, and only to a terminal.

import { progressBar, type ProgressSink } from "../progress.js";
import {
  formatMapBenchmark, runMapBenchmark, type MapBenchmarkOptions, type MapBenchmarkResult,
} from "./map-benchmark.js";
import { type Profile } from "../profile.js";

export type BenchMode = "strict" | "lazy" | "both";

export interface BenchCliOptions {
  threads: number;
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
  rangeInvalidation: boolean;
  maxLoops?: number;
}

/** The header line before each domain type's block, as the kernel command line would set it. */
const HEADERS = { strict: "iommu.strict=1 (DMA domain):", lazy: "iommu.strict=0 (DMA-FQ domain):" } as const;

/** A bar on stderr once the run has taken a second, if stderr is a terminal. */
/** One bar over the runs at once: their average fraction done. */
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
 * Run the benchmark for one domain type or both and print the tool's output (or JSON).
 * Both types run at once when there are cores enough for both runs' workers.
 */
export async function runBenchCommand(o: BenchCliOptions, print: (line: string) => void): Promise<void> {
  const modes = o.mode === "both" ? (["strict", "lazy"] as const) : [o.mode];
  const base: MapBenchmarkOptions = {
    threads: o.threads, seconds: o.seconds, node: o.node, dmaBits: o.bits, dir: o.dir, transNs: o.delay,
    granule: o.granule, mapMode: o.mapMode, profile: o.profile, rangeInvalidation: o.rangeInvalidation,
    ...(o.workers !== undefined ? { workers: o.workers } : {}), ...(o.maxLoops !== undefined ? { maxLoops: o.maxLoops } : {}),
  };
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once("SIGINT", onSigint);
  const progress = new Progress(`dma_map_benchmark ${modes.join(" + ")}`, modes.length);
  // A run that fails stops the other one too (it would keep the process alive for nothing).
  const run = (mode: "strict" | "lazy", i: number) =>
    runMapBenchmark({ ...base, mode, signal: abort.signal, onProgress: (p) => progress.update(i, p.fraction) })
      .catch((e: unknown) => { abort.abort(); throw e; });
  let results: MapBenchmarkResult[];
  try {
    const { availableParallelism } = await import("node:os");
    const workersEach = o.workers ?? Math.min(o.threads, availableParallelism());
    results = modes.length * workersEach <= availableParallelism()
      ? await Promise.all(modes.map(run))
      : await sequentially(modes.map((m, i) => () => run(m, i)));
  } finally {
    progress.stop();
    process.off("SIGINT", onSigint);
  }
  if (results.some((r) => r.stoppedEarly === "signal")) {
    process.stderr.write(`iommu-sim bench: interrupted; the results cover the modelled time run so far\n`);
  }
  if (o.json) {
    print(JSON.stringify(modes.length === 1 ? results[0] : Object.fromEntries(modes.map((m, i) => [m, results[i]])), null, 2));
    return;
  }
  modes.forEach((m, i) => {
    if (modes.length > 1) print(HEADERS[m]);
    print(formatMapBenchmark(results[i]!, o.profile));
  });
}

async function sequentially<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  for (const job of jobs) out.push(await job());
  return out;
}
