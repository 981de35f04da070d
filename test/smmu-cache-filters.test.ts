// The filters every SMMU cache keeps (cache.ts): the contexts it ever held (CTX_SEEN) and the
// tags it ever held (its tag filter, FILTER_BYTES). A filter may only skip a cache or a set
// that holds nothing a lookup or a TLBI is after; these tests read the caches' contents
// (iotlbSnapshot) and check every lookup and every TLBI against them, in geometries whose
// filters differ: one set, two sets, sets not a power of two, one way per set.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Prot, Simulator, type Device, type Smmu, type SmmuOptions } from "../dist/index.js";
import { LPAE_S1 as S1, LPAE_S2 as S2 } from "./helpers.js";

let sim: Simulator;
beforeEach(async () => { sim = await Simulator.create({ profile: "7.1" }); });
afterEach(async () => { await sim.close(); });

const from = (dev: Device, iova: number) => {
  const r = dev.access(iova, 4, "read");
  if (!r.ok) throw new Error(`fault ${r.fault.type} at ${iova.toString(16)}`);
  return r.segments[0]!.from;
};

/** Valid entries of the main TLB a device translates through, as "ctx:tag". */
function held(smmu: Smmu, sid: number): Set<string> {
  return new Set(smmu.iotlbSnapshot(sid).entries.filter((e) => e.valid).map((e) => `${e.ctx}:${e.tag}`));
}

const BASE = 0x10_0000;
const PAGES = 48;
const pageOf = (i: number) => BASE + i * 0x1000;

describe("cache filters", () => {
  // One set (its filter cleared when emptied), two sets, 87 sets (not a power of two: the
  // walk cache's default L2 geometry), one way per set.
  const geometries = [
    { entries: 4, ways: 4 }, { entries: 8, ways: 4 }, { entries: 348, ways: 4 }, { entries: 64, ways: 1 },
  ];
  for (const g of geometries) {
    for (const policy of ["rr", "lru"] as const) {
      for (const scope of ["device", "smmu"] as const) {
        it(`${g.entries} entries of ${g.ways} ways, ${policy}, scope ${scope}: every entry held hits, and a TLBI leaves only what it does not match`, () => {
          const opts: SmmuOptions = { iotlb: { ...g, policy, scope }, microTlb: 0 };
          const smmu = sim.createSmmu(opts);
          // Two stage-1 domains on the same IOVAs, so both contexts' entries share sets.
          const devs = [5, 6].map((asid, k) => {
            const pt = sim.createPageTable(S1);
            expect(pt.mapPages(BASE, 0x8000_0000 + k * 0x100_0000, 0x1000, PAGES, Prot.READ).mapped).toBe(PAGES * 0x1000);
            return { asid, dev: smmu.attachDevice(k + 1, sim.createSmmuDomain(pt, { id: asid })) };
          });
          for (let lap = 0; lap < 2; lap++) for (const { dev } of devs) for (let i = 0; i < PAGES; i++) from(dev, pageOf(i));

          // Whatever the cache holds is found: a filter that hid an entry would make it walk.
          for (const { asid, dev } of devs) {
            const h = held(smmu, dev.streamId);
            for (let i = 0; i < PAGES; i++) {
              if (h.has(`${asid}:${pageOf(i) / 0x1000}`)) expect(from(dev, pageOf(i)), `asid ${asid} page ${i}`).toBe("iotlb");
            }
          }

          // A range TLBI of ASID 5's pages 8..39 (32 pages), then one by ASID 6 of page 3.
          const before = devs.map(({ dev }) => held(smmu, dev.streamId));
          smmu.submit({ op: "TLBI_NH_VA", asid: 5, addr: pageOf(8), leaf: true, tg: 1, scale: 0, num: 31 });
          smmu.submit({ op: "TLBI_NH_VA", asid: 6, addr: pageOf(3), leaf: true });
          smmu.submit({ op: "CMD_SYNC" });
          const after = devs.map(({ dev }) => held(smmu, dev.streamId));
          devs.forEach(({ asid }, k) => {
            for (let i = 0; i < PAGES; i++) {
              const key = `${asid}:${pageOf(i) / 0x1000}`;
              const gone = asid === 5 ? i >= 8 && i < 40 : i === 3;
              // Removed if matched; kept otherwise (nothing else touched the cache meanwhile).
              expect(after[k]!.has(key), `asid ${asid} page ${i}`).toBe(before[k]!.has(key) && !gone);
            }
          });
          // What is still held hits; then what is not walks (hits first: a walk's fill may evict).
          for (const hits of [true, false]) {
            devs.forEach(({ asid, dev }, k) => {
              for (let i = 0; i < PAGES; i++) {
                if (after[k]!.has(`${asid}:${pageOf(i) / 0x1000}`) !== hits) continue;
                expect(from(dev, pageOf(i)), `asid ${asid} page ${i}`).toBe(hits ? "iotlb" : "walk");
              }
            });
          }

          // By ASID: all of ASID 6's entries go, ASID 5's stay.
          const kept = held(smmu, devs[0]!.dev.streamId);
          smmu.submit({ op: "TLBI_NH_ASID", asid: 6 });
          smmu.submit({ op: "CMD_SYNC" });
          expect([...held(smmu, devs[1]!.dev.streamId)].filter((e) => e.startsWith("6:"))).toEqual([]);
          const now = held(smmu, devs[0]!.dev.streamId);
          expect([...kept].filter((e) => e.startsWith("5:") && !now.has(e))).toEqual([]);
          for (let i = 0; i < PAGES; i++) expect(from(devs[1]!.dev, pageOf(i))).toBe("walk");
        });
      }
    }
  }

  it("an LRU SMMU (no generations: each TLBI by context scans) loses each context's entries to its TLBI, walk caches too", () => {
    // LRU caches keep no generations (context-gen.ts), so a TLBI by ASID or VMID scans the
    // IOTLB and the walk caches, and the context filter decides which it skips. The contexts:
    // ASID 5 and ASID 6 (VMID 0), and VMID 9 (ASID 0), all in the one IOTLB.
    const smmu = sim.createSmmu({ iotlb: { entries: 64, ways: 4, policy: "lru", scope: "smmu" }, microTlb: 0 });
    const xs = [[5, S1], [6, S1], [9, S2]].map(([id, cfg], k) => {
      const pt = sim.createPageTable(cfg as typeof S1);
      expect(pt.mapPages(0x1000, 0x8000_0000, 0x1000, 1, Prot.READ).mapped).toBe(0x1000);
      return smmu.attachDevice(k + 1, sim.createSmmuDomain(pt, { id: id as number }));
    });
    const reads = () => smmu.stats().pteReads;
    // A cold walk of each: every level read (no walk-cache entry of its context yet).
    const cold = xs.map((d) => { const r = reads(); expect(from(d, 0x1000)).toBe("walk"); return reads() - r; });
    const all = () => xs.map((d) => from(d, 0x1000));
    const coldAgain = (k: number) => { const r = reads(); expect(from(xs[k]!, 0x1000)).toBe("walk"); expect(reads() - r).toBe(cold[k]); };
    expect(all()).toEqual(["iotlb", "iotlb", "iotlb"]);

    smmu.submit({ op: "TLBI_NH_ASID", asid: 6 });
    expect([from(xs[0]!, 0x1000), from(xs[2]!, 0x1000)]).toEqual(["iotlb", "iotlb"]);
    coldAgain(1); // its walk-cache entries went with its IOTLB entry

    smmu.submit({ op: "TLBI_S12_VMALL", vmid: 9 });
    expect([from(xs[0]!, 0x1000), from(xs[1]!, 0x1000)]).toEqual(["iotlb", "iotlb"]);
    coldAgain(2);

    smmu.submit({ op: "TLBI_NH_ALL", vmid: 0 }); // every stage-1 context (VMID 0)
    expect(from(xs[2]!, 0x1000)).toBe("iotlb");
    coldAgain(0);
    coldAgain(1);

    smmu.submit({ op: "TLBI_EL2_ASID", asid: 5 });
    expect([from(xs[1]!, 0x1000), from(xs[2]!, 0x1000)]).toEqual(["iotlb", "iotlb"]);
    coldAgain(0);

    // ASIDs 7 and 9 were never held: nothing is removed.
    const n = smmu.stats().entriesInvalidated;
    smmu.submit({ op: "TLBI_NH_ASID", asid: 7 });
    smmu.submit({ op: "TLBI_EL2_ASID", asid: 9 });
    expect(smmu.stats().entriesInvalidated).toBe(n);
    expect(all()).toEqual(["iotlb", "iotlb", "iotlb"]);
  });
});
