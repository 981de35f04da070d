// Statistics counters that many threads add to (SMMU and cache statistics, per-stream
// access counts, the oracle's tallies). They explain a run; no simulated behaviour reads
// them. Adding to a shared counter with an atomic add on every translation makes two
// workers fight over the counter's cache line, which is the simulator's cost, not the
// modelled hardware's. So a batched loop turns on its thread's counter cache: a small
// direct-mapped table of (counter address, pending delta) in the thread's own memory.
// Adds go there; a collision or the end of the loop publishes the delta with one atomic
// add. Outside batched loops (single API calls) adds go straight to the counter, so a
// caller reading statistics after a call sees them exact.

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
  /** The first of ENTRIES CounterEntry records, direct-mapped by counter address. */
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

if (offsetof<CounterCache>("entries") + ENTRIES * ENTRY > COUNTER_CACHE_SIZE) ERROR("CounterCache outgrew COUNTER_CACHE_SIZE");

@inline function cacheBase(): u32 {
  return COUNTER_CACHES_BASE + currentSlot() * COUNTER_CACHE_SIZE;
}

@inline function entryAt(cc: u32, i: u32): CounterEntry {
  return changetype<CounterEntry>(cc + offsetof<CounterCache>("entries") + i * ENTRY);
}

/** Add `n` to the u64 statistics counter at `addr`. */
export function counterAdd(addr: u32, n: u64): void {
  const cc = cacheBase();
  if (changetype<CounterCache>(cc).enabled == 0) {
    atomic.add<u64>(addr, n);
    return;
  }
  const e = entryAt(cc, (addr >> 3) % ENTRIES);
  const held = e.addr;
  if (held == addr) {
    e.delta += n;
    return;
  }
  if (held != 0) atomic.add<u64>(held, e.delta);
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
