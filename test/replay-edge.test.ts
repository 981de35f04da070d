// Replay scripts beyond the shared conformance traces: edge cases whose expected output was
// worked out by hand from the kernel's algorithms (reference §3, §4, §5), one script per
// behaviour, each run in every profile it concerns. Each case failed before the fix it names.

import { describe, expect, it } from "vitest";
import { normalizeTrace, replayScript, type Profile } from "../dist/index.js";

async function replay(script: string, profile: Profile): Promise<string[]> {
  return normalizeTrace(await replayScript(script, { profile }));
}

/** `> CMD` followed by its result lines, for a script written as [command, ...result] pairs. */
function expected(steps: [string, ...string[]][], warnings = 0): string[] {
  return [...steps.flatMap(([cmd, ...out]) => [`> ${cmd}`, ...out]), `# warnings=${warnings}`];
}

describe("fast allocations under a limit below start_pfn", () => {
  // alloc_iova_fast does not check the limit: its cache check (limit + 1 − size) wraps, so
  // any cached PFN of the bin qualifies; the tree then fails (no range fits below start_pfn).
  const script = ["ncpus 1", "init 4096 1", "fast 2 0xfffff 0", "ffree 0xffffe 2", "fast 2 0 0", "fast 2 0 0", "state"];
  for (const profile of ["5.15", "6.12", "7.1"] as const) {
    it(`take a cached PFN, then fail in the tree [${profile}]`, async () => {
      expect(await replay(script.join("\n"), profile)).toEqual(expected([
        ["ncpus 1", "ok"], ["init 4096 1", "ok dma_32bit_pfn=0x100000"],
        ["fast 2 0xfffff 0", "0xffffe"], ["ffree 0xffffe 2", "ok"],
        ["fast 2 0 0", "0xffffe"],
        // L = 1: the walk from cached32 (0xffffe) finds hi = 1 < size; no second pass, max32 = 2.
        ["fast 2 0 0", "0x0"],
        ["state", "cached=0xffffffffffffffff cached32=0xffffe max32_alloc_size=0x2"],
      ]));
    });
  }

  // 5.15.16's second pass from the anchor starts at pfn_hi + 1, which wraps to 0: below
  // start_pfn, it hands out PFN 0 (printed as the failure value 0x0, but in the tree).
  const wrap = "init 4096 1\nfast 1 0 0\ntree";
  it("in 5.15 the wrapped second pass hands out PFN 0", async () => {
    expect(await replay(wrap, "5.15")).toEqual(expected([
      ["init 4096 1", "ok dma_32bit_pfn=0x100000"], ["fast 1 0 0", "0x0"], ["tree", "[0x0-0x0]"],
    ]));
  });
  for (const profile of ["6.12", "7.1"] as const) {
    it(`in ${profile} it fails and the tree stays empty`, async () => {
      expect(await replay(wrap, profile)).toEqual(expected([
        ["init 4096 1", "ok dma_32bit_pfn=0x100000"], ["fast 1 0 0", "0x0"], ["tree", "(empty)"],
      ]));
    });
  }
});

describe("cfg clamps ias and oas before checking them", () => {
  // arm_lpae_restrict_pgsizes cuts ias and oas to 48 (52 with a 64K granule) before
  // arm_lpae_alloc_pgtable refuses anything above 52, so larger values still give a table.
  for (const profile of ["5.15", "6.12", "7.1"] as const) {
    it(`4K stage 1 with ias 56, oas 64 is a 48-bit table [${profile}]`, async () => {
      expect(await replay("cfg s1 0x40201000 56 64", profile)).toEqual(expected([[
        "cfg s1 0x40201000 56 64",
        "pgsize_bitmap=0x40201000 ias=48 oas=48 levels=4 start_level=0 bits_per_level=9 pgd_bits=9 pgd_size=0x1000 " +
        "granule=0x1000 TCR: ips=5 tg=0 sh=3 orgn=1 irgn=1 tsz=16 MAIR=0xfffffffff404ff44 TTBR=*",
      ]]));
    });
    it(`64K stage 2 with ias 60, oas 56 is a 52-bit table [${profile}]`, async () => {
      expect(await replay("cfg s2 0x20010000 60 56", profile)).toEqual(expected([[
        "cfg s2 0x20010000 60 56",
        "pgsize_bitmap=0x20010000 ias=52 oas=52 levels=3 start_level=1 bits_per_level=13 pgd_bits=10 pgd_size=0x2000 " +
        "granule=0x10000 VTCR: ps=6 tg=1 sh=3 orgn=1 irgn=1 sl=2 tsz=12 VTTBR=*",
      ]]));
    });
  }
});

describe("the harness's clock and allocator flag are not the IOVA domain's", () => {
  // tick advances the harness's jiffies whether or not a domain exists; nothing is due without one.
  for (const profile of ["5.15", "6.12", "7.1"] as const) {
    it(`tick runs before init and after put [${profile}]`, async () => {
      expect(await replay("tick 5\ninit 4096 1\nput\ntick 3", profile)).toEqual(expected([
        ["tick 5", "ok jiffies=*"], ["init 4096 1", "ok dma_32bit_pfn=0x100000"], ["put", "ok kmalloc_live=*"],
        ["tick 3", "ok jiffies=*"],
      ]));
    });
  }

  // failatomic makes the magazine allocations of the insert path fail, from whenever it is set:
  // once loaded and prev are full, each further fast free goes to the tree (free_iova).
  const n = 260;
  const script = ["failatomic 1", "init 4096 1"];
  for (let i = 0; i < n; i++) script.push("fast 1 0xfffff 0");
  for (let i = 0; i < n; i++) script.push(`ffree 0x${(0xfffff - i).toString(16)} 1`);
  script.push("rcache_summary");
  for (const [profile, mag] of [["5.15", 128], ["6.12", 127], ["7.1", 127]] as const) {
    it(`set before init, it holds for the domain init makes [${profile}]`, async () => {
      const steps: [string, ...string[]][] = [["failatomic 1", "ok"], ["init 4096 1", "ok dma_32bit_pfn=0x100000"]];
      for (let i = 0; i < n; i++) steps.push(["fast 1 0xfffff 0", `0x${(0xfffff - i).toString(16)}`]);
      for (let i = 0; i < n; i++) steps.push([`ffree 0x${(0xfffff - i).toString(16)} 1`, "ok"]);
      steps.push(["rcache_summary",
        `order0: cpu0 L=${mag} P=${mag} depot=0`,
        ...[1, 2, 3, 4, 5].map((o) => `order${o}: cpu0 L=0 P=0 depot=0`),
        // The anchor, the n ranges, less the ones freed to the tree past two full magazines.
        `rbtree nodes (incl. anchor): ${1 + n - (n - 2 * mag)}`]);
      expect(await replay(script.join("\n"), profile)).toEqual(expected(steps));
    });
  }
});

describe("cfg with a quirk bit no format knows", () => {
  // Every LPAE format's alloc refuses a quirk outside its own set before anything else, with no
  // WARN: bits from 10 up are never in it. The previous table is freed first, as for any cfg.
  for (const profile of ["5.15", "6.12", "7.1"] as const) {
    it(`gives NULL [${profile}]`, async () => {
      expect(await replay("cfg s1 0x40201000 48 48 1 0x400\ncfg s2 0x40201000 40 40 1 0x80000000", profile)).toEqual(expected([
        ["cfg s1 0x40201000 48 48 1 0x400", "alloc_io_pgtable_ops -> NULL"],
        ["cfg s2 0x40201000 40 40 1 0x80000000", "alloc_io_pgtable_ops -> NULL"],
      ]));
      // TTBR1 (upper-half IOVAs, which the model cannot hold) beside a bit the format refuses,
      // or on a stage-2 table: the kernel refuses the configuration, and so the replay says.
      expect(await replay("cfg s1 0x40201000 48 48 1 0x22\ncfg s2 0x40201000 40 40 1 0x20", profile)).toEqual(expected([
        ["cfg s1 0x40201000 48 48 1 0x22", "alloc_io_pgtable_ops -> NULL"],
        ["cfg s2 0x40201000 40 40 1 0x20", "alloc_io_pgtable_ops -> NULL"],
      ]));
    });
  }
});
