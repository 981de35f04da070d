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
// Cache header (CACHE_HEADER bytes, in kheap):
//   +0 sets  +4 ways  +8 policy  +12 entries ptr  +16 set locks ptr  +20 rr cursors ptr
//   +24 rng (xorshift state)  +28 clock (LRU ticks)  +32 sizes seen u64 (bit s: 2^s entries)
//   +64 hits u64  +72 misses u64  +80 fills u64  +88 evictions u64  +96 invalidated u64
//
// Entry (CACHE_ENTRY_SIZE bytes):
//   +0 seq u32 (odd while written)   +4 meta u32   +8 tag u64 (va >> shift)
//   +16 ctx u32 (asid | vmid << 16)  +20 age u32  +24 out u64 (PA of the block / next table)
//
//   meta: bit 0 valid · bit 1 read · bit 2 write · bit 3 leaf · bits 8..15 size shift
//         bits 16..17 level · bits 24..25 stage

import { lockAcquire, lockRelease } from "../sync";
import { counterAdd } from "../counters";

export const CACHE_HEADER: u32 = 128;
export const CACHE_ENTRY_SIZE: u32 = 32;

export const POLICY_LRU: u32 = 0;
export const POLICY_RR: u32 = 1;
export const POLICY_RANDOM: u32 = 2;

export const C_SETS: u32 = 0;
export const C_WAYS: u32 = 4;
const C_POLICY: u32 = 8;
export const C_ENTRIES: u32 = 12;
const C_LOCKS: u32 = 16;
const C_RR: u32 = 20;
const C_RNG: u32 = 24;
const C_CLOCK: u32 = 28;
const C_SHIFTS_SEEN: u32 = 32;
export const C_HITS: u32 = 64;
export const C_MISSES: u32 = 72;
export const C_FILLS: u32 = 80;
export const C_EVICTIONS: u32 = 88;
export const C_INVALIDATED: u32 = 96;

export const CE_SEQ: u32 = 0;
export const CE_META: u32 = 4;
export const CE_TAG: u32 = 8;
export const CE_CTX: u32 = 16;
const E_AGE: u32 = 20;
export const CE_OUT: u32 = 24;

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

/** Bytes a cache of `entries` entries needs after its header (entries, locks, cursors). */
export function cacheBytes(sets: u32, ways: u32): u32 {
  return CACHE_HEADER + sets * ways * CACHE_ENTRY_SIZE + sets * 8;
}

/** Lay out a cache at `c` (zeroed memory of cacheBytes()). ways = 0 means fully associative. */
export function cacheInit(c: u32, sets: u32, ways: u32, policy: u32, seed: u32): void {
  store<u32>(c + C_SETS, sets);
  store<u32>(c + C_WAYS, ways);
  store<u32>(c + C_POLICY, policy);
  const entries = c + CACHE_HEADER;
  store<u32>(c + C_ENTRIES, entries);
  store<u32>(c + C_LOCKS, entries + sets * ways * CACHE_ENTRY_SIZE);
  store<u32>(c + C_RR, entries + sets * ways * CACHE_ENTRY_SIZE + sets * 4);
  store<u32>(c + C_RNG, seed == 0 ? 0x9e3779b9 : seed);
}

@inline function entryAt(c: u32, set: u32, way: u32): u32 {
  return load<u32>(c + C_ENTRIES) + (set * load<u32>(c + C_WAYS) + way) * CACHE_ENTRY_SIZE;
}

/** The set of a tag. The context is not hashed in, so a VA range can be probed for any ASID. */
@inline function setIndex(c: u32, tag: u64): u32 {
  const sets = load<u32>(c + C_SETS);
  if (sets == 1) return 0;
  return <u32>((tag ^ (tag >> 17)) % <u64>sets);
}

// ── lookup ───────────────────────────────────────────────────────────────────

/**
 * Find the entry for `va` in context `ctx` among the sizes in `shifts` (bit s set = entries
 * of 2^s bytes may exist). On a hit, copies meta and out to `result` (+0 meta u32,
 * +8 out u64) and returns true; the copy is one consistent entry.
 */
export function cacheLookup(c: u32, va: u64, ctx: u32, shifts: u64, result: u32): bool {
  // Only sizes this cache has ever held can hit (a size seen late only costs a miss).
  let rest = shifts & atomic.load<u64>(c + C_SHIFTS_SEEN);
  while (rest != 0) {
    const shift = <u32>ctz(rest);
    rest &= rest - 1;
    const tag = va >> shift;
    if (probeSet(c, setIndex(c, tag), tag, ctx, shift, result)) {
      counterAdd(c + C_HITS, 1);
      return true;
    }
  }
  counterAdd(c + C_MISSES, 1);
  return false;
}

function probeSet(c: u32, set: u32, tag: u64, ctx: u32, shift: u32, result: u32): bool {
  const ways = load<u32>(c + C_WAYS);
  for (let w: u32 = 0; w < ways; w++) {
    const e = entryAt(c, set, w);
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
      if (atomic.load<u32>(e + CE_SEQ) != seq) continue;
      if ((meta & META_VALID) == 0 || etag != tag || ectx != ctx || metaShift(meta) != shift) break;
      store<u32>(result, meta);
      store<u64>(result + 8, out);
      if (load<u32>(c + C_POLICY) == POLICY_LRU) store<u32>(e + E_AGE, nextAge(c)); // a hint, races are fine
      return true;
    }
  }
  return false;
}

/**
 * The next LRU age: one clock per cache, shared by every thread that uses it. Only LRU
 * needs it — round-robin and random never read ages — so they skip it: a shared counter
 * bumped on every hit would make the workers of a run fight over its cache line.
 */
@inline function nextAge(c: u32): u32 {
  return atomic.add<u32>(c + C_CLOCK, 1);
}

// ── fill ─────────────────────────────────────────────────────────────────────

function writeEntry(e: u32, meta: u32, tag: u64, ctx: u32, out: u64, age: u32): void {
  const seq = atomic.load<u32>(e + CE_SEQ);
  atomic.store<u32>(e + CE_SEQ, seq + 1); // odd: readers keep off
  atomic.store<u32>(e + CE_META, meta);
  atomic.store<u64>(e + CE_TAG, tag);
  atomic.store<u32>(e + CE_CTX, ctx);
  atomic.store<u64>(e + CE_OUT, out);
  store<u32>(e + E_AGE, age);
  atomic.store<u32>(e + CE_SEQ, seq + 2);
}

function chooseVictim(c: u32, set: u32): u32 {
  const ways = load<u32>(c + C_WAYS);
  for (let w: u32 = 0; w < ways; w++) {
    if ((load<u32>(entryAt(c, set, w) + CE_META) & META_VALID) == 0) return w;
  }
  counterAdd(c + C_EVICTIONS, 1);
  const policy = load<u32>(c + C_POLICY);
  if (policy == POLICY_RR) {
    const cur = load<u32>(c + C_RR) + set * 4;
    const w = load<u32>(cur) % ways;
    store<u32>(cur, w + 1);
    return w;
  }
  if (policy == POLICY_RANDOM) {
    let x = load<u32>(c + C_RNG);
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    store<u32>(c + C_RNG, x); // under the set lock only; other sets race harmlessly
    return x % ways;
  }
  let victim: u32 = 0;
  let oldest = load<u32>(entryAt(c, set, 0) + E_AGE);
  for (let w: u32 = 1; w < ways; w++) {
    const age = load<u32>(entryAt(c, set, w) + E_AGE);
    if (<i32>(age - oldest) < 0) { oldest = age; victim = w; }
  }
  return victim;
}

/**
 * Insert (or refresh) the entry for the 2^shift-byte region holding `va`, for a translation
 * that started when the epoch word at `epochAddr` read `epoch`:
 * nothing is inserted if it has moved since (an invalidation began in between). The check
 * is made under the set's lock, and an invalidation bumps the epoch before it takes any
 * set's lock, so either the fill sees the new epoch or the invalidation's scan of this set
 * comes after the fill and removes it. (A translation that started while an invalidation
 * was in progress must not fill at all: the caller's part, see S_INV_EPOCH.) `epochAddr`
 * 0: no check. Returns whether it filled.
 */
export function cacheFillSince(c: u32, va: u64, ctx: u32, meta: u32, out: u64, epochAddr: u32, epoch: u32): bool {
  const shift = metaShift(meta);
  const tag = va >> shift;
  const set = setIndex(c, tag);
  const lock = load<u32>(c + C_LOCKS) + set * 4;
  // Announce the size before the epoch check: an invalidation that begins after the check
  // must see it, or it would skip this size (cacheInvalidate probes only sizes seen).
  if ((atomic.load<u64>(c + C_SHIFTS_SEEN) & (<u64>1 << shift)) == 0) atomic.or<u64>(c + C_SHIFTS_SEEN, <u64>1 << shift);
  lockAcquire(lock);
  if (epochAddr != 0 && atomic.load<u32>(epochAddr) != epoch) {
    lockRelease(lock);
    return false;
  }
  const ways = load<u32>(c + C_WAYS);
  let way = ways;
  for (let w: u32 = 0; w < ways; w++) {
    const e = entryAt(c, set, w);
    const m = load<u32>(e + CE_META);
    if ((m & META_VALID) != 0 && load<u64>(e + CE_TAG) == tag && load<u32>(e + CE_CTX) == ctx &&
        metaShift(m) == shift) { way = w; break; }
  }
  if (way == ways) way = chooseVictim(c, set);
  writeEntry(entryAt(c, set, way), meta, tag, ctx, out, load<u32>(c + C_POLICY) == POLICY_LRU ? nextAge(c) : 0);
  lockRelease(lock);
  counterAdd(c + C_FILLS, 1);
  return true;
}

// ── invalidation ─────────────────────────────────────────────────────────────

// What an invalidation matches (flags for cacheInvalidate).
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

function invalidateSet(c: u32, set: u32, flags: u32, ctx: u32, lo: u64, hi: u64, level: u32): u32 {
  const lock = load<u32>(c + C_LOCKS) + set * 4;
  lockAcquire(lock);
  const ways = load<u32>(c + C_WAYS);
  let n: u32 = 0;
  for (let w: u32 = 0; w < ways; w++) {
    const e = entryAt(c, set, w);
    if (matches(load<u32>(e + CE_META), load<u64>(e + CE_TAG), load<u32>(e + CE_CTX), flags, ctx, lo, hi, level)) {
      writeEntry(e, 0, 0, 0, 0, 0);
      n++;
    }
  }
  lockRelease(lock);
  return n;
}

/**
 * Remove every entry that matches. A small VA range probes only the sets its pages can
 * live in, for each size in `shifts`; anything else scans every set.
 */
export function cacheInvalidate(c: u32, flags: u32, ctx: u32, lo: u64, hi: u64, level: u32,
                                shifts: u64): u32 {
  const sets = load<u32>(c + C_SETS);
  let n: u32 = 0;
  // Only sizes this cache has ever held can have entries to probe for.
  shifts &= atomic.load<u64>(c + C_SHIFTS_SEEN);
  if (shifts == 0) return 0;
  if ((flags & INV_RANGE) != 0 && probesFor(lo, hi, shifts) <= <u64>sets) {
    let rest = shifts;
    while (rest != 0) {
      const shift = <u32>ctz(rest);
      rest &= rest - 1;
      for (let tag = lo >> shift; tag <= (hi - 1) >> shift; tag++) {
        n += invalidateSet(c, setIndex(c, tag), flags, ctx, lo, hi, level);
      }
    }
  } else {
    for (let s: u32 = 0; s < sets; s++) n += invalidateSet(c, s, flags, ctx, lo, hi, level);
  }
  if (n != 0) counterAdd(c + C_INVALIDATED, n);
  return n;
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
