// Bug zoo #14 (bug-corpus #14, rated "partly" there): ac9a5d522bb8 "iommu/dma: Fix race
// condition during iova_domain initialization". Two devices of one IOMMU group probe at once
// and each runs iommu_dma_init_domain on the group's new DMA cookie: both read start_pfn 0,
// both run init_iova_domain, and the second resets the tree the first had initialised and
// reserved regions in (the kernel crashed in rb_insert_color). The switch is the behaviour
// DMA_INIT_DOMAIN_LOCKED (assembly/dma/probe.ts): the cookie's mutex held across the test and
// the initialisation (v6.0). The buggy form is the 5.15 profile as it ships, the fixed one 5.15
// with the behaviour. What is caught is the double initialisation and the range nodes it
// drops from the tree (a data-structure check), not an oracle verdict on a device access.
// Explored: explore probe-race.

import { BUILTIN_SCENARIOS } from "../../explore/scenario.js";
import { exploreForm } from "../explore-form.js";
import type { BugEntry, BugForm, BugFormResult } from "../types.js";

const FIX = "DMA_INIT_DOMAIN_LOCKED" as const;

function run(form: BugForm, opts?: { signal?: AbortSignal }): Promise<BugFormResult> {
  const base = BUILTIN_SCENARIOS["probe-race"]!;
  return exploreForm(form, form === "fixed" ? { ...base, behaviours: { with: [FIX] } } : base, opts?.signal);
}

export const PROBE_INIT_RACE: BugEntry = {
  id: "probe-init-race",
  corpus: 14,
  fix: "ac9a5d522bb8",
  title: "iommu/dma: Fix race condition during iova_domain initialization",
  component: "dma-iommu init (iommu_dma_init_domain)",
  effect: "two probers both initialise one IOVA domain: the tree is reset under the first, its reserved ranges dropped",
  kernels: "up to v5.19 (the 5.15 profile)",
  fixChanged: "iommu_dma_init_domain takes the cookie's new mutex before testing whether the IOVA domain is " +
    "initialised and keeps it until the domain is initialised and its regions reserved, so a second prober waits " +
    "and then finds it initialised; before, the test and the initialisation ran unlocked.",
  switch: { kind: "behaviour", name: FIX, buggy: "5.15 as it ships", fixed: `5.15 with ${FIX}` },
  trigger: "explore probe-race: the group's new cookie; CPUs A and B each probe a device: lock, read start_pfn, " +
    "init_iova_domain and reserve the IOMMU's reserved region, unlock",
  run,
};
