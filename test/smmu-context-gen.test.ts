// Context generations (assembly/smmu/context-gen.ts): a TLBI by ASID, by VMID or of
// everything moves the generation of the contexts it flushes instead of scanning the caches.
// Checked against the scan it replaces: an SMMU whose IOTLB and walk caches are LRU keeps
// scanning (its entries' age word is the LRU age, not a stamp), so the same commands and
// accesses on a round-robin SMMU and an LRU one — sized so that neither evicts — must give
// the same hits, walks and counters, and the same IOTLB snapshot. Also: a context beyond the
// table's slots is still flushed, a fill that reuses a flushed entry counts it removed, and a
// micro-TLB's tag filter restarts once its entries died in place.

import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IOTLB_SCOPES, Prot, Simulator, type Device, type IotlbScope, type PageTable, type Smmu, type SmmuOptions } from "../dist/index.js";
import { coreOf, LPAE_S1 as S1, LPAE_S2 as S2 } from "./helpers.js";

const PAGES = 12;

let sim: Simulator;
beforeEach(async () => { sim = await Simulator.create({ profile: "7.1" }); });
afterEach(async () => { await sim.close(); });

interface Ctx { pt: PageTable; dev: Device }

/** Three contexts on one SMMU: ASID 5 and 6 (stage 1), VMID 9 (stage 2); PAGES pages mapped in each. */
function contexts(smmu: Smmu): Ctx[] {
  return ([[5, S1], [6, S1], [9, S2]] as const).map(([id, cfg], i) => {
    const pt = sim.createPageTable(cfg);
    const dom = sim.createSmmuDomain(pt, { id });
    expect(pt.mapPages(0x1000, 0x8000_0000 + i * 0x100000, 0x1000, PAGES, Prot.READ | Prot.WRITE).mapped).toBe(PAGES * 0x1000);
    return { pt, dev: smmu.attachDevice(1 + i, dom) };
  });
}

type Op =
  | { k: "access"; ctx: number; page: number }
  | { k: "va"; asid: number; page: number; leaf: boolean }
  | { k: "asid"; asid: number }
  | { k: "vmall"; vmid: number }
  | { k: "all" };

function apply(smmu: Smmu, ctxs: Ctx[], op: Op): string {
  switch (op.k) {
    case "access": {
      const r = ctxs[op.ctx]!.dev.access(0x1000 * (1 + op.page), 4, "read");
      return r.ok ? r.segments[0]!.from : `fault ${r.fault.type}`;
    }
    case "va": smmu.submit({ op: "TLBI_NH_VA", asid: op.asid, addr: 0x1000 * (1 + op.page), leaf: op.leaf }); return "";
    case "asid": smmu.submit({ op: "TLBI_NH_ASID", asid: op.asid }); return "";
    case "vmall": smmu.submit({ op: "TLBI_S12_VMALL", vmid: op.vmid }); return "";
    case "all": smmu.submit({ op: "TLBI_NSNH_ALL" }); return "";
  }
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ k: fc.constant("access" as const), ctx: fc.integer({ min: 0, max: 2 }), page: fc.integer({ min: 0, max: PAGES - 1 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("va" as const), asid: fc.constantFrom(5, 6), page: fc.integer({ min: 0, max: PAGES - 1 }), leaf: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("asid" as const), asid: fc.constantFrom(5, 6, 7) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("vmall" as const), vmid: fc.constantFrom(0, 9) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("all" as const) }) },
);

/** Caches big enough that nothing is evicted: only invalidation decides what they hold. */
const roomy = (policy: "rr" | "lru", scope: IotlbScope): SmmuOptions =>
  ({ iotlb: { entries: 64, ways: 64, policy, scope }, microTlb: 0, walkCache: [8, 8, 8, 8] });

/** Every valid IOTLB entry: of the shared IOTLB, or of each device's main TLB (named by its stream). */
const validEntries = (smmu: Smmu) => (smmu.iotlbScope === "smmu" ? [undefined] : smmu.streamIds).flatMap((sid) =>
  smmu.iotlbSnapshot(sid).entries.filter((e) => e.valid).map((e) => `${sid ?? "all"}:${e.ctx}:${e.tag}:${e.shift}`)).sort();

describe("context generations", () => {
  it.each(IOTLB_SCOPES)("give what scanning gave: same hits, walks, counters and IOTLB contents (round-robin vs LRU; IOTLB scope %s)", async (scope) => {
    const outer = sim;
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 80 }), async (ops) => {
      const run = await Simulator.create({ profile: "7.1" });
      try {
        sim = run;
        const gen = sim.createSmmu(roomy("rr", scope));
        const scan = sim.createSmmu(roomy("lru", scope));
        const a = contexts(gen);
        const b = contexts(scan);
        for (const op of ops) expect(apply(gen, a, op)).toBe(apply(scan, b, op));
        const sa = gen.stats();
        const sb = scan.stats();
        expect(sa.entriesInvalidated).toBe(sb.entriesInvalidated);
        expect(sa.iotlb).toEqual(sb.iotlb);
        expect(sa.walkCache).toEqual(sb.walkCache);
        expect(sa.pteReads).toBe(sb.pteReads);
        expect(validEntries(gen)).toEqual(validEntries(scan));
      } finally {
        await run.close();
      }
    }), { numRuns: 60, seed: 7 });
    sim = outer;
  }, 60_000);

  it("a fill that takes a flushed entry's way counts it removed, before anything settles", () => {
    const smmu = sim.createSmmu({ iotlb: { entries: 4, ways: 4 }, microTlb: 0, walkCache: [0, 0, 0, 0] });
    const [a] = contexts(smmu);
    for (let p = 0; p < 4; p++) apply(smmu, [a!], { k: "access", ctx: 0, page: p });
    smmu.submit({ op: "TLBI_NH_ASID", asid: 5 });
    // Two new fills take two of the four flushed ways: counted now, in the raw counter.
    apply(smmu, [a!], { k: "access", ctx: 0, page: 4 });
    apply(smmu, [a!], { k: "access", ctx: 0, page: 5 });
    const core = coreOf(sim);
    const statsAt = (smmu as unknown as { statsAddress: number }).statsAddress;
    const raw = Number(core.readU64(statsAt + 8 * core.layout.STAT_ENTRIES_INVALIDATED));
    expect(raw).toBe(2);
    // Reading the statistics settles the other two.
    expect(smmu.stats()).toMatchObject({ entriesInvalidated: 4, iotlb: { fills: 6, evictions: 0, invalidated: 4 } });
    expect(validEntries(smmu)).toHaveLength(2);
  });

  it("kill a micro-TLB's entries in place; its full tag filter restarts at the next fill, which a TLBI by address still finds", () => {
    const smmu = sim.createSmmu({ microTlb: 32 });
    const pt = sim.createPageTable(S1);
    const dev = smmu.attachDevice(1, sim.createSmmuDomain(pt, { id: 5 }));
    const PAGES_MANY = 1500; // distinct tags: over a quarter of the filter's 4096 bits set
    for (let done = 0; done < PAGES_MANY;) { // mapPages stops at a leaf table's end, as the kernel's
      const r = pt.mapPages(0x10_0000 + done * 0x1000, 0x8000_0000 + done * 0x1000, 0x1000, PAGES_MANY - done, Prot.READ);
      expect(r.mapped).toBeGreaterThan(0);
      done += r.mapped / 0x1000;
    }
    for (let i = 0; i < PAGES_MANY; i++) expect(pt.iovaToPhys(0x10_0000 + i * 0x1000)).toBe(0x8000_0000 + i * 0x1000);
    const from = (va: number) => { const r = dev.access(va, 4, "read"); return r.ok ? r.segments[0]!.from : `fault ${r.fault.type}`; };
    for (let i = 0; i < PAGES_MANY; i++) from(0x10_0000 + i * 0x1000);
    const last = 0x10_0000 + (PAGES_MANY - 1) * 0x1000;
    expect(from(last)).toBe("micro-tlb");
    const before = smmu.stats().entriesInvalidated;
    smmu.submit({ op: "TLBI_NH_ASID", asid: 5 });
    smmu.submit({ op: "CMD_SYNC" });
    expect(from(last)).toBe("walk"); // dead in the micro-TLB and the main TLB alike
    expect(from(last)).toBe("micro-tlb"); // the fill that restarted the filter kept its own tag
    // Both caches' dead entries counted, as a scan would have (32 micro-TLB ways, the main TLB's).
    expect(smmu.stats().entriesInvalidated - before).toBeGreaterThanOrEqual(32);
    pt.unmapPages(last, 0x1000, 1, { gather: "queued" }); // no TLBI of its own
    expect(from(last)).toBe("micro-tlb"); // still cached: the stale entry a TLBI must remove
    smmu.submit({ op: "TLBI_NH_VA", asid: 5, addr: last, leaf: true });
    smmu.submit({ op: "CMD_SYNC" });
    expect(from(last)).toBe("fault translation");
  });

  it("flush a context that found no slot (more contexts than the table holds) by scanning", () => {
    // One IOTLB for all seventy devices: seventy main TLBs of 2048 entries would not fit the kheap.
    const smmu = sim.createSmmu({ microTlb: 0, iotlb: { scope: "smmu" } });
    const devs: Device[] = [];
    for (let i = 0; i < 70; i++) { // 63 slots: the last seven contexts have none
      const pt = sim.createPageTable(S1);
      pt.mapPages(0x1000 * (1 + i), 0x8000_0000, 0x1000, 1, Prot.READ); // a page each: no two in one IOTLB set
      devs.push(smmu.attachDevice(1 + i, sim.createSmmuDomain(pt, { id: 100 + i })));
    }
    const from = (d: Device, i: number) => { const r = d.access(0x1000 * (1 + i), 4, "read"); return r.ok ? r.segments[0]!.from : "fault"; };
    expect(devs.map(from).every((f) => f === "walk")).toBe(true);
    expect(devs.map(from).every((f) => f === "iotlb")).toBe(true);
    smmu.submit({ op: "TLBI_NH_ASID", asid: 169 }); // the last: no slot
    smmu.submit({ op: "TLBI_NH_ASID", asid: 100 }); // the first: a slot
    expect(devs.map(from)).toEqual(devs.map((_, i) => (i === 0 || i === 69 ? "walk" : "iotlb")));
    expect(smmu.stats().entriesInvalidated).toBeGreaterThanOrEqual(2);
  });
});
