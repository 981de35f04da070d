// The DMA API over an SMMUv3: DMA domains (strict DMA or lazy DMA-FQ, the dma-iommu cookie
// with its flush queue) and the devices that map buffers through them. The algorithms run
// in the Wasm core (assembly/dma/); this is the typed, checked face of them, plus the live
// strict→lazy switch of the seed mail and the variants of it the thread discussed.
//
// Kernel behaviour followed: drivers/iommu/dma-iommu.c and iommu.c of the simulator's
// profile (its behaviours, src/profile.ts) — reference §1, §2, §4.9, §6.4.

import type { Core } from "../bindings/core.js";
import type { LayoutName } from "../bindings/layout.js";
import { ArgumentError, ConfigError, IommuSimError, hex } from "./errors.js";
import { asOneTeardown, refuseDuringRun } from "./run-guard.js";
import { checkCore, checkKheap, coreError, errnoName, isErrno, kheapAllocFailures, type ErrnoName } from "./errno.js";
import { checkAddress, checkBool, checkInt, checkOneOf, checkOptions, checkOwned, checkRequiredOptions, own, type OptionKeys } from "./validate.js";
import { PageTable } from "./pgtable.js";
import { IovaDomain } from "./iova.js";
import { SmmuDomain } from "./smmu/domain.js";
import { Smmu, type Device, type AccessResult } from "./smmu/smmu.js";
import { DmaEngine, type DmaEngineOptions } from "./device/engine.js";
import { machineBehaviourBits, machineHas, type Profile } from "./profile.js";
import type { SeedVariant } from "./variants/seed.js";
import type { VariantDefinition } from "./variants/vocabulary.js";
import { loadProgram, resolveVariant } from "./variants/program.js";
import { stoppedClaimNote } from "./stopped-workers.js";

// Which code the live switch and the unmap path run (the seed thread, reference §1): a
// variant — one of the thread's, by name (SEED_VARIANTS: merged, v2-two-reads, v2-hoisted,
// no-wmb; src/variants/seed.ts), or a user's own definition in the variant vocabulary.
export { SEED_VARIANTS, type SeedVariant } from "./variants/seed.js";

export type DomainType = "DMA" | "DMA-FQ";
export type DmaDirection = keyof typeof DIRECTION_CODES;
/** enum dma_data_direction, by the core's names (assembly/dma/iommu.ts). */
export const DIRECTION_CODES = {
  "bidirectional": "DMA_BIDIRECTIONAL", "to-device": "DMA_TO_DEVICE", "from-device": "DMA_FROM_DEVICE",
} as const satisfies Record<string, LayoutName>;
const DIRECTIONS = Object.keys(DIRECTION_CODES) as DmaDirection[];

export interface DmaDomainOptions {
  /** The SMMU its devices sit behind (its oracle, if it has one, shadows every map and unmap). */
  smmu: Smmu;
  /** DMA (strict, the default) or DMA-FQ (lazy: the flush queue is built at creation). */
  type?: DomainType;
  /** The switch and unmap code to run: a seed variant's name, or your own definition. Default 'merged'. */
  variant?: SeedVariant | VariantDefinition;
  /** IOVA granule = smallest IOMMU page: 4096 (default), 16384 or 65536. */
  granule?: 4096 | 16384 | 65536;
  /** IOVA bits of the stage-1 table (the domain's aperture). Default 48. */
  ias?: number;
  /** Output (physical) address bits of the stage-1 table. Default 48. */
  oas?: number;
  /** Simulated CPUs that map and unmap (each with its own IOVA caches and flush-queue ring). Default 4. */
  cpus?: number;
  /**
   * ASID of the domain's context, one no other domain on the SMMU has. Default: the first
   * free one from 1 + the page table's id.
   */
  asid?: number;
  /** v7.1 only: 'single' is the one shared queue of 32768 entries and 1000 ms (shadow_on_flush). */
  fqMode?: "percpu" | "single";
  /** iommu.forcedac: no 32-bit-first IOVA attempt for PCI devices. Default false. */
  forcedac?: boolean;
  /**
   * Put removed table pages on the gather's freelist, freed after the invalidation that
   * covers them (the strict sync, or the flush-queue entry's release), instead of
   * io-pgtable-arm's synchronous walk flush and free. Default false (the Arm path).
   */
  deferTableFree?: boolean;
  /** The SMMU implements range invalidation. Default true. */
  rangeInvalidation?: boolean;
  /** The IOVA allocator's IOVA_MAG_SIZE, when not the profile's (IovaDomainOptions.magazineSize). */
  magazineSize?: number;
}

/**
 * Why the kernel refuses a live DMA → DMA-FQ switch of a domain with `devices` devices, or
 * undefined when it allows it: before the group-ownership rework (DMA_SWITCH_OWNED_GROUPS)
 * a live group's type changed only when the group held exactly one device.
 */
export function lazySwitchRefusal(kernel: string, ownedGroups: boolean, devices: number): string | undefined {
  if (ownedGroups || devices === 1) return undefined;
  return `${kernel} changes a live group's type only when it holds exactly one device; this domain has ${devices} (-EINVAL)`;
}

/** The first ASID from `from` up (then from 1: ASID 0 stays for explicit use) no domain on `smmu` has. */
function freeAsid(smmu: Smmu, from: number): number {
  for (let i = 0; i < 0xffff; i++) {
    const asid = 1 + (from - 1 + i) % 0xffff;
    if (smmu.contextHolder(1, asid) < 0) return asid;
  }
  throw new ArgumentError("smmu", smmu, "has no free ASID left (every one of 1..65535 is in use)", "createDmaDomain");
}

/**
 * Why the kernel refuses to change a live group's type from `from` to `to` (`kernel` names
 * the profile; `ownedGroups`, DMA_SWITCH_OWNED_GROUPS; `devices` attached, i.e. a driver
 * bound), or undefined when it goes ahead (or, for the type the group has, does nothing).
 * DMA → DMA-FQ follows lazySwitchRefusal; with a driver bound every other change — the
 * reverse, or the type the group already has — is refused: v5.15 -EBUSY (after its rule of
 * one device per live group), later -EPERM while the group has an owner.
 */
export function liveTypeRefusal(kernel: string, ownedGroups: boolean, devices: number, from: DomainType,
                                to: DomainType): string | undefined {
  if (from === "DMA" && to === "DMA-FQ") return lazySwitchRefusal(kernel, ownedGroups, devices);
  if (devices === 0) return undefined;
  const group = lazySwitchRefusal(kernel, ownedGroups, devices);
  if (group) return group;
  const why = from === to ? `this domain is ${to} already` : "lazy → strict needs a new domain, i.e. a driver unbind";
  return `${from} → ${to} on a domain with ${devices} device(s) attached is refused (${ownedGroups ? "-EPERM" : "-EBUSY"}): ` +
    `with a driver bound the kernel changes a live group's type only from DMA to DMA-FQ; ${why}`;
}

export interface DmaDeviceOptions {
  /** The device's stream ID on the domain's SMMU. */
  streamId: number;
  /** DMA mask as a bit count: 32 → DMA_BIT_MASK(32). Default 64. */
  dmaMask?: number;
  /** PCI devices get 32-bit IOVAs first (SAC), platform devices do not. Default 'pci'. */
  bus?: "pci" | "platform";
  /** The device snoops caches (mappings get IOMMU_CACHE). Default true. */
  coherent?: boolean;
  /** bus_dma_limit, the highest address the bus can carry (0 = none). */
  busDmaLimit?: number;
}

export interface DmaMapOptions {
  /** The simulated CPU the call runs on (its IOVA caches). Default 0. */
  cpu?: number;
  /** Default 'bidirectional'. */
  dir?: DmaDirection;
  /** DMA_ATTR_PRIVILEGED. */
  privileged?: boolean;
}

const DMA_DOMAIN_OPTION_KEYS = {
  smmu: true, type: true, variant: true, granule: true, ias: true, oas: true, cpus: true, asid: true, fqMode: true,
  forcedac: true, deferTableFree: true, rangeInvalidation: true, magazineSize: true,
} as const satisfies OptionKeys<DmaDomainOptions>;
const DMA_DEVICE_OPTION_KEYS = {
  streamId: true, dmaMask: true, bus: true, coherent: true, busDmaLimit: true,
} as const satisfies OptionKeys<DmaDeviceOptions>;
const DMA_MAP_OPTION_KEYS = { cpu: true, dir: true, privileged: true } as const satisfies OptionKeys<DmaMapOptions>;

export interface DmaStats {
  maps: number;
  /** DMA_MAPPING_ERROR returns: no IOVA space, or the page table refused. */
  mapFailures: number;
  /** Unmaps that gave the IOVA back at once (strict), and that queued it (lazy). */
  strictUnmaps: number;
  lazyUnmaps: number;
  /**
   * The DMA layer's iotlb_sync calls after an unmap (one per strict unmap: its leaf
   * invalidations and a CMD_SYNC). A sync the gather forces in the middle of an unmap (a page
   * of another size, or a disjoint one) is not among them: the SMMU's CMD_SYNCs count it.
   */
  syncs: number;
  /** 32-bit-first attempts for PCI devices, and those that fell back to the full mask. */
  sacAttempts: number;
  sacFallbacks: number;
  /** WARNs: an unmap cleared fewer bytes than asked (the range was not all mapped). */
  shortUnmaps: number;
  /** Unmaps that skipped the sync yet freed the IOVA at once: the seed race's signature. */
  mixedDecisions: number;
  /** Unmaps that saw fq_domain set but found no queue (Will's hazard 1; the kernel would crash). */
  queueMissing: number;
  /** Live switches DMA → DMA-FQ done (a domain created as DMA-FQ does not count one). */
  switches: number;
}

/** Each statistic's index in the core's per-CPU counters (assembly/dma/domain.ts DS_*). */
export const DMA_STAT_CODES = {
  maps: "DS_MAPS", mapFailures: "DS_MAP_FAILS", strictUnmaps: "DS_UNMAPS_STRICT", lazyUnmaps: "DS_UNMAPS_LAZY",
  syncs: "DS_SYNCS", sacAttempts: "DS_SAC_TRIES", sacFallbacks: "DS_SAC_FALLBACKS", shortUnmaps: "DS_UNMAP_SHORT",
  mixedDecisions: "DS_MIXED", queueMissing: "DS_NO_QUEUE",
} as const satisfies Record<Exclude<keyof DmaStats, "switches">, LayoutName>;

/**
 * A DMA address could not be produced (the kernel's DMA_MAPPING_ERROR). `reason` says which
 * step failed: 'iova', no IOVA range of the size below the device's DMA limit; 'pgtable',
 * the page table refused the mapping with `errno` (its IOVA was freed at once).
 */
export class DmaMappingError extends IommuSimError {
  constructor(message: string, readonly reason: "iova" | "pgtable", readonly errno?: ErrnoName) {
    super(message);
  }
}

/** Why the page table refused a DMA mapping, in words, for an errno it returns (the rest: errno.ts). */
const MAP_ERRNO_HINTS: Partial<Record<ErrnoName, string>> = {
  ENOMEM: "it needed a new table page and the simulated RAM has none free (-ENOMEM): create the Simulator with a larger ramMiB",
  ERANGE: "a physical address of the buffer is at or above 2^oas, beyond what the table's output addresses can hold (-ERANGE; the kernel WARNs)",
};

const PGSIZE_BITMAPS: Record<number, number> = { 4096: 0x40201000, 16384: 0x02004000, 65536: 0x20010000 };

/**
 * The output sizes (oas, bits) a DMA domain's table can have: those TCR.IPS encodes
 * (io-pgtable-arm's arm_lpae_alloc_pgtable_s1 refuses the rest), up to the 48 bits this
 * package's domains take. A run scenario offers only these, so that a size the kernel would
 * refuse is told by its field path rather than by the page table when the run sets up.
 */
export const DMA_DOMAIN_OAS = [32, 36, 40, 42, 44, 48] as const;

/**
 * A DMA domain as dma-iommu makes one: its own stage-1 page table, an IOVA allocator, and a
 * context on an SMMU; strict (DMA: every unmap invalidates before it returns) or lazy
 * (DMA-FQ: unmapped IOVAs wait in a flush queue for a batched invalidation). Devices attach
 * to it (attachDevice) and map buffers through it. Made with Simulator.createDmaDomain.
 */
export class DmaDomain {
  readonly pageTable: PageTable;
  readonly iova: IovaDomain;
  readonly smmuDomain: SmmuDomain;
  readonly smmu: Smmu;
  /** The variant's name (a seed variant's, or the definition's). */
  readonly variant: string;
  /** The code it runs, as the variant vocabulary writes it. */
  readonly variantDefinition: VariantDefinition;
  readonly granule: number;
  readonly cpus: number;
  /** iommu.forcedac: no 32-bit-first attempt for PCI devices. */
  readonly forcedac: boolean;
  private readonly devices = new Set<DmaDevice>();
  private destroyed = false;
  /** Created as DMA-FQ: its queue was built at init, which the core counts as a switch. */
  private createdLazy = false;

  /** @internal Use Simulator.createDmaDomain. */
  constructor(private readonly core: Core, readonly profile: Profile, readonly id: number,
              parts: { pageTable: PageTable; iova: IovaDomain; smmuDomain: SmmuDomain; smmu: Smmu;
                       variant: string; variantDefinition: VariantDefinition; granule: number; cpus: number;
                       forcedac: boolean }) {
    this.pageTable = parts.pageTable;
    own(this, core);
    this.iova = parts.iova;
    this.smmuDomain = parts.smmuDomain;
    this.smmu = parts.smmu;
    this.variant = parts.variant;
    this.variantDefinition = parts.variantDefinition;
    this.granule = parts.granule;
    this.cpus = parts.cpus;
    this.forcedac = parts.forcedac;
  }

  /** @internal */
  static create(core: Core, profile: Profile, pageTable: (cfg: object) => PageTable,
                opts: DmaDomainOptions): DmaDomain {
    const ctx = "createDmaDomain";
    checkRequiredOptions(opts, DMA_DOMAIN_OPTION_KEYS, ctx, "with at least smmu");
    checkOwned("smmu", opts.smmu, core, "an Smmu (Simulator.createSmmu)", ctx, Smmu);
    const forcedac = checkBool("forcedac", opts.forcedac, false, ctx);
    const deferTableFree = checkBool("deferTableFree", opts.deferTableFree, false, ctx);
    const rangeInvalidation = checkBool("rangeInvalidation", opts.rangeInvalidation, true, ctx);
    const type = checkOneOf("type", opts.type ?? "DMA", ["DMA", "DMA-FQ"] as const, ctx);
    const variant = resolveVariant(opts.variant ?? "merged", ctx);
    const granule = opts.granule ?? 4096;
    if (!(granule in PGSIZE_BITMAPS)) throw new ArgumentError("granule", granule, "must be 4096, 16384 or 65536", ctx);
    const ias = checkInt("ias", opts.ias ?? 48, 32, 48, ctx);
    const oas = checkInt("oas", opts.oas ?? 48, 32, 48, ctx);
    const cpus = checkInt("cpus", opts.cpus ?? 4, 1, core.layout.MAX_DMA_CPUS, ctx);
    const fqMode = checkOneOf("fqMode", opts.fqMode ?? "percpu", ["percpu", "single"] as const, ctx);
    if (fqMode === "single" && !machineHas(core, "DMA_FQ_SINGLE")) {
      throw new ConfigError(`iommu-sim: ${ctx}: fqMode 'single' needs a kernel with the single flush queue ` +
        `(DMA_FQ_SINGLE, since v6.7); this simulator runs profile ${profile}`);
    }
    const L = core.layout;
    const pt = pageTable({ format: "arm-lpae-s1", pgsizeBitmap: PGSIZE_BITMAPS[granule]!, ias, oas, events: 0 });
    let iova: IovaDomain | undefined;
    let sd: SmmuDomain | undefined;
    try {
      if (deferTableFree) core.raw.pgt_set_flags(pt.id, L.DF_DEFER_TABLE_FREE, 0);
      // iommu_dma_init_domain: start_pfn = max(1, aperture_start >> order) — PFN 0 never.
      // Its errors name this call: magazineSize is checked there, once.
      iova = IovaDomain.create(core, profile, { granule, startPfn: 1, cpus, checkFastFrees: false,
                                                 magazineSize: opts.magazineSize }, ctx);
      const asid = opts.asid === undefined ? freeAsid(opts.smmu, 1 + pt.id) : checkInt("asid", opts.asid, 0, 0xffff, ctx);
      sd = new SmmuDomain(core, pt, { id: asid, rangeInvalidation });
      // Bound now, not at the first attach, so that a second domain cannot take its ASID meanwhile.
      opts.smmu.bindDomain(sd, ctx, "asid");
      const flags = forcedac ? L.DDF_FORCEDAC : 0;
      const fqOpts = fqMode === "single" ? L.FQ_OPT_SINGLE : 0;
      const id = checkCore(core, core.raw.dma_domain_create(pt.id, iova.id, sd.id, opts.smmu.id, machineBehaviourBits(core),
        Math.log2(granule), 2 ** ias - 1, flags, fqOpts), ctx,
        { when: { ESIM_SLOTS_FULL: `at most ${L.MAX_DMA_DOMAINS} DMA domains live at once` } });
      loadProgram(core, id, variant, ctx);
      const dom = new DmaDomain(core, profile, id, { pageTable: pt, iova, smmuDomain: sd, smmu: opts.smmu, variant: variant.name,
                                                      variantDefinition: variant.definition, granule, cpus, forcedac });
      // A DMA-FQ default domain builds its queue at init; without one it quietly stays DMA.
      if (type === "DMA-FQ") dom.createdLazy = core.raw.dma_switch_lazy(id) === 0;
      return dom;
    } catch (e) {
      asOneTeardown(core, () => {
        sd?.destroy();
        iova?.destroy();
        pt.release();
      });
      throw e;
    }
  }

  private get base(): number {
    return this.core.layout.DMA_DOMAINS_BASE + this.id * this.core.layout.DMA_DOMAIN_SIZE;
  }

  private live(op: string): void {
    if (this.destroyed) throw new IommuSimError(`iommu-sim: ${op} on DMA domain ${this.id}, which was destroyed`);
  }

  /**
   * @internal Why a flush-queue timeout run on simulated CPU `cpu` would go wrong here, or
   * undefined: the timeout releases every queued IOVA into the caches of the CPU it runs on
   * (fq_flush_timeout), and a CPU this domain does not have has none, so the IOVAs would
   * stay queued after the flush that covers them, as no kernel leaves them.
   */
  timerCpuProblem(cpu: number): string | undefined {
    if (this.destroyed || cpu < this.cpus) return undefined;
    const pending = this.core.raw.dma_fq_pending(this.id);
    if (pending <= 0) return undefined;
    return `is not one of the ${this.cpus} CPUs of DMA domain ${this.id}, whose flush queue holds ${pending} IOVA(s): ` +
      `its timeout runs on the CPU that advances time and releases them into that CPU's IOVA caches, which the ` +
      `domain does not have (use a CPU below ${this.cpus})`;
  }

  /** 'DMA' (strict) or 'DMA-FQ' (lazy), as sysfs would read it back. */
  get type(): DomainType {
    return this.core.readU32(this.base + this.core.layout.DD_TYPE) === this.core.layout.DOMAIN_DMA_FQ ? "DMA-FQ" : "DMA";
  }

  /** Whether fq_domain is published (what an unmap would read now). */
  get fqPublished(): boolean {
    return this.core.readU32(this.base + this.core.layout.DD_FQ_DOMAIN) !== 0;
  }

  /**
   * Attach a device: its stream is programmed for this domain on the SMMU, and it gets a
   * DMA mask and a bus type for dma_map's IOVA choice.
   */
  attachDevice(opts: DmaDeviceOptions): DmaDevice {
    this.live("attachDevice");
    const ctx = "DmaDomain.attachDevice";
    checkRequiredOptions(opts, DMA_DEVICE_OPTION_KEYS, ctx, "with at least streamId");
    const mask = checkInt("dmaMask", opts.dmaMask ?? 64, 12, 64, ctx);
    const bus = checkOneOf("bus", opts.bus ?? "pci", ["pci", "platform"] as const, ctx);
    const coherent = checkBool("coherent", opts.coherent, true, ctx);
    const busLimit = opts.busDmaLimit === undefined ? 0 : checkAddress("busDmaLimit", opts.busDmaLimit, ctx);
    const smmuDev = this.smmu.attachDevice(opts.streamId, this.smmuDomain);
    const L = this.core.layout;
    let flags = coherent ? L.DVF_COHERENT : 0;
    // v7.1: pci_32bit_workaround = !iommu.forcedac for PCI devices (v5.15 reads forcedac per map).
    if (bus === "pci" && machineHas(this.core, "DMA_SAC_PER_DEVICE") && !this.forcedac) flags |= L.DVF_PCI_32BIT;
    const id = this.core.raw.dma_device_attach(this.id, bus === "pci" ? L.BUS_PCI : L.BUS_PLATFORM, mask, busLimit,
      opts.streamId, this.smmu.id, flags);
    if (id < 0) {
      asOneTeardown(this.core, () => smmuDev.detach());
      throw coreError(this.core, id, ctx, { when: { ESIM_SLOTS_FULL: `at most ${L.MAX_DMA_DEVICES} DMA devices attached at once` } });
    }
    const dev = new DmaDevice(this.core, this, id, smmuDev, { mask, bus, busLimit });
    this.devices.add(dev);
    return dev;
  }

  /** @internal */
  forget(dev: DmaDevice): void {
    this.devices.delete(dev);
  }

  /**
   * Change the domain type the way sysfs `iommu_groups/N/type` does on a live group.
   * DMA → DMA-FQ builds the flush queue and publishes it (in this domain's variant) with
   * devices attached and DMA in flight. v5.15 needs the group to hold exactly one device
   * (-EINVAL); anything else — the reverse, or the type the domain already has — is refused
   * while a device is attached (v5.15 -EBUSY, v7.1 -EPERM). With none attached (a group whose
   * driver is unbound) the kernel would make a fresh default domain of the type asked; here
   * the domain itself changes: DMA-FQ → DMA as rebuildStrictForTesting does (its IOVA caches
   * and tree kept, where a fresh domain would start empty), the same type does nothing.
   */
  setType(type: DomainType): void {
    this.live("setType");
    const ctx = "DmaDomain.setType";
    checkOneOf("type", type, ["DMA", "DMA-FQ"] as const, ctx);
    const refusal = liveTypeRefusal(this.profile, machineHas(this.core, "DMA_SWITCH_OWNED_GROUPS"), this.devices.size, this.type, type);
    if (refusal) {
      const hook = type === "DMA" && this.type === "DMA-FQ" ? ". Stress tests can use rebuildStrictForTesting()" : "";
      throw new IommuSimError(`iommu-sim: ${ctx}: ${refusal}${hook}`);
    }
    if (type === this.type) return;
    if (type === "DMA") {
      this.rebuildStrictForTesting(0);
      return;
    }
    const rc = this.core.raw.dma_switch_lazy(this.id);
    if (isErrno(this.core, rc, "ENOMEM")) {
      throw new IommuSimError(`iommu-sim: ${ctx}: iova flush queue initialization failed (-ENOMEM); the domain stays DMA`);
    }
    checkCore(this.core, rc, ctx);
  }

  /**
   * TEST HOOK — not kernel behaviour. Make a lazy domain strict again so that stress runs
   * can repeat the switch: one flush, every queued IOVA released into `cpu`'s caches, the
   * queue torn down, fq_domain (and the v2 quirk) cleared. Nothing may be mapping or
   * unmapping in the domain meanwhile (worker loops park themselves for it).
   */
  rebuildStrictForTesting(cpu = 0): void {
    this.live("rebuildStrictForTesting");
    checkInt("cpu", cpu, 0, this.cpus - 1, "rebuildStrictForTesting");
    const rc = this.core.raw.dma_rebuild_strict(this.id, cpu);
    if (rc !== 0) throw cpuError(this.core, rc, cpu, "rebuildStrictForTesting");
  }

  /**
   * Let another thread (a worker) run simulated CPU `cpu` of this domain: this thread gives
   * up its claim on the CPU's unmap scratch and IOVA caches, taken by its first map or unmap.
   */
  releaseCpu(cpu: number): void {
    this.live("releaseCpu");
    checkInt("cpu", cpu, 0, this.cpus - 1, "releaseCpu");
    this.core.raw.dma_release_cpu(this.id, cpu);
  }

  /** Entries waiting in the flush queue (over every ring). */
  fqPending(): number {
    this.live("fqPending");
    return this.core.raw.dma_fq_pending(this.id);
  }

  /**
   * Entries pending on each flush-queue ring (one per CPU; one in v7.1 single mode), read
   * without a lock while CPUs queue and flush — for watching a run. Empty when the domain
   * has no queue (strict, DMA).
   */
  fqRingOccupancy(): number[] {
    this.live("fqRingOccupancy");
    const out: number[] = [];
    for (let r = 0; ; r++) {
      const n = this.core.raw.dma_fq_ring_pending(this.id, r);
      if (n < 0) return out;
      out.push(n);
    }
  }

  /** Entries one flush-queue ring can hold before it must flush (slots − 1: 255), 0 without a queue. */
  fqRingCapacity(): number {
    this.live("fqRingCapacity");
    return Math.max(0, this.core.raw.dma_fq_ring_slots(this.id) - 1);
  }

  /** The domain's counters: maps and their failures, strict and lazy unmaps, syncs, mode switches. */
  stats(): DmaStats {
    this.live("stats");
    const out = {} as DmaStats;
    const L = this.core.layout;
    for (const [k, code] of Object.entries(DMA_STAT_CODES)) out[k as keyof typeof DMA_STAT_CODES] = this.core.raw.dma_stat(this.id, L[code]);
    out.switches = this.core.readU32(this.base + this.core.layout.DD_SWITCHES) - (this.createdLazy ? 1 : 0);
    return out;
  }

  /** Detach every device, free the flush queue, and drop the domain's parts. */
  destroy(): void {
    if (this.destroyed) return;
    refuseDuringRun(this.core, "DmaDomain.destroy", `DMA domain ${this.id}`, "destroyed");
    asOneTeardown(this.core, () => {
      for (const d of [...this.devices]) d.detach();
      for (let c = 0; c < this.cpus; c++) this.core.raw.dma_release_cpu(this.id, c);
      this.core.raw.dma_domain_destroy(this.id);
      this.smmuDomain.destroy();
      this.iova.destroy();
      this.pageTable.release();
    });
    this.destroyed = true;
  }
}

/** How many addresses a device remembers having unmapped, to tell a double unmap from a wild one. */
const UNMAPPED_REMEMBERED = 4096;

/** What CONFIG_DMA_API_DEBUG reports for an unmap of memory the device never mapped (kernel/dma/debug.c). */
const NOT_ALLOCATED = `the kernel's DMA-API debugging reports "device driver tries to free DMA memory it has not allocated"`;

/**
 * A device attached to a DmaDomain: the DMA API (map, unmap) is called on it. Like the
 * kernel's DMA-API debugging (CONFIG_DMA_API_DEBUG), it keeps a record of the mappings it
 * holds, and refuses an unmap that matches none — never mapped, already unmapped, or of
 * another size — before anything is touched: the kernel without that debugging would only
 * WARN and free the IOVA anyway, handing it out twice. (A short unmap is still there to
 * reproduce: unmap part of a mapping on `domain.pageTable` first; `stats().shortUnmaps`.)
 */
export class DmaDevice {
  readonly dmaMask: number;
  readonly bus: "pci" | "platform";
  /** bus_dma_limit (0 = none). */
  readonly busDmaLimit: number;
  private attached = true;
  /** The mappings live now: DMA address → size (dma-debug's entries), checked on the API side only. */
  private readonly mappings = new Map<number, number>();
  /** Addresses unmapped since they were last mapped → the size they had (oldest first, bounded). */
  private readonly unmapped = new Map<number, number>();

  /** @internal Use DmaDomain.attachDevice. */
  constructor(private readonly core: Core, readonly domain: DmaDomain, readonly id: number,
              readonly smmuDevice: Device, info: { mask: number; bus: "pci" | "platform"; busLimit: number }) {
    this.dmaMask = info.mask;
    own(this, core);
    this.bus = info.bus;
    this.busDmaLimit = info.busLimit;
  }

  /** The device's stream ID on the SMMU. */
  get streamId(): number {
    return this.smmuDevice.streamId;
  }

  private live(op: string): void {
    if (!this.attached) throw new IommuSimError(`iommu-sim: ${op} on DMA device ${this.id}, which was detached`);
  }

  /**
   * dma_map_page / dma_map_single: map [phys, phys + size) and return the DMA address
   * (same offset into its granule as phys). Throws DmaMappingError where the kernel returns
   * DMA_MAPPING_ERROR (no IOVA space under the mask, or the page table refused). `size` is at
   * most 2^40, and with the SMMU's oracle on at most its shadow's capacity in 4 KiB pages.
   */
  map(phys: number, size: number, options?: DmaMapOptions): number {
    this.live("map");
    const ctx = "DmaDevice.map";
    const opts = checkOptions(options, DMA_MAP_OPTION_KEYS, ctx);
    checkBool("privileged", opts.privileged, false, ctx);
    checkAddress("phys", phys, ctx);
    checkInt("size", size, 1, 2 ** 40, ctx);
    const cpu = checkInt("cpu", opts.cpu ?? 0, 0, this.domain.cpus - 1, ctx);
    const g = this.domain.granule;
    this.domain.smmu.oracle?.checkMapPages("size", size, Math.ceil((phys % g + size) / g) * (g / 4096), ctx);
    const L = this.core.layout;
    const dir = L[DIRECTION_CODES[checkOneOf("dir", opts.dir ?? "bidirectional", DIRECTIONS, ctx)]];
    const attrs = opts.privileged ? L.ATTR_PRIVILEGED : 0;
    const kheap = kheapAllocFailures(this.core);
    const addr = this.core.raw.dma_map(this.id, cpu, phys, size, dir, attrs);
    if (addr < 0) throw cpuError(this.core, addr, cpu, ctx);
    if (addr === 0) {
      checkKheap(this.core, kheap, ctx);
      throw this.mappingError(phys, size, ctx);
    }
    this.mappings.set(addr, size);
    this.unmapped.delete(addr);
    return addr;
  }

  /** The DMA_MAPPING_ERROR of a map of [phys, phys + size) that returned 0, saying why (dma_map's RESULT0/1). */
  private mappingError(phys: number, size: number, ctx: string): DmaMappingError {
    const L = this.core.layout;
    const code = Number(this.core.result64(0));
    const detail = this.core.result64(1);
    const g = this.domain.granule;
    const bytes = Math.ceil((phys % g + size) / g) * g;
    const what = `iommu-sim: ${ctx}: DMA_MAPPING_ERROR for ${size} bytes at PA ${hex(phys)}`;
    if (code === L.DMA_MAP_FAIL_PGTABLE) {
      const name = errnoName(this.core, -Number(detail));
      const why = (name && MAP_ERRNO_HINTS[name]) ?? `it returned ${name ? `-${name}` : `error ${detail}`}`;
      return new DmaMappingError(`${what}: the page table refused the mapping: ${why}; the IOVA went back at once`,
        "pgtable", name);
    }
    if (code !== L.DMA_MAP_FAIL_IOVA) {
      return new DmaMappingError(`${what}: the core gave no reason (code ${code})`, "iova");
    }
    const limits = [`its ${this.dmaMask}-bit DMA mask`];
    if (this.busDmaLimit !== 0) limits.push(`bus_dma_limit ${hex(this.busDmaLimit)}`);
    limits.push(`the domain's aperture (${this.domain.pageTable.geometry.ias}-bit IOVAs)`);
    return new DmaMappingError(`${what}: no IOVA range of ${bytes / g} granule(s) (${hex(bytes)} bytes, the buffer's ` +
      `offset into its granule included) could be allocated at or below ${hex(detail)}, the device's DMA limit (the lowest of ` +
      `${limits.join(", ")})`, "iova");
  }

  /** dma_unmap_page / dma_unmap_single, in the domain's variant. */
  unmap(addr: number, size: number, options?: { cpu?: number }): void {
    this.live("unmap");
    const ctx = "DmaDevice.unmap";
    const opts = checkOptions(options, ["cpu"], ctx);
    checkAddress("addr", addr, ctx);
    checkInt("size", size, 1, 2 ** 40, ctx);
    const cpu = checkInt("cpu", opts.cpu ?? 0, 0, this.domain.cpus - 1, ctx);
    this.checkMapping(addr, size, ctx);
    const rc = this.core.raw.dma_unmap(this.id, cpu, addr, size);
    // ESIM_NO_QUEUE: the variant lost its race (counted in stats().queueMissing); unmapped all the same.
    if (rc < 0 && !isErrno(this.core, rc, "ESIM_NO_QUEUE")) throw cpuError(this.core, rc, cpu, ctx);
    this.forget(addr, size);
  }

  /** Refuse an unmap of [addr, addr + size) that is not one of this device's live mappings. */
  private checkMapping(addr: number, size: number, ctx: string): void {
    const mapped = this.mappings.get(addr);
    if (mapped === size) return;
    if (mapped !== undefined) {
      throw new ArgumentError("size", size, `must be the size ${hex(addr)} was mapped with (${mapped} bytes); ` +
        `the kernel's DMA-API debugging reports "device driver frees DMA memory with different size"`, ctx);
    }
    const was = this.unmapped.get(addr);
    if (was !== undefined) {
      throw new ArgumentError("addr", addr, `was already unmapped (${was} bytes) and not mapped again since: a second ` +
        `unmap would free its IOVA twice; ${NOT_ALLOCATED}`, ctx);
    }
    for (const [a, n] of this.mappings) {
      if (addr > a && addr < a + n) {
        throw new ArgumentError("addr", addr, `is inside the mapping at ${hex(a)} (${n} bytes), not its start: ` +
          `unmap takes the address map returned, and the size it was given`, ctx);
      }
    }
    throw new ArgumentError("addr", addr, `is not mapped by this device (unmap takes an address its map returned); ` +
      `${NOT_ALLOCATED}`, ctx);
  }

  /** The mapping at `addr` is gone: remembered for a while, so that a second unmap is named as one. */
  private forget(addr: number, size: number): void {
    this.mappings.delete(addr);
    this.unmapped.delete(addr);
    this.unmapped.set(addr, size);
    if (this.unmapped.size > UNMAPPED_REMEMBERED) this.unmapped.delete(this.unmapped.keys().next().value!);
  }

  /** The device itself does DMA: an access through the SMMU (checked by its oracle). */
  access(addr: number, length: number, kind: "read" | "write"): AccessResult {
    this.live("access");
    return this.smmuDevice.access(addr, length, kind);
  }

  /** This device's DMA engine (descriptor ring; `attacker` keeps and retries old IOVAs). */
  engine(opts?: DmaEngineOptions): DmaEngine {
    this.live("engine");
    return this.smmuDevice.engine(opts);
  }

  /** Detach the device from its domain (again: nothing happens). */
  detach(): void {
    if (!this.attached) return;
    refuseDuringRun(this.core, "DmaDevice.detach", `DMA device ${this.id} (stream ${this.smmuDevice.streamId})`, "detached");
    this.core.raw.dma_device_detach(this.id);
    asOneTeardown(this.core, () => this.smmuDevice.detach());
    this.domain.forget(this);
    this.attached = false;
  }
}

/** A negative code from a DMA call on simulated CPU `cpu`, in words. */
export function cpuError(core: Core, rc: number, cpu: number, ctx: string): Error {
  if (isErrno(core, rc, "ESIM_CPU_BUSY")) {
    const owner = core.result32(0) - 1;
    const stopped = stoppedClaimNote(core, owner, cpu);
    if (stopped !== undefined) return new IommuSimError(`iommu-sim: ${ctx}: ${stopped}`);
    return new IommuSimError(`iommu-sim: ${ctx}: simulated CPU ${cpu} is run by another thread ` +
      `(slot ${owner}); give each worker its own CPUs (ESIM_CPU_BUSY)`);
  }
  return coreError(core, rc, ctx, { argument: "cpu", value: cpu });
}
