// Two workers, each running its own simulated CPUs over one IOVA domain in shared memory,
// churn allocFast/freeFast — ranges freed on the other CPU, and handed to the other worker
// to free there — for millions of operations. No range may be live twice and every range
// must be accounted for at the end. The same test on a mutant whose depot lock is removed
// (test-only fault injection) must fail.

import { afterEach, describe, expect, it } from "vitest";
import { PROFILES, Simulator, type IovaDomain, type Profile } from "../dist/index.js";

let sim: Simulator | undefined;
afterEach(async () => { await closeQuietly(); });

/** Close the simulator; a mutant's corrupted domain may refuse its own teardown. */
async function closeQuietly(): Promise<void> {
  const s = sim;
  sim = undefined;
  try {
    await s?.close();
  } catch {
    // The domain was corrupted on purpose; its memory goes with the simulator.
  }
}

const LIMIT = 0xfffff;

async function setup(profile: Profile): Promise<IovaDomain> {
  sim = await Simulator.create({ profile, kheapMiB: 32 });
  return sim.createIovaDomain({ granule: 4096, startPfn: 1, cpus: 4, checkFastFrees: false });
}

/** What must hold once every worker has freed everything it held. Empty list: all good. */
function accountingProblems(d: IovaDomain): string[] {
  const problems: string[] = [];
  let cached: number[];
  let ranges: { lo: number; hi: number }[];
  try {
    const st = d.rcacheState();
    cached = st.bins.flatMap((b) => [...b.cpus.flatMap((c) => [...c.loaded, ...c.prev]), ...b.depot.flat()]);
    ranges = d.ranges();
  } catch (e) {
    return [(e as Error).message]; // a corrupted magazine or a lock left held
  }
  const starts = new Set(ranges.map((r) => r.lo));
  if (new Set(cached).size !== cached.length) problems.push(`${cached.length - new Set(cached).size} PFNs cached twice`);
  const stray = cached.filter((p) => !starts.has(p)).length;
  if (stray) problems.push(`${stray} cached PFNs start no range in the tree`);
  if (ranges.length !== cached.length) problems.push(`${ranges.length} ranges in the tree but ${cached.length} cached PFNs (ranges lost)`);
  const s = d.stats();
  if (s.bugs) problems.push(`${s.bugs} broken magazine invariants`);
  if (problems.length) return problems; // do not walk a broken state any further
  d.flushAll();
  if (d.treeNodes() !== 1) problems.push(`${d.treeNodes() - 1} ranges left in the tree after flushing every cache`);
  if (d.stats().warnings) problems.push(`${d.stats().warnings} WARNs`);
  return problems;
}

interface ChurnResult { ops: number; doubleHandouts: number; lostPages: number; outOfLimit: number; crossCpuFrees: number; sentToPeer: number; freedFromPeer: number; failures: number }

async function churn(d: IovaDomain, ops: number, seed: number): Promise<ChurnResult[]> {
  const slots = 4096;
  const owners = new SharedArrayBuffer(LIMIT + 1);
  const rings = new SharedArrayBuffer(2 * (16 + slots * 16));
  const pool = await sim!.pool({ workers: 2 });
  return pool.run<ChurnResult>("iova.churn", (w: number) => ({
    domain: d.id, cpus: [2 * w, 2 * w + 1], ops, seed, limitPfn: LIMIT, owners, ownerBase: 0,
    maxPages: 40, liveTarget: 3000, rings, ringSlots: slots,
  }), { timeoutMs: 120_000 });
}

async function cross(d: IovaDomain, rounds: number, batch: number, sizes: "one" | "1-8", timeoutMs: number) {
  const pool = await sim!.pool({ workers: 2 });
  return pool.run<{ failures: number; ops: number }>("iova.cross", (w: number) => ({
    domain: d.id, cpus: [2 * w, 2 * w + 1], rounds, batch: batch + 37 * w, sizes,
  }), { timeoutMs });
}

describe("IOVA allocator across workers", () => {
  for (const profile of PROFILES) {
    it(`two workers churn allocFast/freeFast across CPUs and workers: nothing live twice, nothing lost [${profile}]`, async () => {
      const d = await setup(profile);
      const res = await churn(d, 1_000_000, 11);
      for (const r of res) {
        expect(r.ops).toBe(1_000_000);
        expect(r.doubleHandouts).toBe(0);
        expect(r.lostPages).toBe(0);
        expect(r.outOfLimit).toBe(0);
        expect(r.failures).toBe(0);
        expect(r.crossCpuFrees).toBeGreaterThan(100_000);
        expect(r.freedFromPeer).toBeGreaterThan(10_000);
      }
      expect(accountingProblems(d)).toEqual([]);
    });

    it(`two workers push millions of ranges through the depot inside Wasm: all accounted for [${profile}]`, async () => {
      const d = await setup(profile);
      const res = await cross(d, 5000, 300, "1-8", 120_000);
      expect(res.reduce((n, r) => n + r.ops, 0)).toBeGreaterThan(6_000_000);
      expect(res.every((r) => r.failures === 0)).toBe(true);
      expect(accountingProblems(d)).toEqual([]);
    });

    it(`the same traffic without the depot lock (test-only mutant) is caught [${profile}]`, async () => {
      // A race shows up as a lost or doubled magazine (accounting), a broken invariant, or a
      // worker trapping on corrupted state; each attempt is a fresh domain.
      const found: string[] = [];
      for (let attempt = 0; attempt < 15 && found.length === 0; attempt++) {
        await closeQuietly();
        const d = await setup(profile);
        d.setDepotLockDisabledForTesting(true);
        try {
          await cross(d, 10_000, 300, "one", 10_000);
          found.push(...accountingProblems(d));
        } catch (e) {
          found.push(`run failed: ${(e as Error).message.split("\n")[0]}`);
        }
      }
      await closeQuietly();
      expect(found.length, "the mutant must be detected").toBeGreaterThan(0);
    }, 300_000);
  }
});
