// The DMA layer on an SMMU v1/v2 (MMU-500): the built-in nic scenario on a v2 SMMU whose
// TLBIs complete only at TLBSYNC — strict, then switched live to lazy — and a lazy storage
// run, with the oracle clean; the invalidations are register writes, never commands.

import { describe, expect, it } from "vitest";
import { BUILTIN_RUN_SCENARIOS, formatSummary, runScenario, type RunScenarioInput } from "../dist/index.js";

function small(name: "nic" | "storage", ops: number, extra: Partial<RunScenarioInput> = {}): RunScenarioInput {
  const b = BUILTIN_RUN_SCENARIOS[name];
  return {
    ...b, workers: 1, ...extra,
    smmu: { model: "v2", invalidateAt: "sync" },
    workloads: b.workloads.map((w) => ({ ...w, ops })),
  } as RunScenarioInput;
}

describe("dma-iommu on an SMMU v2", () => {
  it("nic: strict, then switched to lazy mid-run, TLBIs completing only at TLBSYNC: the oracle is clean", async () => {
    const r = await runScenario(small("nic", 20_000));
    expect(r.outcome).toMatchObject({ status: "ok", asExpected: true });
    expect(r.totals.violations).toBe(0);
    const regs = r.smmu.registers!;
    expect(r.smmu.model).toBe("v2");
    // Strict unmaps: one TLBIVAL per page and a TLBSYNC each; lazy ones: TLBIASID + TLBSYNC per flush.
    expect(regs.TLBIVAL).toBeGreaterThan(0);
    expect(regs.TLBSYNC).toBeGreaterThanOrEqual(regs.TLBIASID! + 1);
    expect(regs.TLBIASID).toBeGreaterThan(0);
    expect(regs.TLBSTATUS).toBeGreaterThanOrEqual(regs.TLBSYNC!);
    expect(Object.values(r.smmu.commands).every((n) => n === 0)).toBe(true);
    const text = formatSummary(r).join("\n");
    expect(text).toMatch(/registers\s+TLBIASID [\d,]+, TLBIVAL [\d,]+, TLBSYNC [\d,]+, TLBSTATUS [\d,]+/);
  }, 60_000);

  it("storage in a lazy (DMA-FQ) domain: flush-queue flushes are TLBIASID + TLBSYNC, and the oracle is clean", async () => {
    const base = small("storage", 3_000);
    const r = await runScenario({ ...base, domains: base.domains!.map((d) => ({ ...d, type: "DMA-FQ" as const })) });
    expect(r.totals.violations).toBe(0);
    expect(r.smmu.registers!.TLBIVAL ?? 0).toBe(0);
    expect(r.smmu.registers!.TLBIASID).toBeGreaterThan(0);
  }, 60_000);

  it("a scenario's smmu.model is checked with its field path", async () => {
    await expect(runScenario({ ...small("nic", 10), smmu: { model: "v4" as never } })).rejects.toThrow(/smmu\.model/);
  });
});

describe("the seed's v2 series (set_pgtable_quirks) on an SMMU v2", () => {
  it("v2-two-reads: strict unmaps write TLBIVAL + TLBSYNC; after the live switch the quirk skips the leaf TLBIVAL and the flush queue's flush is TLBIASID + TLBSYNC, clean", async () => {
    const { Simulator } = await import("../dist/index.js");
    const sim = await Simulator.create({ profile: "5.15" });
    try {
      const smmu = sim.createSmmu({ model: "v2", invalidateAt: "sync", oracle: true });
      const dom = sim.createDmaDomain({ smmu, type: "DMA", cpus: 1, variant: "v2-two-reads" });
      const dev = dom.attachDevice({ streamId: 1 });
      const regs = () => smmu.stats().registersByKind;
      const a = dev.map(0x10_0000, 4096);
      expect(dev.access(a, 4, "write").ok).toBe(true);
      dev.unmap(a, 4096);
      expect(regs()).toMatchObject({ TLBIVAL: 1, TLBSYNC: 1, TLBIASID: 0 });
      dom.setType("DMA-FQ");
      const b = dev.map(0x20_0000, 4096);
      expect(dev.access(b, 4, "write").ok).toBe(true);
      dev.unmap(b, 4096);
      expect(regs()).toMatchObject({ TLBIVAL: 1, TLBSYNC: 1 }); // the quirk: no leaf TLBI, no sync
      // Until the flush queue flushes, the device may still reach b: the lazy window, not a violation.
      const late = dev.access(b, 4, "write");
      expect(late.ok && late.segments[0]!.check).toBe("lazy-window");
      sim.advance(20); // past the flush queue's 10 ms timeout: its flush
      expect(regs()).toMatchObject({ TLBIASID: 1, TLBSYNC: 2 });
      expect(dev.access(b, 4, "write").ok).toBe(false);
      expect(smmu.oracle!.counts()).toMatchObject({ afterStrictUnmap: 0, useAfterFree: 0 });
    } finally {
      await sim.close();
    }
  });
});
