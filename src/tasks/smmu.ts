// Device-side work for the pool: a device translating continuously, and a CPU remapping
// and invalidating under it. Mappings are built so that any consistent translation has
// PA ≡ IOVA (mod 2^32) with the generation in the high bits: a torn cache entry (the tag of
// one translation with the output of another) cannot pass that check. The arguments are
// checked before the run (src/tasks/args.ts): live SMMU and table, a stream the SMMU has.

import type { TaskContext } from "../pool.js";
import { PageTable, Prot } from "../pgtable.js";
import { ArgumentError } from "../errors.js";
import { checkAddress, checkInt, checkOneOf, MAX_ADDRESS, type OptionKeys } from "../validate.js";
import {
  argsCheck, checkLive, checkSpanExact, checkSpanWithin, checkU32, taskFields, type ArgsScope, type BuiltinTask, type WorkerUse,
} from "./args.js";

export interface StressArgs {
  /** A translating device or the remapping CPU; at least one worker remaps (the translators run until it is done). */
  role: "translate" | "remap";
  smmu: number;
  streamId: number;
  /** The table the remapping worker maps in (the stream's). */
  table: number;
  base: number;
  /** Pages from base, 1..2^20 (the translator keeps a word per page). */
  pages: number;
  count: number;
  seed: number;
}

/** smmu_loop_translate's arguments: `count` device reads at random in [base, base + span), through stream streamId. */
export interface TranslateLoopArgs {
  smmu: number;
  streamId: number;
  base: number;
  /** At least 8 bytes (the reads are 8-byte aligned). */
  span: number;
  count: number;
  /** 1..2^32−1 (the core's generator has no state for 0). */
  seed: number;
}

export interface StressResult {
  role: StressArgs["role"];
  operations: number;
  translated: number;
  faults: number;
  /** Translations whose output does not belong to their input: must stay 0. */
  torn: number;
  /** Times a page was seen at a new generation: remaps happened under the translator. */
  generationsSeen: number;
  example?: string;
}

const PAGE = 0x1000;
const GEN = 2 ** 32;
/** TaskContext.shared word the remapping worker sets when it is done. */
const REMAP_DONE = 0;

function translateLoop(ctx: TaskContext, a: StressArgs): StressResult {
  const raw = ctx.core.raw;
  const r: StressResult = { role: a.role, operations: a.count, translated: 0, faults: 0, torn: 0, generationsSeen: 0 };
  const lastGen = new Float64Array(a.pages);
  let x = a.seed >>> 0 || 1;
  // At least `count` translations, and on until the remapping worker is done.
  for (let i = 0; i < a.count || Atomics.load(ctx.shared, REMAP_DONE) === 0; i++) {
    r.operations = i + 1;
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const iova = a.base + (x % a.pages) * PAGE + (i & 0xff8);
    if (raw.smmu_translate(a.smmu, a.streamId, iova, 0) !== 0) { r.faults++; continue; }
    r.translated++;
    const pa = Number(ctx.core.resultU64(ctx.core.layout.AR_PA));
    if (pa % GEN !== iova % GEN || pa < GEN) {
      r.torn++;
      r.example ??= `iova 0x${iova.toString(16)} → pa 0x${pa.toString(16)}`;
      continue;
    }
    const page = x % a.pages;
    const gen = Math.floor(pa / GEN);
    if (lastGen[page] !== gen) { if (lastGen[page]) r.generationsSeen++; lastGen[page] = gen; }
  }
  return r;
}

/** Every page stays mapped but moves: strict unmap (TLBI + CMD_SYNC), then the next generation. */
function remapLoop(ctx: TaskContext, a: StressArgs): StressResult {
  const pt = PageTable.attach(ctx.core, a.table);
  const map = (iova: number, gen: number) => {
    const r = pt.mapPages(iova, gen * GEN + (iova % GEN), PAGE, 1, Prot.READ | Prot.WRITE);
    if (r.ret !== 0) throw new Error(`map at 0x${iova.toString(16)} returned ${r.ret}`);
  };
  for (let p = 0; p < a.pages; p++) map(a.base + p * PAGE, 1);
  ctx.barrier(); // the translator starts once everything is mapped
  let x = a.seed >>> 0 || 1;
  for (let i = 0; i < a.count; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const iova = a.base + (x % a.pages) * PAGE;
    pt.unmapPages(iova, PAGE, 1);
    map(iova, 2 + (i % 30000));
  }
  Atomics.store(ctx.shared, REMAP_DONE, 1);
  // The pages stay mapped: a translator still running finds them, not faults.
  return { role: a.role, operations: a.count, translated: 0, faults: 0, torn: 0, generationsSeen: 0 };
}

const STRESS_KEYS = {
  role: true, smmu: true, streamId: true, table: true, base: true, pages: true, count: true, seed: true,
} as const satisfies OptionKeys<StressArgs>;
const LOOP_KEYS = {
  smmu: true, streamId: true, base: true, span: true, count: true, seed: true,
} as const satisfies OptionKeys<TranslateLoopArgs>;
const MAX_STRESS_PAGES = 2 ** 20;

/** The SMMU and stream fields both tasks have. */
function checkStream(f: { smmu: unknown; streamId: unknown }, s: ArgsScope): void {
  checkLive("smmu", "smmu", f.smmu, s);
  checkInt("streamId", f.streamId, 0, s.core.layout.MAX_STREAMS - 1, s.context);
}

function checkStressArgs(a: unknown, s: ArgsScope): WorkerUse & { role: StressArgs["role"] } {
  const f = taskFields<StressArgs>(a, STRESS_KEYS, s);
  const role = checkOneOf("role", f.role, ["translate", "remap"] as const, s.context);
  checkStream(f, s);
  const pt = PageTable.attach(s.core, checkLive("table", "table", f.table, s));
  const base = checkAddress("base", f.base, s.context);
  pt.checkAligned("base", base, PAGE, s.context);
  const pages = checkInt("pages", f.pages, 1, MAX_STRESS_PAGES, s.context);
  checkSpanWithin("base", base, "pages × 4 KiB", pages * PAGE, pt.geometry.ias, "the table's input addresses", s);
  checkU32("count", f.count, s);
  checkU32("seed", f.seed, s);
  return { role, cpus: [] }; // no simulated CPU of a domain: the remapping CPU maps in the table directly
}

/** The translators run until a remapping worker says it is done: without one they would never stop. */
function checkSomeoneRemaps(workers: readonly { role: StressArgs["role"] }[], scopes: readonly ArgsScope[]): void {
  if (!workers.some((w) => w.role === "remap")) {
    throw new ArgumentError("role", workers[0]!.role, "must be 'remap' for at least one worker (the translators run until it is done)",
      scopes[0]!.task);
  }
}

function checkLoopArgs(a: unknown, s: ArgsScope): void {
  const f = taskFields<TranslateLoopArgs>(a, LOOP_KEYS, s);
  checkStream(f, s);
  const base = checkAddress("base", f.base, s.context);
  const span = checkInt("span", f.span, 8, MAX_ADDRESS, s.context);
  checkSpanExact("base", base, "span", span, s);
  checkU32("count", f.count, s);
  checkU32("seed", f.seed, s, 1);
}

export const smmuTasks = {
  "smmu.stress": {
    run: (ctx: TaskContext, a: StressArgs) => {
      if (a.role === "remap") return remapLoop(ctx, a);
      ctx.barrier();
      return translateLoop(ctx, a);
    },
    checkArgs: argsCheck(checkStressArgs, checkSomeoneRemaps),
  },

  /** Device reads at random addresses inside Wasm (smmu_loop_translate). */
  "smmu.loop": {
    run: (ctx: TaskContext, a: TranslateLoopArgs) => {
      const t0 = performance.now();
      const faults = ctx.core.raw.smmu_loop_translate(a.smmu, a.streamId, a.base, a.span, a.count, a.seed, 0);
      return { faults, ms: performance.now() - t0 };
    },
    checkArgs: argsCheck(checkLoopArgs),
  },
} satisfies Record<string, BuiltinTask>;
