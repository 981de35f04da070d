// Whether two workers can run the DMA path side by side, counted rather than timed: the
// cache lines two simulated CPUs would take from each other per DMA pair
// (bench/lib/line-sharing.mjs: every access of an instrumented core, a two-core coherence
// model). A line a worker takes from the other costs it 70–320 ns on the 2-core VMs this
// project is measured on, beside ~500 ns for a whole lazy pair, so these counts decide the
// 2-worker speed-up that `npm run bench -- dma` reports. Pinned here: a flush of everything
// no longer visits the IOTLB (a context's generation moves), neighbouring sets no longer
// share a lock line, and no SMMU-wide epoch is written by every TLBI and read by every
// translation — each of which cost about one line per pair.

import { beforeAll, describe, expect, it } from "vitest";
import { Simulator } from "../dist/index.js";
// @ts-expect-error: a JavaScript helper of the benchmarks, without types
import { dmaPairsSharing, tracedCore } from "../bench/lib/line-sharing.mjs";

interface Sharing { total: number; functions: { name: string; perOp: number }[]; lines: number }
const of = (r: Sharing, name: string) => r.functions.find((f) => f.name === name)?.perOp ?? 0;

let traced: unknown;
beforeAll(async () => { traced = await tracedCore(); }, 60_000);

describe("line transfers between two workers per DMA pair", () => {
  it("lazy on 5.15: almost none — the flush queue's flush-all does not visit the IOTLB's lines", async () => {
    const r: Sharing = await dmaPairsSharing(Simulator, traced, { profile: "5.15", type: "DMA-FQ" });
    expect(r.total).toBeLessThan(0.3);
    // The IOTLB scan of every flush used to read every set the other CPU had filled.
    expect(of(r, "smmu/cache/invalidateSet")).toBeLessThan(0.1);
  }, 60_000);

  it("lazy on 7.1: only what its IOVAs moving between CPUs costs (magazines of 127 through the depot)", async () => {
    const r: Sharing = await dmaPairsSharing(Simulator, traced, { profile: "7.1", type: "DMA-FQ" });
    expect(r.total).toBeLessThan(2.2);
    expect(of(r, "smmu/cache/invalidateSet")).toBeLessThan(0.1);
    expect(of(r, "iova/rcache/rcacheGet")).toBeGreaterThan(0); // the depot hands a CPU the other's magazines
  }, 60_000);

  it("strict: only the page-table line both CPUs' buffers share, as in the kernel", async () => {
    const r: Sharing = await dmaPairsSharing(Simulator, traced, { profile: "7.1", type: "DMA" });
    // No SMMU-wide word that every TLBI writes and every translation reads: each cache set
    // is locked by its fill until the descriptor is read again (assembly/smmu/cache.ts).
    expect(r.functions.map((f) => f.name).sort()).toEqual(["pgtable/lpae/mapAt", "pgtable/lpae/writeLeaves"]);
    expect(r.lines).toBe(1);
  }, 60_000);
});
