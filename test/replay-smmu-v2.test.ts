// Replay scripts on the arm-smmu (v1/v2) driver: `smmu v2 STAGE ID` makes the table's
// invalidations register writes, printed as the driver writes them — and the profile's
// empty-gather guard shows: without 7e0548525abd the TLBSYNC is missing.

import { describe, expect, it } from "vitest";
import { replayScript } from "../dist/index.js";

const SCRIPT = `cfg s1 0x40201000 48 48
smmu v2 1 5
map 0x1000 0x90001000 0x1000 2 0x3
unmap 0x1000 0x1000 2
free`;

const regLines = (out: string[]) => out.filter((l) => /^\s+(REG|CMD|iotlb_sync|tlb_)/.test(l)).map((l) => l.trim());

describe("replay: smmu v2", () => {
  it("prints TLBIVAL per page, then TLBSYNC and its TLBSTATUS polls at iotlb_sync; free is TLBIASID + TLBSYNC", async () => {
    const out = await replayScript(SCRIPT, { profile: "7.1" });
    expect(regLines(out)).toEqual([
      "tlb_add_page iova=0x1000 granule=0x1000", "REG CB0 TLBIVAL iova=0x1000 asid=5",
      "tlb_add_page iova=0x2000 granule=0x1000", "REG CB0 TLBIVAL iova=0x2000 asid=5",
      "iotlb_sync start=0x1000 end=0x2fff pgsize=0x0", "REG CB0 TLBSYNC", expect.stringMatching(/^REG CB0 TLBSTATUS poll ×\d+$/),
      "tlb_flush_all", "REG CB0 TLBIASID asid=5", "REG CB0 TLBSYNC", expect.stringMatching(/^REG CB0 TLBSTATUS poll ×\d+$/),
    ]);
  });

  it("6.12 (neither 90c5def10bea nor its fix) syncs an empty gather; 7.1 without the fix does not sync at all", async () => {
    const old = regLines(await replayScript(SCRIPT, { profile: "6.12" }));
    expect(old).toContain("iotlb_sync (empty gather)");
    const buggy = regLines(await replayScript(SCRIPT, { profile: "7.1", behaviours: { without: ["IOMMU_GATHER_UNMAPPED_RANGE"] } }));
    expect(buggy.slice(0, 4)).toEqual([
      "tlb_add_page iova=0x1000 granule=0x1000", "REG CB0 TLBIVAL iova=0x1000 asid=5",
      "tlb_add_page iova=0x2000 granule=0x1000", "REG CB0 TLBIVAL iova=0x2000 asid=5",
    ]);
    expect(buggy[4]).toBe("tlb_flush_all"); // straight on to free: no iotlb_sync, no TLBSYNC for the unmap
  });

  it("stage 2 writes TLBIIPAS2L; `smmu v3` still prints commands; bad arguments say which", async () => {
    const s2 = regLines(await replayScript("cfg s2 0x40201000 40 48\nsmmu v2 2 9\nmap 0x1000 0x90001000 0x1000 1 0x3\nunmap 0x1000 0x1000 1", { profile: "7.1" }));
    expect(s2).toContain("REG CB0 TLBIIPAS2L ipa=0x1000");
    const v3 = regLines(await replayScript(SCRIPT.replace("smmu v2 1 5", "smmu v3 1 1 5"), { profile: "7.1" }));
    expect(v3.some((l) => l.startsWith("CMD TLBI_NH_VA"))).toBe(true);
    expect(v3.some((l) => l.startsWith("REG"))).toBe(false);
    await expect(replayScript("cfg s2 0x40201000 40 48\nsmmu v2 2 300", { profile: "7.1" })).rejects.toThrow(/VMID in \[0, 255\] on an SMMU v2/);
    await expect(replayScript("cfg s1 0x40201000 48 48\nsmmu v2 1 5 1", { profile: "7.1" })).rejects.toThrow(/line 2/);
  });
});

describe("replay: smmu v1", () => {
  it("a stage-2 bank on an SMMUv1 has no TLBIIPAS2 or TLBSYNC: add_page writes TLBIVMID, iotlb_sync is the global sync", async () => {
    const out = regLines(await replayScript("cfg s2 0x40201000 40 48\nsmmu v1 2 9\nmap 0x1000 0x90001000 0x1000 1 0x3\nunmap 0x1000 0x1000 1", { profile: "7.1" }));
    expect(out).toEqual([
      "tlb_add_page iova=0x1000 granule=0x1000", "REG TLBIVMID vmid=9",
      "iotlb_sync start=0x1000 end=0x1fff pgsize=0x0", "REG sTLBGSYNC", expect.stringMatching(/^REG sTLBGSTATUS poll ×\d+$/),
    ]);
    // Stage 1 on an SMMUv1 keeps the context bank's registers.
    const s1 = regLines(await replayScript(SCRIPT.replace("smmu v2", "smmu v1"), { profile: "7.1" }));
    expect(s1).toContain("REG CB0 TLBIVAL iova=0x1000 asid=5");
    expect(s1).toContain("REG CB0 TLBSYNC");
  });
});
