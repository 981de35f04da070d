// Smmu and Device: the device side of the model. An SMMU has a stream table, an IOTLB, walk
// caches and (optionally) per-device micro-TLBs in the Wasm core (assembly/smmu/); a device
// is a stream ID attached to a domain, whose accesses go through those caches and the
// tables in simulated RAM, or fault.

import type { Core } from "../../bindings/core.js";
import { checkCore, coreError } from "../errno.js";
import type { LayoutName, LayoutNamesWith } from "../../bindings/layout.js";
import { ArgumentError, IommuSimError, hex } from "../errors.js";
import { asOneTeardown, refuseDuringRun } from "../run-guard.js";
import type { PageTable } from "../pgtable.js";
import { checkAddress, checkBool, checkInt, checkOneOf, checkOptions, checkOwned, isPowerOfTwo, own, type OptionKeys } from "../validate.js";
import { SmmuDomain } from "./domain.js";
import { Oracle, accessClassOf, type AccessClass } from "../safety/oracle.js";
import { DmaEngine, type DmaEngineOptions } from "../device/engine.js";
import { RingReader } from "../ring.js";
import { COMMAND_KINDS, commandKindOf, coreOpcodeName, type CommandKind } from "./commands.js";
import {
  REGISTER_KINDS, STATUS_REGISTERS, coreRegisterName, isGlobalRegister, registerKindOf, type RegisterKind,
} from "./registers.js";
import { withJsonForm } from "../json-form.js";

export type ReplacementPolicy = "lru" | "rr" | "random";

/** A kind's name as iommu-sim 0.1 wrote it (the driver's CMDQ_OP_* suffix); still accepted by submit. */
type LegacyName<K extends CommandKind> = K extends "CMD_SYNC" ? never : K extends `CMD_${infer R}` ? R : never;
type Op<K extends CommandKind> = K | LegacyName<K>;

/** A command for Smmu.submit; `op` is the SMMUv3 command's name ("CMD_TLBI_NH_ASID"). */
export type SmmuCommandInput =
  | { op: Op<"CMD_TLBI_NH_VA" | "CMD_TLBI_NH_VAA" | "CMD_TLBI_EL2_VA" | "CMD_TLBI_S2_IPA">; addr: number; asid?: number; vmid?: number;
      leaf?: boolean; ttl?: number; tg?: number; scale?: number; num?: number }
  | { op: Op<"CMD_TLBI_NH_ASID" | "CMD_TLBI_EL2_ASID">; asid: number; vmid?: number }
  | { op: Op<"CMD_TLBI_S12_VMALL" | "CMD_TLBI_NH_ALL">; vmid: number }
  | { op: Op<"CMD_TLBI_NSNH_ALL" | "CMD_TLBI_EL2_ALL" | "CMD_SYNC"> }
  | { op: Op<"CMD_CFGI_STE" | "CMD_CFGI_CD">; streamId: number; ssid?: number }
  | { op: Op<"CMD_CFGI_ALL" | "CMD_CFGI_CD_ALL">; streamId?: number };


/** The member of SmmuCommandInput whose op names kind K. */
type CommandOf<K extends CommandKind> = SmmuCommandInput extends infer C ? C extends { op: infer O } ? K extends O ? C : never : never : never;
type RequiredKeys<T> = { [P in keyof T]-?: object extends Pick<T, P> ? never : P }[keyof T];
type OptionalKeys<T> = Exclude<keyof T, RequiredKeys<T>>;
/** A kind's fields as SmmuCommandInput types them: the compiler checks each list against it. */
type FieldsOf<K extends CommandKind> = {
  required: readonly Exclude<RequiredKeys<CommandOf<K>>, "op">[]; optional: readonly OptionalKeys<CommandOf<K>>[];
};
const RANGE_FIELDS = { required: ["addr"], optional: ["asid", "vmid", "leaf", "ttl", "tg", "scale", "num"] } as const;
/**
 * The fields each command of Smmu.submit takes, by kind: `required` must be given (a
 * missing ASID must not quietly invalidate ASID 0), `optional` may be (0 or false when left
 * out); any other is refused.
 */
const COMMAND_FIELDS: { readonly [K in CommandKind]: FieldsOf<K> } = {
  CMD_TLBI_NH_VA: RANGE_FIELDS, CMD_TLBI_NH_VAA: RANGE_FIELDS, CMD_TLBI_EL2_VA: RANGE_FIELDS, CMD_TLBI_S2_IPA: RANGE_FIELDS,
  CMD_TLBI_NH_ASID: { required: ["asid"], optional: ["vmid"] }, CMD_TLBI_EL2_ASID: { required: ["asid"], optional: ["vmid"] },
  CMD_TLBI_S12_VMALL: { required: ["vmid"], optional: [] }, CMD_TLBI_NH_ALL: { required: ["vmid"], optional: [] },
  CMD_TLBI_NSNH_ALL: { required: [], optional: [] }, CMD_TLBI_EL2_ALL: { required: [], optional: [] },
  CMD_SYNC: { required: [], optional: [] },
  CMD_CFGI_STE: { required: ["streamId"], optional: ["ssid"] }, CMD_CFGI_CD: { required: ["streamId"], optional: ["ssid"] },
  CMD_CFGI_ALL: { required: [], optional: ["streamId"] }, CMD_CFGI_CD_ALL: { required: [], optional: ["streamId"] },
};

/** Refuse a field `kind` does not take, and a required one left out. */
function checkCommandFields(cmd: object, kind: CommandKind, ctx: string): void {
  const { required, optional } = COMMAND_FIELDS[kind] as { required: readonly string[]; optional: readonly string[] };
  checkOptions(cmd, ["op", ...required, ...optional], ctx, "", "field of this command");
  for (const f of required) {
    if ((cmd as Record<string, unknown>)[f] === undefined) {
      throw new ArgumentError(f, undefined, `is required by ${kind} (it takes ${required.join(", ")}` +
        `${optional.length ? `; optional: ${optional.join(", ")}` : ""})`, ctx);
    }
  }
}

/** Modelled costs in ns, charged to the SMMU (walks, lookups) or the CPU (commands). */
export interface SmmuCosts {
  /** One descriptor read by the table walker (a DRAM access). */
  pteRead: number;
  iotlbHit: number;
  /** The lookup that missed (the walk is charged separately, per descriptor read). */
  iotlbMiss: number;
  walkCacheHit: number;
  microTlbHit: number;
  /** The SMMU consuming one invalidation command (the CPU that issued it waits for it at the CMD_SYNC). */
  tlbi: number;
  /** One CMD_SYNC on an idle queue, all in: claim, MMIO write of prod, the SMMU completing it. */
  sync: number;
  /**
   * A claim of command-queue space (the compare-and-swap on prod) holding prod's cache line,
   * uncontended. Part of `sync` (which must be at least cmdqClaim + mmio).
   */
  cmdqClaim: number;
  /** What each CPU spinning on prod adds to the winning claim (its failed CAS steals the line). */
  cmdqSpin: number;
  /** Spinners beyond this many add nothing (a count, not ns). */
  cmdqSpinMax: number;
  /** The queue owner's MMIO write of prod. Part of `sync`. */
  mmio: number;
  /**
   * A CPU noticing its CMD_SYNC completed (polling the queue or its MSI-written word, waking
   * from WFE): latency that occupies neither the queue nor the SMMU. Part of `sync`.
   */
  syncWake: number;
  /** SMMU v1/v2: the CPU's write of one TLB-maintenance or sync register (an MMIO write). */
  regWrite: number;
  /** SMMU v1/v2: one read of TLBSTATUS or sTLBGSTATUS while polling for a sync. */
  statusPoll: number;
  /**
   * SMMU v1/v2: from a TLBSYNC write until the SMMU reports it complete, when nothing is
   * outstanding (each TLBI written since the last sync adds `tlbi`).
   */
  tlbSync: number;
}

/**
 * Default costs. Latencies of the caches follow gem5's SMMUv3 (reference anchors.md §3: TLB
 * 3 cycles, walk cache 4, micro-TLB 1, taken at 1 GHz); a descriptor read is a DRAM access
 * (~100 ns); the SMMU consuming a command ~50 ns; a CMD_SYNC on an idle queue ~1 µs, in line
 * with the published dma_map_benchmark unmap costs (0.6–1.8 µs per strict unmap on SMMUv3,
 * performance.md), all of it counted as the SMMU's (no claim or MMIO cost apart, and no
 * contention on prod). Estimates, not measurements: the machine presets (src/machines.ts)
 * split the command queue's costs and are calibrated on real machines.
 */
export const DEFAULT_COSTS: Readonly<SmmuCosts> = Object.freeze({
  pteRead: 100, iotlbHit: 3, iotlbMiss: 3, walkCacheHit: 4, microTlbHit: 1, tlbi: 50, sync: 1000,
  cmdqClaim: 0, cmdqSpin: 0, cmdqSpinMax: 0, mmio: 0, syncWake: 0,
  // SMMU v1/v2 (estimates, not measurements): a posted MMIO write ~50 ns, a status read
  // (a non-posted MMIO round trip) ~100 ns, and a sync completing ~0.5 µs after its write,
  // inside the driver's first ten polls (no udelay back-off when the SMMU is idle).
  regWrite: 50, statusPoll: 100, tlbSync: 500,
});

/**
 * Modelled CPU-side costs in ns, charged to the simulated CPU (thread) doing the work, on top
 * of what it pays the SMMU (SmmuCosts.tlbi, .sync). Set per Simulator (create's cpuCosts,
 * setCpuCosts); charged in the Wasm core where the work is done (memmap.ts CPU_COST_*).
 */
export interface CpuCosts {
  /** Taking one of the kernel's spinlocks (IOVA tree, depot, per-CPU cache, flush-queue ring). */
  lock: number;
  /** One dma_map_* or dma_unmap_* call: entry, argument and domain checks, exit. */
  dmaApi: number;
  /** io-pgtable's walk going down one level on map or unmap (a table descriptor read). */
  walkStep: number;
  /** Writing or clearing one PTE (one store in a run of them). */
  pte: number;
  /** An IOVA taken from or given to the per-CPU rcache (alloc_iova_fast / free_iova_fast hit), lock apart. */
  iovaRcache: number;
  /** An IOVA allocated from or freed to the rbtree (alloc_iova / free_iova), lock apart. */
  iovaTree: number;
  /** A zeroed page-table page from the page allocator. */
  tableAlloc: number;
  /** queue_iova's own work (its full barrier, the ring entry, the timer check), lock apart. */
  fqQueue: number;
  /**
   * A cache line of PTEs that another CPU wrote last moving to this one before the write
   * (coherence transfer; counted only where CPUs contend in modelled time: the map benchmark).
   */
  lineTransfer: number;
}

/**
 * Default CPU costs: estimates for a ~2.5–3 GHz Arm server core with a coherent SMMU, chosen
 * so that dma_map_benchmark with the tool's defaults (1 thread, 4 KiB, strict) lands where
 * SMMUv3 machines do (Morello 0.1 / 0.6 µs, Snapdragon X 0.0 / 1.8 µs; reference §7.1):
 * map = dmaApi + lock + iovaRcache + 3 walkSteps + pte = 122 ns (0.1 µs); strict unmap adds
 * the SMMU's TLBI + CMD_SYNC (50 + 1000) to the same CPU work = 1172 ns (1.1 µs).
 *   lock 20        an uncontended atomic round trip on a local line
 *   dmaApi 60      dma_map_page_attrs → iommu_dma_map_page: ops lookup, untrusted/swiotlb
 *                  checks, iova_align, deferred-attach check, and back
 *   walkStep 5     one descriptor read that hits in L1/L2 (the upper levels stay cached)
 *   pte 2          one 8-byte store; a run of PTEs shares its lines (1 MiB: 256 PTEs in
 *                  ~0.5 µs, which with the tree allocation gives Morello's 0.8 µs map)
 *   iovaRcache 25  a magazine push or pop (a few loads and stores, irqsave)
 *   iovaTree 200   an rbtree search, insert or erase with rebalancing (plus the lock)
 *   tableAlloc 200 alloc_page + zeroing 4 KiB
 *   fqQueue 30     smp_mb + writing the entry + the timer check
 *   lineTransfer 0 no cost for a PTE line moving between CPUs (the machine presets set one)
 * Estimates, not measurements: set your own per Simulator.
 */
export const DEFAULT_CPU_COSTS: Readonly<CpuCosts> = Object.freeze({
  lock: 20, dmaApi: 60, walkStep: 5, pte: 2, iovaRcache: 25, iovaTree: 200, tableAlloc: 200, fqQueue: 30,
  lineTransfer: 0,
});

/**
 * Which SMMU architecture, and so which Linux driver's invalidations its domains make:
 * "v3" (arm-smmu-v3.c: commands through a queue), "v2" (arm-smmu.c on an SMMU v2 or
 * MMU-500: context banks, TLB-maintenance registers, TLBSYNC + TLBSTATUS), "v1" (the same
 * driver on an SMMUv1 / MMU-400: stage-2 banks have no TLBIIPAS2 or TLBSYNC).
 */
export type SmmuModel = "v3" | "v2" | "v1";
/** Each model's code in the core (assembly/smmu/smmu.ts SMMU_MODEL_*). */
export const SMMU_MODEL_CODES = { v3: "SMMU_MODEL_V3", v2: "SMMU_MODEL_V2", v1: "SMMU_MODEL_V1" } as const satisfies
  Record<SmmuModel, LayoutName>;
/** The SMMU models by name: "v3", "v2", "v1" (SmmuOptions.model). */
export const SMMU_MODELS = Object.keys(SMMU_MODEL_CODES) as readonly SmmuModel[];

/**
 * Where the leaf-translation TLB sits: "device" (default) — each attached device (stream)
 * has a main TLB of its own, as each TBU of an MMU-600/700 has and as gem5's SMMUv3 model
 * has by default (a main TLB per device interface, its SMMU-wide TLB off); "smmu" — one
 * IOTLB that every device shares, so one device's fill serves another's translation of the
 * same address in the same context.
 */
export type IotlbScope = "smmu" | "device";
/** The IOTLB scopes by name (SmmuOptions.iotlb.scope). */
export const IOTLB_SCOPES = ["device", "smmu"] as const satisfies readonly IotlbScope[];

/** The IOTLB's entries when SmmuOptions.iotlb gives none (gem5's main TLB: 2048, 4 ways). */
export const DEFAULT_IOTLB_ENTRIES = 2048;
/** The IOTLB's ways when SmmuOptions.iotlb gives none. */
export const DEFAULT_IOTLB_WAYS = 4;

/**
 * The largest oracle shadow (SmmuOptions.oracle.capacity): room for this many IOVA pages however
 * scattered, twice as many when neighbours are mapped together (80 bytes a pair of pages).
 */
export const ORACLE_MAX_PAGES = 32768;

export interface SmmuOptions {
  /** The architecture (default "v3"): see SmmuModel. */
  model?: SmmuModel;
  /**
   * The IOTLB: entries, ways, replacement, and where it sits (IotlbScope; with "device" the
   * geometry is each device's). Default 2048 entries, 4 ways, round-robin, per device (gem5).
   */
  iotlb?: { entries?: number; ways?: number; policy?: ReplacementPolicy; seed?: number; scope?: IotlbScope };
  /** Walk-cache entries for levels 0–3 (4-way; 0 = that level is not cached). Default gem5's stage-1 [4, 28, 348, 4]. */
  walkCache?: [number, number, number, number];
  /** Per-device micro-TLB entries (fully associative, round-robin; 0 = none). Default 32 (gem5). */
  microTlb?: number;
  /**
   * Table walks the SMMU runs at once, 1..16. Default 16 (gem5's walk slots). Where CPUs
   * contend in modelled time, a TLB miss that finds every walker busy waits for one
   * (`stats().walksQueued`, `walkWaitNs`); elsewhere walks never wait.
   */
  walkers?: number;
  /**
   * When a TLBI takes effect: when the SMMU consumes it (default), or at the next CMD_SYNC
   * (SMMU v1/v2: at the next TLBSYNC of its context bank, or sTLBGSYNC for a global TLBI).
   */
  invalidateAt?: "consume" | "sync";
  /** 'ignore' (default): a TTL hint never narrows a TLBI. 'honour': only entries at that level go. */
  ttl?: "ignore" | "honour";
  /** Fault queue capacity (a power of two). Default 1024. */
  faultQueue?: number;
  /**
   * Check every access against the DMA API's view (Smmu.oracle). `capacity`: the shadow's
   * room in IOVA pages however scattered (twice as many fit when neighbouring pages are mapped
   * together; power of two, ≤ ORACLE_MAX_PAGES = 32768; default 16384); `violations`: log size.
   */
  oracle?: boolean | { capacity?: number; violations?: number };
  /** Fault injection, for tests of checkers: TLBIs are consumed but invalidate nothing. */
  injectDroppedInvalidations?: boolean;
  costs?: Partial<SmmuCosts>;
}

export type FaultType = "bad-stream" | "translation" | "address-size" | "access" | "permission" | "walk-external-abort";

export interface Fault {
  type: FaultType;
  streamId: number;
  iova: number;
  level: number;
  /** The descriptor that faulted, or the physical address that was not RAM. */
  info: bigint;
}

export interface AccessSegment {
  iova: number;
  pa: number;
  bytes: number;
  /** Where the translation came from ("bypass": an SMMU v1/v2 stream that is not translated). */
  from: "micro-tlb" | "iotlb" | "walk" | "bypass";
  /** The oracle's verdict on this access (when the SMMU has one). */
  check?: AccessClass;
}

export type AccessResult =
  | { ok: true; pa: number; segments: AccessSegment[] }
  | { ok: false; fault: Fault; segments: AccessSegment[] };

export interface CacheStats { hits: number; misses: number; fills: number; evictions: number; invalidated: number }

/** One IOTLB entry as Smmu.iotlbSnapshot reads it. */
export interface IotlbEntry {
  valid: boolean;
  /** The tag: the input address >> shift. */
  tag: number;
  /** ASID | VMID << 16 of the context that filled it. */
  ctx: number;
  /** log2 of the bytes it maps (12: a 4 KiB page, 21: a 2 MiB block). */
  shift: number;
  /** A leaf translation (the IOTLB holds only leaves; kept for other caches' sake). */
  leaf: boolean;
  /** The output address of the page or block. */
  out: number;
}

/**
 * An IOTLB's entries in set-major order: entry (set s, way w) is entries[s · ways + w].
 * `streamId`: whose main TLB it is (scope "device"), absent for the SMMU's shared IOTLB.
 */
export interface IotlbSnapshot { sets: number; ways: number; entries: IotlbEntry[]; streamId?: number }

export interface SmmuStats {
  translations: number;
  microTlbHits: number;
  iotlbHits: number;
  iotlbMisses: number;
  walks: number;
  pteReads: number;
  walkCacheHits: number;
  faults: number;
  /** TLBI commands consumed, by what they invalidate: by address, a whole context (ASID/VMID), everything. */
  tlbi: { va: number; context: number; all: number };
  /** Commands consumed, by SMMUv3 command name, every kind in opcode order (COMMAND_KINDS). */
  commandsByKind: Record<CommandKind, number>;
  syncs: number;
  commands: number;
  /** Commands refused for an opcode the SMMUv3 architecture does not define (CERROR_ILL); not in `commands`. */
  illegalCommands: number;
  entriesInvalidated: number;
  /** Time the SMMU's work would take on the modelled hardware. */
  modelledNs: number;
  /** Walks that found every walker busy (only where CPUs contend in modelled time), and their modelled ns of waiting. */
  walksQueued: number;
  walkWaitNs: number;
  /**
   * SMMU v1/v2: register operations by kind, every kind in the core's order
   * (REGISTER_KINDS): writes, and for TLBSTATUS / sTLBGSTATUS the reads polling a sync.
   * All zero on an SMMUv3.
   */
  registersByKind: Record<RegisterKind, number>;
  /** The IOTLB's counters; with scope "device", every device's main TLB together (detached ones too). */
  iotlb: CacheStats;
  walkCache: (CacheStats | null)[];
}

/** Each replacement policy's code in the core (assembly/smmu/cache.ts POLICY_*). */
export const POLICY_CODES = { lru: "POLICY_LRU", rr: "POLICY_RR", random: "POLICY_RANDOM" } as const satisfies
  Record<ReplacementPolicy, LayoutName>;
/** Each modelled SMMU cost's index in the core (assembly/smmu/smmu.ts COST_*). */
export const SMMU_COST_CODES = {
  pteRead: "COST_PTE_READ", iotlbHit: "COST_IOTLB_HIT", iotlbMiss: "COST_IOTLB_MISS", walkCacheHit: "COST_WALKC_HIT",
  tlbi: "COST_TLBI", sync: "COST_SYNC", microTlbHit: "COST_UTLB_HIT", cmdqClaim: "COST_CMDQ_CLAIM",
  cmdqSpin: "COST_CMDQ_SPIN", cmdqSpinMax: "COST_CMDQ_SPIN_MAX", mmio: "COST_MMIO", syncWake: "COST_SYNC_WAKE",
  regWrite: "COST_REG_WRITE", statusPoll: "COST_STATUS_POLL", tlbSync: "COST_TLB_SYNC",
} as const satisfies Record<keyof SmmuCosts, LayoutName>;
const COST_KEYS = Object.entries(SMMU_COST_CODES) as [keyof SmmuCosts, LayoutName][];

/**
 * SMMU costs given (left out: none) over `base`: an object whose every key is an SMMU cost (a
 * typo is refused with the nearest), every cost an integer number of ns, and a CMD_SYNC at
 * least what it includes. `name` is the argument's path in the messages (createSmmu's
 * `costs`; runMapBenchmark's own option names itself). The one place these rules live: a
 * scenario file's costs are checked by it too (parseRunScenario, as `smmu.costs`).
 */
export function checkSmmuCosts(given: Partial<SmmuCosts> | undefined, ctx: string, name = "costs",
                               base: Readonly<SmmuCosts> = DEFAULT_COSTS): SmmuCosts {
  const costs = { ...base, ...checkOptions(given, SMMU_COST_CODES, ctx, name, "SMMU cost") };
  for (const [k] of COST_KEYS) checkInt(`${name}.${k}`, costs[k], 0, 2 ** 31, ctx);
  if (costs.sync < costs.cmdqClaim + costs.mmio + costs.syncWake) {
    throw new ArgumentError(`${name}.sync`, costs.sync, `must be at least ${name}.cmdqClaim + ${name}.mmio + ${name}.syncWake ` +
      `(${costs.cmdqClaim} + ${costs.mmio} + ${costs.syncWake} ns): a CMD_SYNC on an idle queue includes its claim, ` +
      "the MMIO write and the CPU noticing it completed", ctx);
  }
  return costs;
}

const SMMU_OPTION_KEYS = {
  model: true, iotlb: true, walkCache: true, microTlb: true, walkers: true, invalidateAt: true, ttl: true, faultQueue: true,
  oracle: true, injectDroppedInvalidations: true, costs: true,
} as const satisfies OptionKeys<SmmuOptions>;
const SMMU_IOTLB_KEYS = { entries: true, ways: true, policy: true, seed: true, scope: true } as const satisfies
  OptionKeys<NonNullable<SmmuOptions["iotlb"]>>;

/** An SMMU created with the safety oracle on (Simulator.createSmmu with `oracle`). */
export type SmmuWithOracle = Smmu & { readonly oracle: Oracle };

/**
 * An Arm SMMUv3: its stream table, the IOTLB and walk caches, micro-TLBs, the command queue
 * that TLBIs and CMD_SYNCs go through, and the fault queue. Devices attach to it by stream
 * ID; their accesses are translated through their domain's page table. Made with
 * Simulator.createSmmu.
 */
export class Smmu {
  readonly id: number;
  /** The architecture (SmmuOptions.model). */
  readonly model: SmmuModel;
  /** Where the IOTLB sits (SmmuOptions.iotlb.scope). */
  readonly iotlbScope: IotlbScope;
  readonly costs: Readonly<SmmuCosts>;
  /** The safety oracle, if the SMMU was created with one (SmmuWithOracle: it was). */
  readonly oracle: Oracle | undefined;
  private readonly base: number;
  private faults!: RingReader<Fault>;
  private readonly devices = new Map<number, Device>();
  /** The SMMU domains whose commands come here (bindDomain): they forget this SMMU when it is destroyed. */
  private readonly domains = new Set<SmmuDomain>();
  private destroyed = false;

  /** @internal Use Simulator.createSmmu. */
  constructor(private readonly core: Core, given?: SmmuOptions) {
    const ctx = "createSmmu";
    const L = core.layout;
    const opts = checkOptions(given, SMMU_OPTION_KEYS, ctx);
    checkOptions(opts.iotlb, SMMU_IOTLB_KEYS, ctx, "iotlb");
    const costs = checkSmmuCosts(opts.costs, ctx);
    if (opts.oracle !== undefined && typeof opts.oracle !== "boolean") checkOptions(opts.oracle, ["capacity", "violations"], ctx, "oracle");
    const injectDrop = checkBool("injectDroppedInvalidations", opts.injectDroppedInvalidations, false, ctx);
    const model = checkOneOf("model", opts.model ?? "v3", SMMU_MODELS, ctx);
    const entries = checkInt("iotlb.entries", opts.iotlb?.entries ?? DEFAULT_IOTLB_ENTRIES, 1, 1 << 16, ctx);
    const ways = checkInt("iotlb.ways", opts.iotlb?.ways ?? DEFAULT_IOTLB_WAYS, 1, 64, ctx);
    if (entries % ways !== 0) throw new ArgumentError("iotlb.entries", entries, `must be a multiple of iotlb.ways (${ways})`, ctx);
    const policy = checkOneOf("iotlb.policy", opts.iotlb?.policy ?? "rr", ["lru", "rr", "random"] as const, ctx);
    const seed = checkInt("iotlb.seed", opts.iotlb?.seed ?? 1, 1, 2 ** 32 - 1, ctx);
    const scope = checkOneOf("iotlb.scope", opts.iotlb?.scope ?? "device", IOTLB_SCOPES, ctx);
    const wc = opts.walkCache ?? [4, 28, 348, 4];
    if (!Array.isArray(wc) || wc.length !== 4) throw new ArgumentError("walkCache", wc, "must be 4 entry counts (levels 0–3)", ctx);
    wc.forEach((n, l) => checkInt(`walkCache[${l}]`, n, 0, 1 << 16, ctx));
    const utlb = checkInt("microTlb", opts.microTlb ?? 32, 0, 256, ctx);
    const walkers = checkInt("walkers", opts.walkers ?? L.DEFAULT_WALKERS, 1, L.MAX_WALKERS, ctx);
    const invalidateAt = checkOneOf("invalidateAt", opts.invalidateAt ?? "consume", ["consume", "sync"] as const, ctx);
    const ttl = checkOneOf("ttl", opts.ttl ?? "ignore", ["ignore", "honour"] as const, ctx);
    const faults = checkInt("faultQueue", opts.faultQueue ?? 1024, 2, 1 << 16, ctx);
    if (!isPowerOfTwo(faults)) throw new ArgumentError("faultQueue", faults, "must be a power of two", ctx);

    let options = 0;
    if (invalidateAt === "sync") options |= L.OPT_INVALIDATE_AT_SYNC;
    if (ttl === "honour") options |= L.OPT_TTL_STRICT;
    if (injectDrop) options |= L.OPT_FAULT_DROP_TLBI;
    if (scope === "device") options |= L.OPT_IOTLB_PER_STREAM;
    const id = core.raw.smmu_create(options, entries / ways, ways, L[POLICY_CODES[policy]], seed,
      wc[0], wc[1], wc[2], wc[3], utlb, faults, L[SMMU_MODEL_CODES[model]]);
    checkCore(core, id, ctx, { argument: "iotlb.entries", value: entries, when: {
      ESIM_SLOTS_FULL: `at most ${L.MAX_SMMUS} SMMUs live at once`, ESIM_KHEAP: "its caches come from the kheap",
      ESIM_CACHE_TOO_BIG: `${entries / ways} sets of ${ways} way${ways === 1 ? "" : "s"}${scope === "device" ? " (each device's main TLB)" : ""}`,
    } });
    this.id = id;
    this.model = model;
    this.iotlbScope = scope;
    this.base = L.SMMUS_BASE + id * L.SMMU_DESC_SIZE;
    for (const [k, name] of COST_KEYS) core.raw.smmu_set_cost(id, L[name], costs[k]);
    core.raw.smmu_set_walkers(id, walkers);
    this.costs = Object.freeze(costs);
    this.faults = new RingReader(core, {
      head: this.base + L.S_FAULT_HEAD, base: core.readU32(this.base + L.S_FAULTS),
      capacity: core.readU32(this.base + L.S_FAULT_MASK) + 1, recordSize: L.FAULT_SIZE, what: `SMMU ${id} faults`,
    }, (rec) => readFault(core, rec));
    if (opts.oracle) {
      const o = opts.oracle === true ? {} : opts.oracle;
      const cap = checkInt("oracle.capacity", o.capacity ?? 16384, 2, ORACLE_MAX_PAGES, ctx);
      const ring = checkInt("oracle.violations", o.violations ?? 1024, 2, 1 << 16, ctx);
      if (!isPowerOfTwo(cap) || !isPowerOfTwo(ring)) {
        core.raw.smmu_destroy(id);
        throw new ArgumentError("oracle", o, "capacity and violations must be powers of two", ctx);
      }
      const rc = core.raw.smmu_oracle_enable(id, cap, ring);
      if (rc !== 0) {
        core.raw.smmu_destroy(id);
        throw coreError(core, rc, ctx, { detail: "the oracle's shadow and violation log come from the kheap" });
      }
      this.oracle = new Oracle(core, id, core.readU32(this.base + L.S_ORACLE), cap);
    }
    own(this, core);
  }

  /**
   * Attach a device (stream `streamId`) to a domain: program its stream-table entry from the
   * domain's page table (base, input size, granule, start level, output size) and stage,
   * and send the domain's invalidation commands to this SMMU.
   */
  attachDevice(streamId: number, domain: SmmuDomain): Device {
    this.live();
    const ctx = "attachDevice";
    checkInt("streamId", streamId, 0, this.core.layout.MAX_STREAMS - 1, ctx);
    checkOwned("domain", domain, this.core, "an SmmuDomain (Simulator.createSmmuDomain)", ctx, SmmuDomain);
    if (this.devices.has(streamId)) throw new ArgumentError("streamId", streamId, "is already attached on this SMMU (detach it first)", ctx);
    const pt = domain.pageTable;
    const g = pt.geometry;
    if (domain.smmu && domain.smmu !== this) {
      // As the kernel's arm-smmu-v3 refuses: a domain's invalidations go to one SMMU.
      throw new ArgumentError("domain", `SMMU domain ${domain.id}`, `is already attached to SMMU ${domain.smmu.id}, and a domain serves one SMMU`, ctx);
    }
    if (this.model !== "v3") this.checkV2Domain(streamId, domain, ctx);
    this.bindDomain(domain, ctx, "domain");
    const rc = this.model !== "v3"
      ? this.core.raw.smmu_v2_attach(this.id, streamId, domain.id, g.ttbr, tcrWord(g), Number(BigInt.asUintN(32, g.mair ?? 0n)),
          g.ias, Math.log2(g.granule), g.startLevel, g.oas)
      : this.core.raw.smmu_ste_set(this.id, streamId, domain.id, g.ttbr, g.ias, Math.log2(g.granule), g.startLevel, g.oas);
    checkCore(this.core, rc, ctx, { detail: `stream ${streamId}` });
    const dev = new Device(this.core, this, streamId, pt);
    this.devices.set(streamId, dev);
    return dev;
  }

  /**
   * @internal Send SMMU domain `domain`'s commands to this SMMU from now on — refused when
   * another domain here already has its ASID (stage 1) or VMID (stage 2), or its cache context
   * (ASID 0 and VMID 0 are one): the two would share cache entries and each other's
   * invalidations, and the oracle would judge one domain's accesses by the other's maps.
   * `field` names what the caller chose the context with.
   */
  bindDomain(domain: SmmuDomain, ctx: string, field: string): void {
    const holder = this.contextHolder(domain.stage, domain.asidOrVmid);
    if (holder >= 0 && holder !== domain.id) {
      const what = domain.stage === 1 ? "ASID" : "VMID";
      const value = field === "domain" ? `SMMU domain ${domain.id} (${what} ${domain.asidOrVmid})` : domain.asidOrVmid;
      const has = field === "domain" ? `has ${what} ${domain.asidOrVmid}, which is` : "is";
      const other = [...this.domains].find((d) => d.id === holder);
      if (other !== undefined && other.stage !== domain.stage) {
        throw new ArgumentError(field, value, `${has} the cache context of SMMU domain ${holder} (stage ${other.stage}, ` +
          `${other.stage === 1 ? "ASID" : "VMID"} 0) on SMMU ${this.id}: a stage-1 context is its ASID with VMID 0 and a ` +
          "stage-2 one its VMID with ASID 0, so ASID 0 and VMID 0 cannot both be used on one SMMU (the kernel " +
          "allocates both from 1); give one of them another id", ctx);
      }
      throw new ArgumentError(field, value, `${has} already in use on SMMU ${this.id} by SMMU domain ${holder} ` +
        `(a DmaDomain's is its smmuDomain); each domain on an SMMU needs its own ${what}`, ctx);
    }
    checkCore(this.core, this.core.raw.smmu_domain_set_smmu(domain.id, this.id), ctx, { detail: `SMMU domain ${domain.id}` });
    domain.smmu = this;
    this.domains.add(domain);
  }

  /**
   * @internal The SMMU domain (its id) whose cache context here is that of stage `stage`'s
   * `asidOrVmid` (ASID 0 and VMID 0 are one), or -1 (the core's table says).
   */
  contextHolder(stage: 1 | 2, asidOrVmid: number): number {
    return this.core.raw.smmu_context_holder(this.id, stage, asidOrVmid);
  }

  /** What an SMMU v1/v2 cannot take: a stream ID past SMR.ID's 15 bits, a VMID past CBAR's 8. */
  private checkV2Domain(streamId: number, domain: SmmuDomain, ctx: string): void {
    const L = this.core.layout;
    if (streamId > L.SMR_ID_MASK) {
      throw new ArgumentError("streamId", streamId, `must fit an SMMU ${this.model} stream match register's ID (0..${L.SMR_ID_MASK})`, ctx);
    }
    if (domain.stage === 2 && domain.asidOrVmid > L.CBAR_VMID_MASK) {
      throw new ArgumentError("domain", `SMMU domain ${domain.id} (VMID ${domain.asidOrVmid})`,
        `has a VMID above ${L.CBAR_VMID_MASK}: an SMMU ${this.model}'s CBAR holds 8-bit VMIDs (16-bit VMIDs are not modelled)`, ctx);
    }
  }

  /** @internal */
  detach(dev: Device): void {
    this.core.raw.smmu_ste_clear(this.id, dev.streamId);
    this.devices.delete(dev.streamId);
  }

  private stat(name: LayoutNamesWith<"STAT_">): number {
    const L = this.core.layout;
    return Number(this.core.readU64(this.base + L.S_STATS + 8 * L[name]));
  }

  /** Each kind's counter sits where the core says (cmd_kind_index), so no second list of positions is kept here. */
  private commandsByKind(): Record<CommandKind, number> {
    const L = this.core.layout;
    const at = (k: CommandKind) => this.base + L.S_STATS + 8 * (L.STAT_BY_KIND + this.core.raw.cmd_kind_index(L[coreOpcodeName(k)]));
    return Object.fromEntries(COMMAND_KINDS.map((k) => [k, Number(this.core.readU64(at(k)))])) as Record<CommandKind, number>;
  }

  /** The SMMU v1/v2's register counters (zeros on an SMMUv3, which has none). */
  private registersByKind(): Record<RegisterKind, number> {
    const L = this.core.layout;
    const v2 = this.core.readU32(this.base + L.S_V2);
    const at = (k: RegisterKind) => v2 + L.V2S_REG_STATS + 8 * L[coreRegisterName(k)];
    return Object.fromEntries(REGISTER_KINDS.map((k) => [k, v2 === 0 ? 0 : Number(this.core.readU64(at(k)))])) as Record<RegisterKind, number>;
  }

  /** A cache's counters, each read by `read` from its offset in a CacheHeader. */
  private cacheCounters(read: (offset: number) => number): CacheStats {
    const L = this.core.layout;
    return { hits: read(L.C_HITS), misses: read(L.C_MISSES), fills: read(L.C_FILLS), evictions: read(L.C_EVICTIONS), invalidated: read(L.C_INVALIDATED) };
  }

  private cacheStats(ptr: number): CacheStats | null {
    return ptr === 0 ? null : this.cacheCounters((off) => Number(this.core.readU64(ptr + off)));
  }

  /** The IOTLB counters: the shared IOTLB's, or the sum of every device's main TLB (the core adds them up). */
  private iotlbStats(): CacheStats {
    return this.cacheCounters((off) => this.core.raw.smmu_iotlb_counter(this.id, off));
  }

  /** The stream IDs of the devices attached now, ascending. */
  get streamIds(): number[] {
    return [...this.devices.keys()].sort((a, b) => a - b);
  }

  /** @internal Where the statistics counters live (workers sample them during a run). */
  get statsAddress(): number {
    return this.base + this.core.layout.S_STATS;
  }

  /** The SMMU's counters: walks, PTE reads, cache hits and misses, commands, faults. */
  stats(): SmmuStats {
    this.live();
    this.core.raw.smmu_settle(this.id); // flushed contexts' entries counted (assembly/smmu/context-gen.ts)
    const L = this.core.layout;
    return {
      translations: this.stat("STAT_TRANSLATIONS"), microTlbHits: this.stat("STAT_UTLB_HITS"),
      iotlbHits: this.stat("STAT_IOTLB_HITS"), iotlbMisses: this.stat("STAT_IOTLB_MISSES"),
      walks: this.stat("STAT_WALKS"), pteReads: this.stat("STAT_PTE_READS"),
      walkCacheHits: this.stat("STAT_WALKC_HITS"), faults: this.stat("STAT_FAULTS"),
      tlbi: { va: this.stat("STAT_TLBI_VA"), context: this.stat("STAT_TLBI_CONTEXT"), all: this.stat("STAT_TLBI_ALL") },
      syncs: this.stat("STAT_SYNCS"), commands: this.stat("STAT_CMDS"), illegalCommands: this.stat("STAT_CMD_ILLEGAL"),
      commandsByKind: this.commandsByKind(),
      entriesInvalidated: this.stat("STAT_ENTRIES_INVALIDATED"), modelledNs: this.stat("STAT_MODELLED_NS"),
      walksQueued: this.stat("STAT_WALKS_QUEUED"), walkWaitNs: this.stat("STAT_WALK_WAIT_NS"),
      registersByKind: this.registersByKind(),
      iotlb: this.iotlbStats(),
      walkCache: [0, 1, 2, 3].map((l) => this.cacheStats(this.core.readU32(this.base + L.S_WALKC + 4 * l))),
    };
  }

  /**
   * Every entry of an IOTLB, read straight from the shared memory without a lock: safe to
   * call while workers translate, fill and invalidate (for watching a run). Each entry is read
   * under its seqlock; one still being written after a few tries is reported as it was read.
   * Which IOTLB: the SMMU's shared one (scope "smmu"; `streamId` may name any attached
   * device, all use it), or the main TLB of device `streamId` (scope "device": required; on
   * an SMMU v1/v2, the main TLB of the context bank the stream matches into).
   */
  iotlbSnapshot(streamId?: number): IotlbSnapshot {
    this.live();
    const ctx = "Smmu.iotlbSnapshot";
    const L = this.core.layout;
    if (streamId !== undefined) {
      checkInt("streamId", streamId, 0, L.MAX_STREAMS - 1, ctx);
      if (!this.devices.has(streamId)) throw new ArgumentError("streamId", streamId, "is not a device attached to this SMMU", ctx);
    } else if (this.iotlbScope === "device") {
      throw new ArgumentError("streamId", streamId, "must name the device whose main TLB to read: this SMMU's IOTLB scope is " +
        `"device" (one per device; attached: ${this.streamIds.join(", ") || "none"})`, ctx);
    }
    this.core.raw.smmu_settle(this.id); // entries of flushed contexts read as the invalid ones they are
    const c = this.iotlbScope === "device" ? this.core.raw.smmu_stream_iotlb(this.id, streamId!) : this.core.readU32(this.base + L.S_IOTLB);
    if (c === 0) throw new ArgumentError("streamId", streamId, "translates through no main TLB: its stream match bypasses or faults", ctx);
    const sets = this.core.readU32(c + L.C_SETS);
    const ways = this.core.readU32(c + L.C_WAYS);
    const first = this.core.readU32(c + L.C_ENTRIES);
    const entries: IotlbEntry[] = [];
    for (let i = 0; i < sets * ways; i++) entries.push(this.readCacheEntry(first + i * L.CACHE_ENTRY_SIZE));
    return this.iotlbScope === "device" ? { sets, ways, entries, streamId } : { sets, ways, entries };
  }

  private readCacheEntry(e: number): IotlbEntry {
    const L = this.core.layout;
    let entry!: IotlbEntry;
    for (let tries = 0; tries < 4; tries++) {
      const seq = Atomics.load(this.core.u32, (e + L.CE_SEQ) >>> 2);
      const meta = this.core.readU32(e + L.CE_META);
      const shift = (meta >> 8) & 0xff;
      entry = { valid: (meta & L.META_VALID) !== 0, tag: this.core.readU64Number(e + L.CE_TAG),
                ctx: this.core.readU32(e + L.CE_CTX), shift, leaf: (meta & L.META_LEAF) !== 0,
                out: this.core.readU64Number(e + L.CE_OUT) };
      if ((seq & 1) === 0 && Atomics.load(this.core.u32, (e + L.CE_SEQ) >>> 2) === seq) break;
    }
    return entry;
  }

  /** Faults recorded since the last call (the queue is a ring: throws if it wrapped). */
  takeFaults(): Fault[] {
    this.live();
    return this.faults.take();
  }

  /**
   * Submit a command directly to this SMMU's queue, as an emulated driver or a test rig
   * would (the kernel-driver path is a page table's SMMU domain). A range TLBI without `tg`
   * invalidates the entries holding `addr`; with it, (num + 1)·2^scale pages from `addr`.
   */
  submit(cmd: SmmuCommandInput): void {
    this.live();
    const L = this.core.layout;
    const ctx = "Smmu.submit";
    this.needModel("v3", ctx, "has no command queue: write its registers with Smmu.writeRegister");
    const id16 = (n: string, v: unknown) => checkInt(n, v ?? 0, 0, 0xffff, ctx);
    if (typeof cmd !== "object" || cmd === null || Array.isArray(cmd)) throw new ArgumentError("command", cmd, "must be an object with an op", ctx);
    const kind = commandKindOf(cmd.op);
    if (kind !== undefined) checkCommandFields(cmd, kind, ctx);
    switch (kind) {
      case "CMD_TLBI_NH_VA": case "CMD_TLBI_NH_VAA": case "CMD_TLBI_EL2_VA": case "CMD_TLBI_S2_IPA": {
        const c = cmd as Extract<SmmuCommandInput, { addr: number }>;
        const addr = checkAddress("addr", c.addr, ctx);
        this.core.raw.smmu_cmd_tlbi_range(this.id, L[coreOpcodeName(kind)], id16("asid", c.asid), id16("vmid", c.vmid),
          Math.floor(addr / 2 ** 32), addr % 2 ** 32, checkBool("leaf", c.leaf, false, ctx), checkInt("ttl", c.ttl ?? 0, 0, 3, ctx),
          checkInt("tg", c.tg ?? 0, 0, 3, ctx), checkInt("scale", c.scale ?? 0, 0, 31, ctx), checkInt("num", c.num ?? 0, 0, 31, ctx));
        return;
      }
      case "CMD_TLBI_NH_ASID": case "CMD_TLBI_EL2_ASID": case "CMD_TLBI_S12_VMALL": case "CMD_TLBI_NH_ALL":
      case "CMD_TLBI_NSNH_ALL": case "CMD_TLBI_EL2_ALL":
        this.core.raw.smmu_cmd_tlbi_context(this.id, L[coreOpcodeName(kind)],
          id16("asid", (cmd as { asid?: number }).asid), id16("vmid", (cmd as { vmid?: number }).vmid));
        return;
      case "CMD_SYNC":
        this.core.raw.smmu_cmd_sync(this.id);
        return;
      case "CMD_CFGI_STE": case "CMD_CFGI_CD": case "CMD_CFGI_ALL": case "CMD_CFGI_CD_ALL": {
        // SID in dw0[63:32], SSID in dw0[31:12]; CFGI_ALL's RANGE (dw1[4:0]) = 31. Counted only:
        // no configuration cache is modelled (stream-table entries are read on every walk).
        const sid = checkInt("streamId", (cmd as { streamId?: number }).streamId ?? 0, 0, 2 ** 32 - 1, ctx);
        const ssid = checkInt("ssid", (cmd as { ssid?: number }).ssid ?? 0, 0, 0xfffff, ctx);
        this.submitRaw(BigInt(L[coreOpcodeName(kind)]) | (BigInt(ssid) << 12n) | (BigInt(sid) << 32n),
          kind === "CMD_CFGI_ALL" ? 31n : 0n);
        return;
      }
      default:
        throw new ArgumentError("op", (cmd as { op?: unknown })?.op, "must be an SMMUv3 command name: CMD_TLBI_*, CMD_CFGI_* or CMD_SYNC", ctx);
    }
  }

  /** Submit a raw 16-byte command (two 64-bit words, as in the queue) — for emulators. */
  submitRaw(dw0: bigint, dw1: bigint): void {
    this.live();
    this.needModel("v3", "Smmu.submitRaw", "has no command queue: write its registers with Smmu.writeRegister");
    for (const [n, v] of [["dw0", dw0], ["dw1", dw1]] as const) {
      if (typeof v !== "bigint" || v < 0n || v >= 1n << 64n) throw new ArgumentError(n, v, "must be a bigint in [0, 2^64)", "Smmu.submitRaw");
    }
    const lo = (v: bigint) => Number(v & 0xffffffffn);
    const hi = (v: bigint) => Number(v >> 32n);
    const rc = this.core.raw.smmu_cmd_raw(this.id, lo(dw0), hi(dw0), lo(dw1), hi(dw1));
    if (rc !== 0) throw coreError(this.core, rc, "Smmu.submitRaw", { argument: "dw0", value: dw0, detail: `opcode ${hex(Number(dw0 & 0xffn))}` });
  }

  /**
   * SMMU v1/v2: write one TLB-maintenance or sync register, as a test rig or an emulated
   * driver would (the kernel-driver path is a page table's SMMU domain). `cb`: the context
   * bank, for a context bank's register (TLBIVA … TLBSYNC); `value`: what is written, in
   * the AArch64 context format (TLBIVA/VAL: VA >> 12 | ASID << 48; TLBIIPAS2/L: IPA >> 12;
   * TLBIASID: the ASID; TLBIVMID: the VMID; the others ignore it).
   */
  writeRegister(register: RegisterKind, options: { cb?: number; value?: bigint | number } = {}): void {
    this.live();
    const ctx = "Smmu.writeRegister";
    this.needModel("v2", ctx, "has no TLB-maintenance registers: submit commands with Smmu.submit");
    const L = this.core.layout;
    const kind = registerKindOf(register);
    if (kind === undefined || STATUS_REGISTERS.includes(kind)) {
      throw new ArgumentError("register", register, `must be a register the model writes: ${REGISTER_KINDS.filter((k) => !STATUS_REGISTERS.includes(k)).join(", ")}`, ctx);
    }
    checkOptions(options, ["cb", "value"], ctx);
    const global = isGlobalRegister(kind);
    if (global && options.cb !== undefined) throw new ArgumentError("cb", options.cb, `must be left out: ${kind} is a global register`, ctx);
    const cb = global ? 0 : checkInt("cb", options.cb, 0, L.V2_NUM_CBS - 1, ctx);
    const raw = options.value ?? 0n;
    if (!((typeof raw === "bigint" && raw >= 0n && raw < 1n << 64n) || (Number.isSafeInteger(raw) && (raw as number) >= 0))) {
      throw new ArgumentError("value", raw, "must be a bigint in [0, 2^64) or a non-negative safe integer", ctx);
    }
    const v = BigInt(raw);
    checkCore(this.core, this.core.raw.smmu_v2_write(this.id, L[coreRegisterName(kind)], cb, Number(v >> 32n), Number(v & 0xffffffffn)), ctx);
  }

  /**
   * SMMU v1/v2: program stream match register `index` and its S2CR (the driver's own
   * stream mapping is done by attachDevice): the stream IDs that match (`id`, ignoring the
   * bits set in `mask`), and what they get — translation in context bank `cb`, bypass, or a
   * fault. `valid: false` turns the SMR off.
   */
  setStreamMatch(index: number, entry: { id: number; mask?: number; type: "translate" | "bypass" | "fault"; cb?: number; valid?: boolean }): void {
    this.live();
    const ctx = "Smmu.setStreamMatch";
    this.needModel("v2", ctx, "has a stream table, not stream match registers");
    const L = this.core.layout;
    checkInt("index", index, 0, L.V2_NUM_SMRS - 1, ctx);
    checkOptions(entry, ["id", "mask", "type", "cb", "valid"], ctx, "entry");
    const id = checkInt("entry.id", entry.id, 0, L.SMR_ID_MASK, ctx);
    const mask = checkInt("entry.mask", entry.mask ?? 0, 0, L.SMR_ID_MASK, ctx);
    const type = checkOneOf("entry.type", entry.type, ["translate", "bypass", "fault"] as const, ctx);
    if (type !== "translate" && entry.cb !== undefined) throw new ArgumentError("entry.cb", entry.cb, `must be left out for type "${type}"`, ctx);
    const cb = type === "translate" ? checkInt("entry.cb", entry.cb, 0, L.V2_NUM_CBS - 1, ctx) : 0;
    const valid = checkBool("entry.valid", entry.valid, true, ctx);
    const code = { translate: L.S2CR_TYPE_TRANS, bypass: L.S2CR_TYPE_BYPASS, fault: L.S2CR_TYPE_FAULT }[type];
    const smr = ((valid ? L.SMR_VALID : 0) | (mask << L.SMR_MASK_LO) | id) >>> 0;
    checkCore(this.core, this.core.raw.smmu_v2_stream_match(this.id, index, smr, ((code << L.S2CR_TYPE_LO) | cb) >>> 0), ctx);
  }

  /** SMMU v1/v2: a context bank's registers as the model holds them. */
  contextBank(cb: number): ContextBankState {
    this.live();
    const ctx = "Smmu.contextBank";
    this.needModel("v2", ctx, "has no context banks");
    const L = this.core.layout;
    checkInt("cb", cb, 0, L.V2_NUM_CBS - 1, ctx);
    const b = this.core.readU32(this.base + L.S_V2) + L.V2S_CBS + cb * L.V2_CB_SIZE;
    return {
      cbar: this.core.readU32(b + L.CB_CBAR), sctlr: this.core.readU32(b + L.CB_SCTLR), tcr: this.core.readU32(b + L.CB_TCR),
      mair0: this.core.readU32(b + L.CB_MAIR0), ttbr0: this.core.readU64(b + L.CB_TTBR0), fsr: this.core.readU32(b + L.CB_FSR),
      far: this.core.readU64Number(b + L.CB_FAR), tlbStatus: this.core.readU32(b + L.CB_TLBSTATUS),
      domain: this.core.readU32(b + L.CB_DOMAIN) - 1,
    };
  }

  private needModel(want: "v3" | "v2", ctx: string, why: string): void {
    const ok = want === "v3" ? this.model === "v3" : this.model !== "v3";
    if (!ok) throw new ArgumentError("smmu", `SMMU ${this.id} (model ${this.model})`, why, ctx);
  }

  /** Detach every device and free the SMMU's caches. */
  destroy(): void {
    if (this.destroyed) return;
    refuseDuringRun(this.core, "Smmu.destroy", `SMMU ${this.id}`, "destroyed");
    asOneTeardown(this.core, () => { for (const d of [...this.devices.values()]) d.detach(); });
    this.core.raw.smmu_destroy(this.id); // which unbinds its domains there too
    for (const d of this.domains) d.smmu = undefined;
    this.destroyed = true;
  }

  private live(): void {
    if (this.destroyed) throw new IommuSimError(`iommu-sim: SMMU ${this.id} was destroyed`);
  }
}

function faultTypeOf(core: Core, code: number): FaultType {
  const L = core.layout;
  switch (code) {
    case L.F_BAD_STREAM: return "bad-stream";
    case L.F_TRANSLATION: return "translation";
    case L.F_ADDR_SIZE: return "address-size";
    case L.F_ACCESS: return "access";
    case L.F_PERMISSION: return "permission";
    case L.F_WALK_EABT: return "walk-external-abort";
    default: throw new IommuSimError(`iommu-sim: unknown fault type ${code}`);
  }
}

function readFault(core: Core, rec: number): Fault {
  const L = core.layout;
  return withJsonForm({
    type: faultTypeOf(core, core.readU32(rec + L.FR_TYPE)), streamId: core.readU32(rec + L.FR_SID),
    iova: core.readU64Number(rec + L.FR_IOVA), level: core.readU32(rec + L.FR_LEVEL), info: core.readU64(rec + L.FR_INFO),
  });
}

/** An SMMU v1/v2 context bank's registers (Smmu.contextBank). */
export interface ContextBankState {
  /** SMMU_CBARn: TYPE in [17:16] (0: stage 2, 1: stage 1 with stage 2 bypassed), VMID in [7:0]. */
  cbar: number;
  /** SMMU_CBn_SCTLR (bit 0, M: translation on). */
  sctlr: number;
  /** SMMU_CBn_TCR: T0SZ, IRGN0, ORGN0, SH0, TG0 (and SL0, PS at stage 2) as io-pgtable computed them. */
  tcr: number;
  /** SMMU_CBn_S1_MAIR0 (stage 1). */
  mair0: number;
  /** SMMU_CBn_TTBR0: the table base, with the ASID in [63:48] at stage 1. */
  ttbr0: bigint;
  /** SMMU_CBn_FSR: fault status bits of context faults (TF, AFF, PF, EF). */
  fsr: number;
  /** SMMU_CBn_FAR: the address of the last context fault. */
  far: number;
  /** SMMU_CBn_TLBSTATUS.SACTIVE: 1 while a TLBSYNC is in progress (always 0 between calls). */
  tlbStatus: number;
  /** The SMMU domain the bank serves (-1: free). */
  domain: number;
}

/**
 * The TCR word of a table's geometry for a context bank (architecture field positions):
 * T0SZ [5:0], IRGN0 [9:8], ORGN0 [11:10], SH0 [13:12], TG0 [15:14]; stage 2 also SL0 [7:6]
 * and PS [18:16].
 */
function tcrWord(g: import("../pgtable.js").Geometry): number {
  const t = g.tcr;
  let w = t.tsz | (t.irgn << 8) | (t.orgn << 10) | (t.sh << 12) | (t.tg << 14);
  if (t.sl !== undefined) w |= (t.sl << 6) | (t.ps << 16);
  return w >>> 0;
}

/** A device (a stream ID) attached to an SMMU: its DMA accesses are translated by the SMMU. */
export class Device {
  private attached = true;

  /** @internal Use Smmu.attachDevice. */
  constructor(private readonly core: Core, readonly smmu: Smmu, readonly streamId: number,
              readonly pageTable: PageTable) {
    own(this, core);
  }

  /**
   * A DMA access of `length` bytes from `iova`, translated page by page (granule-sized
   * pieces) through the SMMU. Stops at the first fault.
   */
  access(iova: number, length: number, kind: "read" | "write", options?: { privileged?: boolean }): AccessResult {
    if (!this.attached) throw new IommuSimError(`iommu-sim: device ${this.streamId} was detached`);
    const ctx = "access";
    const opts = checkOptions(options, ["privileged"], ctx);
    checkBool("privileged", opts.privileged, false, ctx);
    checkAddress("iova", iova, ctx);
    checkInt("length", length, 1, 2 ** 32, ctx);
    checkOneOf("kind", kind, ["read", "write"] as const, ctx);
    if (iova + length - 1 > Number.MAX_SAFE_INTEGER) throw new ArgumentError("length", length, "runs past 2^53", ctx);
    const L = this.core.layout;
    const access = (kind === "write" ? L.ACCESS_WRITE : 0) | (opts.privileged ? L.ACCESS_PRIV : 0);
    const gran = this.pageTable.geometry.granule;
    const segments: AccessSegment[] = [];
    for (let a = iova; a < iova + length;) {
      const bytes = Math.min(iova + length - a, gran - (a % gran));
      const rc = this.core.raw.smmu_translate(this.smmu.id, this.streamId, a, access);
      if (rc !== 0) {
        const info = this.core.resultU64(L.AR_FAULT_INFO);
        const fault: Fault = withJsonForm({ type: faultTypeOf(this.core, rc), streamId: this.streamId, iova: a,
          level: this.core.result32(L.AR_FAULT_LEVEL), info });
        return { ok: false, fault, segments };
      }
      const where = this.core.result32(L.AR_HIT);
      const seg: AccessSegment = { iova: a, pa: Number(this.core.resultU64(L.AR_PA)), bytes,
        from: where === L.HIT_UTLB ? "micro-tlb" : where === L.HIT_IOTLB ? "iotlb" : where === L.HIT_BYPASS ? "bypass" : "walk" };
      if (this.smmu.oracle) seg.check = accessClassOf(this.core, this.core.result32(L.AR_ORACLE_CLASS));
      segments.push(seg);
      a += bytes;
    }
    return { ok: true, pa: segments[0]!.pa, segments };
  }

  /**
   * This device's DMA engine: a descriptor ring the driver posts to and the device takes
   * from (batched in Wasm); with `attacker`, it also keeps and retries old IOVAs.
   */
  engine(opts?: DmaEngineOptions): DmaEngine {
    if (!this.attached) throw new IommuSimError(`iommu-sim: device ${this.streamId} was detached`);
    return DmaEngine.create(this.core, this.smmu.id, this.streamId, this.pageTable.geometry.granule, opts);
  }

  /** Remove the device from the SMMU's stream table (again: nothing happens). */
  detach(): void {
    if (!this.attached) return;
    refuseDuringRun(this.core, "Device.detach", `the device on stream ${this.streamId}`, "detached");
    this.smmu.detach(this);
    this.attached = false;
  }

  /** The device in words: stream, SMMU, page table and its base address. */
  toString(): string {
    return `Device(stream ${this.streamId} on SMMU ${this.smmu.id}, table ${this.pageTable.id}, TTB ${hex(this.pageTable.geometry.ttbr)})`;
  }
}
