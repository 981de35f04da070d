// dma_map_benchmark on modelled hardware time: the kernel's DMA-mapping benchmark
// (kernel/dma/map_benchmark.c, and its user tool tools/testing/selftests/dma/ in v5.15,
// tools/dma/ in v7.1; reference §6) run against the simulated IOMMU stack — an SMMUv3, a
// DMA (strict) or DMA-FQ (lazy) domain, one PCI device with the requested DMA mask.
//
// What follows the kernel:
//   - the parameters and their -EINVAL checks (ioctl and tool), with the kernel's limits;
//   - each thread's loop — map `granule` pages with dma_map_single, busy-wait, unmap —
//     timed around the map and around the unmap, each sample truncated to 100 ns units
//     (assembly/workload/map-benchmark.ts);
//   - the result, in integers: avg = Σ / loops, stddev = int_sqrt64(Σ² / loops − avg²),
//     the subtraction in u64 as the kernel does it (mapBenchmarkStats);
//   - the tool's output, per kernel version (formatMapBenchmark).
// What is the simulator's: time. The clock of each thread is the modelled cost of what it
// did (Simulator cpuCosts, SMMU costs, or a machine preset's: src/machines.ts), so results
// are repeatable — most standard deviations come out 0.0 on one thread; lazy unmaps show the
// one-in-255 flush that the kernel's averages hide too. Threads contend in modelled time for
// the SMMUv3 command queue (prod's compare-and-swap, the owner's MMIO write, the SMMU
// consuming commands, CMD_SYNC completion) and the DMA path's spinlocks (assembly/cpu-time.ts),
// with their clocks kept within a quantum across workers (src/tasks/map-benchmark.ts): more
// threads wait more, and each thread's time is broken down by where it went. With one
// worker a run is deterministic. Scatter-gather mode (v7.1 `-m 1`) is not modelled.

import { ArgumentError, IommuSimError, WorkerError } from "../errors.js";
import { checkCallback, checkInt, checkOneOf, checkOptions, checkSignal } from "../validate.js";
import { CallbackGuard } from "../callback-guard.js";
import { checkCpuCosts, Simulator } from "../simulator.js";
import { checkAssetOptions, type AssetOptions } from "../assets.js";
import {
  checkSmmuCosts, DEFAULT_COSTS, DEFAULT_CPU_COSTS, type CpuCosts, type SmmuCosts, type SmmuModel, type SmmuStats,
} from "../smmu/smmu.js";
import type { CommandKind } from "../smmu/commands.js";
import { CMDQ_VARIANTS, machinePreset, machineSmmuCosts, type CmdqVariant, type MachineName } from "../machines.js";
import { readTimeBreakdown, sumTimeBreakdowns, type TimeBreakdown } from "../cpu-time.js";
import type { DmaStats } from "../dma.js";
import {
  MB_STOP, MB_STOP_ENOMEM, MB_STOP_REQUESTED, mapBenchControl, type MapBenchArgs, type MapBenchWorkerResult,
} from "../tasks/map-benchmark.js";
import { DEFAULT_QUANTUM_NS } from "../tasks/lag-window.js";
import { DEFAULT_PROFILE, PROFILES, profileHas, type Profile } from "../profile.js";
import { CORE_LIMITS } from "../core-limits.js";
import { withJsonForm } from "../json-form.js";

export interface MapBenchmarkOptions extends AssetOptions {
  /** Kernel threads mapping at once, 1..1024 (the simulator runs at most 128 CPUs). Default 1. */
  threads?: number;
  /** How long, in modelled seconds, 1..300. Default 20. */
  seconds?: number;
  /** NUMA node of the threads: −1 (none) or 0, the simulated machine's only node. Default −1. */
  node?: number;
  /** DMA mask bits, 20..64. Default 32. */
  dmaBits?: number;
  /** 0 BIDIRECTIONAL, 1 TO_DEVICE, 2 FROM_DEVICE. Default 0. */
  dir?: number;
  /** Busy-wait between map and unmap (the "transfer"), 0..10 ms in ns. Default 0. */
  transNs?: number;
  /** Pages per mapping, 1..1024. Default 1. */
  granule?: number;
  /** v7.1 only: 0 single (dma_map_single), 1 scatter-gather (not modelled: refused). Default 0. */
  mapMode?: number;
  /** The kernel to simulate. Default '7.1'. */
  profile?: Profile;
  /** The device's domain: 'strict' (iommu.strict=1, DMA) or 'lazy' (DMA-FQ). Default 'strict'. */
  mode?: "strict" | "lazy";
  /**
   * Worker threads the simulated CPUs are spread over. Default 1: CPUs that contend in
   * modelled time must run in modelled-time order, so at a quantum below one iteration two
   * workers take turns rather than run at once — they give the same figures, slower. More
   * workers pay off with a coarser quantumNs, at the price of its bound.
   */
  workers?: number;
  /** The SMMU implements range invalidation (one TLBI per unmap, not one per page). Default: the machine's, else true. */
  rangeInvalidation?: boolean;
  /** A machine preset (src/machines.ts): its costs and SMMU features. Default: none (the default costs). */
  machine?: MachineName;
  /** The command queue: the kernel's, or with a never-merged series the machine has figures for. Default 'kernel'. */
  cmdq?: CmdqVariant;
  /** Modelled CPU costs (Simulator cpuCosts) and SMMU costs, over the machine's (or the defaults). */
  cpuCosts?: Partial<CpuCosts>;
  smmuCosts?: Partial<SmmuCosts>;
  /**
   * Modelled ns per quantum: no worker runs its CPUs more than this far ahead of the CPU
   * furthest behind on any other worker, so a shared resource is booked out of modelled
   * order by at most a quantum plus one iteration (src/tasks/map-benchmark.ts).
   * 100..1,000,000. Default 500: below one iteration, so two workers give one worker's
   * figures. Coarser waits less, but a worker behind then meets the bookings of the one
   * ahead and waits too long (2 threads on snapdragon-x: unmap 1.7 µs at 500 ns, 2.4 µs at
   * 1–2 µs, 2.9 µs at 5 µs), and past about 10 µs the command queue's collapse under many
   * CPUs is no longer seen.
   */
  quantumNs?: number;
  /**
   * IOVA_MAG_SIZE of the domain's allocator, when not the profile's (1..1024): a what-if, e.g.
   * 128 on 6.12 to see what magazines of 127 cost threads whose full flush queues free 255 IOVAs.
   */
  magazineSize?: number;
  /**
   * Iterations per thread at most (not a kernel parameter): ends a run before its modelled
   * seconds are up — for tests and quick looks. Default: none.
   */
  maxLoops?: number;
  /** Stop the run early (like an interrupted sleep in the kernel): the result covers what was done. */
  signal?: AbortSignal;
  /**
   * Called about every 100 ms of wall time while the run goes on, and once at its end. One
   * that throws stops the run, which then rejects with its error.
   */
  onProgress?: (p: MapBenchmarkProgress) => void;
}

export interface MapBenchmarkProgress {
  /** 0..1: how far the slowest-moving measure (modelled time, or loops against maxLoops) is. */
  fraction: number;
  /** Modelled ns the threads have run, on average. */
  modelledNs: number;
  loops: number;
}

/** The kernel's accumulators, summed over threads (u64 in the kernel). */
export interface MapBenchmarkSums {
  loops: bigint;
  sumMap: bigint;
  sumUnmap: bigint;
  sumSqMap: bigint;
  sumSqUnmap: bigint;
}

/** The ioctl's four results, in 100 ns units. */
export interface MapBenchmarkStats {
  avgMap100ns: bigint;
  mapStddev100ns: bigint;
  avgUnmap100ns: bigint;
  unmapStddev100ns: bigint;
  /** Σ²/loops − avg² went below zero and wrapped in u64 (only if a sum itself wrapped). */
  mapVarianceWrapped: boolean;
  unmapVarianceWrapped: boolean;
}

export interface MapBenchmarkResult {
  /** The ioctl's results, in 100 ns units (the tool prints them / 10 as µs). */
  avgMap100ns: number;
  mapStddev100ns: number;
  avgUnmap100ns: number;
  unmapStddev100ns: number;
  /** Iterations over all threads. */
  loops: number;
  /** The parameters the run had. */
  threads: number;
  seconds: number;
  node: number;
  dmaBits: number;
  dir: number;
  transNs: number;
  granule: number;
  mapMode: number;
  profile: Profile;
  mode: "strict" | "lazy";
  rangeInvalidation: boolean;
  /** The machine preset, if one was given, and the command-queue variant. */
  machine?: MachineName;
  cmdq: CmdqVariant;
  quantumNs: number;
  /** The magazine size the run was given (magazineSize); absent when it ran with the profile's. */
  magazineSize?: number;
  workers: number;
  /** Simulated time that passed (jiffies at HZ = 250): the run's modelled seconds, once, however many threads. */
  jiffies: number;
  /** Each thread (simulated CPU): its iterations, the modelled ns it ran, and where they went (adding up to them). */
  perThread: { cpu: number; loops: number; modelledNs: number; time: TimeBreakdown }[];
  /** Where the threads' modelled time went, per iteration on average (ns): map + unmap + delay. */
  timePerLoop: TimeBreakdown;
  /** Set when the run ended before its modelled seconds: stopped by the signal, or by maxLoops. */
  stoppedEarly?: "signal" | "maxLoops";
  /** Set when a variance wrapped in u64 (the kernel would print the wrapped value too). */
  varianceWrapped?: ("map" | "unmap")[];
  /** What the DMA layer and the SMMU did over the run. */
  dma: DmaStats;
  /** The SMMU's commands: all, CMD_SYNCs, TLBIs by what they invalidate, and every kind by its SMMUv3 name (opcode order). */
  smmu: { commands: number; syncs: number; tlbi: { va: number; context: number; all: number }; commandsByKind: Record<CommandKind, number> };
  /** Wall-clock time of the run on this machine. */
  wallMs: number;
}

/** The user tool's defaults (reference §6.5), plus this simulator's own. */
export const MAP_BENCHMARK_DEFAULTS = Object.freeze({
  threads: 1, seconds: 20, node: -1, dmaBits: 32, dir: 0, transNs: 0, granule: 1, mapMode: 0,
  profile: DEFAULT_PROFILE as Profile, mode: "strict" as const, rangeInvalidation: true, cmdq: "kernel" as CmdqVariant,
  quantumNs: DEFAULT_QUANTUM_NS,
});

/** The kernel's limits (DMA_MAP_MAX_THREADS, _SECONDS, _TRANS_DELAY) and the simulator's. */
const MAX_THREADS = 1024;
const MAX_SECONDS = 300;
const MAX_TRANS_NS = 10_000_000;
const SIM_MAX_CPUS = CORE_LIMITS.MAX_DMA_CPUS;
const PAGE_SIZE = 4096;
/** Each thread's buffer: 4 MiB apart (the largest granule), above 4 GiB, away from table pages. */
const BUFFER_BASE = 0x1_0000_0000;
const BUFFER_STRIDE = 1024 * PAGE_SIZE;
/** Iterations per Wasm call at most (between two looks at the stop word). */
const CHUNK_LOOPS = 20_000;
const DIRECTIONS = ["BIDIRECTIONAL", "TO_DEVICE", "FROM_DEVICE"] as const;

interface Params {
  threads: number; seconds: number; node: number; dmaBits: number; dir: number; transNs: number;
  granule: number; mapMode: number; profile: Profile; mode: "strict" | "lazy"; rangeInvalidation: boolean;
  maxLoops: number; machine?: MachineName; cmdq: CmdqVariant; quantumNs: number; magazineSize?: number;
  cpuCosts: CpuCosts; smmuCosts: SmmuCosts; smmuModel: SmmuModel;
}

/** An -EINVAL from the ioctl (or the tool's own check before it), in words. */
function einval(name: string, value: unknown, expected: string, kernelSays: string): ArgumentError {
  return new ArgumentError(name, value, `${expected} (the kernel refuses it with -EINVAL: "${kernelSays}")`, "dma_map_benchmark");
}

function intIn(name: string, v: unknown, min: number, max: number, kernelSays: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw einval(name, v, `must be an integer in [${min}, ${max}]`, kernelSays);
  }
  return v;
}

/**
 * Check options as runMapBenchmark does, without running: throws the same ArgumentError (a
 * sweep checks every point before it starts the first).
 */
export function checkMapBenchmarkOptions(o: MapBenchmarkOptions): void {
  validate(o);
}

/** Every option runMapBenchmark takes (the type checks the list is whole): anything else is refused, not ignored. */
const OPTION_KEYS = Object.keys({
  threads: true, seconds: true, node: true, dmaBits: true, dir: true, transNs: true, granule: true, mapMode: true,
  profile: true, mode: true, workers: true, rangeInvalidation: true, machine: true, cmdq: true, cpuCosts: true,
  smmuCosts: true, quantumNs: true, magazineSize: true, maxLoops: true, signal: true, onProgress: true, core: true, workerUrl: true,
} satisfies Record<keyof MapBenchmarkOptions, true>);

/** The ioctl's checks, in the kernel's order, then the simulator's own limits. */
function validate(o: MapBenchmarkOptions): Params {
  const d = MAP_BENCHMARK_DEFAULTS;
  const ctx = "dma_map_benchmark";
  checkOptions(o, OPTION_KEYS, ctx);
  checkSignal(o.signal, ctx);
  checkCallback("onProgress", o.onProgress, ctx);
  const profile = checkOneOf("profile", o.profile ?? d.profile, PROFILES, ctx);
  const threads = intIn("threads", o.threads ?? d.threads, 1, MAX_THREADS, "invalid thread number");
  const seconds = intIn("seconds", o.seconds ?? d.seconds, 1, MAX_SECONDS, "invalid duration seconds");
  const transNs = intIn("transNs", o.transNs ?? d.transNs, 0, MAX_TRANS_NS, "invalid transmission delay");
  const node = o.node ?? d.node;
  if (node !== -1 && node !== 0) {
    throw einval("node", node, "must be -1 (NUMA_NO_NODE) or 0, the simulated machine's only node", "invalid numa node");
  }
  const granule = intIn("granule", o.granule ?? d.granule, 1, 1024, "invalid granule size");
  const dir = intIn("dir", o.dir ?? d.dir, 0, 2, "invalid DMA direction");
  const mapMode = o.mapMode ?? d.mapMode;
  if (!profileHas(profile, "BENCH_MAP_MODE") && mapMode !== 0) {
    throw new ArgumentError("mapMode", mapMode, `must be 0: the ${profile} ABI has no map_mode (single mappings only)`, ctx);
  }
  intIn("mapMode", mapMode, 0, 1, "invalid map mode");
  if (mapMode === 1) {
    throw new ArgumentError("mapMode", mapMode,
      "must be 0 (SINGLE_MODE): scatter-gather mode (dma_map_sg) is not modelled by this simulator", ctx);
  }
  // dma_set_mask(DMA_BIT_MASK(bits)) fails below what the device can take; the tool itself
  // refuses fewer than 20 bits ("the minimum DMA zone is 1 MiB").
  const dmaBits = intIn("dmaBits", o.dmaBits ?? d.dmaBits, 20, 64, "failed to set dma_mask");
  if (threads > SIM_MAX_CPUS) {
    throw new ArgumentError("threads", threads, `must be at most ${SIM_MAX_CPUS}: the simulator models up to ` +
      `${SIM_MAX_CPUS} CPUs (the kernel accepts up to ${MAX_THREADS})`, ctx);
  }
  const mode = checkOneOf("mode", o.mode ?? d.mode, ["strict", "lazy"] as const, ctx);
  const preset = o.machine === undefined ? undefined : machinePreset(o.machine, "machine", ctx);
  const cmdq = checkOneOf("cmdq", o.cmdq ?? d.cmdq, CMDQ_VARIANTS, ctx);
  if (!preset && cmdq !== "kernel") {
    throw new ArgumentError("cmdq", cmdq, "needs a machine whose figures cover that variant (--machine)", ctx);
  }
  const rangeInvalidation = o.rangeInvalidation ?? preset?.rangeInvalidation ?? d.rangeInvalidation;
  if (typeof rangeInvalidation !== "boolean") throw new ArgumentError("rangeInvalidation", rangeInvalidation, "must be a boolean", ctx);
  const maxLoops = o.maxLoops === undefined ? 0 : checkInt("maxLoops", o.maxLoops, 1, 2 ** 50, ctx);
  const quantumNs = checkInt("quantumNs", o.quantumNs ?? d.quantumNs, 100, 1_000_000, ctx);
  const magazineSize = o.magazineSize === undefined ? undefined
    : checkInt("magazineSize", o.magazineSize, 1, CORE_LIMITS.MAG_SIZE_MAX, ctx);
  // The caller's costs over the machine's, checked here so that a mistake names this call and its option.
  const smmuCosts = checkSmmuCosts(o.smmuCosts, ctx, "smmuCosts",
    { ...DEFAULT_COSTS, ...(preset ? machineSmmuCosts(preset, cmdq, ctx) : {}) });
  const cpuCosts = checkCpuCosts(o.cpuCosts, ctx, "cpuCosts", { ...DEFAULT_CPU_COSTS, ...(preset?.cpuCosts ?? {}) });
  return { threads, seconds, node, dmaBits, dir, transNs, granule, mapMode, profile, mode, rangeInvalidation, maxLoops,
           ...(o.machine !== undefined ? { machine: o.machine } : {}), cmdq, quantumNs, smmuCosts, cpuCosts,
           ...(magazineSize !== undefined ? { magazineSize } : {}),
           smmuModel: preset?.smmuModel ?? "v3" };
}

/** int_sqrt64: the largest r with r² ≤ x. */
function isqrt(x: bigint): bigint {
  if (x < 2n) return x;
  let r = BigInt(Math.floor(Math.sqrt(Number(x))));
  while (r * r > x) r--;
  while ((r + 1n) * (r + 1n) <= x) r++;
  return r;
}

const U64 = (x: bigint) => BigInt.asUintN(64, x);

/** One latency's average and standard deviation, in the kernel's integer arithmetic. */
function avgAndStddev(sum: bigint, sumSq: bigint, loops: bigint): { avg: bigint; stddev: bigint; wrapped: boolean } {
  const avg = sum / loops;
  const meanSq = sumSq / loops;
  const wrapped = avg * avg > meanSq;
  return { avg, stddev: isqrt(U64(meanSq - avg * avg)), wrapped };
}

/**
 * The ioctl's result from the threads' summed accumulators, exactly as the kernel computes
 * it: integer averages, and the square root of an integer variance taken in u64 — so a
 * variance below zero (possible only once a sum has wrapped) wraps too. All zero when no
 * iteration finished.
 */
export function mapBenchmarkStats(s: MapBenchmarkSums): MapBenchmarkStats {
  if (typeof s !== "object" || s === null) {
    throw new ArgumentError("sums", s, "must be the ioctl's sums { loops, sumMap, sumUnmap, sumSqMap, sumSqUnmap } (a result's sums)", "mapBenchmarkStats");
  }
  for (const k of ["loops", "sumMap", "sumUnmap", "sumSqMap", "sumSqUnmap"] as const satisfies readonly (keyof MapBenchmarkSums)[]) {
    if (typeof s[k] !== "bigint" || s[k] < 0n) throw new ArgumentError(`sums.${k}`, s[k], "must be a bigint ≥ 0", "mapBenchmarkStats");
  }
  if (s.loops <= 0n) {
    return withJsonForm({ avgMap100ns: 0n, mapStddev100ns: 0n, avgUnmap100ns: 0n, unmapStddev100ns: 0n,
                          mapVarianceWrapped: false, unmapVarianceWrapped: false });
  }
  const m = avgAndStddev(U64(s.sumMap), U64(s.sumSqMap), s.loops);
  const u = avgAndStddev(U64(s.sumUnmap), U64(s.sumSqUnmap), s.loops);
  return withJsonForm({ avgMap100ns: m.avg, mapStddev100ns: m.stddev, avgUnmap100ns: u.avg, unmapStddev100ns: u.stddev,
                        mapVarianceWrapped: m.wrapped, unmapVarianceWrapped: u.wrapped });
}

/** What formatMapBenchmark prints must be there, of its type: a result (or its JSON form's parse) is. */
function checkFormatInput(r: unknown): void {
  const ctx = "formatMapBenchmark";
  if (typeof r !== "object" || r === null) throw new ArgumentError("result", r, "must be a runMapBenchmark result", ctx);
  const o = r as Record<string, unknown>;
  for (const k of ["threads", "seconds", "node", "dir", "granule"]) {
    if (typeof o[k] !== "number") throw new ArgumentError(`result.${k}`, o[k], "must be a number (a runMapBenchmark result's)", ctx);
  }
  for (const k of ["avgMap100ns", "mapStddev100ns", "avgUnmap100ns", "unmapStddev100ns"]) {
    const v = o[k];
    // A bigint, or as the result's JSON form writes it (a string of digits), or a plain number.
    const whole = typeof v === "bigint" ? v >= 0n : typeof v === "number" ? Number.isInteger(v) && v >= 0 : typeof v === "string" && /^\d+$/.test(v);
    if (!whole) {
      throw new ArgumentError(`result.${k}`, v, "must be an integer ≥ 0, a bigint or a string of digits (a runMapBenchmark result's)", ctx);
    }
  }
}

/** A value in 100 ns units as the tool prints it: "%.1f" of value / 10.0. */
function us(v: number | bigint): string {
  const n = BigInt(v);
  return `${n / 10n}.${n % 10n}`;
}

/**
 * The user tool's output for a result, in the given kernel version's format (default: the
 * result's profile) — three lines, no trailing newline.
 */
export function formatMapBenchmark(
  r: Pick<MapBenchmarkResult, "threads" | "seconds" | "node" | "dir" | "granule" | "avgMap100ns" | "mapStddev100ns" |
          "avgUnmap100ns" | "unmapStddev100ns"> & { mapMode?: number; profile?: Profile },
  profile?: Profile): string {
  checkFormatInput(r);
  const p = profile ?? r.profile ?? DEFAULT_PROFILE;
  const dir = DIRECTIONS[r.dir] ?? String(r.dir);
  const head = !profileHas(p, "BENCH_MAP_MODE")
    ? `dma mapping benchmark: threads:${r.threads} seconds:${r.seconds} node:${r.node} dir:${dir} granule: ${r.granule}`
    : `dma mapping benchmark(${r.mapMode === 1 ? "SG_MODE" : "SINGLE_MODE"}): threads:${r.threads} ` +
      `seconds:${r.seconds} node:${r.node} dir:${dir} granule:${r.granule}`;
  return [
    head,
    `average map latency(us):${us(r.avgMap100ns)} standard deviation:${us(r.mapStddev100ns)}`,
    `average unmap latency(us):${us(r.avgUnmap100ns)} standard deviation:${us(r.unmapStddev100ns)}`,
  ].join("\n");
}


/**
 * Run dma_map_benchmark on a fresh simulated machine of `opts.profile` and return what the
 * ioctl would (plus what the run did). Rejects with an ArgumentError where the kernel says
 * -EINVAL, with an IommuSimError where a thread's map failed (-ENOMEM, as the ioctl), and
 * with a WorkerError when a worker fails (the pool is then stopped).
 */
export async function runMapBenchmark(opts: MapBenchmarkOptions = {}): Promise<MapBenchmarkResult> {
  const ctx = "dma_map_benchmark";
  if (typeof opts !== "object" || opts === null) throw new ArgumentError("options", opts, "must be an object", ctx);
  const p = validate(opts);
  const workers = checkInt("workers", opts.workers ?? 1, 1, p.threads, ctx);

  const assets = checkAssetOptions(opts, ctx);
  const sim = await Simulator.create({ profile: p.profile, kheapMiB: 16, cpuCosts: p.cpuCosts, ...assets });
  try {
    const smmu = sim.createSmmu({ model: p.smmuModel, costs: p.smmuCosts });
    const dom = sim.createDmaDomain({ smmu, type: p.mode === "lazy" ? "DMA-FQ" : "DMA", cpus: p.threads,
                                      rangeInvalidation: p.rangeInvalidation, magazineSize: p.magazineSize });
    const dev = dom.attachDevice({ streamId: 1, dmaMask: p.dmaBits, bus: "pci" });
    for (let c = 0; c < p.threads; c++) sim.core.raw.mapbench_reset(c);
    const control = mapBenchControl(workers);
    const stopWord = new Int32Array(control);
    const onAbort = () => Atomics.store(stopWord, MB_STOP, MB_STOP_REQUESTED);
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const callbacks = new CallbackGuard(onAbort);
    const progress = opts.onProgress ? setInterval(() => callbacks.call(opts.onProgress, progressOf(sim, p)), 100) : undefined;
    const t0 = performance.now();
    try {
      const pool = await sim.pool({ workers });
      // Simulated CPU c runs on worker c mod workers.
      const args = (w: number): MapBenchArgs => ({
        control, domain: dom.id, device: dev.id, first: w, stride: workers, count: Math.ceil((p.threads - w) / workers),
        physBase: BUFFER_BASE, physStride: BUFFER_STRIDE, size: p.granule * PAGE_SIZE, dir: p.dir, transNs: p.transNs,
        endNs: p.seconds * 1e9, maxLoops: p.maxLoops, quantumNs: p.quantumNs, chunkLoops: CHUNK_LOOPS,
      });
      // The CPUs contend in modelled time only while their clocks are kept together.
      sim.core.raw.timed_set(1);
      try {
        await pool.run<MapBenchWorkerResult>("mapbench.run", args);
      } finally {
        sim.core.raw.timed_set(0);
      }
    } catch (e) {
      if (e instanceof WorkerError) {
        // The pool stopped every worker, perhaps inside the simulated kernel holding one of
        // its locks: Simulator.close() below then leaves the machine as it is.
        throw new WorkerError(`iommu-sim: ${ctx}: worker ${e.worker} failed, so the run was stopped: ${e.message}`,
          e.worker, { cause: e });
      }
      throw e;
    } finally {
      if (progress) clearInterval(progress);
      opts.signal?.removeEventListener("abort", onAbort);
    }
    // The caller's onProgress threw: it stopped the run, and the run ends with its error.
    callbacks.rethrow();
    const wallMs = performance.now() - t0;
    if (Atomics.load(stopWord, MB_STOP) === MB_STOP_ENOMEM) {
      const cpu = [...Array(p.threads).keys()].find((c) => sim.core.readU32(stateOf(sim, c) + sim.core.layout.MB_STATUS) !== 0);
      throw new IommuSimError(`iommu-sim: ${ctx}: the thread on CPU ${cpu} failed to map ${p.granule * PAGE_SIZE} bytes ` +
        `(dma_map_single returned DMA_MAPPING_ERROR) and ended with -ENOMEM, which voids the run as in the kernel: ` +
        `no room for the mapping below the ${p.dmaBits}-bit DMA mask`);
    }
    opts.onProgress?.(progressOf(sim, p));
    return result(sim, p, workers, wallMs, dom.stats(), smmu.stats(), opts.signal?.aborted ?? false);
  } finally {
    await sim.close();
  }
}

function stateOf(sim: Simulator, cpu: number): number {
  const L = sim.core.layout;
  return L.MAPBENCH_BASE + cpu * L.MAPBENCH_CPU_SIZE;
}

/** The threads' accumulators, summed (u64 reads of shared memory). */
function sumsOf(sim: Simulator, threads: number): MapBenchmarkSums {
  const L = sim.core.layout;
  const s: MapBenchmarkSums = withJsonForm({ loops: 0n, sumMap: 0n, sumUnmap: 0n, sumSqMap: 0n, sumSqUnmap: 0n });
  for (let c = 0; c < threads; c++) {
    const st = stateOf(sim, c);
    s.loops += sim.core.readU64(st + L.MB_LOOPS);
    s.sumMap += sim.core.readU64(st + L.MB_SUM_MAP);
    s.sumUnmap += sim.core.readU64(st + L.MB_SUM_UNMAP);
    s.sumSqMap += sim.core.readU64(st + L.MB_SUM_SQ_MAP);
    s.sumSqUnmap += sim.core.readU64(st + L.MB_SUM_SQ_UNMAP);
  }
  return s;
}

function progressOf(sim: Simulator, p: Params): MapBenchmarkProgress {
  const L = sim.core.layout;
  let ns = 0;
  let loops = 0;
  for (let c = 0; c < p.threads; c++) {
    ns += Math.min(sim.core.readU64Number(stateOf(sim, c) + L.MB_CLOCK), p.seconds * 1e9);
    loops += sim.core.readU64Number(stateOf(sim, c) + L.MB_LOOPS);
  }
  let fraction = ns / (p.threads * p.seconds * 1e9);
  if (p.maxLoops > 0) fraction = Math.max(fraction, loops / (p.threads * p.maxLoops));
  return { fraction: Math.min(1, fraction), modelledNs: ns / p.threads, loops };
}

function result(sim: Simulator, p: Params, workers: number, wallMs: number, dma: DmaStats,
                s: SmmuStats, aborted: boolean): MapBenchmarkResult {
  const L = sim.core.layout;
  const sums = sumsOf(sim, p.threads);
  const st = mapBenchmarkStats(sums);
  const perThread = [...Array(p.threads).keys()].map((cpu) => ({
    cpu, loops: sim.core.readU64Number(stateOf(sim, cpu) + L.MB_LOOPS),
    modelledNs: sim.core.readU64Number(stateOf(sim, cpu) + L.MB_CLOCK),
    time: readTimeBreakdown(sim.core, (i) => sim.core.readU64Number(stateOf(sim, cpu) + L.MB_TIME + i * 8)),
  }));
  const out: MapBenchmarkResult = {
    avgMap100ns: Number(st.avgMap100ns), mapStddev100ns: Number(st.mapStddev100ns),
    avgUnmap100ns: Number(st.avgUnmap100ns), unmapStddev100ns: Number(st.unmapStddev100ns),
    loops: Number(sums.loops),
    threads: p.threads, seconds: p.seconds, node: p.node, dmaBits: p.dmaBits, dir: p.dir, transNs: p.transNs,
    granule: p.granule, mapMode: p.mapMode, profile: p.profile, mode: p.mode, rangeInvalidation: p.rangeInvalidation,
    ...(p.machine !== undefined ? { machine: p.machine } : {}), cmdq: p.cmdq, quantumNs: p.quantumNs,
    ...(p.magazineSize !== undefined ? { magazineSize: p.magazineSize } : {}),
    timePerLoop: sumTimeBreakdowns(perThread.map((t) => t.time), Math.max(1, Number(sums.loops))),
    jiffies: sim.jiffies - sim.core.readU64Number(stateOf(sim, 0) + L.MB_JIFFIES0), workers, perThread, dma, smmu: { commands: s.commands, syncs: s.syncs, tlbi: s.tlbi, commandsByKind: s.commandsByKind }, wallMs,
  };
  const ended = perThread.every((t) => t.modelledNs >= p.seconds * 1e9);
  if (!ended) out.stoppedEarly = aborted ? "signal" : "maxLoops";
  const wrapped = [...(st.mapVarianceWrapped ? ["map" as const] : []), ...(st.unmapVarianceWrapped ? ["unmap" as const] : [])];
  if (wrapped.length) out.varianceWrapped = wrapped;
  return out;
}
