// io-pgtable-arm throughput: strict 4K map+unmap pairs and iova_to_phys walks, inside Wasm
// (batched loops), on one worker and on two at once — beside the native anchors of
// shared/reference/performance.md (the kernel's own code, gcc -O2, same machine kind).

import { DEFAULT_PROFILE, Simulator } from "../dist/index.js";

const SZ_4K = 0x1000;
const SZ_1G = 0x40000000;
const CFG = { format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48, events: 0 };

/** Median of `reps` timed runs of `fn` (which returns ms), after one warm-up. */
async function median(reps, fn) {
  await fn();
  const t = [];
  for (let i = 0; i < reps; i++) t.push(await fn());
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

/** Native anchors of iova_to_phys (shared/reference/performance.md; measured for 5.15 and 7.1 only). */
const WALK_ANCHOR = { "5.15": "37–52 ns", "7.1": "51–102 ns" };

export async function run({ print, profile = DEFAULT_PROFILE, reps = 5 }) {
  const sim = await Simulator.create({ profile, ramMiB: 256 });
  try {
    // One table per worker region: GiB w of the IOVA space, its tables populated by a
    // first pass so the loop measures map/unmap of leaves, not table allocation.
    const pt = sim.createPageTable(CFG);
    for (let w = 0; w < 2; w++) {
      const base = (w + 1) * SZ_1G;
      for (let off = 0; off < SZ_1G; off += 512 * SZ_4K) pt.mapPages(base + off, base + off, SZ_4K, 512, 3);
    }
    const rows = [];
    for (const workers of [1, 2]) {
      const pool = await sim.pool({ workers });
      // map+unmap pairs: a 1 GiB span whose pages are mapped already would fail; use the
      // GiB above each worker's mapped one (tables built on the warm-up run).
      const count = 1_000_000;
      const pairMs = await median(reps, async () => {
        const r = await pool.run("pgtable.loop", (w) => ({ table: pt.id, base: (w + 3) * SZ_1G, span: SZ_1G, pgsize: SZ_4K, count, seed: 11 + w }));
        if (r.some((x) => x.failures)) throw new Error("map/unmap loop failed");
        return Math.max(...r.map((x) => x.ms));
      });
      const walkMs = await median(reps, async () => {
        const r = await pool.run("pgtable.walk", (w) => ({ table: pt.id, base: (w + 1) * SZ_1G, span: SZ_1G, count, seed: 5 + w }));
        return Math.max(...r.map((x) => x.ms));
      });
      rows.push({ workers, pairNs: pairMs * 1e6 / count, walkNs: walkMs * 1e6 / count, count });
    }
    print(`io-pgtable-arm (profile ${profile}), inside Wasm, median of ${reps}:`);
    print(`  ${"".padEnd(44)}${"1 worker".padStart(16)}${"2 workers (each)".padStart(20)}${"native anchor".padStart(16)}`);
    const line = (label, key, anchor) => {
      const [a, b] = rows;
      print(`  ${label.padEnd(44)}${fmt(a[key]).padStart(16)}${fmt(b[key]).padStart(20)}${anchor.padStart(16)}`);
    };
    line("4K map+unmap pair, strict, tables populated", "pairNs", "72–129 ns");
    line("iova_to_phys, random 4K page in 1 GiB", "walkNs", WALK_ANCHOR[profile] ?? "—");
    const [a, b] = rows;
    print(`  throughput: ${mops(a.pairNs)} M pairs/s and ${mops(a.walkNs)} M walks/s on one worker; ` +
      `${mops(b.pairNs / 2)} M pairs/s and ${mops(b.walkNs / 2)} M walks/s with two`);
    return rows;
  } finally {
    await sim.close();
  }
}

function fmt(ns) {
  return `${ns.toFixed(1)} ns`;
}

function mops(ns) {
  return (1e3 / ns).toFixed(2);
}
