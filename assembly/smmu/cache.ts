// A translation cache of the SMMU: set-associative, tagged by ASID/VMID, each entry sized by
// the descriptor it came from. The IOTLB (leaf translations), the per-device micro-TLB and
// the per-level walk caches (next-table addresses) are all instances of it. Geometry and
// replacement follow gem5's SMMUv3 model (reference anchors.md §3); the data layout is ours.
//
// Concurrency: any number of device workers look entries up while others fill them and
// CPUs' commands invalidate them. Writers of a set take its lock; readers take none and
// validate with the entry's sequence word (a seqlock), so a lookup never returns a torn
// entry: a result is either a whole entry as some writer left it, or a miss.
//
// No fill may outlive an invalidation that raced the translation it came from (the
// architecture's promise: a completed TLBI + CMD_SYNC covers translations in flight). A
// translation about to fill takes the set's lock, announces the entry's size and context (and
// tag, in its filter), and only then reads again what it is about to cache — the
// descriptor, or the IOTLB entry a micro-TLB copies — filling only if that is unchanged.
// The descriptor an invalidation covers was changed before the invalidation began, so an
// invalidation that looked at the set before the lock was taken (or skipped it, the size or
// tag not announced yet) is followed by the second read, which sees the change; one that
// looks after waits for the lock and then finds the entry. Only the set being filled is
// touched: CPUs invalidating their own buffers write nothing that every other worker's
// translations read.
//
// A cache is one kheap block: its CacheHeader, then its entries (sets × ways CacheEntry,
// set after set), then a line per set holding its lock and round-robin cursor, then a tag
// filter on lines of its own:
//
//   c ─► CacheHeader (CACHE_HEADER bytes) │ entries │ set lines: sets × (lock u32, cursor u32, LRU clock u32, random state u32, …)
//        │ tag filter: FILTER_BYTES (one set), sets × FILTER_SET_BITS / 8 (more)
//
// A line per set, not a word: CPUs whose buffers alternate pages fill neighbouring sets, and
// sixteen sets' locks on one line made every fill of one worker take that line from the other.
//
//   meta: bit 0 valid · bit 1 read · bit 2 write · bit 3 leaf · bit 4 unprivileged
//         bits 8..15 size shift · bits 16..17 level · bits 24..25 stage

import { currentSlot, lockAcquire, lockRelease } from "../sync";
import { counterAdd } from "../counters";
import { CACHE_LINE, FRAME_SIZE } from "../memmap";
import { MAX_ORDER } from "../phys";
import { stampLive } from "./context-gen";

/** The cache's bookkeeping, at the start of its kheap block. */
@unmanaged export class CacheHeader {
  /** Sets (1 for a fully associative cache): fixed at cacheInit. */
  sets: u32;
  /** Ways per set: fixed at cacheInit. */
  ways: u32;
  /** Replacement policy (POLICY_*): fixed at cacheInit. */
  policy: u32;
  /** The first entry (set s, way w at entries + (s · ways + w) · CACHE_ENTRY_SIZE). */
  entries: CacheEntry;
  /** The line of set 0 (of set s: locks + s · SET_LINE): its lock, taken by fills and invalidations, never by lookups, then the set's replacement state (SET_*). */
  locks: u32;
  /** Bits of the tag filter (filterBitsFor): fixed at cacheInit. */
  filterBits: u32;
  /**
   * Entry sizes this cache has ever held: bit s set once an entry of 2^s bytes was filled
   * (atomic or, by fills; read by lookups and invalidations to skip sizes never seen).
   */
  shiftsSeen: u64;
  /** The tag filter (see FILTER_BYTES): fixed at cacheInit. Every cache has one. */
  filter: u32;
  /**
   * The SMMU's context table (context-gen.ts), 0 = none: entries are then stamped with their
   * context's generation (in `age`) and die when it moves. Not for LRU caches (`age` is theirs).
   */
  gens: u32;
  /** Where dead entries this cache clears are also counted (the SMMU's statistic), 0 = nowhere. */
  invStat: u32;
  _pad1: u32;
  /**
   * The contexts this cache has ever held, as a filter: bit h(ASID) of the low half and bit
   * 32 + h(VMID) of the high half set once a fill of that context announced itself (atomic or,
   * by fills; read by invalidations to skip a cache that never held their context). See CTX_SEEN.
   */
  ctxSeen: u64;
  _pad3: u64;
  // Statistics (u64, counterAdd), on their own line: every lookup adds to one of them.
  /** Lookups that hit. */
  hits: u64;
  /** Lookups that missed. */
  misses: u64;
  /** Entries written by fills (new or refreshed). */
  fills: u64;
  /** Fills that had to evict a valid entry. */
  evictions: u64;
  /** Entries removed by invalidations. */
  invalidated: u64;
}

/** Bytes before the first entry (the header, with room to grow). */
export const CACHE_HEADER: u32 = 128;
if (offsetof<CacheHeader>() > CACHE_HEADER) ERROR("CacheHeader outgrew CACHE_HEADER");
if (offsetof<CacheHeader>("hits") % CACHE_LINE != 0) ERROR("CacheHeader.hits must start its own cache line");

/**
 * One cached translation (a leaf in the IOTLB and micro-TLBs, a next-level table in a walk
 * cache). Written only under its set's lock, as a seqlock: `seq` odd while it is written.
 */
@unmanaged export class CacheEntry {
  /** Sequence word: odd while a writer is in the entry; readers retry on a change. */
  seq: u32;
  /** Valid, permissions, leaf, size, level and stage (the meta bits above; makeMeta). */
  meta: u32;
  /** The address it covers, va >> size shift. */
  tag: u64;
  /** The context it belongs to: ASID | VMID << 16 (makeCtx). */
  ctx: u32;
  /**
   * LRU caches: the age (its set's clock when last used), a hint written without the lock
   * on hits. Caches with generations (CacheHeader.gens): the stamp of the fill (context-gen.ts).
   */
  age: u32;
  /** Output address: the PA of the block or page (leaf), or of the next-level table. */
  out: u64;
}

/**
 * What a lookup copies out of the entry it hit: a prefix of the translation's result record
 * (translate.ts AccessResult, which checks that it starts with this layout). The word
 * between the two fields is the caller's: a lookup leaves it alone.
 */
@unmanaged export class CacheHit {
  /** The entry's meta. */
  meta: u32;
  /** Not written by a lookup. */
  _caller: u32;
  /** The entry's output address. */
  out: u64;
}

// Read by the TypeScript side (Smmu.cacheStats, Smmu.iotlbSnapshot); CE_* are also the
// addresses of the atomics of the seqlock below.
export const C_SETS: u32 = offsetof<CacheHeader>("sets");
export const C_WAYS: u32 = offsetof<CacheHeader>("ways");
export const C_ENTRIES: u32 = offsetof<CacheHeader>("entries");
export const C_HITS: u32 = offsetof<CacheHeader>("hits");
export const C_MISSES: u32 = offsetof<CacheHeader>("misses");
export const C_FILLS: u32 = offsetof<CacheHeader>("fills");
export const C_EVICTIONS: u32 = offsetof<CacheHeader>("evictions");
export const C_INVALIDATED: u32 = offsetof<CacheHeader>("invalidated");
export const CACHE_ENTRY_SIZE: u32 = offsetof<CacheEntry>();
export const CE_SEQ: u32 = offsetof<CacheEntry>("seq");
export const CE_META: u32 = offsetof<CacheEntry>("meta");
export const CE_TAG: u32 = offsetof<CacheEntry>("tag");
export const CE_CTX: u32 = offsetof<CacheEntry>("ctx");
export const CE_OUT: u32 = offsetof<CacheEntry>("out");
const CE_STAMP: u32 = offsetof<CacheEntry>("age");

export const POLICY_LRU: u32 = 0;
export const POLICY_RR: u32 = 1;
export const POLICY_RANDOM: u32 = 2;

export const META_VALID: u32 = 1 << 0;
export const META_READ: u32 = 1 << 1;
export const META_WRITE: u32 = 1 << 2;
export const META_LEAF: u32 = 1 << 3;
export const META_UNPRIV: u32 = 1 << 4; // unprivileged (device) accesses allowed

@inline export function metaShift(meta: u32): u32 { return (meta >> 8) & 0xff; }
@inline export function metaLevel(meta: u32): u32 { return (meta >> 16) & 3; }
@inline export function makeMeta(perms: u32, leaf: bool, shift: u32, level: u32, stage: u32): u32 {
  return META_VALID | (perms & (META_READ | META_WRITE | META_UNPRIV)) | (leaf ? META_LEAF : 0) |
         (shift << 8) | ((level & 3) << 16) | ((stage & 3) << 24);
}
@inline export function makeCtx(asid: u32, vmid: u32): u32 {
  return (asid & 0xffff) | ((vmid & 0xffff) << 16);
}

/**
 * A cache's tag filter: one bit per hash of (tag, size), set by every fill before it writes
 * its entry, so a clear bit proves no entry of that tag is there. A lookup or a TLBI by
 * address reads the one bit instead of the ways: a micro-TLB has 32 ways on 16 lines, and
 * every TLBI of every CPU probes every device's micro-TLB and main TLB, while only the
 * device's own accesses fill them — the set a TLBI of another device's buffer probes holds
 * this device's own buffers, and its fills keep writing that set's lines (two CPUs of one
 * domain on two devices each: a line and a lock wait an unmap).
 *
 * A set-associative cache's filter has FILTER_SET_BITS per set and is never cleared (a set
 * emptied says nothing of the others): it only stops helping once most of its bits are set,
 * after as many distinct buffers as it has bits (32768 for a 2048-entry main TLB of 4 ways,
 * where a NIC cycles through a few hundred). A fully associative cache's (a micro-TLB) has
 * FILTER_BYTES, and its bits are only cleared all at once, when an invalidation
 * leaves the cache empty (invalidateSet) or a fill finds every entry dead (restartFilter),
 * and FILTER_CLEAR_AT of them are set: clearing costs a store per word, which a cache
 * emptied on every unmap (a strict domain's one buffer) must not pay each time. 4096 bits, cleared once a quarter are set: the few hundred
 * buffers a device cycles through then keep their bits, and its fills stop writing filter
 * lines — which every other CPU's TLBI reads (cleared at 256, a NIC's ring of 256 buffers
 * cleared and set them again every lap, moving a line between two workers per packet). A
 * lookup of a tag never seen probes the ways at most a quarter of the time. How many bits
 * are set is estimated from the filter's first line when the cache empties (the hash
 * spreads bits evenly), not counted: a count bumped by every fill that sets a bit is a
 * word every worker filling the device's micro-TLB writes.
 */
const FILTER_BYTES: u32 = 512;
/** A set-associative cache's filter bits per set: 16 a way for 4 ways. */
const FILTER_SET_BITS: u32 = 64;
const FILTER_CLEAR_AT: u32 = 1024;
/** Bits set in the filter's first line (of FILTER_BYTES / CACHE_LINE) that estimate FILTER_CLEAR_AT set in all. */
const FILTER_SAMPLE_CLEAR_AT: u32 = FILTER_CLEAR_AT * CACHE_LINE / FILTER_BYTES;

/** The stride of the per-set lines: a cache line each. */
const SET_LINE: u32 = CACHE_LINE;
// A set's line after its lock (+0), each word under the set's lock but LRU's clock (atomic):
/** POLICY_RR: the next way to evict. */
const SET_RR_CURSOR: u32 = 4;
/** POLICY_LRU: the set's clock, which ages its entries. */
const SET_LRU_CLOCK: u32 = 8;
/** POLICY_RANDOM: the set's xorshift32 state. */
const SET_RNG: u32 = 12;

/** The line of set number `set`: its lock (+0), then SET_RR_CURSOR, SET_LRU_CLOCK, SET_RNG. */
@inline function setLineOf(c: CacheHeader, set: u32): u32 {
  return c.locks + set * SET_LINE;
}

@inline function alignLine(x: u32): u32 {
  return (x + CACHE_LINE - 1) & ~(CACHE_LINE - 1);
}

/** The bits of the tag filter of a cache of `sets` sets (a multiple of 64). */
@inline function filterBitsFor(sets: u32): u32 {
  return sets == 1 ? FILTER_BYTES * 8 : sets * FILTER_SET_BITS;
}

/** Bytes a cache of `entries` entries needs after its header (entries, set lines, filter). */
export function cacheBytes(sets: u32, ways: u32): u32 {
  return CACHE_HEADER + alignLine(sets * ways * CACHE_ENTRY_SIZE) + sets * SET_LINE + alignLine(filterBitsFor(sets) / 8);
}

/** The largest cache: one kheap block, as much as the buddy allocator hands out at once. */
export const CACHE_MAX_BYTES: u32 = FRAME_SIZE << MAX_ORDER;
/** Bytes each set of a cache takes besides its entries (its lock and replacement state, its part of the tag filter). */
export const CACHE_SET_BYTES: u32 = SET_LINE + FILTER_SET_BITS / 8;

/**
 * Whether a cache of this geometry fits one kheap block (a cache is laid out in one): with a
 * line per set, few ways make a cache of the same entries much larger (65536 entries of 1 way
 * need 6 MiB).
 */
export function cacheFits(sets: u32, ways: u32): bool {
  return <u64>cacheBytes(sets, ways) <= <u64>CACHE_MAX_BYTES;
}

/** Lay out a cache at `c` (zeroed memory of cacheBytes()). ways = 0 means fully associative. */
export function cacheInit(c: CacheHeader, sets: u32, ways: u32, policy: u32, seed: u32): void {
  c.sets = sets;
  c.ways = ways;
  c.policy = policy;
  const entries = changetype<u32>(c) + CACHE_HEADER;
  c.entries = changetype<CacheEntry>(entries);
  c.locks = alignLine(entries + sets * ways * CACHE_ENTRY_SIZE); // c is line-aligned (a kheap frame)
  if (policy == POLICY_RANDOM) {
    // Each set draws its victims from a state of its own, on its own line: one state for
    // the cache would be a word every eviction of every worker writes.
    const base = seed == 0 ? 0x9e3779b9 : seed;
    for (let set: u32 = 0; set < sets; set++) {
      const x = base ^ (set * 0x9e3779b9);
      store<u32>(setLineOf(c, set) + SET_RNG, x == 0 ? 0x9e3779b9 : x);
    }
  }
  c.filterBits = filterBitsFor(sets);
  c.filter = c.locks + sets * SET_LINE;
  memory.fill(c.filter, 0, c.filterBits / 8);
}

/** The filter bit of (tag, shift): its word's address in the low 32 bits, its mask in the high. */
@inline function filterBit(c: CacheHeader, tag: u64, shift: u32): u64 {
  // The hash's top 32 bits scaled to the filter's bits: any count of them, no division.
  const h = (((tag ^ (<u64>shift << 58)) * 0x9e3779b97f4a7c15) >> 32) * <u64>c.filterBits >> 32;
  return <u64>(c.filter + <u32>(h >> 5) * 4) | (<u64>1 << (32 + (h & 31)));
}

/** Whether an entry of (tag, shift) may be in `c`: false only if none can be. */
@inline function mayHold(c: CacheHeader, tag: u64, shift: u32): bool {
  const b = filterBit(c, tag, shift);
  return (atomic.load<u32>(<u32>b) & <u32>(b >> 32)) != 0;
}

@inline function entryAt(c: CacheHeader, set: u32, way: u32): CacheEntry {
  return changetype<CacheEntry>(changetype<u32>(c.entries) + (set * c.ways + way) * CACHE_ENTRY_SIZE);
}

/** The set of a tag. The context is not hashed in, so a VA range can be probed for any ASID. */
@inline function setIndex(c: CacheHeader, tag: u64): u32 {
  const sets = c.sets;
  if (sets == 1) return 0;
  return <u32>((tag ^ (tag >> 17)) % <u64>sets);
}

/** Whether a valid entry's context was not flushed since its fill (always, without generations). */
@inline function alive(c: CacheHeader, e: CacheEntry): bool {
  const gens = c.gens;
  return gens == 0 || stampLive(gens, atomic.load<u32>(changetype<u32>(e) + CE_STAMP));
}

/**
 * alive() for a fill whose own stamp (current: cacheFillLocked checked it) is `stamp`: an entry of
 * the same slot is alive only with that very stamp, so the table is read only for other contexts.
 */
@inline function aliveForFill(c: CacheHeader, e: CacheEntry, stamp: u32): bool {
  const gens = c.gens;
  if (gens == 0) return true;
  const est = atomic.load<u32>(changetype<u32>(e) + CE_STAMP);
  if (est == stamp) return true;
  if (((est ^ stamp) & 0xff) == 0) return false; // same context, an older generation
  return stampLive(gens, est);
}

/**
 * Give `c` the SMMU's context table's generations unless it is an LRU cache, and the
 * statistic it counts cleared dead entries in. A one-set cache (a micro-TLB) then has its
 * tag filter cleared by the fill that finds it dead (restartFilter), as a flush that
 * scanned it would once it was empty: left full of dead tags, every lookup would probe all
 * its ways.
 */
export function cacheUseGenerations(c: CacheHeader, table: u32, invStat: u32): void {
  if (c.policy != POLICY_LRU) c.gens = table;
  c.invStat = invStat;
}

@inline function shiftsSeenAddr(c: CacheHeader): u32 {
  return changetype<u32>(c) + offsetof<CacheHeader>("shiftsSeen");
}

// CTX_SEEN. Every TLBI reaches every device's main TLB and micro-TLB (consume.ts
// invalidateAll), and most of them never held the TLBI's context: devices in other domains.
// Looking anyway reads lines their own device's fills keep writing, and where its fill is in
// the set the TLBI probes (devices in different domains get the same IOVAs, so CPUs doing
// the same work on two of them meet at the same set, op after op), waits for its lock: two
// strict domains on two workers ran no faster than on one. So each cache keeps a filter of
// the contexts it ever held, and an invalidation matching a context outside it touches
// nothing. Bits are never cleared: a device that saw many domains only loses the shortcut.

/** The ctxSeen bit of a 16-bit ASID or VMID, within its half (0..31). */
@inline function ctxSeenBit(id: u32): u64 {
  return <u64>1 << <u64>(((id & 0xffff) * 0x9e3779b1) >> 27);
}

/** The ctxSeen bits of context `ctx` (makeCtx): its ASID's in the low half, its VMID's in the high. */
@inline function ctxSeenBits(ctx: u32): u64 {
  return ctxSeenBit(ctx & 0xffff) | (ctxSeenBit(ctx >> 16) << 32);
}

@inline function ctxSeenAddr(c: CacheHeader): u32 {
  return changetype<u32>(c) + offsetof<CacheHeader>("ctxSeen");
}

/**
 * Whether `c` may hold an entry an invalidation matching `flags` (INV_MATCH_*) in `ctx`
 * removes: false only if no fill of such a context ever announced itself (cacheFillLock).
 */
@inline function mayHoldCtx(c: CacheHeader, flags: u32, ctx: u32): bool {
  // The halves of ctxSeen the invalidation matches on: the ASID's, the VMID's, both or none.
  const halves = ((flags & INV_MATCH_ASID) != 0 ? <u64>0xffff_ffff : 0) |
                 ((flags & INV_MATCH_VMID) != 0 ? <u64>0xffff_ffff << 32 : 0);
  const want = ctxSeenBits(ctx) & halves;
  return (atomic.load<u64>(ctxSeenAddr(c)) & want) == want;
}

// ── lookup ───────────────────────────────────────────────────────────────────

/**
 * Find the entry for `va` in context `ctx` among the sizes in `shifts` (bit s set = entries
 * of 2^s bytes may exist). On a hit, copies meta and out to `result` and returns true; the
 * copy is one consistent entry. With generations, an entry whose context was flushed since
 * its fill does not hit (context-gen.ts).
 */
export function cacheLookup(c: CacheHeader, va: u64, ctx: u32, shifts: u64, result: CacheHit): bool {
  const hit = find(c, va, ctx, shifts, result, true);
  counterAdd(changetype<u32>(c) + (hit ? C_HITS : C_MISSES), 1);
  return hit;
}

/**
 * Whether `c` still holds the entry a lookup found (`meta` → `out`): read again by a
 * translation that copies it into another cache, with that cache's set locked. Counts
 * nothing and leaves the LRU ages alone; `scratch` is written.
 */
export function cacheStillHolds(c: CacheHeader, va: u64, ctx: u32, shifts: u64, meta: u32, out: u64, scratch: CacheHit): bool {
  return find(c, va, ctx, shifts, scratch, false) && scratch.meta == meta && scratch.out == out;
}

function find(c: CacheHeader, va: u64, ctx: u32, shifts: u64, result: CacheHit, touch: bool): bool {
  // Only sizes this cache has ever held can hit (a size seen late only costs a miss).
  let rest = shifts & atomic.load<u64>(shiftsSeenAddr(c));
  while (rest != 0) {
    const shift = <u32>ctz(rest);
    rest &= rest - 1;
    const tag = va >> shift;
    if (mayHold(c, tag, shift) && probeSet(c, setIndex(c, tag), tag, ctx, shift, result, touch)) return true;
  }
  return false;
}

function probeSet(c: CacheHeader, set: u32, tag: u64, ctx: u32, shift: u32, result: CacheHit, touch: bool): bool {
  const gens = c.gens;
  // The ways one after another (a micro-TLB's 32 are scanned on most of its misses).
  const first = changetype<u32>(entryAt(c, set, 0));
  const end = first + c.ways * CACHE_ENTRY_SIZE;
  for (let e = first; e < end; e += CACHE_ENTRY_SIZE) {
    const entry = changetype<CacheEntry>(e);
    // A way holding another tag cannot hit: skip it without the seqlock read (a tag being
    // rewritten to ours at this moment is a fill racing the lookup, which may miss).
    if (atomic.load<u64>(e + CE_TAG) != tag) continue;
    // Seqlock read: an even sequence before and the same after means no writer interfered.
    for (let tries = 0; tries < 64; tries++) {
      const seq = atomic.load<u32>(e + CE_SEQ);
      if ((seq & 1) != 0) continue;
      const meta = atomic.load<u32>(e + CE_META);
      const etag = atomic.load<u64>(e + CE_TAG);
      const ectx = atomic.load<u32>(e + CE_CTX);
      const out = atomic.load<u64>(e + CE_OUT);
      const estamp = atomic.load<u32>(e + CE_STAMP);
      if (atomic.load<u32>(e + CE_SEQ) != seq) continue;
      if ((meta & META_VALID) == 0 || etag != tag || ectx != ctx || metaShift(meta) != shift) break;
      // Flushed since its fill? Against the generation now, not the one this translation
      // began with: a flush that completed since must be seen, as its scan would have been.
      if (gens != 0 && !stampLive(gens, estamp)) break;
      result.meta = meta;
      result.out = out;
      if (touch && c.policy == POLICY_LRU) entry.age = nextAge(c, set); // a hint, races are fine
      return true;
    }
  }
  return false;
}

/**
 * The next LRU age in `set`: a clock per set, on the set's own line. Ages are only ever
 * compared within a set, where a per-set clock orders uses exactly as one clock for the
 * whole cache would — which every hit of every worker would bump, moving its line between
 * the workers' cores on every access. Only LRU needs it: round-robin and random never read ages.
 */
@inline function nextAge(c: CacheHeader, set: u32): u32 {
  return atomic.add<u32>(setLineOf(c, set) + SET_LRU_CLOCK, 1);
}

// ── fill ─────────────────────────────────────────────────────────────────────

function writeEntry(entry: CacheEntry, meta: u32, tag: u64, ctx: u32, out: u64, age: u32): void {
  const e = changetype<u32>(entry);
  const seq = atomic.load<u32>(e + CE_SEQ);
  atomic.store<u32>(e + CE_SEQ, seq + 1); // odd: readers keep off
  atomic.store<u32>(e + CE_META, meta);
  atomic.store<u64>(e + CE_TAG, tag);
  atomic.store<u32>(e + CE_CTX, ctx);
  atomic.store<u64>(e + CE_OUT, out);
  entry.age = age;
  atomic.store<u32>(e + CE_SEQ, seq + 2);
}

/** chooseVictim's mark on a way that held nothing alive (invalid or dead). */
const FREE_WAY: u32 = 1 << 31;

/**
 * The way a fill writes: the first invalid or dead one (a dead one counted as cleared),
 * marked FREE_WAY, else the policy's victim.
 */
function chooseVictim(c: CacheHeader, set: u32, stamp: u32): u32 {
  const ways = c.ways;
  for (let w: u32 = 0; w < ways; w++) {
    const e = entryAt(c, set, w);
    if ((e.meta & META_VALID) == 0) return w | FREE_WAY;
    if (!aliveForFill(c, e, stamp)) {
      countCleared(c, 1);
      return w | FREE_WAY;
    }
  }
  counterAdd(changetype<u32>(c) + C_EVICTIONS, 1);
  const policy = c.policy;
  if (policy == POLICY_RR) {
    const cur = setLineOf(c, set) + SET_RR_CURSOR;
    const w = load<u32>(cur) % ways;
    store<u32>(cur, w + 1);
    return w;
  }
  if (policy == POLICY_RANDOM) {
    const at = setLineOf(c, set) + SET_RNG;
    let x = load<u32>(at); // under the set's lock
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    store<u32>(at, x);
    return x % ways;
  }
  let victim: u32 = 0;
  let oldest = entryAt(c, set, 0).age;
  for (let w: u32 = 1; w < ways; w++) {
    const age = entryAt(c, set, w).age;
    if (<i32>(age - oldest) < 0) { oldest = age; victim = w; }
  }
  return victim;
}

/**
 * The first half of a fill of the 2^shift-byte region holding `va` in context `ctx`: take the
 * set's lock, then announce the size, the context and the tag (in the tag filter) to
 * invalidations. Returns the set's line, for cacheFillLocked or cacheFillUnlock, which the
 * caller calls after reading again what it will cache (see the top of this file). Lock
 * first: an invalidation that empties a one-set cache clears its filter under the lock, and
 * must not wipe the announcement of a fill still to come.
 */
export function cacheFillLock(c: CacheHeader, va: u64, shift: u32, ctx: u32): u32 {
  const tag = va >> shift;
  const line = setLineOf(c, setIndex(c, tag));
  lockAcquire(line);
  // An invalidation probes only sizes, contexts and tags seen.
  const seen = shiftsSeenAddr(c);
  if ((atomic.load<u64>(seen) & (<u64>1 << shift)) == 0) atomic.or<u64>(seen, <u64>1 << shift);
  const bits = ctxSeenBits(ctx);
  if ((atomic.load<u64>(ctxSeenAddr(c)) & bits) != bits) atomic.or<u64>(ctxSeenAddr(c), bits);
  const b = filterBit(c, tag, shift);
  const mask = <u32>(b >> 32);
  if ((atomic.load<u32>(<u32>b) & mask) == 0) atomic.or<u32>(<u32>b, mask);
  return line;
}

/** Give up a fill begun with cacheFillLock (what it would have cached changed meanwhile). */
export function cacheFillUnlock(line: u32): void {
  lockRelease(line);
}

/**
 * Insert (or refresh) the entry for the region holding `va` (its size from `meta`) in the
 * set cacheFillLock locked (`line`), then unlock it. Nothing is inserted if the context was
 * flushed since `stamp` — the context's stamp (context-gen.ts ctxStamp) read when the
 * translation began, which the entry is stamped with: it would be dead on arrival, and
 * chooseVictim judges the set's entries by it. Returns whether it filled.
 */
export function cacheFillLocked(c: CacheHeader, line: u32, va: u64, ctx: u32, stamp: u32, meta: u32, out: u64): bool {
  if (c.gens != 0 && !stampLive(c.gens, stamp)) {
    lockRelease(line);
    return false;
  }
  const shift = metaShift(meta);
  const tag = va >> shift;
  const set = (line - c.locks) / SET_LINE; // the set cacheFillLock locked (no second division by sets)
  const ways = c.ways;
  let way = ways;
  for (let w: u32 = 0; w < ways; w++) {
    const e = entryAt(c, set, w);
    if (e.tag != tag) continue; // the tag first: it tells most ways apart
    const m = e.meta;
    if ((m & META_VALID) != 0 && e.ctx == ctx && metaShift(m) == shift && aliveForFill(c, e, stamp)) { way = w; break; }
  }
  if (way == ways) {
    way = chooseVictim(c, set, stamp);
    // Way 0 free: maybe nothing alive is left. A one-set cache with generations is not
    // emptied by a flush (its entries die in place, context-gen.ts), so its filter is
    // cleared here instead, by a fill that finds the cache dead.
    if (way == FREE_WAY && c.sets == 1 && c.gens != 0) restartFilter(c, set, stamp, tag, shift);
    way &= ~FREE_WAY;
  }
  writeEntry(entryAt(c, set, way), meta, tag, ctx, out, c.policy == POLICY_LRU ? nextAge(c, set) : c.gens != 0 ? stamp : 0);
  lockRelease(line);
  counterAdd(changetype<u32>(c) + C_FILLS, 1);
  return true;
}

// ── invalidation ─────────────────────────────────────────────────────────────

// What an invalidation matches (flags for cacheInvalidate).
/** Every entry size a cache can hold, 4 KiB … 2^43 bytes (a `shifts` set for cacheInvalidate). */
export const ALL_SHIFTS: u64 = 0x0000_0000_ffff_f000 | (<u64>0xfff << 32);
export const INV_MATCH_ASID: u32 = 1 << 0; // ctx's ASID must match
export const INV_MATCH_VMID: u32 = 1 << 1; // ctx's VMID must match
export const INV_RANGE: u32 = 1 << 2; //      only entries overlapping [lo, hi)
export const INV_LEAF_ONLY: u32 = 1 << 3; //  only leaf entries
export const INV_LEVEL: u32 = 1 << 4; //      only entries at `level` (a TTL hint honoured)

@inline function matches(meta: u32, tag: u64, ectx: u32, flags: u32, ctx: u32, lo: u64, hi: u64,
                         level: u32): bool {
  if ((meta & META_VALID) == 0) return false;
  if ((flags & INV_MATCH_ASID) != 0 && (ectx & 0xffff) != (ctx & 0xffff)) return false;
  if ((flags & INV_MATCH_VMID) != 0 && (ectx >> 16) != (ctx >> 16)) return false;
  if ((flags & INV_LEAF_ONLY) != 0 && (meta & META_LEAF) == 0) return false;
  if ((flags & INV_LEVEL) != 0 && metaLevel(meta) != level) return false;
  if ((flags & INV_RANGE) != 0) {
    const shift = metaShift(meta);
    const start = tag << shift;
    const end = start + (<u64>1 << shift);
    if (end <= lo || start >= hi) return false;
  }
  return true;
}

/**
 * Remove the entries of `set` that match. Most sets an invalidation visits hold nothing it
 * matches (a TLBI by ASID scans every set, a TLBI by VA every micro-TLB), so the set is
 * first looked at without its lock, and the lock is taken only when an entry matches or a
 * writer is in the set. This removes what the locked scan would: a fill that takes the
 * set's lock after the look reads its descriptor again after the change this invalidation
 * covers, and inserts nothing (cacheFillLock); one that released it before the look left
 * its entry for the look to see. A writer in the set at the look — a fill, or another
 * invalidation — sends it to the locked scan.
 */
function invalidateSet(c: CacheHeader, set: u32, flags: u32, ctx: u32, lo: u64, hi: u64, level: u32): u32 {
  const lock = setLineOf(c, set);
  if (atomic.load<i32>(lock) == 0 && !anyMatch(c, set, flags, ctx, lo, hi, level)) return 0;
  lockAcquire(lock);
  const ways = c.ways;
  let n: u32 = 0;
  let left: u32 = 0;
  for (let w: u32 = 0; w < ways; w++) {
    const e = entryAt(c, set, w);
    if (matches(e.meta, e.tag, e.ctx, flags, ctx, lo, hi, level)) {
      writeEntry(e, 0, 0, 0, 0, 0);
      n++;
    } else if ((e.meta & META_VALID) != 0) {
      left++;
    }
  }
  // Emptied by this invalidation, under the lock a fill holds from its announcement to its
  // write: the filter starts again from nothing, and no fill announced in it is pending.
  if (n != 0 && left == 0 && c.sets == 1 && filterSample(c) >= FILTER_SAMPLE_CLEAR_AT) clearFilter(c, 0);
  lockRelease(lock);
  return n;
}

/**
 * Clear the tag filter of one-set cache `c` (locked by the fill of (tag, shift)
 * calling) if it is FILTER_CLEAR_AT full and no entry is alive. The word holding the fill's
 * own announcement keeps that bit throughout: an invalidation reading the filter meanwhile
 * must still find it (cacheFillLock). No other fill has announced: they wait for the lock.
 */
function restartFilter(c: CacheHeader, set: u32, stamp: u32, tag: u64, shift: u32): void {
  if (filterSample(c) < FILTER_SAMPLE_CLEAR_AT) return;
  const ways = c.ways;
  for (let w: u32 = 1; w < ways; w++) {
    const e = entryAt(c, set, w);
    if ((e.meta & META_VALID) != 0 && aliveForFill(c, e, stamp)) return;
  }
  clearFilter(c, filterBit(c, tag, shift));
}

/**
 * Clear `c`'s tag filter word by word (lookups read it meanwhile), but for bit `keep` (a
 * filterBit; 0: none), which its word holds throughout.
 */
function clearFilter(c: CacheHeader, keep: u64): void {
  const word = <u32>keep;
  for (let at = c.filter; at < c.filter + FILTER_BYTES; at += 4) atomic.store<u32>(at, at == word ? <u32>(keep >> 32) : 0);
}

/** Bits set in the first line of `c`'s tag filter. */
function filterSample(c: CacheHeader): u32 {
  let bits: u32 = 0;
  for (let i: u32 = 0; i < CACHE_LINE; i += 8) bits += <u32>popcnt(atomic.load<u64>(c.filter + i));
  return bits;
}

/** Whether an entry of `set` matches, read without its lock (invalidateSet's first look). */
function anyMatch(c: CacheHeader, set: u32, flags: u32, ctx: u32, lo: u64, hi: u64, level: u32): bool {
  const ways = c.ways;
  for (let w: u32 = 0; w < ways; w++) {
    const e = changetype<u32>(entryAt(c, set, w));
    const meta = atomic.load<u32>(e + CE_META);
    if ((meta & META_VALID) == 0) continue;
    if (matches(meta, atomic.load<u64>(e + CE_TAG), atomic.load<u32>(e + CE_CTX), flags, ctx, lo, hi, level)) return true;
  }
  return false;
}

/**
 * Remove every entry that matches. A small VA range probes only the sets its pages can
 * live in, for each size in `shifts`; anything else scans every set.
 */
export function cacheInvalidate(c: CacheHeader, flags: u32, ctx: u32, lo: u64, hi: u64, level: u32,
                                shifts: u64): u32 {
  const sets = c.sets;
  let n: u32 = 0;
  // Only sizes and contexts this cache has ever held can have entries to probe for.
  shifts &= atomic.load<u64>(shiftsSeenAddr(c));
  if (shifts == 0 || !mayHoldCtx(c, flags, ctx)) return 0;
  if ((flags & INV_RANGE) != 0 && probesFor(lo, hi, shifts) <= <u64>sets) {
    let rest = shifts;
    while (rest != 0) {
      const shift = <u32>ctz(rest);
      rest &= rest - 1;
      for (let tag = lo >> shift; tag <= (hi - 1) >> shift; tag++) {
        if (mayHold(c, tag, shift)) n += invalidateSet(c, setIndex(c, tag), flags, ctx, lo, hi, level);
      }
    }
  } else {
    // Every set, starting at a set that depends on the thread: the flush queues of CPUs
    // doing the same work fill up together, and two sweeps that both started at set 0
    // would run in step, each waiting at every set for the other to leave it. Where the
    // sweep starts decides nothing: each set is invalidated on its own.
    const start = sweepStart(sets);
    for (let i: u32 = 0; i < sets; i++) {
      const s = start + i < sets ? start + i : start + i - sets;
      n += invalidateSet(c, s, flags, ctx, lo, hi, level);
    }
  }
  if (n != 0) counterAdd(changetype<u32>(c) + C_INVALIDATED, n);
  return n;
}

/** Where this thread's sweeps of a cache of `sets` sets start: thread slots spread by the golden ratio. */
@inline function sweepStart(sets: u32): u32 {
  const frac = <u64>(currentSlot() * 0x9e3779b9); // the slot × 2^32 / φ, mod 2^32
  return <u32>((frac * <u64>sets) >> 32);
}

function probesFor(lo: u64, hi: u64, shifts: u64): u64 {
  let total: u64 = 0;
  let rest = shifts;
  while (rest != 0) {
    const shift = <u64>ctz(rest);
    rest &= rest - 1;
    total += ((hi - 1) >> shift) - (lo >> shift) + 1;
  }
  return total;
}

/** Count `n` dead entries cleared (by a fill or a settle): in the cache's and the SMMU's invalidation counts. */
function countCleared(c: CacheHeader, n: u32): void {
  counterAdd(changetype<u32>(c) + C_INVALIDATED, n);
  if (c.invStat != 0) counterAdd(c.invStat, n);
}

/**
 * Clear every dead entry (context flushed since its fill), counting each as invalidated
 * (countCleared): afterwards the cache holds, and the counters say, what a flush that
 * scanned would have left.
 */
export function cacheSettle(c: CacheHeader): void {
  if (c.gens == 0) return;
  const sets = c.sets;
  const ways = c.ways;
  let n: u32 = 0;
  for (let set: u32 = 0; set < sets; set++) {
    const lock = setLineOf(c, set);
    lockAcquire(lock);
    for (let w: u32 = 0; w < ways; w++) {
      const e = entryAt(c, set, w);
      if ((e.meta & META_VALID) != 0 && !alive(c, e)) {
        writeEntry(e, 0, 0, 0, 0, 0);
        n++;
      }
    }
    lockRelease(lock);
  }
  if (n != 0) countCleared(c, n);
}
