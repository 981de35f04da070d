// Where two workers spend the time one worker does not: the DMA-pair benchmark's work
// (bench/dma.mjs) timed per core function by V8's sampling profiler, run on two workers
// whose CPUs map in one domain and on two whose CPUs each map in a domain on an SMMU of
// their own (the same core, memory, pool and loop, none of the kernel's state shared). The
// difference, per pair and per function, is what the kernel's sharing costs the simulator
// on this machine: where the line counter (line-sharing.mjs) says which lines move, this
// says what they cost and in which function the worker waits for them.
//
// How: each configuration runs in a child Node started with --cpu-prof, which profiles the
// worker threads too (a profile per thread; the ones with Wasm frames are the workers). Wasm
// frames are named by function index, imports first; the release core's text
// (build/core.wat, `npm run build`) gives the names. A sample's time is the function's
// own (self) time.
// A developer's tool, not part of `npm run bench`: `node bench/lib/worker-profile.mjs
// [profile] [DMA|DMA-FQ] [pairs per worker]` (defaults 7.1, DMA-FQ, 3,000,000).

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PROFILES } from "../../dist/index.js";
import { pairsRig, warmupPairs } from "../dma.mjs";
import { functionNames } from "./line-sharing.mjs";

const ROOT = new URL("../../", import.meta.url);
/** The profiler's sampling interval, µs: coarse enough that its own thread costs the workers little. */
const INTERVAL_US = 1000;

/** In the child: `pairs` pairs on each of two workers after bench/dma.mjs's warm-up; `own` gives each CPU its domain and SMMU. */
async function child(profile, type, pairs, own) {
  const rig = await pairsRig(profile, type, 2, pairs, { own });
  const res = await rig.go(pairs, 7);
  await rig.sim.close();
  process.stdout.write(JSON.stringify(res.map((r) => (r.ms * 1e6) / pairs)));
}

/** Names of the core's functions by Wasm function index (imports first), from its text form. */
function wasmNames() {
  return functionNames(readFileSync(new URL("build/core.wat", ROOT), "utf8"), { imports: true });
}

/** Self time per function, ns per pair, over the worker threads' profiles in `dir`. */
function selfTimes(dir, pairs, names) {
  const out = new Map();
  for (const f of readdirSync(dir)) {
    const p = JSON.parse(readFileSync(join(dir, f), "utf8"));
    if (!p.nodes.some((n) => n.callFrame.url.startsWith("wasm"))) continue; // the main thread
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    p.samples.forEach((id, i) => {
      const frame = byId.get(id).callFrame;
      const index = /wasm-function\[(\d+)\]/.exec(frame.functionName)?.[1];
      const name = index !== undefined ? names[Number(index)] ?? frame.functionName : frame.functionName || "(JS)";
      if (name === "(idle)") return;
      out.set(name, (out.get(name) ?? 0) + ((p.timeDeltas[i + 1] ?? 0) * 1000) / pairs);
    });
  }
  return out;
}

/** One configuration in a profiled child: its workers' ns per pair and the self times. */
function profiled(profile, type, pairs, own, names) {
  const dir = mkdtempSync(join(tmpdir(), "iommu-sim-prof-"));
  try {
    const out = execFileSync(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${INTERVAL_US}`,
      fileURLToPath(import.meta.url), "--child", profile, type, String(pairs), own ? "own" : "one"], { encoding: "utf8" });
    // Both workers' pairs, warm-up included: the profiles cover the whole run.
    return { nsPerPair: JSON.parse(out), self: selfTimes(dir, 2 * (pairs + warmupPairs(pairs)), names) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main([profile = "7.1", type = "DMA-FQ", pairsArg = "3000000"]) {
  const pairs = Number(pairsArg);
  if (!PROFILES.includes(profile) || !["DMA", "DMA-FQ"].includes(type) || !(pairs >= 1000)) {
    throw new Error(`usage: node bench/lib/worker-profile.mjs [profile: ${PROFILES.join(", ")}] [DMA|DMA-FQ] ` +
      "[pairs per worker, ≥ 1000]");
  }
  const names = wasmNames();
  const own = profiled(profile, type, pairs, true, names);
  const one = profiled(profile, type, pairs, false, names);
  const ns = (xs) => xs.map((x) => x.toFixed(0)).join(" / ");
  console.log(`${profile} ${type}, ${pairs.toLocaleString("en-US")} pairs a worker: ns per pair (each worker) — ` +
    `CPUs in domains of their own ${ns(own.nsPerPair)}, in one domain ${ns(one.nsPerPair)}`);
  console.log("self time per pair, ns (profiled), core functions: own domains, one domain, the difference — by the difference");
  const core = new Set(names);
  const keys = [...new Set([...own.self.keys(), ...one.self.keys()])];
  const row = (k) => [k, own.self.get(k) ?? 0, one.self.get(k) ?? 0];
  const sum = (list, name) => [name, list.reduce((n, r) => n + r[1], 0), list.reduce((n, r) => n + r[2], 0)];
  const rows = keys.filter((k) => core.has(k)).map(row).sort((a, b) => (b[2] - b[1]) - (a[2] - a[1]));
  const rest = sum(keys.filter((k) => !core.has(k)).map(row), "the rest: JavaScript, compiling, GC (start-up mostly)");
  const f = (x) => x.toFixed(1).padStart(8);
  const print = ([k, a, b]) => console.log(`${f(a)}${f(b)}${f(b - a)}  ${k}`);
  rows.slice(0, 12).forEach(print);
  print(sum(rows, "all core functions"));
  print(rest);
}

const args = process.argv.slice(2);
if (args[0] === "--child") {
  await child(args[1], args[2], Number(args[3]), args[4] === "own");
} else {
  try {
    await main(args);
  } catch (e) {
    console.error(e.message);
    process.exitCode = 2;
  }
}
