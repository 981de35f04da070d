// PGT_TABLE_PA_PACKED (bug corpus #8, 9abe2ac83485) and `highTables`: with 64K granules and a
// 52-bit output address, a table page above 2^48 must have PA[51:48] packed into PTE[15:12];
// 5.15.16 wrote the raw PA, which the walk reads as another address.

import { afterEach, describe, expect, it } from "vitest";
import { Simulator, profileHas, type PageTable, type Profile } from "../dist/index.js";

let sim: Simulator | undefined;
afterEach(async () => { await sim?.close(); sim = undefined; });

const HIGH = 2 ** 48;

async function table(profile: Profile, highTables = true, oas = 52): Promise<PageTable> {
  sim = await Simulator.create({ profile, ramMiB: 8, kheapMiB: 4, pageSize: 65536 });
  return sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x20010000, ias: 48, oas, highTables });
}

/** The table descriptors' addresses as the walk decodes them (PA[51:48] from PTE[15:12]). */
function tableTargets(pt: PageTable): number[] {
  return pt.dump().filter((e) => e.kind === "table").map((e) => {
    const x = e.pte & 0x0000_ffff_ffff_f000n;
    return Number((x | (x << 36n)) & (0x0000_ffff_ffff_f000n << 4n));
  });
}

describe("table descriptors above 2^48", () => {
  it("packed (6.12, 7.1): every table descriptor decodes to a table page above 2^48", async () => {
    const pt = await table("7.1");
    expect(profileHas("7.1", "PGT_TABLE_PA_PACKED")).toBe(true);
    expect(pt.mapPages(0x1230000, 0x8000_0045_0000, 0x10000, 1, 3).ret).toBe(0);
    const targets = tableTargets(pt);
    expect(targets.length).toBe(pt.geometry.levels - 1);
    for (const t of targets) expect(t).toBeGreaterThanOrEqual(HIGH);
    // PA bit 48 sits in PTE bit 12.
    for (const e of pt.dump().filter((d) => d.kind === "table")) expect(e.pte & 0x1000n).toBe(0x1000n);
    expect(pt.badTableDescriptors).toBe(0);
    expect(pt.iovaToPhys(0x1234567)).toBe(0x8000_0045_4567);
    pt.free();
    expect(sim!.memoryStats().tableAllocations).toBe(0);
  });

  it("raw (5.15.16): the descriptors hold PA bit 48 where the walk reads none, and decode below 2^48", async () => {
    const pt = await table("5.15");
    expect(profileHas("5.15", "PGT_TABLE_PA_PACKED")).toBe(false);
    expect(pt.mapPages(0x1230000, 0x8000_0045_0000, 0x10000, 1, 3).ret).toBe(0);
    const targets = tableTargets(pt);
    expect(targets.length).toBe(pt.geometry.levels - 1);
    for (const t of targets) expect(t).toBeLessThan(HIGH);
    for (const e of pt.dump().filter((d) => d.kind === "table")) expect(e.pte & (1n << 48n)).toBe(1n << 48n);
    expect(pt.badTableDescriptors).toBe(targets.length);
  });

  it("below 2^48 the two encodings are the same value", async () => {
    const values: bigint[][] = [];
    for (const p of ["5.15", "7.1"] as const) {
      const pt = await table(p, false);
      pt.mapPages(0x1230000, 0x9000_0000, 0x10000, 1, 3);
      values.push(pt.dump().filter((d) => d.kind === "table").map((e) => e.pte));
      expect(pt.badTableDescriptors).toBe(0);
      await sim!.close();
      sim = undefined;
    }
    expect(values[0]).toEqual(values[1]);
  });

  it("the SMMU's walk follows packed descriptors into the high window (the RAM seen at 2^48 + its address)", async () => {
    const pt = await table("7.1");
    pt.mapPages(0x1230000, 0x9000_0000, 0x10000, 1, 3);
    const smmu = sim!.createSmmu({});
    const dev = smmu.attachDevice(3, sim!.createSmmuDomain(pt, { id: 5 }));
    const r = dev.access(0x1234560, 8, "read");
    expect(r.ok && r.pa).toBe(0x9000_4560);
    expect(smmu.stats().faults).toBe(0);
  });

  it("highTables is refused where no output address can name such a table", async () => {
    await expect(table("7.1", true, 48)).rejects.toThrow(/highTables.*64K granule and oas 52.*oas 48/);
  });
});
