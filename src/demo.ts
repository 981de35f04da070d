// `iommu-sim churn` (called `demo` in 0.1): build a stage-1 table, let two workers map and
// unmap in it at once (sharing its tables, never each other's pages), check the result
// against the same operations done one after another, and say what happened and how fast
// in wall-clock time (this shows the core's speed, so nothing here is modelled time).

import { Simulator } from "./simulator.js";
import { applyChurn, churnOps, CHURN_MAX_WORKERS, type ChurnArgs } from "./tasks/pgtable.js";
import { checkInt } from "./validate.js";
import { sizeName, type DumpEntry } from "./pgtable.js";
import { type Profile } from "./profile.js";

export interface DemoOptions {
  profile: Profile;
  workers: number;
  ops: number;
  print: (line: string) => void;
}

/**
 * Simulated RAM for the demo's tables: the Simulator's default 64 MiB, and 4 MiB more per
 * worker, because the in-Wasm loop gives each worker a 1 GiB span of its own to fill with
 * tables (up to 513 of them, 2 MiB): at 30 workers 64 MiB ran out, and the demo failed.
 */
function ramFor(workers: number): number {
  return 64 + 4 * workers;
}

export async function runDemo(opts: DemoOptions): Promise<boolean> {
  const { print } = opts;
  checkInt("workers", opts.workers, 1, CHURN_MAX_WORKERS, "demo");
  checkInt("ops", opts.ops, 1, 1e8, "demo");
  const ramMiB = ramFor(opts.workers);
  const sim = await Simulator.create({ profile: opts.profile, ramMiB });
  try {
    const cfg = { format: "arm-lpae-s1" as const, pgsizeBitmap: 0x40201000, ias: 48, oas: 48, events: 0 };
    const pt = sim.createPageTable(cfg);
    const g = pt.geometry;
    print(`iommu-sim churn — kernel profile ${opts.profile}`);
    print(`  stage-1 LPAE table: granule ${sizeName(g.granule)}, ${g.levels} levels from L${g.startLevel}, ` +
      `IAS ${g.ias} / OAS ${g.oas}, TTBR 0x${g.ttbr.toString(16)}`);

    const args: ChurnArgs = { table: pt.id, seed: 2021, ops: opts.ops, base: 0x8000_0000, regions: 256, paOffset: 0x1_0000_0000 };
    const pool = await sim.pool({ workers: opts.workers });
    print(`  ${opts.workers} workers map/unmap 1–16 pages at a time in chunks they own, sweeping ${args.regions} × 2 MiB together`);
    const t0 = performance.now();
    const results = await pool.run<{ ops: number; ms: number }>("pgtable.churn", args, { timeoutMs: 120_000 });
    const wall = performance.now() - t0;
    const total = results.reduce((s, r) => s + r.ops, 0);
    for (const [i, r] of results.entries()) {
      print(`    worker ${i}: ${r.ops} operations in ${r.ms.toFixed(1)} ms wall (${fmtRate(r.ops / r.ms * 1000)} wall ops/s)`);
    }
    print(`    together: ${total} operations in ${wall.toFixed(1)} ms wall (${fmtRate(total / wall * 1000)} wall ops/s)`);

    // The same operations, one worker after the other, on a second table.
    const seq = sim.createPageTable(cfg);
    for (let w = 0; w < opts.workers; w++) applyChurn(seq, churnOps(args, w, opts.workers), args.paOffset!);
    const same = sameLeaves(pt.dump(), seq.dump());
    const leaves = pt.dump().filter((e) => e.kind !== "table").reduce((s, e) => s + e.count, 0);
    print(`  result: ${leaves} pages mapped; tables ${same ? "EQUAL to" : "DIFFERENT from"} the sequential run`);

    seq.release();
    pt.free();
    const stats = sim.memoryStats();
    print(`  after free: ${stats.tablePages} table pages live (peak ${stats.peakTablePages}), ${stats.badFrees} bad frees`);

    // Raw speed of the core: strict 4K map+unmap pairs inside Wasm, every worker at once.
    const bench = sim.createPageTable(cfg);
    bench.mapPages(0x4000_0000, 0x4000_0000, 0x1000, 1, 3);
    bench.unmapPages(0x4000_0000, 0x1000, 1);
    const loop = await pool.run<{ failures: number; ms: number }>("pgtable.loop",
      (w: number) => ({ table: bench.id, base: 0x4000_0000 + w * 0x4000_0000, span: 0x4000_0000, pgsize: 0x1000, count: 200_000, seed: 7 + w }));
    for (const [i, r] of loop.entries()) {
      print(`  worker ${i}: ${fmtRate(200_000 / r.ms * 1000)} strict 4K map+unmap pairs per wall second inside Wasm`);
    }
    bench.release();
    // A failed check says which it was: a bare exit code 1 tells the user nothing.
    const failures = loop.reduce((s, r) => s + r.failures, 0);
    const why = [
      ...(same ? [] : ["the concurrent table differs from the sequential one"]),
      ...(stats.tablePages === 0 ? [] : [`${stats.tablePages} table pages were still live after free`]),
      ...(stats.badFrees === 0 ? [] : [`${stats.badFrees} bad frees`]),
      ...(failures === 0 ? [] : [`${failures} of ${opts.workers * 200_000} map+unmap pairs in Wasm failed ` +
        `(${sim.memoryStats().allocFailures} table allocations failed: simulated RAM is ${ramMiB} MiB)`]),
    ];
    if (why.length) print(`  FAILED: ${why.join("; ")}`);
    return why.length === 0;
  } finally {
    await sim.close();
  }
}

/** Same leaves at the same places (table descriptors differ by address; they are skipped). */
function sameLeaves(a: DumpEntry[], b: DumpEntry[]): boolean {
  const key = (e: DumpEntry) => `${e.level}:${e.va}:${e.count}:${e.pa}:${e.attrs}`;
  const la = a.filter((e) => e.kind !== "table").map(key);
  const lb = b.filter((e) => e.kind !== "table").map(key);
  return la.length === lb.length && la.every((k, i) => k === lb[i]);
}

function fmtRate(r: number): string {
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)} M`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)} k`;
  return r.toFixed(0);
}
