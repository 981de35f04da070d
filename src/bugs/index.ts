// The bug zoo: real kernel IOMMU bugs of shared/reference/bug-corpus.md as built-ins, each run
// in its buggy and its fixed form (src/bugs/types.ts). Each entry lives in entries/<id>.ts;
// this file lists them, finds one by its short name or a commit's first 12 hex digits, and
// runs both forms. No node: imports — the live page runs entries in a Web Worker.

import { ArgumentError, IommuSimError } from "../errors.js";
import { checkOptions, checkSignal, didYouMean } from "../validate.js";
import type { BugEntry, BugForm, BugFormResult, BugRunResult } from "./types.js";
import { SEED_RACE_BUG } from "./entries/seed-race.js";
import { TTL_NONLEAF } from "./entries/ttl-nonleaf.js";
import { RANGE_NUM_BUMP } from "./entries/range-num-bump.js";
import { PGT_CONCAT_ENTRY_COUNT } from "./entries/pgt-concat-entry-count.js";
import { PGT_TABLE_PA_PACKING } from "./entries/pgt-table-pa-packing.js";
import { IOVA_RETRY_PFN_OVERFLOW } from "./entries/iova-retry-pfn-overflow.js";
import { IOVA_MAX32_ESTIMATE } from "./entries/iova-max32-estimate.js";
import { IOVA_LIMIT_UNDERFLOW } from "./entries/iova-limit-underflow.js";
import { IOVA_LINEAR_SEARCH } from "./entries/iova-linear-search.js";
import { IOVA_DEPOT_FULL_DRAIN } from "./entries/iova-depot-full-drain.js";
import { LAZY_WINDOW } from "./entries/lazy-window.js";
import { FQ_TIMER_SHARING } from "./entries/fq-timer-sharing.js";
import { FQ_TIMEOUT_TEARDOWN_BUG } from "./entries/fq-timeout-teardown.js";
import { SPLIT_BLK_RACE } from "./entries/split-blk-race.js";
import { PROBE_INIT_RACE } from "./entries/probe-init-race.js";
import { EMPTY_GATHER_SYNC } from "./entries/empty-gather-sync.js";

export type { BugEntry, BugForm, BugFormResult, BugRunResult } from "./types.js";

/** Every built-in of the zoo, in corpus order. */
export const BUG_ZOO: readonly BugEntry[] = Object.freeze([
  SEED_RACE_BUG,
  TTL_NONLEAF,
  RANGE_NUM_BUMP,
  PGT_CONCAT_ENTRY_COUNT,
  PGT_TABLE_PA_PACKING,
  IOVA_RETRY_PFN_OVERFLOW,
  IOVA_MAX32_ESTIMATE,
  IOVA_LIMIT_UNDERFLOW,
  IOVA_LINEAR_SEARCH,
  IOVA_DEPOT_FULL_DRAIN,
  LAZY_WINDOW,
  FQ_TIMER_SHARING,
  FQ_TIMEOUT_TEARDOWN_BUG,
  SPLIT_BLK_RACE,
  PROBE_INIT_RACE,
  EMPTY_GATHER_SYNC,
].sort((a, b) => a.corpus - b.corpus));

/** A name `bugs run` was given that is no entry: it lists the ids, with the nearest one. */
export class UnknownBugError extends IommuSimError {
  override name = "UnknownBugError";
  constructor(readonly given: string, readonly suggestion: string | undefined) {
    super(`iommu-sim: no bug zoo entry '${given}'${suggestion ? ` (did you mean '${suggestion}'?)` : ""}; ` +
      `entries: ${BUG_ZOO.map((e) => e.id).join(", ")} (or a fixing commit's first 12 hex digits)`);
  }
}

const HEX12 = /^[0-9a-f]{12}$/;

/** The commits an entry answers to: its fix, and the commit that introduced it. */
function commitsOf(e: BugEntry): string[] {
  return [e.fix, ...(e.introducedBy ? [e.introducedBy] : [])].filter((c) => HEX12.test(c));
}

/**
 * The entry named `idOrCommit`: its short name, or the first 12 hex digits of its fixing
 * commit (or of the commit that introduced it; longer hashes are cut to 12). Anything else
 * is an UnknownBugError listing the ids, with a did-you-mean.
 */
export function findBug(idOrCommit: string): BugEntry {
  if (typeof idOrCommit !== "string" || idOrCommit.length === 0) throw new UnknownBugError(String(idOrCommit), undefined);
  const key = idOrCommit.trim().toLowerCase();
  const byId = BUG_ZOO.find((e) => e.id === key);
  if (byId) return byId;
  if (/^[0-9a-f]{12,40}$/.test(key)) {
    const short = key.slice(0, 12);
    // A fix wins over an introducing commit (one commit can be both: eb6c97647be2 was introduced by 6833b8f2e199's fix).
    const hit = BUG_ZOO.find((e) => e.fix === short) ?? BUG_ZOO.find((e) => commitsOf(e).includes(short));
    if (hit) return hit;
  }
  throw new UnknownBugError(idOrCommit, didYouMean(key, BUG_ZOO.map((e) => e.id)));
}

/** One form, with an entry that throws reported as a failed form (never a pass). */
async function runForm(entry: BugEntry, form: BugForm, signal?: AbortSignal): Promise<BugFormResult> {
  signal?.throwIfAborted();
  try {
    return await entry.run(form, signal ? { signal } : undefined);
  } catch (e) {
    if (signal?.aborted) throw e;
    const message = e instanceof Error ? e.message : String(e);
    // Caught in both forms' sense of "not as expected": the buggy form shows nothing, the fixed one is not clean.
    return { form, caught: form === "fixed", verdict: `error: ${message}`, evidence: [`the ${form} form failed: ${message}`] };
  }
}

/**
 * Run both forms of `entry` (buggy first): it passes when the buggy form is caught and the
 * fixed one is clean.
 */
export async function runBug(entry: BugEntry, opts?: { signal?: AbortSignal }): Promise<BugRunResult> {
  if (typeof entry !== "object" || entry === null || typeof entry.id !== "string" || typeof entry.run !== "function") {
    throw new ArgumentError("entry", entry, "must be a bug zoo entry: one of BUG_ZOO, or findBug(id)'s", "runBug");
  }
  checkOptions(opts, ["signal"], "runBug");
  checkSignal(opts?.signal, "runBug");
  const buggy = await runForm(entry, "buggy", opts?.signal);
  const fixed = await runForm(entry, "fixed", opts?.signal);
  return { id: entry.id, buggy, fixed, pass: buggy.caught && !fixed.caught };
}
