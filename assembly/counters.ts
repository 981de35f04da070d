// Statistics counters that many threads add to (SMMU and cache statistics, per-stream
// access counts, the oracle's tallies). They explain a run; no simulated behaviour reads
// them. Adding to a shared counter with an atomic add on every translation makes two
// workers fight over the counter's cache line, which is the simulator's cost, not the
// modelled hardware's. So a batched loop turns on its thread's counter cache: a small
// table of (counter address, pending delta) in the thread's own memory, each counter
// looked for in the PROBE entries from the one its address hashes to. Adds go there; a
// counter that finds those entries all taken, or the end of the loop, publishes a delta
// with one atomic add. Outside batched loops (single API calls) adds go straight to the
// counter, so a caller reading statistics after a call sees them exact.
//
// Why probe: a translation adds to a few dozen counters, and directly mapped, two of them
// sharing an entry is likely (a birthday collision among 127 entries). Each then publishes
// on every operation — and when one lives on a line other workers read (a stream table
// entry, which every TLBI of every CPU reads for its micro-TLB), that line moves between
// the workers' cores on every operation.

import { COUNTER_CACHES_BASE, COUNTER_CACHE_SIZE } from "./memmap";
import { currentSlot } from "./sync";

/**
 * A thread's counter cache (COUNTER_CACHE_SIZE bytes at COUNTER_CACHES_BASE + slot ×
 * COUNTER_CACHE_SIZE): only its own thread reads or writes it.
 */
@unmanaged class CounterCache {
  /** 1 while a batched loop caches this thread's adds (countersCache … countersPublish). */
  enabled: u32;
  _pad0: u32; _pad1: u64;
  /** The first of ENTRIES CounterEntry records, each counter in one of the PROBE from its address's hash on. */
  entries: u32;
}

/** One cached counter. */
@unmanaged class CounterEntry {
  /** Address of the u64 counter whose delta this holds; 0 = empty. */
  addr: u32;
  /** What was added to it and not yet published. */
  delta: u64;
}

const ENTRY: u32 = offsetof<CounterEntry>();
const ENTRIES: u32 = (COUNTER_CACHE_SIZE - offsetof<CounterCache>("entries")) / ENTRY; // 127: a prime spreads neighbours
/** Entries a counter may take, from its home entry on (wrapping): a line's worth. */
const PROBE: u32 = 4;

if (offsetof<CounterCache>("entries") + ENTRIES * ENTRY > COUNTER_CACHE_SIZE) ERROR("CounterCache outgrew COUNTER_CACHE_SIZE");

@inline function cacheBase(): u32 {
  return COUNTER_CACHES_BASE + currentSlot() * COUNTER_CACHE_SIZE;
}

@inline function entryAt(cc: u32, i: u32): CounterEntry {
  return changetype<CounterEntry>(cc + offsetof<CounterCache>("entries") + i * ENTRY);
}

/** Add `n` to the u64 statistics counter at `addr`. Inlined: the hot paths call it dozens of times an operation. */
@inline export function counterAdd(addr: u32, n: u64): void {
  const cc = cacheBase();
  if (changetype<CounterCache>(cc).enabled == 0) {
    atomic.add<u64>(addr, n);
    return;
  }
  const home = (addr >> 3) % ENTRIES;
  const e = entryAt(cc, home);
  if (e.addr == addr) {
    e.delta += n; // the common case: the counter sits in its home entry
    return;
  }
  addProbing(cc, home, addr, n);
}

/**
 * counterAdd past the home entry: the next PROBE − 1 entries, else the home entry's counter
 * published and replaced. A call, not inlined: rare, and counterAdd's call sites are many.
 */
function addProbing(cc: u32, home: u32, addr: u32, n: u64): void {
  let i = home;
  for (let k: u32 = 0; k < PROBE; k++) {
    const e = entryAt(cc, i);
    const held = e.addr;
    if (held == addr) {
      e.delta += n;
      return;
    }
    if (held == 0) {
      e.addr = addr;
      e.delta = n;
      return;
    }
    i = i + 1 == ENTRIES ? 0 : i + 1;
  }
  const e = entryAt(cc, home);
  atomic.add<u64>(e.addr, e.delta);
  e.addr = addr;
  e.delta = n;
}

/** From now on this thread's counter adds are cached (until countersPublish). */
export function countersCache(): void {
  changetype<CounterCache>(cacheBase()).enabled = 1;
}

/** Publish every cached delta to its counter and stop caching. */
export function countersPublish(): void {
  const cc = cacheBase();
  for (let i: u32 = 0; i < ENTRIES; i++) {
    const e = entryAt(cc, i);
    const held = e.addr;
    if (held == 0) continue;
    atomic.add<u64>(held, e.delta);
    e.addr = 0;
  }
  changetype<CounterCache>(cc).enabled = 0;
}
