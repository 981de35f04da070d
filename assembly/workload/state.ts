// The state of one simulated CPU running a scenario workload (src/run/): which domain and
// device it drives, its clock of modelled time, its counters and latency histograms, its
// ring of in-flight buffers, and the unmaps whose lazy window is still open. It lives at
// WORKLOAD_CPUS_BASE + cpu · WORKLOAD_CPU_SIZE and only the thread running the CPU writes
// it (an attacker context reads its victim's log of unmaps). Nothing here is kernel state:
// it is the driver and the test rig around the DMA API calls of assembly/dma/.
//
// Layout (WORKLOAD_CPU_SIZE = 16 KiB):
//   +0    parameters and cursors (W_*)                    +256  counters, u64 × 32 (WC_*)
//   +512  map latency histogram, u32 × WL_HIST_BUCKETS       +1024 unmap latency histogram
//   +1536 lazy-window histogram                           +2048 ring entries, 12 B each (RING_MAX)
//   +8192 open lazy windows: FIFO of WINDOW_MAX × 16 B (flush count needed u64, unmap time u64)
// An attacker context has no ring and no windows of its own: its ring area holds the log
// its victim writes (each unmapped IOVA and when), its window area the IOVAs it keeps.

import { WORKLOAD_CPUS_BASE, WORKLOAD_CPU_SIZE } from "../memmap";

// Parameters (u32 unless noted), written by wlInit.
export const W_KIND: u32 = 0;
export const W_DD: u32 = 4; //        the DMA domain record
export const W_DV: u32 = 8; //        the DMA device record
export const W_RING: u32 = 12; //     ring / queue depth / live slots / attacker keep / switcher gap (spins)
export const W_MIN: u32 = 16; //      smallest buffer (bytes)
export const W_MAX: u32 = 20; //      largest buffer (bytes)
export const W_SEGS: u32 = 24; //     storage: segments per request (max)
export const W_VICTIM: u32 = 28; //   attacker: the victim CPU; others: its attacker CPU + 1 (0 = none)
export const W_RNG: u32 = 32; //      u64 random state
export const W_PHYS: u32 = 40; //     u64 base of this CPU's buffers' physical addresses
export const W_CLOCK: u32 = 48; //    u64 modelled ns this CPU has spent (its clock)
export const W_HEAD: u32 = 56; //     ring head (oldest in flight)
export const W_COUNT: u32 = 60; //    entries in flight
export const W_WIN_HEAD: u32 = 64; // open-window FIFO head
export const W_WIN_COUNT: u32 = 68;
export const W_STARTED: u32 = 72; //  the ring was filled (nic-rx) / the run began
export const W_DIR: u32 = 76; //      DMA direction of the CPU's maps
// Looked up once at wlInit rather than on every operation or device access:
export const W_JIFFIES0: u32 = 80; // u64 jiffies when the CPU's clock was at zero
export const W_SMMU: u32 = 88; //     the device's SMMU record
export const W_SID: u32 = 92; //      the device's stream ID
export const W_IOVA: u32 = 96; //     the domain's IOVA domain block (its flush-queue counters)
export const W_LOG_CONS: u32 = 128; // attacker: next log entry to take (own line: the attacker writes it)
export const W_LOG_PROD: u32 = 192; // attacker: entries its victim has logged (own line: the victim writes it)

// Counters (u64 at +256 + 8·WC_*).
export const WC_OPS: u32 = 0;
export const WC_MAPS: u32 = 1;
export const WC_UNMAPS: u32 = 2;
export const WC_MAP_FAILS: u32 = 3;
export const WC_ACCESSES: u32 = 4;
export const WC_FAULTS: u32 = 5;
export const WC_VIOLATIONS: u32 = 6;
export const WC_UNMAP_ERRORS: u32 = 7; //   unmaps that found fq_domain set but no queue (broken variants)
export const WC_MAP_NS: u32 = 8; //         modelled ns in dma_map, summed
export const WC_UNMAP_NS: u32 = 9;
export const WC_WINDOWS_LOST: u32 = 10; //  lazy windows not measured (FIFO full)
export const WC_STALE_HITS: u32 = 11; //    attacker: retries that still reached memory
export const WC_RETRIES: u32 = 12; //       attacker: retries made
export const WC_SWITCHES: u32 = 13; //      switcher: rounds whose switch to lazy succeeded
export const WC_COUNT: u32 = 32;
/** wl_counter's pseudo-counters past the real ones: the CPU's modelled clock, and its lazy windows still open. */
export const WC_CLOCK: u32 = WC_COUNT;
export const WC_OPEN_WINDOWS: u32 = WC_COUNT + 1;
const W_COUNTERS: u32 = 256;

export const WL_HIST_BUCKETS: u32 = 128; // 4 per octave: 1 ns .. 2^32 ns
export const W_HIST_MAP: u32 = 512;
export const W_HIST_UNMAP: u32 = 1024;
export const W_HIST_WINDOW: u32 = 1536;
export const W_RING_BASE: u32 = 2048;
export const RING_ENTRY: u32 = 12; //  iova u64, bytes u32
export const RING_MAX: u32 = 512;
export const W_WINDOWS: u32 = 8192;
export const WINDOW_ENTRY: u32 = 16;
export const WINDOW_MAX: u32 = 512;
// The attacker's log (in its ring area) and its kept IOVAs (in its window area).
export const LOG_ENTRY: u32 = 16; //   iova u64, unmapped at (victim's clock) u64
export const LOG_MAX: u32 = 256; //    a power of two; a victim chunk must not outrun it
export const KEPT_ENTRY: u32 = 32; //  iova u64, unmapped at u64, last reachable at u64, live u32
export const KEPT_MAX: u32 = 256;

@inline export function wlState(cpu: u32): u32 {
  return WORKLOAD_CPUS_BASE + cpu * WORKLOAD_CPU_SIZE;
}

@inline export function wcAdd(w: u32, which: u32, n: u64): void {
  const p = w + W_COUNTERS + which * 8;
  store<u64>(p, load<u64>(p) + n);
}

@inline export function wcGet(w: u32, which: u32): u64 {
  return load<u64>(w + W_COUNTERS + which * 8);
}

/** Bucket of a sample: 4 per power of two (the top two bits below the leading one). */
export function histBucket(v: u64): u32 {
  if (v < 4) return <u32>v;
  const lz = <u32>clz(v);
  const msb: u32 = 63 - lz;
  const frac = <u32>((v >> (msb - 2)) & 3);
  const b = msb * 4 + frac;
  return b < WL_HIST_BUCKETS ? b : WL_HIST_BUCKETS - 1;
}

/** The smallest value of bucket b (the inverse of histBucket, for the report). */
export function histBucketFloor(b: u32): u64 {
  if (b < 4) return <u64>b;
  const msb = b / 4;
  return (<u64>(4 + (b & 3))) << (<u64>msb - 2);
}

@inline export function histAdd(w: u32, hist: u32, v: u64): void {
  const p = w + hist + histBucket(v) * 4;
  store<u32>(p, load<u32>(p) + 1);
}

@inline export function ringEntry(w: u32, i: u32): u32 {
  return w + W_RING_BASE + i * RING_ENTRY;
}

/** Clear a CPU's state (parameters, counters, histograms, ring and windows). */
export function wlClear(cpu: u32): void {
  memory.fill(wlState(cpu), 0, WORKLOAD_CPU_SIZE);
}
