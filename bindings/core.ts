// The typed facade over the core's raw exports (`asc --bindings raw`): one instance per
// thread, over the one shared memory. It knows the boundary's conventions — addresses as
// f64, booleans as i32, 64-bit results in the thread's slot — and nothing of the models.

import { compileCore, createSharedMemory, instantiateCore, type CoreSource } from "./loader.js";
import { readLayout, type Layout } from "./layout.js";

/** The raw exports, as the core declares them (assembly/index.ts). */
export interface CoreExports {
  core_init(memoryBytes: number, kheapBytes: number, pageShift: number): number;
  core_attach(slot: number, canBlock: number): number;
  pgt_create(fmt: number, profile: number, bitmap: number, ias: number, oas: number,
             coherent: number, quirks: number, pageShift: number, events: number): number;
  pgt_map(id: number, iova: number, paddr: number, pgsize: number, pgcount: number,
          prot: number): number;
  pgt_unmap(id: number, iova: number, pgsize: number, pgcount: number, mode: number): number;
  pgt_iova_to_phys(id: number, iova: number): number;
  pgt_free(id: number): number;
  pgt_release(id: number): number;
  pgt_set_flags(id: number, set: number, clear: number): number;
  pgt_loop_map_unmap(id: number, base: number, span: number, pgsize: number, count: number,
                     seed: number, prot: number): number;
  pgt_loop_walk(id: number, base: number, span: number, count: number, seed: number): number;
  smmu_domain_create(stage: number, id: number, features: number, rules: number): number;
  smmu_domain_destroy(id: number): number;
  pgt_set_smmu_domain(id: number, domain: number): number;
  smmu_create(options: number, tlbSets: number, tlbWays: number, policy: number, seed: number,
              wc0: number, wc1: number, wc2: number, wc3: number, utlb: number, faultRing: number): number;
  smmu_destroy(id: number): number;
  smmu_set_cost(id: number, which: number, ns: number): number;
  smmu_ste_set(id: number, sid: number, domain: number, stage: number, asid: number, vmid: number,
               ttb: number, ias: number, pgShift: number, start: number, oas: number): number;
  smmu_ste_clear(id: number, sid: number): number;
  smmu_domain_set_smmu(domain: number, id: number): number;
  smmu_translate(id: number, sid: number, iova: number, access: number): number;
  cpu_modelled_ns(reset: number): number;
  cpu_set_cost(which: number, ns: number): number;
  smmu_cmd_tlbi_range(id: number, op: number, asid: number, vmid: number, addrHi: number, addrLo: number,
                      leaf: number, ttl: number, tg: number, scale: number, num: number): number;
  smmu_cmd_tlbi_context(id: number, op: number, asid: number, vmid: number): number;
  smmu_cmd_sync(id: number): number;
  smmu_cmd_raw(id: number, dw0lo: number, dw0hi: number, dw1lo: number, dw1hi: number): number;
  smmu_loop_translate(id: number, sid: number, base: number, span: number, count: number, seed: number,
                      access: number): number;
  smmu_oracle_enable(id: number, capacity: number, ring: number): number;
  oracle_map(id: number, domain: number, iova: number, pa: number, pages: number): number;
  oracle_unmap(id: number, domain: number, iova: number, pages: number, lazy: number): number;
  dma_ring_create(capacity: number, history: number, granule: number): number;
  dma_ring_destroy(r: number): number;
  dma_ring_post(r: number, iova: number, len: number, flags: number): number;
  device_run(id: number, sid: number, r: number, budget: number, retries: number, seed: number): number;
  iova_create(profile: number, shift: number, startPfn: number, ncpus: number, flags: number): number;
  iova_destroy(id: number): number;
  iova_set_flags(id: number, set: number, clear: number): number;
  iova_alloc(id: number, size: number, limit: number, aligned: number): number;
  iova_free(id: number, pfn: number): number;
  iova_find(id: number, pfn: number): number;
  iova_reserve(id: number, lo: number, hi: number): number;
  iova_alloc_fast(id: number, cpu: number, size: number, limit: number, flush: number): number;
  iova_free_fast(id: number, cpu: number, pfn: number, size: number): number;
  iova_release_cpu(id: number, cpu: number): number;
  iova_flush_cpu(id: number, cpu: number): number;
  iova_flush_all(id: number): number;
  iova_block(id: number): number;
  iova_loop_fast_pairs(id: number, cpu: number, count: number, mode: number, limit: number): number;
  iova_loop_cross(id: number, cpuA: number, cpuB: number, count: number, batch: number,
                  mode: number, limit: number): number;
  iova_loop_tree(id: number, mode: number, count: number, seed: number, limit: number,
                 spanLo: number, spanN: number): number;
  sync_lock(addr: number): void;
  sync_lock_bounded(addr: number, maxLooks: number): number;
  sync_unlock(addr: number): void;
  clock_advance(jiffies: number, cpu: number): number;
  iova_fq_init(id: number): number;
  iova_queue(id: number, cpu: number, pfn: number, pages: number, data: number): number;
  iova_fq_teardown(id: number): number;
  iova_fq_set_flush(id: number, pt: number): number;
  dma_domain_create(pgt: number, iova: number, smmuDomain: number, smmuId: number, profile: number,
                    variant: number, shift: number, apertureEnd: number, flags: number, fqOpts: number): number;
  dma_domain_destroy(id: number): number;
  dma_stat(id: number, which: number): number;
  dma_device_attach(domain: number, bus: number, maskBits: number, busLimit: number, sid: number, smmuId: number,
                    flags: number): number;
  dma_device_detach(id: number): number;
  dma_release_cpu(domain: number, cpu: number): number;
  dma_map(dev: number, cpu: number, phys: number, size: number, dir: number, attrs: number): number;
  dma_unmap(dev: number, cpu: number, addr: number, size: number): number;
  dma_unmap_begin(domain: number, cpu: number, addr: number, size: number): number;
  dma_variant_step(variant: number, op: number, index: number): number;
  dma_step_value(step: number, regs: number): number;
  dma_step_run(domain: number, cpu: number, step: number, regs: number): number;
  dma_switch_lazy(domain: number): number;
  dma_rebuild_strict(domain: number, cpu: number): number;
  dma_loop_pairs(dev: number, cpu: number, count: number, size: number, physBase: number, physPages: number,
                 dir: number, flags: number, seed: number): number;
  dma_fq_pending(domain: number): number;
  dma_fq_ring_pending(domain: number, ring: number): number;
  dma_fq_ring_slots(domain: number): number;
  wl_init(cpu: number, kind: number, dev: number, ring: number, min: number, max: number, segs: number, link: number,
          seed: number): number;
  wl_run(cpu: number, maxOps: number, untilNs: number): number;
  wl_drain(cpu: number): number;
  wl_counter(cpu: number, which: number): number;
  wl_hist_count(cpu: number, hist: number, bucket: number): number;
  wl_hist_floor(bucket: number): number;
  wl_run_begin(flags: number): void;
  wl_run_stop(): void;
  wl_run_stopped(): number;
  /** TEST ONLY: half of a flush-queue flush (0 start, 1 finish); see assembly/index.ts. */
  dma_fq_flush_step_for_testing(domain: number, step: number): number;
  mapbench_reset(cpu: number): number;
  mapbench_run(dev: number, cpu: number, phys: number, size: number, dir: number, transNs: number, untilNs: number,
               maxLoops: number): number;
}

const EXPORTED_FUNCTIONS: readonly (keyof CoreExports)[] = [
  "core_init", "core_attach", "pgt_create", "pgt_map", "pgt_unmap", "pgt_iova_to_phys",
  "pgt_free", "pgt_release", "pgt_set_flags", "pgt_loop_map_unmap", "pgt_loop_walk",
  "smmu_domain_create", "smmu_domain_destroy", "pgt_set_smmu_domain", "smmu_create", "smmu_destroy",
  "smmu_set_cost", "smmu_ste_set", "smmu_ste_clear", "smmu_domain_set_smmu", "smmu_translate",
  "cpu_modelled_ns", "cpu_set_cost", "smmu_cmd_tlbi_range", "smmu_cmd_tlbi_context", "smmu_cmd_sync", "smmu_cmd_raw", "smmu_loop_translate",
  "smmu_oracle_enable", "oracle_map", "oracle_unmap", "dma_ring_create", "dma_ring_destroy", "dma_ring_post",
  "device_run",
  "iova_create", "iova_destroy", "iova_set_flags", "iova_alloc", "iova_free", "iova_find",
  "iova_reserve", "iova_alloc_fast", "iova_free_fast", "iova_release_cpu", "iova_flush_cpu",
  "iova_flush_all", "iova_block", "iova_loop_fast_pairs", "iova_loop_cross", "iova_loop_tree", "sync_lock",
  "sync_lock_bounded", "sync_unlock", "clock_advance", "iova_fq_init", "iova_queue", "iova_fq_teardown", "iova_fq_set_flush",
  "dma_domain_create", "dma_domain_destroy", "dma_stat", "dma_device_attach", "dma_device_detach",
  "dma_release_cpu", "dma_map", "dma_unmap", "dma_unmap_begin", "dma_variant_step", "dma_step_value",
  "dma_step_run", "dma_switch_lazy", "dma_rebuild_strict", "dma_loop_pairs", "dma_fq_pending",
  "wl_init", "wl_run", "wl_drain", "wl_counter", "wl_hist_count", "wl_hist_floor", "wl_run_begin", "wl_run_stop",
  "wl_run_stopped",
  "dma_fq_flush_step_for_testing",
  "dma_fq_ring_pending", "dma_fq_ring_slots",
  "mapbench_reset", "mapbench_run",
];

/** One instance of the core on this thread. */
export class Core {
  readonly raw: CoreExports;
  readonly layout: Layout;
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly slot: number;
  /** Views over the shared memory (fixed size: they never go stale). */
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly u64: BigUint64Array;
  readonly dv: DataView;
  private readonly slotBase: number;

  private constructor(module: WebAssembly.Module, memory: WebAssembly.Memory,
                      exports: WebAssembly.Exports, slot: number) {
    for (const name of EXPORTED_FUNCTIONS) {
      if (typeof exports[name] !== "function") {
        throw new Error(`iommu-sim: core.wasm lacks the export ${name}; the module and this package are from different builds`);
      }
    }
    this.module = module;
    this.memory = memory;
    this.raw = exports as unknown as CoreExports;
    this.layout = readLayout(exports);
    this.slot = slot;
    const buf = memory.buffer;
    this.u8 = new Uint8Array(buf);
    this.u32 = new Uint32Array(buf);
    this.u64 = new BigUint64Array(buf);
    this.dv = new DataView(buf);
    this.slotBase = this.layout.THREAD_SLOTS_BASE + slot * this.layout.THREAD_SLOT_SIZE;
    // Keep hundreds of MiB of views out of inspection and test-failure printing.
    for (const k of ["u8", "u32", "u64", "dv", "memory", "raw", "module"]) {
      Object.defineProperty(this, k, { enumerable: false });
    }
  }

  toJSON(): object {
    return { slot: this.slot, memoryBytes: this.memory.buffer.byteLength };
  }

  /** Create the shared memory, lay it out, and attach this thread as slot 0. */
  static async create(opts: { source?: CoreSource; memoryBytes: number; kheapBytes: number;
                              pageShift: number; canBlock: boolean }): Promise<Core> {
    const module = await compileCore(opts.source);
    const memory = createSharedMemory(opts.memoryBytes);
    const exports = await instantiateCore(module, memory);
    const core = new Core(module, memory, exports, 0);
    const rc = core.raw.core_init(memory.buffer.byteLength, opts.kheapBytes, opts.pageShift);
    if (rc !== 0) {
      throw new RangeError(`iommu-sim: memoryBytes ${opts.memoryBytes} is too small for the ` +
        `simulator's state (kheap ${opts.kheapBytes} bytes plus at least 16 frames of RAM)`);
    }
    core.attach(opts.canBlock);
    return core;
  }

  /** Instantiate over memory another thread created and initialised (a worker). */
  static async attach(module: WebAssembly.Module, memory: WebAssembly.Memory, slot: number,
                      canBlock: boolean): Promise<Core> {
    const exports = await instantiateCore(module, memory);
    const core = new Core(module, memory, exports, slot);
    core.attach(canBlock);
    return core;
  }

  private attach(canBlock: boolean): void {
    const rc = this.raw.core_attach(this.slot, canBlock ? 1 : 0);
    if (rc === -1) throw new Error("iommu-sim: the shared memory was not initialised by core_init");
    if (rc !== 0) throw new RangeError(`iommu-sim: thread slot ${this.slot} is out of range (0..${this.layout.MAX_THREADS - 1})`);
  }

  /** A u64 result the last call left in this thread's slot (RESULT0 + 8·index). */
  result64(index: 0 | 1 | 2 | 3): bigint {
    return this.u64[((this.slotBase + this.layout.TS_RESULT0) >>> 3) + index]!;
  }

  /** The u32 at byte `offset` of the slot's result area. */
  result32(offset: number): number {
    return this.u32[(this.slotBase + this.layout.TS_RESULT0 + offset) >>> 2]!;
  }

  readU32(addr: number): number {
    return this.u32[addr >>> 2]!;
  }

  readU64(addr: number): bigint {
    return this.u64[addr >>> 3]!;
  }

  /** A u64 known to be below 2^53, as a number. */
  readU64Number(addr: number): number {
    return this.u32[(addr >>> 2) + 1]! * 2 ** 32 + this.u32[addr >>> 2]!;
  }
}
