// The state of one simulated CPU running a scenario workload (src/run/): which domain and
// device it drives, its clock of modelled time, its counters and latency histograms, its
// ring of in-flight buffers, and the unmaps whose lazy window is still open. It lives at
// WORKLOAD_CPUS_BASE + cpu · WORKLOAD_CPU_SIZE and only the thread running the CPU writes
// it (an attacker context reads its victim's log of unmaps). Nothing here is kernel state:
// it is the driver and the test rig around the DMA API calls of assembly/dma/.
//
// Layout (WORKLOAD_CPU_SIZE = 16 KiB): the record (WorkloadCpu), then its arrays, each
// starting where the one before ends:
//   +0    WorkloadCpu: parameters and cursors, the attacker log's two indexes on lines of
//         their own, and the counters (u64 × WC_COUNT, indexed by WC_*)
//   +512  map latency histogram, u32 × WL_HIST_BUCKETS      +1024 unmap latency histogram
//   +1536 lazy-window histogram                             +2048 ring: RING_MAX × RingSlot
//   +8192 open lazy windows: a FIFO of WINDOW_MAX × LazyWindow
// An attacker context has no ring and no windows of its own: its ring area holds the log
// its victim writes (LOG_MAX × LogEntry), its window area the IOVAs it keeps (KeptIova).

import { CACHE_LINE, WORKLOAD_CPUS_BASE, WORKLOAD_CPU_SIZE } from "../memmap";
import { TIME_COUNT } from "../cpu-time";

/**
 * One simulated CPU's workload (WORKLOAD_CPU_SIZE bytes at WORKLOAD_CPUS_BASE): its
 * parameters, written by wlInit, then its cursors and counters, written by the thread
 * running the CPU. The exceptions are an attacker's log: its victim's thread writes the
 * entries and `logProd`; and a victim's `clock`, which its attacker reads.
 */
@unmanaged export class WorkloadCpu {
  /** WL_* (run.ts): what the CPU runs; 0 = not set up. */
  kind: u32;
  /** The DMA domain's record (assembly/dma/domain.ts DmaDomain). */
  dd: u32;
  /** The DMA device's record (DmaDevice). */
  dv: u32;
  /** Ring size, queue depth, live slots, IOVAs an attacker keeps, or a switcher's gap in spins. */
  ring: u32;
  /** Smallest buffer, in bytes. */
  min: u32;
  /** Largest buffer, in bytes. */
  max: u32;
  /** Storage: scatter segments per request, at most. */
  segs: u32;
  /** An attacker: its victim CPU. Any other: its attacker CPU + 1 (0 = none). */
  victim: u32;
  /** The random state (assembly/random.ts xorshift64). */
  rng: u64;
  /** The base of this CPU's buffers' physical addresses (its own 4 GiB). */
  phys: u64;
  /** Modelled ns this CPU has spent: its clock (atomic store: its attacker reads it). */
  clock: u64;
  /** Ring head: the oldest entry in flight. */
  head: u32;
  /** Ring entries in flight. */
  count: u32;
  /** Head of the open-window FIFO. */
  winHead: u32;
  /** Open windows in the FIFO. */
  winCount: u32;
  /** 1 once the ring was filled (nic-rx). */
  started: u32;
  /** DMA_* direction of the CPU's next maps (storage changes it per request). */
  dir: u32;
  /** Jiffies when the CPU's clock was at zero (its timers follow from there). */
  jiffies0: u64;
  // Looked up once by wlInit rather than on every operation or device access:
  /** The device's SMMU record (0: none, so the device cannot reach memory). */
  smmu: u32;
  /** The device's stream ID. */
  sid: u32;
  /** The domain's IOVA domain block (its flush-queue counters close the lazy windows). */
  iova: u32;
  _pad0: u32; _pad1: u64; _pad2: u64; _pad3: u64;
  /** An attacker: the next log entry to take. On its own line: the attacker writes it. */
  logCons: u32;
  _pad4: u32; _pad5: u64; _pad6: u64; _pad7: u64; _pad8: u64; _pad9: u64; _pad10: u64; _pad11: u64;
  /**
   * An attacker: entries its victim has logged (atomic: the victim's release store publishes
   * each entry). On its own line: the victim writes it while the attacker works.
   */
  logProd: u32;
  _pad12: u32; _pad13: u64; _pad14: u64; _pad15: u64; _pad16: u64; _pad17: u64; _pad18: u64; _pad19: u64;
  /** The first of WC_COUNT counters, u64 each, indexed by WC_*. */
  counters: u64;
}

// Counters (u64 each at WorkloadCpu.counters; read by name from the module by src/run/).
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
/** Device accesses whose translation hit the micro-TLB or the IOTLB: the report's hit rate per modelled-time window, CPU by CPU. */
export const WC_TLB_HITS: u32 = 14;
/** The first of TIME_COUNT counters: where the CPU's clock went (assembly/cpu-time.ts TIME_*). */
export const WC_TIME: u32 = 16;
export const WC_COUNT: u32 = 32;
if (WC_TIME <= WC_TLB_HITS || WC_TIME + TIME_COUNT > WC_COUNT) ERROR("WC_TIME's counters overlap the others or outgrow WC_COUNT");
/** wl_counter's pseudo-counters past the real ones: the CPU's modelled clock, and its lazy windows still open. */
export const WC_CLOCK: u32 = WC_COUNT;
export const WC_OPEN_WINDOWS: u32 = WC_COUNT + 1;

/** A buffer in flight (RING_MAX of them, RING_ENTRY apart, at W_RING_BASE). */
@unmanaged export class RingSlot {
  /** Its DMA address (0: none, or its map failed). */
  iova: u64;
  /** Its size in bytes (0: slot unused); storage puts the access direction in the top bit. */
  bytes: u32;
}

/** An unmap whose lazy window is open (a FIFO of WINDOW_MAX at W_WINDOWS). */
@unmanaged export class LazyWindow {
  /** The start count its flush-queue entry was stamped with: closed once finish_cnt passes it. */
  stamp: u64;
  /** The CPU's clock when the unmap cleared the PTEs (modelled ns). */
  at: u64;
}

/** An attacker's log entry (LOG_MAX of them in its ring area), written by its victim. */
@unmanaged export class LogEntry {
  /** The IOVA the victim unmapped. */
  iova: u64;
  /** When, on the victim's clock (modelled ns). */
  at: u64;
}

/** An IOVA an attacker keeps retrying (in its window area, KEPT_ENTRY apart). */
@unmanaged export class KeptIova {
  /** The IOVA. */
  iova: u64;
  /** When it was unmapped, on the victim's clock. */
  unmappedAt: u64;
  /** The victim's clock at its last stale read that got through (0: none yet). */
  lastSeen: u64;
  /** 1 while it is kept. */
  live: u32;
}

// 4 per octave over every u64 value (0 .. 2^64 ns), so that no sample lands in a catch-all
// top bucket: one did at 2^32 ns (4.3 s), and a p99 or max past it read as 4.3 s. Buckets
// 0–3 hold 0–3 exactly, then octaves 2 … 63 take 4 each: 4 + 62 · 4.
export const WL_HIST_BUCKETS: u32 = 252;
/** Bytes of one histogram: a u32 count per bucket, rounded up to keep the offsets above. */
const HIST_BYTES: u32 = 1024;
if (WL_HIST_BUCKETS * 4 > HIST_BYTES) ERROR("a histogram outgrew HIST_BYTES");
const RING_ENTRY: u32 = offsetof<RingSlot>(); // 12: entries pack, their u64 unaligned
export const RING_MAX: u32 = 512;
const WINDOW_ENTRY: u32 = offsetof<LazyWindow>();
export const WINDOW_MAX: u32 = 512;
const LOG_ENTRY: u32 = offsetof<LogEntry>();
export const LOG_MAX: u32 = 256; //    a power of two; a victim chunk must not outrun it
const KEPT_ENTRY: u32 = 32;
export const KEPT_MAX: u32 = 256;

// The arrays after the record, each where the one before ends. The histograms are read by
// name from the module (src/run/runner.ts, web/live.js: the wl_hist_count argument).
export const W_HIST_MAP: u32 = offsetof<WorkloadCpu>("counters") + WC_COUNT * 8;
export const W_HIST_UNMAP: u32 = W_HIST_MAP + HIST_BYTES;
export const W_HIST_WINDOW: u32 = W_HIST_UNMAP + HIST_BYTES;
const W_RING_BASE: u32 = W_HIST_WINDOW + HIST_BYTES;
const W_WINDOWS: u32 = W_RING_BASE + RING_MAX * RING_ENTRY;
const W_END: u32 = W_WINDOWS + WINDOW_MAX * WINDOW_ENTRY;

if (offsetof<WorkloadCpu>("logCons") % CACHE_LINE != 0) ERROR("WorkloadCpu.logCons must start its own cache line");
if (offsetof<WorkloadCpu>("logProd") % CACHE_LINE != 0) ERROR("WorkloadCpu.logProd must start its own cache line");
if (offsetof<WorkloadCpu>("counters") % CACHE_LINE != 0) ERROR("WorkloadCpu.counters must start a cache line (logProd's is the victim's)");
if (WC_TLB_HITS >= WC_COUNT) ERROR("the workload counters outgrew WC_COUNT");
if (W_END > WORKLOAD_CPU_SIZE) ERROR("the workload state outgrew WORKLOAD_CPU_SIZE");
if (LOG_MAX * LOG_ENTRY > RING_MAX * RING_ENTRY) ERROR("the attacker's log outgrew the ring area");
if (offsetof<KeptIova>() > KEPT_ENTRY) ERROR("KeptIova outgrew KEPT_ENTRY");
if (KEPT_MAX * KEPT_ENTRY > WINDOW_MAX * WINDOW_ENTRY) ERROR("the attacker's kept IOVAs outgrew the window area");
if ((LOG_MAX & (LOG_MAX - 1)) != 0) ERROR("LOG_MAX must be a power of two (the log's indexes wrap)");

/** Simulated CPU `cpu`'s workload state. */
@inline export function wlState(cpu: u32): WorkloadCpu {
  return changetype<WorkloadCpu>(WORKLOAD_CPUS_BASE + cpu * WORKLOAD_CPU_SIZE);
}

/** The address of WorkloadCpu.clock (atomics: an attacker reads its victim's). */
@inline export function clockAddr(w: WorkloadCpu): u32 {
  return changetype<u32>(w) + offsetof<WorkloadCpu>("clock");
}

/** The address of WorkloadCpu.logProd (atomics: the victim publishes, the attacker takes). */
@inline export function logProdAddr(w: WorkloadCpu): u32 {
  return changetype<u32>(w) + offsetof<WorkloadCpu>("logProd");
}

/** The address of the CPU's time breakdown (WC_TIME counters, cpu-time.ts TIME_*). */
@inline export function timeAddr(w: WorkloadCpu): u32 {
  return changetype<u32>(w) + offsetof<WorkloadCpu>("counters") + WC_TIME * 8;
}

@inline export function wcAdd(w: WorkloadCpu, which: u32, n: u64): void {
  const p = changetype<u32>(w) + offsetof<WorkloadCpu>("counters") + which * 8;
  store<u64>(p, load<u64>(p) + n);
}

@inline export function wcGet(w: WorkloadCpu, which: u32): u64 {
  return load<u64>(changetype<u32>(w) + offsetof<WorkloadCpu>("counters") + which * 8);
}

/**
 * Bucket of a sample: 0–3 exactly, then 4 per power of two (the two bits below the leading
 * one), with no bucket left unused — every bucket's floor is above the one before it, which
 * the report's bounds rely on (buckets 4–7 once held nothing and read as floor 0, so an
 * attacker's windows of 0–3 µs broke the saved report).
 */
export function histBucket(v: u64): u32 {
  if (v < 4) return <u32>v;
  const msb: u32 = 63 - <u32>clz(v);
  const frac = <u32>((v >> (msb - 2)) & 3);
  return (msb - 1) * 4 + frac;
}

/** The smallest value of bucket b < WL_HIST_BUCKETS (the inverse of histBucket, for the report). */
export function histBucketFloor(b: u32): u64 {
  if (b < 4) return <u64>b;
  const msb = b / 4 + 1;
  return (<u64>(4 + (b & 3))) << (<u64>msb - 2);
}

/** Count one sample `v` in histogram `hist` (W_HIST_*) of `w`. */
@inline export function histAdd(w: WorkloadCpu, hist: u32, v: u64): void {
  const p = changetype<u32>(w) + hist + histBucket(v) * 4;
  store<u32>(p, load<u32>(p) + 1);
}

/** The count in bucket b of histogram `hist` (W_HIST_*) of `w`. */
@inline export function histGet(w: WorkloadCpu, hist: u32, b: u32): u32 {
  return load<u32>(changetype<u32>(w) + hist + b * 4);
}

/** Ring entry i of `w`. */
@inline export function ringEntry(w: WorkloadCpu, i: u32): RingSlot {
  return changetype<RingSlot>(changetype<u32>(w) + W_RING_BASE + i * RING_ENTRY);
}

/** Open-window FIFO entry i of `w`. */
@inline export function windowEntry(w: WorkloadCpu, i: u32): LazyWindow {
  return changetype<LazyWindow>(changetype<u32>(w) + W_WINDOWS + i * WINDOW_ENTRY);
}

/** Entry i of attacker `w`'s log (in its ring area; i taken modulo LOG_MAX). */
@inline export function logEntry(w: WorkloadCpu, i: u32): LogEntry {
  return changetype<LogEntry>(changetype<u32>(w) + W_RING_BASE + (i % LOG_MAX) * LOG_ENTRY);
}

/** Kept IOVA i of attacker `w` (in its window area). */
@inline export function keptEntry(w: WorkloadCpu, i: u32): KeptIova {
  return changetype<KeptIova>(changetype<u32>(w) + W_WINDOWS + i * KEPT_ENTRY);
}

/** Clear a CPU's state (parameters, counters, histograms, ring and windows). */
export function wlClear(cpu: u32): void {
  memory.fill(changetype<u32>(wlState(cpu)), 0, WORKLOAD_CPU_SIZE);
}
