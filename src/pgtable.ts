// PageTable: the public face of one io-pgtable-arm table in the Wasm core
// (assembly/pgtable/). It checks arguments, calls the core, and turns what the core
// leaves in shared memory — results, the event ring, the tables themselves — into values.

import type { Core } from "../bindings/core.js";
import { ArgumentError, ConfigError, IommuSimError, hex } from "./errors.js";
import { refuseDuringRun } from "./run-guard.js";
import { checkAddress, checkBool, checkInt, checkOneOf, checkOptions, checkRequiredOptions, isPowerOfTwo, own, type OptionKeys } from "./validate.js";
import { decodeCommand, type CommandEvent } from "./smmu/commands.js";
import { decodeRegisterEvent, type RegisterEvent } from "./smmu/registers.js";
import { RingReader } from "./ring.js";
import { coreError, errnoName, ERRNO_MEANINGS, type ErrnoName } from "./errno.js";
import type { LayoutName } from "../bindings/layout.js";
import { machineBehaviourBits, machineProfile, type Profile } from "./profile.js";
import { withJsonForm } from "./json-form.js";
import { requireLive } from "./handles.js";
import {
  IOMMU_CACHE, IOMMU_MMIO, IOMMU_NOEXEC, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE,
  QUIRK_ARM_HD, QUIRK_ARM_NS, QUIRK_ARM_OUTER_WBWA, QUIRK_ARM_S2FWB, QUIRK_ARM_TTBR1, QUIRK_NO_WARN,
} from "../build/constants.js";


/** Each format's code in the core (assembly/pgtable/desc.ts FMT_*). */
export const FORMAT_CODES = {
  "arm-lpae-s1": "FMT_ARM_64_LPAE_S1", "arm-lpae-s2": "FMT_ARM_64_LPAE_S2",
  "arm-lpae-s1-32": "FMT_ARM_32_LPAE_S1", "arm-lpae-s2-32": "FMT_ARM_32_LPAE_S2",
} as const satisfies Record<string, LayoutName>;

export type PageTableFormat = keyof typeof FORMAT_CODES;
export const FORMATS = Object.freeze(Object.keys(FORMAT_CODES)) as readonly PageTableFormat[];

/** IOMMU prot flags (include/linux/iommu.h), as the core defines them (its IOMMU_*). */
export const Prot = Object.freeze({
  READ: IOMMU_READ, WRITE: IOMMU_WRITE, CACHE: IOMMU_CACHE, NOEXEC: IOMMU_NOEXEC, MMIO: IOMMU_MMIO, PRIV: IOMMU_PRIV,
});

/** io-pgtable quirk bits, numbered as the kernel numbers them: the core's QUIRK_*. */
export const Quirk = Object.freeze({
  ARM_NS: QUIRK_ARM_NS, ARM_TTBR1: QUIRK_ARM_TTBR1, ARM_OUTER_WBWA: QUIRK_ARM_OUTER_WBWA,
  ARM_HD: QUIRK_ARM_HD, ARM_S2FWB: QUIRK_ARM_S2FWB, NO_WARN: QUIRK_NO_WARN,
});

export interface PageTableConfig {
  format: PageTableFormat;
  /** Page sizes the IOMMU offers (SMMUv3 with 4K granules: 0x40201000 = 4K|2M|1G). */
  pgsizeBitmap: number;
  /** Input (IOVA) address bits. */
  ias: number;
  /** Output (physical) address bits. */
  oas: number;
  /** The SMMU walks the tables coherently (default true). */
  coherentWalk?: boolean;
  /** Quirk bits (see Quirk). Default 0. */
  quirks?: number;
  /** Capacity of the event ring (a power of two; 0 records nothing). Default 4096. */
  events?: number;
  /**
   * Allocate the table's next-level tables above 2^48 (the simulated RAM seen through a
   * window at 2^48 + its address), as on a machine with RAM there: a 52-bit output address
   * must name them, which needs a 64K granule and oas 52. Bug corpus #8's trigger. Default false.
   */
  highTables?: boolean;
}

export interface Geometry {
  format: PageTableFormat;
  profile: Profile;
  pgsizeBitmap: number;
  ias: number;
  oas: number;
  levels: number;
  startLevel: number;
  bitsPerLevel: number;
  pgdBits: number;
  pgdSize: number;
  granule: number;
  coherentWalk: boolean;
  quirks: number;
  /** Stage 1: TCR fields, MAIR and TTBR. Stage 2: VTCR fields and VTTBR. */
  tcr: { tsz: number; ps: number; tg: number; sh: number; irgn: number; orgn: number; sl?: number };
  mair?: bigint;
  ttbr: number;
}

export interface MapResult {
  /** 0, or the kernel's -errno (-EEXIST = -17, -EINVAL = -22, -ERANGE = -34, -ENOMEM = -12). */
  ret: number;
  /** Bytes mapped. */
  mapped: number;
  /** Bytes mapped as the kernel's 64-bit value (v5.15 can wrap it: see the README). */
  mapped64: bigint;
}

export type GatherMode = "none" | "strict" | "queued";

const PAGE_TABLE_CONFIG_KEYS = {
  format: true, pgsizeBitmap: true, ias: true, oas: true, coherentWalk: true, quirks: true, events: true, highTables: true,
} as const satisfies OptionKeys<PageTableConfig>;

export interface UnmapOptions {
  /** The gather io-pgtable gets: none (NULL), strict, or queued (lazy, flush queue). */
  gather?: GatherMode;
  /** Sync the gather afterwards when it is not queued (iommu_unmap does). Default true. */
  sync?: boolean;
  /** Skip the IOMMU core's checks and call io-pgtable as the kernel's callers may. */
  raw?: boolean;
}

const UNMAP_OPTION_KEYS = { gather: true, sync: true, raw: true } as const satisfies OptionKeys<UnmapOptions>;

export interface UnmapResult {
  unmapped: number;
  /** The gather was still queued at the end (a mid-unmap sync clears it). */
  queued: boolean;
}

/** io-pgtable's WARN conditions, each by its code's name in the core (assembly/events.ts WARN_*). */
export const WARN_CODES = {
  "map-pgsize": "WARN_MAP_PGSIZE", "map-range": "WARN_MAP_RANGE", "map-exists": "WARN_MAP_EXISTS",
  "map-replace-table": "WARN_MAP_REPLACE_TABLE", "map-last-level": "WARN_MAP_LAST_LEVEL",
  "unmap-args": "WARN_UNMAP_ARGS", "unmap-range": "WARN_UNMAP_RANGE", "unmap-no-pte": "WARN_UNMAP_NO_PTE",
  "unmap-partial-block": "WARN_UNMAP_PARTIAL_BLOCK", "out-of-levels": "WARN_OUT_OF_LEVELS",
} as const satisfies Record<string, LayoutName>;
export type WarnCode = keyof typeof WARN_CODES;

/** WARN codes by the core's numbers. */
function warnCodes(L: Core["layout"]): Map<number, WarnCode> {
  return new Map(Object.entries(WARN_CODES).map(([code, name]) => [L[name], code as WarnCode]));
}

export const WARN_TEXT: Readonly<Record<WarnCode, string>> = {
  "map-pgsize": "io-pgtable-arm map: pgsize is zero or not in pgsize_bitmap",
  "map-range": "io-pgtable-arm map: iova beyond ias or paddr beyond oas",
  "map-exists": "io-pgtable-arm map: a leaf is already mapped here (unmap first)",
  "map-replace-table": "io-pgtable-arm map: replacing a table did not unmap exactly one block",
  "map-last-level": "io-pgtable-arm map: a table would be needed below the last level",
  "unmap-args": "io-pgtable-arm unmap: pgsize not in pgsize_bitmap, or pgcount is zero",
  "unmap-range": "io-pgtable-arm unmap: iova beyond ias",
  "unmap-no-pte": "io-pgtable-arm unmap: entry is not mapped",
  "unmap-partial-block": "Unmap of a partial large IOPTE is not allowed",
  "out-of-levels": "io-pgtable-arm: ran out of page-table levels",
};

export type TlbEvent =
  | { kind: "tlb_add_page"; iova: number; granule: number }
  | CommandEvent
  | RegisterEvent
  | { kind: "tlb_flush_walk"; iova: number; size: number; granule: number }
  | { kind: "tlb_flush_all" }
  | { kind: "iotlb_sync"; start: number; end: number; pgsize: number }
  | { kind: "warn"; code: WarnCode; message: string };

export interface DumpEntry {
  level: number;
  /** First (and, for a merged run, last) index in its table. */
  index: number;
  lastIndex: number;
  va: number;
  kind: "table" | "block" | "page";
  /** The raw descriptor of the first entry. */
  pte: bigint;
  /** Output address of the first entry (leaves). */
  pa?: number;
  /** Bytes one entry maps (leaves). */
  size?: number;
  /** Descriptor bits other than the output address (leaves). */
  attrs?: bigint;
  /** Entries in this run (1 unless merged). */
  count: number;
}

/** alloc_io_pgtable_ops would return NULL for this configuration; `errno` says why (ESIM_PGT_*). */
export class PageTableConfigError extends ConfigError {
  constructor(readonly errno: ErrnoName | undefined, readonly config: PageTableConfig, why: string) {
    super(`iommu-sim: the kernel would refuse this page table (alloc_io_pgtable_ops returns NULL): ` +
      `${why} — format ${config.format}, pgsizeBitmap ${hex(config.pgsizeBitmap)}, ias ${config.ias}, oas ${config.oas}`);
  }
}

/**
 * An io-pgtable-arm page table (LPAE stage 1 or 2, of the simulator's kernel profile) in the
 * simulated RAM: map_pages, unmap_pages and iova_to_phys as the kernel's ops do them, the
 * TLB invalidations they would issue (takeEvents), and a dump of its entries. Made with
 * Simulator.createPageTable; `release()` frees it.
 */
export class PageTable {
  readonly id: number;
  readonly geometry: Geometry;
  private readonly core: Core;
  private readonly desc: number;
  private readonly events: RingReader<TlbEvent> | undefined;
  private state: "live" | "freed" | "released" = "live";
  /** @internal Called once when the table is released (the simulator forgets it). */
  onRelease: ((pt: PageTable) => void) | undefined;

  private constructor(core: Core, id: number, format: PageTableFormat, profile: Profile, fromNow: boolean) {
    this.core = core;
    this.id = id;
    this.desc = core.layout.PGT_BASE + id * core.layout.PGT_DESC_SIZE;
    own(this, core);
    this.geometry = this.readGeometry(format, profile);
    const L = core.layout;
    const ring = this.field("D_EV_RING");
    this.events = ring === 0 ? undefined : new RingReader(core, {
      head: this.desc + L.D_EV_HEAD, base: ring, capacity: this.field("D_EV_MASK") + 1,
      recordSize: L.EVENT_SIZE, what: `page table ${id} events`,
    }, (rec) => decodeEvent(core, rec), fromNow);
  }

  /** @internal Use Simulator.createPageTable. */
  static create(core: Core, profile: Profile, config: PageTableConfig, opts: { pageShift: number }): PageTable {
    const ctx = "createPageTable";
    checkRequiredOptions(config, PAGE_TABLE_CONFIG_KEYS, ctx, "format, pgsizeBitmap, ias, oas", "config");
    const format = checkOneOf("format", config.format, FORMATS, ctx);
    const bitmap = checkAddress("pgsizeBitmap", config.pgsizeBitmap, ctx);
    const ias = checkInt("ias", config.ias, 1, 64, ctx);
    const oas = checkInt("oas", config.oas, 1, 64, ctx);
    // Any 32-bit quirk word: the kernel refuses (NULL) a configuration with a bit its format and
    // version do not accept, and the core decides which (ARM_TTBR1 is refused after it: below).
    const quirks = checkInt("quirks", config.quirks ?? 0, 0, 0xffffffff, ctx);
    const events = checkInt("events", config.events ?? 4096, 0, 1 << 20, ctx);
    if (events !== 0 && !isPowerOfTwo(events)) {
      throw new ArgumentError("events", events, "must be 0 or a power of two", ctx);
    }
    const coherent = config.coherentWalk ?? true;
    if (typeof coherent !== "boolean") throw new ArgumentError("coherentWalk", coherent, "must be a boolean", ctx);
    const high = config.highTables ?? false;
    if (typeof high !== "boolean") throw new ArgumentError("highTables", high, "must be a boolean", ctx);

    const id = core.raw.pgt_create(core.layout[FORMAT_CODES[format]], machineBehaviourBits(core), bitmap, ias, oas,
      coherent, quirks, opts.pageShift, events);
    if (id < 0) {
      const name = errnoName(core, id);
      const meaning: { text: string; kind?: string } | undefined = name && ERRNO_MEANINGS[name];
      if (meaning?.kind === "config") throw new PageTableConfigError(name, config, `${meaning.text} (${name})`);
      throw coreError(core, id, ctx, { when: {
        ESIM_SLOTS_FULL: `at most ${core.layout.MAX_PGTABLES} page tables live at once`,
        ENOMEM: "the simulated RAM has no free page for its top-level table: create the Simulator with a larger ramMiB",
      } });
    }
    if (quirks & Quirk.ARM_TTBR1) {
      // A table the kernel would make, but for upper-half IOVAs, which do not fit a JS number.
      core.raw.pgt_free(id);
      core.raw.pgt_release(id);
      throw new ArgumentError("quirks", quirks, "must not include ARM_TTBR1 (upper-half IOVAs do not fit a JS number)", ctx);
    }
    if (events) core.raw.pgt_set_flags(id, core.layout.DF_RECORD_EVENTS, 0);
    const pt = new PageTable(core, id, format, profile, false);
    if (high) pt.placeTablesHigh(ctx);
    return pt;
  }

  /** A handle on a table another thread created (workers receive table ids). */
  static attach(core: Core, id: number): PageTable {
    const desc = requireLive(core, "table", "table", id, "PageTable.attach");
    const fmt = core.readU32(desc + core.layout.D_FMT);
    const format = FORMATS.find((f) => core.layout[FORMAT_CODES[f]] === fmt)!;
    const profile = machineProfile(core);
    // Events recorded before this handle existed belong to whoever read them.
    return new PageTable(core, id, format, profile, true);
  }

  private field(name: keyof Core["layout"]): number {
    return this.core.readU32(this.desc + this.core.layout[name]);
  }

  private byte(name: keyof Core["layout"]): number {
    return this.core.u8[this.desc + this.core.layout[name]]!;
  }

  private readGeometry(format: PageTableFormat, profile: Profile): Geometry {
    const L = this.core.layout;
    const stage1 = format === "arm-lpae-s1" || format === "arm-lpae-s1-32";
    const pgShift = this.field("D_PG_SHIFT");
    return Object.freeze(withJsonForm({
      format, profile,
      pgsizeBitmap: this.core.readU64Number(this.desc + L.D_PGSIZE_BITMAP),
      ias: this.field("D_IAS"), oas: this.field("D_OAS"),
      levels: this.field("D_LEVELS"), startLevel: this.field("D_START_LEVEL"),
      bitsPerLevel: this.field("D_BPL"), pgdBits: this.field("D_PGD_BITS"),
      pgdSize: this.core.readU64Number(this.desc + L.D_PGD_BYTES),
      granule: 2 ** pgShift,
      coherentWalk: this.field("D_COHERENT") !== 0,
      quirks: this.field("D_QUIRKS"),
      tcr: {
        tsz: this.byte("D_TCR_TSZ"), ps: this.byte("D_TCR_PS"), tg: this.byte("D_TCR_TG"),
        sh: this.byte("D_TCR_SH"), irgn: this.byte("D_TCR_IRGN"), orgn: this.byte("D_TCR_ORGN"),
        ...(stage1 ? {} : { sl: this.byte("D_TCR_SL") }),
      },
      ...(stage1 ? { mair: this.core.readU64(this.desc + L.D_MAIR) } : {}),
      ttbr: this.core.readU64Number(this.desc + L.D_PGD_PA),
    }));
  }

  private live(op: string): void {
    if (this.state !== "live") throw new IommuSimError(`iommu-sim: ${op} on page table ${this.id}, which was ${this.state}`);
  }

  /**
   * io-pgtable's map_pages: map `pgcount` pages of `pgsize` from `iova` to `paddr`.
   * Checked by default as the IOMMU core would (pgsize one of the table's sizes, iova and
   * paddr aligned to it); `{ raw: true }` passes anything the kernel's own callers could.
   * One call never crosses a table boundary: `mapped` says how much it did.
   */
  mapPages(iova: number, paddr: number, pgsize: number, pgcount: number, prot: number,
           options?: { raw?: boolean }): MapResult {
    this.live("mapPages");
    const ctx = "mapPages";
    const opts = checkOptions(options, ["raw"], ctx);
    checkBool("raw", opts.raw, false, ctx);
    checkAddress("iova", iova, ctx);
    checkAddress("paddr", paddr, ctx);
    checkAddress("pgsize", pgsize, ctx);
    checkInt("prot", prot, 0, 0x3f, ctx);
    if (opts.raw) checkInt("pgcount", pgcount, 0, 2 ** 32 - 1, ctx);
    else {
      checkInt("pgcount", pgcount, 1, 2 ** 31 - 1, ctx);
      this.checkPgsize(pgsize, ctx);
      this.checkAligned("iova", iova, pgsize, ctx);
      this.checkAligned("paddr", paddr, pgsize, ctx);
    }
    const ret = this.core.raw.pgt_map(this.id, iova, paddr, pgsize, pgcount, prot);
    const mapped64 = this.core.result64(0);
    return withJsonForm({ ret, mapped: Number(mapped64), mapped64 });
  }

  /**
   * io-pgtable's unmap_pages, with a gather as the caller sets it up: 'strict' (the default)
   * gathers leaf invalidations and syncs them at the end, 'queued' leaves leaves to the flush
   * queue, 'none' passes a NULL gather.
   */
  unmapPages(iova: number, pgsize: number, pgcount: number, options?: UnmapOptions): UnmapResult {
    this.live("unmapPages");
    const ctx = "unmapPages";
    const opts = checkOptions(options, UNMAP_OPTION_KEYS, ctx);
    checkBool("raw", opts.raw, false, ctx);
    checkBool("sync", opts.sync, true, ctx);
    checkAddress("iova", iova, ctx);
    checkAddress("pgsize", pgsize, ctx);
    const gather = checkOneOf("gather", opts.gather ?? "strict", ["none", "strict", "queued"] as const, ctx);
    if (opts.raw) checkInt("pgcount", pgcount, 0, 2 ** 32 - 1, ctx);
    else {
      checkInt("pgcount", pgcount, 1, 2 ** 31 - 1, ctx);
      this.checkPgsize(pgsize, ctx);
      this.checkAligned("iova", iova, pgsize, ctx);
    }
    const L = this.core.layout;
    let mode = gather === "none" ? L.UNMAP_NULL_GATHER
      : gather === "queued" ? L.UNMAP_GATHER_QUEUED : L.UNMAP_GATHER;
    if (opts.sync ?? true) mode |= L.UNMAP_SYNC;
    const unmapped = this.core.raw.pgt_unmap(this.id, iova, pgsize, pgcount, mode);
    return { unmapped, queued: this.core.result64(1) !== 0n };
  }

  /** io-pgtable's iova_to_phys: 0 where nothing is mapped (bits above ias are ignored). */
  iovaToPhys(iova: number): number {
    this.live("iovaToPhys");
    checkAddress("iova", iova, "iovaToPhys");
    return this.core.raw.pgt_iova_to_phys(this.id, iova);
  }

  /** @internal Whether `pgsize` is one of this table's page sizes (a bit of its pgsize_bitmap, which may pass 2^32). */
  hasPageSize(pgsize: number): boolean {
    return isPowerOfTwo(pgsize) && Math.floor(this.geometry.pgsizeBitmap / pgsize) % 2 === 1;
  }

  /** @internal `pgsize` must be one of this table's page sizes (also for tasks' arguments: src/tasks/pgtable.ts). */
  checkPgsize(pgsize: number, ctx: string): void {
    const bitmap = this.geometry.pgsizeBitmap;
    if (!this.hasPageSize(pgsize)) {
      throw new ArgumentError("pgsize", pgsize,
        `must be one page size of this table (pgsize_bitmap ${hex(bitmap)}: ${describeSizes(bitmap)})`, ctx);
    }
  }

  /** @internal `v` (field `name`) must be a multiple of `pgsize`. */
  checkAligned(name: string, v: number, pgsize: number, ctx: string): void {
    if (v % pgsize !== 0) {
      throw new ArgumentError(name, v, `must be aligned to pgsize ${hex(pgsize)}`, ctx);
    }
  }

  /**
   * Table descriptors written that do not decode (as the walk and iopte_deref read them) to
   * the table page they were made for: 0 unless the kernel formats them wrongly (bug corpus #8,
   * a kernel without PGT_TABLE_PA_PACKED and `highTables`).
   */
  get badTableDescriptors(): number {
    return this.field("D_BAD_TABLE_DESCS");
  }

  /** WARNs this table has raised so far. */
  get warnings(): number {
    return this.field("D_WARNINGS");
  }

  /**
   * The events recorded since the last call: TLB maintenance (tlb_add_page, tlb_flush_walk,
   * tlb_flush_all), each iotlb_sync the driver issued, and WARNs, in order.
   * Throws if the ring wrapped since the last read (make it larger with `events`).
   */
  takeEvents(): TlbEvent[] {
    if (this.state === "released") throw new IommuSimError(`iommu-sim: takeEvents on page table ${this.id}, which was released`);
    return this.events?.take() ?? [];
  }

  /**
   * The tables, depth-first as the SMMU would walk them. With `merge` (the default) runs of
   * contiguous leaves with the same attributes and consecutive output addresses are one entry.
   */
  dump(options?: { merge?: boolean }): DumpEntry[] {
    this.live("dump");
    const opts = checkOptions(options, ["merge"], "dump");
    checkBool("merge", opts.merge, true, "dump");
    const out: DumpEntry[] = [];
    const g = this.geometry;
    walkTable(this.core, g, g.startLevel, this.core.readU64Number(this.desc + this.core.layout.D_PGD_PA),
      0, opts.merge ?? true, out);
    return out;
  }

  /** free_io_pgtable_ops: tlb_flush_all, then every table page back to simulated RAM. */
  free(): void {
    this.live("free");
    refuseDuringRun(this.core, "PageTable.free", `page table ${this.id}`, "freed");
    this.core.raw.pgt_free(this.id);
    this.state = "freed";
  }

  /** Forget the table's descriptor and events (after free; Simulator.close does it too). */
  release(): void {
    if (this.state === "released") return;
    refuseDuringRun(this.core, "PageTable.release", `page table ${this.id}`, "released");
    if (this.state === "live") this.free();
    this.core.raw.pgt_release(this.id);
    this.state = "released";
    this.onRelease?.(this);
  }

  /**
   * Fault injection for tests: install tables with a plain store instead of a
   * compare-and-swap (the bug the concurrency tests must catch). Never for real runs.
   */
  injectPlainTableInstall(on: boolean): void {
    checkBool("on", on, false, "injectPlainTableInstall");
    const f = this.core.layout.DF_FAULT_PLAIN_INSTALL;
    this.core.raw.pgt_set_flags(this.id, on ? f : 0, on ? 0 : f);
  }

  /** highTables: next-level tables from the high window, where only a 52-bit output address reaches. */
  private placeTablesHigh(ctx: string): void {
    const g = this.geometry;
    if (g.granule !== 0x10000 || g.oas !== 52) {
      this.release();
      throw new ArgumentError("highTables", true, `needs a 64K granule and oas 52: only a 52-bit output address names a ` +
        `table above 2^48 (this table: granule ${hex(g.granule)}, oas ${g.oas})`, ctx);
    }
    const f = this.core.layout.DF_HIGH_TABLES;
    this.core.raw.pgt_set_flags(this.id, f, 0);
  }

  /** @internal v5.15 selftest mode: mapping over a leaf does not WARN. */
  setSelftestMode(on: boolean): void {
    const f = this.core.layout.DF_SELFTEST;
    this.core.raw.pgt_set_flags(this.id, on ? f : 0, on ? 0 : f);
  }
}

const warnCodeCache = new WeakMap<Core, Map<number, WarnCode>>();

function decodeEvent(core: Core, rec: number): TlbEvent {
  const L = core.layout;
  const kind = core.readU32(rec + L.RR_KIND);
  if (kind === L.EV_CMD) {
    const run = core.readU64(rec + L.RR_C);
    const field = (lo: number, bits: number) => Number((run >> BigInt(lo)) & ((1n << BigInt(bits)) - 1n));
    const command = decodeCommand(core.readU64(rec + L.RR_A), core.readU64(rec + L.RR_B), L);
    const ev: TlbEvent = { kind: "cmd", command, count: field(L.EVC_COUNT_LO, L.EVC_COUNT_BITS),
                           step: 2 ** field(L.EVC_STEP_LO, L.EVC_STEP_BITS) };
    if ("addr" in command) ev.requestAddr = command.addr + field(L.EVC_ADDR_LO, L.EVC_ADDR_BITS);
    return ev;
  }
  if (kind === L.EV_REG) return decodeRegisterEvent(core.readU64(rec + L.RR_A), core.readU64(rec + L.RR_B), core.readU64(rec + L.RR_C), L);
  const a = core.readU64Number(rec + L.RR_A);
  const b = core.readU64Number(rec + L.RR_B);
  const c = core.readU64Number(rec + L.RR_C);
  switch (kind) {
    case L.EV_TLB_ADD_PAGE: return { kind: "tlb_add_page", iova: a, granule: b };
    case L.EV_TLB_FLUSH_WALK: return { kind: "tlb_flush_walk", iova: a, size: b, granule: c };
    case L.EV_TLB_FLUSH_ALL: return { kind: "tlb_flush_all" };
    case L.EV_IOTLB_SYNC: return { kind: "iotlb_sync", start: a, end: b, pgsize: c };
    case L.EV_WARN: {
      let codes = warnCodeCache.get(core);
      if (!codes) warnCodeCache.set(core, codes = warnCodes(L));
      const code = codes.get(a);
      if (!code) throw new IommuSimError(`iommu-sim: unknown WARN code ${a} in the event ring`);
      return { kind: "warn", code, message: WARN_TEXT[code] };
    }
    default:
      throw new IommuSimError(`iommu-sim: unknown event kind ${kind} at ${hex(rec)} (corrupted ring?)`);
  }
}

const ADDR_MASK = 0x0000_ffff_ffff_f000n;

/** Depth-first walk of one table, as the dump shows it. */
function walkTable(core: Core, g: Geometry, level: number, tablePa: number, vaBase: number,
                   merge: boolean, out: DumpEntry[]): void {
  const entries = level === g.startLevel ? 2 ** g.pgdBits : 2 ** g.bitsPerLevel;
  const shift = (4 - level) * g.bitsPerLevel + 3;
  const size = 2 ** shift;
  // A table in the high window (DF_HIGH_TABLES) is the same RAM seen 2^48 higher.
  const base = (tablePa % core.layout.HIGH_RAM_WINDOW) - core.layout.PHYS_BASE + physFramesBase(core);
  let run: DumpEntry | undefined;
  for (let i = 0; i < entries; i++) {
    const pte = core.u64[(base >>> 3) + i]!;
    if (pte === 0n) { run = undefined; continue; }
    const type = Number(pte & 3n);
    const leaf = level === 3 ? type === 3 : type === 1;
    const va = vaBase + i * size;
    if (!leaf) {
      run = undefined;
      out.push(withJsonForm({ level, index: i, lastIndex: i, va, kind: "table", pte, count: 1 }));
      if (type === 3 && level < 3) walkTable(core, g, level + 1, pteToPa(g, pte), va, merge, out);
      continue;
    }
    const pa = pteToPa(g, pte);
    const attrs = pte & ~ADDR_MASK;
    if (merge && run && run.lastIndex === i - 1 && run.attrs === attrs && run.pa! + run.count * size === pa) {
      run.lastIndex = i;
      run.count++;
      continue;
    }
    run = withJsonForm<DumpEntry>({ level, index: i, lastIndex: i, va, kind: level === 3 ? "page" : "block", pte, pa, size, attrs, count: 1 });
    out.push(run);
  }
}

function pteToPa(g: Geometry, pte: bigint): number {
  let pa = pte & ADDR_MASK;
  if (g.granule === 0x10000) pa = (pa | (pa << 36n)) & (ADDR_MASK << 4n);
  return Number(pa);
}

function physFramesBase(core: Core): number {
  return core.readU32(core.layout.ZONE_PHYS + core.layout.Z_FRAMES);
}

function describeSizes(bitmap: number): string {
  const names: string[] = [];
  for (let b = 0; b < 53; b++) {
    if (Math.floor(bitmap / 2 ** b) % 2 === 1) names.push(sizeName(2 ** b));
  }
  return names.join(", ") || "none";
}

export function sizeName(bytes: number): string {
  const units = ["", "K", "M", "G", "T", "P"];
  let u = 0;
  while (bytes >= 1024 && bytes % 1024 === 0 && u < units.length - 1) { bytes /= 1024; u++; }
  return `${bytes}${units[u]}`;
}
