// Bug corpus #19 (partly), the rcache "aging" of the array depot: when a CPU's two magazines
// and its bin's 32-slot depot are full, __iova_rcache_insert empties the CPU's loaded magazine
// back into the tree, one range at a time under the tree lock, and carries on with an empty
// one — so the caches stay at their largest and the tree keeps churning (Xiang Chen's fio
// fell from ~1.6M to 330–690K IOPS after 16 h). John Garry's fix as posted (v4 3/3, Dec 2020)
// flushes every CPU's caches instead: KB_IOVA_DEPOT_FULL_FLUSH, which no profile has (5.15.16
// still drains, reference §3.10); the buggy form is 5.15, the fixed form 5.15 with it.
//
// What the model shows is the mechanism, not the throughput cliff (a cost-model question): the
// verdict is the count of whole magazines drained into the tree while the depot was full, and
// the evidence how many IOVAs stay cached with nothing in flight, round after round (creeping
// up without the fix, lower with it) and how many allocations went to the tree (more with the
// fix here: flushing every CPU empties caches that the next round would have used).

import type { BugEntry, BugForm } from "../types.js";
import { Simulator } from "../../simulator.js";

const CPUS = 4;
/** CPUs 0..2 allocate; CPU 3 frees everything, as a flush queue's timer on one CPU does. */
const ALLOCATING = 3;
const PER_CPU = 2000;
const ROUNDS = 40;
/** Mostly single pages (a network stack's), with larger ones among them. */
const SIZES = [1, 1, 1, 1, 1, 1, 2, 4, 8];

/** The sizes allocated, in order: the same for both forms (xorshift32, seeded). */
function* sizes(): Generator<number> {
  let x = 0x9e3779b9 | 0;
  for (;;) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    yield SIZES[(x >>> 8) % SIZES.length]!;
  }
}

async function run(form: BugForm) {
  const sim = await Simulator.create({
    profile: "5.15", ramMiB: 4, kheapMiB: 32, ...(form === "fixed" ? { behaviours: { with: ["IOVA_DEPOT_FULL_FLUSH" as const] } } : {}),
  });
  try {
    const d = sim.createIovaDomain({ granule: 4096, startPfn: 1, cpus: CPUS });
    const next = sizes();
    const evidence: string[] = [];
    let cachedSum = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const held: [number, number][] = [];
      for (let cpu = 0; cpu < ALLOCATING; cpu++) {
        for (let i = 0; i < PER_CPU; i++) {
          const size = next.next().value as number;
          const pfn = d.allocFast(cpu, size, 0xfffff, true);
          if (pfn !== 0) held.push([pfn, size]);
        }
      }
      for (const [pfn, size] of held) d.freeFast(CPUS - 1, pfn, size);
      const s = d.stats();
      const cached = s.treeNodes - 1; // nothing in flight: every range left is a cached IOVA
      cachedSum += cached;
      if (round % 10 === 0) {
        evidence.push(`round ${round}: ${cached} IOVAs cached with none in flight; ${s.depotDrains} magazines drained ` +
          `into the tree so far, ${s.depotFullFlushes} full-depot flushes; ${s.treeAllocs} tree allocations`);
      }
    }
    const s = d.stats();
    const caught = s.depotDrains > 0;
    return {
      caught,
      verdict: caught
        ? `${s.depotDrains} whole magazines drained into the tree while the depot was full`
        : `clean: no magazine drained (${s.depotFullFlushes} full-depot flushes instead)`,
      evidence: [
        `${ALLOCATING} CPUs allocate ${PER_CPU} IOVAs of 1–8 pages each per round, CPU ${CPUS - 1} frees them all; ${ROUNDS} rounds, 5.15 array depot`,
        ...evidence,
      ],
      measures: { depotDrains: s.depotDrains, depotFullFlushes: s.depotFullFlushes, meanCached: Math.round(cachedSum / ROUNDS) },
    };
  } finally {
    await sim.close();
  }
}

export const IOVA_DEPOT_FULL_DRAIN: BugEntry = {
  id: "iova-depot-full-drain",
  corpus: 19,
  fix: "posted (John Garry, v4 3/3, Dec 2020)",
  title: "iommu/iova: Flush CPU rcache for when a depot fills",
  component: "iova.c rcache (__iova_rcache_insert)",
  effect: "a full depot drains whole magazines into the tree and the caches never shrink (long-run throughput cliff)",
  kernels: "every kernel with the 32-slot array depot (to v6.6): the 5.15 profile has it; v6.7's list depot (IOVA_DEPOT_LIST) replaced the array",
  fixChanged: "When a CPU's magazines and the depot are both full, every CPU's cached IOVAs go back to the tree " +
    "and the freed IOVA with them; before, only the CPU's loaded magazine was emptied into the tree and swapped " +
    "for an empty one, which kept the caches at their largest while the tree churned.",
  switch: { kind: "behaviour", name: "IOVA_DEPOT_FULL_FLUSH", buggy: "5.15", fixed: "5.15 with IOVA_DEPOT_FULL_FLUSH" },
  trigger: `API: ${ROUNDS} rounds of ${ALLOCATING}×${PER_CPU} mixed-size allocations on CPUs 0–${ALLOCATING - 1}, all freed on CPU ${CPUS - 1}`,
  async run(form) {
    return { form, ...(await run(form)) };
  },
};
