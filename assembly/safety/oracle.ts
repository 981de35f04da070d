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
// Shadow table: open addressing in kheap, keyed by (domain ctx, IOVA page); entries are
// never removed (the history is the point). Writers (the DMA API's map/unmap, on CPU
// workers) claim a key with compare-and-swap and update under the entry's sequence word;
// readers (device workers) validate with it, as the IOTLB does.
//
// Header (ORACLE_HEADER): +0 capacity  +4 mask  +8 table ptr  +12 violation ring ptr
//   +16 ring mask  +20 flags  +64 ring head (own line)  +128 counters (u64 × OC_COUNT)
// Entry (ORACLE_ENTRY): +0 seq u32  +4 state u32  +8 key u64  +16 pa u64  +24 prev pa u64
//   +32 mapped at u64  +40 unmapped at u64  +48 flushes begun at unmap u32  +52 gen u32
// Violation record (VIOLATION_SIZE): +0 kind u32  +4 seq u32  +8 iova u64  +16 pa u64
//   +24 expected pa u64  +32 unmapped at u64  +40 at u64  +48 sid u32  +52 state u32  +56 gen u32

import { counterAdd } from "../counters";

export const ORACLE_HEADER: u32 = 256;
export const ORACLE_ENTRY: u32 = 64;
export const VIOLATION_SIZE: u32 = 64;

const O_CAPACITY: u32 = 0;
const O_MASK: u32 = 4;
const O_TABLE: u32 = 8;
export const O_RING: u32 = 12;
export const O_RING_MASK: u32 = 16;
/** Non-zero once an update found no room: "never mapped" can no longer be told apart. */
const O_OVERFLOWED: u32 = 24;
export const O_RING_HEAD: u32 = 64;
export const O_COUNTERS: u32 = 128;

const E_SEQ: u32 = 0;
const E_STATE: u32 = 4;
const E_KEY: u32 = 8;
const E_PA: u32 = 16;
const E_PREV: u32 = 24;
const E_MAPPED_AT: u32 = 32;
const E_UNMAPPED_AT: u32 = 40;
const E_FLUSH_STARTED: u32 = 48;
const E_GEN: u32 = 52;

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

const EMPTY_KEY: u64 = 0;

@inline function keyOf(ctx: u32, iovaPage: u64): u64 {
  // +1 so that no real key is EMPTY_KEY.
  return ((<u64>ctx << 40) | (iovaPage & 0xff_ffff_ffff)) + 1;
}

@inline function hashOf(key: u64): u64 {
  let h = key * 0x9e3779b97f4a7c15;
  return h ^ (h >> 29);
}

export function oracleBytes(capacity: u32, ring: u32): u32 {
  return ORACLE_HEADER + capacity * ORACLE_ENTRY + ring * VIOLATION_SIZE;
}

/** Lay out an oracle in zeroed memory: `capacity` IOVA pages, `ring` violation records. */
export function oracleInit(o: u32, capacity: u32, ring: u32): void {
  store<u32>(o + O_CAPACITY, capacity);
  store<u32>(o + O_MASK, capacity - 1);
  store<u32>(o + O_TABLE, o + ORACLE_HEADER);
  store<u32>(o + O_RING, o + ORACLE_HEADER + capacity * ORACLE_ENTRY);
  store<u32>(o + O_RING_MASK, ring - 1);
}

@inline function count(o: u32, which: u32): void {
  counterAdd(o + O_COUNTERS + which * 8, 1);
}

/**
 * How far from its home slot a key may sit. Keys are only ever placed within this many
 * slots, so a lookup need not look further: a full (or badly clustered) shadow costs a
 * bounded probe per page — counted as "shadow full" — instead of a scan of the whole table.
 */
const MAX_PROBES: u32 = 128;

/** The entry for a key: found, or claimed if `claim`; 0 if absent (or no room near its home). */
function entryFor(o: u32, key: u64, claim: bool): u32 {
  const mask = load<u32>(o + O_MASK);
  const table = load<u32>(o + O_TABLE);
  let i = <u32>(hashOf(key) & <u64>mask);
  const limit = mask < MAX_PROBES ? mask : MAX_PROBES;
  for (let probes: u32 = 0; probes <= limit; probes++) {
    const e = table + i * ORACLE_ENTRY;
    const k = atomic.load<u64>(e + E_KEY);
    if (k == key) return e;
    if (k == EMPTY_KEY) {
      if (!claim) return 0;
      const won = atomic.cmpxchg<u64>(e + E_KEY, EMPTY_KEY, key);
      if (won == EMPTY_KEY || won == key) return e;
    }
    i = (i + 1) & mask;
  }
  return 0;
}

@inline function beginWrite(e: u32): u32 {
  // Writers of one IOVA page are serialised by the DMA API (one map or unmap at a time);
  // the sequence word only tells readers to retry.
  const seq = atomic.load<u32>(e + E_SEQ);
  atomic.store<u32>(e + E_SEQ, seq + 1);
  return seq;
}

@inline function endWrite(e: u32, seq: u32): void {
  atomic.store<u32>(e + E_SEQ, seq + 2);
}

/** The DMA API mapped `pages` pages at iovaPage → paPage in domain ctx, at time `now`. */
export function oracleMap(o: u32, ctx: u32, iovaPage: u64, paPage: u64, pages: u64, now: u64): void {
  for (let i: u64 = 0; i < pages; i++) {
    const e = entryFor(o, keyOf(ctx, iovaPage + i), true);
    if (e == 0) { shadowFull(o); continue; }
    const seq = beginWrite(e);
    const old = load<u32>(e + E_STATE);
    if (old != 0) store<u64>(e + E_PREV, load<u64>(e + E_PA));
    store<u64>(e + E_PA, paPage + i);
    store<u64>(e + E_MAPPED_AT, now);
    store<u32>(e + E_GEN, load<u32>(e + E_GEN) + 1);
    store<u32>(e + E_STATE, SH_MAPPED);
    endWrite(e, seq);
  }
}

/**
 * The DMA API unmapped `pages` pages: strictly (its invalidation completed before the call
 * returned) or lazily (left to the flush queue; `flushesStarted` is the domain's count of
 * flush-alls begun, SD_FLUSH_STARTED, read after the PTEs were cleared).
 */
export function oracleUnmap(o: u32, ctx: u32, iovaPage: u64, pages: u64, lazy: bool, flushesStarted: u32, now: u64): void {
  for (let i: u64 = 0; i < pages; i++) {
    const e = entryFor(o, keyOf(ctx, iovaPage + i), false);
    if (e == 0) continue;
    const seq = beginWrite(e);
    store<u64>(e + E_UNMAPPED_AT, now);
    store<u32>(e + E_FLUSH_STARTED, flushesStarted);
    store<u32>(e + E_STATE, lazy ? SH_UNMAPPED_LAZY : SH_UNMAPPED_STRICT);
    endWrite(e, seq);
  }
}

/**
 * The shadow of one IOVA page as it is now, into `snap` (SNAP_BYTES): taken when an access
 * starts, because the access may complete against a shadow that changed while it was in
 * flight — a stale translation found just before an invalidation completed, checked just
 * after the IOVA was reused, was still a legal access when it happened.
 */
export function oracleSnapshot(o: u32, ctx: u32, iovaPage: u64, flushGen: u32, snap: u32): void {
  store<u32>(snap + SN_STATE, 0);
  store<u32>(snap + SN_GEN, 0); // never mapped: generation 0
  store<u64>(snap + SN_PA, 0);
  store<u64>(snap + SN_PREV, 0);
  store<u32>(snap + SN_FG_NOW, flushGen);
  const e = entryFor(o, keyOf(ctx, iovaPage), false);
  if (e != 0) readEntry(e, snap);
}

export const SNAP_BYTES: u32 = 48;
const SN_STATE: u32 = 0;
const SN_FG_UNMAP: u32 = 4;
const SN_PA: u32 = 8;
const SN_UNMAPPED_AT: u32 = 16;
const SN_GEN: u32 = 24;
const SN_FG_NOW: u32 = 28;
const SN_PREV: u32 = 32;

/**
 * Looks a reader spends on an entry a writer is in before it gives up (the access is then
 * classed as unknown). A writer's section is a few stores, but its thread can be preempted
 * inside it for a scheduler time slice or more when workers outnumber cores; 64 looks
 * (well under a microsecond) misjudged accesses as never mapped. 2^28 looks is about a
 * quarter of a second: only a writer that died in its section runs into it.
 */
const READ_LOOKS: u32 = 1 << 28;

/** A consistent copy of an entry (retrying while a writer is in it; READ_LOOKS at most). */
function readEntry(e: u32, snap: u32): void {
  for (let tries: u32 = 0; tries < READ_LOOKS; tries++) {
    const seq = atomic.load<u32>(e + E_SEQ);
    if ((seq & 1) != 0) continue;
    store<u32>(snap + SN_STATE, atomic.load<u32>(e + E_STATE));
    store<u64>(snap + SN_PA, atomic.load<u64>(e + E_PA));
    store<u64>(snap + SN_UNMAPPED_AT, atomic.load<u64>(e + E_UNMAPPED_AT));
    store<u32>(snap + SN_FG_UNMAP, atomic.load<u32>(e + E_FLUSH_STARTED));
    store<u32>(snap + SN_GEN, atomic.load<u32>(e + E_GEN));
    store<u64>(snap + SN_PREV, atomic.load<u64>(e + E_PREV));
    if (atomic.load<u32>(e + E_SEQ) == seq) return;
  }
  store<u32>(snap + SN_STATE, 0);
}

@inline function classifySnap(snap: u32, reached: u64): u32 {
  return classify(load<u32>(snap + SN_STATE), load<u64>(snap + SN_PA), reached,
                  load<u32>(snap + SN_FG_UNMAP), load<u32>(snap + SN_FG_NOW));
}

@inline function acceptable(cls: u32): bool {
  return cls == AC_OK || cls == AC_LAZY_WINDOW || cls == AC_UNCHECKED;
}

/** An update found no room in the shadow. */
function shadowFull(o: u32): void {
  count(o, AC_FULL);
  if (atomic.load<u32>(o + O_OVERFLOWED) == 0) atomic.store<u32>(o + O_OVERFLOWED, 1);
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
function mappedDuring(before: u32, now: u32, reached: u64): bool {
  const later = <i32>(load<u32>(now + SN_GEN) - load<u32>(before + SN_GEN));
  if (later >= 1 && load<u64>(now + SN_PA) == reached) return true;
  if (later >= 2 && load<u64>(now + SN_PREV) == reached) return true;
  return later >= 3;
}

/**
 * Classify an access through IOVA page `iovaPage` of domain ctx that reached physical page
 * `paPage`; `flushGen` is the domain's count of completed flushes now. `before` (0 = none)
 * is the snapshot taken when the access started: the access is legal if it was legal then
 * or is now, or if it reached a mapping made while it was in flight (mappedDuring). A
 * violation is logged with what the shadow said. Returns the AC_* class.
 */
export function oracleCheck(o: u32, ctx: u32, sid: u32, iovaPage: u64, paPage: u64, flushGen: u32,
                            now: u64, scratch: u32, before: u32): u32 {
  oracleSnapshot(o, ctx, iovaPage, flushGen, scratch);
  let cls = classifySnap(scratch, paPage);
  if (cls == AC_UNKNOWN && atomic.load<u32>(o + O_OVERFLOWED) != 0) cls = AC_UNCHECKED;
  if (!acceptable(cls) && before != 0) {
    const earlier = classifySnap(before, paPage);
    if (acceptable(earlier)) cls = earlier;
    else if (mappedDuring(before, scratch, paPage)) cls = AC_OK;
  }
  count(o, cls);
  if (!acceptable(cls)) {
    logViolation(o, cls, sid, iovaPage, paPage, load<u64>(scratch + SN_PA), load<u64>(scratch + SN_UNMAPPED_AT),
                 now, load<u32>(scratch + SN_STATE), load<u32>(scratch + SN_GEN));
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
export function oracleFreedTable(o: u32, sid: u32, iovaPage: u64, tablePa: u64, now: u64): void {
  count(o, AC_FREED_TABLE);
  logViolation(o, AC_FREED_TABLE, sid, iovaPage, tablePa >> 12, 0, 0, now, 0, 0);
}

function logViolation(o: u32, kind: u32, sid: u32, iovaPage: u64, reached: u64, expected: u64,
                      unmappedAt: u64, now: u64, state: u32, gen: u32): void {
  const seq = atomic.add<u32>(o + O_RING_HEAD, 1);
  const r = load<u32>(o + O_RING) + (seq & load<u32>(o + O_RING_MASK)) * VIOLATION_SIZE;
  atomic.store<u32>(r + 4, 0);
  store<u32>(r, kind);
  store<u64>(r + 8, iovaPage);
  store<u64>(r + 16, reached);
  store<u64>(r + 24, expected);
  store<u64>(r + 32, unmappedAt);
  store<u64>(r + 40, now);
  store<u32>(r + 48, sid);
  store<u32>(r + 52, state);
  store<u32>(r + 56, gen);
  atomic.store<u32>(r + 4, seq + 1);
}
