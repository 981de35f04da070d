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
