// The core's capacities that TypeScript enforces before any core is loaded: a scenario file
// is validated on its own (its schema is built at import), and a benchmark's options before
// its simulator exists. Each entry is the core's exported constant of that name, written
// here once because a schema cannot wait for a module; test/abi.test.ts walks the table
// against the module, so changing a capacity on one side alone fails there.

export const CORE_LIMITS = Object.freeze({
  /** Simulated CPUs of a DMA domain or scenario (assembly/memmap.ts). */
  MAX_DMA_CPUS: 128,
  /** Thread slots: the orchestrator and its workers (assembly/memmap.ts). */
  MAX_THREADS: 64,
  /** DMA domains live at once (assembly/memmap.ts). */
  MAX_DMA_DOMAINS: 16,
  /** DMA devices attached at once (assembly/memmap.ts). */
  MAX_DMA_DEVICES: 64,
  /** Stream IDs per SMMU (assembly/smmu/smmu.ts). */
  MAX_STREAMS: 256,
  /** Table walks an SMMU runs at once, at most (assembly/smmu/smmu.ts). */
  MAX_WALKERS: 16,
  /** Buffers one workload CPU keeps in flight: a ring, a queue's segments, live slots (assembly/workload/state.ts). */
  RING_MAX: 512,
  /** IOVAs an attacker keeps retrying (assembly/workload/state.ts). */
  KEPT_MAX: 256,
  /** Unmaps a victim logs for its attacker before the attacker must read them (assembly/workload/state.ts). */
  LOG_MAX: 256,
});

export type CoreLimit = keyof typeof CORE_LIMITS;
