// npm run bench: every benchmark under bench/, one after another, in one process, so the
// ratios between figures come from the same run on the same (noisy) machine. Last, the
// two-worker ratios the benchmarks hand back (their run()'s `summary`) in one place: each
// beside what the cache lines two workers move predict at this run's cost of a line move,
// and what the machine gave two threads sharing nothing just before — so that a ratio
// below 2 can be told apart as the kernel's sharing (the prediction), the host's (the
// machine), or the simulator's (neither).
import { readdir } from "node:fs/promises";
import { PROFILES } from "../dist/index.js";

const only = process.argv.slice(2);
const dir = new URL(".", import.meta.url);
const files = (await readdir(dir)).filter((f) => f.endsWith(".mjs") && f !== "run.mjs").sort();
const summary = [];
for (const f of files) {
  const name = f.replace(/\.mjs$/, "");
  if (only.length && !only.includes(name)) continue;
  const mod = await import(new URL(f, dir).href);
  console.log(`\n## ${name}`);
  for (const profile of PROFILES) {
    const out = await mod.run({ print: (l) => console.log(l), profile });
    summary.push(...(out?.summary ?? []));
  }
}
if (summary.length) printSummary(summary);

/** The two-worker ratios, one line per thing measured and profile (see the top of this file). */
function printSummary(rows) {
  const x = (n) => `${n.toFixed(2)}×`;
  console.log("\n## two workers over one, in one place");
  console.log("  2 workers over 1 (beside it: the turns' own median where the ratio is best-of; the ratio the cache lines two " +
    "workers move predict at this run's cost of a line move; what the machine gave two threads sharing nothing; a what-if)");
  // Grouped by what was measured (in the order first met), each group in profile order (a stable sort).
  const order = [...new Set(rows.map((r) => r.what))];
  rows = [...rows].sort((a, b) => order.indexOf(a.what) - order.indexOf(b.what));
  const width = Math.max(...rows.map((r) => r.what.length));
  let last;
  for (const r of rows) {
    const beside = [...(r.turnRatio === undefined ? [] : [`turns' median ${x(r.turnRatio)}`]),
      r.predicted === undefined ? "lines not counted" : `lines ${x(r.predicted)} at ${Math.round(r.handoff)} ns`,
      `machine ${x(r.machine)}`, ...(r.whatIf ? [`${r.whatIf.label}: ${x(r.whatIf.ratio)}`] : []), ...(r.note ? [r.note] : [])];
    console.log(`  ${(r.what === last ? "" : r.what).padEnd(width)}  ${r.profile.padEnd(4)}  ${x(r.ratio)}  (${beside.join("; ")})`);
    last = r.what;
  }
}
