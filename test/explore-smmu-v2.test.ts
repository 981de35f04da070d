// The seed race explored on an SMMU v2 (the arm-smmu driver's TLBIVAL + TLBSYNC) gives the
// same verdict per seed variant and memory model as on the SMMUv3: the race is in
// dma-iommu's decisions, not in how the driver invalidates.

import { describe, expect, it } from "vitest";
import { SEED_RACE, SEED_VARIANTS, buildScenario, exploreScenario, replayScenario } from "../dist/index.js";

describe("explore seed-race --smmu v2", () => {
  it("builds its domain behind a v2 SMMU", async () => {
    const built = await buildScenario(SEED_RACE, { smmu: "v2" });
    try {
      expect(built.domain.smmu.model).toBe("v2");
    } finally {
      await built.close();
    }
  });

  for (const variant of SEED_VARIANTS) {
    for (const model of ["sc", "relaxed"] as const) {
      it(`${variant} under ${model}: the same verdict as on v3`, async () => {
        const v3 = await exploreScenario("seed-race", { variant, model });
        const v2 = await exploreScenario("seed-race", { variant, model, smmu: "v2" });
        expect(v2.verdict).toBe(v3.verdict);
        expect(v2.text).toMatch(/, SMMU v2:/);
        // The expected verdicts (README): merged clean; hoisted caught under both; the others under relaxed only.
        const caught = variant === "v2-hoisted" || (variant !== "merged" && model === "relaxed");
        expect(v2.verdict).toBe(caught ? "violation" : "clean");
      }, 60_000);
    }
  }

  it("a finding's replay line names the SMMU it ran on, and replays on that SMMU", async () => {
    const found = await exploreScenario("seed-race", { variant: "v2-hoisted", smmu: "v2" });
    expect(found.replay).toMatch(/^seed-race\[smmu v2\]@v2-hoisted@sc: /);
    const again = await replayScenario(found.replay!);
    expect(again.execution.violation).toBeDefined();
    // Replayed behind the v2 SMMU, not the scenario's default v3.
    expect(again.smmu).toBe("v2");
    expect(again.text).toMatch(/^replay seed-race\[smmu v2\], variant v2-hoisted, model sc, SMMU v2: VIOLATION/);
    expect((await replayScenario(found.replay!.replace("[smmu v2]", ""))).smmu).toBe("v3");
    // An SMMU chosen as the scenario's own is not repeated in the line.
    const own = await exploreScenario({ ...SEED_RACE, smmu: "v2" }, { variant: "v2-hoisted" });
    expect(own.replay).not.toMatch(/\[smmu/);
    await expect(replayScenario("seed-race[smmu v9]@v2-hoisted@sc: B:1")).rejects.toThrow(/names SMMU v9, but the SMMU models are v3, v2, v1/);
  }, 60_000);

  it("a scenario's smmu field is checked", async () => {
    await expect(exploreScenario({ ...SEED_RACE, smmu: "v4" as never })).rejects.toThrow(/smmu/);
  });
});
