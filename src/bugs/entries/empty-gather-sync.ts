// Bug zoo entry, bug-corpus.md #1: the IOMMU core stopped calling .iotlb_sync for an empty
// gather (90c5def10bea), and the arm-smmu v1/v2 driver never fills the gather — its
// tlb_add_page writes TLBIVAL at once and its .iotlb_sync is the TLBSYNC those TLBIs wait
// for. A strict dma_unmap then left its TLBI unsynchronised, and the next mapping of the
// reused IOVA was reached through the stale TLB entry (Tegra186/194 boards hung). Fixed by
// 7e0548525abd: the core records the unmapped range in an empty gather itself. The switch
// is the behaviour IOMMU_GATHER_UNMAPPED_RANGE (assembly/behaviour.ts): the 7.1 kernel
// without it is the buggy form. Runs on an SMMU v2 model whose TLBIs take effect only at
// TLBSYNC (the conservative model; an instant TLBI would hide the bug, as the corpus says).

import { Simulator } from "../../simulator.js";
import { hex } from "../../errors.js";
import type { SmmuModel } from "../../smmu/smmu.js";
import type { AssetOptions } from "../../assets.js";
import type { BugEntry, BugForm, BugFormResult } from "../types.js";
import { accessClasses, accessLine, tallyViolations, verdictOf } from "../evidence.js";

/** The behaviour that tells the forms apart: the fix. */
const FIX_BEHAVIOUR = "IOMMU_GATHER_UNMAPPED_RANGE";
const OLD_PHYS = 0x10_0000;
const NEW_PHYS = 0x20_0000;

/** What changed between two readings of an SMMU's counters by kind, as "TLBIVAL ×1, TLBSYNC ×1". */
function countDelta(before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>): string {
  const used = Object.keys(after).filter((k) => after[k] !== before[k]);
  return used.length === 0 ? "none" : used.map((k) => `${k} ×${after[k]! - before[k]!}`).join(", ");
}

/**
 * The corpus's trigger, single-threaded and deterministic: a strict DMA domain behind an
 * SMMU of `model`, on 7.1 with or without the fix. dma_map → device write (fills the TLB)
 * → dma_unmap → device write → dma_map (the IOVA comes back from the CPU's cache) →
 * device write. Exported for the tests (the same sequence on an SMMUv3); `assets` says where
 * core.wasm is when this runs from the sources.
 */
export async function emptyGatherSequence(form: BugForm, model: SmmuModel, assets: AssetOptions = {}): Promise<BugFormResult> {
  // As evidence.ts formMachine, with the assets a run from the sources needs.
  const sim = await Simulator.create({ profile: "7.1", ramMiB: 8, kheapMiB: 4, ...assets,
                                       ...(form === "buggy" ? { behaviours: { without: [FIX_BEHAVIOUR] } } : {}) });
  try {
    const smmu = sim.createSmmu({ model, invalidateAt: "sync", oracle: true });
    const dom = sim.createDmaDomain({ smmu, type: "DMA", cpus: 1 });
    const dev = dom.attachDevice({ streamId: 1 });
    const kernel = `7.1${form === "buggy" ? ` without ${FIX_BEHAVIOUR} (90c5def10bea alone)` : " (90c5def10bea + 7e0548525abd)"}`;
    const evidence = [`SMMU ${model}, strict DMA domain, kernel ${kernel}; TLBIs complete only at their sync`];
    const a = dev.map(OLD_PHYS, 4096);
    evidence.push(accessLine(`dma_map ${hex(OLD_PHYS)} → iova ${hex(a)}; device writes it (fills the TLB)`, dev.access(a, 4, "write")));
    const before = smmu.stats();
    dev.unmap(a, 4096);
    const after = smmu.stats();
    evidence.push(model === "v3"
      ? `dma_unmap ${hex(a)}: commands ${countDelta(before.commandsByKind, after.commandsByKind)}`
      : `dma_unmap ${hex(a)}: registers ${countDelta(before.registersByKind, after.registersByKind)}`);
    const stale = dev.access(a, 4, "write");
    evidence.push(accessLine(`device writes ${hex(a)} after the unmap`, stale));
    const b = dev.map(NEW_PHYS, 4096);
    const reused = dev.access(b, 4, "write");
    const wrong = reused.ok && reused.pa !== NEW_PHYS ? " — the old buffer's page, through the stale entry" : "";
    evidence.push(accessLine(`dma_map ${hex(NEW_PHYS)} → iova ${hex(b)}${b === a ? " (reused)" : ""}; device writes it`, reused) + wrong);
    const counts = tallyViolations([...accessClasses(stale), ...accessClasses(reused)]);
    const violations = [...counts.values()].reduce((x, y) => x + y, 0);
    const regs = smmu.stats().registersByKind;
    return {
      form, caught: violations > 0, verdict: verdictOf(counts), evidence,
      measures: { violations, tlbSyncs: regs.TLBSYNC, tlbStatusPolls: regs.TLBSTATUS },
    };
  } finally {
    await sim.close();
  }
}

export const EMPTY_GATHER_SYNC: BugEntry = {
  id: "empty-gather-sync",
  corpus: 1,
  fix: "7e0548525abd",
  introducedBy: "90c5def10bea",
  title: "iommu: Ensure .iotlb_sync is called correctly",
  component: "iommu core + arm-smmu v2",
  effect: "a strict unmap on arm-smmu v1/v2 writes its TLBIVAL but no TLBSYNC: the reused IOVA's DMA hits the stale TLB entry",
  kernels: "v7.0-rc from late March 2026 until 7e0548525abd (April 2026), and stable trees that took 90c5def10bea alone",
  fixChanged: "After an unmap_pages call that unmapped something but left the gather empty, __iommu_unmap records the " +
    "unmapped range in the gather itself, so iommu_iotlb_sync no longer skips the driver's .iotlb_sync.",
  switch: { kind: "behaviour", name: FIX_BEHAVIOUR, buggy: `7.1 without ${FIX_BEHAVIOUR}`, fixed: "7.1" },
  trigger: "SMMU v2, strict DMA domain, TLBIs completing at TLBSYNC: dma_map, device write, dma_unmap, dma_map of the reused IOVA, device write",
  async run(form, opts) {
    opts?.signal?.throwIfAborted();
    return emptyGatherSequence(form, "v2");
  },
};
