// Bug zoo #3 (bug-corpus #3): d7061627d701 "iommu/iova: Fix race between FQ timeout and
// teardown". A device going away tears its domain's flush queue down while the queue's timer
// callback runs on another CPU: 5.15.16 deleted the timer only if it was still pending, so a
// callback that had started went on scanning rings that teardown freed. The switch is the
// behaviour FQ_TEARDOWN_WAITS_TIMER (assembly/iova/fq.ts fqTeardownMustWait), which the
// 5.15.y backport added: the buggy form is the 5.15 profile as it ships (5.15.16), the fixed
// one 5.15 with the behaviour. Freed rings are poisoned, so the late scan is seen in the
// model. Explored: explore fq-timeout-teardown.

import { BUILTIN_SCENARIOS } from "../../explore/scenario.js";
import { exploreForm } from "../explore-form.js";
import type { BugEntry, BugForm, BugFormResult } from "../types.js";

const FIX = "FQ_TEARDOWN_WAITS_TIMER" as const;

function run(form: BugForm, opts?: { signal?: AbortSignal }): Promise<BugFormResult> {
  const base = BUILTIN_SCENARIOS["fq-timeout-teardown"]!;
  return exploreForm(form, form === "fixed" ? { ...base, behaviours: { with: [FIX] } } : base, opts?.signal);
}

export const FQ_TIMEOUT_TEARDOWN_BUG: BugEntry = {
  id: "fq-timeout-teardown",
  corpus: 3,
  fix: "d7061627d701",
  introducedBy: "9a005a800ae8",
  title: "iommu/iova: Fix race between FQ timeout and teardown",
  component: "flush queue (iova.c; dma-iommu from v5.17)",
  effect: "the timer callback scans flush-queue rings that teardown freed under it: use-after-free",
  kernels: "4.14 to 5.16, and stable trees before the Jan 2022 backport (the 5.15.16 profile)",
  fixChanged: "Teardown cancels the timer with del_timer_sync, which also waits for a callback already running on " +
    "another CPU to return, before it runs the destructors and frees the rings; before, it deleted the timer only " +
    "if it was still pending.",
  switch: { kind: "behaviour", name: FIX, buggy: "5.15.16 as it ships", fixed: `5.15 with ${FIX} (the 5.15.y backport)` },
  trigger: "explore fq-timeout-teardown: a lazy domain with an unmap queued and the timer armed; CPU timer runs the " +
    "callback (flush, then each CPU's ring), CPU teardown cancels the timer, runs the destructors, frees the rings",
  run,
};
