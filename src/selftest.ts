// The kernel's own io-pgtable-arm self-tests, run against the simulator: the boot-time
// selftest inside io-pgtable-arm.c (v5.15, v6.12: 18 configurations, each for stage 1 and
// stage 2, partial unmaps included) and, for a kernel with PGT_SELFTEST_KUNIT, the KUnit
// suite io-pgtable-arm-test (v7.1: 63 configurations). The steps follow reference §4.14; the dummy
// TLB callbacks' checks (walk flush / add_page sizes must be page sizes of the table)
// are made on the recorded events.

import { Simulator } from "./simulator.js";
import { PageTable, Prot, Quirk, type PageTableFormat } from "./pgtable.js";
import { ArgumentError, hex } from "./errors.js";
import { machineHas } from "./profile.js";

export interface SelftestResult {
  pass: number;
  fail: number;
  /** Log lines in the kernel's format. */
  log: string[];
  /** WARNs raised (by the tables or by the dummy TLB callbacks). */
  warnings: string[];
  /** Table allocations still live afterwards (0 unless a test failed or leaked). */
  leakedAllocations: number;
  /** What failed, for each failing configuration. */
  failures: string[];
}

const SZ_1G = 0x40000000;
const SZ_2G = 0x80000000;
const PGSIZES = [0x40201000, 0x02004000, 0x20010000];
const IAS = [32, 36, 40, 42, 44, 48];
const FORMATS: PageTableFormat[] = ["arm-lpae-s1", "arm-lpae-s2"];

class SelftestFailure extends Error {}

function check(cond: boolean, what: string): void {
  if (!cond) throw new SelftestFailure(what);
}

function sizesOf(bitmap: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < 53; b++) if (Math.floor(bitmap / 2 ** b) % 2 === 1) out.push(2 ** b);
  return out;
}

/** One configuration, both formats. Returns null on success or what failed. */
function runTests(sim: Simulator, bitmap: number, ias: number, oas: number,
                  warnings: string[]): string | null {
  const boot = !machineHas(sim.core, "PGT_SELFTEST_KUNIT");
  for (const format of FORMATS) {
    let pt: PageTable;
    try {
      pt = sim.createPageTable({ format, pgsizeBitmap: bitmap, ias, oas, coherentWalk: true,
        quirks: boot ? 0 : Quirk.NO_WARN, events: 1 << 12 });
    } catch (e) {
      return `${format}: failed to allocate io pgtable ops (${(e as Error).message})`;
    }
    if (boot) pt.setSelftestMode(true);
    try {
      steps(pt, boot);
    } catch (e) {
      if (!(e instanceof SelftestFailure)) throw e;
      return `${format}: ${e.message}`;
    } finally {
      pt.free();
      collectWarnings(pt, warnings);
      pt.release();
    }
  }
  return null;
}

/** The steps of one configuration: the boot-time suite's, or the KUnit suite's. */
function steps(pt: PageTable, boot: boolean): void {
  const sizes = sizesOf(pt.geometry.pgsizeBitmap);
  const raw = { raw: true };
  const noGather = { gather: "none" as const, raw: true };

  // Empty tables translate nothing.
  for (const a of [42, SZ_1G + 42, SZ_2G + 42]) check(pt.iovaToPhys(a) === 0, `empty table translated ${hex(a)}`);

  // Distinct mappings of each size, 1 GiB apart; a second mapping over each must fail.
  let iova = 0;
  for (const size of sizes) {
    check(pt.mapPages(iova, iova, size, 1, Prot.READ | Prot.WRITE | Prot.NOEXEC | Prot.CACHE, raw).ret === 0,
      `map of ${hex(size)} at ${hex(iova)} failed`);
    check(pt.mapPages(iova, iova + size, size, 1, Prot.READ | Prot.NOEXEC, raw).ret !== 0,
      `overlapping map at ${hex(iova)} succeeded`);
    check(pt.iovaToPhys(iova + 42) === iova + 42, `translation of ${hex(iova + 42)} wrong`);
    iova += SZ_1G;
  }

  if (boot) {
    // Partial unmap: the smallest page out of the block at 1 GiB (splits it), then remap.
    const size = sizes[0]!;
    check(pt.unmapPages(SZ_1G + size, size, 1, noGather).unmapped === size, "partial unmap failed");
    check(pt.mapPages(SZ_1G + size, size, size, 1, Prot.READ, raw).ret === 0, "remap of partial unmap failed");
    check(pt.iovaToPhys(SZ_1G + size + 42) === size + 42, "translation after partial remap wrong");
  }

  // Full unmap of each, then remap it whole.
  iova = 0;
  for (const size of sizes) {
    check(pt.unmapPages(iova, size, 1, noGather).unmapped === size, `unmap of ${hex(size)} at ${hex(iova)} failed`);
    check(pt.iovaToPhys(iova + 42) === 0, `${hex(iova + 42)} still translates after unmap`);
    check(pt.mapPages(iova, iova, size, 1, Prot.WRITE, raw).ret === 0, `remap of ${hex(size)} at ${hex(iova)} failed`);
    check(pt.iovaToPhys(iova + 42) === iova + 42, `translation of ${hex(iova + 42)} after remap wrong`);
    iova += SZ_1G;
  }

  if (!boot) {
    // The last, largest page of the IAS: corner cases of concatenated PGDs.
    const size = sizes[sizes.length - 1]!;
    const last = 2 ** pt.geometry.ias - size;
    const r = pt.mapPages(last, last, size, 1, Prot.READ | Prot.WRITE | Prot.NOEXEC | Prot.CACHE, raw);
    check(r.ret === 0 && r.mapped === size, `map of the last page ${hex(last)} failed`);
    check(pt.unmapPages(last, size, 1, noGather).unmapped === size, `unmap of the last page ${hex(last)} failed`);
  }
}

/** WARNs from the table, and the dummy TLB callbacks' size checks. */
function collectWarnings(pt: PageTable, warnings: string[]): void {
  const bitmap = pt.geometry.pgsizeBitmap;
  const inBitmap = (s: number) => Math.floor(bitmap / s) % 2 === 1;
  let events;
  try { events = pt.takeEvents(); } catch { return; }
  for (const e of events) {
    if (e.kind === "warn") warnings.push(e.message);
    else if (e.kind === "tlb_flush_walk" && !inBitmap(e.size)) warnings.push(`dummy tlb_flush_walk of size ${hex(e.size)}`);
    else if (e.kind === "tlb_add_page" && !inBitmap(e.granule)) warnings.push(`dummy tlb_add_page of size ${hex(e.granule)}`);
  }
}

/** Run the kernel's io-pgtable-arm self-tests of `sim`'s profile (see the file's head) on `sim`. */
export function runSelftest(sim: Simulator): SelftestResult {
  if (!(sim instanceof Simulator)) throw new ArgumentError("sim", sim, "must be a Simulator (await Simulator.create({ profile }))", "runSelftest");
  const before = sim.memoryStats().tableAllocations;
  const r: SelftestResult = { pass: 0, fail: 0, log: [], warnings: [], leakedAllocations: 0, failures: [] };
  const record = (label: string, failure: string | null) => {
    if (failure) { r.fail++; r.failures.push(`${label}: ${failure}`); } else r.pass++;
  };
  if (!machineHas(sim.core, "PGT_SELFTEST_KUNIT")) {
    for (const bitmap of PGSIZES) {
      for (const ias of IAS) {
        r.log.push(`arm-lpae io-pgtable: selftest: pgsize_bitmap ${hex8(bitmap)}, IAS ${ias}`);
        record(`pgsize_bitmap ${hex8(bitmap)}, IAS ${ias}`, runTests(sim, bitmap, ias, 48, r.warnings));
      }
    }
    r.log.push(`arm-lpae io-pgtable: selftest: completed with ${r.pass} PASS ${r.fail} FAIL`);
  } else {
    for (const bitmap of PGSIZES) {
      for (const oas of IAS) {
        for (const ias of IAS) {
          if (ias > oas) continue;
          r.log.push(`  pgsize_bitmap ${hex8(bitmap)}, IAS ${ias} OAS ${oas}`);
          record(`pgsize_bitmap ${hex8(bitmap)}, IAS ${ias} OAS ${oas}`, runTests(sim, bitmap, ias, oas, r.warnings));
        }
      }
    }
    r.log.push(`  completed with ${r.pass} PASS ${r.fail} FAIL`);
  }
  for (const f of r.failures) r.log.push(`  FAILED ${f}`);
  r.leakedAllocations = sim.memoryStats().tableAllocations - before;
  return r;
}

function hex8(v: number): string {
  return "0x" + v.toString(16).padStart(8, "0");
}
