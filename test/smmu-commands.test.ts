// The SMMUv3 driver's invalidation commands: each profile's encoding of a gather, a walk
// flush and a flush-all (reference §5.4 worked examples), with and without range
// invalidation, and the 16-byte command layout. Expectations follow the named behaviours
// (SMMU_NONLEAF_TTL0, PGT_UNMAP_TABLES_FIRST, SMMU_INV_ALL_TOO_BIG), so every profile is covered.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROFILES, Prot, Simulator, decodeCommand, profileHas, type PageTable, type PageTableConfig, type Profile, type TlbEvent } from "../dist/index.js";

const S1 = { format: "arm-lpae-s1" as const, pgsizeBitmap: 0x40201000, ias: 48, oas: 48 };
let sims: Record<string, Simulator>;
beforeAll(async () => {
  sims = {};
  for (const p of PROFILES) sims[p] = await Simulator.create({ profile: p });
});
afterAll(async () => { for (const s of Object.values(sims)) await s.close(); });

function commands(events: TlbEvent[]) {
  return events.filter((e) => e.kind === "cmd").map((e) => e.kind === "cmd" && ({ ...e.command, count: e.count }));
}

function withDomain(profile: Profile, ril: boolean, fn: (pt: PageTable) => void, cfg: PageTableConfig = S1): void {
  const sim = sims[profile]!;
  const pt = sim.createPageTable(cfg);
  const dom = sim.createSmmuDomain(pt, { id: 5, rangeInvalidation: ril });
  try { fn(pt); } finally { dom.destroy(); pt.release(); }
}

describe("invalidation commands", () => {
  it("a strict unmap of 2 pages is one range TLBI and a sync (every profile)", () => {
    for (const p of PROFILES) {
      withDomain(p, true, (pt) => {
        pt.mapPages(0x1000, 0x1000, 0x1000, 2, Prot.READ);
        pt.takeEvents();
        pt.unmapPages(0x1000, 0x1000, 2);
        expect(commands(pt.takeEvents())).toEqual([
          { op: "CMD_TLBI_NH_VA", asid: 5, vmid: 0, leaf: true, addr: 0x1000, tg: 1, ttl: 3, scale: 1, num: 0, count: 1 },
          { op: "CMD_SYNC", count: 1 },
        ]);
      });
    }
  });

  it("a walk flush of 2M: TTL 3, or 0 with SMMU_NONLEAF_TTL0; unmapping tables first also gathers the 2M entry", () => {
    for (const p of PROFILES) {
      withDomain(p, true, (pt) => {
        pt.mapPages(0x600000, 0x600000, 0x1000, 2, Prot.READ);
        pt.takeEvents();
        pt.unmapPages(0x600000, 0x200000, 1);
        const cmds = commands(pt.takeEvents()).filter((c) => c && c.op === "CMD_TLBI_NH_VA");
        expect(cmds[0]).toMatchObject({ leaf: false, addr: 0x600000, ttl: profileHas(p, "SMMU_NONLEAF_TTL0") ? 0 : 3, scale: 9, num: 0 });
        if (profileHas(p, "PGT_UNMAP_TABLES_FIRST")) expect(cmds[1]).toMatchObject({ leaf: true, ttl: 2, scale: 9, num: 0 });
        else expect(cmds).toHaveLength(1);
      });
    }
  });

  it("without range invalidation: one command per granule; SMMU_INV_ALL_TOO_BIG swaps a large range for the whole ASID", () => {
    for (const p of PROFILES) {
      withDomain(p, false, (pt) => {
        pt.mapPages(0x400000, 0x400000, 0x1000, 4, Prot.READ);
        pt.takeEvents();
        pt.unmapPages(0x400000, 0x1000, 4);
        expect(commands(pt.takeEvents())).toEqual([
          { op: "CMD_TLBI_NH_VA", asid: 5, vmid: 0, leaf: true, addr: 0x400000, tg: 0, ttl: 0, scale: 0, num: 0, count: 4 },
          { op: "CMD_SYNC", count: 1 },
        ]);
        // Removing a table: a 2M walk flush, 512 per-granule commands' worth.
        pt.unmapPages(0x400000, 0x200000, 1, { raw: true });
        const cmds = commands(pt.takeEvents());
        if (!profileHas(p, "SMMU_INV_ALL_TOO_BIG")) expect(cmds[0]).toMatchObject({ op: "CMD_TLBI_NH_VA", leaf: false, count: 512 });
        else expect(cmds[0]).toEqual({ op: "CMD_TLBI_NH_ASID", asid: 5, vmid: 0, count: 1 });
      });
    }
  });

  it("stage 2 uses the VMID, and flush-all is CMD_TLBI_S12_VMALL", () => {
    withDomain("5.15", true, (pt) => {
      pt.mapPages(0x10000, 0x10000, 0x1000, 1, Prot.READ);
      pt.unmapPages(0x10000, 0x1000, 1);
      pt.free();
      const cmds = commands(pt.takeEvents());
      expect(cmds[0]).toMatchObject({ op: "CMD_TLBI_S2_IPA", vmid: 5, leaf: true, addr: 0x10000 });
      expect(cmds.slice(-2)).toEqual([{ op: "CMD_TLBI_S12_VMALL", vmid: 5, count: 1 }, { op: "CMD_SYNC", count: 1 }]);
    }, { ...S1, format: "arm-lpae-s2", ias: 40 });
  });

  it("decodes the 16-byte layout", () => {
    // CMD_TLBI_NH_VA: ASID 0x1234, VMID 7, NUM 3, SCALE 2; leaf, TTL 3, TG 1, VA 0xffff800000001000.
    const dw0 = (0x1234n << 48n) | (7n << 32n) | (2n << 20n) | (3n << 12n) | 0x12n;
    const dw1 = 0xffff800000001000n | (1n << 10n) | (3n << 8n) | 1n;
    expect(decodeCommand(dw0, dw1)).toEqual({ op: "CMD_TLBI_NH_VA", asid: 0x1234, vmid: 7, leaf: true,
      addr: Number(0xffff800000001000n), tg: 1, ttl: 3, scale: 2, num: 3 });
    expect(decodeCommand(0x46n, 0n)).toEqual({ op: "CMD_SYNC" });
  });

  it("refuses a bad ASID/VMID", () => {
    const pt = sims["7.1"]!.createPageTable(S1);
    expect(() => sims["7.1"]!.createSmmuDomain(pt, { id: 70000 })).toThrow(/id \(ASID\) must be an integer in \[0, 65535\], got 70000/);
    pt.release();
  });
});

describe("range TLBI legality and direct range invalidation", () => {
  it("a range TLBI with TG set and TTL = NUM = SCALE = 0 is illegal (CERROR_ILL), not consumed", async () => {
    const sim = sims["7.1"]!;
    const smmu = sim.createSmmu();
    try {
      const before = smmu.stats();
      smmu.submit({ op: "CMD_TLBI_NH_VA", asid: 5, addr: 0x1000, tg: 1, ttl: 0, scale: 0, num: 0 });
      expect(smmu.stats().illegalCommands - before.illegalCommands).toBe(1);
      expect(smmu.stats().commands).toBe(before.commands);
      // Any of the three non-zero, or no TG (a per-granule command), is legal.
      smmu.submit({ op: "CMD_TLBI_NH_VA", asid: 5, addr: 0x1000, tg: 1, ttl: 0, scale: 0, num: 1 });
      smmu.submit({ op: "CMD_TLBI_NH_VA", asid: 5, addr: 0x1000, tg: 1, ttl: 3, scale: 0, num: 0 });
      smmu.submit({ op: "CMD_TLBI_NH_VA", asid: 5, addr: 0x1000, tg: 0, ttl: 0, scale: 0, num: 0 });
      expect(smmu.stats().illegalCommands - before.illegalCommands).toBe(1);
      expect(smmu.stats().commands - before.commands).toBe(3);
    } finally {
      smmu.destroy();
    }
  });

  it("SmmuDomain.invalidateRange: a non-leaf range of 33 pages is bumped to 34 (SMMU_RANGE_NUM_BUMP), 1 + 32 without it", async () => {
    const check = (sim: Simulator, expected: object[]) => {
      const pt = sim.createPageTable(S1);
      const dom = sim.createSmmuDomain(pt, { id: 5, rangeInvalidation: true });
      try {
        dom.invalidateRange(0x200000, 33 * 0x1000);
        expect(commands(pt.takeEvents()).filter((c) => c && c.op === "CMD_TLBI_NH_VA")).toMatchObject(expected);
        expect(() => dom.invalidateRange(0x200000, 0x1000, { granule: 0x3000 })).toThrow(/granule .*power of two/);
        expect(() => dom.invalidateRange(-1, 0x1000)).toThrow(/iova/);
      } finally {
        dom.destroy();
        pt.release();
      }
      expect(() => dom.invalidateRange(0x200000, 0x1000)).toThrow(/destroyed SMMU domain/);
    };
    check(sims["7.1"]!, [{ leaf: false, ttl: 0, scale: 1, num: 16 }]);
    const without = await Simulator.create({ profile: "7.1", ramMiB: 4, kheapMiB: 2, behaviours: { without: ["SMMU_RANGE_NUM_BUMP"] } });
    try {
      check(without, [{ leaf: false, ttl: 0, scale: 0, num: 0 }, { leaf: false, ttl: 0, scale: 5, num: 0 }]);
    } finally {
      await without.close();
    }
  });
});
