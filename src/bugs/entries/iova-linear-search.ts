// Bug corpus #12, the soft lockups in alloc_iova's linear walk (Rik van Riel, "iova augmented
// rbtree O(log n) alloc_iova", May–Jun 2026, not merged): the kernel finds a gap by stepping
// from the cached node to the previous range, one range at a time, under iova_rbtree_lock.
// The model has the kernel's walk (search 'linear') and an O(log n) search over gap-annotated
// nodes that stops at the same node (search 'fast'; 'verify' runs both and compares), the
// shape of the proposed fix. Not a kernel behaviour — no kernel has the fix — so the switch
// is the IOVA domain's `search` option. The verdict is a step count: the most nodes one
// search touched, against an O(log n) bound, on the same churn with the same answers.

import { Simulator } from "../../simulator.js";
import type { BugEntry, BugForm } from "../types.js";

/** Live ranges: performance.md's "100k live" row, where the native walk took 124–164 µs per free+realloc. */
const LIVE = 100_000;
/** Random free + realloc pairs after populating (deterministic: a fixed seed). */
const ROUNDS = 200;
const SEED = 7;
/** The bound a logarithmic search stays under: 8 node visits per level of a balanced tree of LIVE ranges. */
const BOUND = 8 * Math.ceil(Math.log2(LIVE + 1));
/**
 * The soft-lockup detector's threshold: twice watchdog_thresh, whose default is 10 s
 * (Documentation/admin-guide/kernel-parameters.txt, "watchdog_thresh=").
 */
const SOFT_LOCKUP_S = 20;
/** Native ns per free+realloc at 100k live ranges, the middle of performance.md's 124–164 µs. */
const NATIVE_REFILL_NS = 144_000;

async function run(form: BugForm): Promise<{ caught: boolean; verdict: string; evidence: string[]; measures: Record<string, number> }> {
  const search = form === "buggy" ? "linear" : "verify";
  const sim = await Simulator.create({ profile: "7.1", ramMiB: 4, kheapMiB: 16 });
  try {
    const d = sim.createIovaDomain({ granule: 4096, startPfn: 1, search });
    const populateFailures = d.loopTree("populate", LIVE);
    const before = d.stats();
    const misses = d.loopTree("refill", ROUNDS, { seed: SEED, spanLo: d.dma32BitPfn - LIVE, spanN: LIVE });
    const s = d.stats();
    const walk = s.kernelWalkSteps - before.kernelWalkSteps;
    const visits = s.searchVisits - before.searchVisits;
    const meanWalk = walk / ROUNDS;
    // Calibrated on the anchor: the native kernel code's free+realloc at 100k live is this same walk.
    const nsPerNode = NATIVE_REFILL_NS / meanWalk;
    const holdMaxUs = (s.searchVisitsMax * nsPerNode) / 1000;
    const cpusToLockup = Math.ceil((SOFT_LOCKUP_S * 1e9) / (s.searchVisitsMax * nsPerNode));
    const wrong = populateFailures + misses + s.searchMismatches;
    const caught = s.searchVisitsMax > BOUND;
    const evidence = [
      `search '${search}': ${LIVE} single-page ranges, then ${ROUNDS} random free + realloc (seed ${SEED})`,
      `the kernel's walk: ${walk} nodes in all, ${Math.round(meanWalk)} per allocation, ${s.kernelWalkMax} at most`,
      `the search that ran: ${visits} nodes in all, ${s.searchVisitsMax} at most (O(log n) bound ${BOUND})`,
      `answers: ${misses} reallocations missed the hole just freed, ${s.searchMismatches} disagreements with the kernel's walk`,
      `modelled lock hold of the longest search: ${holdMaxUs.toFixed(1)} µs at ${nsPerNode.toFixed(1)} ns per node ` +
        `(performance.md's native 124–164 µs per free+realloc at 100k live, over this walk's mean)`,
      `the ${SOFT_LOCKUP_S} s soft-lockup threshold (2 × watchdog_thresh) takes ${cpusToLockup} such searches queued on iova_rbtree_lock`,
    ];
    const verdict = wrong > 0 ? `wrong answers (${wrong})`
      : caught ? `${s.searchVisitsMax} nodes in one search, over the O(log n) bound ${BOUND}`
      : `clean: at most ${s.searchVisitsMax} nodes per search (bound ${BOUND}), the kernel's answers`;
    return {
      caught: caught || wrong > 0,
      verdict,
      evidence,
      measures: { kernelWalkMax: s.kernelWalkMax, searchVisitsMax: s.searchVisitsMax, searchVisits: visits, bound: BOUND, wrong },
    };
  } finally {
    await sim.close();
  }
}

export const IOVA_LINEAR_SEARCH: BugEntry = {
  id: "iova-linear-search",
  corpus: 12,
  fix: "proposal (Rik van Riel, May 2026; not merged)",
  title: "iova augmented rbtree / maple tree O(log n) alloc_iova",
  component: "iova.c (__alloc_and_insert_iova_range)",
  effect: "soft lockups from the linear gap search on a fragmented tree",
  kernels: "every kernel with the top-down rbtree walk, all three profiles included; the fix is a proposal (not merged)",
  fixChanged: "The proposal keeps each node's largest free gap below it in the tree (an augmented rbtree, " +
    "later a maple tree), so alloc_iova jumps to the first gap that fits in O(log n) steps instead of " +
    "visiting every range on the way; the answers stay the kernel's.",
  switch: { kind: "option", name: "search", buggy: "linear (the kernel's walk)", fixed: "fast (the O(log n) search, checked against the walk)" },
  trigger: `API: ${LIVE} single-page ranges below 4 GiB (loopTree populate), then ${ROUNDS} random free + realloc (loopTree refill)`,
  async run(form) {
    return { form, ...(await run(form)) };
  },
};
