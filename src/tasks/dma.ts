// DMA-API benchmark work for the pool (bench/dma.mjs): on each worker's simulated CPU, a
// batch of dma_map → the device writes the buffer once through the SMMU → dma_unmap pairs,
// inside one Wasm call (assembly/dma/loop.ts), as dma_map_benchmark drives the DMA API
// (reference §6.4). It measures the DMA layer itself, so it runs none of the scenario
// runner's per-operation bookkeeping (clocks, histograms, lazy windows); workloads of that
// shape under load, with the live switch and attackers, are the scenario runner's
// ("pairs" workloads; runDmaStress in src/scenarios/dma-stress.ts).

import type { TaskContext } from "../pool.js";
import type { Core } from "../../bindings/core.js";
import { cpuError } from "../dma.js";

/** One of loopPairs' results (assembly/dma/loop.ts LS_*): u64 counters in the thread slot's TS_STATS. */
function loopStat(core: Core, which: "LS_PAIRS" | "LS_MAP_FAILS"): number {
  const L = core.layout;
  return core.readU64Number(L.THREAD_SLOTS_BASE + core.slot * L.THREAD_SLOT_SIZE + L.TS_STATS + 8 * L[which]);
}

export interface DmaPairsArgs {
  /**
   * The DMA domain the CPUs map in: one for every worker, or one per worker
   * (domains[worker]) — CPUs in different domains share none of the kernel's state for it
   * (IOVA caches, page tables, flush queue).
   */
  domain: number | number[];
  /**
   * The device that touches the buffers: one for every worker, or one per worker
   * (devices[worker]) — each device has one micro-TLB, which every access of every CPU
   * feeding it fills, so CPUs that share a device share that structure.
   */
  device: number | number[];
  /** One simulated CPU per worker: cpus[worker]. */
  cpus: number[];
  count: number;
  size: number;
  physBase: number;
  physPages: number;
  /** LOOP_* flags (LOOP_TOUCH: the device writes each buffer once, through the SMMU). */
  flags: number;
  seed: number;
}

export interface DmaPairsResult {
  pairs: number;
  mapFailures: number;
  ms: number;
  /** Modelled CPU time this worker was charged (commands written, syncs waited for, locks). */
  cpuNs: number;
}

export const dmaTasks = {
  /**
   * Benchmark: `count` dma_map + dma_unmap pairs inside Wasm on this worker's CPU, timed;
   * the worker's modelled CPU time is reset before and read after.
   */
  "dma.pairs": (ctx: TaskContext, a: DmaPairsArgs): DmaPairsResult => {
    const { core } = ctx;
    const cpu = a.cpus[ctx.worker]!;
    const device = typeof a.device === "number" ? a.device : a.device[ctx.worker]!;
    const domain = typeof a.domain === "number" ? a.domain : a.domain[ctx.worker]!;
    core.raw.cpu_modelled_ns(true);
    const t0 = performance.now();
    const rc = core.raw.dma_loop_pairs(device, cpu, a.count, a.size, a.physBase, a.physPages, 0, a.flags,
                                       (a.seed + ctx.worker * 7919) >>> 0 || 1);
    const ms = performance.now() - t0;
    const cpuNs = core.raw.cpu_modelled_ns(false);
    core.raw.dma_release_cpu(domain, cpu);
    if (rc !== 0) throw cpuError(core, rc, cpu, `dma.pairs (worker ${ctx.worker})`);
    return { pairs: loopStat(core, "LS_PAIRS"), mapFailures: loopStat(core, "LS_MAP_FAILS"), ms, cpuNs };
  },
};
