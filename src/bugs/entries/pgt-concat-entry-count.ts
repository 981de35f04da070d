// Bug corpus #7, d71fa842d33c "iommu/io-pgtable-arm: Fix stage-2 map/unmap for concatenated
// tables": in a concatenated stage-2 PGD (two 4K tables, 1024 entries, for a 40-bit IPA), the
// entries one map or unmap call may touch were counted as 512 − index, negative past entry
// 511. The fix is KB_PGT_CONCAT_PER_TABLE (assembly/pgtable/lpae.ts entriesLeft); the buggy
// form is 7.1 without it. The checks are map_pages' and unmap_pages' contracts, asked of the
// table itself: a map that returns 0 mapped all it was asked and every page translates to
// its PA; an unmap returns the size asked and leaves nothing translating; a freed table
// leaves no table pages behind.

import type { BugEntry } from "../types.js";
import { formMachine } from "../evidence.js";
import { hex } from "../../errors.js";
import type { PageTable } from "../../pgtable.js";

const GiB = 2 ** 30;
/** IPA 600 GiB: level-1 index 600 of the 1024-entry PGD, past the first table's 512 entries. */
const BLOCK_IPA = 600 * GiB;
/** IPA 604 GiB: a 4K page there puts a table under level-1 entry 604. */
const TABLE_IPA = 604 * GiB;

/** Does `iova` translate to `pa`? A line for the evidence if not. */
function expectPhys(pt: PageTable, iova: number, pa: number, violations: string[], lines: string[]): void {
  const got = pt.iovaToPhys(iova);
  lines.push(`> phys ${hex(iova)}`, hex(got));
  if (got !== pa) violations.push(`iova_to_phys(${hex(iova)}) = ${hex(got)}, expected ${pa === 0 ? "no translation" : hex(pa)}`);
}

export const PGT_CONCAT_ENTRY_COUNT: BugEntry = {
  id: "pgt-concat-entry-count",
  corpus: 7,
  fix: "d71fa842d33c",
  title: "iommu/io-pgtable-arm: Fix stage-2 map/unmap for concatenated tables",
  component: "io-pgtable-arm (__arm_lpae_map, __arm_lpae_unmap)",
  effect: "negative entry count past index 511 of a concatenated PGD: bogus `mapped`, nothing mapped or unmapped",
  kernels: "5.15 to 6.12 before the Dec 2024 backports: the 5.15 profile (5.15.16) has it",
  fixChanged: "The room a call has is counted against the granule-sized table that holds its start index " +
    "(entries per table minus the index within that table); before, it was entries per table minus the " +
    "index into the whole concatenated PGD, which goes negative past the first table.",
  switch: { kind: "behaviour", name: "PGT_CONCAT_PER_TABLE", buggy: "7.1 without PGT_CONCAT_PER_TABLE", fixed: "7.1" },
  trigger: "stage-2, 4K granule, IAS/OAS 40 (two concatenated level-1 tables): map a 1 GiB block at IPA 600 GiB; " +
    "map a 4K page at 604 GiB and unmap 1 GiB there",
  async run(form) {
    const sim = await formMachine(form, "7.1", "PGT_CONCAT_PER_TABLE");
    const lines: string[] = [];
    const violations: string[] = [];
    try {
      const pt = sim.createPageTable({ format: "arm-lpae-s2", pgsizeBitmap: 0x40201000, ias: 40, oas: 40 });
      const g = pt.geometry;
      lines.push("> cfg s2 0x40201000 40 40", `start_level=${g.startLevel} pgd_bits=${g.pgdBits} pgd_size=${hex(g.pgdSize)}`);
      const prot = 0x3;
      const blockPa = 0x80000000;
      const m = pt.mapPages(BLOCK_IPA, blockPa, GiB, 1, prot);
      lines.push(`> map ${hex(BLOCK_IPA)} ${hex(blockPa)} ${hex(GiB)} 1 ${hex(prot)}`, `ret=${m.ret} mapped=${hex(m.mapped64)}`);
      if (m.ret === 0 && m.mapped64 !== BigInt(GiB)) violations.push(`map_pages returned 0 with mapped=${hex(m.mapped64)}, expected ${hex(GiB)}`);
      expectPhys(pt, BLOCK_IPA + 0x1000, blockPa + 0x1000, violations, lines);
      const pagePa = 0x90000000;
      const p = pt.mapPages(TABLE_IPA, pagePa, 0x1000, 1, prot);
      lines.push(`> map ${hex(TABLE_IPA)} ${hex(pagePa)} 0x1000 1 ${hex(prot)}`, `ret=${p.ret} mapped=${hex(p.mapped64)}`);
      const u = pt.unmapPages(TABLE_IPA, GiB, 1);
      lines.push(`> unmap ${hex(TABLE_IPA)} ${hex(GiB)} 1`, `unmapped=${hex(u.unmapped)}`);
      if (u.unmapped !== GiB) violations.push(`unmap_pages of the 1 GiB range at ${hex(TABLE_IPA)} returned ${hex(u.unmapped)}, expected ${hex(GiB)}`);
      expectPhys(pt, TABLE_IPA, 0, violations, lines);
      pt.free();
      const live = sim.memoryStats().tableAllocations;
      lines.push("> free", `pages_live=${live}`);
      if (live !== 0) violations.push(`${live} table page(s) still allocated after the table was freed`);
      return {
        form,
        caught: violations.length > 0,
        verdict: violations.length > 0 ? "map/unmap contract broken past entry 511 of the concatenated PGD" : "clean",
        evidence: [...violations, ...lines],
        measures: { violations: violations.length },
      };
    } finally {
      await sim.close();
    }
  },
};
