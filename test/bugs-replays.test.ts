// The bug zoo's deterministic entries for io-pgtable-arm and the IOVA allocator (bug corpus
// #7–#12): each run through its own run(), the buggy form caught with the evidence the
// kernel's bug shows, the fixed form clean.

import { describe, expect, it } from "vitest";
import { findBug, replayScript, type BugEntry, type BugFormResult } from "../dist/index.js";
// The scripts and the audit's search are plain values of the sources (no core behind them).
import { RETRY_PFN_OVERFLOW_SCRIPT } from "../src/bugs/entries/iova-retry-pfn-overflow.js";
import { MAX32_ESTIMATE_SCRIPT } from "../src/bugs/entries/iova-max32-estimate.js";
import { LIMIT_UNDERFLOW_SCRIPT } from "../src/bugs/entries/iova-limit-underflow.js";
import { freeFit } from "../src/bugs/iova-audit.js";

// The entries as the package ships them.
const IOVA_RETRY_PFN_OVERFLOW = findBug("iova-retry-pfn-overflow");
const IOVA_MAX32_ESTIMATE = findBug("iova-max32-estimate");
const IOVA_LIMIT_UNDERFLOW = findBug("iova-limit-underflow");
const IOVA_LINEAR_SEARCH = findBug("iova-linear-search");
const IOVA_DEPOT_FULL_DRAIN = findBug("iova-depot-full-drain");
const PGT_CONCAT_ENTRY_COUNT = findBug("pgt-concat-entry-count");
const PGT_TABLE_PA_PACKING = findBug("pgt-table-pa-packing");

async function both(e: BugEntry): Promise<{ buggy: BugFormResult; fixed: BugFormResult }> {
  const buggy = await e.run("buggy");
  const fixed = await e.run("fixed");
  expect(buggy.form).toBe("buggy");
  expect(fixed.form).toBe("fixed");
  expect(buggy.caught, `${e.id} buggy: ${buggy.verdict}\n${buggy.evidence.join("\n")}`).toBe(true);
  expect(fixed.caught, `${e.id} fixed: ${fixed.verdict}\n${fixed.evidence.join("\n")}`).toBe(false);
  return { buggy, fixed };
}

describe("the audit's own free-space search (freeFit), which the allocator's answers are checked against", () => {
  it("finds the highest free run within [startPfn, limit], size-aligned when asked", () => {
    expect(freeFit([], 1, 0xff, 4, true)).toEqual({ lo: 0xfc, hi: 0xff });
    expect(freeFit([{ lo: 0xf0, hi: 0xff }], 1, 0xff, 4, true)).toEqual({ lo: 0xec, hi: 0xef });
    expect(freeFit([{ lo: 0xf0, hi: 0xff }], 1, 0xff, 3, false)).toEqual({ lo: 0xed, hi: 0xef });
    expect(freeFit([{ lo: 0xf0, hi: 0xff }], 1, 0xff, 3, true)).toEqual({ lo: 0xec, hi: 0xee }); // aligned to 4
    // A gap of 3 between ranges: fits 3 unaligned, not 3 aligned to 4 (0x11..0x13).
    const r = [{ lo: 0x10, hi: 0x10 }, { lo: 0x14, hi: 0xff }];
    expect(freeFit(r, 0x10, 0xff, 3, false)).toEqual({ lo: 0x11, hi: 0x13 });
    expect(freeFit(r, 0x10, 0xff, 3, true)).toBeNull();
  });

  it("never reaches below startPfn or above the limit", () => {
    expect(freeFit([], 8, 9, 4, false)).toBeNull();
    expect(freeFit([], 8, 11, 4, false)).toEqual({ lo: 8, hi: 11 });
    expect(freeFit([{ lo: 0, hi: 0 }, { lo: 2, hi: 3 }], 0, 3, 2, true)).toBeNull(); // #11's state: no room, fixed kernel fails
    expect(freeFit([{ lo: 0x20, hi: 0x2f }], 0, 0x1f, 16, true)).toEqual({ lo: 0x10, hi: 0x1f }); // a range above the limit ignored
  });
});

describe("bug zoo: IOVA allocator", () => {
  it("#9 retry_pfn overflow: the buggy retry hands out 0x1ef000 below start_pfn 0x1f0000; the fixed one fails", async () => {
    const { buggy, fixed } = await both(IOVA_RETRY_PFN_OVERFLOW);
    expect(buggy.evidence).toContain("0x1ef000 0x1efaff");
    expect(buggy.evidence.some((l) => /below start_pfn 0x1f0000/.test(l))).toBe(true);
    expect(fixed.evidence).toContain("FAIL");
  });

  it("#10 max32_alloc_size: the buggy estimate refuses 8 pages that are free; the fixed one hands them out", async () => {
    const { buggy, fixed } = await both(IOVA_MAX32_ESTIMATE);
    expect(buggy.evidence.some((l) => /failed although \[0xfffe0, 0xfffe7\] is free \(max32_alloc_size=0x8\)/.test(l))).toBe(true);
    expect(buggy.evidence.at(-1)).toBe("FAIL");
    expect(fixed.evidence.at(-1)).toBe("0xfffe0 0xfffe7");
  });

  it("#11 limit underflow: the buggy walk hands out {-2, -1}; the fixed one fails", async () => {
    const { buggy, fixed } = await both(IOVA_LIMIT_UNDERFLOW);
    expect(buggy.evidence).toContain("0xfffffffffffffffe 0xffffffffffffffff");
    expect(fixed.evidence.filter((l) => l === "FAIL")).toHaveLength(1);
  });

  it("#12 linear search: the kernel's walk crosses tens of thousands of ranges; the O(log n) search stays under its bound with the same answers", async () => {
    const { buggy, fixed } = await both(IOVA_LINEAR_SEARCH);
    const b = buggy.measures!, f = fixed.measures!;
    expect(b.kernelWalkMax).toBe(f.kernelWalkMax); // the same churn, the same kernel walk
    expect(b.searchVisitsMax).toBe(b.kernelWalkMax); // the linear search is that walk
    expect(b.searchVisitsMax).toBeGreaterThan(b.bound!);
    expect(f.searchVisitsMax).toBeLessThanOrEqual(f.bound!);
    expect(f.wrong).toBe(0);
    expect(b.wrong).toBe(0);
  });
});

describe("bug zoo: rcache", () => {
  it("#19 (partly) depot aging: the array depot drains whole magazines into the tree; the posted fix flushes the CPUs instead", async () => {
    const { buggy, fixed } = await both(IOVA_DEPOT_FULL_DRAIN);
    expect(buggy.measures!.depotFullFlushes).toBe(0);
    expect(fixed.measures!.depotDrains).toBe(0);
    expect(fixed.measures!.depotFullFlushes).toBeGreaterThan(0);
    // The caches stay larger without the fix: the same churn leaves more IOVAs cached.
    expect(buggy.measures!.meanCached).toBeGreaterThan(fixed.measures!.meanCached!);
  });
});

describe("bug zoo: the IOVA entries' evidence is what `iommu-sim replay` prints for their script", () => {
  const cases = [
    [IOVA_RETRY_PFN_OVERFLOW, RETRY_PFN_OVERFLOW_SCRIPT], [IOVA_MAX32_ESTIMATE, MAX32_ESTIMATE_SCRIPT], [IOVA_LIMIT_UNDERFLOW, LIMIT_UNDERFLOW_SCRIPT],
  ] as const;
  for (const [entry, script] of cases) {
    it(entry.id, async () => {
      for (const form of ["buggy", "fixed"] as const) {
        const directive = form === "buggy" ? `behaviours without ${entry.switch.name}\n` : "";
        const replay = await replayScript(directive + script, { profile: "7.1" });
        const r = await entry.run(form);
        const trace = r.evidence.slice(r.measures!.violations);
        expect(replay.slice(replay.indexOf(trace[0]!), -1), form).toEqual(trace);
        expect(replay.at(-1)).toBe("# warnings=0");
      }
    });
  }
});

describe("bug zoo: io-pgtable-arm", () => {
  it("#7 concatenated PGD: the buggy count wraps `mapped`, maps nothing and leaves an unmapped range translating", async () => {
    const { buggy, fixed } = await both(PGT_CONCAT_ENTRY_COUNT);
    expect(buggy.evidence).toContain("ret=0 mapped=0xffffffea00000000"); // (512 − 600) GiB
    expect(buggy.evidence.some((l) => /^unmapped=0x0$/.test(l))).toBe(true);
    expect(fixed.evidence).toContain("ret=0 mapped=0x40000000");
  });

  it("#8 table PA packing: the buggy descriptors name tables below 2^48; the fixed ones pack PA[51:48] into PTE[15:12]", async () => {
    const { buggy, fixed } = await both(PGT_TABLE_PA_PACKING);
    expect(buggy.measures!.badTableDescriptors).toBeGreaterThan(0);
    expect(fixed.measures!.badTableDescriptors).toBe(0);
    expect(fixed.evidence.some((l) => /table pte=0x[0-9a-f]*1003 -> next table at 0x1[0-9a-f]{12}$/.test(l))).toBe(true);
  });

  it("each entry names its corpus number, a 12-digit fix (or a thread) and a behaviour or option switch", () => {
    const entries = [IOVA_RETRY_PFN_OVERFLOW, IOVA_MAX32_ESTIMATE, IOVA_LIMIT_UNDERFLOW, IOVA_LINEAR_SEARCH, PGT_CONCAT_ENTRY_COUNT,
      PGT_TABLE_PA_PACKING, IOVA_DEPOT_FULL_DRAIN];
    expect(entries.map((e) => e.corpus)).toEqual([9, 10, 11, 12, 7, 8, 19]);
    for (const e of entries) {
      expect(e.fix).toMatch(/^[0-9a-f]{12}$|^(proposal|posted) \(/);
      expect(e.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    }
  });
});
