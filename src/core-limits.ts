// The core's capacities that TypeScript enforces before any core is loaded: a scenario file
// is validated on its own (its schema is built at import), and a benchmark's options before
// its simulator exists. Each value is the core's exported constant of that name, read from
// build/core.wasm when it was built (scripts/core-exports.mjs writes build/constants.js):
// a capacity changed in assembly/ changes here with the next build, with nothing to edit.

import {
  KEPT_MAX, LOG_MAX, MAG_SIZE_MAX, MAX_DMA_CPUS, MAX_DMA_DEVICES, MAX_DMA_DOMAINS, MAX_STREAMS, MAX_THREADS, MAX_WALKERS, RING_MAX,
} from "../build/constants.js";

export const CORE_LIMITS = Object.freeze({
  /** Simulated CPUs of a DMA domain or scenario (assembly/memmap.ts). */
  MAX_DMA_CPUS,
  /** Thread slots: the orchestrator and its workers (assembly/memmap.ts). */
  MAX_THREADS,
  /** DMA domains live at once (assembly/memmap.ts). */
  MAX_DMA_DOMAINS,
  /** DMA devices attached at once (assembly/memmap.ts). */
  MAX_DMA_DEVICES,
  /** Stream IDs per SMMU (assembly/smmu/smmu.ts). */
  MAX_STREAMS,
  /** Table walks an SMMU runs at once, at most (assembly/smmu/smmu.ts). */
  MAX_WALKERS,
  /** Buffers one workload CPU keeps in flight: a ring, a queue's segments, live slots (assembly/workload/state.ts). */
  RING_MAX,
  /** The largest IOVA magazine (IOVA_MAG_SIZE) a domain may be given (assembly/iova/layout.ts). */
  MAG_SIZE_MAX,
  /** IOVAs an attacker keeps retrying (assembly/workload/state.ts). */
  KEPT_MAX,
  /** Unmaps a victim logs for its attacker before the attacker must read them (assembly/workload/state.ts). */
  LOG_MAX,
});

export type CoreLimit = keyof typeof CORE_LIMITS;
