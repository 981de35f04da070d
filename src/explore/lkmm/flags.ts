// herd7's flags under the Linux-kernel memory model: the `flag ~empty R as NAME` lines of
// linux-kernel.cat (data-race), linux-kernel.bell (RCU and SRCU misuse) and lock.cat (spinlock
// misuse), written in our own code. A flag does not rule an execution out: herd7 prints
// "Flag NAME" when some execution the model allows (it passes every check, and the test's
// `filter`) makes the flag's relation non-empty, one line per flag, in its byte order of names.
// Most of them depend only on the events a combination of paths has (which lock an unlock
// closes, what a location is accessed with); the SRCU ones follow the index's data flow through
// reads-from, so they depend on the execution. The one table below is what the result, the
// report and the command line's exit code read.

import { Rel, domainOf, inter, rangeOf, relOf, restrict, seqs, setHas, setMinus, setOf, star, seq, type EvSet } from "./relation.js";
import { TAG } from "./threads.js";
import type { ExecGraph } from "./models.js";

/** One flag the LKMM files define. */
export interface LkmmFlag {
  name: string;
  /** The file of tools/memory-model that defines it. */
  file: "linux-kernel.cat" | "linux-kernel.bell" | "lock.cat";
  /** What raises it, in words. */
  meaning: string;
}

/**
 * Every flag the current LKMM files define, in herd7's printing order (its flags are a map
 * ordered by byte comparison of the names: "unpaired-LKR" after "unmatched-unlock").
 * lock.cat's `empty ... as lock-nest`, `nested-is-locked` and `unmatched-locks` are checks, not
 * flags: an execution failing them is not allowed (a deadlock), so they are in the model.
 */
export const LKMM_FLAGS: readonly LkmmFlag[] = [
  { name: "data-race", file: "linux-kernel.cat", meaning: "two accesses to one location from different threads, at least one plain and one a write, that nothing orders" },
  { name: "invalid-sleep", file: "linux-kernel.bell", meaning: "synchronize_srcu() between an rcu_read_lock() and its matching rcu_read_unlock()" },
  { name: "lock-final", file: "lock.cat", meaning: "the final condition (or the locations line) reads a spinlock or srcu_struct" },
  { name: "mixed-lock-accesses", file: "lock.cat", meaning: "a spinlock or srcu_struct also accessed by an ordinary read, write or atomic (READ_ONCE, a plain access, xchg...)" },
  { name: "multiple-srcu-matches", file: "linux-kernel.bell", meaning: "one srcu_read_lock()'s index reaching two srcu_read_unlock()s" },
  { name: "srcu-bad-value-match", file: "linux-kernel.bell", meaning: "an srcu_read_unlock() passed a value other than the index its srcu_read_lock() returned" },
  { name: "unmatched-rcu-lock", file: "linux-kernel.bell", meaning: "an rcu_read_lock() with no rcu_read_unlock() after it in its thread to close it" },
  { name: "unmatched-rcu-unlock", file: "linux-kernel.bell", meaning: "an rcu_read_unlock() with no open rcu_read_lock() before it in its thread" },
  { name: "unmatched-srcu-lock", file: "linux-kernel.bell", meaning: "an srcu_read_lock() whose index reaches no srcu_read_unlock() of the same srcu_struct" },
  { name: "unmatched-srcu-unlock", file: "linux-kernel.bell", meaning: "an srcu_read_unlock() whose index comes from no srcu_read_lock() of the same srcu_struct" },
  { name: "unmatched-unlock", file: "lock.cat", meaning: "a spin_unlock() with no spin_lock() of the same lock before it in its thread since the last unlock" },
  { name: "unpaired-LKR", file: "lock.cat", meaning: "a lock read not followed at once by its lock write (cannot happen from C: spin_lock makes both)" },
  { name: "unpaired-LKW", file: "lock.cat", meaning: "a lock write not preceded at once by its lock read (cannot happen from C: spin_lock makes both)" },
];

const ORDER = new Map(LKMM_FLAGS.map((f, i) => [f.name, i]));

/** Flag names in herd7's printing order, each once (a name outside the table goes last, in byte order). */
export function herdFlagOrder(names: Iterable<string>): string[] {
  const rank = (s: string) => ORDER.get(s) ?? LKMM_FLAGS.length;
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** lock.cat's ALL-LOCKS: every spinlock and SRCU event (a true spin_is_locked is an LF here). */
const ALL_LOCKS = TAG.LKR | TAG.LKW | TAG.UL | TAG.LF | TAG.RU | TAG.SRCU_LOCK | TAG.SRCU_UNLOCK | TAG.SYNC_SRCU;

const tagged = (g: ExecGraph, i: number, t: number) => (g.tags[i]! & t) !== 0;
const eventsWith = (g: ExecGraph, t: number): number[] => g.tags.flatMap((x, i) => ((x & t) !== 0 ? [i] : []));

/**
 * The flags that depend only on a combination's events, not on rf or co: the RCU nesting,
 * synchronize_srcu in an RCU reader, and all of lock.cat's.
 */
export function staticFlags(g: ExecGraph): string[] {
  const out: string[] = [];
  const matchedLocks = domainOf(g.rcuRscs), matchedUnlocks = rangeOf(g.rcuRscs);
  if (eventsWith(g, TAG.RCU_LOCK).some((i) => !setHas(matchedLocks, i))) out.push("unmatched-rcu-lock");
  if (eventsWith(g, TAG.RCU_UNLOCK).some((i) => !setHas(matchedUnlocks, i))) out.push("unmatched-rcu-unlock");
  if (sleepsInRcuReader(g)) out.push("invalid-sleep");
  const lockLocs = new Set(eventsWith(g, ALL_LOCKS).map((i) => g.loc[i]!));
  if (g.dir.some((d, i) => d !== "F" && !tagged(g, i, TAG.IW | ALL_LOCKS) && lockLocs.has(g.loc[i]!))) out.push("mixed-lock-accesses");
  if (g.observed.some((l) => lockLocs.has(l))) out.push("lock-final");
  if (eventsWith(g, TAG.UL).some((u) => !closesCriticalSection(g, u))) out.push("unmatched-unlock");
  // lock.cat pairs a lock read with the lock write right after it in program order.
  const next = (i: number, d: number) => g.thread[i + d] === g.thread[i] && g.loc[i + d] === g.loc[i];
  if (eventsWith(g, TAG.LKR).some((i) => !(next(i, 1) && tagged(g, i + 1, TAG.LKW)))) out.push("unpaired-LKR");
  if (eventsWith(g, TAG.LKW).some((i) => !(next(i, -1) && tagged(g, i - 1, TAG.LKR)))) out.push("unpaired-LKW");
  return out;
}

/** Whether a synchronize_srcu lies strictly inside a matched rcu_read_lock/unlock pair. */
function sleepsInRcuReader(g: ExecGraph): boolean {
  const syncs = eventsWith(g, TAG.SYNC_SRCU);
  if (!syncs.length) return false;
  return g.rcuRscs.pairs().some(([l, u]) => syncs.some((s) => g.po.has(l, s) && g.po.has(s, u)));
}

/**
 * lock.cat's `critical`: an unlock closes the lock write of the same lock before it in its
 * thread when no other lock write or unlock of that lock comes between. Threads' events are
 * numbered consecutively in program order, so the nearest such event is found walking back.
 */
function closesCriticalSection(g: ExecGraph, u: number): boolean {
  for (let i = u - 1; i >= 0 && g.thread[i] === g.thread[u]; i--) {
    if (g.loc[i] === g.loc[u] && tagged(g, i, TAG.LKW | TAG.UL)) return tagged(g, i, TAG.LKW);
  }
  return false;
}

/** The sets and relations srcu-rscs is made of, fixed for a combination of paths. */
export interface SrcuParts { lock: EvSet; unlock: EvSet; dataNotUnlock: Rel; sameLoc: Rel }

export function srcuParts(g: ExecGraph): SrcuParts {
  const lock = setOf(g.n, (i) => tagged(g, i, TAG.SRCU_LOCK)), unlock = setOf(g.n, (i) => tagged(g, i, TAG.SRCU_UNLOCK));
  return {
    lock, unlock, dataNotUnlock: restrict(g.data, undefined, setMinus(setOf(g.n, () => true), unlock)),
    sameLoc: relOf(g.n, (i, j) => g.loc[i]! >= 0 && g.loc[i] === g.loc[j]),
  };
}

/**
 * The bell's srcu-rscs: srcu_read_lock → srcu_read_unlock of the same srcu_struct whose index
 * the lock's value reaches through data dependencies and, between threads or through memory,
 * reads-from (a store of the index another read returns; not through an unlock's own store).
 */
export function srcuMatches(p: SrcuParts, data: Rel, rf: Rel): Rel {
  return inter(restrict(seqs(restrict(star(seq(p.dataNotUnlock, rf)), p.lock), data), undefined, p.unlock), p.sameLoc);
}

/** The SRCU flags of one execution, given its srcu-rscs. `val` is each event's value, as a key. */
export function srcuFlags(g: ExecGraph, p: SrcuParts, rscs: Rel): string[] {
  const out: string[] = [];
  const matchedLocks = domainOf(rscs), matchedUnlocks = rangeOf(rscs);
  if (p.lock.some((w, k) => (w & ~matchedLocks[k]!) !== 0)) out.push("unmatched-srcu-lock");
  if (p.unlock.some((w, k) => (w & ~matchedUnlocks[k]!) !== 0)) out.push("unmatched-srcu-unlock");
  const pairs = rscs.pairs();
  if (pairs.some(([l, u], k) => pairs.some(([l2, u2], k2) => k2 > k && l2 === l && u2 !== u))) out.push("multiple-srcu-matches");
  if (pairs.some(([l, u]) => g.val[l] !== g.val[u])) out.push("srcu-bad-value-match");
  return out;
}

/**
 * Every flag some execution of this combination might raise, the data-race flag left out:
 * the static ones exactly, the SRCU ones over-approximated (srcu-rscs only grows with rf, so
 * an unmatched lock or unlock needs one unmatched without any rf, and two matches or a value
 * mismatch need them with every rf the values allow). A caller that only wants the verdict may
 * skip executions of a combination once it has seen all of these.
 */
export function possibleFlags(g: ExecGraph): string[] {
  const out = staticFlags(g);
  const p = srcuParts(g);
  if (p.lock.every((w) => w === 0) && p.unlock.every((w) => w === 0)) return out;
  const least = srcuFlags(g, p, srcuMatches(p, g.data, new Rel(g.n)));
  const anyRf = relOf(g.n, (w, r) => g.dir[w] === "W" && g.dir[r] === "R" && g.loc[w]! >= 0 && g.loc[w] === g.loc[r] &&
    g.val[w] === g.val[r] && !(g.thread[w] === g.thread[r] && w > r));
  const most = srcuFlags(g, p, srcuMatches(p, g.data, anyRf));
  out.push(...least.filter((f) => f.startsWith("unmatched-")), ...most.filter((f) => !f.startsWith("unmatched-")));
  return out;
}
