// The seed race under load: the live DMA → DMA-FQ switch (sysfs `iommu_groups/N/type`,
// commit 452e69b58c28, reference §1.7–1.8) running again and again while driver CPUs map
// and unmap buffers and a malicious device retries every IOVA it was ever given. The
// SMMU's safety oracle judges every device access, so what a variant gets wrong shows up
// as explained violations: use-after-free (a stale IOTLB entry outliving the IOVA's reuse)
// or an access after a strict unmap whose invalidation was skipped.
//
// Kernel behaviour followed: dma-iommu's unmap and the switch in the domain's variant
// (src/dma.ts, assembly/dma/); the merged v5.15 code decides each unmap from one snapshot
// of fq_domain (O2) and must stay clean. Making the domain strict again between switches
// is a TEST HOOK, not kernel behaviour (the kernel never goes lazy → strict on a live
// domain, O6); the mappers are parked around it.
//
// Roles, one worker each (src/tasks/dma.ts): `mappers` driver CPUs (CPU i, device i with
// stream 0x10 + i), one switcher (the last CPU), and — with `attacker` — one device
// worker running every device's DMA engine. The run ends when the mappers have done their
// pairs (or on the first violation, with stopOnViolation); the switcher switches until
// then, or until its rounds run out. A worker that fails stops the run: its peers stop at
// their next safe point, the run's objects are torn down, and the rejection names the
// failed role (see src/tasks/dma.ts, "Stopping"). Timings here are the simulator's own
// wall clock on this machine: reported, never something to assert.

import type { Simulator } from "../simulator.js";
import { SEED_VARIANTS, type DmaDomain, type DmaStats, type SeedVariant } from "../dma.js";
import type { Smmu, SmmuStats } from "../smmu/smmu.js";
import type { DmaEngine, DmaEngineStats } from "../device/engine.js";
import type { OracleCounts, Violation } from "../safety/oracle.js";
import { ArgumentError, WorkerError } from "../errors.js";
import { checkInt, checkOneOf } from "../validate.js";
import {
  DMA_CONTROL_BYTES, SH_QUIET, type DmaDeviceResult, type DmaMapperResult, type DmaStressArgs, type DmaStressResult,
  type DmaSwitcherResult, type InjectedFailure,
} from "../tasks/dma.js";
import { type Profile } from "../profile.js";

export type DmaStressRole = "mapper" | "switcher" | "device";

export interface DmaStressOptions {
  /** The switch and unmap code to run (see SeedVariant). Default 'merged'. */
  variant?: SeedVariant;
  /** The kernel profile the run is meant for; must be the Simulator's (checked, if given). */
  profile?: Profile;
  /** Driver CPUs mapping and unmapping, one worker each (1–8). Default 2. */
  mappers?: number;
  /** dma_map + dma_unmap pairs per mapper (the run's length). Default 100,000. */
  pairs?: number;
  /** Switch rounds at most (park, strict again, resume, switch to lazy, one jiffy). Default 100,000. */
  switchRounds?: number;
  /** Spins the switcher waits before and after each switch (about a nanosecond each). Default 5000. */
  gap?: number;
  /** Run a device worker whose engines retry old IOVAs (the threat model's attacker). Default true. */
  attacker?: boolean;
  /** Buffer size in bytes. Default 4096. */
  size?: number;
  /** Seed of the buffers' physical pages and of the attacker's choices. Default 1. */
  seed?: number;
  /** v7.1 only: the single shared flush queue (32768 entries, 1000 ms). Default 'percpu'. */
  fqMode?: "percpu" | "single";
  /** Stop every role soon after the oracle's first violation (for "is the bug there?" runs). Default false. */
  stopOnViolation?: boolean;
  /** Pairs per Wasm call in a mapper (how often it looks at the stop word). Default 2000. */
  chunk?: number;
  /** Violations to keep, explained, in the report. Default 5. */
  keepViolations?: number;
  /** Fail the run (and stop the workers) after this long. Default 600,000 ms. */
  timeoutMs?: number;
  /** TEST ONLY: make one role's worker fail mid-run (see InjectedFailure), to check that the run stops cleanly. */
  injectFailureForTesting?: { role: DmaStressRole; how?: InjectedFailure };
}

/** The mappers' own counts, summed over them (see DmaMapperResult). */
const MAPPER_COUNTS = ["mapFailures", "touches", "touchFaults", "touchViolations", "unmapErrors", "postDrops"] as const;
type MapperCounts = Pick<DmaMapperResult, (typeof MAPPER_COUNTS)[number]>;

export interface DmaStressReport extends MapperCounts {
  profile: Profile;
  variant: SeedVariant;
  mappers: number;
  size: number;
  /** Pairs done over all mappers, and per mapper. */
  pairs: number;
  pairsPerMapper: number[];
  /** Switch rounds the switcher ran, and DMA → DMA-FQ switches done. */
  rounds: number;
  switches: number;
  /** The oracle's count of every device access by class. */
  oracle: OracleCounts;
  /** Violations over all classes (afterStrictUnmap + afterFlush + useAfterFree + unknown + freedTable). */
  violationCount: number;
  /** Violations per million pairs. */
  violationsPerMillionPairs: number;
  /** The first few violations, each explained. */
  violations: Violation[];
  /** Set when the oracle's violation log wrapped before it was read (the counts stay exact). */
  violationLogLost?: string;
  /** The DMA layer's counters (mixedDecisions is the seed bug's signature). */
  dma: DmaStats;
  /** Flush-queue entries still pending at the end (the domain may end lazy). */
  fqPending: number;
  /** The attacker's engines, summed (absent without an attacker). */
  device?: DmaEngineStats & { descriptors: number };
  smmu: Pick<SmmuStats, "translations" | "faults" | "tlbi" | "syncs" | "commands">;
  /** Why the run ended before every pair was done, if it did. */
  stoppedEarly?: "violation";
  /** Wall-clock time of the run on this machine, and pairs per second over it. */
  wallMs: number;
  pairsPerSec: number;
  workers: DmaStressResult[];
}

const ROLE_ORDER = (mappers: number, attacker: boolean): DmaStressRole[] =>
  [...Array<DmaStressRole>(mappers).fill("mapper"), "switcher", ...(attacker ? ["device" as const] : [])];

const STREAM_BASE = 0x10;
const PHYS_BASE = 0x1_0000_0000; // buffers above 4 GiB: far from any page-table page
const PHYS_PAGES = 1 << 16; //      random pages out of 256 MiB: a reused IOVA lands elsewhere

/**
 * Run the switch under load and report what the oracle saw. Builds (and tears down) its
 * own SMMU with an oracle, one DMA domain with `mappers + 1` CPUs, one device per mapper,
 * and uses the Simulator's worker pool. A worker that fails stops the run: the rejection
 * is a WorkerError naming the worker's role.
 */
export async function runDmaStress(sim: Simulator, opts: DmaStressOptions = {}): Promise<DmaStressReport> {
  const ctx = "runDmaStress";
  if (typeof sim?.createDmaDomain !== "function") {
    throw new ArgumentError("sim", sim, "must be a Simulator (Simulator.create)", ctx);
  }
  if (typeof opts !== "object" || opts === null) throw new ArgumentError("options", opts, "must be an object", ctx);
  const variant = checkOneOf("variant", opts.variant ?? "merged", SEED_VARIANTS, ctx);
  if (opts.profile !== undefined && opts.profile !== sim.profile) {
    throw new ArgumentError("profile", opts.profile,
      `must be the Simulator's profile ('${sim.profile}'); create a Simulator with { profile: '${opts.profile}' } instead`, ctx);
  }
  const mappers = checkInt("mappers", opts.mappers ?? 2, 1, 8, ctx);
  const pairs = checkInt("pairs", opts.pairs ?? 100_000, 1, 2 ** 31, ctx);
  const switchRounds = checkInt("switchRounds", opts.switchRounds ?? 100_000, 0, 2 ** 31, ctx);
  const gap = checkInt("gap", opts.gap ?? 5000, 0, 2 ** 31, ctx);
  const attacker = opts.attacker ?? true;
  if (typeof attacker !== "boolean") throw new ArgumentError("attacker", attacker, "must be a boolean", ctx);
  const size = checkInt("size", opts.size ?? 4096, 1, 1 << 24, ctx);
  const seed = checkInt("seed", opts.seed ?? 1, 0, 2 ** 32 - 1, ctx);
  const chunk = checkInt("chunk", opts.chunk ?? 2000, 1, 1 << 24, ctx);
  const keep = checkInt("keepViolations", opts.keepViolations ?? 5, 0, 1 << 16, ctx);
  const timeoutMs = checkInt("timeoutMs", opts.timeoutMs ?? 600_000, 1, 2 ** 31 - 1, ctx);
  const stopOnViolation = opts.stopOnViolation ?? false;
  if (typeof stopOnViolation !== "boolean") throw new ArgumentError("stopOnViolation", stopOnViolation, "must be a boolean", ctx);
  const inject = opts.injectFailureForTesting;
  if (inject !== undefined) {
    checkOneOf("injectFailureForTesting.role", inject?.role, ["mapper", "switcher", "device"] as const, ctx);
    checkOneOf("injectFailureForTesting.how", inject.how ?? "throw", ["throw", "exit", "crash"] as const, ctx);
    if (inject.role === "device" && !attacker) {
      throw new ArgumentError("injectFailureForTesting.role", inject.role, "can be 'device' only with attacker: true", ctx);
    }
  }

  const roles = ROLE_ORDER(mappers, attacker);
  let smmu: Smmu | undefined;
  let dom: DmaDomain | undefined;
  const engines: DmaEngine[] = [];
  let abandoned = false;
  try {
    // The shadow holds every IOVA page the run ever uses (IOVAs are reused from the
    // caches, so a few thousand); the log keeps the violations to explain.
    smmu = sim.createSmmu({ oracle: { capacity: 32768, violations: 4096 } });
    dom = sim.createDmaDomain({ smmu, variant, cpus: mappers + 1, ...(opts.fqMode ? { fqMode: opts.fqMode } : {}) });
    const devices = Array.from({ length: mappers }, (_, i) => dom!.attachDevice({ streamId: STREAM_BASE + i }));
    const retries = 4;
    if (attacker) {
      for (const d of devices) engines.push(d.engine({ capacity: 256, attacker: { history: 1024, retries } }));
    }
    // This thread may hold the CPUs from DmaDevice.map calls of its own (the DMA layer's
    // per-CPU scratch is machine-wide): let them go, or the workers could not run them.
    for (let c = 0; c < mappers + 1; c++) dom.releaseCpu(c);

    const pool = await sim.pool({ workers: roles.length });
    const failOf = (role: DmaStressRole, w: number) =>
      inject && inject.role === role && (role !== "mapper" || w === 0) ? { failForTesting: inject.how ?? "throw" } : {};
    const control = new SharedArrayBuffer(DMA_CONTROL_BYTES);
    const common = { control, workers: roles.length };
    const args = (w: number): DmaStressArgs => {
      const role = roles[w]!;
      if (role === "mapper") {
        return { ...common, role, domain: dom!.id, device: devices[w]!.id, cpu: w, pairs, chunk, size,
          physBase: PHYS_BASE + w * PHYS_PAGES * 4096, physPages: PHYS_PAGES, dir: 0,
          ring: attacker ? engines[w]!.ring : 0, seed: seed + w, smmu: smmu!.id, stopOnViolation, ...failOf(role, w) };
      }
      if (role === "switcher") {
        return { ...common, role, domain: dom!.id, cpu: mappers, rounds: switchRounds, gap, mappers, smmu: smmu!.id,
          stopOnViolation, ...failOf(role, w) };
      }
      return { ...common, role, smmu: smmu!.id, engines: engines.map((e, i) => ({ ring: e.ring, streamId: STREAM_BASE + i })),
        retries, budget: 64, mappers, seed: seed + 0x5eed, ...failOf(role, w) };
    };
    const t0 = performance.now();
    let results: DmaStressResult[];
    try {
      results = await pool.run<DmaStressResult>("dma.stress", args, { timeoutMs });
    } catch (e) {
      // Did every other worker stop at a safe point (finished, or stopped by the failing one)?
      // If not, the pool stopped some mid-operation, perhaps holding a lock of the domain or
      // the simulator's allocators, and tearing the run's objects down could wait forever.
      const peersQuiet = Atomics.load(new Int32Array(control), SH_QUIET) >= roles.length - 1;
      if (!peersQuiet) abandoned = true;
      if (e instanceof WorkerError) {
        const role = roles[e.worker] ?? "unknown role";
        throw new WorkerError(`iommu-sim: ${ctx}: the ${role} worker (worker ${e.worker}) failed, so the run was ` +
          `stopped and every worker with it: ${e.message}` + (peersQuiet ? "" :
          ` — its peers were stopped mid-operation, so the run's DMA domain and SMMU were left as they were ` +
          `(they may hold a dead thread's lock); close this Simulator and use a new one`), e.worker, { cause: e });
      }
      throw e;
    }
    const wallMs = performance.now() - t0;
    return report(sim.profile, variant, mappers, pairs, size, results, smmu, dom, engines, keep, wallMs);
  } finally {
    if (!abandoned) {
      for (const e of engines) e.destroy();
      dom?.destroy();
      smmu?.destroy();
    }
  }
}

function report(profile: Profile, variant: SeedVariant, mappers: number, requested: number, size: number,
                results: DmaStressResult[],
                smmu: Smmu, dom: DmaDomain, engines: DmaEngine[], keep: number, wallMs: number): DmaStressReport {
  const ms = results.filter((r): r is DmaMapperResult => r.role === "mapper");
  const sw = results.find((r): r is DmaSwitcherResult => r.role === "switcher");
  const dv = results.find((r): r is DmaDeviceResult => r.role === "device");
  const sum = (k: keyof Omit<DmaMapperResult, "role">) => ms.reduce((n, r) => n + r[k], 0);
  const pairs = sum("pairs");
  const oracle = smmu.oracle!.counts();
  const violationCount = oracle.afterStrictUnmap + oracle.afterFlush + oracle.useAfterFree + oracle.unknown + oracle.freedTable;
  let violations: Violation[] = [];
  let violationLogLost: string | undefined;
  try {
    violations = smmu.oracle!.takeViolations().slice(0, keep);
  } catch (e) {
    violationLogLost = (e as Error).message;
  }
  const s = smmu.stats();
  const out: DmaStressReport = {
    profile, variant, mappers, size, pairs, pairsPerMapper: ms.map((r) => r.pairs),
    rounds: sw?.rounds ?? 0, switches: sw?.switches ?? 0,
    ...(Object.fromEntries(MAPPER_COUNTS.map((k) => [k, sum(k)])) as MapperCounts),
    oracle, violationCount, violationsPerMillionPairs: pairs ? (violationCount / pairs) * 1e6 : 0, violations,
    dma: dom.stats(), fqPending: dom.fqPending(),
    smmu: { translations: s.translations, faults: s.faults, tlbi: s.tlbi, syncs: s.syncs, commands: s.commands },
    wallMs, pairsPerSec: pairs / (wallMs / 1000), workers: results,
  };
  if (violationLogLost) out.violationLogLost = violationLogLost;
  // Mappers end early only when the stop word was raised, and only a violation raises it
  // in a run that completes (a failure rejects the run instead).
  if (pairs < mappers * requested) out.stoppedEarly = "violation";
  if (dv) {
    const st = engines.map((e) => e.stats());
    const tot = (k: keyof DmaEngineStats) => st.reduce((n, x) => n + x[k], 0);
    out.device = { descriptors: dv.descriptors, completed: tot("completed"), faulted: tot("faulted"), bytes: tot("bytes"),
                   retries: tot("retries"), retriesThrough: tot("retriesThrough") };
  }
  return out;
}
