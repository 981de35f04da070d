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

// Cache layout: +0 enabled u32, then ENTRIES entries of 16 bytes (+0 address u32, +8 delta u64).
const CC_ENABLED: u32 = 0;
const CC_ENTRIES: u32 = 16;
const ENTRY: u32 = 16;
const ENTRIES: u32 = (COUNTER_CACHE_SIZE - CC_ENTRIES) / ENTRY; // 127: a prime spreads neighbours

@inline function cacheBase(): u32 {
  return COUNTER_CACHES_BASE + currentSlot() * COUNTER_CACHE_SIZE;
}

/** Add `n` to the u64 statistics counter at `addr`. */
export function counterAdd(addr: u32, n: u64): void {
  const cc = cacheBase();
  if (load<u32>(cc + CC_ENABLED) == 0) {
    atomic.add<u64>(addr, n);
    return;
  }
  const e = cc + CC_ENTRIES + ((addr >> 3) % ENTRIES) * ENTRY;
  const held = load<u32>(e);
  if (held == addr) {
    store<u64>(e + 8, load<u64>(e + 8) + n);
    return;
  }
  if (held != 0) atomic.add<u64>(held, load<u64>(e + 8));
  store<u32>(e, addr);
  store<u64>(e + 8, n);
}

/** From now on this thread's counter adds are cached (until countersPublish). */
export function countersCache(): void {
  store<u32>(cacheBase() + CC_ENABLED, 1);
}

/** Publish every cached delta to its counter and stop caching. */
export function countersPublish(): void {
  const cc = cacheBase();
  for (let i: u32 = 0; i < ENTRIES; i++) {
    const e = cc + CC_ENTRIES + i * ENTRY;
    const held = load<u32>(e);
    if (held == 0) continue;
    atomic.add<u64>(held, load<u64>(e + 8));
    store<u32>(e, 0);
  }
  store<u32>(cc + CC_ENABLED, 0);
}
