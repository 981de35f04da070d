// The report of a scenario run (src/run/runner.ts): what the terminal summary, the JSON
// output and the HTML report are made from (and runDmaStress's report, which carries one). Everything except `timing` is a function of
// the scenario and its seed when the run has one worker (the runner's determinism
// promise); `timing` is wall-clock and differs run to run.

import type { TimeBreakdown } from "../cpu-time.js";

import type { Behaviour, Profile } from "../profile.js";
import type { DmaStats, DomainType } from "../dma.js";

/**
 * A histogram over log-spaced buckets (4 per power of two): counts[i] samples fell in
 * [bounds[i], bounds[i+1]). p50 and p99 are interpolated linearly within the bucket they
 * fall in (so off by less than a bucket's width, a quarter of the power of two below); max is the upper bound of the last bucket
 * with samples (every sample is below it); mean is exact for latencies (the core keeps their sums) and from the
 * bucket bounds otherwise. Every value is modelled time, in `unit`.
 */
export interface Histogram {
  /** Unit of the bounds, e.g. "ns" or "us". */
  unit: string;
  /** Lower bound of each bucket, ascending; bounds.length === counts.length. */
  bounds: number[];
  counts: number[];
  samples: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

/** What simulated CPUs did (one CPU's, or all of them together). */
export interface OpCounts {
  ops: number;
  maps: number;
  unmaps: number;
  mapFailures: number;
  deviceAccesses: number;
  faults: number;
  violations: number;
}

export interface CpuReport extends OpCounts {
  cpu: number;
  /** The worker that ran this simulated CPU. */
  worker: number;
  /** The workload the CPU ran (its kind and, when given, its name). */
  workload: string;
  /** Modelled CPU time the simulated CPU was charged (ns). */
  modelledNs: number;
  modelledNsPerOp: number;
  /** Where modelledNs went (ns; the parts add up to it). */
  time: TimeBreakdown;
  mapLatency: Histogram;
  unmapLatency: Histogram;
}

/**
 * The run at the end of one window of modelled time. Every CPU reads its own counters when
 * its own clock reaches the window's end (src/tasks/scenario.ts says why), so a point adds up
 * what all CPUs did by one modelled instant, whatever the wall clock did. The windows are of
 * equal width (tUs is a multiple of it) except the last, which ends at totals.modelledUs.
 */
export interface SeriesPoint {
  /** The end of the window: modelled µs since the run began, on every CPU's own clock (events' atUs is on the same clock). */
  tUs: number;
  /** Operations completed by all CPUs by then. */
  ops: number;
  /** Operations each CPU completed by then on its own clock, in perCpu's order (absent from older reports, and from a failed run's whose failed worker sent none). */
  cpuOps?: number[];
  /** Wall-clock ms since the start gate when the last CPU to get there did (timing: varies run to run). */
  wallMs: number;
  /** Translations that hit the micro-TLB or the IOTLB, of those in the window since the previous point (0..1; 0 without any). */
  iotlbHitRate: number;
  /** Flush-queue entries pending over all CPUs of all lazy domains at the window's end. */
  fqOccupancy: number;
  /** Domains in lazy mode at the window's end. */
  lazyDomains: number;
}

export interface ViolationReport {
  /** The oracle's class: use-after-free, after-strict-unmap, after-flush, unknown, freed-table. */
  class: string;
  streamId: number;
  iova: number;
  pa: number;
  /** The oracle's explanation, in words. */
  explanation: string;
  /** The access's history as the oracle recorded it, one line each. */
  trace: string[];
}

export interface EventReport {
  /**
   * When it was due ("50% of cpu 0's ops", "t=20 ms") and when it happened: modelled µs on the
   * clock of the CPU that fired it — the series' clock; the orchestrator's, at the furthest CPU's clock.
   */
  due: string;
  atUs: number;
  /** The CPU whose worker fired it, or -1: the orchestrator (a live switch, ScenarioRun.switchToLazy). */
  cpu: number;
  action: string;
  target: string;
  /** "ok" or the error (e.g. "-EBUSY: ...") the simulated kernel returned. */
  result: string;
}

export interface RunReport {
  tool: "iommu-sim";
  version: string;
  scenario: {
    name: string;
    description: string;
    profile: Profile;
    /** The profile's behaviours changed by name (the scenario's `behaviours`), when any were. */
    behaviours?: { with?: Behaviour[]; without?: Behaviour[] };
    /** The kernel in words when behaviours were changed: "7.1 without SMMU_NONLEAF_TTL0". */
    kernel?: string;
    seed: number;
    workers: number;
    cpus: number;
    oracle: boolean;
    /** The machine preset the run took its costs from, if any. */
    machine?: string;
    /** Whether the CPUs contended in modelled time (the scenario's `contention`). */
    contention?: boolean;
  };
  outcome: {
    /** ok: ran to the end, no violation; violations: the oracle objected; stopped: stopped on the first violation or by a timeout; failed: a worker failed. */
    status: "ok" | "violations" | "stopped" | "failed";
    /** What the scenario said to expect, and whether the run matched it (never, when cut short by a timeout or a request). */
    expected: "clean" | "violations" | "any";
    asExpected: boolean;
    message: string;
  };
  totals: OpCounts & {
    /** Unmaps that found fq_domain set but no flush queue (Will's hazard 1; only broken variants). */
    unmapErrors: number;
    modelledNsPerOp: number;
    /** Modelled time of the run (µs): the furthest CPU's clock. */
    modelledUs: number;
    /**
     * Allocations from the simulator's own memory (kheap) that failed: not the simulated
     * kernel's failures; any makes the outcome carry a warning.
     */
    kheapAllocFailures: number;
  };
  /** What the safety oracle saw (zeros when it was off). */
  oracle: {
    /** Device accesses it judged, and those it accepted as lazy mode's documented risk. */
    checked: number;
    lazyWindowAccesses: number;
    /** Updates its shadow had no room for, and the accesses to unrecorded pages it could then not judge. */
    shadowFull: number;
    unchecked: number;
    /** The violations by class (their sum is totals.violations). */
    violationsByClass: { afterStrictUnmap: number; afterFlush: number; useAfterFree: number; unknown: number; freedTable: number };
  };
  perCpu: CpuReport[];
  latency: { map: Histogram; unmap: Histogram };
  smmu: {
    translations: number;
    microTlbHits: number;
    iotlbHits: number;
    iotlbMisses: number;
    /** Translations that hit the micro-TLB or the IOTLB (no walk needed), of all translations. */
    iotlbHitRate: number;
    walks: number;
    pteReads: number;
    walkCacheHits: number;
    faults: number;
    /**
     * Commands the SMMU consumed, by SMMUv3 name: every kind, in opcode order (COMMAND_KINDS).
     * Reports written by iommu-sim 0.1 have four other keys ("TLBI by VA", "TLBI by context",
     * "TLBI all", CMD_SYNC); the summaries show those as they are, after the known kinds.
     */
    commands: Record<string, number>;
    /** The SMMU's architecture (reports before 0.2 leave it out: an SMMUv3). */
    model?: "v3" | "v2" | "v1";
    /**
     * SMMU v1/v2: register operations by kind (REGISTER_KINDS order): writes, and reads of
     * TLBSTATUS / sTLBGSTATUS polling a sync. Left out for an SMMUv3.
     */
    registers?: Record<string, number>;
    modelledNs: number;
    /** Walks that found every walker busy, with contention (reports before walkers were modelled: 0), and their ns of waiting. */
    walksQueued: number;
    walkWaitNs: number;
  };
  iova: {
    /** alloc_iova_fast served from a CPU's caches (its magazines or a depot swap), and sent on to the tree. */
    rcacheHits: number;
    rcacheMisses: number;
    rcacheHitRate: number;
    /** Hits that took a full magazine from the depot first, and their share of all hits. */
    depotHits: number;
    depotHitRate: number;
    /** Ranges allocated from and removed from the rbtree (rcache misses, large sizes, cache flushes). */
    treeAllocs: number;
    treeFrees: number;
    /** Magazine allocations refused (failatomic). */
    magazineAllocFailures: number;
  };
  fq: {
    /** Flushes of the flush queue by cause. */
    flushes: { ringFull: number; timer: number; other: number };
    entriesQueued: number;
    maxOccupancy: number;
  };
  /** From an unmap's PTE clear to the completion of the flush that covers it (modelled µs). */
  lazyWindow: Histogram;
  /** Lazy windows still open when the run ended (their flush had not happened), and those not measured (a CPU had 512 open). */
  lazyWindowsOpen: number;
  lazyWindowsLost: number;
  /** What attacker devices saw: from an unmap to their last read through the stale translation (µs; empty without an attacker). */
  attackerWindow: Histogram;
  /** Attacker devices: reads of unmapped IOVAs they retried, those that still reached memory, and those that faulted. */
  attacker: { retries: number; staleReads: number; faults: number };
  /** Switcher CPUs: rounds (strict again, then switched to lazy), and the switches to lazy that succeeded. */
  switcher: { rounds: number; switches: number };
  /** Each DMA domain at the end of the run. */
  domains: {
    name: string;
    /** The variant's name: a seed variant's, or that of the scenario's own definition. */
    variant: string;
    type: DomainType;
    /** The DMA layer's counts; mixedDecisions (an unmap that skipped the sync yet freed the IOVA at once) is the seed race's signature. */
    dma: DmaStats;
    /** Flush-queue entries still waiting (a lazy domain's). */
    fqPending: number;
    /** IOVA_MAG_SIZE its allocator ran with (the profile's, or the scenario's magazineSize); absent in reports before it was kept. */
    magazineSize?: number;
  }[];
  events: EventReport[];
  series: SeriesPoint[];
  /** The latest violations the oracle logged, at most 100 (totals.violations counts them all). */
  violations: ViolationReport[];
  /** Wall clock: the only part of the report that differs between two runs of one seed. */
  timing: {
    wallMs: number;
    /** Simulator operations per second (all CPUs). */
    opsPerSec: number;
    perWorker: { worker: number; cpus: number[]; ops: number; wallMs: number; opsPerSec: number }[];
  };
}
