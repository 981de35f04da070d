// Bug zoo #4, 6833b8f2e199 "iommu/arm-smmu-v3: Set TTL invalidation hint better" (corpus #4,
// shared/reference/bug-corpus.md; reference §5.4): the SMMUv3 driver's range TLBI for a freed
// table (a non-leaf, walk invalidation) carried a TTL computed from the nominal 4K granule —
// level 3 — so an SMMU that honours TTL need not drop the level-2 block entries the table held.
// The fix is behaviour SMMU_NONLEAF_TTL0; the buggy form is 7.1 without it.

import { Prot } from "../../pgtable.js";
import { hex } from "../../errors.js";
import type { AccessClass } from "../../safety/oracle.js";
import type { BugEntry, BugForm, BugFormResult } from "../types.js";
import { accessClasses, accessLine, commandLines, formMachine, tallyViolations, verdictOf } from "../evidence.js";

const IOVA = 0x4000_0000; // level-1 entry 1: its level-2 table holds the blocks
const BLOCK = 0x20_0000;
const GIB = 0x4000_0000;
const PA_OLD = 0x8000_0000;
const PA_NEW = 0x9000_0000;

async function run(form: BugForm): Promise<BugFormResult> {
  const sim = await formMachine(form, "7.1", "SMMU_NONLEAF_TTL0");
  try {
    // An SMMU that honours TTL and completes TLBIs at the CMD_SYNC (OPT_TTL_STRICT, OPT_INVALIDATE_AT_SYNC).
    const smmu = sim.createSmmu({ oracle: true, ttl: "honour", invalidateAt: "sync", microTlb: 0 });
    const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48 });
    const dom = sim.createSmmuDomain(pt, { id: 1, rangeInvalidation: true });
    const dev = smmu.attachDevice(1, dom);
    const oracle = smmu.oracle!;
    const evidence = [`kernel ${sim.behaviourOverrides ? "7.1 without SMMU_NONLEAF_TTL0" : "7.1"}; SMMU with RIL, TTL honoured, TLBIs effective at CMD_SYNC`];
    pt.mapPages(IOVA, PA_OLD, BLOCK, 2, Prot.READ | Prot.WRITE);
    oracle.recordMap(dom, IOVA, PA_OLD, 2 * BLOCK);
    evidence.push(`map 2 × 2 MiB blocks at ${hex(IOVA)} (a level-2 table under a level-1 entry)`);
    for (let i = 0; i < 2; i++) evidence.push(accessLine(`device reads ${hex(IOVA + i * BLOCK)}`, dev.access(IOVA + i * BLOCK, 64, "read")));
    pt.takeEvents();
    pt.unmapPages(IOVA, GIB, 1);
    oracle.recordUnmap(dom, IOVA, 2 * BLOCK, { lazy: false });
    evidence.push(`strict unmap of the 1 GiB range frees the table; the driver writes:`, ...commandLines(pt.takeEvents()));
    const seen: AccessClass[] = [];
    for (let i = 0; i < 2; i++) {
      const r = dev.access(IOVA + i * BLOCK, 64, "read");
      seen.push(...accessClasses(r));
      evidence.push(accessLine(`device reads ${hex(IOVA + i * BLOCK)} after the unmap`, r));
    }
    pt.mapPages(IOVA, PA_NEW, BLOCK, 1, Prot.READ | Prot.WRITE);
    oracle.recordMap(dom, IOVA, PA_NEW, BLOCK);
    const again = dev.access(IOVA, 64, "write");
    seen.push(...accessClasses(again));
    evidence.push(`remap ${hex(IOVA)} → ${hex(PA_NEW)}`, accessLine(`device writes ${hex(IOVA)}`, again));
    const counts = tallyViolations(seen);
    const violations = [...counts.values()].reduce((a, b) => a + b, 0);
    return { form, caught: violations > 0, verdict: verdictOf(counts), evidence, measures: { violations } };
  } finally {
    await sim.close();
  }
}

export const TTL_NONLEAF: BugEntry = {
  id: "ttl-nonleaf",
  corpus: 4,
  fix: "6833b8f2e199",
  introducedBy: "6a481a95d4c1",
  title: "iommu/arm-smmu-v3: Set TTL invalidation hint better",
  component: "SMMUv3 range TLBI",
  effect: "a freed table's walk TLBI carries TTL 3, so 2 MiB blocks stay cached: stale access after a strict unmap",
  kernels: "v5.7 to v6.5 (SMMUs with range invalidation)",
  fixChanged: "A non-leaf (walk) range invalidation no longer claims a translation level: its TTL is 0, " +
    "so it removes entries cached from any level, the blocks of the freed table included.",
  switch: { kind: "behaviour", name: "SMMU_NONLEAF_TTL0", buggy: "7.1 without SMMU_NONLEAF_TTL0", fixed: "7.1" },
  trigger: "two 2 MiB blocks in a level-2 table, read by the device; a strict unmap of the whole 1 GiB frees the " +
    "table; the device reads again, then after a remap (SMMU honouring TTL, TLBIs effective at CMD_SYNC)",
  run,
};
