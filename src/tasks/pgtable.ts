// Page-table work for the pool: a deterministic churn of map/unmap on ranges each worker
// owns (for the concurrency tests and the demo), and the core's batched loops (for
// throughput). The churn's operations come from a seeded generator, so the orchestrator
// can replay the same operations sequentially and compare.

import type { TaskContext } from "../pool.js";
import { PageTable, Prot } from "../pgtable.js";
import { ArgumentError } from "../errors.js";

export interface ChurnArgs {
  table: number;
  seed: number;
  ops: number;
  /** IOVA where the churned span starts (and PA = IOVA + paOffset). */
  base: number;
  /** Number of 2 MiB regions the workers sweep through together. */
  regions: number;
  paOffset?: number;
  /** Meet at a barrier at each new region (default true). */
  lockstep?: boolean;
}

export interface ChurnOp {
  map: boolean;
  iova: number;
  pages: number;
  /** First operation in a new region: workers meet at a barrier first, if they have one. */
  newRegion?: boolean;
}

const PAGE = 0x1000;
const REGION = 0x200000;
/** Workers own alternating 16-page chunks, so they share every last-level table. */
const CHUNK_PAGES = 16;
/**
 * The most workers the churn can have: each needs a chunk of its own in every 2 MiB region
 * (32 of them); with more, workers would share chunks and map over each other's pages.
 */
export const CHURN_MAX_WORKERS = REGION / (CHUNK_PAGES * PAGE);

/** mulberry32: small, seedable, the same stream in every thread. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The operations worker `w` of `workers` performs. It sweeps the regions in step with the
 * others (so they race to install the same tables), and only ever touches its own chunks:
 * it maps a run of pages in a chunk it has not mapped, or unmaps one it has.
 */
export function churnOps(args: ChurnArgs, w: number, workers: number): ChurnOp[] {
  if (!Number.isInteger(workers) || workers < 1 || workers > CHURN_MAX_WORKERS) {
    throw new ArgumentError("workers", workers, `must be an integer in [1, ${CHURN_MAX_WORKERS}] (each worker owns ` +
      "one 64 KiB chunk of every 2 MiB region)", "pgtable.churn");
  }
  const next = rng(args.seed * 7919 + w);
  const chunksPerRegion = REGION / (CHUNK_PAGES * PAGE);
  const ownPerRegion = Math.floor(chunksPerRegion / workers);
  const mapped = new Map<number, number>(); // chunk iova → pages mapped
  const ops: ChurnOp[] = [];
  const perRegion = Math.max(1, Math.floor(args.ops / args.regions));
  let lastRegion = -1;
  for (let i = 0; i < args.ops; i++) {
    const region = Math.min(args.regions - 1, Math.floor(i / perRegion));
    const newRegion = region !== lastRegion;
    lastRegion = region;
    const chunk = Math.floor(next() * ownPerRegion) * workers + w;
    const iova = args.base + region * REGION + chunk * CHUNK_PAGES * PAGE;
    const have = mapped.get(iova);
    if (have !== undefined) {
      ops.push({ map: false, iova, pages: have, newRegion });
      mapped.delete(iova);
    } else {
      const pages = 1 + Math.floor(next() * CHUNK_PAGES);
      ops.push({ map: true, iova, pages, newRegion });
      mapped.set(iova, pages);
    }
  }
  return ops;
}

/**
 * Apply churn operations to a table; throws on the first result that is not exact. With a
 * barrier, workers enter each region together, so they race for its new tables.
 */
export function applyChurn(pt: PageTable, ops: ChurnOp[], paOffset: number, barrier?: () => void): void {
  for (const op of ops) {
    if (op.newRegion && barrier) barrier();
    if (op.map) {
      const r = pt.mapPages(op.iova, op.iova + paOffset, PAGE, op.pages, Prot.READ | Prot.WRITE);
      if (r.ret !== 0 || r.mapped !== op.pages * PAGE) {
        throw new Error(`map of ${op.pages} pages at 0x${op.iova.toString(16)} returned ${r.ret}, mapped 0x${r.mapped.toString(16)}`);
      }
    } else {
      const r = pt.unmapPages(op.iova, PAGE, op.pages);
      if (r.unmapped !== op.pages * PAGE) {
        throw new Error(`unmap of ${op.pages} pages at 0x${op.iova.toString(16)} unmapped 0x${r.unmapped.toString(16)}`);
      }
    }
  }
}

export const pgtableTasks = {
  "pgtable.churn": (ctx: TaskContext, args: ChurnArgs) => {
    const pt = PageTable.attach(ctx.core, args.table);
    const ops = churnOps(args, ctx.worker, ctx.workers);
    const t0 = performance.now();
    applyChurn(pt, ops, args.paOffset ?? 0, args.lockstep === false ? undefined : ctx.barrier);
    return { ops: ops.length, ms: performance.now() - t0 };
  },

  /** Strict map+unmap pairs inside Wasm (pgt_loop_map_unmap). */
  "pgtable.loop": (ctx: TaskContext, a: { table: number; base: number; span: number; pgsize: number; count: number; seed: number }) => {
    const t0 = performance.now();
    const failures = ctx.core.raw.pgt_loop_map_unmap(a.table, a.base, a.span, a.pgsize, a.count, a.seed, Prot.READ | Prot.WRITE);
    return { failures, ms: performance.now() - t0 };
  },

  /** iova_to_phys walks inside Wasm (pgt_loop_walk). */
  "pgtable.walk": (ctx: TaskContext, a: { table: number; base: number; span: number; count: number; seed: number }) => {
    const t0 = performance.now();
    const checksum = ctx.core.raw.pgt_loop_walk(a.table, a.base, a.span, a.count, a.seed);
    return { checksum, ms: performance.now() - t0 };
  },
};
