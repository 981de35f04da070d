// The memory map of the shared Wasm memory: the one place that says where every piece
// of simulator state lives. The TypeScript side reads these numbers from the module's
// exported globals (see assembly/index.ts and bindings/layout.ts), never from a copy.
//
// Nothing in the core allocates (no `new`, strings or containers): each AssemblyScript
// instance has its own heap globals, so two workers calling `new` would hand out the same
// addresses. All state lives at the offsets below, and every instance sees the same bytes.
//
//   0x000000 ┌──────────────────────────────┐
//            │ null guard (never written)   │ a zero pointer is never valid state
//   0x010000 ├──────────────────────────────┤
//            │ control block                │ magic, ABI version, zone layout
//   0x011000 ├──────────────────────────────┤
//            │ thread slots  64 × 1 KiB     │ per-worker scratch: gather, results
//   0x021000 ├──────────────────────────────┤
//            │ page-table descriptors       │ 256 × 256 B
//   0x031000 ├──────────────────────────────┤
//            │ zone headers (phys, kheap)   │ 2 × 1 KiB
//   0x032000 ├──────────────────────────────┤
//            │ SMMU domains 256 × 64 B      │ arm_smmu_domain: stage, ASID/VMID
//   0x036000 ├──────────────────────────────┤
//            │ SMMU instances 4 × 1 KiB     │ caches, stream table, fault queue, stats
//   0x037000 ├──────────────────────────────┤
//            │ IOVA domain slots 64 × 64 B  │ state + address of each domain's block
//   0x038000 ├──────────────────────────────┤
//            │ DMA domains 16 × 512 B       │ iommu_domain + dma-iommu cookie, fq_domain
//   0x03a000 ├──────────────────────────────┤
//            │ DMA devices 64 × 128 B       │ mask, bus, stream, SMMU (struct device)
//   0x03c000 ├──────────────────────────────┤
//            │ DMA CPU scratch 64 × 256 B   │ each simulated CPU's unmap in progress
//   0x040000 ├──────────────────────────────┤
//            │ counter caches 64 × 2 KiB    │ each thread's not-yet-published statistics
//   0x060000 ├──────────────────────────────┤
//            │ workload state 64 × 16 KiB   │ each simulated CPU's rings of a scenario run
//   0x160000 ├──────────────────────────────┤
//            │ map benchmark CPUs 64 × 64 B │ dma_map_benchmark clocks and sums
//   0x161000 ├──────────────────────────────┤ STATIC_END (the rest up to 2 MiB is spare)
//   0x200000 ├──────────────────────────────┤ DYNAMIC_BASE
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

export const NULL_GUARD_SIZE: u32 = 0x10000;

// ── control block ───────────────────────────────────────────────────────────
export const CONTROL_BASE: u32 = 0x10000;
export const CTL_MAGIC: u32 = 0; //          u32
export const CTL_ABI: u32 = 4; //            u32
export const CTL_MEMORY_BYTES: u32 = 8; //   u32: bytes of memory the layout was made for
export const CTL_INIT_STATE: u32 = 12; //    u32: 0 = never, 1 = in progress, 2 = ready
export const CTL_PAGE_SHIFT: u32 = 16; //    u32: the simulated kernel's PAGE_SHIFT
/**
 * u32: which kernel profile the machine runs, as the TypeScript side numbers them (its index
 * in src/profile.ts PROFILES). The core never reads it: the core asks for behaviours, which
 * each record carries; workers that attach read it to name the machine's kernel.
 */
export const CTL_KERNEL: u32 = 20;
//   simulated time (assembly/clock.ts): one writer at a time under the clock lock
export const CTL_CLOCK_LOCK: u32 = 64; //    u32 lock (own line)
export const CTL_JIFFIES: u32 = 128; //      u64 jiffies since the simulator started (own line)
//   modelled CPU costs (ns), charged to the thread that does the work (see TS_CPU_NS)
export const CTL_CPU_COST_LOCK: u32 = 192; // u32: taking one of the kernel's spinlocks
//   …and the rest of the CPU costs on the same line, u32 each at CTL_CPU_COSTS + 4 × CPU_COST_*
//   (set from TS: Simulator.create({ cpuCosts }), defaults: DEFAULT_CPU_COSTS in src/smmu/smmu.ts)
export const CTL_CPU_COSTS: u32 = CTL_CPU_COST_LOCK;
export const CPU_COST_LOCK: u32 = 0; //        a kernel spinlock (CTL_CPU_COST_LOCK)
export const CPU_COST_DMA_API: u32 = 1; //     one dma_map_* / dma_unmap_* call: entry, checks, exit
export const CPU_COST_WALK_STEP: u32 = 2; //   io-pgtable's walk going down one level (a descriptor read)
export const CPU_COST_PTE: u32 = 3; //         writing or clearing one PTE
export const CPU_COST_IOVA_RCACHE: u32 = 4; // an IOVA from or to the per-CPU rcache (its lock apart)
export const CPU_COST_IOVA_TREE: u32 = 5; //   an IOVA from or to the rbtree (its lock apart)
export const CPU_COST_TABLE_ALLOC: u32 = 6; // a zeroed page-table page from the page allocator
export const CPU_COST_FQ_QUEUE: u32 = 7; //    queue_iova's own work: barrier, entry, timer check (lock apart)
export const CPU_COST_COUNT: u32 = 8;
//   a scenario run (assembly/workload/): every workload loop stops when CTL_RUN_STOP is set
export const CTL_RUN_STOP: u32 = 256; //     u32 (own line)
export const CTL_RUN_FLAGS: u32 = 320; //    u32 RUN_* (own line)
/** A violation the oracle finds sets CTL_RUN_STOP. */
export const RUN_STOP_ON_VIOLATION: u32 = 1 << 0;

// ── thread slots ────────────────────────────────────────────────────────────
export const THREAD_SLOTS_BASE: u32 = 0x11000;
export const MAX_THREADS: u32 = 64;
export const THREAD_SLOT_SIZE: u32 = 1024;
//   the iotlb gather of the unmap in progress on this thread
export const TS_GATHER: u32 = 0; //          gather (see assembly/iommu/gather.ts), 64 B
//   results that do not fit the return value (read by the bindings after a call)
export const TS_RESULT0: u32 = 64; //        u64
export const TS_RESULT1: u32 = 72; //        u64
export const TS_RESULT2: u32 = 80; //        u64
export const TS_RESULT3: u32 = 88; //        u64
//   what this thread (a simulated CPU) has been charged, in modelled ns
export const TS_CPU_NS: u32 = 128; //        u64
//   scratch for batched calls' statistics
export const TS_STATS: u32 = 192; //         16 × u64
//   what a device access in a batched loop got (assembly/smmu/translate.ts result, 32 B)
export const TS_ACCESS_RESULT: u32 = 448;
//   the safety oracle's view of the page a device access is translating, when the access
//   started and when it completed (assembly/safety/oracle.ts, 48 B each)
export const TS_ORACLE_BEFORE: u32 = 512;
export const TS_ORACLE_NOW: u32 = 576;
//   the start count the last queue_iova on this thread stamped its entry with (its flush
//   must begin after: the workloads' lazy-window measure reads it)
export const TS_FQ_STAMP: u32 = 640; //      u64

// ── page-table descriptors ──────────────────────────────────────────────────
export const PGT_BASE: u32 = 0x21000;
export const MAX_PGTABLES: u32 = 256;
export const PGT_DESC_SIZE: u32 = 256;

// ── zone headers ────────────────────────────────────────────────────────────
export const ZONES_BASE: u32 = 0x31000;
export const ZONE_HEADER_SIZE: u32 = 1024;
export const ZONE_PHYS: u32 = ZONES_BASE;
export const ZONE_KHEAP: u32 = ZONES_BASE + ZONE_HEADER_SIZE;

// ── SMMU domains (the driver's per-domain state) ────────────────────────────
export const SMMU_DOMAINS_BASE: u32 = 0x32000;
export const MAX_SMMU_DOMAINS: u32 = 256;
export const SMMU_DOMAIN_SIZE: u32 = 64;

// ── SMMU instances (the device side) ────────────────────────────────────────
export const SMMUS_BASE: u32 = 0x36000;
export const MAX_SMMUS: u32 = 4;
export const SMMU_DESC_SIZE: u32 = 1024;

// ── IOVA domains (assembly/iova/) ───────────────────────────────────────────
// One slot per domain: its state and the kheap block that holds everything else
// (see assembly/iova/layout.ts for the block's own layout).
export const IOVA_SLOTS_BASE: u32 = 0x37000;
export const MAX_IOVA_DOMAINS: u32 = 64;
export const IOVA_SLOT_SIZE: u32 = 64;
/** Simulated CPUs an IOVA domain can have (one per-CPU rcache each). */
export const IOVA_MAX_CPUS: u32 = 64;

// ── the DMA layer (assembly/dma/) ───────────────────────────────────────────
export const DMA_DOMAINS_BASE: u32 = 0x38000;
export const MAX_DMA_DOMAINS: u32 = 16;
export const DMA_DOMAIN_SIZE: u32 = 512;
export const DMA_DEVICES_BASE: u32 = 0x3a000;
export const MAX_DMA_DEVICES: u32 = 64;
export const DMA_DEVICE_SIZE: u32 = 128;
/**
 * Per simulated CPU: the gather and arguments of the dma_unmap it has in progress. The
 * kernel keeps these on the CPU's stack; here a deterministic schedule can stop an unmap
 * between its steps and run other CPUs' steps on the same thread.
 */
export const DMA_CPUS_BASE: u32 = 0x3c000;
export const MAX_DMA_CPUS: u32 = 64;
export const DMA_CPU_SIZE: u32 = 256;

/**
 * Per thread: a small cache of statistics-counter deltas (assembly/counters.ts). Batched
 * loops add to it instead of to the shared counters, so two workers do not bounce the
 * counters' cache lines on every translation, and publish it when they return.
 */
export const COUNTER_CACHES_BASE: u32 = 0x40000;
export const COUNTER_CACHE_SIZE: u32 = 2048;
/**
 * Per simulated CPU: the state of the workload it runs in a scenario (assembly/workload/):
 * its ring of in-flight buffers, latency histograms and counters.
 */
export const WORKLOAD_CPUS_BASE: u32 = 0x60000;
export const WORKLOAD_CPU_SIZE: u32 = 16384;
/**
 * Per simulated CPU: its dma_map_benchmark thread — modelled clock, loop count and the
 * kernel's four sums (assembly/workload/map-benchmark.ts), one cache line each.
 */
export const MAPBENCH_BASE: u32 = 0x160000;
export const MAPBENCH_CPU_SIZE: u32 = 64;

export const STATIC_END: u32 = 0x161000;
export const DYNAMIC_BASE: u32 = 0x200000;

// ── simulated physical memory ───────────────────────────────────────────────
// Frames are 4 KiB, the smallest granule; larger tables take naturally aligned
// power-of-two runs of frames, as alloc_pages() gives the kernel.
export const FRAME_SHIFT: u32 = 12;
export const FRAME_SIZE: u32 = 1 << FRAME_SHIFT;
// Physical address of phys frame 0 (the kernel-code harness's arena also starts here).
export const PHYS_BASE: u64 = 0x80000000;
