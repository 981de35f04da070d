// Simulator: one simulated machine — the shared memory with its Wasm core, the page tables
// and IOVA domains made in it, simulated time, and (on demand) the worker pool that runs
// scenarios over the same memory.

import { Core } from "../bindings/core.js";
import type { LayoutName } from "../bindings/layout.js";
import { compileCore, MAX_MEMORY_BYTES } from "../bindings/loader.js";
import { ArgumentError, IommuSimError } from "./errors.js";
import { PageTable, type PageTableConfig } from "./pgtable.js";
import { DEFAULT_POOL_WORKERS, WorkerPool, type PoolOptions } from "./pool.js";
import { SmmuDomain, type SmmuDomainOptions } from "./smmu/domain.js";
import { DEFAULT_CPU_COSTS, Smmu, type CpuCosts, type SmmuOptions, type SmmuWithOracle } from "./smmu/smmu.js";
import { IovaDomain, type IovaDomainOptions } from "./iova.js";
import { DmaDomain, type DmaDomainOptions } from "./dma.js";
import { checkBool, checkInt, checkOneOf, checkOptions, checkOwned, type OptionKeys } from "./validate.js";
import { assertSharedMemoryAvailable } from "./isolation.js";
import {
  DEFAULT_PROFILE, PROFILES, checkBehaviourOverrides, effectiveBehaviours, machineBehaviours,
  setMachineProfile, type Behaviour, type BehaviourOverrides, type Profile,
} from "./profile.js";
import { checkAssetOptions, type AssetOptions } from "./assets.js";

/** Options of Simulator.create. */
export interface SimulatorOptions extends AssetOptions {
  /** Which kernel's behaviour to reproduce (see PROFILES and kernelProfile). Default '7.1'. */
  profile?: Profile;
  /** Simulated RAM for page-table pages, in MiB. Default 64. */
  ramMiB?: number;
  /**
   * Simulator-private memory (event rings, IOVA range nodes at 64 B each, magazines at ~1 KiB
   * each, other bookkeeping), in MiB. Default 8.
   */
  kheapMiB?: number;
  /** The simulated kernel's PAGE_SIZE (picks the granule from a bitmap). Default 4096. */
  pageSize?: number;
  /**
   * Modelled CPU costs in ns, charged to the CPU (thread) that does the work (see
   * cpuModelledNs; the SMMU's own costs are options of createSmmu): kernel spinlocks, the
   * DMA-API call, page-table walk steps and PTE writes, IOVA allocation from the rcache or
   * the tree, table pages, queue_iova. Defaults: DEFAULT_CPU_COSTS (e.g. `lock` 20 — an
   * uncontended atomic round trip on a server core); all estimates.
   */
  cpuCosts?: Partial<CpuCosts>;
  /**
   * The profile's behaviours changed by name, for the whole machine: `with` adds behaviours
   * the profile lacks, `without` removes ones it has (names as in assembly/behaviour.ts
   * without KB_, e.g. `{ without: ["SMMU_NONLEAF_TTL0"] }`: 7.1 before 6833b8f2e199). Every
   * record made in the machine, on any worker, follows the result. A name unknown, in both
   * lists, added when present or removed when absent is refused.
   */
  behaviours?: BehaviourOverrides;
}

export interface MemoryStats {
  /** Frames (4 KiB) of simulated RAM holding page tables right now. */
  tablePages: number;
  /** Table allocations outstanding (a 64K table is one allocation of 16 frames). */
  tableAllocations: number;
  peakTablePages: number;
  totalFrames: number;
  /** Frees of something not allocated: always 0 unless the core has a bug. */
  badFrees: number;
  allocFailures: number;
  /** Frames (4 KiB) of the simulator's own memory (kheapMiB) in use, and all it has. */
  kheapPages: number;
  kheapFrames: number;
  /**
   * Allocations from the simulator's own memory that failed: not the simulated kernel's
   * (a kernel would not have run out there). Any means results after it are the
   * simulator's limits; raise kheapMiB.
   */
  kheapAllocFailures: number;
}

const MiB = 2 ** 20;

/**
 * One simulated machine: the shared memory with its Wasm core, the simulated RAM that page
 * tables live in, simulated time (jiffies), and the objects made in it — page tables,
 * SMMUs, IOVA and DMA domains — plus, on demand, the worker pool that runs code on them
 * from several threads at once. Made with `Simulator.create`; `close()` ends it.
 */
export class Simulator {
  /** The kernel whose behaviour this machine reproduces (see PROFILES). */
  readonly profile: Profile;
  /** The simulated kernel's PAGE_SIZE in bytes. */
  readonly pageSize: number;
  /** @internal */
  readonly core: Core;
  private readonly tables = new Set<PageTable>();
  private readonly smmus = new Set<Smmu>();
  private readonly iovaDomains = new Set<IovaDomain>();
  private readonly dmaDomains = new Set<DmaDomain>();
  /** Milliseconds advanced that do not yet make a whole jiffy. */
  private msCarry = 0;
  private workerPool: WorkerPool | undefined;
  /** A pool being started (pool()): concurrent callers share it; close() waits for it. */
  private starting: { workers: number; pool: Promise<WorkerPool> } | undefined;
  /** A scenario run (runScenario with this simulator) is using the machine: one at a time. */
  private scenarioRun = false;
  private closed = false;
  private cpuCosts_: Readonly<CpuCosts> = DEFAULT_CPU_COSTS;

  private readonly workerUrl: URL | string | undefined;

  private constructor(core: Core, profile: Profile, pageSize: number, workerUrl: URL | string | undefined,
                      overrides: BehaviourOverrides | undefined) {
    this.core = core;
    this.behaviourOverrides = overrides;
    this.profile = profile;
    this.pageSize = pageSize;
    this.workerUrl = workerUrl;
  }

  /**
   * A new machine: loads (once) and instantiates the core over a new shared memory. Needs
   * SharedArrayBuffer: in a browser, a cross-origin-isolated page (COOP/COEP headers).
   */
  static async create(options?: SimulatorOptions): Promise<Simulator> {
    // First, before fetching the core: a page without cross-origin isolation can never run it.
    assertSharedMemoryAvailable();
    const ctx = "Simulator.create";
    const opts = checkOptions(options, SIMULATOR_OPTION_KEYS, ctx);
    const profile = checkOneOf("profile", opts.profile ?? DEFAULT_PROFILE, PROFILES, ctx);
    const ramMiB = checkInt("ramMiB", opts.ramMiB ?? 64, 1, 3072, ctx);
    const kheapMiB = checkInt("kheapMiB", opts.kheapMiB ?? 8, 1, 512, ctx);
    const pageSize = opts.pageSize ?? 4096;
    if (![4096, 16384, 65536].includes(pageSize)) {
      throw new ArgumentError("pageSize", pageSize, "must be 4096, 16384 or 65536 (the kernel's PAGE_SIZE)", ctx);
    }
    const cpuCosts = checkCpuCosts(opts.cpuCosts, ctx);
    const overrides = checkBehaviourOverrides(profile, opts.behaviours, ctx);
    const { core: coreSource, workerUrl } = checkAssetOptions(opts, ctx);
    const module = await compileCore(coreSource);
    const ramBytes = ramMiB * MiB;
    const kheapBytes = kheapMiB * MiB;
    if (await Core.memoryBytes(module, ramBytes, kheapBytes) > MAX_MEMORY_BYTES) {
      throw new ArgumentError("ramMiB", ramMiB, `plus kheapMiB (${kheapMiB}) must fit the 4 GiB Wasm memory`, ctx);
    }
    const core = await Core.create({ module, ramBytes, kheapBytes, pageShift: Math.log2(pageSize), canBlock: canBlockHere() });
    setMachineProfile(core, profile, effectiveBehaviours(profile, overrides));
    const sim = new Simulator(core, profile, pageSize, workerUrl, overrides);
    sim.writeCpuCosts(cpuCosts);
    return sim;
  }

  /** The overrides of the profile's behaviours this machine was made with (undefined: none). */
  readonly behaviourOverrides: Readonly<BehaviourOverrides> | undefined;

  /** The behaviours this machine runs: its profile's, with its overrides (names, in bit order). */
  get behaviours(): readonly Behaviour[] {
    return machineBehaviours(this.core);
  }

  /** The modelled CPU costs in force (ns). */
  get cpuCosts(): Readonly<CpuCosts> {
    return this.cpuCosts_;
  }

  /** Change some modelled CPU costs (ns) from now on; the others keep their values. */
  setCpuCosts(costs: Partial<CpuCosts>): void {
    this.open("setCpuCosts");
    if (costs === undefined) throw new ArgumentError("costs", costs, "must be an object", "setCpuCosts");
    this.writeCpuCosts(checkCpuCosts(costs, "setCpuCosts", "costs", this.cpuCosts_));
  }

  private writeCpuCosts(costs: CpuCosts): void {
    const L = this.core.layout;
    for (const k of CPU_COST_KEYS) this.core.raw.cpu_set_cost(L[CPU_COST_CODES[k]], costs[k]);
    this.cpuCosts_ = Object.freeze({ ...costs });
  }

  /** A new io-pgtable-arm page table in this machine's RAM (alloc_io_pgtable_ops): see PageTableConfig. */
  createPageTable(config: PageTableConfig): PageTable {
    this.open("createPageTable");
    const pt = PageTable.create(this.core, this.profile, config, { pageShift: Math.log2(this.pageSize) });
    this.tables.add(pt);
    pt.onRelease = (t) => this.tables.delete(t);
    return pt;
  }

  /**
   * The SMMUv3 driver's state for a domain whose page table is `pt`: from now on the
   * table's invalidations become TLBI commands and CMD_SYNCs (see PageTable.takeEvents).
   */
  createSmmuDomain(pt: PageTable, opts: SmmuDomainOptions): SmmuDomain {
    this.open("createSmmuDomain");
    checkOwned("pageTable", pt, this.core, "a PageTable (Simulator.createPageTable)", "createSmmuDomain", PageTable);
    return new SmmuDomain(this.core, pt, opts);
  }

  /**
   * An SMMUv3: stream table, IOTLB, walk caches, micro-TLBs, fault queue (see SmmuOptions);
   * with `oracle` on, typed as having one (`smmu.oracle.takeViolations()` needs no check).
   */
  createSmmu(opts: SmmuOptions & { oracle: Exclude<SmmuOptions["oracle"], false | undefined> }): SmmuWithOracle;
  /** An SMMUv3 (see SmmuOptions), without the oracle unless `opts.oracle` says otherwise. */
  createSmmu(opts?: SmmuOptions): Smmu;
  createSmmu(opts?: SmmuOptions): Smmu {
    this.open("createSmmu");
    const smmu = new Smmu(this.core, opts);
    this.smmus.add(smmu);
    return smmu;
  }

  /**
   * Modelled CPU time this thread has been charged: commands it wrote, syncs it waited for,
   * and its own work at the cpuCosts (spinlocks, DMA-API calls, page-table and IOVA work).
   */
  cpuModelledNs(options?: { reset?: boolean }): number {
    const opts = checkOptions(options, ["reset"], "cpuModelledNs");
    return this.core.raw.cpu_modelled_ns(checkBool("reset", opts.reset, false, "cpuModelledNs"));
  }

  /**
   * An IOVA allocator (drivers/iommu/iova.c of this simulator's profile) with `cpus`
   * simulated CPUs, each with its own range caches.
   */
  createIovaDomain(opts: IovaDomainOptions): IovaDomain {
    this.open("createIovaDomain");
    const dom = IovaDomain.create(this.core, this.profile, opts);
    this.iovaDomains.add(dom);
    dom.onDestroy = (d) => this.iovaDomains.delete(d);
    return dom;
  }

  /**
   * A DMA domain (dma-iommu): its own stage-1 page table, IOVA allocator and SMMU context on
   * `opts.smmu`, strict (DMA) or lazy (DMA-FQ), with the switch variant to run.
   */
  createDmaDomain(opts: DmaDomainOptions): DmaDomain {
    this.open("createDmaDomain");
    const dom = DmaDomain.create(this.core, this.profile, (cfg) => this.createPageTable(cfg as PageTableConfig), opts);
    this.dmaDomains.add(dom);
    return dom;
  }

  /** The simulated kernel's HZ (the core's; 250: one jiffy is 4 ms). */
  get hz(): number {
    return this.core.layout.HZ;
  }

  /** Simulated time, in jiffies since the simulator started. */
  get jiffies(): number {
    return this.core.readU64Number(this.core.layout.CLOCK_JIFFIES_ADDR);
  }

  /**
   * Advance simulated time by `n` jiffies, running every timer and delayed work that falls
   * due on the way (v7.1's depot reclaim, v5.15's flush-queue timeout). Timers run on
   * simulated CPU `cpu` (default 0): a flush-queue timeout releases into its caches, so a
   * CPU that a DMA domain holding queued IOVAs does not have is refused. Returns the new
   * time in jiffies.
   */
  tick(n: number, options?: { cpu?: number }): number {
    this.open("tick");
    const opts = checkOptions(options, ["cpu"], "tick");
    checkInt("jiffies", n, 0, 2 ** 40, "tick");
    const cpu = checkInt("cpu", opts.cpu ?? 0, 0, this.core.layout.IOVA_MAX_CPUS - 1, "tick");
    this.checkTimerCpu(cpu, "tick");
    return this.core.raw.clock_advance(n, cpu);
  }

  /** Refuse to run timers on a CPU a DMA domain with queued IOVAs lacks (DmaDomain.timerCpuProblem). */
  private checkTimerCpu(cpu: number, ctx: string): void {
    for (const d of this.dmaDomains) {
      const problem = d.timerCpuProblem(cpu);
      if (problem) throw new ArgumentError("cpu", cpu, problem, ctx);
    }
  }

  /** Advance simulated time by `ms` milliseconds (timers fire on jiffy boundaries, on `cpu` as tick's). */
  advance(ms: number, options?: { cpu?: number }): number {
    this.open("advance");
    const opts = checkOptions(options, ["cpu"], "advance");
    const cpu = checkInt("cpu", opts.cpu ?? 0, 0, this.core.layout.IOVA_MAX_CPUS - 1, "advance");
    this.checkTimerCpu(cpu, "advance");
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0 || ms > 2 ** 42) {
      throw new ArgumentError("ms", ms, `must be a number of milliseconds from 0 to 2^42 (${2 ** 42})`, "advance");
    }
    const msPerJiffy = 1000 / this.hz;
    const total = this.msCarry + ms;
    const whole = Math.floor(total / msPerJiffy);
    this.msCarry = total - whole * msPerJiffy;
    return this.core.raw.clock_advance(whole, cpu);
  }

  /** How the simulated RAM for page tables is used right now, and at its peak. */
  memoryStats(): MemoryStats {
    const L = this.core.layout;
    const z = L.ZONE_PHYS;
    return {
      tablePages: this.core.readU32(z + L.Z_PAGES_LIVE),
      tableAllocations: this.core.readU32(z + L.Z_ALLOCS_LIVE),
      peakTablePages: this.core.readU32(z + L.Z_PEAK_PAGES),
      totalFrames: this.core.readU32(z + L.Z_NFRAMES),
      badFrees: this.core.readU32(z + L.Z_BAD_FREES),
      allocFailures: this.core.readU32(z + L.Z_ALLOC_FAIL),
      kheapPages: this.core.readU32(L.ZONE_KHEAP + L.Z_PAGES_LIVE),
      kheapFrames: this.core.readU32(L.ZONE_KHEAP + L.Z_NFRAMES),
      kheapAllocFailures: this.core.readU32(L.ZONE_KHEAP + L.Z_ALLOC_FAIL),
    };
  }

  /**
   * The worker pool over this simulator's memory (started on first use; asking for another
   * size replaces it). Its workers start from `options.workerUrl`, else the simulator's.
   */
  async pool(options?: PoolOptions): Promise<WorkerPool> {
    this.open("pool");
    let opts = checkOptions(options, POOL_OPTION_KEYS, "pool");
    if (opts.workerUrl === undefined && this.workerUrl !== undefined) opts = { ...opts, workerUrl: this.workerUrl };
    // A pool being started, or one running, is the pool: another size must wait for it.
    const current = this.starting ?? (this.workerPool && !this.workerPool.closed
      ? { workers: this.workerPool.size, pool: Promise.resolve(this.workerPool) } : undefined);
    if (current && (opts.workers === undefined || opts.workers === current.workers)) return current.pool;
    if (this.starting) {
      throw new ArgumentError("workers", opts.workers, `must be ${this.starting.workers} (or left out) while a pool of ` +
        `${this.starting.workers} workers is being started on this Simulator: wait for it first`, "pool");
    }
    if (this.workerPool?.running) {
      throw new ArgumentError("workers", opts.workers, `must be ${this.workerPool.size} (or left out) while the pool has a ` +
        "run in progress: another size would stop it mid-run", "pool");
    }
    const pool = this.startPool(opts);
    this.starting = { workers: opts.workers ?? DEFAULT_POOL_WORKERS, pool };
    try {
      return await pool;
    } finally {
      if (this.starting?.pool === pool) this.starting = undefined;
    }
  }

  /** Replace the pool (closing the old one, idle) by a new one of `opts`. */
  private async startPool(opts: PoolOptions): Promise<WorkerPool> {
    await this.workerPool?.close();
    this.workerPool = await WorkerPool.start(this.core, opts);
    return this.workerPool;
  }

  /**
   * @internal A scenario run begins on this machine (runScenario with `simulator`): refused
   * while another run is using it — the two would share its CPUs' workloads and counters.
   * Returns the call that ends it.
   */
  beginRun(ctx: string): () => void {
    this.open(ctx);
    if (this.scenarioRun || this.workerPool?.running) {
      throw new IommuSimError(`iommu-sim: ${ctx}: a run is already in progress on this Simulator; wait for its ` +
        "report, or give each run a Simulator of its own");
    }
    this.scenarioRun = true;
    let ended = false;
    return () => {
      if (!ended) this.scenarioRun = false;
      ended = true;
    };
  }

  /**
   * Stop the workers (a run in progress is stopped where it is) and forget every table. The
   * simulator cannot be used afterwards. Where a worker was stopped mid-run, the machine's
   * objects are left as they were (not destroyed): the worker may have died holding one of
   * their locks, and the memory goes away with the simulator anyway.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.starting?.pool.catch(() => undefined);
    await this.workerPool?.close();
    if (this.core.stoppedSlots().length > 0) return;
    for (const d of this.dmaDomains) d.destroy();
    for (const s of this.smmus) s.destroy();
    for (const pt of [...this.tables]) pt.release();
    // A domain that ran the test-only depot mutant may be corrupted: walking it could spin
    // forever, and its memory goes away with the simulator anyway.
    for (const d of [...this.iovaDomains]) if (!d.mayBeCorrupted) d.destroy();
  }

  private open(op: string): void {
    if (this.closed) throw new IommuSimError(`iommu-sim: ${op} on a closed Simulator`);
  }
}

const SIMULATOR_OPTION_KEYS = {
  profile: true, ramMiB: true, kheapMiB: true, pageSize: true, core: true, workerUrl: true, cpuCosts: true,
  behaviours: true,
} as const satisfies OptionKeys<SimulatorOptions>;
const POOL_OPTION_KEYS = { workers: true, workerUrl: true } as const satisfies OptionKeys<PoolOptions>;

/** Each modelled CPU cost's index in the core (assembly/memmap.ts CPU_COST_*). */
export const CPU_COST_CODES = {
  lock: "CPU_COST_LOCK", dmaApi: "CPU_COST_DMA_API", walkStep: "CPU_COST_WALK_STEP", pte: "CPU_COST_PTE",
  iovaRcache: "CPU_COST_IOVA_RCACHE", iovaTree: "CPU_COST_IOVA_TREE", tableAlloc: "CPU_COST_TABLE_ALLOC",
  fqQueue: "CPU_COST_FQ_QUEUE", lineTransfer: "CPU_COST_LINE_TRANSFER",
} as const satisfies Record<keyof CpuCosts, LayoutName>;
const CPU_COST_KEYS = Object.keys(CPU_COST_CODES) as (keyof CpuCosts)[];

// Checked where the profiles are (profile.ts); re-exported for the modules that take a simulator's options.
export { checkBehaviourOverrides };

/**
 * CPU costs given (left out: none) over `base`: an object whose every key is a CPU cost (a
 * typo is refused with the nearest) and every value an integer number of ns. `name` is the
 * argument's path in the messages (`cpuCosts`; runMapBenchmark's own option names itself).
 */
export function checkCpuCosts(given: Partial<CpuCosts> | undefined, ctx: string, name = "cpuCosts",
                              base: Readonly<CpuCosts> = DEFAULT_CPU_COSTS): CpuCosts {
  const costs = checkOptions(given, CPU_COST_CODES, ctx, name, "CPU cost");
  for (const [k, v] of Object.entries(costs)) checkInt(`${name}.${k}`, v, 0, 2 ** 31, ctx);
  return { ...base, ...costs };
}

/**
 * Atomics.wait works in workers and on Node's main thread, never on a browser's main thread.
 * The core is told (core_attach), though today it never sleeps: its locks spin (assembly/sync.ts).
 */
function canBlockHere(): boolean {
  const isNode = typeof process !== "undefined" && !!process.versions?.node;
  return isNode || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined";
}
