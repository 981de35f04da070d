// Bug zoo #6 (bug-corpus #6): 85c7a0f1ef62 "iommu/io-pgtable-arm: Fix race handling in
// split_blk_unmap()". Two CPUs unmap different pages of one 2 MiB block at once; each builds
// a table holding the rest of the block and races to install it with a compare-and-swap.
// Before the fix the loser, at the last level, queued its TLBI and returned success without
// unmapping its page from the winner's table. The switch is the behaviour
// PGT_SPLIT_LOSER_UNMAPS (assembly/pgtable/lpae.ts splitInstall), in the 5.15 profile, which
// still splits (33729a5fc0ca removed splitting in v6.13). Explored: explore split-race.

import { BUILTIN_SCENARIOS } from "../../explore/scenario.js";
import { exploreForm } from "../explore-form.js";
import type { BugEntry, BugForm, BugFormResult } from "../types.js";

const FIX = "PGT_SPLIT_LOSER_UNMAPS" as const;

function run(form: BugForm, opts?: { signal?: AbortSignal }): Promise<BugFormResult> {
  const base = BUILTIN_SCENARIOS["split-race"]!;
  return exploreForm(form, form === "buggy" ? { ...base, behaviours: { without: [FIX] } } : base, opts?.signal);
}

export const SPLIT_BLK_RACE: BugEntry = {
  id: "split-blk-race",
  corpus: 6,
  fix: "85c7a0f1ef62",
  introducedBy: "2c3d273eabe8",
  title: "iommu/io-pgtable-arm: Fix race handling in split_blk_unmap()",
  component: "io-pgtable-arm",
  effect: "two CPUs split one block: the loser's unmap returns success, its page still mapped",
  kernels: "v4.13 to v4.19.y before the backport (the 5.15 profile without the fix)",
  fixChanged: "A CPU that loses the compare-and-swap installing its split table frees its table and always " +
    "carries on in the winner's table, clearing its own page there; before, at the last level it only queued the " +
    "TLBI and returned the size as unmapped.",
  switch: { kind: "behaviour", name: FIX, buggy: `5.15 without ${FIX}`, fixed: "5.15 as it ships" },
  trigger: "explore split-race: a driver's 2 MiB block; CPU A and CPU B each iommu_unmap one page of it at once, " +
    "the device keeps using B's page and A maps its page again",
  run,
};
