// The seed race under load: the live DMA → DMA-FQ switch (sysfs `iommu_groups/N/type`,
// commit 452e69b58c28, reference §1.7–1.8) running again and again while driver CPUs map
// and unmap buffers and malicious devices retry every IOVA their driver unmapped. The
// SMMU's safety oracle judges every device access, so what a variant gets wrong shows up
// as explained violations: use-after-free (a stale IOTLB entry outliving the IOVA's reuse)
// or an access after a strict unmap whose invalidation was skipped.
//
// Kernel behaviour followed: dma-iommu's unmap and the switch in the domain's variant
// (assembly/dma/steps.ts); the merged v5.15 code decides each unmap from one snapshot of
// fq_domain (O2) and must stay clean. Making the domain strict again between switches is a
// TEST HOOK, not kernel behaviour (the kernel never goes lazy → strict on a live domain,
// O6); the mappers are parked around it.
//
// runDmaStress is a scenario (src/run/scenario.ts) run by the scenario runner on the
// caller's Simulator: `mappers` CPUs of kind "pairs" (map, one device write, unmap), one
// of kind "switcher" on the domain, and — with `attacker` — one attacker per mapper, on one
// DMA domain with one device (one device per group: what the v5.15 live switch needs).
// Each mapper has a worker of its own, the switcher too, and the attackers share one, as a
// device's engines would. dmaStressScenario gives the scenario itself (a file of it runs
// with `iommu-sim run`). A worker that fails stops the run through the runner's one stop
// word: the rejection is a WorkerError naming the failed role. Timings here are the
// simulator's own wall clock on this machine: reported, never something to assert.

import type { Simulator } from "../simulator.js";
import { PROFILES, type Profile } from "../profile.js";
import { SEED_VARIANTS, type DmaStats, type SeedVariant } from "../dma.js";
import type { OracleCounts } from "../safety/oracle.js";
import type { RunReport, ViolationReport } from "../report/types.js";
import type { RunScenario, RunScenarioInput } from "../run/scenario.js";
import { RunError, startScenario } from "../run/runner.js";
import { ArgumentError, WorkerError } from "../errors.js";
import { checkInt, checkOneOf, checkOptions, type OptionKeys } from "../validate.js";

export type DmaStressRole = "mapper" | "switcher" | "device";

/** TEST ONLY — how a role fails on purpose (the scenario's fail-worker event modes). */
export type InjectedFailure = "throw" | "exit" | "crash";

export interface DmaStressOptions {
  /** The switch and unmap code to run (see SeedVariant). Default 'merged'. */
  variant?: SeedVariant;
  /** The kernel profile the run is meant for; must be the Simulator's (checked, if given). */
  profile?: Profile;
  /** Driver CPUs mapping and unmapping, one worker each (1–8). Default 2. */
  mappers?: number;
  /** dma_map + device write + dma_unmap pairs per mapper (the run's length). Default 100,000. */
  pairs?: number;
  /** Switch rounds (park, strict again, resume, switch to lazy, one jiffy). Default: as many as the mappers' run lasts. */
  switchRounds?: number;
  /** Spins the switcher waits before and after each switch (about a nanosecond each). Default 5000. */
  gap?: number;
  /** An attacker device per mapper, retrying the IOVAs its mapper unmapped (the threat model's attacker). Default true. */
  attacker?: boolean;
  /** Buffer size in bytes (1 … 4 MiB). Default 4096. */
  size?: number;
  /** Seed of the buffers' physical pages and sizes. Default 1. */
  seed?: number;
  /** v7.1 only: the single shared flush queue (32768 entries, 1000 ms). Default 'percpu'. */
  fqMode?: "percpu" | "single";
  /** Stop every CPU at its next operation after the oracle's first violation (for "is the bug there?" runs). Default false. */
  stopOnViolation?: boolean;
  /** Pairs per Wasm call of a mapper (how often the switcher and attackers see it finish), 1–256. Default 256. */
  chunk?: number;
  /** Violations to keep, explained, in the report (0–100). Default 5. */
  keepViolations?: number;
  /** Stop the run (and report what was done) after this long: 1000 … 3,600,000 ms. Default 600,000. */
  timeoutMs?: number;
  /** TEST ONLY: make one role's worker fail mid-run, to check that the run stops cleanly. */
  injectFailureForTesting?: { role: DmaStressRole; how?: InjectedFailure };
}

export interface DmaStressReport {
  profile: Profile;
  variant: SeedVariant;
  mappers: number;
  size: number;
  /** Pairs done over all mappers, and per mapper. */
  pairs: number;
  pairsPerMapper: number[];
  /** The mappers' maps that failed, their device writes, and those that faulted or that the oracle flagged. */
  mapFailures: number;
  touches: number;
  touchFaults: number;
  touchViolations: number;
  /** Unmaps that found fq_domain set but no queue (hazard 1; only broken variants). */
  unmapErrors: number;
  /** Switch rounds the switcher ran, and DMA → DMA-FQ switches done. */
  rounds: number;
  switches: number;
  /** The oracle's count of every device access by class. */
  oracle: OracleCounts;
  /** Violations over all classes (afterStrictUnmap + afterFlush + useAfterFree + unknown + freedTable). */
  violationCount: number;
  /** Violations per million pairs. */
  violationsPerMillionPairs: number;
  /** A few of the latest violations, each explained (at most keepViolations). */
  violations: ViolationReport[];
  /** The DMA layer's counters (mixedDecisions is the seed bug's signature). */
  dma: DmaStats;
  /** Flush-queue entries still pending at the end (the domain may end lazy). */
  fqPending: number;
  /** The attackers' retries, those that still reached memory, and those that faulted (absent without attackers). */
  attacker?: RunReport["attacker"];
  smmu: RunReport["smmu"];
  /** Why the run ended before every pair was done, if it did. */
  stoppedEarly?: "violation" | "timeout";
  /** Wall-clock time of the run on this machine, and pairs per second over it. */
  wallMs: number;
  pairsPerSec: number;
  /** The scenario that was run, and the scenario runner's whole report of it (per CPU, latencies, lazy windows, timing). */
  scenario: RunScenario;
  run: RunReport;
}

interface Resolved {
  variant: SeedVariant;
  mappers: number;
  pairs: number;
  switchRounds?: number;
  gap: number;
  attacker: boolean;
  size: number;
  seed: number;
  fqMode: "percpu" | "single";
  stopOnViolation: boolean;
  chunk: number;
  keep: number;
  timeoutMs: number;
  inject?: { role: DmaStressRole; how: InjectedFailure };
}

const CTX = "runDmaStress";
const STREAM_ID = 0x10;

function checkBool(name: string, v: unknown, fallback: boolean): boolean {
  const b = v ?? fallback;
  if (typeof b !== "boolean") throw new ArgumentError(name, b, "must be a boolean", CTX);
  return b;
}

const DMA_STRESS_OPTION_KEYS = {
  variant: true, profile: true, mappers: true, pairs: true, switchRounds: true, gap: true, attacker: true, size: true,
  seed: true, fqMode: true, stopOnViolation: true, chunk: true, keepViolations: true, timeoutMs: true,
  injectFailureForTesting: true,
} as const satisfies OptionKeys<DmaStressOptions>;

function resolve(profile: Profile, opts: DmaStressOptions): Resolved {
  checkOptions(opts, DMA_STRESS_OPTION_KEYS, CTX);
  if (opts.injectFailureForTesting !== undefined) checkOptions(opts.injectFailureForTesting, ["role", "how"], CTX, "injectFailureForTesting");
  if (opts.profile !== undefined && opts.profile !== profile) {
    throw new ArgumentError("profile", opts.profile,
      `must be the Simulator's profile ('${profile}'); create a Simulator with { profile: '${opts.profile}' } instead`, CTX);
  }
  const attacker = checkBool("attacker", opts.attacker, true);
  const r: Resolved = {
    variant: checkOneOf("variant", opts.variant ?? "merged", SEED_VARIANTS, CTX),
    mappers: checkInt("mappers", opts.mappers ?? 2, 1, 8, CTX),
    pairs: checkInt("pairs", opts.pairs ?? 100_000, 1, 1e9, CTX),
    ...(opts.switchRounds === undefined ? {} : { switchRounds: checkInt("switchRounds", opts.switchRounds, 1, 1e9, CTX) }),
    gap: checkInt("gap", opts.gap ?? 5000, 0, 1e9, CTX),
    attacker,
    size: checkInt("size", opts.size ?? 4096, 1, 4 << 20, CTX),
    seed: checkInt("seed", opts.seed ?? 1, 0, 2 ** 32 - 1, CTX),
    fqMode: checkOneOf("fqMode", opts.fqMode ?? "percpu", ["percpu", "single"] as const, CTX),
    stopOnViolation: checkBool("stopOnViolation", opts.stopOnViolation, false),
    chunk: checkInt("chunk", opts.chunk ?? 256, 1, 256, CTX),
    keep: checkInt("keepViolations", opts.keepViolations ?? 5, 0, 100, CTX),
    timeoutMs: checkInt("timeoutMs", opts.timeoutMs ?? 600_000, 1000, 3_600_000, CTX),
  };
  const inject = opts.injectFailureForTesting;
  if (inject !== undefined) {
    const role = checkOneOf("injectFailureForTesting.role", inject?.role, ["mapper", "switcher", "device"] as const, CTX);
    const how = checkOneOf("injectFailureForTesting.how", inject.how ?? "throw", ["throw", "exit", "crash"] as const, CTX);
    if (role === "device" && !attacker) {
      throw new ArgumentError("injectFailureForTesting.role", role, "can be 'device' only with attacker: true", CTX);
    }
    r.inject = { role, how };
  }
  return r;
}

/** The roles' CPUs and workers: mapper i on CPU i and worker i, then the switcher, then the attackers. */
function layout(mappers: number) {
  return { switcher: mappers, attacker: (i: number) => mappers + 1 + i, deviceWorker: mappers + 1 };
}

/** The run as a scenario (the same that runDmaStress runs; options as runDmaStress takes them). */
export function dmaStressScenario(profile: Profile, opts: DmaStressOptions = {}): RunScenarioInput {
  checkOneOf("profile", profile, PROFILES, "dmaStressScenario");
  return scenarioOf(profile, resolve(profile, opts));
}

function scenarioOf(profile: Profile, o: Resolved): RunScenarioInput {
  const at = layout(o.mappers);
  const mappers = Array.from({ length: o.mappers }, (_, i) => ({
    kind: "pairs" as const, name: `mapper${i}`, device: "dev", cpus: [i], ops: o.pairs, minBytes: o.size, maxBytes: o.size,
    worker: i,
  }));
  const attackers = o.attacker ? Array.from({ length: o.mappers }, (_, i) => ({
    kind: "attacker" as const, name: `attacker${i}`, victim: `mapper${i}`, cpus: [at.attacker(i)] as [number],
    worker: at.deviceWorker, keep: 32,
  })) : [];
  const switcher = {
    kind: "switcher" as const, name: "switcher", domain: "stress", cpus: [at.switcher] as [number], worker: at.switcher,
    gap: o.gap, ...(o.switchRounds === undefined ? {} : { ops: o.switchRounds }),
  };
  const failCpu = { mapper: 0, switcher: at.switcher, device: at.attacker(0) };
  // Early, while every role is at work: after a mapper's first thousands of pairs, the switcher's
  // second round, an attacker's tenth pass.
  const failAt = { mapper: Math.min(2000, o.pairs), switcher: 2, device: 10 };
  return {
    name: "dma-stress",
    description: `The seed race under load: ${o.mappers} mapper(s) doing dma_map → device write → dma_unmap of ` +
      `${o.size} bytes while a switcher makes the ${o.variant} domain strict again (test hook) and switches it to ` +
      `lazy, round after round${o.attacker ? ", and an attacker per mapper retries every IOVA it unmapped" : ""}.`,
    profile, seed: o.seed, cpus: o.mappers + 1 + (o.attacker ? o.mappers : 0),
    workers: o.mappers + 1 + (o.attacker ? 1 : 0),
    domains: [{ name: "stress", type: "DMA", variant: o.variant, fqMode: o.fqMode }],
    devices: [{ name: "dev", domain: "stress", streamId: STREAM_ID }],
    workloads: [...mappers, switcher, ...attackers],
    events: o.inject ? [{ action: "fail-worker", mode: o.inject.how, cpu: failCpu[o.inject.role],
                          at: { ops: failAt[o.inject.role] } }] : [],
    checks: { oracle: true, stopOnViolation: o.stopOnViolation, expect: "any" },
    timeoutMs: o.timeoutMs,
  };
}

/**
 * Run the switch under load on `sim` (its pool, and an SMMU with an oracle, a DMA domain and
 * a device made for the run and destroyed after) and report what the oracle saw. A worker
 * that fails stops the run: the rejection is a WorkerError naming the worker's role.
 */
export async function runDmaStress(sim: Simulator, opts: DmaStressOptions = {}): Promise<DmaStressReport> {
  if (typeof sim?.createDmaDomain !== "function") {
    throw new ArgumentError("sim", sim, "must be a Simulator (Simulator.create)", CTX);
  }
  const o = resolve(sim.profile, opts);
  try {
    const run = await startScenario(scenarioOf(sim.profile, o), { simulator: sim, chunk: o.chunk });
    return report(sim.profile, o, run.scenario, await run.report);
  } catch (e) {
    if (!(e instanceof RunError) || !e.failure) throw e;
    const { worker } = e.failure;
    const role: DmaStressRole = worker < o.mappers ? "mapper" : worker === layout(o.mappers).switcher ? "switcher" : "device";
    throw new WorkerError(`iommu-sim: ${CTX}: the ${role} worker (worker ${worker}) failed: ${e.message.replace(/^iommu-sim: /, "")}`,
                          worker, { cause: e });
  }
}

function report(profile: Profile, o: Resolved, scenario: RunScenario, r: RunReport): DmaStressReport {
  const mapperCpus = r.perCpu.filter((c) => c.cpu < o.mappers).sort((a, b) => a.cpu - b.cpu);
  const sum = (k: "unmaps" | "mapFailures" | "deviceAccesses" | "faults" | "violations" | "ops") =>
    mapperCpus.reduce((n, c) => n + c[k], 0);
  const pairs = sum("unmaps");
  const byClass = r.oracle.violationsByClass;
  const violationCount = byClass.afterStrictUnmap + byClass.afterFlush + byClass.useAfterFree + byClass.unknown + byClass.freedTable;
  const oracle: OracleCounts = {
    ok: r.oracle.checked - r.oracle.lazyWindowAccesses - violationCount, lazyWindow: r.oracle.lazyWindowAccesses,
    ...byClass, shadowFull: r.oracle.shadowFull, unchecked: r.oracle.unchecked,
  };
  const domain = r.domains[0]!;
  const out: DmaStressReport = {
    profile, variant: o.variant, mappers: o.mappers, size: o.size,
    pairs, pairsPerMapper: mapperCpus.map((c) => c.unmaps),
    mapFailures: sum("mapFailures"), touches: sum("deviceAccesses"), touchFaults: sum("faults"),
    touchViolations: sum("violations"), unmapErrors: r.totals.unmapErrors,
    rounds: r.switcher.rounds, switches: r.switcher.switches,
    oracle, violationCount, violationsPerMillionPairs: pairs ? (violationCount / pairs) * 1e6 : 0,
    violations: r.violations.slice(0, o.keep),
    dma: domain.dma, fqPending: domain.fqPending,
    ...(o.attacker ? { attacker: r.attacker } : {}),
    smmu: r.smmu,
    wallMs: r.timing.wallMs, pairsPerSec: pairs / (r.timing.wallMs / 1000),
    scenario, run: r,
  };
  // The mappers end early only when the run was stopped: at a violation when asked, else the timeout.
  if (sum("ops") < o.mappers * o.pairs) out.stoppedEarly = o.stopOnViolation && violationCount > 0 ? "violation" : "timeout";
  return out;
}
