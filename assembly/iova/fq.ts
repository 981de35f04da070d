// The v5.15 flush queue, which then lived in drivers/iommu/iova.c (reference §2.2–2.10):
// per-CPU rings of IOVA_FQ_SIZE = 256 entries (255 usable), the flush start/finish
// counters, the release scan and its counter rule, the synchronous flush when a ring is
// full, the one-shot 10 ms timer that flushes and releases every CPU's ring into the
// caches of the CPU it runs on, and teardown (destructors run, IOVAs not freed).
//
// The flush callback and the entry destructor are logged as events in the domain's ring.
// With a flush target (a page table), the callback is dma-iommu's flush_iotlb_all on it:
// the io-pgtable tlb_flush_all, which on an SMMU domain is TLBI by ASID/VMID + CMD_SYNC.
// Left out: v7.1's flush queue (it moved to dma-iommu.c; a later issue).
//
// Ring (per CPU, FQ_RING_BYTES): +0 lock (own line)  +4 head  +8 tail
//   +64 entries, FQ_ENTRY bytes each: pfn u64, pages u64, data u64, counter u64

import { ZONE_KHEAP } from "../memmap";
import { frameAddr, orderForBytes, zoneAlloc, zoneFree } from "../phys";
import { kernelLock, lockRelease } from "../sync";
import { jiffiesNow } from "../clock";
import {
  EV_FQ_FLUSH, EV_FQ_RELEASE, I_FQ_FINISH_CNT,
  I_FQ_FLUSH_PT, I_FQ_FRAME, I_FQ_RINGS, I_FQ_START_CNT, I_FQ_TIMER_DUE, I_FQ_TIMER_ON, I_NCPUS,
} from "./layout";
import { freeFast } from "./rcache";
import { iovaEvent } from "./warn";
import { liveTable } from "../pgtable/config";
import { tlbFlushAll } from "../pgtable/tlb";

export const FQ_SIZE: u32 = 256; //          IOVA_FQ_SIZE
/** IOVA_FQ_TIMEOUT = 10 ms as jiffies at HZ = 250 (msecs_to_jiffies rounds up). */
export const FQ_TIMEOUT_JIFFIES: u64 = 3;
const FQ_ENTRY: u32 = 32;
const FQ_RING_BYTES: u32 = 64 + FQ_SIZE * FQ_ENTRY;
const R_LOCK: u32 = 0;
const R_HEAD: u32 = 4;
const R_TAIL: u32 = 8;

export const FQ_ERR_NOMEM: i32 = -12;

@inline function ringOf(d: u32, cpu: u32): u32 {
  return load<u32>(d + I_FQ_RINGS) + cpu * FQ_RING_BYTES;
}
@inline function entry(ring: u32, idx: u32): u32 {
  return ring + 64 + idx * FQ_ENTRY;
}
@inline function nextIdx(i: u32): u32 {
  return (i + 1) % FQ_SIZE;
}

export function fqEnabled(d: u32): bool {
  return load<u32>(d + I_FQ_RINGS) != 0;
}

/** init_iova_flush_queue: zeroed counters, a ring per CPU, the timer off. 0 or -ENOMEM. */
export function fqInit(d: u32): i32 {
  if (fqEnabled(d)) return 0;
  const bytes = load<u32>(d + I_NCPUS) * FQ_RING_BYTES;
  const frame = zoneAlloc(ZONE_KHEAP, orderForBytes(<u64>bytes));
  if (frame < 0) return FQ_ERR_NOMEM;
  store<u64>(d + I_FQ_START_CNT, 0);
  store<u64>(d + I_FQ_FINISH_CNT, 0);
  store<u32>(d + I_FQ_TIMER_ON, 0);
  store<u32>(d + I_FQ_FRAME, <u32>frame);
  // Publish last: the rings are zeroed (head = tail = 0, unlocked) by the allocator.
  atomic.store<u32>(d + I_FQ_RINGS, frameAddr(ZONE_KHEAP, <u32>frame));
  return 0;
}

/** iova_domain_flush: a flush starts, the callback invalidates everything, it finishes. */
function domainFlush(d: u32): void {
  atomic.add<u64>(d + I_FQ_START_CNT, 1);
  iovaEvent(d, EV_FQ_FLUSH, 0, 0);
  const pt = atomic.load<u32>(d + I_FQ_FLUSH_PT);
  if (pt != 0) {
    const desc = liveTable(pt - 1);
    if (desc != 0) tlbFlushAll(desc); // waits for the invalidation (CMD_SYNC) to complete
  }
  atomic.add<u64>(d + I_FQ_FINISH_CNT, 1);
}

/** Make the flush callback flush_iotlb_all on page table `pt` (-1: log only). */
export function fqSetFlushTarget(d: u32, pt: i32): void {
  atomic.store<u32>(d + I_FQ_FLUSH_PT, pt < 0 ? 0 : <u32>pt + 1);
}

/**
 * fq_ring_free, with the ring's lock held: release entries from the head while their
 * counter is below finish_cnt — destructor, then free_iova_fast into `cpu`'s caches.
 */
function ringRelease(d: u32, ring: u32, cpu: u32): void {
  const finish = atomic.load<u64>(d + I_FQ_FINISH_CNT);
  let head = load<u32>(ring + R_HEAD);
  const tail = load<u32>(ring + R_TAIL);
  while (head != tail) {
    const e = entry(ring, head);
    if (load<u64>(e + 24) >= finish) break;
    iovaEvent(d, EV_FQ_RELEASE, load<u64>(e + 16), 0);
    freeFast(d, cpu, load<u64>(e), load<u64>(e + 8));
    head = nextIdx(head);
    store<u32>(ring + R_HEAD, head);
  }
}

/**
 * queue_iova on simulated CPU `cpu` (whose caches the caller runs): release what earlier
 * flushes covered, flush synchronously if the ring is full, add the entry stamped with
 * start_cnt, and arm the timer if it is off.
 */
export function fqQueue(d: u32, cpu: u32, pfn: u64, pages: u64, data: u64): void {
  atomic.fence(); // the unmap's page-table updates before the entry can be released
  const ring = ringOf(d, cpu);
  kernelLock(ring + R_LOCK);
  ringRelease(d, ring, cpu);
  if (nextIdx(load<u32>(ring + R_TAIL)) == load<u32>(ring + R_HEAD)) {
    domainFlush(d);
    ringRelease(d, ring, cpu);
  }
  const tail = load<u32>(ring + R_TAIL);
  const e = entry(ring, tail);
  store<u64>(e, pfn);
  store<u64>(e + 8, pages);
  store<u64>(e + 16, data);
  store<u64>(e + 24, atomic.load<u64>(d + I_FQ_START_CNT));
  store<u32>(ring + R_TAIL, nextIdx(tail));
  lockRelease(ring + R_LOCK);
  if (atomic.load<u32>(d + I_FQ_TIMER_ON) == 0 && atomic.xchg<u32>(d + I_FQ_TIMER_ON, 1) == 0) {
    atomic.store<u64>(d + I_FQ_TIMER_DUE, jiffiesNow() + FQ_TIMEOUT_JIFFIES);
  }
}

/** When the armed timer fires (U64.MAX_VALUE when it is off). */
export function fqTimerDue(d: u32): u64 {
  if (!fqEnabled(d) || atomic.load<u32>(d + I_FQ_TIMER_ON) == 0) return U64.MAX_VALUE;
  return atomic.load<u64>(d + I_FQ_TIMER_DUE);
}

/**
 * fq_flush_timeout, run on simulated CPU `cpu` (the one advancing time): the timer goes
 * off, a flush, then every CPU's ring is released into `cpu`'s caches. `canRelease` false
 * (that CPU's caches belong to another worker): the flush still happens; entries wait for
 * the next queue_iova on their ring or the next timer.
 */
export function fqTimeout(d: u32, cpu: u32, canRelease: bool): void {
  atomic.store<u32>(d + I_FQ_TIMER_ON, 0);
  domainFlush(d);
  if (!canRelease) return;
  const n = load<u32>(d + I_NCPUS);
  for (let c: u32 = 0; c < n; c++) {
    const ring = ringOf(d, c);
    kernelLock(ring + R_LOCK);
    ringRelease(d, ring, cpu);
    lockRelease(ring + R_LOCK);
  }
}

/**
 * free_iova_flush_queue: the timer goes, every pending entry's destructor runs — without
 * freeing its IOVA (the domain is destroyed next) — and the rings are freed.
 */
export function fqTeardown(d: u32): void {
  if (!fqEnabled(d)) return;
  atomic.store<u32>(d + I_FQ_TIMER_ON, 0);
  const n = load<u32>(d + I_NCPUS);
  for (let c: u32 = 0; c < n; c++) {
    const ring = ringOf(d, c);
    for (let i = load<u32>(ring + R_HEAD); i != load<u32>(ring + R_TAIL); i = nextIdx(i)) {
      iovaEvent(d, EV_FQ_RELEASE, load<u64>(entry(ring, i) + 16), 0);
    }
  }
  const frame = load<u32>(d + I_FQ_FRAME);
  atomic.store<u32>(d + I_FQ_RINGS, 0);
  zoneFree(ZONE_KHEAP, frame);
}
