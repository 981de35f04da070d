// Where a simulated CPU's modelled time went (assembly/cpu-time.ts TIME_*), read from the
// core's records by name: the work of the kernel's code, the requested busy-wait, each wait
// on a shared resource in modelled time, and the cache lines other CPUs wrote moving here.
// The parts add up to the CPU's clock.

import type { Core } from "../bindings/core.js";
import type { LayoutName } from "../bindings/layout.js";

/** Modelled ns by where they went; the fields add up to the CPU's clock. */
export interface TimeBreakdown {
  /** The kernel's own code on the CPU (DMA API, page tables, IOVA caches, lock taking). */
  work: number;
  /** Claiming command-queue space (the CAS loop on prod) and, as the queue's owner, waiting for the previous owner and writing prod. */
  cmdq: number;
  /** Waiting for CMD_SYNC: the SMMU consuming the commands queued before it, then completing it. */
  sync: number;
  /** Spinning on the IOVA tree's lock (iova_rbtree_lock). */
  iovaTreeLock: number;
  /** Spinning on a depot's lock (iova_rcache.lock). */
  depotLock: number;
  /** Spinning on a flush-queue ring's lock. */
  fqLock: number;
  /** dma_map_benchmark's ndelay(dma_trans_ns) between map and unmap. */
  delay: number;
  /**
   * Cache lines another CPU wrote last moving to this one (cpuCosts.lineTransfer each): PTE
   * lines of neighbouring IOVAs, IOVA magazines handed between CPUs through the depot, the
   * depot itself, the flush-queue timer. Only in runs whose CPUs contend in modelled time.
   */
  lineTransfer: number;
}

/** Each part's index in the core's breakdown. */
export const TIME_CODES = {
  work: "TIME_WORK", cmdq: "TIME_CMDQ", sync: "TIME_SYNC", iovaTreeLock: "TIME_IOVA_TREE_LOCK",
  depotLock: "TIME_DEPOT_LOCK", fqLock: "TIME_FQ_LOCK", delay: "TIME_DELAY", lineTransfer: "TIME_LINE_TRANSFER",
} as const satisfies Record<keyof TimeBreakdown, LayoutName>;

/** A breakdown, each part read by its TIME_* index (from a record, or through an accessor). */
export function readTimeBreakdown(core: Core, read: (index: number) => number): TimeBreakdown {
  const out = {} as TimeBreakdown;
  for (const [k, name] of Object.entries(TIME_CODES) as [keyof TimeBreakdown, LayoutName][]) {
    out[k] = read(core.layout[name]);
  }
  return out;
}

/** The sum of breakdowns, or their mean when `divide` is given. */
export function sumTimeBreakdowns(parts: readonly TimeBreakdown[], divide = 1): TimeBreakdown {
  const out = {} as TimeBreakdown;
  for (const k of Object.keys(TIME_CODES) as (keyof TimeBreakdown)[]) {
    out[k] = parts.reduce((n, p) => n + p[k], 0) / divide;
  }
  return out;
}
