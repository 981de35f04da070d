// The four code variants of the 2021 seed thread (reference §1.2–1.3; Robin Murphy's mail of
// 2021-08-02 in the seed), written in the variant vocabulary (vocabulary.ts). These objects are
// the one definition of each: runs load their encoding into the core (program.ts), the
// explorer builds its steps from them, and the litmus export reads them.
//   merged        v5.15 as merged: queue built, smp_wmb, WRITE_ONCE(fq_domain); every unmap
//                 decides from one READ_ONCE snapshot (O1, O2)
//   v2-two-reads  the v2 series: fq_domain stored plainly, then io-pgtable's non-strict quirk
//                 set with a plain read-modify-write; the unmap reads the quirk, then
//                 fq_domain twice, plainly
//   v2-hoisted    the same, the second read hoisted to the top as a compiler may
//   no-wmb        the merged reader; the writer publishes without the barrier

import type { VariantDefinition, VariantStepDef } from "./vocabulary.js";

const MERGED_UNMAP: VariantStepDef[] = [
  { op: "read", var: "fq_domain", access: "once", into: "q", label: "gather.queued = READ_ONCE(fq_domain)" },
  { op: "clear-ptes", lazyIf: "q", label: "iommu_unmap_fast: clear PTEs (leaves gathered iff !queued)" },
  { op: "iotlb_sync", unless: "q", label: "if !queued: iotlb_sync" },
  { op: "smp_mb", if: "q", label: "queue_iova: smp_mb()" },
  { op: "read", var: "fq", into: "f", if: "q", label: "queue_iova: load the flush queue" },
  { op: "iommu_dma_free_iova", queueIf: "q", fq: "f", label: "queued ? queue_iova : free_iova_fast" },
];

/** The v2 unmap's steps before its second read of fq_domain, and from there on. */
const V2_UNMAP_HEAD: VariantStepDef[] = [
  { op: "read", var: "quirk", into: "k", label: "io-pgtable unmap: read cfg.quirks (plain)" },
  { op: "clear-ptes", lazyIf: "k", label: "clear PTEs (leaves gathered iff NON_STRICT not seen)" },
  { op: "read", var: "fq_domain", into: "b", label: "read #1 of fq_domain (plain), for the sync" },
  { op: "iotlb_sync", unless: "b", label: "if !fq_domain: iotlb_sync" },
];
const V2_UNMAP_TAIL: VariantStepDef[] = [
  { op: "read", var: "fq", into: "f", if: "a", label: "queue_iova: load the flush queue" },
  { op: "smp_wmb", if: "a", label: "queue_iova: smp_wmb()" },
  { op: "iommu_dma_free_iova", queueIf: "a", fq: "f", label: "fq_domain ? queue_iova : free_iova_fast" },
];

const BUILD: VariantStepDef = { op: "build-fq", label: "build the flush queue (rings, counters, timer)" };
const SET_TYPE: VariantStepDef = { op: "set-type", label: "domain->type = DMA_FQ" };
const PUBLISH_ONCE: VariantStepDef = { op: "publish-fq-domain", access: "once", label: "WRITE_ONCE(fq_domain, domain)" };
const V2_SWITCH: VariantStepDef[] = [
  BUILD,
  { op: "publish-fq-domain", access: "plain", label: "cookie->fq_domain = domain (plain)" },
  { op: "read", var: "quirk", into: "t", label: "set_pgtable_quirks: read cfg.quirks (plain)" },
  { op: "set-quirk", from: "t", label: "cfg.quirks |= NON_STRICT (plain)" },
  SET_TYPE,
];

const DEFINITIONS: Record<SeedVariant, VariantDefinition> = {
  "merged": {
    name: "merged", description: "v5.15 as merged: queue built, smp_wmb(), WRITE_ONCE(fq_domain); one READ_ONCE per unmap",
    switch: [BUILD, { op: "smp_wmb", label: "smp_wmb()" }, PUBLISH_ONCE, SET_TYPE],
    unmap: MERGED_UNMAP,
  },
  "v2-two-reads": {
    name: "v2-two-reads", description: "the v2 series: plain fq_domain, the quirk set after; unmap reads fq_domain twice, plainly",
    switch: V2_SWITCH,
    unmap: [...V2_UNMAP_HEAD, { op: "read", var: "fq_domain", into: "a", label: "read #2 of fq_domain (plain), for the free" }, ...V2_UNMAP_TAIL],
  },
  "v2-hoisted": {
    name: "v2-hoisted", description: "v2 with the second read of fq_domain hoisted above the first, as a compiler may",
    switch: V2_SWITCH,
    unmap: [{ op: "read", var: "fq_domain", into: "a", label: "read #2 of fq_domain (plain), hoisted to the top by the compiler" },
      ...V2_UNMAP_HEAD, ...V2_UNMAP_TAIL],
  },
  "no-wmb": {
    name: "no-wmb", description: "the merged reader; the writer publishes fq_domain without the smp_wmb()",
    switch: [BUILD, PUBLISH_ONCE, SET_TYPE],
    unmap: MERGED_UNMAP,
  },
};

/** The seed thread's variants by name. */
export type SeedVariant = "merged" | "v2-two-reads" | "v2-hoisted" | "no-wmb";
/** Each seed variant written in the variant vocabulary: the one definition of its code. */
export const SEED_VARIANT_DEFINITIONS: Readonly<Record<SeedVariant, VariantDefinition>> =
  Object.freeze(DEFINITIONS);
export const SEED_VARIANTS = Object.freeze(Object.keys(SEED_VARIANT_DEFINITIONS)) as readonly SeedVariant[];
