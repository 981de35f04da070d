// The safety oracle: a shadow of what the DMA API says is mapped — per domain and IOVA
// page: to which physical page, since when, unmapped when and how (strict or lazy), and
// which page it was mapped to before — against which every device access is checked.
// (DESIGN.md, "Safety oracle"; the seed race's use-after-free is the case it exists for.)
//
// Classification of an access that reached physical page `p` through IOVA page `v` (an
// access is judged by the shadow when it started and when it completed, and is legal if it
// was legal at either end or reached a mapping made in between, see oracleCheck):
//   OK           v is mapped to p
//   LAZY_WINDOW  v was unmapped lazily and no flush begun since has completed: accepted, counted
//   AFTER_STRICT v was unmapped strictly (its invalidation had completed): violation
//   AFTER_FLUSH  v was unmapped lazily and a flush of its domain begun after the unmap has
//                completed since (more flushes completed than had begun at the unmap — the
//                flush queue's own counter rule, §2.7): violation
//   USE_AFTER_FREE v is mapped again, to another page, and the access reached an old one:
//                always a violation (a stale translation outliving the IOVA's reuse)
//   UNKNOWN      v was never mapped through the DMA API: violation
//   FREED_TABLE  the walk went through a table page that had been freed: violation
//
// Shadow table: open addressing in kheap, keyed by (domain ctx, pair of neighbouring IOVA
// pages), the whole of both: a context's 32 bits and a pair's 40 do not fit one u64, and
// folded into one, VMIDs 1 and 257 would share a shadow. Entries are never removed (the
// history is the point). The oracle is sharing of the simulator's own, not the kernel's, so
// it should move as few lines between workers as it can: the keys sit in an array of their
// own (written once, when claimed) and the two pages of a pair share one line of entries,
// so the line a map writes after the other CPU unmapped that IOVA (lazy domains on 6.7+
// hand IOVAs between CPUs through the depot) carries two pages' history, not one. Writers
// (the DMA API's map/unmap, on CPU workers) claim a pair's key with compare-and-swap and
// update a page's entry under its sequence word; readers (device workers) validate with
// it, as the IOTLB does.
//
// An oracle is one kheap block:
//
//   o ─► OracleHeader (ORACLE_HEADER bytes) │ keys: capacity × PairKey
//        │ pairs: capacity × CACHE_LINE (two ShadowEntry each) │ violations: ring × Violation
//
// `capacity` pairs hold at least `capacity` pages however scattered, twice that when
// neighbours are mapped together.

import { counterAdd } from "../counters";
import { CACHE_LINE, TS_FQ_STAMP, TS_ORACLE_BEFORE, TS_ORACLE_NOW } from "../memmap";
import { giveUpWait, loadToWrite, waitedForStopped } from "../sync";

/** The oracle's bookkeeping, at the start of its kheap block (set by oracleInit). */
@unmanaged export class OracleHeader {
  /** Pairs of shadow entries, and their keys (a power of two). */
  capacity: u32;
  /** capacity − 1. */
  mask: u32;
  /** The first pair's entries (capacity pairs, CACHE_LINE apart; its key at keys + PAIR_KEY·i). */
  table: ShadowEntry;
  /** The violation log: ringMask + 1 Violations, VIOLATION_SIZE apart, a ring indexed by ringHead. */
  ring: Violation;
  ringMask: u32;
  /** The keys of the pairs: capacity PairKeys. */
  keys: PairKey;
  /** Non-zero once an update found no room: "never mapped" can no longer be told apart. */
  overflowed: u32;
  _pad0: u32; _pad1: u64; _pad2: u64; _pad3: u64; _pad4: u64;
  /** Violations logged so far (wrapping): bumped atomically by the device that found one. */
  ringHead: u32;
  _pad5: u32; _pad6: u64; _pad7: u64; _pad8: u64; _pad9: u64; _pad10: u64; _pad11: u64; _pad12: u64;
  /** Accesses by class: u64 counters (counterAdd) at counters + 8·AC_*, OC_COUNT of them. */
  counters: u64;
}

export const ORACLE_HEADER: u32 = 256;
if (offsetof<OracleHeader>("ringHead") % CACHE_LINE != 0) ERROR("OracleHeader.ringHead must start its own cache line");
if (offsetof<OracleHeader>("counters") % CACHE_LINE != 0) ERROR("OracleHeader.counters must start its own cache line");

/**
 * The shadow of one IOVA page of one domain: what the DMA API last did with it. Its pair's
 * key is claimed by compare-and-swap; then it is written only by the DMA API's map and unmap
 * of that page (one at a time), as a seqlock for the devices that read it. 32 bytes, so that
 * a pair of neighbours shares a line: the state rides in the sequence word, and the two
 * physical pages (each below 2^PAGE_BITS) share 12 bytes.
 */
@unmanaged export class ShadowEntry {
  /** Bits 0–29: the sequence count, odd while a writer is in the entry; 30–31: the state (SH_*; 0: never mapped). */
  seq: u32;
  /** How many times it was mapped: its mapping generation. */
  gen: u32;
  /** The domain's flush-alls begun (SmmuDomain.flushStarted) when it was last unmapped. */
  flushStarted: u32;
  /** The previous page's bits from 64 − PAGE_BITS up (see `pages`). */
  prevHigh: u32;
  /** Bits 0 to PAGE_BITS − 1: the physical page it is (or was last) mapped to; above: the previous page's low bits. */
  pages: u64;
  /** When it was last unmapped, in jiffies. */
  unmappedAt: u64;
}

export const ORACLE_ENTRY: u32 = 32;
if (offsetof<ShadowEntry>() > ORACLE_ENTRY) ERROR("ShadowEntry outgrew ORACLE_ENTRY");
if (ORACLE_ENTRY * 2 != CACHE_LINE) ERROR("a pair of ShadowEntries must fill one cache line");

/**
 * Physical page numbers the shadow keeps: a PA below 2^60. The DMA API's PAs are below 2^48
 * (OAS) and the raw ABI's below 2^53 (its f64), so nothing is lost.
 */
const PAGE_BITS: u32 = 48;
const PAGE_MASK: u64 = (<u64>1 << PAGE_BITS) - 1;
const SEQ_STATE_SHIFT: u32 = 30;
const SEQ_COUNT_MASK: u32 = (1 << SEQ_STATE_SHIFT) - 1;

/** The current page, from an entry's `pages`. */
@inline function pageIn(pages: u64): u64 { return pages & PAGE_MASK; }
/** The previous page, from an entry's `pages` and `prevHigh`. */
@inline function prevIn(pages: u64, prevHigh: u32): u64 {
  return (pages >> PAGE_BITS) | (<u64>prevHigh << (64 - PAGE_BITS));
}
@inline function setPages(e: ShadowEntry, page: u64, prev: u64): void {
  e.pages = (page & PAGE_MASK) | (prev << PAGE_BITS);
  e.prevHigh = <u32>(prev >> (64 - PAGE_BITS));
}

/**
 * Which pair of entries a slot holds. `pair` is claimed by compare-and-swap (EMPTY while
 * free), then the claimer writes `ctx`: 0 until then. Written once: after that the slot's
 * line is only read, and stays in every CPU's cache.
 */
@unmanaged export class PairKey {
  /** The pair's index (IOVA page >> 1) + 1; EMPTY while the slot is free. */
  pair: u64;
  /** The domain's context (makeCtx) + 1; 0 until the claimer has written it. */
  ctx: u64;
}

const PAIR_KEY: u32 = 16;
if (offsetof<PairKey>() != PAIR_KEY) ERROR("PairKey must be PAIR_KEY bytes");
if (CACHE_LINE % PAIR_KEY != 0) ERROR("PairKeys must not straddle lines");

/**
 * A violation as logged: what the access did and what the shadow said. `seq` is cleared
 * first and set last (to the sequence number + 1) so that a reader can tell a record in
 * progress. Read by the TypeScript side (src/safety/oracle.ts).
 */
@unmanaged export class Violation {
  /** The access's class (AC_*). */
  kind: u32;
  /** Sequence number + 1 once complete, 0 while being written. */
  seq: u32;
  /** The IOVA page. */
  iova: u64;
  /** The physical page the access reached (AC_FREED_TABLE: the table's PA). */
  reached: u64;
  /** The page the shadow had it mapped to. */
  expected: u64;
  /** When the shadow saw it unmapped, in jiffies. */
  unmappedAt: u64;
  /** When the access was checked, in jiffies. */
  at: u64;
  /** The stream that made the access. */
  sid: u32;
  /** The shadow's state (SH_*). */
  state: u32;
  /** The shadow's mapping generation. */
  gen: u32;
}

/** Read by the TypeScript side: the violation ring's stride. */
export const VIOLATION_SIZE: u32 = 64;
if (offsetof<Violation>() > VIOLATION_SIZE) ERROR("Violation outgrew VIOLATION_SIZE");
// The fields the TypeScript side reads (src/safety/oracle.ts Oracle.read), by these names.
export const V_KIND: u32 = offsetof<Violation>("kind");
export const V_IOVA: u32 = offsetof<Violation>("iova");
export const V_REACHED: u32 = offsetof<Violation>("reached");
export const V_EXPECTED: u32 = offsetof<Violation>("expected");
export const V_UNMAPPED_AT: u32 = offsetof<Violation>("unmappedAt");
export const V_AT: u32 = offsetof<Violation>("at");
export const V_SID: u32 = offsetof<Violation>("sid");
export const V_GEN: u32 = offsetof<Violation>("gen");

/**
 * A copy of one shadow entry, taken when an access starts and again when it completes (in
 * the thread slot: TS_ORACLE_BEFORE, TS_ORACLE_NOW).
 */
@unmanaged export class ShadowSnapshot {
  /** The entry's state (SH_*; 0 when never mapped or unreadable). */
  state: u32;
  /** The entry's flushStarted: flush-alls begun at its unmap. */
  flushStartedAtUnmap: u32;
  /** The entry's physical page. */
  pa: u64;
  /** The entry's unmappedAt. */
  unmappedAt: u64;
  /** The entry's generation (0: never mapped). */
  gen: u32;
  /** The domain's flush-alls completed when the snapshot was taken (SmmuDomain.flushGen). */
  flushGenNow: u32;
  /** The entry's previous physical page. */
  prev: u64;
}

if (offsetof<ShadowSnapshot>() > TS_ORACLE_NOW - TS_ORACLE_BEFORE) ERROR("ShadowSnapshot outgrew TS_ORACLE_BEFORE");
if (offsetof<ShadowSnapshot>() > TS_FQ_STAMP - TS_ORACLE_NOW) ERROR("ShadowSnapshot outgrew TS_ORACLE_NOW");

// Read by the TypeScript side (src/safety/oracle.ts, src/tasks/dma.ts).
export const O_RING: u32 = offsetof<OracleHeader>("ring");
export const O_RING_MASK: u32 = offsetof<OracleHeader>("ringMask");
export const O_RING_HEAD: u32 = offsetof<OracleHeader>("ringHead");
export const O_COUNTERS: u32 = offsetof<OracleHeader>("counters");

// Shadow states.
export const SH_MAPPED: u32 = 1;
export const SH_UNMAPPED_STRICT: u32 = 2;
export const SH_UNMAPPED_LAZY: u32 = 3;

// Access classes (also the counters' indexes).
export const AC_OK: u32 = 0;
export const AC_LAZY_WINDOW: u32 = 1;
export const AC_AFTER_STRICT: u32 = 2;
export const AC_AFTER_FLUSH: u32 = 3;
export const AC_USE_AFTER_FREE: u32 = 4;
export const AC_UNKNOWN: u32 = 5;
export const AC_FREED_TABLE: u32 = 6;
export const AC_FULL: u32 = 7; //   shadow table full: an update could not be recorded
/**
 * An access to a page the shadow has no record of, after the shadow ran out of room: the
 * page may have been mapped in an update that could not be recorded, so the oracle cannot
 * say "unknown" — not a violation, and counted, so that a report can say how much went
 * unchecked.
 */
export const AC_UNCHECKED: u32 = 8;
export const OC_COUNT: u32 = 9;
if (offsetof<OracleHeader>("counters") + OC_COUNT * 8 > ORACLE_HEADER) ERROR("OracleHeader outgrew ORACLE_HEADER");

if (SH_UNMAPPED_LAZY > (0xffff_ffff >> SEQ_STATE_SHIFT)) ERROR("the shadow states must fit above the sequence count");

const EMPTY: u64 = 0;

/** The key word of the pair holding IOVA page `iovaPage` (never EMPTY). */
@inline function pairOf(iovaPage: u64): u64 {
  return (iovaPage >> 1) + 1;
}

@inline function hashOf(pair: u64, ctx: u64): u64 {
  let h = (pair ^ (ctx << 40) ^ (ctx >> 24)) * 0x9e3779b97f4a7c15;
  return h ^ (h >> 29);
}

/** The keys' bytes, padded so that the pairs start on a line. */
@inline function keysBytes(capacity: u32): u32 {
  return (capacity * PAIR_KEY + CACHE_LINE - 1) & ~(CACHE_LINE - 1);
}

export function oracleBytes(capacity: u32, ring: u32): u32 {
  return ORACLE_HEADER + keysBytes(capacity) + capacity * CACHE_LINE + ring * VIOLATION_SIZE;
}

/** Lay out an oracle in zeroed memory: `capacity` pairs of IOVA pages, `ring` violation records. */
export function oracleInit(o: OracleHeader, capacity: u32, ring: u32): void {
  const base = changetype<u32>(o);
  o.capacity = capacity;
  o.mask = capacity - 1;
  o.keys = changetype<PairKey>(base + ORACLE_HEADER);
  o.table = changetype<ShadowEntry>(base + ORACLE_HEADER + keysBytes(capacity));
  o.ring = changetype<Violation>(changetype<u32>(o.table) + capacity * CACHE_LINE);
  o.ringMask = ring - 1;
}

@inline function count(o: OracleHeader, which: u32): void {
  counterAdd(changetype<u32>(o) + O_COUNTERS + which * 8, 1);
}

@inline function overflowedAddr(o: OracleHeader): u32 {
  return changetype<u32>(o) + offsetof<OracleHeader>("overflowed");
}

@inline function seqAddr(e: ShadowEntry): u32 { return changetype<u32>(e) + offsetof<ShadowEntry>("seq"); }

/**
 * How far from its home slot a key may sit. Keys are only ever placed within this many
 * slots, so a lookup need not look further: a full (or badly clustered) shadow costs a
 * bounded probe per page — counted as "shadow full" — instead of a scan of the whole table.
 */
const MAX_PROBES: u32 = 128;

/**
 * The entry of IOVA page `iovaPage` of domain ctx: its pair found, or claimed if `claim`;
 * null if absent (or no room near its home). Keys are written once, when claimed, so the
 * probe's reads share their lines for good; only the entries move between writers.
 */
function entryFor(o: OracleHeader, ctx: u32, iovaPage: u64, claim: bool): ShadowEntry | null {
  const pair = pairOf(iovaPage);
  const want = <u64>ctx + 1;
  const mask = o.mask;
  let i = <u32>(hashOf(pair, want) & <u64>mask);
  const limit = mask < MAX_PROBES ? mask : MAX_PROBES;
  for (let probes: u32 = 0; probes <= limit; probes++) {
    const k = changetype<PairKey>(changetype<u32>(o.keys) + i * PAIR_KEY);
    let p = atomic.load<u64>(pairAddr(k));
    if (p == EMPTY) {
      if (!claim) return null;
      p = atomic.cmpxchg<u64>(pairAddr(k), EMPTY, pair);
      if (p == EMPTY) {
        atomic.store<u64>(ctxAddr(k), want);
        return entryAt(o, i, iovaPage);
      }
    }
    if (p == pair && keyCtx(k, claim) == want) return entryAt(o, i, iovaPage);
    i = (i + 1) & mask;
  }
  return null;
}

@inline function pairAddr(k: PairKey): u32 { return changetype<u32>(k) + offsetof<PairKey>("pair"); }
@inline function ctxAddr(k: PairKey): u32 { return changetype<u32>(k) + offsetof<PairKey>("ctx"); }

/** Page `iovaPage`'s entry in the pair at slot `i`. */
@inline function entryAt(o: OracleHeader, i: u32, iovaPage: u64): ShadowEntry {
  return changetype<ShadowEntry>(changetype<u32>(o.table) + i * CACHE_LINE + <u32>(iovaPage & 1) * ORACLE_ENTRY);
}

/**
 * The context of a claimed slot (+ 1). Its claimer writes it just after winning the slot; a
 * writer (`wait`: the map, which would otherwise claim a second slot for the same pair when
 * its neighbour page is being mapped on another CPU) waits for it. A reader need not: the
 * pair had no entries before, so whatever page it looks for is not recorded yet. A claimer
 * that never writes it is a worker stopped mid-task, and the wait gives up as every wait on
 * one does (sync.ts waitedForStopped).
 */
function keyCtx(k: PairKey, wait: bool): u64 {
  let c = atomic.load<u64>(ctxAddr(k));
  for (let looks: u32 = 0; c == 0 && wait; looks++) {
    if (waitedForStopped(looks)) giveUpWait();
    c = atomic.load<u64>(ctxAddr(k));
  }
  return c;
}

/**
 * A writer's first look at the entry: its sequence word (even: writers of one IOVA page are
 * serialised by the DMA API, one map or unmap at a time). Read for writing (loadToWrite): the
 * entry of an IOVA the other CPU unmapped last would otherwise move here twice, shared by
 * the read and taken again by the write.
 */
@inline function seqForWrite(e: ShadowEntry): u32 {
  return loadToWrite<u32>(seqAddr(e));
}

/** The writer enters the entry: the sequence word odd, telling readers to retry. */
@inline function beginWrite(e: ShadowEntry, seq: u32): void {
  atomic.store<u32>(seqAddr(e), nextSeq(seq, 1, stateIn(seq)));
}

/** The writer leaves the entry in `state`: the sequence word even again, and the state in it. */
@inline function endWrite(e: ShadowEntry, seq: u32, state: u32): void {
  atomic.store<u32>(seqAddr(e), nextSeq(seq, 2, state));
}

/** The state (SH_*) a sequence word holds. */
@inline function stateIn(seq: u32): u32 { return seq >> SEQ_STATE_SHIFT; }

/** Sequence word `seq` counted on by `by` (the count wraps within its bits), holding `state`. */
@inline function nextSeq(seq: u32, by: u32, state: u32): u32 {
  return ((seq + by) & SEQ_COUNT_MASK) | (state << SEQ_STATE_SHIFT);
}

/**
 * The entry of `iovaPage`, where `before` is that of the page before it (null: none found, or
 * none asked for): an odd page's pair is its even neighbour's, so a run of pages looks each
 * pair up once.
 */
@inline function entryAfter(o: OracleHeader, ctx: u32, iovaPage: u64, before: ShadowEntry | null, claim: bool): ShadowEntry | null {
  if ((iovaPage & 1) != 0 && before) return changetype<ShadowEntry>(changetype<u32>(before) + ORACLE_ENTRY);
  return entryFor(o, ctx, iovaPage, claim);
}

/** The DMA API mapped `pages` pages at iovaPage → paPage in domain ctx. */
export function oracleMap(o: OracleHeader, ctx: u32, iovaPage: u64, paPage: u64, pages: u64): void {
  let e: ShadowEntry | null = null;
  for (let i: u64 = 0; i < pages; i++) {
    e = entryAfter(o, ctx, iovaPage + i, e, true);
    if (!e) { shadowFull(o); continue; }
    const seq = seqForWrite(e);
    beginWrite(e, seq);
    const was = e.pages;
    setPages(e, paPage + i, stateIn(seq) != 0 ? pageIn(was) : prevIn(was, e.prevHigh));
    e.gen = e.gen + 1;
    endWrite(e, seq, SH_MAPPED);
  }
}

/**
 * The DMA API unmapped `pages` pages: strictly (its invalidation completed before the call
 * returned) or lazily (left to the flush queue; `flushesStarted` is the domain's count of
 * flush-alls begun, SmmuDomain.flushStarted, read after the PTEs were cleared). A page never
 * mapped (its neighbour's pair, or none) keeps no record.
 */
export function oracleUnmap(o: OracleHeader, ctx: u32, iovaPage: u64, pages: u64, lazy: bool, flushesStarted: u32,
                            now: u64): void {
  let e: ShadowEntry | null = null;
  for (let i: u64 = 0; i < pages; i++) {
    e = entryAfter(o, ctx, iovaPage + i, e, false);
    if (!e) continue;
    const seq = seqForWrite(e);
    if (stateIn(seq) == 0) continue;
    beginWrite(e, seq);
    e.unmappedAt = now;
    e.flushStarted = flushesStarted;
    endWrite(e, seq, lazy ? SH_UNMAPPED_LAZY : SH_UNMAPPED_STRICT);
  }
}

/**
 * The shadow of one IOVA page as it is now, into `snap`: taken when an access starts,
 * because the access may complete against a shadow that changed while it was in flight — a
 * stale translation found just before an invalidation completed, checked just after the
 * IOVA was reused, was still a legal access when it happened.
 */
export function oracleSnapshot(o: OracleHeader, ctx: u32, iovaPage: u64, flushGen: u32, snap: u32): void {
  const sn = changetype<ShadowSnapshot>(snap);
  sn.state = 0;
  sn.gen = 0; // never mapped: generation 0
  sn.pa = 0;
  sn.prev = 0;
  sn.flushGenNow = flushGen;
  const e = entryFor(o, ctx, iovaPage, false);
  if (e) readEntry(e, sn);
}

/**
 * Looks a reader spends on an entry a writer is in before it gives up (the access is then
 * classed as unknown). A writer's section is a few stores, but its thread can be preempted
 * inside it for a scheduler time slice or more when workers outnumber cores; 64 looks
 * (well under a microsecond) misjudged accesses as never mapped. 2^28 looks is about a
 * quarter of a second: only a writer that died in its section runs into it.
 */
const READ_LOOKS: u32 = 1 << 28;

/** A consistent copy of an entry (retrying while a writer is in it; READ_LOOKS at most). */
function readEntry(e: ShadowEntry, snap: ShadowSnapshot): void {
  const a = changetype<u32>(e);
  for (let tries: u32 = 0; tries < READ_LOOKS; tries++) {
    const seq = atomic.load<u32>(seqAddr(e));
    if ((seq & 1) != 0) continue;
    const pages = atomic.load<u64>(a + offsetof<ShadowEntry>("pages"));
    const prevHigh = atomic.load<u32>(a + offsetof<ShadowEntry>("prevHigh"));
    snap.unmappedAt = atomic.load<u64>(a + offsetof<ShadowEntry>("unmappedAt"));
    snap.flushStartedAtUnmap = atomic.load<u32>(a + offsetof<ShadowEntry>("flushStarted"));
    snap.gen = atomic.load<u32>(a + offsetof<ShadowEntry>("gen"));
    if (atomic.load<u32>(seqAddr(e)) == seq) {
      snap.state = stateIn(seq);
      snap.pa = pageIn(pages);
      snap.prev = prevIn(pages, prevHigh);
      return;
    }
  }
  snap.state = 0;
}

@inline function classifySnap(snap: ShadowSnapshot, reached: u64): u32 {
  return classify(snap.state, snap.pa, reached, snap.flushStartedAtUnmap, snap.flushGenNow);
}

@inline function acceptable(cls: u32): bool {
  return cls == AC_OK || cls == AC_LAZY_WINDOW || cls == AC_UNCHECKED;
}

/** An update found no room in the shadow. */
function shadowFull(o: OracleHeader): void {
  count(o, AC_FULL);
  if (atomic.load<u32>(overflowedAddr(o)) == 0) atomic.store<u32>(overflowedAddr(o), 1);
}

/**
 * Whether the access may have reached a mapping made after it started (`before`) and by the
 * time it completed (`now`): the IOVA was mapped to that page at an instant inside the
 * access. This is how a walk taken by a thread that was preempted across a map, unmap and
 * remap of the IOVA finds a page that neither end of the access knows. The shadow
 * remembers the current and the previous page, so the two latest mappings are checked by
 * page. If the IOVA was remapped three or more times while the access was in flight, the
 * page it reached may be one the shadow has forgotten: the oracle cannot tell, and gives the
 * access the benefit of the doubt (its blind spot — only a translation stalled across
 * several remaps of the very IOVA it translates reaches it; a stale TLB entry that
 * outlives a reuse is found by every access quick enough to see one generation).
 */
function mappedDuring(before: ShadowSnapshot, now: ShadowSnapshot, reached: u64): bool {
  const later = <i32>(now.gen - before.gen);
  if (later >= 1 && now.pa == reached) return true;
  if (later >= 2 && now.prev == reached) return true;
  return later >= 3;
}

/**
 * Classify an access through IOVA page `iovaPage` of domain ctx that reached physical page
 * `paPage`; `flushGen` is the domain's count of completed flushes now. `before` (0 = none)
 * is the snapshot taken when the access started: the access is legal if it was legal then
 * or is now, or if it reached a mapping made while it was in flight (mappedDuring). A
 * violation is logged with what the shadow said. `scratch` receives the snapshot now.
 * Returns the AC_* class.
 */
export function oracleCheck(o: OracleHeader, ctx: u32, sid: u32, iovaPage: u64, paPage: u64, flushGen: u32,
                            now: u64, scratch: u32, before: u32): u32 {
  oracleSnapshot(o, ctx, iovaPage, flushGen, scratch);
  const snap = changetype<ShadowSnapshot>(scratch);
  let cls = classifySnap(snap, paPage);
  if (cls == AC_UNKNOWN && atomic.load<u32>(overflowedAddr(o)) != 0) cls = AC_UNCHECKED;
  if (!acceptable(cls) && before != 0) {
    const earlier = classifySnap(changetype<ShadowSnapshot>(before), paPage);
    if (acceptable(earlier)) cls = earlier;
    else if (mappedDuring(changetype<ShadowSnapshot>(before), snap, paPage)) cls = AC_OK;
  }
  count(o, cls);
  if (!acceptable(cls)) {
    logViolation(o, cls, sid, iovaPage, paPage, snap.pa, snap.unmappedAt, now, snap.state, snap.gen);
  }
  return cls;
}

/** `startedAtUnmap`: flushes begun at the unmap; `fgNow`: flushes completed now (both wrap). */
function classify(state: u32, pa: u64, reached: u64, startedAtUnmap: u32, fgNow: u32): u32 {
  if (state == SH_MAPPED) return reached == pa ? AC_OK : AC_USE_AFTER_FREE;
  if (state == SH_UNMAPPED_STRICT) return AC_AFTER_STRICT;
  if (state == SH_UNMAPPED_LAZY) return <i32>(fgNow - startedAtUnmap) > 0 ? AC_AFTER_FLUSH : AC_LAZY_WINDOW;
  return AC_UNKNOWN;
}

/** A walk went through a table page that was not allocated at the time. */
export function oracleFreedTable(o: OracleHeader, sid: u32, iovaPage: u64, tablePa: u64, now: u64): void {
  count(o, AC_FREED_TABLE);
  logViolation(o, AC_FREED_TABLE, sid, iovaPage, tablePa >> 12, 0, 0, now, 0, 0);
}

function logViolation(o: OracleHeader, kind: u32, sid: u32, iovaPage: u64, reached: u64, expected: u64,
                      unmappedAt: u64, now: u64, state: u32, gen: u32): void {
  const seq = atomic.add<u32>(changetype<u32>(o) + O_RING_HEAD, 1);
  const r = changetype<Violation>(changetype<u32>(o.ring) + (seq & o.ringMask) * VIOLATION_SIZE);
  const done = changetype<u32>(r) + offsetof<Violation>("seq");
  atomic.store<u32>(done, 0);
  r.kind = kind;
  r.iova = iovaPage;
  r.reached = reached;
  r.expected = expected;
  r.unmappedAt = unmappedAt;
  r.at = now;
  r.sid = sid;
  r.state = state;
  r.gen = gen;
  atomic.store<u32>(done, seq + 1);
}
