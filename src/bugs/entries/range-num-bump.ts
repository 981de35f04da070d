// Bug zoo #5, eb6c97647be2 "iommu/arm-smmu-v3: Avoid constructing invalid range commands"
// (corpus #5, partly; reference §5.4): once non-leaf range TLBIs carried TTL 0 (6833b8f2e199),
// a range whose first 5-bit chunk of pages was exactly 1 was encoded with TTL, NUM and SCALE
// all 0 while TG was set — an encoding the architecture makes illegal (CERROR_ILL). The fix,
// behaviour SMMU_RANGE_NUM_BUMP, bumps such a page count by one; the buggy form is 7.1
// without it. io-pgtable never asks for such a range (it frees whole tables); SVA's MMU
// notifier does, for any munmap: the entry calls the driver's range invalidation directly.

import { Prot } from "../../pgtable.js";
import { hex } from "../../errors.js";
import type { BugEntry, BugForm, BugFormResult } from "../types.js";
import { accessClasses, accessLine, commandLines, formMachine, tallyViolations, verdictOf } from "../evidence.js";

const IOVA = 0x20_0000;
const PA = 0x8000_0000;
const PAGES = 33;
const PAGE = 0x1000;

async function run(form: BugForm): Promise<BugFormResult> {
  const sim = await formMachine(form, "7.1", "SMMU_RANGE_NUM_BUMP");
  try {
    const smmu = sim.createSmmu({ oracle: true, microTlb: 0 });
    const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48 });
    const dom = sim.createSmmuDomain(pt, { id: 1, rangeInvalidation: true });
    const dev = smmu.attachDevice(1, dom);
    const oracle = smmu.oracle!;
    const evidence = [`kernel ${sim.behaviourOverrides ? "7.1 without SMMU_RANGE_NUM_BUMP" : "7.1"}; SMMU with RIL`];
    pt.mapPages(IOVA, PA, PAGE, PAGES, Prot.READ | Prot.WRITE);
    oracle.recordMap(dom, IOVA, PA, PAGES * PAGE);
    evidence.push(`map ${PAGES} pages at ${hex(IOVA)}`, accessLine(`device reads all ${PAGES}`, dev.access(IOVA, PAGES * PAGE, "read")));
    // The CPU's page table loses the range first; the notifier then invalidates it (non-leaf).
    pt.unmapPages(IOVA, PAGE, PAGES, { gather: "queued" });
    oracle.recordUnmap(dom, IOVA, PAGES * PAGE, { lazy: false });
    pt.takeEvents();
    const illegalBefore = smmu.stats().illegalCommands;
    dom.invalidateRange(IOVA, PAGES * PAGE, { leaf: false });
    const illegal = smmu.stats().illegalCommands - illegalBefore;
    evidence.push(`munmap → the notifier's non-leaf range invalidation of ${PAGES} pages; the driver writes:`,
      ...commandLines(pt.takeEvents()),
      `SMMU: ${illegal} command(s) refused as illegal (CERROR_ILL: TG set, TTL = NUM = SCALE = 0), skipped`);
    const r = dev.access(IOVA, 64, "read");
    evidence.push(accessLine(`device reads ${hex(IOVA)} after the invalidation`, r));
    const counts = tallyViolations(accessClasses(r), new Map(illegal > 0 ? [["CERROR_ILL", illegal]] : []));
    const violations = [...counts.values()].reduce((a, b) => a + b, 0) - illegal;
    return { form, caught: illegal > 0 || violations > 0, verdict: verdictOf(counts), evidence, measures: { illegal, violations } };
  } finally {
    await sim.close();
  }
}

export const RANGE_NUM_BUMP: BugEntry = {
  id: "range-num-bump",
  corpus: 5,
  fix: "eb6c97647be2",
  introducedBy: "6833b8f2e199",
  title: "iommu/arm-smmu-v3: Avoid constructing invalid range commands",
  component: "SMMUv3 range TLBI",
  effect: "a non-leaf range of 33 pages is encoded TTL = NUM = SCALE = 0 with TG set: CERROR_ILL, one page never invalidated",
  kernels: "v6.6-rc1 to rc3, and stable trees that took 6833b8f2e199 alone",
  fixChanged: "For a non-leaf range whose page count is 1 modulo 32, the driver invalidates one page more, " +
    "so the first command always has a non-zero NUM or SCALE (over-invalidating one page).",
  switch: { kind: "behaviour", name: "SMMU_RANGE_NUM_BUMP", buggy: "7.1 without SMMU_RANGE_NUM_BUMP", fixed: "7.1" },
  trigger: "33 mapped pages read by the device, then the driver's non-leaf range invalidation called directly for " +
    "them, as SVA's MMU notifier calls it on munmap (io-pgtable never makes such a range): partly reproduced",
  run,
};
