// IOVA allocator benchmarks (issue 3): the fast path (alloc_iova_fast + free_iova_fast pairs,
// one worker and two), the tree path (alloc_iova + free_iova with 10k and 100k live ranges),
// and the kernel's linear-search pathology ("free a random range + allocate again") with the
// kernel's walk vs the simulator's O(log n) search. Native anchors: shared/reference/performance.md.
//
// Every timed loop runs inside Wasm (one call per batch); figures are medians of several
// repetitions after a warm-up. Run alone: `node bench/iova.mjs`.

import { PROFILES, Simulator } from "../dist/index.js";

const LIMIT32 = 0xfffff; // 4K granule: the 32-bit boundary

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, d = 1) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

/** alloc_iova_fast + free_iova_fast pairs in `workers` workers, one simulated CPU each. */
async function fastPairs(profile, workers, sizes, count, reps) {
  const sim = await Simulator.create({ profile, kheapMiB: 16 });
  try {
    const dom = sim.createIovaDomain({ granule: 4096, startPfn: 1, cpus: workers, checkFastFrees: false });
    const pool = await sim.pool({ workers });
    const cpus = Array.from({ length: workers }, (_, i) => i);
    await pool.run("iova.fastPairs", { domain: dom.id, cpus, count: count / 4, sizes, limitPfn: LIMIT32 });
    const rates = [];
    const nsPerPair = [];
    for (let r = 0; r < reps; r++) {
      const res = await pool.run("iova.fastPairs", { domain: dom.id, cpus, count, sizes, limitPfn: LIMIT32 });
      if (res.some((x) => x.failures)) throw new Error("allocation failures in the fast-path benchmark");
      const ms = Math.max(...res.map((x) => x.ms));
      rates.push((count * workers) / (ms / 1000));
      nsPerPair.push(median(res.map((x) => (x.ms * 1e6) / count)));
    }
    return { pairsPerSec: median(rates), nsPerPair: median(nsPerPair) };
  } finally {
    await sim.close();
  }
}

/** Tree path with `live` single-page ranges: 'pairs' or 'refill', in search mode `search`. */
async function treeLoop(profile, live, mode, search, ops, reps) {
  const sim = await Simulator.create({ profile, kheapMiB: 32 });
  try {
    const dom = sim.createIovaDomain({ granule: 4096, startPfn: 1, cpus: 1, search });
    if (dom.loopTree("populate", live, { limitPfn: LIMIT32 }) !== 0) throw new Error("populate failed");
    const spanLo = LIMIT32 - live + 1;
    const opts = { limitPfn: LIMIT32, spanLo, spanN: live, seed: 12345 };
    dom.loopTree(mode, Math.max(1, ops / 10), opts); // warm-up
    const ns = [];
    const steps0 = dom.stats().kernelWalkSteps;
    let total = 0;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      const failures = dom.loopTree(mode, ops, { ...opts, seed: 777 + r });
      const ms = performance.now() - t0;
      if (failures) throw new Error(`${failures} failures in tree loop ${mode}`);
      ns.push((ms * 1e6) / ops);
      total += ops;
    }
    const walk = (dom.stats().kernelWalkSteps - steps0) / (total * (mode === "pairs" ? 1 : 1));
    return { ns: median(ns), walk };
  } finally {
    await sim.close();
  }
}

/** One profile when `profile` is given (bench/run.mjs calls once per profile), else every profile. */
export async function run({ print = console.log, profile: only } = {}) {
  const profiles = only ? [only] : PROFILES;
  print("IOVA allocator (issue 3) — simulator wall-clock throughput; anchors: native kernel code, reference/performance.md");
  print("");
  print("alloc_iova_fast + free_iova_fast pairs (rcache warm), inside Wasm, one simulated CPU per worker");
  print("  anchor (native, one thread): 1 page 9.5–16.6 ns/pair; sizes cycling 1,2,4,8: 12.4–19.4 ns/pair");
  for (const profile of profiles) {
    for (const sizes of ["one", "pow2", "1-8"]) {
      for (const workers of [1, 2]) {
        const r = await fastPairs(profile, workers, sizes, 2_000_000, 5);
        const label = sizes === "one" ? "1 page" : sizes === "pow2" ? "sizes 1,2,4,8" : "sizes 1..8";
        print(`  ${profile}  ${label.padEnd(13)} ${workers} worker${workers > 1 ? "s" : " "}: ` +
          `${fmt(r.pairsPerSec / 1e6, 2)} M pairs/s  (${fmt(r.nsPerPair)} ns/pair per worker)`);
      }
    }
  }
  print("");
  print("alloc_iova + free_iova of one page (tree path), N live ranges, one thread");
  print("  anchor (native): 10k live 90–113 ns/op; 100k live 147–171 ns/op");
  for (const profile of profiles) {
    for (const live of [10_000, 100_000]) {
      const r = await treeLoop(profile, live, "pairs", "fast", 200_000, 5);
      print(`  ${profile}  ${String(live).padStart(6)} live: ${fmt(r.ns)} ns/op  (kernel walk ${fmt(r.walk, 2)} nodes/alloc)`);
    }
  }
  print("");
  print("free a random live range + allocate again (the kernel's linear gap search), one thread");
  print("  anchor (native): 10k live 9,600–13,000 ns/op; 100k live 124,000–164,000 ns/op");
  for (const profile of profiles) {
    for (const live of [10_000, 100_000]) {
      const lin = await treeLoop(profile, live, "refill", "linear", live === 10_000 ? 20_000 : 2_000, 3);
      const fast = await treeLoop(profile, live, "refill", "fast", 200_000, 5);
      print(`  ${profile}  ${String(live).padStart(6)} live: kernel's walk ${fmt(lin.ns, 0)} ns/op, ` +
        `O(log n) search ${fmt(fast.ns, 0)} ns/op — ${fmt(lin.ns / fast.ns, 0)}× (walk ${fmt(fast.walk, 0)} nodes/alloc)`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
