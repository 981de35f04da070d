// Bug corpus #10, 5b61343b5059 "iommu/iova: Improve 32-bit free space estimate": after a
// failed 32-bit allocation, max32_alloc_size was reset only by a free that moved
// cached32_node, so a free below it left "no room for this size" standing and later
// allocations of that size failed at once. The fix is KB_IOVA_MAX32_ANY_LOW_FREE
// (assembly/iova/alloc.ts removeLocked); the buggy form is 7.1 without it.

import type { BugEntry } from "../types.js";
import { runIovaAuditForm } from "../iova-audit.js";

// 32 pages below 4 GiB: fill them with four 8-page ranges, free one above cached32_node and
// take it again (cached32_node is now above two ranges), fail once (max32_alloc_size = 8),
// free a range below cached32_node, ask again.
/** The trigger, in the replay language (`iommu-sim replay`; the buggy form with a `behaviours without …` line). */
export const MAX32_ESTIMATE_SCRIPT = `# a 32-page 32-bit space: start_pfn 0xfffe0, 4K granule
init 4096 0xfffe0
alloc 8 0xfffff 1
alloc 8 0xfffff 1
alloc 8 0xfffff 1
alloc 8 0xfffff 1
free 0xffff0
alloc 8 0xfffff 1
# full: this one fails and records max32_alloc_size = 8
alloc 8 0xfffff 1
# free the lowest range, below cached32_node (which stays where it is)
free 0xfffe0
state
alloc 8 0xfffff 1`;

export const IOVA_MAX32_ESTIMATE: BugEntry = {
  id: "iova-max32-estimate",
  corpus: 10,
  fix: "5b61343b5059",
  title: "iommu/iova: Improve 32-bit free space estimate",
  component: "iova.c (__cached_rbnode_delete_update)",
  effect: "a spurious 32-bit allocation failure while space is free",
  kernels: "up to v5.17 (5.15.y and 5.10.y until the backports): the 5.15 profile (5.15.16) has it",
  fixChanged: "Freeing any range that starts below the 32-bit boundary resets max32_alloc_size, the " +
    "'nothing this large fits below 4 GiB' estimate; before, only a free that moved cached32_node reset " +
    "it, so space freed below that node stayed invisible to allocations of the failed size.",
  switch: { kind: "behaviour", name: "IOVA_MAX32_ANY_LOW_FREE", buggy: "7.1 without IOVA_MAX32_ANY_LOW_FREE", fixed: "7.1" },
  trigger: "replay script: fill a 32-page 32-bit space, fail an 8-page allocation, free 8 pages below cached32_node, " +
    "allocate 8 again; the buggy form runs it after a line `behaviours without IOVA_MAX32_ANY_LOW_FREE`",
  run(form) {
    // The failure while the space is full is the kernel's right answer; only failures with room are violations.
    return runIovaAuditForm(form, "IOVA_MAX32_ANY_LOW_FREE", MAX32_ESTIMATE_SCRIPT,
      { caught: "spurious 32-bit allocation failure", clean: "clean: the freed range is allocated again" });
  },
};
