// The PageTable API: geometry, PTE bits, TLB-maintenance events, the profile differences,
// table-page accounting, and refusals of bad input with errors that name the argument.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ArgumentError, IommuSimError, PageTableConfigError, Prot, Quirk, Simulator, type PageTable,
} from "../dist/index.js";

const SZ_4K = 0x1000, SZ_2M = 0x200000, SZ_1G = 0x40000000;
const S1_4K = { format: "arm-lpae-s1" as const, pgsizeBitmap: 0x40201000, ias: 48, oas: 48 };

let sim515: Simulator;
let sim71: Simulator;
beforeAll(async () => {
  sim515 = await Simulator.create({ profile: "5.15", ramMiB: 32 });
  sim71 = await Simulator.create({ profile: "7.1", ramMiB: 32 });
});
afterAll(async () => {
  await sim515.close();
  await sim71.close();
});

function withTable<T>(sim: Simulator, cfg: Parameters<Simulator["createPageTable"]>[0], fn: (pt: PageTable) => T): T {
  const pt = sim.createPageTable(cfg);
  try {
    return fn(pt);
  } finally {
    pt.release();
  }
}

describe("geometry", () => {
  it("derives the kernel's geometry and registers", () => {
    withTable(sim71, S1_4K, (pt) => {
      expect(pt.geometry).toMatchObject({
        levels: 4, startLevel: 0, bitsPerLevel: 9, pgdBits: 9, pgdSize: 0x1000, granule: SZ_4K,
        tcr: { ps: 5, tg: 0, sh: 3, orgn: 1, irgn: 1, tsz: 16 }, mair: 0xfffffffff404ff44n,
      });
    });
  });

  it("concatenates stage-2 PGDs per profile", () => {
    const cfg = { format: "arm-lpae-s2" as const, pgsizeBitmap: 0x40201000, ias: 40, oas: 48 };
    withTable(sim515, cfg, (pt) => expect(pt.geometry).toMatchObject({ startLevel: 1, pgdBits: 10, pgdSize: 0x2000, tcr: { sl: 1 } }));
    withTable(sim71, cfg, (pt) => expect(pt.geometry).toMatchObject({ startLevel: 0, pgdBits: 1, pgdSize: 0x10, tcr: { sl: 2 } }));
  });

  it("v7.1 refuses a mandatory concatenation above 16 tables; v5.15 accepts it", () => {
    const cfg = { format: "arm-lpae-s2" as const, pgsizeBitmap: 0x40201000, ias: 44, oas: 40 };
    expect(() => sim71.createPageTable(cfg)).toThrow(PageTableConfigError);
    expect(() => sim71.createPageTable(cfg)).toThrow(/concatenation/);
    withTable(sim515, cfg, (pt) => expect(pt.geometry.startLevel).toBe(0));
  });

  it("32-bit LPAE formats keep 4K-granule sizes and their own limits", () => {
    withTable(sim71, { format: "arm-lpae-s1-32", pgsizeBitmap: 0x40211000, ias: 32, oas: 40 }, (pt) => {
      expect(pt.geometry.pgsizeBitmap).toBe(0x40201000);
      expect(pt.geometry.startLevel).toBe(1);
    });
    withTable(sim71, { format: "arm-lpae-s2-32", pgsizeBitmap: 0x40201000, ias: 40, oas: 40 }, (pt) => {
      // 4K, level 0, OAS 40: v7.1's mandatory concatenation, two tables' worth at level 1.
      expect(pt.geometry).toMatchObject({ startLevel: 1, pgdBits: 10, tcr: { sl: 1, tsz: 24, ps: 2 } });
    });
    expect(() => sim71.createPageTable({ format: "arm-lpae-s1-32", pgsizeBitmap: 0x40201000, ias: 36, oas: 40 })).toThrow(/ias/);
    expect(() => sim71.createPageTable({ format: "arm-lpae-s2-32", pgsizeBitmap: 0x40201000, ias: 40, oas: 42 })).toThrow(/oas/);
    // Only 64K pages: nothing left once the 32-bit formats keep 4K|2M|1G.
    expect(() => sim71.createPageTable({ format: "arm-lpae-s1-32", pgsizeBitmap: 0x10000, ias: 32, oas: 40 })).toThrow(/granule/);
  });

  it("stage-1 refuses an output size the TCR cannot encode", () => {
    expect(() => sim71.createPageTable({ ...S1_4K, oas: 38 })).toThrow(/oas/);
  });
});

describe("PTE bits", () => {
  it("builds stage-1 attributes from prot as the kernel does", () => {
    withTable(sim515, S1_4K, (pt) => {
      pt.mapPages(0x1000, 0x90001000, SZ_4K, 1, Prot.READ | Prot.WRITE);
      pt.mapPages(0x200000, 0x80200000, SZ_2M, 1, Prot.READ | Prot.WRITE | Prot.CACHE);
      pt.mapPages(SZ_1G, 0xc0000000, SZ_1G, 1, Prot.READ);
      pt.mapPages(0x5000, 0x5000, SZ_4K, 1, Prot.READ | Prot.WRITE | Prot.MMIO | Prot.NOEXEC | Prot.PRIV);
      const leaves = pt.dump().filter((e) => e.kind !== "table");
      expect(leaves.map((e) => [e.va, e.kind, e.attrs])).toEqual([
        [0x1000, "page", 0xe43n],
        [0x5000, "page", 0x60000000000e0bn], // device memory, privileged, no exec
        [0x200000, "block", 0xf45n],
        [SZ_1G, "block", 0xec1n],
      ]);
    });
  });

  it("builds stage-2 attributes, with S2FWB in v7.1", () => {
    const s2 = { format: "arm-lpae-s2" as const, pgsizeBitmap: 0x40201000, ias: 40, oas: 48 };
    withTable(sim71, s2, (pt) => {
      pt.mapPages(0x1000, 0x1000, SZ_4K, 1, Prot.READ | Prot.WRITE | Prot.CACHE | Prot.NOEXEC | Prot.PRIV);
      expect(pt.dump().at(-1)!.attrs).toBe(0x600000000007ffn);
    });
    withTable(sim71, { ...s2, quirks: 1 << 8 }, (pt) => {
      pt.mapPages(0x1000, 0x1000, SZ_4K, 1, Prot.READ | Prot.CACHE);
      expect(pt.dump().at(-1)!.attrs! & 0x3cn).toBe(0x18n); // MemAttr 0x6: forced write-back
    });
  });
});

describe("map, unmap and TLB maintenance", () => {
  it("strict unmap gathers leaf invalidations into one synced range; queued unmap issues none", () => {
    withTable(sim71, S1_4K, (pt) => {
      expect(pt.mapPages(0x1000, 0x1000, SZ_4K, 3, Prot.READ | Prot.WRITE)).toMatchObject({ ret: 0, mapped: 0x3000 });
      pt.takeEvents();
      expect(pt.unmapPages(0x1000, SZ_4K, 2)).toEqual({ unmapped: 0x2000, queued: false });
      expect(pt.takeEvents()).toEqual([
        { kind: "tlb_add_page", iova: 0x1000, granule: SZ_4K },
        { kind: "tlb_add_page", iova: 0x2000, granule: SZ_4K },
        { kind: "iotlb_sync", start: 0x1000, end: 0x2fff, pgsize: SZ_4K },
      ]);
      expect(pt.unmapPages(0x3000, SZ_4K, 1, { gather: "queued" })).toEqual({ unmapped: SZ_4K, queued: true });
      expect(pt.takeEvents()).toEqual([]);
      expect(pt.iovaToPhys(0x3abc)).toBe(0);
    });
  });

  it("a call never crosses a table boundary", () => {
    withTable(sim71, S1_4K, (pt) => {
      expect(pt.mapPages(0x1fd000, 0x1fd000, SZ_4K, 8, Prot.READ)).toMatchObject({ ret: 0, mapped: 0x3000 });
    });
  });

  it("a partial unmap of a block: v5.15 splits it, v7.1 refuses with a WARN", () => {
    for (const sim of [sim515, sim71]) {
      withTable(sim, S1_4K, (pt) => {
        pt.mapPages(0x200000, 0x80200000, SZ_2M, 1, Prot.READ | Prot.WRITE);
        const r = pt.unmapPages(0x201000, SZ_4K, 1);
        if (sim.profile === "5.15") {
          expect(r.unmapped).toBe(SZ_4K);
          expect(pt.iovaToPhys(0x201000)).toBe(0);
          expect(pt.iovaToPhys(0x202000)).toBe(0x80202000);
          expect(pt.warnings).toBe(0);
        } else {
          expect(r.unmapped).toBe(0);
          expect(pt.iovaToPhys(0x201000)).toBe(0x80201000);
          expect(pt.takeEvents().some((e) => e.kind === "warn" && e.code === "unmap-partial-block")).toBe(true);
        }
      });
    }
  });

  it("v5.15 wraps the byte count past index 511 of a concatenated PGD, as the kernel did", () => {
    const s2 = { format: "arm-lpae-s2" as const, pgsizeBitmap: 0x40201000, ias: 40, oas: 48 };
    const iova = 833 * SZ_1G;
    withTable(sim515, s2, (pt) => {
      const r = pt.mapPages(iova, 0, SZ_1G, 1, Prot.READ);
      expect(r.ret).toBe(0);
      expect(r.mapped64).toBe(0xffffffafc0000000n);
      expect(pt.iovaToPhys(iova)).toBe(0);
    });
    withTable(sim71, s2, (pt) => {
      expect(pt.mapPages(iova, 0, SZ_1G, 1, Prot.READ)).toMatchObject({ ret: 0, mapped: SZ_1G });
      expect(pt.iovaToPhys(iova + 0x123)).toBe(0x123);
    });
  });

  it("iova_to_phys ignores bits above the IAS (kernel behaviour)", () => {
    withTable(sim71, { ...S1_4K, ias: 32 }, (pt) => {
      pt.mapPages(0x1000, 0x7000, SZ_4K, 1, Prot.READ);
      expect(pt.iovaToPhys(2 ** 32 + 0x1004)).toBe(0x7004);
    });
  });

  it("a map over a leaf is -EEXIST with a WARN, and changes nothing", () => {
    withTable(sim71, S1_4K, (pt) => {
      pt.mapPages(0x1000, 0x1000, SZ_4K, 1, Prot.READ);
      pt.takeEvents();
      expect(pt.mapPages(0x1000, 0x9000, SZ_4K, 1, Prot.READ).ret).toBe(-17);
      expect(pt.takeEvents()).toEqual([{ kind: "warn", code: "map-exists", message: expect.any(String) }]);
      expect(pt.iovaToPhys(0x1000)).toBe(0x1000);
    });
  });

  it("dump merges runs of contiguous leaves with the same attributes", () => {
    withTable(sim71, S1_4K, (pt) => {
      pt.mapPages(0x0, 0x10000, SZ_4K, 4, Prot.READ);
      pt.mapPages(0x4000, 0x90000, SZ_4K, 1, Prot.READ); // not contiguous in PA
      const leaves = pt.dump().filter((e) => e.kind === "page");
      expect(leaves.map((e) => [e.index, e.lastIndex, e.count, e.pa])).toEqual([[0, 3, 4, 0x10000], [4, 4, 1, 0x90000]]);
      expect(pt.dump({ merge: false }).filter((e) => e.kind === "page")).toHaveLength(5);
    });
  });

  it("reports a wrapped event ring instead of silently dropping events", () => {
    withTable(sim71, { ...S1_4K, events: 4 }, (pt) => {
      pt.mapPages(0, 0, SZ_4K, 8, Prot.READ);
      pt.unmapPages(0, SZ_4K, 8);
      expect(() => pt.takeEvents()).toThrow(/page table \d+ events: lost 5 records/);
      expect(pt.takeEvents()).toEqual([]);
    });
  });
});

describe("table memory", () => {
  it("every table page goes back on free, for every granule", async () => {
    const sim = await Simulator.create({ profile: "7.1", ramMiB: 64 });
    try {
      for (const bitmap of [0x40201000, 0x02004000, 0x20010000]) {
        const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: bitmap, ias: 48, oas: 48, events: 0 });
        const gran = pt.geometry.granule;
        for (let i = 0; i < 64; i++) pt.mapPages(i * 0x40000000 + gran * i, i * gran, gran, 3, Prot.READ);
        expect(sim.memoryStats().tablePages).toBeGreaterThan(64);
        pt.free();
        pt.release();
        expect(sim.memoryStats()).toMatchObject({ tablePages: 0, tableAllocations: 0, badFrees: 0 });
      }
    } finally {
      await sim.close();
    }
  });

  it("running out of simulated RAM is -ENOMEM, not a crash", async () => {
    const sim = await Simulator.create({ profile: "7.1", ramMiB: 1 });
    try {
      const pt = sim.createPageTable({ ...S1_4K, events: 0 });
      let ret = 0;
      for (let i = 0; i < 1000 && ret === 0; i++) ret = pt.mapPages(i * SZ_2M, 0, SZ_4K, 1, Prot.READ).ret;
      expect(ret).toBe(-12);
      expect(sim.memoryStats().allocFailures).toBeGreaterThan(0);
      pt.release();
      expect(sim.memoryStats().tablePages).toBe(0);
    } finally {
      await sim.close();
    }
  });
});

describe("bad input is refused with an error that names it", () => {
  const cases: [string, (pt: PageTable) => unknown, RegExp][] = [
    ["non-integer iova", (pt) => pt.mapPages(4096.5, 0, SZ_4K, 1, 3), /^mapPages: iova must be an integer address/],
    ["negative iova", (pt) => pt.mapPages(-4096, 0, SZ_4K, 1, 3), /iova .*got -4096/],
    ["iova ≥ 2^53", (pt) => pt.mapPages(2 ** 53, 0, SZ_4K, 1, 3), /iova must be an integer address in \[0, 2\^53\)/],
    ["bigint iova", (pt) => pt.iovaToPhys(4096n as unknown as number), /iovaToPhys: iova .*got 4096n/],
    ["NaN paddr", (pt) => pt.mapPages(0, NaN, SZ_4K, 1, 3), /paddr .*got NaN/],
    ["pgsize not in the bitmap", (pt) => pt.mapPages(0, 0, 0x10000, 1, 3), /pgsize must be one page size of this table \(pgsize_bitmap 0x40201000: 4K, 2M, 1G\)/],
    ["misaligned iova", (pt) => pt.mapPages(0x1800, 0, SZ_4K, 1, 3), /iova must be aligned to pgsize 0x1000, got 6144 \(0x1800\)/],
    ["misaligned paddr", (pt) => pt.mapPages(SZ_2M, 0x1000, SZ_2M, 1, 3), /paddr must be aligned to pgsize 0x200000/],
    ["pgcount 0", (pt) => pt.unmapPages(0, SZ_4K, 0), /unmapPages: pgcount must be an integer in \[1/],
    ["unknown prot bits", (pt) => pt.mapPages(0, 0, SZ_4K, 1, 64), /prot must be an integer in \[0, 63\]/],
    ["unknown gather mode", (pt) => pt.unmapPages(0, SZ_4K, 1, { gather: "lazy" as never }), /gather must be one of 'none', 'strict', 'queued'/],
  ];
  for (const [what, call, message] of cases) {
    it(what, () => {
      withTable(sim71, S1_4K, (pt) => {
        let err: unknown;
        try { call(pt); } catch (e) { err = e; }
        expect(err).toBeInstanceOf(ArgumentError);
        expect((err as Error).message).toMatch(message);
        // The table is untouched and still usable.
        expect(pt.mapPages(0, 0, SZ_4K, 1, 3).ret).toBe(0);
      });
    });
  }

  it("unknown format, bad ias, TTBR1 and bad events in the config", () => {
    expect(() => sim71.createPageTable({ ...S1_4K, format: "x86" as never })).toThrow(/createPageTable: format must be one of 'arm-lpae-s1'/);
    expect(() => sim71.createPageTable({ ...S1_4K, ias: 0 })).toThrow(/ias must be an integer in \[1, 64\], got 0/);
    const { tablePages, tableAllocations, kheapPages } = sim71.memoryStats();
    expect(() => sim71.createPageTable({ ...S1_4K, quirks: Quirk.ARM_TTBR1 })).toThrow(/quirks must not include ARM_TTBR1/);
    // Where the kernel refuses the configuration anyway, that is the answer: a bit it does not
    // know beside TTBR1, or TTBR1 on a stage-2 table. None of the three leaves a table behind.
    for (const bad of [{ ...S1_4K, quirks: Quirk.ARM_TTBR1 | 2 }, { ...S1_4K, format: "arm-lpae-s2" as const, quirks: Quirk.ARM_TTBR1 }]) {
      expect(() => sim71.createPageTable(bad)).toThrow(PageTableConfigError);
    }
    expect(sim71.memoryStats()).toMatchObject({ tablePages, tableAllocations, kheapPages });
    expect(() => sim71.createPageTable({ ...S1_4K, events: 100 })).toThrow(/events must be 0 or a power of two/);
    expect(() => sim71.createPageTable(null as never)).toThrow(/config must be an object/);
  });

  it("raw calls take what the kernel takes and answer as it does", () => {
    withTable(sim71, S1_4K, (pt) => {
      expect(pt.mapPages(0, 0, 0x3000, 1, 3, { raw: true }).ret).toBe(-22);
      expect(pt.mapPages(2 ** 48, 0, SZ_4K, 1, 3, { raw: true }).ret).toBe(-34);
      expect(pt.mapPages(0x1800, 0x2abc, SZ_4K, 1, 3, { raw: true }).ret).toBe(0);
      expect(pt.iovaToPhys(0x1010)).toBe(0x2010); // the PA's low bits fell out of the PTE
      expect(pt.takeEvents().map((e) => e.kind === "warn" && e.code)).toEqual(["map-pgsize", "map-range"]);
    });
  });

  it("a freed table refuses further use", () => {
    const pt = sim71.createPageTable(S1_4K);
    pt.free();
    expect(() => pt.mapPages(0, 0, SZ_4K, 1, 3)).toThrow(IommuSimError);
    expect(() => pt.iovaToPhys(0)).toThrow(/freed/);
    pt.release();
  });

  it("Simulator options are checked", async () => {
    await expect(Simulator.create({ profile: "6.6" as never })).rejects.toThrow(/profile must be one of '5.15', '6.12', '7.1'/);
    await expect(Simulator.create({ ramMiB: 0 })).rejects.toThrow(/ramMiB must be an integer/);
    await expect(Simulator.create({ pageSize: 8192 })).rejects.toThrow(/pageSize/);
  });
});
