// Bug corpus #11, 5016bdb796b3 "iommu/iova: Fix underflow bug in
// __alloc_and_insert_iova_range" (with 757c370f036e after it): the 2017 walk took the space
// under a range starting at pfn 0 to end at pfn_lo − 1, which wraps to 2^64 − 1, and
// alloc_iova "succeeded" with {−2, −1}. Today's walk computes that space as high_pfn − size
// and guards it with high_pfn < size: KB_IOVA_LIMIT_NO_UNDERFLOW (assembly/iova/alloc.ts),
// which every profile has; the buggy form is 7.1 without it. The commit's reproducer used
// start_pfn 1; today's walk stops at start_pfn before it reaches the range at pfn 0, so the
// model's reproducer starts the domain at pfn 0 (where the old walk's end test also let it through).

import type { BugEntry } from "../types.js";
import { runIovaAuditForm } from "../iova-audit.js";

/** The trigger, in the replay language (`iommu-sim replay`; the buggy form with a `behaviours without …` line). */
export const LIMIT_UNDERFLOW_SCRIPT = `# the commit's reproducer: pfn 0 reserved, two size-aligned 2-page allocations under limit 3
init 4096 0
reserve 0 0
alloc 2 3 1
alloc 2 3 1
state`;

export const IOVA_LIMIT_UNDERFLOW: BugEntry = {
  id: "iova-limit-underflow",
  corpus: 11,
  fix: "5016bdb796b3",
  title: "iommu/iova: Fix underflow bug in __alloc_and_insert_iova_range",
  component: "iova.c (__alloc_and_insert_iova_range)",
  effect: "alloc_iova returns the wrapped range {-2, -1}",
  kernels: "the rbtree allocator before 2017 (v4.12-era and older); every profile here has the fix",
  fixChanged: "The walk no longer subtracts below pfn 0: where the range it reached starts lower than the " +
    "request's size, the allocation fails; before, the free space under a range at pfn 0 was taken to end " +
    "at 2^64 − 1, and the allocation succeeded at the top of the PFN space. 757c370f036e then made the limit " +
    "exclusive inside the walk, so that allocating start_pfn itself works.",
  switch: { kind: "behaviour", name: "IOVA_LIMIT_NO_UNDERFLOW", buggy: "7.1 without IOVA_LIMIT_NO_UNDERFLOW", fixed: "7.1" },
  trigger: "replay script: init 4096 0; reserve 0 0; alloc 2 3 1; alloc 2 3 1 (the commit's reproducer, start_pfn 0); " +
    "the buggy form runs it after a line `behaviours without IOVA_LIMIT_NO_UNDERFLOW`",
  run(form) {
    return runIovaAuditForm(form, "IOVA_LIMIT_NO_UNDERFLOW", LIMIT_UNDERFLOW_SCRIPT,
      { caught: "wrapped IOVA above the limit", clean: "clean: the second allocation fails" });
  },
};
