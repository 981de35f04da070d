// Bug corpus #8, 9abe2ac83485 "iommu/io-pgtable-arm: Fix table descriptor paddr formatting":
// with 64K granules and a 52-bit output address, a new table's descriptor was written with
// its raw PA, not packed as leaf descriptors are (PA[51:48] in PTE[15:12]), while the walk —
// the SMMU's, and the kernel's own iopte_deref — unpacks it. A table page above 2^48 then
// gets a descriptor that points somewhere else. The fix is KB_PGT_TABLE_PA_PACKED; the
// buggy form is 7.1 without it. The table takes its tables from above 2^48 (`highTables`).
//
// The check is the descriptor's own contract: decoded as the walk decodes it, every table
// descriptor names a page above 2^48 (where all this table's tables were allocated), and
// the core's count of descriptors that miss their table page stays 0. The model's RAM is
// seen in both windows, so translations still land; the wrong value is the verdict.

import type { BugEntry } from "../types.js";
import { formMachine } from "../evidence.js";
import { hex } from "../../errors.js";

const HIGH = 2 ** 48;
const ADDR = 0x0000_ffff_ffff_f000n;

/** The address a table descriptor names, read as the walk reads it with 64K granules. */
function decode(pte: bigint): number {
  const x = pte & ADDR;
  return Number((x | (x << 36n)) & (ADDR << 4n));
}

export const PGT_TABLE_PA_PACKING: BugEntry = {
  id: "pgt-table-pa-packing",
  corpus: 8,
  fix: "9abe2ac83485",
  introducedBy: "6c89928ff7a0",
  title: "iommu/io-pgtable-arm: Fix table descriptor paddr formatting",
  component: "io-pgtable-arm (arm_lpae_install_table)",
  effect: "a table descriptor above 2^48 names another address (52-bit PA not packed)",
  kernels: "from 6c89928ff7a0 (52-bit PA support) to v5.17, and stable trees before the backport: the 5.15 profile (5.15.16) has it",
  fixChanged: "A new table's descriptor is formed by the same PA-to-PTE packing as a leaf's, which moves PA " +
    "bits [51:48] into PTE bits [15:12]; before, the raw PA was used, so those bits landed in PTE bits the " +
    "walk reads as ordinary address bits [51:48] of nothing, and the walk went to a table below 2^48.",
  switch: { kind: "behaviour", name: "PGT_TABLE_PA_PACKED", buggy: "7.1 without PGT_TABLE_PA_PACKED", fixed: "7.1" },
  trigger: "stage-1, 64K granule, IAS 48, OAS 52, tables allocated above 2^48 (highTables): map one 64K page",
  async run(form) {
    const sim = await formMachine(form, "7.1", "PGT_TABLE_PA_PACKED");
    const violations: string[] = [];
    const lines: string[] = [];
    try {
      const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x20010000, ias: 48, oas: 52, highTables: true });
      lines.push("> cfg s1 0x20010000 48 52 (next-level tables above 2^48)");
      const iova = 0x1230000;
      const pa = 0x8000_0045_0000;
      const m = pt.mapPages(iova, pa, 0x10000, 1, 0x3);
      lines.push(`> map ${hex(iova)} ${hex(pa)} 0x10000 1 0x3`, `ret=${m.ret} mapped=${hex(m.mapped64)}`);
      for (const e of pt.dump()) {
        if (e.kind !== "table") continue;
        const target = decode(e.pte);
        lines.push(`level ${e.level} index ${e.index}: table pte=${hex(e.pte)} -> next table at ${hex(target)}`);
        if (target < HIGH) {
          violations.push(`level ${e.level} index ${e.index}: table descriptor ${hex(e.pte)} names ${hex(target)}, ` +
            "below 2^48, where this table has no table pages");
        }
      }
      const bad = pt.badTableDescriptors;
      if (bad > 0) violations.push(`${bad} table descriptor(s) do not decode to the table page they were made for`);
      lines.push(`badTableDescriptors=${bad}`);
      return {
        form,
        caught: violations.length > 0,
        verdict: violations.length > 0 ? "wrong table-descriptor value (52-bit PA not packed)" : "clean: every table descriptor names its table",
        evidence: [...violations, ...lines],
        measures: { badTableDescriptors: bad, violations: violations.length },
      };
    } finally {
      await sim.close();
    }
  },
};
