// Page-table work for the pool: a deterministic churn of map/unmap on ranges each worker
// owns (for the concurrency tests and the demo), and the core's batched loops (for
// throughput). The churn's operations come from a seeded generator, so the orchestrator
// can replay the same operations sequentially and compare. Every task's arguments are
// checked before the run (src/tasks/args.ts): a live table, IOVAs within it, a page size it has.

import type { TaskContext } from "../pool.js";
import { PageTable, Prot } from "../pgtable.js";
import { ArgumentError, hex } from "../errors.js";
import { checkAddress, checkBool, type OptionKeys } from "../validate.js";
import {
  argsCheck, checkLive, checkSpanWithin, checkU32, optional, taskFields, type ArgsScope, type BuiltinTask,
} from "./args.js";

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
  checkChurnWorkers(workers);
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

function checkChurnWorkers(workers: number): void {
  if (!Number.isInteger(workers) || workers < 1 || workers > CHURN_MAX_WORKERS) {
    throw new ArgumentError("workers", workers, `must be an integer in [1, ${CHURN_MAX_WORKERS}] (each worker owns ` +
      "one 64 KiB chunk of every 2 MiB region)", "pgtable.churn");
  }
}

/** pgt_loop_map_unmap's arguments: `count` pairs of one `pgsize` page at random in [base, base + span). */
export interface LoopArgs {
  table: number;
  base: number;
  span: number;
  pgsize: number;
  count: number;
  /** 1..2^32−1 (the core's generator has no state for 0). */
  seed: number;
}

/** pgt_loop_walk's arguments: `count` walks at random IOVAs in [base, base + span). */
export interface WalkArgs {
  table: number;
  base: number;
  span: number;
  count: number;
  /** 1..2^32−1. */
  seed: number;
}

const CHURN_KEYS = {
  table: true, seed: true, ops: true, base: true, regions: true, paOffset: true, lockstep: true,
} as const satisfies OptionKeys<ChurnArgs>;
const LOOP_KEYS = {
  table: true, base: true, span: true, pgsize: true, count: true, seed: true,
} as const satisfies OptionKeys<LoopArgs>;
const WALK_KEYS = { table: true, base: true, span: true, count: true, seed: true } as const satisfies OptionKeys<WalkArgs>;

/** A handle on the live table field `table` names (for its geometry and page sizes). */
function liveTable(v: unknown, s: ArgsScope): PageTable {
  return PageTable.attach(s.core, checkLive("table", "table", v, s));
}

function checkChurnArgs(a: unknown, s: ArgsScope): void {
  const f = taskFields<ChurnArgs>(a, CHURN_KEYS, s);
  checkChurnWorkers(s.workers);
  const pt = liveTable(f.table, s);
  const g = pt.geometry;
  if (!pt.hasPageSize(PAGE)) {
    throw new ArgumentError("table", f.table,
      `must be a table with 4 KiB pages, which the churn maps (its pgsizeBitmap is ${hex(g.pgsizeBitmap)})`, s.context);
  }
  checkU32("seed", f.seed, s);
  checkU32("ops", f.ops, s);
  const base = checkAddress("base", f.base, s.context);
  pt.checkAligned("base", base, PAGE, s.context);
  const span = checkU32("regions", f.regions, s, 1) * REGION;
  checkSpanWithin("base", base, "regions × 2 MiB", span, g.ias, "the table's input addresses", s);
  const paOffset = optional(f.paOffset, (v) => checkAddress("paOffset", v, s.context)) ?? 0;
  checkSpanWithin("base + paOffset", base + paOffset, "regions × 2 MiB", span, g.oas,
    "the table's output addresses (PA = IOVA + paOffset)", s);
  checkBool("lockstep", f.lockstep, true, s.context);
}

/** The fields loop and walk share: a live table, [base, base + span) within it, a count, a seed. */
function checkSpanArgs(f: Record<keyof WalkArgs, unknown>, s: ArgsScope, pgsize: (pt: PageTable) => number,
                       bits: (pt: PageTable) => number, within: string): void {
  const pt = liveTable(f.table, s);
  const size = pgsize(pt);
  const base = checkAddress("base", f.base, s.context);
  pt.checkAligned("base", base, size, s.context);
  const span = checkAddress("span", f.span, s.context);
  if (span < size) throw new ArgumentError("span", span, `must hold at least one page (${hex(size)} bytes)`, s.context);
  checkSpanWithin("base", base, "span", span, bits(pt), within, s);
  checkU32("count", f.count, s);
  checkU32("seed", f.seed, s, 1);
}

function checkLoopArgs(a: unknown, s: ArgsScope): void {
  const f = taskFields<LoopArgs>(a, LOOP_KEYS, s);
  checkSpanArgs(f, s, (pt) => {
    const size = checkAddress("pgsize", f.pgsize, s.context);
    pt.checkPgsize(size, s.context);
    return size;
  }, (pt) => Math.min(pt.geometry.ias, pt.geometry.oas), "the table's input and output addresses (the loop maps PA = IOVA)");
}

function checkWalkArgs(a: unknown, s: ArgsScope): void {
  checkSpanArgs(taskFields<WalkArgs>(a, WALK_KEYS, s), s, () => 1, (pt) => pt.geometry.ias, "the table's input addresses");
}

export const pgtableTasks = {
  "pgtable.churn": {
    run: (ctx: TaskContext, args: ChurnArgs) => {
      const pt = PageTable.attach(ctx.core, args.table);
      const ops = churnOps(args, ctx.worker, ctx.workers);
      const t0 = performance.now();
      applyChurn(pt, ops, args.paOffset ?? 0, args.lockstep === false ? undefined : ctx.barrier);
      return { ops: ops.length, ms: performance.now() - t0 };
    },
    checkArgs: argsCheck(checkChurnArgs),
  },

  /** Strict map+unmap pairs inside Wasm (pgt_loop_map_unmap). */
  "pgtable.loop": {
    run: (ctx: TaskContext, a: LoopArgs) => {
      const t0 = performance.now();
      const failures = ctx.core.raw.pgt_loop_map_unmap(a.table, a.base, a.span, a.pgsize, a.count, a.seed, Prot.READ | Prot.WRITE);
      return { failures, ms: performance.now() - t0 };
    },
    checkArgs: argsCheck(checkLoopArgs),
  },

  /** iova_to_phys walks inside Wasm (pgt_loop_walk). */
  "pgtable.walk": {
    run: (ctx: TaskContext, a: WalkArgs) => {
      const t0 = performance.now();
      const checksum = ctx.core.raw.pgt_loop_walk(a.table, a.base, a.span, a.count, a.seed);
      return { checksum, ms: performance.now() - t0 };
    },
    checkArgs: argsCheck(checkWalkArgs),
  },
} satisfies Record<string, BuiltinTask>;
