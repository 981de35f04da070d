// Bug corpus #9, dcdb3ba7e2a8 "iommu/iova: Fix alloc iova overflows issue": alloc_iova's
// second pass, retried from the anchor, started at pfn_hi + 1 = 0 and handed out a range
// below start_pfn. The fix is KB_IOVA_RETRY_ABOVE_CACHED (assembly/iova/alloc.ts); the
// buggy form is 7.1 without it. The trigger is the commit message's own: a 10 MiB aperture
// at start_pfn 0x1f0000 and a first request of 11 MiB.

import type { BugEntry } from "../types.js";
import { runIovaAuditForm } from "../iova-audit.js";

/** The trigger, in the replay language (`iommu-sim replay`; the buggy form with a `behaviours without …` line). */
export const RETRY_PFN_OVERFLOW_SCRIPT = `# a 4K domain whose aperture is 0xa01 pages from start_pfn 0x1f0000 (10 MiB), asked for 0xb00 (11 MiB)
init 4096 0x1f0000
alloc 0xb00 0x1f0a00 1
state`;

export const IOVA_RETRY_PFN_OVERFLOW: BugEntry = {
  id: "iova-retry-pfn-overflow",
  corpus: 9,
  fix: "dcdb3ba7e2a8",
  introducedBy: "4e89dce72521",
  title: "iommu/iova: Fix alloc iova overflows issue",
  component: "iova.c (__alloc_and_insert_iova_range)",
  effect: "an IOVA handed out below start_pfn",
  kernels: "from 4e89dce72521 to v6.1, and 5.15.y before the backport: the 5.15 profile (5.15.16) has it",
  fixChanged: "When the first pass fails, the retry point is the cached node's last PFN and the second pass " +
    "starts one above it; before, the retry point was that PFN plus one, which wraps to 0 when the cached " +
    "node is the anchor, so the second pass searched from PFN 0, below start_pfn.",
  switch: { kind: "behaviour", name: "IOVA_RETRY_ABOVE_CACHED", buggy: "7.1 without IOVA_RETRY_ABOVE_CACHED", fixed: "7.1" },
  trigger: "replay script: init 4096 0x1f0000; alloc 0xb00 0x1f0a00 1 (larger than the aperture, cached node at the anchor); " +
    "the buggy form runs it after a line `behaviours without IOVA_RETRY_ABOVE_CACHED`",
  run(form) {
    return runIovaAuditForm(form, "IOVA_RETRY_ABOVE_CACHED", RETRY_PFN_OVERFLOW_SCRIPT,
      { caught: "IOVA below start_pfn", clean: "clean: the allocation fails, nothing outside the aperture" });
  },
};
