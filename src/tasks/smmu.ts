// Device-side work for the pool: a device translating continuously, and a CPU remapping
// and invalidating under it. Mappings are built so that any consistent translation has
// PA ≡ IOVA (mod 2^32) with the generation in the high bits: a torn cache entry (the tag of
// one translation with the output of another) cannot pass that check.

import type { TaskContext } from "../pool.js";
import { PageTable, Prot } from "../pgtable.js";

export interface StressArgs {
  role: "translate" | "remap";
  smmu: number;
  streamId: number;
  table: number;
  base: number;
  pages: number;
  count: number;
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

export const smmuTasks = {
  "smmu.stress": (ctx: TaskContext, a: StressArgs) => {
    if (a.role === "remap") return remapLoop(ctx, a);
    ctx.barrier();
    return translateLoop(ctx, a);
  },

  /** Device reads at random addresses inside Wasm (smmu_loop_translate). */
  "smmu.loop": (ctx: TaskContext, a: { smmu: number; streamId: number; base: number; span: number; count: number; seed: number }) => {
    const t0 = performance.now();
    const faults = ctx.core.raw.smmu_loop_translate(a.smmu, a.streamId, a.base, a.span, a.count, a.seed, 0);
    return { faults, ms: performance.now() - t0 };
  },
};
