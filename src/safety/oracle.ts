// The safety oracle's public face: record what the DMA API maps and unmaps (the shadow in
// the Wasm core, assembly/safety/oracle.ts), and read what it found — counts per class of
// access, and each violation explained in words.

import type { Core } from "../../bindings/core.js";
import type { LayoutName, LayoutNamesWith } from "../../bindings/layout.js";
import { ArgumentError, IommuSimError, hex } from "../errors.js";
import { checkAddress, checkBool, checkInt, checkOwned, checkRequiredOptions } from "../validate.js";
import { SmmuDomain } from "../smmu/domain.js";
import { RingReader } from "../ring.js";

/** How the oracle classed a device access that got through the SMMU. */
export type AccessClass =
  | "ok" | "lazy-window" | "after-strict-unmap" | "after-flush" | "use-after-free" | "unknown" | "freed-table"
  /** A page the shadow has no record of, after it ran out of room: not judged (see shadowFull). */
  | "unchecked";

export interface OracleCounts {
  ok: number;
  /** Accesses through a translation unmapped lazily, before the flush: accepted by lazy mode. */
  lazyWindow: number;
  /** Violations, by kind. */
  afterStrictUnmap: number;
  afterFlush: number;
  useAfterFree: number;
  unknown: number;
  freedTable: number;
  /** Updates the shadow had no room for (raise its capacity). */
  shadowFull: number;
  /** Accesses to pages without a record once the shadow had overflowed: not judged. */
  unchecked: number;
}

export interface Violation {
  kind: Exclude<AccessClass, "ok" | "lazy-window" | "unchecked">;
  streamId: number;
  iova: number;
  /** The physical address the access reached (for freed-table: the table page walked). */
  reached: number;
  /** What the DMA API had the IOVA mapped to at the time (use-after-free), else 0. */
  expected: number;
  /** Simulated time (jiffies) of the access, and of the unmap that preceded it. */
  at: number;
  unmappedAt: number;
  /** How many times the IOVA page had been mapped. */
  generation: number;
  /** The violation in words. */
  explanation: string;
}

/** Each access class's code in the core (assembly/safety/oracle.ts AC_*; AC_FULL is a counter only). */
export const ACCESS_CLASS_CODES = {
  "ok": "AC_OK", "lazy-window": "AC_LAZY_WINDOW", "after-strict-unmap": "AC_AFTER_STRICT",
  "after-flush": "AC_AFTER_FLUSH", "use-after-free": "AC_USE_AFTER_FREE", "unknown": "AC_UNKNOWN",
  "freed-table": "AC_FREED_TABLE", "unchecked": "AC_UNCHECKED",
} as const satisfies Record<AccessClass, LayoutName>;

export function accessClassOf(core: Core, code: number): AccessClass {
  for (const [name, key] of Object.entries(ACCESS_CLASS_CODES)) if (core.layout[key] === code) return name as AccessClass;
  throw new IommuSimError(`iommu-sim: unknown access class ${code}`);
}

/**
 * The safety oracle of an SMMU (the `oracle` option of createSmmu): it checks every device
 * access against what the DMA API has handed out, and records each access that reached
 * memory it should not have (a use-after-unmap, a freed table) as a Violation.
 */
export class Oracle {
  private readonly violations: RingReader<Violation>;

  /** @internal Created by an Smmu with the `oracle` option; `capacity`: its shadow's room in IOVA pages, however scattered. */
  constructor(private readonly core: Core, private readonly smmuId: number, private readonly base: number,
              readonly capacity: number) {
    const L = core.layout;
    this.violations = new RingReader(core, {
      head: base + L.O_RING_HEAD, base: core.readU32(base + L.O_RING), capacity: core.readU32(base + L.O_RING_MASK) + 1,
      recordSize: L.VIOLATION_SIZE, what: `the oracle of SMMU ${smmuId}: violations`,
    }, (rec) => this.read(rec));
  }

  /** The DMA API mapped [iova, iova + size) to [pa, pa + size) for `domain` (page granular). */
  recordMap(domain: SmmuDomain, iova: number, pa: number, size: number): void {
    const ctx = "oracle.recordMap";
    checkOwned("domain", domain, this.core, "an SmmuDomain (Simulator.createSmmuDomain)", ctx, SmmuDomain);
    checkAddress("iova", iova, ctx);
    checkAddress("pa", pa, ctx);
    checkInt("size", size, 1, 2 ** 40, ctx);
    const first = Math.floor(iova / 4096);
    const pages = Math.ceil((iova + size) / 4096) - first;
    this.checkMapPages("size", size, pages, ctx);
    if (!this.core.raw.oracle_map(this.smmuId, domain.id, first * 4096, Math.floor(pa / 4096) * 4096, pages)) {
      throw new IommuSimError(`iommu-sim: SMMU domain ${domain.id} is not live`);
    }
  }

  /**
   * @internal Refuse a map of more IOVA pages than the shadow surely has room for, before
   * anything is done: it might not be recorded whole (the shadow would be full, and its
   * accesses unchecked), and each page past the shadow's room would still cost a bounded
   * probe of a full table — minutes for a terabyte. `name`/`size` are the caller's argument.
   */
  checkMapPages(name: string, size: number, pages: number, ctx: string): void {
    if (pages <= this.capacity) return;
    throw new ArgumentError(name, size, `must take at most ${this.capacity} IOVA pages of 4 KiB ` +
      `(${this.capacity * 4096} bytes, granule-aligned) with the SMMU's oracle on: its shadow has room for ${this.capacity} ` +
      `pages (oracle.capacity; at most ORACLE_MAX_PAGES), and this map needs ${pages}; map less at once, ` +
      "or create the SMMU without the oracle", ctx);
  }

  /**
   * The DMA API unmapped [iova, iova + size): `lazy` when the invalidation was left to the
   * flush queue, else strict (the invalidation had completed when the unmap returned).
   */
  recordUnmap(domain: SmmuDomain, iova: number, size: number, opts: { lazy: boolean }): void {
    const ctx = "oracle.recordUnmap";
    checkOwned("domain", domain, this.core, "an SmmuDomain (Simulator.createSmmuDomain)", ctx, SmmuDomain);
    checkRequiredOptions(opts, ["lazy"], ctx, "{ lazy: true | false }");
    checkBool("lazy", opts.lazy, false, ctx);
    checkAddress("iova", iova, ctx);
    checkInt("size", size, 1, 2 ** 40, ctx);
    const first = Math.floor(iova / 4096);
    const pages = Math.ceil((iova + size) / 4096) - first;
    if (!this.core.raw.oracle_unmap(this.smmuId, domain.id, first * 4096, pages, opts.lazy)) {
      throw new IommuSimError(`iommu-sim: SMMU domain ${domain.id} is not live`);
    }
  }

  /** How many device accesses fell in each class so far. */
  counts(): OracleCounts {
    const L = this.core.layout;
    const c = (key: LayoutNamesWith<"AC_">) => Number(this.core.readU64(this.base + L.O_COUNTERS + 8 * L[key]));
    return {
      ok: c("AC_OK"), lazyWindow: c("AC_LAZY_WINDOW"), afterStrictUnmap: c("AC_AFTER_STRICT"),
      afterFlush: c("AC_AFTER_FLUSH"), useAfterFree: c("AC_USE_AFTER_FREE"), unknown: c("AC_UNKNOWN"),
      freedTable: c("AC_FREED_TABLE"), shadowFull: c("AC_FULL"), unchecked: c("AC_UNCHECKED"),
    };
  }

  /** @internal The shared memory was restored from a snapshot: read on from its log's head. */
  resyncAfterRestore(): void {
    this.violations.rewind();
  }

  /**
   * Violations since the last call that the log still holds, oldest first, and how many
   * older ones it overwrote (call when no device is accessing).
   */
  takeLatestViolations(): { violations: Violation[]; lost: number } {
    const { records, lost } = this.violations.takeLatest();
    return { violations: records, lost };
  }

  /** Violations since the last call, oldest first (throws if the log wrapped). */
  takeViolations(): Violation[] {
    return this.violations.take();
  }

  private read(r: number): Violation {
    const core = this.core;
    const L = core.layout;
    const kind = accessClassOf(core, core.readU32(r + L.V_KIND)) as Violation["kind"];
    const v = {
      kind, iova: core.readU64Number(r + L.V_IOVA) * 4096, reached: core.readU64Number(r + L.V_REACHED) * 4096,
      expected: core.readU64Number(r + L.V_EXPECTED) * 4096, unmappedAt: core.readU64Number(r + L.V_UNMAPPED_AT),
      at: core.readU64Number(r + L.V_AT), streamId: core.readU32(r + L.V_SID), generation: core.readU32(r + L.V_GEN),
    };
    if (kind === "freed-table") v.reached /= 4096; // the table's PA itself
    return { ...v, explanation: explain(v) };
  }
}

function explain(v: Omit<Violation, "explanation">): string {
  const dev = `device (stream ${v.streamId})`;
  const when = `at jiffy ${v.at}`;
  switch (v.kind) {
    case "use-after-free":
      return `${dev} reached PA ${hex(v.reached)} through IOVA ${hex(v.iova)} ${when}, but the DMA API had ` +
        `handed that IOVA out again (mapping #${v.generation}, now to PA ${hex(v.expected)}): a stale ` +
        `translation outlived the IOVA's reuse — use-after-free`;
    case "after-strict-unmap":
      return `${dev} reached PA ${hex(v.reached)} through IOVA ${hex(v.iova)} ${when}, after a strict unmap ` +
        `(jiffy ${v.unmappedAt}) whose invalidation had completed`;
    case "after-flush":
      return `${dev} reached PA ${hex(v.reached)} through IOVA ${hex(v.iova)} ${when}: unmapped lazily at jiffy ` +
        `${v.unmappedAt}, and a flush of its domain had completed since — the lazy window was closed`;
    case "unknown":
      return `${dev} reached PA ${hex(v.reached)} through IOVA ${hex(v.iova)} ${when}, which the DMA API never mapped`;
    case "freed-table":
      return `${dev} walked through table page ${hex(v.reached)} for IOVA ${hex(v.iova)} ${when} after that ` +
        `page had been freed`;
  }
}
