// The bug zoo's entry #1 (90c5def10bea / 7e0548525abd) on the SMMU v2 model: the buggy form
// (7.1 without IOMMU_GATHER_UNMAPPED_RANGE) writes TLBIVAL but no TLBSYNC at dma_unmap, and
// the oracle sees the stale entry — AFTER_STRICT, then USE_AFTER_FREE through the reused
// IOVA; the fixed form syncs (TLBSYNC + TLBSTATUS polls) and is clean. On an SMMUv3, which
// fills the gather itself, the same sequence is clean in both forms.

import { describe, expect, it } from "vitest";
import { emptyGatherSequence, EMPTY_GATHER_SYNC } from "../src/bugs/entries/empty-gather-sync.js";
import { findBug, runBug } from "../dist/index.js";

// From the sources, the core is the build's (the entry's own run() finds it beside the bundle).
const assets = { core: new URL("../build/core.wasm", import.meta.url) };

describe("bug zoo: empty-gather-sync (corpus #1)", () => {
  it("the buggy form is caught: TLBIVAL without TLBSYNC, a stale write after the unmap and one through the reused IOVA", async () => {
    const r = await emptyGatherSequence("buggy", "v2", assets);
    expect(r.caught).toBe(true);
    expect(r.verdict).toBe("AFTER_STRICT ×1, USE_AFTER_FREE ×1");
    expect(r.evidence.join("\n")).toMatch(/dma_unmap 0x[0-9a-f]+: registers TLBIVAL ×1\n/);
    expect(r.evidence.join("\n")).toMatch(/\(reused\); device writes it: reached PA 0x100000 via micro-tlb \(oracle: USE_AFTER_FREE\) — the old buffer's page/);
    expect(r.measures).toMatchObject({ violations: 2, tlbSyncs: 0, tlbStatusPolls: 0 });
  });

  it("the fixed form is clean, with the TLBSYNC and its TLBSTATUS polls in the evidence", async () => {
    const r = await emptyGatherSequence("fixed", "v2", assets);
    expect(r).toMatchObject({ form: "fixed", caught: false, verdict: "clean" });
    expect(r.evidence.join("\n")).toMatch(/registers TLBIVAL ×1, TLBSYNC ×1, TLBSTATUS ×\d+/);
    expect(r.evidence.join("\n")).toMatch(/after the unmap: fault \(translation/);
    expect(r.measures!.tlbSyncs).toBe(1);
  });

  it("on an SMMUv3 the same sequence is clean in both forms (its driver fills the gather)", async () => {
    for (const form of ["buggy", "fixed"] as const) {
      const r = await emptyGatherSequence(form, "v3", assets);
      expect(r.verdict).toBe("clean");
      expect(r.evidence.join("\n")).toMatch(/commands CMD_TLBI_NH_VA ×1, CMD_SYNC ×1/);
    }
  });

  it("is in the zoo under its fix, the commit that introduced it and its id, and runBug passes it", async () => {
    for (const name of ["7e0548525abd", "90c5def10bea", "empty-gather-sync"]) expect(findBug(name).id).toBe("empty-gather-sync");
    const r = await runBug(findBug("7e0548525abd"));
    expect(r).toMatchObject({ pass: true, buggy: { caught: true }, fixed: { caught: false, verdict: "clean" } });
    expect(EMPTY_GATHER_SYNC).toMatchObject({ id: "empty-gather-sync", corpus: 1, fix: "7e0548525abd", introducedBy: "90c5def10bea",
      switch: { kind: "behaviour", name: "IOMMU_GATHER_UNMAPPED_RANGE" } });
  });
});
