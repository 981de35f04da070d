// Which cache lines the simulator's workers would hand back and forth between their cores,
// and which functions of the core touch them — the thing that decides whether two workers
// run a workload twice as fast as one, measured without timing anything.
//
// How: the release core (build/core.wasm, names from build/core.wat) is instrumented with
// binaryen (AssemblyScript's own dependency): every load and store, and every atomic
// read-modify-write and compare-and-swap (which binaryen's instrument-memory pass leaves
// out, so they are wrapped here), first calls a hook with its address. Two simulated CPUs
// then take turns, one operation each, on this one thread, and a two-core coherence model
// (a line is held modified by one core, or shared by several) counts a transfer whenever a
// core reads a line the other holds modified, or writes a line the other holds at all. The
// count per operation, times what a line move costs on a machine (bench/lib/control.mjs
// lineHandoffNs), is the time two workers lose to each other.
//
// What it does not see: memory.copy/fill (none on the hot paths), and which lines are the
// simulator's own per-thread state — the thread slots and counter caches, shared here only
// because both CPUs run on one thread, are left out. A batched loop publishes its cached
// statistics when it returns, once per call here but once per batch of thousands in a real
// run, so the driver loop's own accesses are left out too (`ignoreFunctions`): neither
// counted nor followed, as if the lines they write stayed where they were.
// A developer's tool (bench/lines.mjs, test/line-sharing.test.ts), not part of the package.

import binaryen from "binaryen";
import { readFile } from "node:fs/promises";
import { ORACLE_MAX_PAGES, parseRunScenario } from "../../dist/index.js";
import { inTurns, WARMUP_BURST } from "./warm-up.mjs";

const HOOK_BASE = 1_000_000; // ids of the wrapped atomics (instrument-memory numbers from 1)

/**
 * Function names of the release core in index order, from its text form: its own functions,
 * or with `imports`, the imported ones first, as the Wasm function index space (and V8's
 * `wasm-function[N]` frames) counts them.
 */
export function functionNames(wat, { imports = false } = {}) {
  const func = imports ? /^ \((?:import "[^"]*" "[^"]*" \()?func (\$\S+)/ : /^ \(func (\$\S+)/;
  const names = [];
  for (const line of wat.split("\n")) {
    const m = func.exec(line);
    if (m) names.push(m[1].replace("$assembly/", ""));
  }
  return names;
}

/** The first child expression of an s-expression opened at text[from] (its end index). */
function childEnd(text, from) {
  let depth = 0;
  for (let k = from; k < text.length; k++) {
    if (text[k] === "(") depth++;
    else if (text[k] === ")" && --depth === 0) return k + 1;
  }
  throw new Error("line-sharing: unbalanced core text");
}

/**
 * The release core instrumented: `bytes` to give Simulator.create as `core`, and
 * `functionOf(id)`, the core function an access hook's id belongs to.
 */
export function tracedCore(root = new URL("../../", import.meta.url)) {
  // Instrumenting takes seconds; the benchmarks ask once per profile, for the same build.
  const key = String(root);
  if (!instrumented.has(key)) instrumented.set(key, instrument(root));
  return instrumented.get(key);
}

/** The instrumented cores made so far (promises), by root. */
const instrumented = new Map();

async function instrument(root) {
  const [wasm, wat] = await Promise.all([readFile(new URL("build/core.wasm", root)), readFile(new URL("build/core.wat", root), "utf8")]);
  const names = functionNames(wat);
  const mod = binaryen.readBinary(wasm);
  mod.setFeatures(binaryen.Features.All);
  mod.runPasses(["instrument-memory"]);
  const text = mod.emitText();
  mod.dispose();
  const hook = (name) => new RegExp(`\\(import "env" "${name}" \\(func (\\$\\S+)`).exec(text)[1];
  const [loadPtr, storePtr] = [hook("load_ptr"), hook("store_ptr")];
  const owner = new Map();
  const parts = text.split(/\n \(func /);
  let out = parts[0];
  let next = HOOK_BASE;
  const rmw = /\((?:i32|i64)\.atomic\.rmw\S*|\(memory\.atomic\.(?:notify|wait32|wait64)/g;
  const ids = new RegExp(`\\(call \\${loadPtr}\\s+\\(i32\\.const (\\d+)\\)|\\(call \\${storePtr}\\s+\\(i32\\.const (\\d+)\\)`, "g");
  for (let i = 1; i < parts.length; i++) {
    const body = parts[i];
    const fn = names[i - 1] ?? `function ${i - 1}`;
    let res = "";
    let pos = 0;
    rmw.lastIndex = 0;
    for (let m; (m = rmw.exec(body));) {
      const open = body.indexOf("(", m.index + m[0].length);
      const end = childEnd(body, open);
      const offset = /offset=(\d+)/.exec(body.slice(m.index, open))?.[1] ?? "0";
      owner.set(next, fn);
      res += `${body.slice(pos, open)}(call ${storePtr} (i32.const ${next++}) (i32.const 8) (i32.const ${offset}) ${body.slice(open, end)})`;
      pos = end;
      rmw.lastIndex = end;
    }
    res += body.slice(pos);
    for (let x; (x = ids.exec(res));) owner.set(Number(x[1] ?? x[2]), fn);
    out += `\n (func ${res}`;
  }
  const traced = binaryen.parseText(out);
  traced.setFeatures(binaryen.Features.All);
  if (!traced.validate()) throw new Error("line-sharing: the instrumented core does not validate");
  const bytes = traced.emitBinary();
  traced.dispose();
  return { bytes, functionOf: (id) => owner.get(id) ?? `access ${id}` };
}

/** Two cores' caches, line by line: who holds each line modified, who holds a copy. */
export class CoherenceModel {
  constructor({ functionOf, ignoreFunctions = [] }) {
    this.functionOf = functionOf;
    this.ignoredIds = new Set(); // filled lazily: ids whose function is ignored
    this.checkedIds = new Set();
    this.ignore = new Set(ignoreFunctions);
    this.owner = null; // sized by attach(): accesses before it (the core's start) are not followed
    this.cpu = 0;
    this.counting = false;
    this.ops = 0;
    this.byFunction = new Map();
    this.byLine = new Map();
  }

  /** Follow the lines of `core`'s memory from now on; its per-worker regions are not shared in a real run. */
  attach(core) {
    const lines = Math.ceil(core.memory.buffer.byteLength / 64);
    this.owner = new Int8Array(lines).fill(-1);
    this.holders = new Uint8Array(lines);
    this.private = perWorkerRanges(core.layout);
  }

  /** Imports for the instrumented core: each access reports its address, values pass through. */
  hooks() {
    const pass = (_id, value) => value;
    const env = {
      load_ptr: (id, _bytes, offset, ptr) => { this.touch(id, ptr + offset, false); return ptr; },
      store_ptr: (id, _bytes, offset, ptr) => { this.touch(id, ptr + offset, true); return ptr; },
      memory_grow_pre: pass, memory_grow_post: pass,
    };
    for (const t of ["i32", "i64", "f32", "f64"]) {
      env[`load_val_${t}`] = pass;
      env[`store_val_${t}`] = pass;
      for (const k of ["struct_get", "struct_set", "array_get", "array_set"]) env[`${k}_val_${t}`] = (...a) => a[a.length - 1];
    }
    env.array_get_index = env.array_set_index = (...a) => a[a.length - 1];
    return env;
  }

  touch(id, addr, write) {
    if (this.owner === null || this.ignored(id)) return;
    const line = addr >>> 6;
    const me = 1 << this.cpu;
    let moved = false;
    if (write) {
      moved = (this.holders[line] & ~me) !== 0;
      this.holders[line] = me;
      this.owner[line] = this.cpu;
    } else {
      const o = this.owner[line];
      moved = o >= 0 && o !== this.cpu;
      if (moved) this.owner[line] = -1;
      this.holders[line] |= me;
    }
    if (moved && this.counting) this.charge(id, line);
  }

  ignored(id) {
    if (!this.checkedIds.has(id)) {
      this.checkedIds.add(id);
      if (this.ignore.has(this.functionOf(id))) this.ignoredIds.add(id);
    }
    return this.ignoredIds.has(id);
  }

  charge(id, line) {
    const addr = line * 64;
    if (this.private.some(([lo, hi]) => addr >= lo && addr < hi)) return;
    const fn = this.functionOf(id);
    this.byFunction.set(fn, (this.byFunction.get(fn) ?? 0) + 1);
    this.byLine.set(line, (this.byLine.get(line) ?? 0) + 1);
  }

  /** Transfers per operation counted so far: the total and the functions that made them. */
  perOp() {
    const ops = Math.max(1, this.ops);
    const total = [...this.byFunction.values()].reduce((a, b) => a + b, 0) / ops;
    const functions = [...this.byFunction].sort((a, b) => b[1] - a[1]).map(([name, n]) => ({ name, perOp: n / ops }));
    return { total, functions, lines: this.byLine.size };
  }
}

/** The lines private to each worker in a real run (thread slots, counter caches), from the core's layout. */
export function perWorkerRanges(L) {
  return [
    [L.THREAD_SLOTS_BASE, L.THREAD_SLOTS_BASE + L.MAX_THREADS * L.THREAD_SLOT_SIZE],
    [L.COUNTER_CACHES_BASE, L.COUNTER_CACHES_BASE + L.MAX_THREADS * L.COUNTER_CACHE_SIZE],
  ];
}

/**
 * Simulator.create on the instrumented core, its accesses reported to `model`, which
 * follows the new memory from then on. WebAssembly.instantiate is given the hooks for the
 * length of the call only.
 */
export async function createTracedSimulator(Simulator, traced, model, options = {}) {
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = (source, imports = {}) =>
    instantiate(source, { ...imports, env: { ...model.hooks(), ...imports.env } });
  try {
    const sim = await Simulator.create({ ...options, core: traced.bytes });
    model.attach(sim.core);
    return sim;
  } finally {
    WebAssembly.instantiate = instantiate;
  }
}

/**
 * Two simulated CPUs (0 and 1 to `model`) taking turns: `step(k, n)` runs n operations of
 * CPU k. First `warmup` operations each in turns of `warmupBurst`, uncounted; then `rounds`
 * turns of one operation each, counted. The transfers per operation, and where they come from.
 */
function takeTurns(model, step, { rounds, warmup, warmupBurst }) {
  const turn = (k, n) => { model.cpu = k; step(k, n); };
  inTurns(2, warmup, warmupBurst, turn);
  model.counting = true;
  for (let i = 0; i < rounds; i++) { turn(0, 1); turn(1, 1); }
  model.ops = 2 * rounds;
  return model.perOp();
}

/**
 * dma_map + device write + dma_unmap pairs (bench/dma.mjs's work) on two simulated CPUs of
 * one domain (createDmaDomain's options `domain`, e.g. a magazineSize), each with a device of
 * its own (on an SMMU made with `smmu`, createSmmu's options), taking turns one pair at a time after a
 * warm-up: the line transfers per pair two workers would pay, and where they come from.
 * The warm-up runs the CPUs in turns of `warmupBurst` pairs (WARMUP_BURST, as bench/dma.mjs's
 * timed rigs do: warm-up.mjs), as two workers that start a few hundred pairs apart do: which IOVAs each CPU's caches end up holding — and so which
 * page-table lines they share — is decided there. It runs as long as a benchmark's does:
 * on 6.12 and 7.1 the depot keeps handing each CPU magazines the other filled, mixing their
 * IOVAs on the page-table lines further, and the count grows with the warm-up until ~50,000
 * pairs (a lazy pair's 0.17 after 2,000, 0.21 after 20,000, 0.23 from 50,000 on).
 */
export async function dmaPairsSharing(Simulator, traced, { profile, type, smmu: smmuOptions = {}, domain: domainOptions = {}, rounds = 10_000, warmup = 50_000, warmupBurst = WARMUP_BURST }) {
  const model = new CoherenceModel({ functionOf: traced.functionOf, ignoreFunctions: ["dma/loop/loopPairs"] });
  const sim = await createTracedSimulator(Simulator, traced, model, { profile, kheapMiB: 16 });
  try {
    const smmu = sim.createSmmu(smmuOptions);
    const dom = sim.createDmaDomain({ ...domainOptions, smmu, type, cpus: 2 });
    const devices = [dom.attachDevice({ streamId: 1 }).id, dom.attachDevice({ streamId: 2 }).id];
    const { raw, layout: L } = sim.core;
    raw.iova_set_flags(dom.iova.id, L.IF_NO_FQ_EVENTS, 0);
    let seed = 1;
    return takeTurns(model, (cpu, n) => {
      const rc = raw.dma_loop_pairs(devices[cpu], cpu, n, 4096, 0x1_0000_0000, 1 << 16, 0, L.LOOP_TOUCH, seed++);
      if (rc !== 0) throw new Error(`line-sharing: dma_loop_pairs on CPU ${cpu} returned ${rc}`);
    }, { rounds, warmup, warmupBurst });
  } finally {
    await sim.close();
  }
}

/**
 * A scenario workload's wl_init arguments after the device: ring, min, max, segments, link
 * (src/run/runner.ts workloadParams, for the kinds this tool runs). The link ties an attacker
 * to its victim's first CPU, and that CPU back to it (its CPU + 1), as a run ties them.
 */
const WORKLOAD_INIT = {
  "nic-rx": (w, link) => ["WL_NIC_RX", w.ring, w.bufferBytes, w.bufferBytes, 1, link],
  "nic-tx": (w, link) => ["WL_NIC_TX", w.ring, w.minBytes, w.maxBytes, 1, link],
  storage: (w, link) => ["WL_STORAGE", w.queueDepth, w.minBytes, w.maxBytes, w.segments, link],
  random: (w, link) => ["WL_RANDOM", w.live, w.minBytes, w.maxBytes, 1, link],
  attacker: (w, link) => ["WL_ATTACKER", w.keep, 1, 1, 1, link],
};

/** The link argument of CPU `index` of workload `w` (see WORKLOAD_INIT). */
function workloadLink(workloads, w, index) {
  if (w.kind === "attacker") return workloads.find((v) => v.name === w.victim).cpus[0];
  const attacker = workloads.find((a) => a.kind === "attacker" && a.victim === w.name);
  return attacker === undefined || index !== 0 ? 0 : attacker.cpus[0] + 1;
}

/** Whether scenarioSharing can count `scenario`: two CPUs, and only workload kinds it runs. */
export function scenarioSharingRuns(scenario) {
  const cpus = new Set(scenario.workloads.flatMap((w) => w.cpus));
  return cpus.size === 2 && scenario.workloads.every((w) => Object.hasOwn(WORKLOAD_INIT, w.kind));
}

/**
 * A scenario's workloads (nic-rx, nic-tx, storage, random, an attacker) on its two CPUs, taking turns one
 * operation at a time after a warm-up in bursts: the line transfers per operation two
 * workers would pay, and where they come from. `type` overrides every domain's type (the
 * nic scenario runs half strict, half lazy); the scenario's `smmu` options, its oracle and its
 * domains' `magazineSize` are honoured; events and machine presets are left out — this counts
 * the sharing of the DMA path and the oracle's checks of it.
 */
export async function scenarioSharing(Simulator, traced, scenario, { profile = scenario.profile, type, rounds, warmup = 2000, warmupBurst = WARMUP_BURST } = {}) {
  if (!scenarioSharingRuns(scenario)) {
    throw new Error(`line-sharing: scenario ${scenario.name} needs two CPUs and workloads of kinds ${Object.keys(WORKLOAD_INIT).join(", ")}`);
  }
  const cpus = [...new Set(scenario.workloads.flatMap((w) => w.cpus))];
  // A storage request maps and unmaps up to a megabyte: fewer of them say as much.
  rounds ??= scenario.workloads.some((w) => w.kind === "storage") ? 300 : 3000;
  const model = new CoherenceModel({ functionOf: traced.functionOf, ignoreFunctions: ["workload/run/wlRun"] });
  const sim = await createTracedSimulator(Simulator, traced, model, { profile, ramMiB: 256, kheapMiB: 64 });
  try {
    const { raw, layout: L } = sim.core;
    // Its caches' geometry and policies, and the oracle as a run makes it (checks.oracle, on
    // unless turned off): its shadow entries move with the IOVAs the CPUs hand each other.
    const oracle = scenario.checks?.oracle === false ? false : { capacity: ORACLE_MAX_PAGES };
    const smmu = sim.createSmmu({ ...(scenario.smmu ?? {}), oracle });
    const domains = new Map(scenario.domains.map((d) => {
      const dom = sim.createDmaDomain({ smmu, type: type ?? d.type, cpus: scenario.cpus, magazineSize: d.magazineSize });
      raw.iova_set_flags(dom.iova.id, L.IF_NO_FQ_EVENTS, 0); // as a run sets it
      return [d.name, dom];
    }));
    const devices = new Map(scenario.devices.map((d) => [d.name, domains.get(d.domain).attachDevice({ streamId: d.streamId })]));
    // Parsed, as a run takes them: defaults filled in (an attacker's device is its victim's).
    const { workloads } = parseRunScenario(scenario, scenario.name ?? "line-sharing");
    for (const w of workloads) {
      const device = devices.get(w.device);
      for (const [index, cpu] of w.cpus.entries()) {
        const [kind, ...args] = WORKLOAD_INIT[w.kind](w, workloadLink(workloads, w, index));
        const rc = raw.wl_init(cpu, L[kind], device.id, ...args, cpu + 1);
        if (rc !== 0) throw new Error(`line-sharing: wl_init of cpu ${cpu} returned ${rc}`);
      }
    }
    for (const d of domains.values()) for (let c = 0; c < scenario.cpus; c++) d.releaseCpu(c);
    raw.wl_run_begin(0);
    return takeTurns(model, (k, n) => {
      if (raw.wl_run(cpus[k], n, 0) !== n) throw new Error(`line-sharing: cpu ${cpus[k]} stopped before ${n} operations`);
    }, { rounds, warmup, warmupBurst });
  } finally {
    await sim.close();
  }
}
