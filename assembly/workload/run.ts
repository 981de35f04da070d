// Runs scenario workloads (src/run/) inside Wasm: one call does up to N operations of one
// simulated CPU's workload (assembly/workload/nic.ts, storage.ts, random.ts, pairs.ts,
// attacker.ts, switcher.ts), keeping the CPU's clock of modelled time. Between calls the
// worker looks at events and progress; within a call, the run's stop word is checked
// before every operation — the one way every run stops (its end, a violation when asked,
// the timeout, a request, a failing worker).
//
// A CPU whose workload maps and unmaps counts itself running in its domain for the length
// of a call, and parks between two operations while the domain's switcher asks it to
// (switcher.ts): the switcher's test hook may rebuild the domain only while none of them
// is inside an operation. Attackers (devices) and switchers take no part.
//
// Time. Each CPU's clock advances by the modelled CPU time its operations were charged
// (assembly/sync.ts kernelLock, assembly/smmu/cmdq.ts commands and CMD_SYNC waits, …).
// Simulated jiffies follow the furthest clock: when a CPU's clock passes the next 4 ms
// boundary it advances jiffies, and timers that fall due — the flush queue's timeout, the
// depot reclaim — run on that CPU, as the kernel runs a timer on the CPU where it fires.

import { CONTROL_BASE, CTL_RUN_STOP } from "../memmap";
import { jiffiesNow } from "../clock";
import { clockFollow } from "../timers";
import { countersCache, countersPublish } from "../counters";
import { dmaDevice, iovaOf, liveDmaDevice, liveDmaDomain, loopEnter, loopLeave, parkIfPaused } from "../dma/domain";
import { smmuLive } from "../smmu/smmu";
import { DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE } from "../dma/iommu";
import { seedState } from "../random";
import {
  WL_HIST_BUCKETS, KEPT_MAX, RING_MAX, WC_CLOCK, WC_OPEN_WINDOWS, WorkloadCpu, clockAddr, histBucketFloor, histGet, timeAddr, wcGet, wlClear,
  wlState,
} from "./state";
import { closeWindows } from "./driver";
import { cpuTimeEnter, cpuTimeLeave } from "../cpu-time";
import { nicDrain, nicRxOp, nicTxOp } from "./nic";
import { storageDrain, storageOp } from "./storage";
import { randomDrain, randomOp } from "./random";
import { attackerOp } from "./attacker";
import { ESIM_ARGS, ESIM_NO_DEVICE, ESIM_NO_DMA_DOMAIN } from "../errno";
import { pairsOp } from "./pairs";
import { switcherOp } from "./switcher";

export const WL_NIC_RX: u32 = 1;
export const WL_NIC_TX: u32 = 2;
export const WL_STORAGE: u32 = 3;
export const WL_RANDOM: u32 = 4;
export const WL_ATTACKER: u32 = 5;
export const WL_PAIRS: u32 = 6;
export const WL_SWITCHER: u32 = 7;

/** Each CPU's buffers sit in their own 4 GiB of physical address space. */
export const WL_PHYS_BASE: u64 = 0x10_0000_0000;
/** Bits of each CPU's buffer space (4 GiB), from WL_PHYS_BASE + cpu · 2^WL_PHYS_CPU_SHIFT. */
export const WL_PHYS_CPU_SHIFT: u64 = 32;

/**
 * Set up simulated CPU `cpu` to run a workload of `kind` on DMA domain `domain` through
 * device `device` (a switcher: any device of the domain it switches). `ring`: ring, queue
 * depth, live slots, IOVAs kept, or the switcher's gap in spins; `min`/`max`: buffer bytes;
 * `segs`: storage segments per request; `link`: for an attacker its victim CPU, for a
 * victim its attacker CPU + 1 (0: none). Returns 0, or -ESIM_NO_DMA_DOMAIN,
 * -ESIM_NO_DEVICE, -ESIM_ARGS.
 */
export function wlInit(cpu: u32, kind: u32, domain: u32, device: u32, ring: u32, min: u32, max: u32, segs: u32,
                       link: u32, seed: u32): i32 {
  const dd = liveDmaDomain(domain);
  const dv = liveDmaDevice(device);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  if (dv == 0) return -ESIM_NO_DEVICE;
  if (kind < WL_NIC_RX || kind > WL_SWITCHER) return -ESIM_ARGS;
  if (kind != WL_SWITCHER && !ringAndSizesFit(kind, ring, min, max, segs)) return -ESIM_ARGS;
  wlClear(cpu);
  const w = wlState(cpu);
  w.kind = kind;
  w.dd = dd;
  w.dv = dv;
  w.ring = ring;
  w.min = min;
  w.max = max;
  w.segs = segs == 0 ? 1 : segs;
  w.victim = link;
  w.rng = seedState(seed == 0 ? 1 : seed);
  w.phys = WL_PHYS_BASE + (<u64>cpu << WL_PHYS_CPU_SHIFT);
  w.jiffies0 = jiffiesNow();
  w.smmu = smmuLive(dmaDevice(dv).smmu);
  w.sid = dmaDevice(dv).sid;
  w.iova = iovaOf(dd);
  w.dir = kind == WL_NIC_RX ? DMA_FROM_DEVICE : kind == WL_NIC_TX ? DMA_TO_DEVICE : DMA_BIDIRECTIONAL;
  return 0;
}

/**
 * A ring (or queue, or slots) of 1..RING_MAX entries in all, and buffers of min..max bytes;
 * an attacker's `ring` is how many IOVAs it keeps, 1..KEPT_MAX (its room in the CPU's state).
 */
function ringAndSizesFit(kind: u32, ring: u32, min: u32, max: u32, segs: u32): bool {
  const most = kind == WL_ATTACKER ? KEPT_MAX : RING_MAX;
  return ring != 0 && min != 0 && max >= min && (kind == WL_STORAGE ? ring * segs : ring) <= most;
}

/** One operation of the CPU's workload. */
function step(w: WorkloadCpu, cpu: u32): void {
  const kind = w.kind;
  if (kind == WL_NIC_RX) nicRxOp(w, cpu);
  else if (kind == WL_NIC_TX) nicTxOp(w, cpu);
  else if (kind == WL_STORAGE) storageOp(w, cpu);
  else if (kind == WL_RANDOM) randomOp(w, cpu);
  else if (kind == WL_PAIRS) pairsOp(w, cpu);
  else if (kind == WL_SWITCHER) switcherOp(w, cpu);
  else attackerOp(w);
}

/** Whether the CPU's workload maps and unmaps, so a switcher must park it (not a device, not the switcher). */
@inline function parkable(w: WorkloadCpu): bool {
  const kind = w.kind;
  return kind != WL_ATTACKER && kind != WL_SWITCHER;
}

/**
 * Up to `maxOps` operations on `cpu`, stopping early when the run's stop word is set or
 * the CPU's clock reaches `untilNs` (0: no limit). Returns the operations done.
 */
export function wlRun(cpu: u32, maxOps: u32, untilNs: u64): u32 {
  const w = wlState(cpu);
  if (w.kind == 0) return 0;
  const dd = w.dd;
  const parks = parkable(w);
  if (parks) loopEnter(dd);
  countersCache();
  let done: u32 = 0;
  while (done < maxOps) {
    if (parks) parkIfPaused(dd); // between two operations: nothing of this CPU is in flight
    if (atomic.load<u32>(CONTROL_BASE + CTL_RUN_STOP) != 0) break;
    if (untilNs != 0 && w.clock >= untilNs) break;
    // The CPU's clock and time breakdown follow its operation; the timers that fall due
    // after it run on this thread outside the CPU's clock, as they always have here.
    cpuTimeEnter(clockAddr(w), timeAddr(w), cpu);
    step(w, cpu);
    const now = cpuTimeLeave(clockAddr(w), timeAddr(w)); // an attacker reads its victim's clock
    closeWindows(w, now);
    clockFollow(w.jiffies0, now, cpu);
    done++;
  }
  countersPublish();
  if (parks) loopLeave(dd);
  return done;
}

/** End of the run for `cpu`: everything it still has mapped is unmapped. */
export function wlDrain(cpu: u32): void {
  const w = wlState(cpu);
  const kind = w.kind;
  const dd = w.dd;
  const parks = kind != 0 && parkable(w);
  if (parks) {
    loopEnter(dd);
    parkIfPaused(dd); // a switcher may still be at work: drain between its rebuilds
  }
  countersCache();
  cpuTimeEnter(clockAddr(w), timeAddr(w), cpu);
  if (kind == WL_NIC_RX || kind == WL_NIC_TX) nicDrain(w, cpu, kind == WL_NIC_TX);
  else if (kind == WL_STORAGE) storageDrain(w, cpu);
  else if (kind == WL_RANDOM) randomDrain(w, cpu);
  const now = cpuTimeLeave(clockAddr(w), timeAddr(w));
  closeWindows(w, now);
  countersPublish();
  if (parks) loopLeave(dd);
}

/** Counter `which` (WC_*) of `cpu`, or its clock (WC_CLOCK), or its open windows (WC_OPEN_WINDOWS). */
export function wlCounter(cpu: u32, which: u32): u64 {
  const w = wlState(cpu);
  if (which == WC_CLOCK) return atomic.load<u64>(clockAddr(w));
  if (which == WC_OPEN_WINDOWS) return <u64>w.winCount;
  return wcGet(w, which);
}

/** Count in bucket b of histogram `hist` (W_HIST_*) of `cpu`. */
export function wlHistCount(cpu: u32, hist: u32, b: u32): u32 {
  return b < WL_HIST_BUCKETS ? histGet(wlState(cpu), hist, b) : 0;
}

/** The smallest value bucket b holds. */
export function wlHistFloor(b: u32): u64 {
  return b < WL_HIST_BUCKETS ? histBucketFloor(b) : 0;
}
