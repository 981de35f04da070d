// IovaDomain: the public face of one IOVA allocator (drivers/iommu/iova.c) in the Wasm core
// (assembly/iova/). It checks arguments, calls the core, and reads what the core keeps in
// shared memory — the range tree, the per-CPU caches and depot, counters and WARNs — into
// plain values.
//
// PFNs are JS numbers (integers below 2^53). The anchor range at 2^64 − 1 is never listed;
// the cached-node positions, which can be the anchor, are bigints.

import { STOPPED_HOW, type Core } from "../bindings/core.js";
import { ArgumentError, IommuSimError, MachineStoppedError, hex } from "./errors.js";
import { refuseDuringRun } from "./run-guard.js";
import { checkBool, checkInt, checkOneOf, checkOptions, checkOwned, checkRequiredOptions, isPowerOfTwo, MAX_ADDRESS, own, type OptionKeys } from "./validate.js";
import { PageTable } from "./pgtable.js";
import { checkCore, checkKheap, coreError, isErrno, kheapAllocFailures } from "./errno.js";
import type { LayoutName, LayoutNamesWith } from "../bindings/layout.js";
import { RingReader } from "./ring.js";
import { kernelProfile, machineBehaviourBits, machineProfile, type Profile } from "./profile.js";
import { withJsonForm } from "./json-form.js";
import { requireLive } from "./handles.js";
import { stoppedClaimNote } from "./stopped-workers.js";

export interface IovaDomainOptions {
  /** The IOVA granule in bytes (the smallest IOMMU page): a power of two up to 65536. */
  granule: number;
  /** The lowest PFN the allocator hands out (dma-iommu uses ≥ 1). */
  startPfn: number;
  /** Simulated CPUs, each with its own range caches. Default 1. */
  cpus?: number;
  /**
   * Look every freeFast PFN up in the tree and count those that start no live range
   * (stats().badFastFrees). The kernel caches them regardless, and so does the simulator.
   * Costs a tree lookup under the tree lock per free. Default true.
   */
  checkFastFrees?: boolean;
  /**
   * How alloc_iova finds its gap: 'fast' (default) jumps to the node the kernel's walk stops
   * at in O(log n); 'linear' walks range by range as the kernel does; 'verify' does both and
   * counts disagreements in stats().searchMismatches. The results are the kernel's in all three.
   */
  search?: "fast" | "linear" | "verify";
  /**
   * IOVA_MAG_SIZE, PFNs per rcache magazine: the profile's (128 on 5.15, 127 from 6.7) unless
   * given, 1 up to the core's MAG_SIZE_MAX. A what-if knob: 6.12 with 128, for instance, shows
   * what the 127-slot magazine costs CPUs whose flush queue frees 255 IOVAs at once.
   */
  magazineSize?: number;
}

const IOVA_DOMAIN_OPTION_KEYS = {
  granule: true, startPfn: true, cpus: true, checkFastFrees: true, search: true, magazineSize: true,
} as const satisfies OptionKeys<IovaDomainOptions>;

export interface IovaRange {
  /** First PFN of the range. */
  lo: number;
  /** Last PFN of the range (inclusive). */
  hi: number;
}

export interface CpuRcache {
  /** PFNs in the loaded magazine, in slot order. */
  loaded: number[];
  /** PFNs in the previous magazine, in slot order. */
  prev: number[];
}

export interface RcacheBin {
  /** Ranges of 2^order pages. */
  order: number;
  cpus: CpuRcache[];
  /** Depot magazines, in the order the kernel's trace prints them, each in slot order. */
  depot: number[][];
}

export interface RcacheState {
  /** PFNs a magazine holds: 128 (5.15) or 127 (7.1). */
  magazineSize: number;
  bins: RcacheBin[];
}

export interface IovaTreeState {
  /** pfn_lo of cached_node (2^64 − 1: the anchor). */
  cachedNode: bigint;
  /** pfn_lo of cached32_node. */
  cached32Node: bigint;
  max32AllocSize: number;
  dma32BitPfn: number;
}

export interface IovaStats {
  /** Ranges in the tree, the anchor included (the kernel's node count). */
  treeNodes: number;
  treeAllocs: number;
  treeAllocFailures: number;
  /** Ranges removed from the tree (free_iova, cache flushes, depot drains and reclaims). */
  treeFrees: number;
  /** free_iova of a PFN in no range: a no-op in the kernel, counted here. */
  unknownFrees: number;
  /** freeFast of a PFN that starts no live range (only counted with checkFastFrees). */
  badFastFrees: number;
  /** Nodes the kernel's linear alloc_iova walk visits, summed over all searches. */
  kernelWalkSteps: number;
  /** The longest such walk: the soft-lockup pathology of reference §7.4. */
  kernelWalkMax: number;
  /**
   * Nodes the search that ran touched, summed: the kernel's walk with search 'linear';
   * otherwise the O(log n) search's own descents, examined subtrees and hops (bug corpus #12
   * compares the two on the same tree).
   */
  searchVisits: number;
  /** The most one search touched. */
  searchVisitsMax: number;
  /** search 'verify': searches where the O(log n) search and the kernel's walk disagreed. */
  searchMismatches: number;
  /** Second passes above the cached node. */
  secondPasses: number;
  /**
   * Ranges handed out past their limit: the wrapped {−2, −1} of a kernel without
   * IOVA_LIMIT_NO_UNDERFLOW (bug corpus #11). With belowStartAllocs, the check that every
   * range alloc_iova returns lies within [startPfn, limit].
   */
  aboveLimitAllocs: number;
  /** Ranges handed out below startPfn (the 5.15.16 retry pass from the anchor). */
  belowStartAllocs: number;
  /** allocFast that got PFN 0 from the tree: the kernel reads it as failure and leaks the range. */
  zeroPfnFastAllocs: number;
  rcacheHits: number;
  rcacheMisses: number;
  /** rcache hits that first took a full magazine from the depot (the CPU's own two were empty). */
  rcacheDepotHits: number;
  /** alloc_iova_fast flushed every cache and retried. */
  flushRetries: number;
  magazineAllocFailures: number;
  /** v5.15: full magazines drained to the tree because the depot was full. */
  depotDrains: number;
  /** With IOVA_DEPOT_FULL_FLUSH (no profile): full depots met, every CPU's caches returned to the tree instead. */
  depotFullFlushes: number;
  /** v7.1: magazines the 100 ms reclaim returned to the tree. */
  depotReclaims: number;
  warnings: number;
  /**
   * Broken invariants found where the kernel would BUG (an empty magazine popped, a full one
   * pushed): 0 unless the state was corrupted — e.g. by the test-only depot-lock mutant.
   */
  bugs: number;
  /** Tree nodes and magazines allocated now (the anchor not counted). */
  liveObjects: number;
}

/** iova.c's WARN conditions, each by its code's name in the core (assembly/iova/layout.ts IW_*). */
export const IOVA_WARN_CODES = {
  "insert-duplicate": "IW_INSERT_DUP", "magazine-pfn-missing": "IW_MAG_PFN_MISSING", "reserve-range": "IW_RESERVE_RANGE",
} as const satisfies Record<string, LayoutName>;
export type IovaWarnCode = keyof typeof IOVA_WARN_CODES;

export interface IovaWarning {
  code: IovaWarnCode;
  /** The PFN concerned. */
  value: bigint;
  message: string;
}


/** What the domain's event ring records, in order: WARNs and (v5.15) flush-queue activity. */
export type IovaEvent =
  | ({ kind: "warn" } & IovaWarning)
  /** The flush queue's flush callback ran (an IOTLB invalidate-all). */
  | { kind: "fq-flush" }
  /** A flush-queue entry's destructor ran; `data` is the cookie queued with it. */
  | { kind: "fq-release"; data: number };

/** The flush-start and flush-finish counters of a v5.15 flush queue. */
export interface FlushQueueCounters {
  startCnt: number;
  finishCnt: number;
  /** Flushes because a CPU's ring was full (a synchronous flush in queue_iova), and by the timeout. */
  ringFullFlushes: number;
  timerFlushes: number;
}

/**
 * Writes of a flush queue's timer word (fq_timer_on): each compare-and-swap queue_iova makes,
 * and the timer callback's clear; and how many of them were by a CPU other than its last
 * writer, so that the word's cache line had to move (0d87308cca2c: FQ_TIMER_READ_FIRST keeps
 * both few).
 */
export interface FlushQueueTimerCounters {
  writes: number;
  lineMoves: number;
}

export const IOVA_WARN_TEXT: Readonly<Record<IovaWarnCode, string>> = {
  "insert-duplicate": "iova: range tree insert of a pfn_lo already present",
  "magazine-pfn-missing": "iova: cached pfn is in no range of the tree",
  "reserve-range": "iova: reserve_iova beyond the addressable range",
};

/** Sizes the batched fast loop cycles through, by the core's names (assembly/iova/loops.ts). */
export const FAST_SIZES_CODES = {
  "one": "FAST_SIZES_ONE", "pow2": "FAST_SIZES_POW2", "1-8": "FAST_SIZES_1_TO_8",
} as const satisfies Record<string, LayoutName>;
export type FastLoopSizes = keyof typeof FAST_SIZES_CODES;
/** The batched tree loops, by the core's names (assembly/iova/loops.ts). */
export const TREE_LOOP_CODES = {
  "populate": "TREE_POPULATE", "pairs": "TREE_PAIRS", "refill": "TREE_REFILL",
} as const satisfies Record<string, LayoutName>;
export type TreeLoopMode = keyof typeof TREE_LOOP_CODES;

const ANCHOR = 0xffff_ffff_ffff_ffffn;

/**
 * alloc_iova succeeded the way a kernel without IOVA_LIMIT_NO_UNDERFLOW does (bug corpus #11,
 * 5016bdb796b3): its range wrapped below pfn 0 to the top of the PFN space, past the limit
 * asked for. The range is in the tree, as the kernel left it; its bounds do not fit a number,
 * so they are here as bigints.
 */
export class IovaWrappedError extends IommuSimError {
  override name = "IovaWrappedError";
  constructor(ctx: string, readonly lo: bigint, readonly hi: bigint, readonly limitPfn: number) {
    super(`iommu-sim: ${ctx}: alloc_iova handed out [${hex(lo)}, ${hex(hi)}], past the limit ${hex(limitPfn)}: ` +
      "the wrapped range of a kernel without IOVA_LIMIT_NO_UNDERFLOW (bug corpus #11); it is in the tree");
  }
}

/**
 * An IOVA allocator (drivers/iommu/iova.c of the simulator's profile): the rbtree of ranges,
 * the per-CPU range caches (rcaches) and their depot, and — on profiles that have it there —
 * the flush queue. Made with Simulator.createIovaDomain; `destroy()` ends it.
 */
export class IovaDomain {
  readonly id: number;
  readonly profile: Profile;
  readonly granule: number;
  readonly startPfn: number;
  readonly cpus: number;
  /** dma_32bit_pfn: 1 << (32 − log2 granule). */
  readonly dma32BitPfn: number;
  private readonly core: Core;
  private readonly block: number;
  private readonly events: RingReader<IovaEvent>;
  private destroyed = false;
  /** The test-only depot mutant ran here: the state may be corrupted. */
  private mutated = false;
  /** @internal */
  onDestroy: ((d: IovaDomain) => void) | undefined;

  private constructor(core: Core, id: number) {
    this.core = core;
    this.id = id;
    this.block = core.raw.iova_block(id);
    own(this, core);
    if (this.block === 0) throw new ArgumentError("domain", id, "must be the id of a live IOVA domain", "IovaDomain");
    const L = core.layout;
    this.profile = machineProfile(core);
    this.granule = 2 ** core.readU32(this.block + L.I_SHIFT);
    this.startPfn = core.readU64Number(this.block + L.I_START_PFN);
    this.cpus = core.readU32(this.block + L.I_NCPUS);
    this.dma32BitPfn = core.readU64Number(this.block + L.I_DMA32_PFN);
    this.events = new RingReader<IovaEvent>(core, {
      head: this.block + L.I_EV_HEAD, base: this.block + L.I_EV_RING, capacity: L.IEV_ENTRIES,
      recordSize: L.IEV_SIZE, what: `IOVA domain ${id} events`,
    }, (rec) => {
      const kind = core.readU32(rec + L.RR_KIND);
      if (kind === L.IEV_FQ_FLUSH) return { kind: "fq-flush" };
      if (kind === L.IEV_FQ_RELEASE) return { kind: "fq-release", data: core.readU64Number(rec + L.RR_A) };
      const n = Number(core.readU64(rec + L.RR_A));
      const code = (Object.keys(IOVA_WARN_CODES) as IovaWarnCode[]).find((c) => L[IOVA_WARN_CODES[c]] === n);
      if (code === undefined) throw new IommuSimError(`iommu-sim: IOVA domain ${id}: the core recorded a WARN of unknown code ${n}`);
      return withJsonForm({ kind: "warn" as const, code, value: core.readU64(rec + L.RR_B), message: IOVA_WARN_TEXT[code] });
    });
  }

  /** @internal Use Simulator.createIovaDomain. */
  static create(core: Core, profile: Profile, opts: IovaDomainOptions, ctx = "createIovaDomain"): IovaDomain {
    checkRequiredOptions(opts, IOVA_DOMAIN_OPTION_KEYS, ctx, "granule, startPfn");
    const granule = checkInt("granule", opts.granule, 1, 65536, ctx);
    if (!isPowerOfTwo(granule)) throw new ArgumentError("granule", granule, "must be a power of two (at most 65536)", ctx);
    const startPfn = checkInt("startPfn", opts.startPfn, 0, MAX_ADDRESS, ctx);
    const cpus = checkInt("cpus", opts.cpus ?? 1, 1, core.layout.IOVA_MAX_CPUS, ctx);
    const check = opts.checkFastFrees ?? true;
    if (typeof check !== "boolean") throw new ArgumentError("checkFastFrees", check, "must be a boolean", ctx);
    const search = opts.search ?? "fast";
    if (search !== "fast" && search !== "linear" && search !== "verify") {
      throw new ArgumentError("search", search, "must be 'fast', 'linear' or 'verify'", ctx);
    }
    const L = core.layout;
    const magazineSize = checkInt("magazineSize", opts.magazineSize ?? kernelProfile(profile).iovaMagazineSize, 1, L.MAG_SIZE_MAX, ctx);
    let flags = check ? L.IF_CHECK_FAST_FREES : 0;
    if (search === "linear") flags |= L.IF_LINEAR_SEARCH;
    if (search === "verify") flags |= L.IF_VERIFY_SEARCH;
    const id = checkCore(core, core.raw.iova_create(machineBehaviourBits(core), magazineSize,
      Math.log2(granule), startPfn, cpus, flags), ctx, { when: { ESIM_SLOTS_FULL: `at most ${L.MAX_IOVA_DOMAINS} IOVA domains live at once` } });
    return new IovaDomain(core, id);
  }

  /** A handle on a domain another thread created (workers receive domain ids). */
  static attach(core: Core, id: number): IovaDomain {
    requireLive(core, "iovaDomain", "domain", id, "IovaDomain.attach");
    return new IovaDomain(core, id);
  }

  // ── the tree (alloc_iova, free_iova, find_iova, reserve_iova) ────────────

  /**
   * alloc_iova: a range of `size` pages ending at or below `limitPfn`, top-down, aligned to
   * roundup_pow2(size) when `sizeAligned`. null where the kernel returns NULL.
   * `{ raw: true }` lets through a limit below startPfn, as the kernel would (it fails).
   */
  alloc(size: number, limitPfn: number, sizeAligned = true, options?: { raw?: boolean }): IovaRange | null {
    const ctx = "alloc";
    const opts = checkOptions(options, ["raw"], ctx);
    checkBool("raw", opts.raw, false, ctx);
    this.live(ctx);
    this.checkSize(size, ctx);
    this.checkLimit(limitPfn, opts.raw, ctx);
    checkBool("sizeAligned", sizeAligned, true, ctx);
    const kheap = kheapAllocFailures(this.core);
    const r = this.core.raw.iova_alloc(this.id, size, limitPfn, sizeAligned);
    if (r >= 0) return { lo: r, hi: r + size - 1 };
    if (isErrno(this.core, r, "ESIM_IOVA_WRAPPED")) {
      throw new IovaWrappedError(ctx, this.core.result64(0), this.core.result64(1), limitPfn);
    }
    checkKheap(this.core, kheap, ctx);
    return this.failure(r, ctx);
  }

  /** free_iova: remove the range containing `pfn`. false if there is none (a kernel no-op, counted). */
  free(pfn: number): boolean {
    this.live("free");
    checkPfn("pfn", pfn, "free");
    return this.core.raw.iova_free(this.id, pfn) === 1;
  }

  /** find_iova: the range containing `pfn`, or null. */
  find(pfn: number): IovaRange | null {
    this.live("find");
    checkPfn("pfn", pfn, "find");
    if (this.core.raw.iova_find(this.id, pfn) !== 1) return null;
    return this.resultRange();
  }

  /**
   * reserve_iova: mark [lo, hi] allocated. Overlapping ranges merge as the kernel merges them;
   * returns the range the kernel returns (possibly an existing, extended one), or null.
   */
  reserve(lo: number, hi: number): IovaRange | null {
    const ctx = "reserve";
    this.live(ctx);
    checkPfn("lo", lo, ctx);
    checkPfn("hi", hi, ctx);
    if (lo > hi) throw new ArgumentError("hi", hi, `must be at least lo (${hex(lo)})`, ctx);
    const kheap = kheapAllocFailures(this.core);
    const r = this.core.raw.iova_reserve(this.id, lo, hi);
    if (r === 0) return this.resultRange();
    checkKheap(this.core, kheap, ctx);
    return this.failure(r, ctx);
  }

  // ── the fast path (alloc_iova_fast, free_iova_fast) ─────────────────────

  /**
   * alloc_iova_fast on simulated `cpu`: from that CPU's range cache if it has a fitting
   * range, else from the tree; when even that fails and `flushRcache`, every cache is
   * returned to the tree and the tree tried again. Returns the PFN, or 0 on failure (the
   * kernel's convention). 5.15 takes `size` as given (its caller rounded it); 7.1 rounds
   * sizes below 32 up to a power of two itself. `{ raw: true }` lets through a limit below
   * startPfn, as the kernel would: its cache check (limit + 1 − size) then wraps and takes any
   * cached PFN of the bin, and the tree fails (or, in 5.15.16, may hand out PFN 0).
   */
  allocFast(cpu: number, size: number, limitPfn: number, flushRcache = true, options?: { raw?: boolean }): number {
    const ctx = "allocFast";
    const opts = checkOptions(options, ["raw"], ctx);
    checkBool("raw", opts.raw, false, ctx);
    this.live(ctx);
    this.checkCpu(cpu, ctx);
    this.checkSize(size, ctx);
    this.checkLimit(limitPfn, opts.raw, ctx);
    checkBool("flushRcache", flushRcache, true, ctx);
    const kheap = kheapAllocFailures(this.core);
    const r = this.core.raw.iova_alloc_fast(this.id, cpu, size, limitPfn, flushRcache);
    if (r === 0) checkKheap(this.core, kheap, ctx);
    if (r > MAX_ADDRESS) {
      // Only a corrupted cache can hold such a PFN (frees accept PFNs below 2^53 only).
      throw new IommuSimError(`iommu-sim: ${ctx}: CPU ${cpu}'s range cache handed out PFN ${r}, beyond 2^53: the domain's state is corrupted`);
    }
    if (r >= 0) return r;
    checkKheap(this.core, kheap, ctx);
    this.failure(r, ctx, cpu);
    return 0;
  }

  /**
   * free_iova_fast on simulated `cpu`: into that CPU's cache (bin order_base_2(size)), or to
   * the tree when the range is larger than 32 pages or no magazine can be had. Returns true
   * if it was cached. Like the kernel, the cache takes any PFN; see checkFastFrees.
   */
  freeFast(cpu: number, pfn: number, size: number): boolean {
    const ctx = "freeFast";
    this.live(ctx);
    this.checkCpu(cpu, ctx);
    checkPfn("pfn", pfn, ctx);
    this.checkSize(size, ctx);
    const r = this.core.raw.iova_free_fast(this.id, cpu, pfn, size);
    if (r >= 0) return r === 1;
    this.failure(r, ctx, cpu);
    return false;
  }

  /** free_cpu_cached_iovas: return `cpu`'s cached ranges to the tree (any thread may). */
  flushCpu(cpu: number): void {
    this.live("flushCpu");
    this.checkCpu(cpu, "flushCpu");
    this.core.raw.iova_flush_cpu(this.id, cpu);
  }

  /** Every CPU's cached ranges and the depot back to the tree. */
  flushAll(): void {
    this.live("flushAll");
    this.core.raw.iova_flush_all(this.id);
  }

  /**
   * Stop running simulated `cpu` on this thread, so another thread may. A thread runs a CPU
   * from its first allocFast/freeFast on it until it releases it.
   */
  releaseCpu(cpu: number): void {
    this.live("releaseCpu");
    this.checkCpu(cpu, "releaseCpu");
    if (this.core.raw.iova_release_cpu(this.id, cpu) !== 0) {
      const owner = this.cpuOwner(cpu);
      throw new IommuSimError(`iommu-sim: releaseCpu: simulated CPU ${cpu} is ${owner === 0 ? "not run by any thread" :
        `run by ${threadName(owner - 1)}, not by this thread (${threadName(this.core.slot)})`}`);
    }
  }

  /**
   * Which thread slot runs `cpu` now (−1: none). Slot 0 is the main thread; a pool's worker i
   * is slot i + 1, unless workers stopped mid-run left slots behind (src/stopped-workers.ts).
   */
  cpuRunner(cpu: number): number {
    this.checkCpu(cpu, "cpuRunner");
    return this.cpuOwner(cpu) - 1;
  }

  // ── fault injection ──────────────────────────────────────────────────────

  /** failatomic: make the caches' own GFP_ATOMIC allocations (new magazines) fail. */
  setFailAtomic(on: boolean): void {
    this.live("setFailAtomic");
    checkBool("on", on, false, "setFailAtomic");
    const f = this.core.layout.IF_FAIL_ATOMIC;
    this.core.raw.iova_set_flags(this.id, on ? f : 0, on ? 0 : f);
  }

  /**
   * TEST-ONLY fault injection: use the depot without its lock. This is a deliberately broken
   * allocator, for showing that the concurrency tests catch a missing lock. Never in real use.
   */
  setDepotLockDisabledForTesting(on: boolean): void {
    this.live("setDepotLockDisabledForTesting");
    checkBool("on", on, false, "setDepotLockDisabledForTesting");
    const f = this.core.layout.IF_NO_DEPOT_LOCK;
    this.core.raw.iova_set_flags(this.id, on ? f : 0, on ? 0 : f);
    if (on) this.mutated = true;
  }

  /** @internal True once the test-only depot mutant ran: Simulator.close skips the teardown. */
  get mayBeCorrupted(): boolean {
    return this.mutated;
  }

  // ── reading the state ────────────────────────────────────────────────────

  /**
   * The allocated ranges in address order (the anchor excluded). A range beyond 2^53, which
   * only a kernel without IOVA_LIMIT_NO_UNDERFLOW hands out, is an error: no number holds it.
   */
  ranges(): IovaRange[] {
    return this.rangesExact().map((r) => {
      if (r.hi > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new IommuSimError(`iommu-sim: ranges: IOVA domain ${this.id} holds [${hex(r.lo)}, ${hex(r.hi)}], beyond 2^53 ` +
          "(a wrapped range of a kernel without IOVA_LIMIT_NO_UNDERFLOW), which a number cannot hold");
      }
      return { lo: Number(r.lo), hi: Number(r.hi) };
    });
  }

  /** @internal The allocated ranges with exact (bigint) bounds, a wrapped one included: the replay's `tree`. */
  rangesExact(): { lo: bigint; hi: bigint }[] {
    this.live("ranges");
    const L = this.core.layout;
    const out: { lo: bigint; hi: bigint }[] = [];
    this.withTreeLock(() => this.walk((n) => {
      if (n !== this.block + L.I_ANCHOR) out.push({ lo: this.core.readU64(n + L.N_LO), hi: this.core.readU64(n + L.N_HI) });
    }));
    return out;
  }

  /** Nodes in the tree, the anchor included (what `tree_count` prints). */
  treeNodes(): number {
    this.live("treeNodes");
    return Atomics.load(this.core.u32, (this.block + this.core.layout.I_NODES) >>> 2);
  }

  /** cached_node, cached32_node and max32_alloc_size. */
  state(): IovaTreeState {
    this.live("state");
    const L = this.core.layout;
    return this.withTreeLock(() => withJsonForm({
      cachedNode: this.core.readU64(this.core.readU32(this.block + L.I_CACHED) + L.N_LO),
      cached32Node: this.core.readU64(this.core.readU32(this.block + L.I_CACHED32) + L.N_LO),
      max32AllocSize: this.core.readU64Number(this.block + L.I_MAX32),
      dma32BitPfn: this.dma32BitPfn,
    }));
  }

  /** IOVA_MAG_SIZE of this domain: PFNs per magazine (its profile's, or the magazineSize it was made with). */
  get magazineSize(): number {
    this.live("magazineSize");
    return this.core.readU32(this.block + this.core.layout.I_MAG_SIZE);
  }

  /** Every CPU's loaded and prev magazines and the depot, per bin. */
  rcacheState(): RcacheState {
    this.live("rcacheState");
    const L = this.core.layout;
    const bins: RcacheBin[] = [];
    const arrayDepot = !this.has("KB_IOVA_DEPOT_LIST");
    for (let order = 0; order < this.core.layout.RCACHE_BINS; order++) {
      const cpus: CpuRcache[] = [];
      for (let cpu = 0; cpu < this.cpus; cpu++) {
        const pc = this.cpuBin(cpu, order);
        this.lockForRead(pc + L.PC_LOCK, `CPU ${cpu}'s order-${order} cache`);
        try {
          cpus.push({ loaded: this.magazine(this.core.readU32(pc + L.PC_LOADED)),
                      prev: this.magazine(this.core.readU32(pc + L.PC_PREV)) });
        } finally {
          this.core.raw.sync_unlock(pc + L.PC_LOCK);
        }
      }
      const dp = this.block + L.I_DEPOT + order * L.DEPOT_STRIDE;
      const depot: number[][] = [];
      this.lockForRead(dp + L.DP_LOCK, `the order-${order} depot`);
      try {
        const size = this.core.readU32(dp + L.DP_SIZE);
        if (arrayDepot) {
          for (let j = 0; j < size; j++) depot.push(this.magazine(this.core.readU32(dp + L.DP_ARRAY + 4 * j)));
        } else {
          // A depot magazine's size word holds the link; depot magazines are always full.
          const full = this.magazineSize;
          for (let m = this.core.readU32(dp + L.DP_HEAD), j = 0; m !== 0 && j < size; j++) {
            depot.push(this.magazine(m, full));
            m = this.core.readU32(m + L.M_SIZE);
          }
        }
      } finally {
        this.core.raw.sync_unlock(dp + L.DP_LOCK);
      }
      bins.push({ order, cpus, depot });
    }
    return { magazineSize: this.magazineSize, bins };
  }

  /** The allocator's counters: the tree's ranges, allocations, frees and failures, the caches'. */
  stats(): IovaStats {
    this.live("stats");
    const L = this.core.layout;
    const b = this.block;
    const n64 = (off: number) => this.core.readU64Number(b + off);
    const n32 = (off: number) => Atomics.load(this.core.u32, (b + off) >>> 2);
    let hits = 0;
    let misses = 0;
    let depotHits = 0;
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      for (let order = 0; order < this.core.layout.RCACHE_BINS; order++) {
        const pc = this.cpuBin(cpu, order);
        hits += this.core.readU64Number(pc + L.PC_HITS);
        misses += this.core.readU64Number(pc + L.PC_MISSES);
        depotHits += this.core.readU64Number(pc + L.PC_DEPOT_HITS);
      }
    }
    return {
      treeNodes: n32(L.I_NODES),
      treeAllocs: n64(L.I_ST_ALLOCS),
      treeAllocFailures: n64(L.I_ST_ALLOC_FAILS),
      treeFrees: n64(L.I_ST_FREES),
      unknownFrees: n64(L.I_ST_UNKNOWN_FREES),
      badFastFrees: n32(L.I_ST_BAD_FAST_FREES),
      kernelWalkSteps: n64(L.I_ST_WALK_STEPS),
      kernelWalkMax: n64(L.I_ST_WALK_MAX),
      searchVisits: n64(L.I_ST_SEARCH_VISITS),
      searchVisitsMax: n64(L.I_ST_SEARCH_VISITS_MAX),
      searchMismatches: n64(L.I_ST_SEARCH_MISMATCH),
      secondPasses: n64(L.I_ST_RETRIES),
      aboveLimitAllocs: n64(L.I_ST_ABOVE_LIMIT),
      belowStartAllocs: n64(L.I_ST_BELOW_START),
      zeroPfnFastAllocs: n32(L.I_ST_ZERO_PFN_FAST),
      rcacheHits: hits,
      rcacheMisses: misses,
      rcacheDepotHits: depotHits,
      flushRetries: n32(L.I_ST_FLUSH_RETRIES),
      magazineAllocFailures: n32(L.I_ST_MAG_ALLOC_FAILS),
      depotDrains: n32(L.I_ST_DEPOT_DRAINS),
      depotFullFlushes: n32(L.I_ST_DEPOT_FULL_FLUSHES),
      depotReclaims: n32(L.I_ST_DEPOT_RECLAIMS),
      warnings: n32(L.I_ST_WARNINGS),
      bugs: n32(L.I_ST_BUGS),
      liveObjects: n32(L.I_NODE_POOL + L.POOL_LIVE) + n32(L.I_MAG_POOL + L.POOL_LIVE),
    };
  }

  /** WARNs raised since the last call, in order. Throws if more than the ring holds were missed. */
  takeWarnings(): IovaWarning[] {
    this.live("takeWarnings");
    return this.events.take().flatMap((e) => (e.kind === "warn" ? [withJsonForm({ code: e.code, value: e.value, message: e.message })] : []));
  }

  /** Everything the domain recorded since the last call, in order (takeWarnings drops the non-WARNs). */
  takeEvents(): IovaEvent[] {
    this.live("takeEvents");
    return this.events.take();
  }

  // ── v5.15 flush queue ────────────────────────────────────────────────────

  /** init_iova_flush_queue (v5.15, where the flush queue lived in iova.c). Idempotent. */
  fqInit(): void {
    this.live("fqInit");
    if (!this.has("KB_IOVA_FLUSH_QUEUE")) {
      throw new IommuSimError(`iommu-sim: fqInit: in ${this.profile} the flush queue belongs to dma-iommu (the DMA layer), ` +
        "not to iova.c (it moved in v5.17); use a DMA-FQ domain");
    }
    checkCore(this.core, this.core.raw.iova_fq_init(this.id), "fqInit", { detail: "the rings come from the simulator's kheap" });
  }

  /**
   * queue_iova on simulated `cpu`: defer the release of [pfn, pfn + pages) until a flush has
   * covered it; `data` is the cookie the entry's destructor gets (a freelist in the kernel).
   * Returns the counters after the call.
   */
  queue(cpu: number, pfn: number, pages: number, data: number): FlushQueueCounters {
    this.live("queue");
    const ctx = "queue";
    this.checkCpu(cpu, ctx);
    checkPfn("pfn", pfn, ctx);
    this.checkSize(pages, ctx);
    checkInt("data", data, 0, MAX_ADDRESS, ctx);
    const rc = this.core.raw.iova_queue(this.id, cpu, pfn, pages, data);
    if (rc < 0) this.failure(rc, ctx, cpu);
    return this.fqCounters();
  }

  /**
   * Make the flush callback what dma-iommu's is: flush_iotlb_all on this page table — its
   * tlb_flush_all, which on an SMMU domain is a TLBI by ASID/VMID and a CMD_SYNC. Without
   * one (the default, as in the kernel-code traces) the flush is only logged.
   */
  fqFlushThrough(pt: PageTable | null): void {
    this.live("fqFlushThrough");
    if (pt !== null) checkOwned("pt", pt, this.core, "a PageTable (Simulator.createPageTable) or null", "fqFlushThrough", PageTable);
    if (this.core.raw.iova_fq_set_flush(this.id, pt ? pt.id : -1) !== 0) {
      throw new IommuSimError(`iommu-sim: fqFlushThrough: page table ${pt?.id} is not live`);
    }
  }

  /** The flush queue's counters: flushes started and finished, and why (a full ring, the timeout). */
  fqCounters(): FlushQueueCounters {
    const L = this.core.layout;
    return {
      startCnt: this.core.readU64Number(this.block + L.I_FQ_START_CNT),
      finishCnt: this.core.readU64Number(this.block + L.I_FQ_FINISH_CNT),
      ringFullFlushes: this.core.readU64Number(this.block + L.I_FQ_FLUSH_FULL),
      timerFlushes: this.core.readU64Number(this.block + L.I_FQ_FLUSH_TIMER),
    };
  }

  /** The flush queue's timer word: how often it was written, and how often its cache line moved between CPUs. */
  fqTimerCounters(): FlushQueueTimerCounters {
    const L = this.core.layout;
    return {
      writes: this.core.readU64Number(this.block + L.I_FQ_TIMER_WRITES),
      lineMoves: this.core.readU64Number(this.block + L.I_FQ_TIMER_MOVES),
    };
  }

  /** free_iova_flush_queue: pending entries' destructors run (see takeEvents); their IOVAs are not freed. */
  fqTeardown(): void {
    this.live("fqTeardown");
    this.core.raw.iova_fq_teardown(this.id);
  }

  // ── batched loops (inside Wasm) ──────────────────────────────────────────

  /**
   * `count` allocFast + freeFast pairs on `cpu` inside the core (each range freed at once).
   * Returns the number of failed allocations.
   */
  loopFastPairs(cpu: number, count: number, sizes: FastLoopSizes = "one", limitPfn = this.dma32BitPfn - 1): number {
    const ctx = "loopFastPairs";
    this.live(ctx);
    this.checkCpu(cpu, ctx);
    checkInt("count", count, 0, 2 ** 32 - 1, ctx);
    this.checkLimit(limitPfn, false, ctx);
    const r = this.core.raw.iova_loop_fast_pairs(this.id, cpu, count, this.sizeMode(sizes, ctx), limitPfn);
    if (r < 0) this.failure(r, ctx, cpu);
    return r;
  }

  /**
   * Cross-CPU traffic inside the core: `rounds` × (allocFast `batch` ranges on `cpuA`, then
   * freeFast them all on `cpuB`). Full magazines move through the depot. Returns failures.
   */
  loopCross(cpuA: number, cpuB: number, rounds: number, batch: number, sizes: FastLoopSizes = "one",
            limitPfn = this.dma32BitPfn - 1): number {
    const ctx = "loopCross";
    this.live(ctx);
    this.checkCpu(cpuA, ctx);
    this.checkCpu(cpuB, ctx);
    checkInt("rounds", rounds, 0, 2 ** 32 - 1, ctx);
    checkInt("batch", batch, 1, 65536, ctx);
    this.checkLimit(limitPfn, false, ctx);
    const r = this.core.raw.iova_loop_cross(this.id, cpuA, cpuB, rounds, batch, this.sizeMode(sizes, ctx), limitPfn);
    if (r < 0) this.failure(r, ctx, cpuA);
    return r;
  }

  private sizeMode(sizes: FastLoopSizes, ctx: string): number {
    const L = this.core.layout;
    return L[FAST_SIZES_CODES[checkOneOf("sizes", sizes, Object.keys(FAST_SIZES_CODES) as FastLoopSizes[], ctx)]];
  }

  /**
   * Tree-path loops inside the core: 'populate' (count single-page alloc_iova), 'pairs'
   * (alloc_iova + free_iova of one page, count times), 'refill' (free a random range among
   * [spanLo, spanLo + spanN) and allocate again: the kernel's linear-search pathology).
   * Returns failures ('refill': also an allocation that missed the hole).
   */
  loopTree(mode: TreeLoopMode, count: number,
           options?: { limitPfn?: number; seed?: number; spanLo?: number; spanN?: number }): number {
    const ctx = "loopTree";
    const opts = checkOptions(options, ["limitPfn", "seed", "spanLo", "spanN"], ctx);
    this.live(ctx);
    const L = this.core.layout;
    const m = L[TREE_LOOP_CODES[checkOneOf("mode", mode, Object.keys(TREE_LOOP_CODES) as TreeLoopMode[], ctx)]];
    checkInt("count", count, 0, 2 ** 32 - 1, ctx);
    const limit = opts.limitPfn ?? this.dma32BitPfn - 1;
    this.checkLimit(limit, false, ctx);
    const seed = checkInt("seed", opts.seed ?? 1, 1, 2 ** 32 - 1, ctx);
    const spanLo = checkPfn("spanLo", opts.spanLo ?? 0, ctx);
    const spanN = checkInt("spanN", opts.spanN ?? 1, 1, 2 ** 32 - 1, ctx);
    const r = this.core.raw.iova_loop_tree(this.id, m, count, seed, limit, spanLo, spanN);
    if (r < 0) this.failure(r, ctx);
    return r;
  }

  // ── teardown ─────────────────────────────────────────────────────────────

  /**
   * put_iova_domain: free every cache and range. Returns how many kernel objects (nodes,
   * magazines) were still allocated afterwards — 0 unless the simulator leaked.
   */
  destroy(): number {
    if (this.destroyed) throw new IommuSimError(`iommu-sim: destroy: IOVA domain ${this.id} was already destroyed`);
    refuseDuringRun(this.core, "IovaDomain.destroy", `IOVA domain ${this.id}`, "destroyed");
    const live = this.core.raw.iova_destroy(this.id);
    this.destroyed = true;
    this.onDestroy?.(this);
    if (live < 0) throw new IommuSimError(`iommu-sim: destroy: IOVA domain ${this.id} is not live (destroyed by another thread?)`);
    return live;
  }

  /** True once destroy() ran. */
  get isDestroyed(): boolean {
    return this.destroyed;
  }

  // ── helpers ──────────────────────────────────────────────────────────────

  /** Whether the domain's kernel has behaviour `kb` (its bits, as the core carries them). */
  private has(kb: LayoutNamesWith<"KB_">): boolean {
    return (this.core.readU32(this.block + this.core.layout.I_KB) & this.core.layout[kb]) !== 0;
  }

  private live(op: string): void {
    if (this.destroyed) throw new IommuSimError(`iommu-sim: ${op} on IOVA domain ${this.id}, which was destroyed`);
  }

  private checkSize(size: number, ctx: string): void {
    if (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > MAX_ADDRESS) {
      throw new ArgumentError("size", size, "must be a whole number of pages, at least 1 (and below 2^53)", ctx);
    }
  }

  private checkLimit(limitPfn: number, raw: boolean | undefined, ctx: string): void {
    checkPfn("limitPfn", limitPfn, ctx);
    if (!raw && limitPfn < this.startPfn) {
      throw new ArgumentError("limitPfn", limitPfn, `must not be below the domain's startPfn ${hex(this.startPfn)} (nothing could ever fit)`, ctx);
    }
  }

  private checkCpu(cpu: number, ctx: string): void {
    if (typeof cpu !== "number" || !Number.isInteger(cpu) || cpu < 0 || cpu >= this.cpus) {
      throw new ArgumentError("cpu", cpu, `must be a simulated CPU of this domain, 0..${this.cpus - 1}`, ctx);
    }
  }

  private cpuOwner(cpu: number): number {
    const L = this.core.layout;
    const owners = this.core.readU32(this.block + L.I_OWNERS);
    return Atomics.load(this.core.u32, (owners + cpu * L.OWNER_STRIDE) >>> 2);
  }

  /** A negative core result: null where the kernel returns NULL (no fit, no memory), an error otherwise. */
  private failure(code: number, ctx: string, cpu?: number): null {
    const core = this.core;
    if (isErrno(core, code, "ENOSPC") || isErrno(core, code, "ENOMEM")) return null;
    if (isErrno(core, code, "ESIM_IOVA_WRAPPED")) {
      throw new IommuSimError(`iommu-sim: ${ctx}: alloc_iova handed out a range wrapped past the top of the PFN space ` +
        `(a kernel without IOVA_LIMIT_NO_UNDERFLOW, bug corpus #11); it is in IOVA domain ${this.id}'s tree`);
    }
    if (isErrno(core, code, "ESIM_CPU_BUSY")) {
      const owner = Number(this.core.result64(0)) - 1;
      const stopped = stoppedClaimNote(core, owner, cpu ?? -1);
      if (stopped !== undefined) throw new IommuSimError(`iommu-sim: ${ctx}: IOVA domain ${this.id}'s ${stopped}`);
      throw new IommuSimError(`iommu-sim: ${ctx}: simulated CPU ${cpu} of IOVA domain ${this.id} is being run by ` +
        `${threadName(owner)}; one thread runs a simulated CPU at a time (this is ${threadName(this.core.slot)}). ` +
        `Release it there with releaseCpu(${cpu}) first.`);
    }
    if (isErrno(core, code, "ESIM_WOULD_HANG")) {
      throw new IommuSimError(`iommu-sim: ${ctx}: the 5.15.16 kernel would retry this allocation forever ` +
        `(its second pass starts at start_pfn again); the simulator stops instead. Nothing was changed.`);
    }
    if (isErrno(core, code, "EEXIST")) {
      throw new IommuSimError(`iommu-sim: ${ctx}: the range tree refused a duplicate pfn_lo (the kernel WARNs); the range was not added`);
    }
    if (isErrno(core, code, "ESIM_NO_QUEUE")) {
      throw new IommuSimError(`iommu-sim: ${ctx}: IOVA domain ${this.id} has no flush queue (fqInit first) (ESIM_NO_QUEUE)`);
    }
    throw coreError(core, code, ctx, { argument: "cpu", value: cpu, detail: `IOVA domain ${this.id}` });
  }

  private resultRange(): IovaRange {
    return { lo: Number(this.core.result64(0)), hi: Number(this.core.result64(1)) };
  }

  private cpuBin(cpu: number, order: number): number {
    const L = this.core.layout;
    return this.core.readU32(this.block + L.I_RCACHES) + (cpu * L.RCACHE_BINS + order) * L.PC_STRIDE;
  }

  private magazine(mag: number, size?: number): number[] {
    if (mag === 0) return [];
    const L = this.core.layout;
    const n = size ?? this.core.readU32(mag + L.M_SIZE);
    const cap = this.magazineSize;
    if (n > cap) {
      throw new IommuSimError(`iommu-sim: rcacheState: the magazine at ${hex(mag)} of IOVA domain ${this.id} claims ${n} PFNs, ` +
        `more than a magazine holds (${cap}): the domain's state is corrupted`);
    }
    const out: number[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.core.readU64Number(mag + L.M_PFNS + 8 * i);
    return out;
  }

  /**
   * Take a lock to read a consistent snapshot, giving up with an error at once when a worker
   * stopped mid-run holds it, else after a few hundred milliseconds of spinning: a reader must
   * not hang on a domain whose state was corrupted (the test-only depot mutant does that).
   */
  private lockForRead(lock: number, what: string): void {
    if (this.core.raw.sync_lock_bounded(lock, 200_000_000)) return;
    const holder = this.core.raw.sync_lock_holder(lock);
    if (holder >= 0 && this.core.stoppedSlots().includes(holder)) {
      throw new MachineStoppedError(`iommu-sim: IOVA domain ${this.id}: ${what} is held by ${threadName(holder)}, which ` +
        `was stopped mid-run (${STOPPED_HOW}) and will never let go of it; close this Simulator and use a new one`);
    }
    throw new IommuSimError(`iommu-sim: IOVA domain ${this.id}: ${what} stayed locked (` +
      `${holder < 0 ? `lock word ${this.core.readU32(lock)}` : `held by ${threadName(holder)}`}); a worker died holding ` +
      "it, or the domain's state is corrupted");
  }

  private withTreeLock<T>(fn: () => T): T {
    const lock = this.block + this.core.layout.I_TREE_LOCK;
    this.lockForRead(lock, "the range tree");
    try {
      return fn();
    } finally {
      this.core.raw.sync_unlock(lock);
    }
  }

  /** In-order walk of the tree (tree lock held), without recursion. */
  private walk(visit: (node: number) => void): void {
    const L = this.core.layout;
    const stack: number[] = [];
    let n = this.core.readU32(this.block + L.I_ROOT);
    while (n !== 0 || stack.length > 0) {
      while (n !== 0) {
        stack.push(n);
        n = this.core.readU32(n + L.N_LEFT);
      }
      n = stack.pop()!;
      visit(n);
      n = this.core.readU32(n + L.N_RIGHT);
    }
  }
}

function checkPfn(name: string, v: unknown, ctx: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_ADDRESS) {
    throw new ArgumentError(name, v, "must be a PFN: an integer in [0, 2^53)", ctx);
  }
  return v;
}

function threadName(slot: number): string {
  // Not "worker slot − 1": a new pool's workers skip the slots of workers stopped mid-run.
  return slot === 0 ? "the main thread (slot 0)" : `the worker in thread slot ${slot}`;
}

/** The anchor PFN (2^64 − 1), where both cached nodes start. */
export const IOVA_ANCHOR_PFN = ANCHOR;
