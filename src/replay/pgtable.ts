// The page-table commands of the replay language: cfg, map, unmap, phys, dump, dumpall,
// free, selftest, smmu. Output follows the kernel-code harness line for line.

import type { Simulator } from "../simulator.js";
import {
  PageTable, PageTableConfigError, WARN_TEXT, type DumpEntry,
  type PageTableFormat, type TlbEvent,
} from "../pgtable.js";
import { hex } from "../errors.js";
import { runSelftest } from "../selftest.js";
import { Args, type CommandFamily, type ReplayOutput } from "./args.js";
import type { Device, Smmu, SmmuModel } from "../smmu/smmu.js";
import type { SmmuDomain } from "../smmu/domain.js";
import { formatCommandEvent } from "../smmu/commands.js";
import { formatRegisterEvent } from "../smmu/registers.js";
import { machineHas, type Profile } from "../profile.js";

/**
 * What `smmu RIL STAGE ID [COMPACT]` (SMMUv3) or `smmu v2|v1 STAGE ID` (arm-smmu) set:
 * applies to every table from then on.
 */
interface SmmuSettings {
  /** Which driver receives the invalidations: "v3" prints commands, "v2"/"v1" register writes. */
  model: SmmuModel;
  ril: boolean;
  stage: 1 | 2;
  id: number;
  compact: boolean;
}

const FORMATS: Record<string, PageTableFormat> = {
  s1: "arm-lpae-s1", s2: "arm-lpae-s2", s1_32: "arm-lpae-s1-32", s2_32: "arm-lpae-s2-32",
};

export class PgtableCommands implements CommandFamily {
  private pt: PageTable | undefined;
  private smmuSettings: SmmuSettings | undefined;
  private smmuDomain: SmmuDomain | undefined;
  /** The SMMU v1/v2 a `smmu v2` table's domain is attached to (one stream, so the domain has a context bank). */
  private v2: { smmu: Smmu; device?: Device } | undefined;

  /** `commandRules`: whose driver encodes the CMD lines (default: the profile's). */
  constructor(private readonly sim: Simulator, private readonly out: ReplayOutput,
              private readonly commandRules?: Profile) {}

  run(cmd: string, a: Args): boolean {
    switch (cmd) {
      case "cfg": this.cfg(a); return true;
      case "smmu": this.smmu(a); return true;
      case "map": this.map(a); return true;
      case "unmap": this.unmap(a); return true;
      case "phys": a.atMost(1); this.out.line(hex(this.table().iovaToPhys(a.num(0, "IOVA")))); return true;
      case "dump": a.atMost(0); this.dump(true); return true;
      case "dumpall": a.atMost(0); this.dump(false); return true;
      case "free": a.atMost(0); this.free(); return true;
      case "selftest": a.atMost(0); this.selftest(); return true;
      default: return false;
    }
  }

  close(): void {
    this.dropTable();
    this.v2?.smmu.destroy();
    this.v2 = undefined;
  }

  private dropTable(): void {
    this.v2?.device?.detach();
    if (this.v2) this.v2.device = undefined;
    this.smmuDomain?.destroy();
    this.smmuDomain = undefined;
    this.pt?.release();
    this.pt = undefined;
  }

  /**
   * Give the current table an SMMU domain as `smmu` last set, so its commands print — on an
   * SMMU v1/v2, attached through one stream so that it has a context bank to write.
   */
  private attachSmmu(): void {
    const s = this.smmuSettings;
    if (!s || !this.pt) return;
    this.v2?.device?.detach();
    this.smmuDomain?.destroy();
    this.smmuDomain = this.sim.createSmmuDomain(this.pt, {
      stage: s.stage, id: s.id, rangeInvalidation: s.ril,
      ...(this.commandRules ? { commandRules: this.commandRules } : {}),
    });
    if (s.model === "v3") return;
    if (this.v2?.smmu.model !== s.model) {
      this.v2?.smmu.destroy();
      this.v2 = { smmu: this.sim.createSmmu({ model: s.model, microTlb: 0 }) };
    }
    this.v2.device = this.v2.smmu.attachDevice(0, this.smmuDomain);
  }

  private table(): PageTable {
    if (!this.pt) throw new Error("no page table: a 'cfg' that succeeded must come first");
    return this.pt;
  }

  /** cfg FMT PGSIZE_BITMAP IAS OAS [COHERENT] [QUIRKS] — frees the previous table first. */
  private cfg(a: Args): void {
    a.atMost(6);
    const fmtWord = a.word(0, "FMT");
    const format = FORMATS[fmtWord];
    if (!format) throw new Error(`FMT must be one of ${Object.keys(FORMATS).join(", ")}, got '${fmtWord}'`);
    const config = {
      format, pgsizeBitmap: a.num(1, "PGSIZE_BITMAP"), ias: a.num(2, "IAS"), oas: a.num(3, "OAS"),
      coherentWalk: a.flag(4, "COHERENT", 1), quirks: a.num(5, "QUIRKS", 0), events: 1 << 16,
    };
    if (this.pt) {
      this.pt.free();
      this.printEvents(this.pt.takeEvents());
      this.dropTable();
    }
    try {
      this.pt = this.sim.createPageTable(config);
    } catch (e) {
      if (!(e instanceof PageTableConfigError)) throw e;
      if (e.errno === "ESIM_PGT_S2_CONCAT") this.out.warning("io-pgtable-arm: mandatory stage-2 concatenation needs more than 16 tables");
      this.out.line("alloc_io_pgtable_ops -> NULL");
      return;
    }
    this.attachSmmu();
    this.out.line(describeGeometry(this.pt));
  }

  /**
   * smmu [v3] RIL STAGE ID [COMPACT], or smmu v2|v1 STAGE ID: from here on, print the
   * driver's commands (SMMUv3) or register writes (arm-smmu on an SMMU v2 / v1) too.
   */
  private smmu(a: Args): void {
    const first = a.words[0];
    const model: SmmuModel = first === "v2" || first === "v1" || first === "v3" ? first : "v3";
    const args = first === model ? a.after(1) : a;
    const v3 = model === "v3";
    args.atMost(v3 ? 4 : 2);
    // Read in the line's order, so that a short line is told the first argument it lacks.
    const ril = v3 && args.flag(0, "RIL");
    const at = v3 ? 1 : 0;
    const stage = args.num(at, "STAGE");
    if (stage !== 1 && stage !== 2) throw new Error(`STAGE must be 1 or 2, got ${stage}`);
    const id = args.num(at + 1, "ID");
    const most = v3 ? 0xffff : stage === 2 ? 0xff : 0xffff;
    if (id > most) throw new Error(`ID must be ${stage === 1 ? "an ASID" : "a VMID"} in [0, ${most}]${v3 ? "" : ` on an SMMU ${model}`}, got ${id}`);
    this.smmuSettings = { model, ril, stage, id, compact: v3 && args.flag(3, "COMPACT", 0) };
    this.attachSmmu();
    this.out.line("ok");
  }

  private map(a: Args): void {
    a.atMost(5);
    const pt = this.table();
    const r = pt.mapPages(a.num(0, "IOVA"), a.num(1, "PADDR"), a.num(2, "PGSIZE"), a.num(3, "PGCOUNT"),
      a.num(4, "PROT"), { raw: true });
    this.printEvents(pt.takeEvents());
    this.out.line(`ret=${r.ret} mapped=${hex(r.mapped64)}`);
  }

  private unmap(a: Args): void {
    a.atMost(4);
    const pt = this.table();
    const queued = a.flag(3, "QUEUED", 0);
    const r = pt.unmapPages(a.num(0, "IOVA"), a.num(1, "PGSIZE"), a.num(2, "PGCOUNT"),
      { gather: queued ? "queued" : "strict", sync: true, raw: true });
    this.out.line("");
    this.printEvents(pt.takeEvents());
    if (r.queued) this.out.line("  (queued: leaf invalidation deferred to flush queue's flush_iotlb_all)");
    this.out.line(`  unmapped=${hex(r.unmapped)}`);
  }

  private dump(merge: boolean): void {
    this.out.line("");
    for (const e of this.table().dump({ merge })) this.out.line(formatDumpEntry(e));
  }

  private free(): void {
    const pt = this.table();
    pt.free();
    this.out.line("");
    this.printEvents(pt.takeEvents());
    this.dropTable();
    this.out.line(`  pages_live=${this.sim.memoryStats().tableAllocations} kmalloc_live=0`);
  }

  private selftest(): void {
    const r = runSelftest(this.sim);
    for (const l of r.log) this.out.line(l);
    for (const w of r.warnings) this.out.warning(w);
    const pages = r.leakedAllocations;
    this.out.line(!machineHas(this.sim.core, "PGT_SELFTEST_KUNIT")
      ? `selftest: ret=${r.fail ? -14 : 0} warnings=${r.warnings.length} pages_live=${pages}`
      : `selftest: failures=${r.fail} warnings=${r.warnings.length} pages_live=${pages}`);
  }

  private printEvents(events: TlbEvent[]): void {
    for (const e of events) {
      switch (e.kind) {
        case "tlb_add_page": this.out.line(`  tlb_add_page iova=${hex(e.iova)} granule=${hex(e.granule)}`); break;
        case "tlb_flush_walk": this.out.line(`  tlb_flush_walk iova=${hex(e.iova)} size=${hex(e.size)} granule=${hex(e.granule)}`); break;
        case "tlb_flush_all": this.out.line("  tlb_flush_all"); break;
        case "iotlb_sync":
          // An SMMU v1/v2's sync does not need the gather, and may get an empty one (start > end).
          this.out.line(e.start > e.end ? "  iotlb_sync (empty gather)"
            : `  iotlb_sync start=${hex(e.start)} end=${hex(e.end)} pgsize=${hex(e.pgsize)}`);
          break;
        case "warn": this.out.warning(WARN_TEXT[e.code]); break;
        case "cmd":
          for (const l of formatCommandEvent(e, this.smmuSettings?.compact ?? false)) this.out.line(`    ${l}`);
          break;
        case "reg": this.out.line(`    ${formatRegisterEvent(e)}`); break;
      }
    }
  }
}

export function describeGeometry(pt: PageTable): string {
  const g = pt.geometry;
  const common = `pgsize_bitmap=${hex(g.pgsizeBitmap)} ias=${g.ias} oas=${g.oas} levels=${g.levels} ` +
    `start_level=${g.startLevel} bits_per_level=${g.bitsPerLevel} pgd_bits=${g.pgdBits} ` +
    `pgd_size=${hex(g.pgdSize)} granule=${hex(g.granule)}`;
  const t = g.tcr;
  if (g.mair !== undefined) {
    return `${common} TCR: ips=${t.ps} tg=${t.tg} sh=${t.sh} orgn=${t.orgn} irgn=${t.irgn} tsz=${t.tsz} ` +
      `MAIR=${hex(g.mair)} TTBR=${hex(g.ttbr)}`;
  }
  return `${common} VTCR: ps=${t.ps} tg=${t.tg} sh=${t.sh} orgn=${t.orgn} irgn=${t.irgn} sl=${t.sl} ` +
    `tsz=${t.tsz} VTTBR=${hex(g.ttbr)}`;
}

export function formatDumpEntry(e: DumpEntry): string {
  const kind = e.kind.toUpperCase();
  if (e.kind === "table") return `  L${e.level}[${e.index}] va=${hex(e.va)} pte=${pte16(e.pte)} TABLE`;
  const tail = `size=${hex(e.size!)} attrs=${hex(e.attrs!)}`;
  if (e.count === 1) return `  L${e.level}[${e.index}] va=${hex(e.va)} pte=${pte16(e.pte)} ${kind} pa=${hex(e.pa!)} ${tail}`;
  return `  L${e.level}[${e.index}..${e.lastIndex}] va=${hex(e.va)} ${kind} x${e.count} pa=${hex(e.pa!)}.. ${tail}`;
}

function pte16(v: bigint): string {
  return "0x" + v.toString(16).padStart(16, "0");
}
