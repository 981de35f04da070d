// The IOVA allocator's bug-zoo replays (bug corpus #9–#11): a script in the replay language's
// IOVA commands (init, alloc, free, reserve, state), run through the public IovaDomain API
// with alloc_iova's contract checked after every call, and printed as `iommu-sim replay`
// prints it, so that the evidence lines compare with the kernel's trace.
//
// The contract (reference §3.2, iova.c's __alloc_and_insert_iova_range): a range handed out
// lies within [start_pfn, limit] and is size-aligned when asked; a failure means no such
// range is free. The first half is the core's own count (belowStartAllocs, aboveLimitAllocs);
// the second is checked here against the tree's ranges, independently of the allocator's walk.

import type { Simulator } from "../simulator.js";
import { IovaWrappedError, type IovaDomain, type IovaRange } from "../iova.js";
import { hex } from "../errors.js";
import type { Behaviour } from "../profile.js";
import type { BugForm, BugFormResult } from "./types.js";
import { formMachine } from "./evidence.js";

/** What one audited replay showed. */
export interface IovaAudit {
  /** The trace, as `iommu-sim replay` prints it. */
  lines: string[];
  /** Broken contract, one line each (empty: clean). */
  violations: string[];
}

/** The highest free run of `size` pages (size-aligned if asked) within [startPfn, limit], or null. */
export function freeFit(ranges: readonly IovaRange[], startPfn: number, limit: number, size: number, aligned: boolean): IovaRange | null {
  const align = aligned ? 2 ** Math.ceil(Math.log2(size)) : 1;
  let top = limit; // the highest PFN not yet known to be taken
  for (let i = ranges.length - 1; i >= -1; i--) {
    const r = ranges[i]; // ranges() is in address order
    if (r && r.lo > top) continue;
    const bottom = Math.max(startPfn, r ? r.hi + 1 : 0);
    const lo = Math.floor((top - size + 1) / align) * align;
    if (top - size + 1 >= 0 && lo >= bottom) return { lo, hi: lo + size - 1 };
    if (!r || r.lo <= startPfn) return null;
    top = r.lo - 1;
  }
  return null;
}

/** Run `script` (init, alloc, free, reserve, state, # comments) in `sim`, checking every alloc. */
export function auditIovaScript(sim: Simulator, script: string): IovaAudit {
  const lines: string[] = [];
  const violations: string[] = [];
  let d: IovaDomain | undefined;
  try {
    for (const raw of script.split("\n")) {
      const text = raw.trim();
      if (text === "") continue;
      if (text.startsWith("#")) { lines.push(text); continue; }
      lines.push(`> ${text}`);
      const [cmd, ...w] = text.split(/\s+/);
      const n = w.map((x) => Number(x));
      if (cmd === "init") {
        d = sim.createIovaDomain({ granule: n[0]!, startPfn: n[1]!, search: "verify" });
        lines.push(`ok dma_32bit_pfn=${hex(d.dma32BitPfn)}`);
      } else if (!d) {
        throw new Error(`bug-zoo script: '${text}' before init`);
      } else if (cmd === "alloc") {
        lines.push(auditAlloc(d, n[0]!, n[1]!, n[2] !== 0, violations));
      } else if (cmd === "free") {
        d.free(n[0]!);
        lines.push("ok");
      } else if (cmd === "reserve") {
        const r = d.reserve(n[0]!, n[1]!);
        lines.push(r ? `${hex(r.lo)} ${hex(r.hi)}` : "FAIL");
      } else if (cmd === "state") {
        const s = d.state();
        lines.push(`cached=${hex(s.cachedNode)} cached32=${hex(s.cached32Node)} max32_alloc_size=${hex(s.max32AllocSize)}`);
      } else {
        throw new Error(`bug-zoo script: unknown command '${cmd}'`);
      }
    }
    if (d && d.stats().searchMismatches > 0) violations.push("the O(log n) search disagreed with the kernel's walk");
  } finally {
    if (d && !d.isDestroyed) d.destroy();
  }
  return { lines, violations };
}

/** alloc_iova, checked: the result line, and any broken contract added to `violations`. */
function auditAlloc(d: IovaDomain, size: number, limit: number, aligned: boolean, violations: string[]): string {
  const before = d.stats();
  let r: IovaRange | null;
  try {
    r = d.alloc(size, limit, aligned, { raw: true });
  } catch (e) {
    if (!(e instanceof IovaWrappedError)) throw e;
    violations.push(`alloc ${hex(size)} under ${hex(limit)} handed out [${hex(e.lo)}, ${hex(e.hi)}]: above the limit (wrapped below pfn 0)`);
    return `${hex(e.lo)} ${hex(e.hi)}`;
  }
  const after = d.stats();
  if (r) {
    if (after.belowStartAllocs > before.belowStartAllocs || r.lo < d.startPfn) {
      violations.push(`alloc ${hex(size)} under ${hex(limit)} handed out [${hex(r.lo)}, ${hex(r.hi)}]: below start_pfn ${hex(d.startPfn)}`);
    }
    if (after.aboveLimitAllocs > before.aboveLimitAllocs || r.hi > limit) {
      violations.push(`alloc ${hex(size)} under ${hex(limit)} handed out [${hex(r.lo)}, ${hex(r.hi)}]: above the limit`);
    }
    return `${hex(r.lo)} ${hex(r.hi)}`;
  }
  // Exact bounds: a range wrapped past 2^64 (an earlier bug) lies above any limit, so it is left out.
  const ranges = d.rangesExact().filter((x) => x.lo <= BigInt(limit)).map((x) => ({ lo: Number(x.lo), hi: Number(x.hi) }));
  const fit = freeFit(ranges, d.startPfn, limit, size, aligned);
  if (fit) {
    const s = d.state();
    violations.push(`alloc ${hex(size)} under ${hex(limit)} failed although [${hex(fit.lo)}, ${hex(fit.hi)}] is free ` +
      `(max32_alloc_size=${hex(s.max32AllocSize)})`);
  }
  return "FAIL";
}

/**
 * One form of an IOVA allocator entry: `script` audited on 7.1 with the fixing behaviour
 * (fixed) or without it (buggy); caught when any call broke alloc_iova's contract.
 */
export async function runIovaAuditForm(form: BugForm, fix: Behaviour, script: string,
                                       verdicts: { caught: string; clean: string }): Promise<BugFormResult> {
  const sim = await formMachine(form, "7.1", fix);
  try {
    const { lines, violations } = auditIovaScript(sim, script);
    const caught = violations.length > 0;
    return {
      form, caught, verdict: caught ? verdicts.caught : verdicts.clean,
      evidence: [...violations, ...lines], measures: { violations: violations.length },
    };
  } finally {
    await sim.close();
  }
}
