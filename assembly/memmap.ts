// The memory map of the shared Wasm memory: the one place that says where every piece
// of simulator state lives. The TypeScript side reads these numbers from the module's
// exported globals (see assembly/index.ts and bindings/layout.ts), never from a copy.
//
// Nothing in the core allocates (no `new`, strings or containers): each AssemblyScript
// instance has its own heap globals, so two workers calling `new` would hand out the same
// addresses. All state lives at the offsets below, and every instance sees the same bytes.
//
// The static regions are chained: each starts where the one before it ends, rounded up to
// REGION_ALIGN, and a table's size is its record count × stride (each record checks, next
// to its class, that it fits its stride). So a region that grows moves the ones after it
// instead of running into them; the checks at the end of this file stop the build if the
// static part would reach DYNAMIC_BASE. The addresses drawn are what the chain gives today.
//
//   0x000000 ┌──────────────────────────────┐
//            │ null guard (never written)   │ a zero pointer is never valid state
//   0x010000 ├──────────────────────────────┤ CONTROL_BASE
//            │ control block (ControlBlock) │ magic, ABI version, clock, CPU costs, run stop
//   0x011000 ├──────────────────────────────┤ THREAD_SLOTS_BASE
//            │ thread slots  64 × 1 KiB     │ per-worker scratch (ThreadSlot): gather, results
//   0x021000 ├──────────────────────────────┤ PGT_BASE
//            │ page-table descriptors       │ 256 × 256 B (assembly/pgtable/desc.ts PgtDesc)
//   0x031000 ├──────────────────────────────┤ ZONES_BASE
//            │ zone headers (phys, kheap)   │ 2 × 1 KiB (assembly/phys.ts ZoneHeader)
//   0x032000 ├──────────────────────────────┤ SMMU_DOMAINS_BASE
//            │ SMMU domains 256 × 64 B      │ arm_smmu_domain: stage, ASID/VMID
//   0x036000 ├──────────────────────────────┤ SMMUS_BASE
//            │ SMMU instances 4 × 2 KiB     │ caches, stream table, fault queue, stats, walkers
//   0x038000 ├──────────────────────────────┤ IOVA_SLOTS_BASE
//            │ IOVA domain slots 64 × 64 B  │ state + address of each domain's block
//   0x039000 ├──────────────────────────────┤ DMA_DOMAINS_BASE
//            │ DMA domains 16 × 512 B       │ iommu_domain + dma-iommu cookie, fq_domain
//   0x03b000 ├──────────────────────────────┤ DMA_DEVICES_BASE
//            │ DMA devices 64 × 128 B       │ mask, bus, stream, SMMU (struct device)
//   0x03d000 ├──────────────────────────────┤ DMA_CPUS_BASE
//            │ DMA CPU scratch 128 × 256 B  │ each simulated CPU's unmap in progress
//   0x045000 ├──────────────────────────────┤ COUNTER_CACHES_BASE
//            │ counter caches 64 × 2 KiB    │ each thread's not-yet-published statistics
//   0x065000 ├──────────────────────────────┤ WORKLOAD_CPUS_BASE
//            │ workload state 128 × 20 KiB  │ each simulated CPU's rings of a scenario run
//   0x2e5000 ├──────────────────────────────┤ MAPBENCH_BASE
//            │ map benchmark 128 × 192 B    │ dma_map_benchmark clocks, sums, time breakdown
//   0x2eb000 ├──────────────────────────────┤ LINE_OWNERS_BASE
//            │ PTE line owners 4096 × 8 B   │ which CPU wrote each shared line last
//   0x2f3000 ├──────────────────────────────┤ STATIC_END (the rest up to 4 MiB is spare)
//   0x400000 ├──────────────────────────────┤ DYNAMIC_BASE (fixed)
//            │ kheap zone: frame metadata,  │ simulator-private memory (event rings)
//            │ then its frames              │
//            ├──────────────────────────────┤
//            │ phys zone: frame metadata,   │ simulated RAM for page-table pages;
//            │ then its frames              │ frame 0 has physical address PHYS_BASE
//            └──────────────────────────────┘ end of memory
//
// Hot words that different workers write sit on their own 64-byte line.

export const CACHE_LINE: u32 = 64;

export const LAYOUT_MAGIC: u32 = 0x494f4d55; // "IOMU"
export const ABI_VERSION: u32 = 1;

/**
 * Every static region starts on a 4 KiB boundary: more than the cache-line alignment its
 * hot words need, and it keeps each base where the hand-picked map of earlier versions had it.
 */
const REGION_ALIGN: u32 = 0x1000;

export const NULL_GUARD_SIZE: u32 = 0x10000;

// ── control block ───────────────────────────────────────────────────────────

/**
 * The machine-wide words (CONTROL_BASE): the layout's identity, simulated time, the
 * modelled CPU costs and a scenario run's stop switch. Each word that workers write while
 * others read it starts a cache line of its own; the padding keeps it there.
 */
@unmanaged export class ControlBlock {
  /** LAYOUT_MAGIC once the layout is made (coreInit writes it last but one). */
  magic: u32;
  /** ABI_VERSION of the build that made the layout (coreInit). */
  abi: u32;
  /** Bytes of memory the layout was made for (coreInit). */
  memoryBytes: u32;
  /** 0 = never initialised, 1 = coreInit in progress, 2 = ready (coreInit, by compare-and-swap). */
  initState: u32;
  /** The simulated kernel's PAGE_SHIFT (coreInit). */
  pageShift: u32;
  /**
   * Which kernel profile the machine runs, as the TypeScript side numbers them (its index
   * in src/profile.ts PROFILES), written by the orchestrator. The core never reads it: the
   * core asks for behaviours, which each record carries; workers that attach read it to
   * name the machine's kernel.
   */
  kernel: u32;
  /**
   * The KB_* bits the machine runs (assembly/behaviour.ts): the profile's, with the
   * overrides it was created with (a behaviour added or removed by name). Every record made
   * afterwards carries these, on any thread that attaches.
   */
  behaviours: u32;
  _pad0: u32;
  /**
   * Bit s set once the orchestrator stopped the worker in thread slot s in the middle of a
   * task (its pool was closed, timed out or failed during a run): it may have died holding
   * one of the machine's locks (whose words name their holder: sync.ts lockAcquire), or
   * counted as running in a domain it never left. A thread that meets either gives up
   * instead of spinning for good, and no new worker takes such a slot
   * (src/stopped-workers.ts). On the line of words written once at start, read only by waits.
   */
  stoppedSlots: u64;
  _pad1: u64; _pad2: u64; _pad3: u64;
  /** The lock of simulated time (assembly/clock.ts): one writer at a time. */
  clockLock: u32;
  _pad5: u32; _pad6: u64; _pad7: u64; _pad8: u64; _pad9: u64; _pad10: u64; _pad11: u64; _pad12: u64;
  /** Jiffies since the simulator started (assembly/clock.ts, under clockLock). */
  jiffies: u64;
  _pad13: u64; _pad14: u64; _pad15: u64; _pad16: u64; _pad17: u64; _pad18: u64; _pad19: u64;
  /**
   * The first of CPU_COST_COUNT modelled CPU costs, u32 ns each, indexed by CPU_COST_*:
   * charged to the thread that does the work (sync.ts cpuCharge, ThreadSlot.cpuNs). Set from
   * TypeScript (Simulator.create({ cpuCosts }), defaults: DEFAULT_CPU_COSTS in src/smmu/smmu.ts),
   * read on every charge: a line apart from the words that change during a run.
   */
  cpuCosts: u32;
  _pad20: u32; _pad21: u32; _pad22: u32; _pad23: u32; _pad24: u32; _pad25: u32; _pad26: u32;
  _pad27: u64; _pad28: u64; _pad29: u64; _pad30: u64;
  /** Non-zero: every workload loop of a scenario run (assembly/workload/) stops. */
  runStop: u32;
  _pad31: u32; _pad32: u64; _pad33: u64; _pad34: u64; _pad35: u64; _pad36: u64; _pad37: u64; _pad38: u64;
  /** RUN_* flags of the scenario run in progress (set by the orchestrator before it starts). */
  runFlags: u32;
  _pad39: u32; _pad40: u64; _pad41: u64; _pad42: u64; _pad43: u64; _pad44: u64; _pad45: u64; _pad46: u64;
  /**
   * Non-zero while a run keeps its CPUs' clocks within a quantum of each other (the map
   * benchmark): shared resources are then booked on the modelled timeline, so a CPU that
   * finds one busy waits (assembly/cpu-time.ts). Zero: every resource costs its uncontended
   * price, as for calls whose threads' clocks are unrelated.
   */
  timed: u32;
}

export const CONTROL_BASE: u32 = NULL_GUARD_SIZE;
const CONTROL_END: u32 = CONTROL_BASE + offsetof<ControlBlock>();

// Read by name from the module (CTL_KERNEL, CTL_BEHAVIOURS, CTL_STOPPED_SLOTS, CTL_RUN_*: the TypeScript side) or used by units
// that address the block themselves (clock.ts, workload/, index.ts).
export const CTL_KERNEL: u32 = offsetof<ControlBlock>("kernel");
export const CTL_BEHAVIOURS: u32 = offsetof<ControlBlock>("behaviours");
export const CTL_STOPPED_SLOTS: u32 = offsetof<ControlBlock>("stoppedSlots");
export const CTL_CLOCK_LOCK: u32 = offsetof<ControlBlock>("clockLock");
export const CTL_JIFFIES: u32 = offsetof<ControlBlock>("jiffies");
/** The CPU costs: u32 each at CTL_CPU_COSTS + 4 × CPU_COST_*. */
export const CTL_CPU_COSTS: u32 = offsetof<ControlBlock>("cpuCosts");
export const CTL_RUN_STOP: u32 = offsetof<ControlBlock>("runStop");
export const CTL_RUN_FLAGS: u32 = offsetof<ControlBlock>("runFlags");
export const CTL_TIMED: u32 = offsetof<ControlBlock>("timed");

//   the modelled CPU costs (ns), indexes into ControlBlock.cpuCosts
export const CPU_COST_LOCK: u32 = 0; //        taking one of the kernel's spinlocks
export const CPU_COST_DMA_API: u32 = 1; //     one dma_map_* / dma_unmap_* call: entry, checks, exit
export const CPU_COST_WALK_STEP: u32 = 2; //   io-pgtable's walk going down one level (a descriptor read)
export const CPU_COST_PTE: u32 = 3; //         writing or clearing one PTE
export const CPU_COST_IOVA_RCACHE: u32 = 4; // an IOVA from or to the per-CPU rcache (its lock apart)
export const CPU_COST_IOVA_TREE: u32 = 5; //   an IOVA from or to the rbtree (its lock apart)
export const CPU_COST_TABLE_ALLOC: u32 = 6; // a zeroed page-table page from the page allocator
export const CPU_COST_FQ_QUEUE: u32 = 7; //    queue_iova's own work: barrier, entry, timer check (lock apart)
export const CPU_COST_LINE_TRANSFER: u32 = 8; // a cache line of PTEs another CPU wrote last, moving here (timed runs)
export const CPU_COST_COUNT: u32 = 9;
/** A violation the oracle finds sets ControlBlock.runStop. */
export const RUN_STOP_ON_VIOLATION: u32 = 1 << 0;

/** The control block, at its fixed place. */
@inline export function control(): ControlBlock {
  return changetype<ControlBlock>(CONTROL_BASE);
}

if (offsetof<ControlBlock>("clockLock") % CACHE_LINE != 0) ERROR("ControlBlock.clockLock must start its own cache line");
if (offsetof<ControlBlock>("jiffies") % CACHE_LINE != 0) ERROR("ControlBlock.jiffies must start its own cache line");
if (offsetof<ControlBlock>("cpuCosts") % CACHE_LINE != 0) ERROR("ControlBlock.cpuCosts must start its own cache line");
if (offsetof<ControlBlock>("cpuCosts") + CPU_COST_COUNT * 4 > offsetof<ControlBlock>("runStop")) {
  ERROR("ControlBlock.cpuCosts outgrew its line");
}
if (offsetof<ControlBlock>("runStop") % CACHE_LINE != 0) ERROR("ControlBlock.runStop must start its own cache line");
if (offsetof<ControlBlock>("runFlags") % CACHE_LINE != 0) ERROR("ControlBlock.runFlags must start its own cache line");
if (offsetof<ControlBlock>("timed") % CACHE_LINE != 0) ERROR("ControlBlock.timed must start its own cache line");
if (CONTROL_BASE % CACHE_LINE != 0) ERROR("CONTROL_BASE must be cache-line aligned");

// ── thread slots ────────────────────────────────────────────────────────────

/**
 * One per thread (worker) bound to the memory, MAX_THREADS of THREAD_SLOT_SIZE bytes: its
 * scratch, and what the bindings read after a call. Only its own thread writes it (the
 * orchestrator reads results once the call has returned). Some fields are the first word of
 * a record of another unit that lives here; the room each has is the distance to the next
 * field (TS_*_ROOM below), and that unit checks its record fits.
 */
@unmanaged export class ThreadSlot {
  /** The iotlb gather of the unmap in progress (assembly/iommu/gather.ts Gather): its first word. */
  gather: u64;
  _pad0: u64; _pad1: u64; _pad2: u64; _pad3: u64; _pad4: u64; _pad5: u64; _pad6: u64;
  /** First result that does not fit a call's return value (the bindings' result64(0)). */
  result0: u64;
  /** Second result (result64(1)). */
  result1: u64;
  /** Third result (result64(2)); a translation (assembly/smmu/translate.ts) fills result0…3. */
  result2: u64;
  /** Fourth result (result64(3)). */
  result3: u64;
  /** Scratch after the results (assembly/device/engine.ts keeps a descriptor's first PA at TS_RESULT0 + 32). */
  scratch: u64;
  _pad7: u64; _pad8: u64; _pad9: u64;
  /** What this thread (the simulated CPU it runs) has been charged, in modelled ns (sync.ts cpuCharge). */
  cpuNs: u64;
  _pad10: u64; _pad11: u64; _pad12: u64; _pad13: u64; _pad14: u64; _pad15: u64; _pad16: u64;
  /** The first of TS_STATS_COUNT u64 statistics of a batched call (assembly/dma/loop.ts). */
  stats: u64;
  _pad17: u64; _pad18: u64; _pad19: u64; _pad20: u64; _pad21: u64; _pad22: u64; _pad23: u64;
  _pad24: u64; _pad25: u64; _pad26: u64; _pad27: u64; _pad28: u64; _pad29: u64; _pad30: u64; _pad31: u64;
  _pad32: u64; _pad33: u64; _pad34: u64; _pad35: u64; _pad36: u64; _pad37: u64; _pad38: u64; _pad39: u64;
  _pad40: u64; _pad41: u64; _pad42: u64; _pad43: u64; _pad44: u64; _pad45: u64; _pad46: u64; _pad47: u64;
  /** What a device access in a batched loop got (assembly/smmu/translate.ts result): its first word. */
  accessResult: u64;
  _pad48: u64; _pad49: u64; _pad50: u64; _pad51: u64; _pad52: u64; _pad53: u64; _pad54: u64;
  /**
   * The safety oracle's view of the page a device access is translating, when the access
   * started (assembly/safety/oracle.ts snapshot): its first word.
   */
  oracleBefore: u64;
  _pad55: u64; _pad56: u64; _pad57: u64; _pad58: u64; _pad59: u64; _pad60: u64; _pad61: u64;
  /** The same view when the access completed: its first word. */
  oracleNow: u64;
  _pad62: u64; _pad63: u64; _pad64: u64; _pad65: u64; _pad66: u64; _pad67: u64; _pad68: u64;
  /**
   * The start count the last queue_iova on this thread stamped its entry with (its flush
   * must begin after: the workloads' lazy-window measure reads it; assembly/iova/fq.ts).
   */
  fqStamp: u64;
  _pad69: u64; _pad70: u64; _pad71: u64; _pad72: u64; _pad73: u64; _pad74: u64; _pad75: u64;
  /**
   * The simulated CPU this thread runs, in modelled time (assembly/cpu-time.ts): its clock
   * is cpuNs + clockOffset (wrapping), set when a run engine switches to the CPU.
   */
  clockOffset: u64;
  /** Commands this CPU has batched and not yet submitted to a queue (assembly/smmu/cmdq.ts). */
  batchCmds: u64;
  /** The modelled ns the SMMU will take to consume them. */
  batchNs: u64;
  /** Which simulated CPU this thread runs now, + 1 (0: none said; cpu-time.ts cpuTimeEnter). */
  cpu: u64;
  _pad77: u64; _pad78: u64; _pad79: u64; _pad80: u64;
  /** The first of TIME_ROOM u64: where this CPU's modelled time went (cpu-time.ts TIME_*). */
  time: u64;
}

export const THREAD_SLOTS_BASE: u32 = (CONTROL_END + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
export const MAX_THREADS: u32 = 64;
if (MAX_THREADS > 64) ERROR("ControlBlock.stoppedSlots has a bit per thread slot: at most 64");
export const THREAD_SLOT_SIZE: u32 = 1024;
const THREAD_SLOTS_END: u32 = THREAD_SLOTS_BASE + MAX_THREADS * THREAD_SLOT_SIZE;

// Read by name from the module (TS_RESULT0, TS_RESULT1, TS_CPU_NS, TS_STATS, TS_GATHER) or
// used by units that address a thread slot themselves.
export const TS_GATHER: u32 = offsetof<ThreadSlot>("gather");
export const TS_RESULT0: u32 = offsetof<ThreadSlot>("result0");
export const TS_RESULT1: u32 = offsetof<ThreadSlot>("result1");
export const TS_CPU_NS: u32 = offsetof<ThreadSlot>("cpuNs");
export const TS_STATS: u32 = offsetof<ThreadSlot>("stats");
export const TS_STATS_COUNT: u32 = 16;
export const TS_ACCESS_RESULT: u32 = offsetof<ThreadSlot>("accessResult");
export const TS_ORACLE_BEFORE: u32 = offsetof<ThreadSlot>("oracleBefore");
export const TS_ORACLE_NOW: u32 = offsetof<ThreadSlot>("oracleNow");
export const TS_FQ_STAMP: u32 = offsetof<ThreadSlot>("fqStamp");
export const TS_CLOCK_OFFSET: u32 = offsetof<ThreadSlot>("clockOffset");
export const TS_BATCH_CMDS: u32 = offsetof<ThreadSlot>("batchCmds");
export const TS_BATCH_NS: u32 = offsetof<ThreadSlot>("batchNs");
export const TS_TIME: u32 = offsetof<ThreadSlot>("time");
export const TS_CPU: u32 = offsetof<ThreadSlot>("cpu");
/** u64 words of the time breakdown at ThreadSlot.time (cpu-time.ts checks TIME_COUNT fits). */
export const TIME_ROOM: u32 = 16;
/** Bytes a Gather may take at ThreadSlot.gather (assembly/iommu/gather.ts checks it fits). */
export const TS_GATHER_ROOM: u32 = offsetof<ThreadSlot>("result0") - offsetof<ThreadSlot>("gather");
/** Bytes the translation result may take at ThreadSlot.accessResult. */
export const TS_ACCESS_RESULT_ROOM: u32 = offsetof<ThreadSlot>("oracleBefore") - offsetof<ThreadSlot>("accessResult");
/** Bytes each oracle snapshot may take at ThreadSlot.oracleBefore and .oracleNow. */
export const TS_ORACLE_ROOM: u32 = offsetof<ThreadSlot>("oracleNow") - offsetof<ThreadSlot>("oracleBefore");

if (offsetof<ThreadSlot>() > THREAD_SLOT_SIZE) ERROR("ThreadSlot outgrew THREAD_SLOT_SIZE");
if (TS_TIME + TIME_ROOM * 8 > THREAD_SLOT_SIZE) ERROR("ThreadSlot.time has less than TIME_ROOM words");
if (TS_CLOCK_OFFSET % CACHE_LINE != 0) ERROR("ThreadSlot.clockOffset must start a cache line");
// assembly/device/engine.ts addresses the scratch as TS_RESULT0 + 32.
if (offsetof<ThreadSlot>("scratch") != offsetof<ThreadSlot>("result0") + 32) ERROR("ThreadSlot.scratch must follow four results");
if (offsetof<ThreadSlot>("stats") + TS_STATS_COUNT * 8 > offsetof<ThreadSlot>("accessResult")) {
  ERROR("ThreadSlot.stats outgrew its room");
}
if (offsetof<ThreadSlot>("fqStamp") - offsetof<ThreadSlot>("oracleNow") < TS_ORACLE_ROOM) {
  ERROR("ThreadSlot.oracleNow has less room than oracleBefore");
}

// ── page-table descriptors (assembly/pgtable/desc.ts PgtDesc) ───────────────
export const PGT_BASE: u32 = (THREAD_SLOTS_END + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
export const MAX_PGTABLES: u32 = 256;
export const PGT_DESC_SIZE: u32 = 256;
const PGT_END: u32 = PGT_BASE + MAX_PGTABLES * PGT_DESC_SIZE;

// ── zone headers (assembly/phys.ts ZoneHeader) ──────────────────────────────
export const ZONES_BASE: u32 = (PGT_END + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
export const ZONE_COUNT: u32 = 2;
export const ZONE_HEADER_SIZE: u32 = 1024;
export const ZONE_PHYS: u32 = ZONES_BASE;
export const ZONE_KHEAP: u32 = ZONES_BASE + ZONE_HEADER_SIZE;
const ZONES_END: u32 = ZONES_BASE + ZONE_COUNT * ZONE_HEADER_SIZE;

// ── SMMU domains (the driver's per-domain state) ────────────────────────────
export const SMMU_DOMAINS_BASE: u32 = (ZONES_END + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
export const MAX_SMMU_DOMAINS: u32 = 256;
export const SMMU_DOMAIN_SIZE: u32 = 64;
const SMMU_DOMAINS_END: u32 = SMMU_DOMAINS_BASE + MAX_SMMU_DOMAINS * SMMU_DOMAIN_SIZE;

// ── SMMU instances (the device side) ────────────────────────────────────────
export const SMMUS_BASE: u32 = (SMMU_DOMAINS_END + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
export const MAX_SMMUS: u32 = 4;
export const SMMU_DESC_SIZE: u32 = 2048;
const SMMUS_END: u32 = SMMUS_BASE + MAX_SMMUS * SMMU_DESC_SIZE;

// ── IOVA domains (assembly/iova/) ───────────────────────────────────────────
// One slot per domain: its state and the kheap block that holds everything else
// (see assembly/iova/layout.ts for the block's own layout).
export const IOVA_SLOTS_BASE: u32 = (SMMUS_END + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
export const MAX_IOVA_DOMAINS: u32 = 64;
export const IOVA_SLOT_SIZE: u32 = 64;
const IOVA_SLOTS_END: u32 = IOVA_SLOTS_BASE + MAX_IOVA_DOMAINS * IOVA_SLOT_SIZE;
/** Simulated CPUs an IOVA domain can have (one per-CPU rcache each). */
export const IOVA_MAX_CPUS: u32 = 128;

// ── the DMA layer (assembly/dma/) ───────────────────────────────────────────
export const DMA_DOMAINS_BASE: u32 = (IOVA_SLOTS_END + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
export const MAX_DMA_DOMAINS: u32 = 16;
export const DMA_DOMAIN_SIZE: u32 = 512;
const DMA_DOMAINS_END: u32 = DMA_DOMAINS_BASE + MAX_DMA_DOMAINS * DMA_DOMAIN_SIZE;
export const DMA_DEVICES_BASE: u32 = (DMA_DOMAINS_END + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
export const MAX_DMA_DEVICES: u32 = 64;
export const DMA_DEVICE_SIZE: u32 = 128;
const DMA_DEVICES_END: u32 = DMA_DEVICES_BASE + MAX_DMA_DEVICES * DMA_DEVICE_SIZE;
/**
 * Per simulated CPU: the gather and arguments of the dma_unmap it has in progress. The
 * kernel keeps these on the CPU's stack; here a deterministic schedule can stop an unmap
 * between its steps and run other CPUs' steps on the same thread.
 */
export const DMA_CPUS_BASE: u32 = (DMA_DEVICES_END + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
export const MAX_DMA_CPUS: u32 = 128;
export const DMA_CPU_SIZE: u32 = 256;
const DMA_CPUS_END: u32 = DMA_CPUS_BASE + MAX_DMA_CPUS * DMA_CPU_SIZE;
// A DMA domain's CPUs are its IOVA domain's CPUs (each has a per-CPU rcache there).
if (MAX_DMA_CPUS > IOVA_MAX_CPUS) ERROR("MAX_DMA_CPUS exceeds the CPUs an IOVA domain can have");

/**
 * Per thread: a small cache of statistics-counter deltas (assembly/counters.ts). Batched
 * loops add to it instead of to the shared counters, so two workers do not bounce the
 * counters' cache lines on every translation, and publish it when they return.
 */
export const COUNTER_CACHES_BASE: u32 = (DMA_CPUS_END + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
export const COUNTER_CACHE_SIZE: u32 = 2048;
const COUNTER_CACHES_END: u32 = COUNTER_CACHES_BASE + MAX_THREADS * COUNTER_CACHE_SIZE;
/**
 * Per simulated CPU: the state of the workload it runs in a scenario (assembly/workload/):
 * its ring of in-flight buffers, latency histograms and counters.
 */
export const WORKLOAD_CPUS_BASE: u32 = (COUNTER_CACHES_END + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
export const WORKLOAD_CPU_SIZE: u32 = 20480;
const WORKLOAD_CPUS_END: u32 = WORKLOAD_CPUS_BASE + MAX_DMA_CPUS * WORKLOAD_CPU_SIZE;
/**
 * Per simulated CPU: its dma_map_benchmark thread — modelled clock, loop count and the
 * kernel's four sums (assembly/workload/map-benchmark.ts), one cache line each.
 */
export const MAPBENCH_BASE: u32 = (WORKLOAD_CPUS_END + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
export const MAPBENCH_CPU_SIZE: u32 = 192;
const MAPBENCH_END: u32 = MAPBENCH_BASE + MAX_DMA_CPUS * MAPBENCH_CPU_SIZE;
/**
 * Which CPU wrote each recently written cache line of page-table memory last (u64 each:
 * the line's number, and the CPU + 1 above it), direct-mapped by line number: the shared
 * lines between CPUs in modelled time (assembly/line-sharing.ts).
 */
export const LINE_OWNERS_BASE: u32 = (MAPBENCH_END + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
export const LINE_OWNER_SLOTS: u32 = 4096; // power of two
const LINE_OWNERS_END: u32 = LINE_OWNERS_BASE + LINE_OWNER_SLOTS * 8;

export const STATIC_END: u32 = (LINE_OWNERS_END + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
/** Where the zones start: fixed, so that a static region that grows cannot move them. */
export const DYNAMIC_BASE: u32 = 0x400000;

// The chain in order. Each base is the end before it rounded up, so these only fail if a
// base is ever written by hand again, or a region's size wraps around 4 GiB.
if (THREAD_SLOTS_BASE < CONTROL_END) ERROR("the thread slots overlap the control block");
if (PGT_BASE < THREAD_SLOTS_END) ERROR("the page-table descriptors overlap the thread slots");
if (ZONES_BASE < PGT_END) ERROR("the zone headers overlap the page-table descriptors");
if (SMMU_DOMAINS_BASE < ZONES_END) ERROR("the SMMU domains overlap the zone headers");
if (SMMUS_BASE < SMMU_DOMAINS_END) ERROR("the SMMU instances overlap the SMMU domains");
if (IOVA_SLOTS_BASE < SMMUS_END) ERROR("the IOVA domain slots overlap the SMMU instances");
if (DMA_DOMAINS_BASE < IOVA_SLOTS_END) ERROR("the DMA domains overlap the IOVA domain slots");
if (DMA_DEVICES_BASE < DMA_DOMAINS_END) ERROR("the DMA devices overlap the DMA domains");
if (DMA_CPUS_BASE < DMA_DEVICES_END) ERROR("the DMA CPUs overlap the DMA devices");
if (COUNTER_CACHES_BASE < DMA_CPUS_END) ERROR("the counter caches overlap the DMA CPUs");
if (WORKLOAD_CPUS_BASE < COUNTER_CACHES_END) ERROR("the workload state overlaps the counter caches");
if (MAPBENCH_BASE < WORKLOAD_CPUS_END) ERROR("the map benchmark CPUs overlap the workload state");
if (STATIC_END < MAPBENCH_END) ERROR("STATIC_END is below the last static region's end");
if (STATIC_END > DYNAMIC_BASE) ERROR("the static regions run into DYNAMIC_BASE: move DYNAMIC_BASE up");
if (CONTROL_BASE < NULL_GUARD_SIZE) ERROR("the control block overlaps the null guard");

// ── simulated physical memory ───────────────────────────────────────────────
// Frames are 4 KiB, the smallest granule; larger tables take naturally aligned
// power-of-two runs of frames, as alloc_pages() gives the kernel.
export const FRAME_SHIFT: u32 = 12;
export const FRAME_SIZE: u32 = 1 << FRAME_SHIFT;
// Physical address of phys frame 0 (the kernel-code harness's arena also starts here).
export const PHYS_BASE: u64 = 0x80000000;
/**
 * The simulated RAM is also seen at HIGH_RAM_WINDOW + its address: table pages of a table
 * with DF_HIGH_TABLES are handed out there, as on a machine with RAM above 256 TiB, so that
 * a 52-bit output address must name them (bug corpus #8). Every PA → memory conversion
 * drops the window bits first (ramOffset).
 */
export const HIGH_RAM_WINDOW: u64 = <u64>1 << 48;
/** Where in the simulated RAM a physical address lies (the high window's bits dropped). */
@inline export function ramOffset(pa: u64): u64 {
  return (pa & (HIGH_RAM_WINDOW - 1)) - PHYS_BASE;
}
