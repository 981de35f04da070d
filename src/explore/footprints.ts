// What each step of an explore scenario touches in the simulation, for the explorer's
// partial-order reduction (dpor.ts): the named shared locations a map, a device access, and
// the seed variants' unmap and switch steps read and write, following what the kernel code
// they stand for touches — dma_map (alloc_iova, the PTEs, the DMA API's record), a device
// access (SMMUv3 translation through the TLBs, else a table walk), __iommu_dma_unmap's clear /
// iotlb_sync / queue_iova or free_iova_fast, iommu_dma_init_fq's queue and the domain type;
// and the races' steps — a driver's iommu_map / iommu_unmap (the block split), the flush
// queue's timer callback and teardown, a device probing (iommu_dma_init_domain).
// Two steps commute unless one writes what the other reads or writes, so a location left out
// here is a schedule class the explorer would never run: when a step learns to touch more
// state, its footprint must say so (test/explore-dpor.test.ts swaps commuting steps of the
// built-in scenarios and checks that nothing changes).
//
// Left out on purpose: statistics counters and each CPU's modelled clock (a later step's
// outcome never depends on them; jiffies do not advance while exploring, so no timer fires)
// and allocation addresses no outcome shows (page-table and kheap pages).

import type { Footprint } from "./model.js";
import type { Scenario, ScenarioOp } from "./scenario.js";
import type { ResolvedStep, VariantAction } from "../variants/vocabulary.js";

/** Names of the simulator's shared state, as footprints list them. */
export const LOCATIONS = Object.freeze({
  /** The IOVA a named buffer was last given (the device keeps using it). */
  iovaOf: (buf: string) => `iova-of:${buf}`,
  /** The PTEs of the IOVA range a buffer holds (see ptesOf for ranges that can change hands). */
  ptes: (buf: string) => `ptes:${buf}`,
  /** The PTEs of ranges handed out while the schedule runs: any of them may be any freed range. */
  remappedPtes: "ptes:(mapped while exploring)",
  /** The IOVA allocator: range tree, per-CPU rcaches, depot. */
  allocator: "iova-allocator",
  /** The safety oracle's shadow of the DMA API's mappings, which judges device accesses. */
  shadow: "dma-shadow",
  /** The SMMU's caches (IOTLB, walk cache, micro-TLBs, flush generations) and command queue. */
  tlb: "smmu-tlb",
  /** The core's flush queue: built by the switch, filled by lazy unmaps, flushed when full. */
  flushQueue: "flush-queue",
  /** Page-table pages given back by an unmap's freelist, taken by a map that needs a table. */
  tablePages: "pgtable-pages",
  /** The flush queue's flush counters (flushes started and finished), which stamp and release entries. */
  fqCounters: "fq-flush-counters",
  /** The flush queue's timer: timer_on (pending), and whether its callback is running. */
  fqTimer: "fq-timer",
  /** The DMA cookie's mutex (iommu_dma_init_domain takes it since ac9a5d522bb8). */
  cookieMutex: "cookie-mutex",
  /** iommu_domain.type. */
  domainType: "domain-type",
  /** One CPU's unmap in flight: its range and its gather. */
  unmapState: (cpu: string) => `unmap-state:${cpu}`,
});

/** The scenario's buffers, and which of them hold one IOVA range for the whole schedule. */
export class Buffers {
  constructor(readonly names: readonly string[], private readonly fixed: ReadonlySet<string>) {}

  /** Buffers mapped while the schedule runs, or unmapped during setup, have no fixed range: a
   *  step on one may touch any buffer's PTEs. The others are disjoint for the whole run. */
  static of(sc: Scenario): Buffers {
    const names = new Set<string>();
    const moving = new Set<string>();
    const note = (op: ScenarioOp, inThreads: boolean) => {
      const b = "map" in op ? op.map : "unmap" in op ? op.unmap : "access" in op ? op.access
        : "iommuMap" in op ? op.iommuMap : "iommuUnmap" in op ? op.iommuUnmap : undefined;
      if (b === undefined) return;
      names.add(b);
      if (("map" in op && inThreads) || ("unmap" in op && !inThreads)) moving.add(b);
    };
    for (const op of sc.setup ?? []) note(op, false);
    for (const ops of Object.values(sc.threads)) for (const op of ops) note(op, true);
    return new Buffers([...names].sort(), new Set([...names].filter((n) => !moving.has(n))));
  }

  ptesOf(buf: string): string[] {
    if (this.fixed.has(buf)) return [LOCATIONS.ptes(buf)];
    return [...[...this.fixed].map(LOCATIONS.ptes), LOCATIONS.remappedPtes];
  }
}

/** What each kind of a variant's unmap actions touches, on CPU `cpu`, unmapping `buf`. */
export function unmapFootprint(action: VariantAction, cpu: string, buf: string, bufs: Buffers): Footprint {
  const gather = LOCATIONS.unmapState(cpu);
  switch (action) {
    case "clear": return { reads: [LOCATIONS.iovaOf(buf)], writes: [gather, ...bufs.ptesOf(buf)] };
    case "sync": return { reads: [], writes: [gather, LOCATIONS.tlb] };
    // queue_iova flushes a full ring (invalidation, then the IOVAs freed); free_iova_fast frees now.
    case "release": case "queue": case "free": return {
      reads: [LOCATIONS.iovaOf(buf)],
      writes: [gather, LOCATIONS.allocator, LOCATIONS.shadow, LOCATIONS.flushQueue, LOCATIONS.fqCounters, LOCATIONS.tlb, LOCATIONS.tablePages],
    };
    case "set-type": return { reads: [], writes: [LOCATIONS.domainType] };
  }
}

/** dma_map: the allocator picks the range, the oracle learns of it, the PTEs are written; the
 *  trace's note names any other buffer that had the same IOVA. */
export function mapFootprint(buf: string, bufs: Buffers): Footprint {
  return {
    reads: bufs.names.map(LOCATIONS.iovaOf),
    writes: [LOCATIONS.iovaOf(buf), LOCATIONS.allocator, LOCATIONS.shadow, LOCATIONS.tablePages, ...bufs.ptesOf(buf)],
  };
}

/** A device access: translated through the SMMU's caches (filling them), else by a walk of the
 *  PTEs; the oracle judges it against its shadow. */
export function accessFootprint(buf: string, bufs: Buffers): Footprint {
  return { reads: [LOCATIONS.iovaOf(buf), LOCATIONS.shadow, ...bufs.ptesOf(buf)], writes: [LOCATIONS.tlb] };
}

/** A variant's store, on either path. A store's modelled word is its own variable; the core's
 *  copy of fq_domain and of the quirk word is read by nothing the explorer runs (its loads ask
 *  the model). Building the queue (the store of "fq") creates the core's flush queue. */
export function storeFootprint(step: ResolvedStep): Footprint {
  return { reads: [], writes: step.var === "fq" ? [LOCATIONS.flushQueue, LOCATIONS.fqCounters] : [] };
}

/** The switch's stores and actions; an action this file has no footprint for conflicts with every step. */
export function switchFootprint(step: ResolvedStep): Footprint | undefined {
  if (step.kind === "store") return storeFootprint(step);
  if (step.action === "set-type") return { reads: [], writes: [LOCATIONS.domainType] };
  return undefined;
}

/**
 * A driver's iommu_map (assembly/dma/driver.ts) of a buffer or of one page of it: the PTEs
 * (a table page for a new table, the reservation of the range in the allocator the first
 * time), and the oracle's shadow; the IOVA it gives the buffer.
 */
export function driverMapFootprint(buf: string, bufs: Buffers): Footprint {
  return {
    reads: [],
    writes: [LOCATIONS.iovaOf(buf), LOCATIONS.allocator, LOCATIONS.shadow, LOCATIONS.tablePages, ...bufs.ptesOf(buf)],
  };
}

/**
 * A driver's iommu_unmap on CPU `cpu`, its three steps: the walk reads the PTEs (the block
 * entry) and builds a split table into this CPU's unmap state; the install swaps the block
 * entry for it or, having lost, works in the winner's table (or clears the PTEs), freeing
 * table pages; the sync sends the gathered TLBIs and CMD_SYNC and tells the oracle.
 */
export function driverUnmapFootprints(cpu: string, buf: string, bufs: Buffers): [Footprint, Footprint, Footprint] {
  const own = LOCATIONS.unmapState(cpu);
  const ptes = bufs.ptesOf(buf);
  return [
    { reads: [LOCATIONS.iovaOf(buf), ...ptes], writes: [own] },
    { reads: [], writes: [own, LOCATIONS.tablePages, ...ptes] },
    { reads: [], writes: [own, LOCATIONS.tlb, LOCATIONS.shadow, LOCATIONS.tablePages] },
  ];
}

/**
 * The FQ timer firing (fq_flush_timeout's start): reads and clears the timer's state, marks
 * the callback running, and flushes — the flush counters and the SMMU's caches; it reads
 * the queue's pointer (no queue, no timer), not its rings.
 */
export function fqTimerFootprint(): Footprint {
  return { reads: [LOCATIONS.fqTimer, LOCATIONS.flushQueue], writes: [LOCATIONS.fqTimer, LOCATIONS.fqCounters, LOCATIONS.tlb] };
}

/**
 * The callback's release scan of one ring: the queue's pointer and the ring (or the freed
 * memory where it was), the entries' IOVAs into this CPU's rcache and their table pages
 * freed; the last ring's scan ends the callback (the timer's state).
 */
export function fqReleaseFootprint(): Footprint {
  return {
    reads: [LOCATIONS.fqTimer, LOCATIONS.flushQueue, LOCATIONS.fqCounters],
    writes: [LOCATIONS.fqTimer, LOCATIONS.flushQueue, LOCATIONS.allocator, LOCATIONS.tablePages],
  };
}

/**
 * Teardown's steps: cancelling the timer reads whether its callback runs (what
 * del_timer_sync waits for) and clears timer_on; the destructors read the rings and free
 * the entries' table pages; freeing the rings and clearing the pointer write the queue.
 */
export function fqTeardownFootprint(step: "cancel" | "destroy" | "free"): Footprint {
  switch (step) {
    case "cancel": return { reads: [LOCATIONS.fqTimer], writes: [LOCATIONS.fqTimer] };
    case "destroy": return { reads: [LOCATIONS.flushQueue], writes: [LOCATIONS.tablePages] };
    case "free": return { reads: [], writes: [LOCATIONS.flushQueue] };
  }
}

/**
 * A probe's steps (iommu_dma_init_domain): the mutex taken (whether it must wait is read
 * from it), start_pfn read, the IOVA domain initialised and its region reserved (the whole
 * allocator: tree, start_pfn), the mutex given back.
 */
export function probeFootprints(): [Footprint, Footprint, Footprint, Footprint] {
  return [
    { reads: [LOCATIONS.cookieMutex], writes: [LOCATIONS.cookieMutex] },
    { reads: [LOCATIONS.allocator], writes: [] },
    { reads: [LOCATIONS.allocator], writes: [LOCATIONS.allocator] },
    { reads: [], writes: [LOCATIONS.cookieMutex] },
  ];
}
