// The flush queue (deferred IOTLB invalidation, reference §2.2–2.11), for every profile:
// v5.15 kept it in drivers/iommu/iova.c (init_iova_flush_queue, queue_iova, fq_ring_free,
// iova_domain_flush, fq_flush_timeout); v6.12 and v7.1 keep the same algorithm in the
// dma-iommu cookie (drivers/iommu/dma-iommu.c); both add the single shared queue. The behaviour is one
// algorithm with options, so it lives here once, attached to the IOVA domain it frees into:
//
//   per-CPU rings of `size` slots (256; size − 1 usable), 10 ms timeout — every profile;
//   one ring of 32768 slots shared by all CPUs, 1000 ms — single mode of v6.12 and v7.1 (shadow_on_flush).
//
// The flush start/finish counters and the release rule (an entry stamped c is released
// once finish_cnt > c), the synchronous flush when a ring is full, the one-shot timer that
// flushes and then releases every ring into the caches of the CPU it runs on, teardown.
//
// An entry's payload is opaque (v5.15: the destructor's data word, logged as an event);
// with FQ_OPT_FREELIST it is a gather freelist of table pages (assembly/iommu/freelist.ts),
// freed when the entry is released or torn down (v5.15 destructor / v7.1 page list).
// The flush is flush_iotlb_all on the flush-target page table: the io-pgtable tlb_flush_all,
// which on an SMMU domain is TLBI by ASID/VMID + CMD_SYNC. Modelled CPU time: queue_iova
// charges CPU_COST_FQ_QUEUE (its barrier, entry and timer check) besides the ring lock; a
// flush and a release scan charge what they do (commands, syncs, IOVA frees). Left out: CPU hotplug.
//
// The rings, one kheap allocation at IovaDomainBlock.fqRings, one after another:
//   ring c:  FqRing header (its line)  then fqSize × FqEntry, a circle from head to tail

import { CPU_COST_FQ_QUEUE, FRAME_SHIFT, TS_FQ_STAMP, ZONE_KHEAP } from "../memmap";
import { frameAddr, orderForBytes, zoneAlloc, zoneFrameAllocated, zoneFree } from "../phys";
import { LOCK_TIMELINE, cpuCharge, kernelLockTimed, kernelUnlockTimed, slotBase } from "../sync";
import { TIME_FQ_LOCK } from "../cpu-time";
import { jiffiesNow } from "../clock";
import {
  IEV_FQ_FLUSH, IEV_FQ_RELEASE, I_FQ_FINISH_CNT, IF_NO_FQ_EVENTS, I_FQ_FLUSH_FULL, I_FQ_FLUSH_TIMER,
  I_FQ_START_CNT, I_FQ_TIMER_MOVES, I_FQ_TIMER_WRITES, IovaDomainBlock, iovaBlock, iovaFlags, iovaHas,
} from "./layout";
import { KB_FQ_TEARDOWN_WAITS_TIMER, KB_FQ_TIMER_READ_FIRST } from "../behaviour";
import { linesWritten } from "../line-sharing";
import { freeFast } from "./rcache";
import { iovaEvent } from "./warn";
import { liveTable } from "../pgtable/config";
import { tlbFlushAll } from "../pgtable/tlb";
import { freelistRelease } from "../iommu/freelist";
import { ENOMEM, ESIM_ARGS, ESIM_FQ_FREED, ESIM_NO_QUEUE } from "../errno";

export const FQ_SIZE: u32 = 256; //          IOVA_FQ_SIZE (v5.15), IOVA_DEFAULT_FQ_SIZE (v7.1)
export const FQ_SINGLE_SIZE: u32 = 32768; // IOVA_SINGLE_FQ_SIZE (v7.1)
/** 10 ms and 1000 ms as jiffies at HZ = 250 (msecs_to_jiffies rounds up). */
export const FQ_TIMEOUT_JIFFIES: u64 = 3;
export const FQ_SINGLE_TIMEOUT_JIFFIES: u64 = 250;

/** One ring shared by every CPU (v7.1 single mode). */
export const FQ_OPT_SINGLE: u32 = 1 << 0;
/** Entry payloads are table-page freelists, freed on release and at teardown. */
export const FQ_OPT_FREELIST: u32 = 1 << 1;

/** A ring's header (struct iova_fq / iommu_dma_fq without its entries). */
@unmanaged class FqRing {
  /** The ring's lock (sync.ts lock word): queue_iova and every release scan of this ring take it. */
  lock: u32;
  _pad0: u32;
  /** The lock's modelled busy-until time (sync.ts kernelLockTimed, at LOCK_TIMELINE). */
  lockFreeAt: u64;
  /** Index of the oldest entry. */
  head: u32;
  /** Index of the next free slot (head == tail: empty; one slot always stays free). */
  tail: u32;
}
/** The header's room: the entries start on the next line. */
const FQ_RING_HEADER: u32 = 64;
if (offsetof<FqRing>() > FQ_RING_HEADER) ERROR("FqRing outgrew FQ_RING_HEADER");
if (offsetof<FqRing>("lockFreeAt") - offsetof<FqRing>("lock") != LOCK_TIMELINE) ERROR("FqRing.lockFreeAt must sit LOCK_TIMELINE past its lock");

/** One queued unmap (struct iova_fq_entry). */
@unmanaged class FqEntry {
  /** iova_pfn: the range's first PFN. */
  pfn: u64;
  /** pages: the range's size in PFNs. */
  pages: u64;
  /** The payload: the destructor's data word, or a table-page freelist (FQ_OPT_FREELIST). */
  data: u64;
  /** start_cnt when it was queued: released once finish_cnt exceeds it. */
  counter: u64;
}
const FQ_ENTRY: u32 = offsetof<FqEntry>();

@inline function ringBytes(d: u32): u32 {
  return FQ_RING_HEADER + iovaBlock(d).fqSize * FQ_ENTRY;
}
@inline function ringCount(d: u32): u32 {
  return (iovaBlock(d).fqOpts & FQ_OPT_SINGLE) != 0 ? 1 : iovaBlock(d).ncpus;
}
/** The rings' base address (0: no flush queue), read atomically: fqInit publishes it last. */
@inline function ringsBase(d: u32): u32 {
  return atomic.load<u32>(d + offsetof<IovaDomainBlock>("fqRings"));
}
/** Ring `idx` (a CPU's, or 0 in single mode). */
@inline function ringAt(d: u32, base: u32, idx: u32): FqRing {
  return changetype<FqRing>(base + idx * ringBytes(d));
}
/** The ring a CPU queues on: its own, or the single shared one. */
@inline function ringFor(d: u32, cpu: u32): FqRing {
  const idx = (iovaBlock(d).fqOpts & FQ_OPT_SINGLE) != 0 ? 0 : cpu;
  return ringAt(d, ringsBase(d), idx);
}
@inline function ringLock(ring: FqRing): u32 {
  return changetype<u32>(ring) + offsetof<FqRing>("lock");
}
/** Entries queued on the ring, head and tail each read atomically (for readers that hold no lock). */
@inline function ringQueued(d: u32, ring: FqRing): u32 {
  const r = changetype<u32>(ring);
  return (atomic.load<u32>(r + offsetof<FqRing>("tail")) - atomic.load<u32>(r + offsetof<FqRing>("head"))) &
         (iovaBlock(d).fqSize - 1);
}
@inline function entry(ring: FqRing, idx: u32): FqEntry {
  return changetype<FqEntry>(changetype<u32>(ring) + FQ_RING_HEADER + idx * FQ_ENTRY);
}
/** (i + 1) mod size; size is a power of two, so v5.15's % and v7.1's & mod_mask agree. */
@inline function nextIdx(d: u32, i: u32): u32 {
  return (i + 1) & (iovaBlock(d).fqSize - 1);
}

export function fqEnabled(d: u32): bool {
  return ringsBase(d) != 0;
}

/**
 * Build the queue: zeroed counters, the rings (head = tail = 0, unlocked), the timer
 * off, then publish the rings pointer. 0, or -ENOMEM. Already built: 0 (idempotent).
 * Publishing `fq_domain` (the mode flag the unmap path reads) is the caller's step.
 */
export function fqInit(d: u32, size: u32, timeout: u64, opts: u32): i32 {
  if (fqEnabled(d)) return 0;
  const dom = iovaBlock(d);
  dom.fqSize = size;
  dom.fqOpts = opts;
  dom.fqTimeout = timeout;
  const bytes = <u64>ringCount(d) * <u64>ringBytes(d);
  const frame = zoneAlloc(ZONE_KHEAP, orderForBytes(bytes));
  if (frame < 0) return -ENOMEM;
  dom.fqStartCnt = 0;
  dom.fqFinishCnt = 0;
  dom.fqTimerOn = 0;
  dom.fqFrame = <u32>frame;
  atomic.store<u32>(d + offsetof<IovaDomainBlock>("fqRings"), frameAddr(ZONE_KHEAP, <u32>frame));
  return 0;
}

/** Log a flush-queue event, unless the domain was told not to (IF_NO_FQ_EVENTS). */
@inline function fqEvent(d: u32, kind: u32, a: u64): void {
  if ((iovaFlags(d) & IF_NO_FQ_EVENTS) == 0) iovaEvent(d, kind, a, 0);
}

/** The flush: a flush starts, the callback invalidates everything (and waits), it finishes. */
export function fqFlush(d: u32): void {
  fqFlushStart(d);
  fqFlushFinish(d);
}

/** The flush's first half: start_cnt + 1 (entries queued from now on wait for the next flush). */
export function fqFlushStart(d: u32): void {
  atomic.add<u64>(d + I_FQ_START_CNT, 1);
  fqEvent(d, IEV_FQ_FLUSH, 0);
}

/** Its second half: the flush callback (flush_iotlb_all, waited for), then finish_cnt + 1. */
export function fqFlushFinish(d: u32): void {
  const pt = atomic.load<u32>(d + offsetof<IovaDomainBlock>("fqFlushPt"));
  if (pt != 0) {
    const desc = liveTable(pt - 1);
    if (desc != 0) tlbFlushAll(desc); // waits for the invalidation (CMD_SYNC) to complete
  }
  atomic.add<u64>(d + I_FQ_FINISH_CNT, 1);
}

/** Make the flush callback flush_iotlb_all on page table `pt` (-1: log only). */
export function fqSetFlushTarget(d: u32, pt: i32): void {
  atomic.store<u32>(d + offsetof<IovaDomainBlock>("fqFlushPt"), pt < 0 ? 0 : <u32>pt + 1);
}

/** The entry destructor: log the payload; free it if it is a table-page freelist. */
function destroyPayload(d: u32, data: u64): void {
  fqEvent(d, IEV_FQ_RELEASE, data);
  if ((iovaBlock(d).fqOpts & FQ_OPT_FREELIST) != 0) freelistRelease(<u32>data);
}

/**
 * The release scan, with the ring's lock held: release entries from the head while their
 * counter is below finish_cnt (read once) — destructor, then free_iova_fast into `cpu`'s
 * caches.
 */
function ringRelease(d: u32, ring: FqRing, cpu: u32): u32 {
  const finish = atomic.load<u64>(d + I_FQ_FINISH_CNT);
  let head = ring.head;
  const tail = ring.tail;
  let n: u32 = 0;
  while (head != tail) {
    const e = entry(ring, head);
    if (e.counter >= finish) break;
    destroyPayload(d, e.data);
    freeFast(d, cpu, e.pfn, e.pages);
    head = nextIdx(d, head);
    ring.head = head;
    n++;
  }
  return n;
}

// ── freed rings are poisoned, and every late access is seen ─────────────────
// Teardown fills the rings with the slab allocator's free poison before giving the memory
// back, as a kernel with slab poisoning does; a ring reached afterwards — through a pointer
// read before the free, as the timer callback of bug-corpus #3 does — is found freed (its
// kheap frames no longer allocated, or its lock word poisoned) and counted, never used.

/** The word freed flush-queue memory is filled with: POISON_FREE (0x6b), include/linux/poison.h. */
export const FQ_POISON_WORD: u32 = 0x6b6b6b6b;

@inline function fqFreedAccessesAddr(d: u32): u32 {
  return d + offsetof<IovaDomainBlock>("fqFreedAccesses");
}

/** Whether ring `idx` of the rings at `base` is still the queue's live memory. */
function ringAlive(d: u32, base: u32, idx: u32): bool {
  const addr = changetype<u32>(ringAt(d, base, idx));
  const frame = (addr - frameAddr(ZONE_KHEAP, 0)) >> FRAME_SHIFT;
  return zoneFrameAllocated(ZONE_KHEAP, frame) && atomic.load<u32>(addr) != FQ_POISON_WORD;
}

/** Ring accesses that found the queue freed or gone (0 unless a teardown raced a user). */
export function fqFreedAccesses(d: u32): u32 {
  return atomic.load<u32>(fqFreedAccessesAddr(d));
}

/** The timer's on word, exchanged atomically by every CPU that queues. */
@inline function timerOnAddr(d: u32): u32 {
  return d + offsetof<IovaDomainBlock>("fqTimerOn");
}

/**
 * queue_iova on simulated CPU `cpu` (whose caches the caller runs): the full barrier,
 * then the rest of it (fqQueueOrdered).
 */
export function fqQueue(d: u32, cpu: u32, pfn: u64, pages: u64, data: u64): void {
  atomic.fence(); // O3: this CPU's PTE clears before the entry; pairs with the publish
  fqQueueOrdered(d, cpu, pfn, pages, data);
}

/**
 * queue_iova after its barrier, which the caller has run — dma-iommu's unmap runs it as a
 * step of its variant's sequence (dma/steps.ts), where each variant has it in its place:
 * the ring pointer, release what earlier flushes covered, flush synchronously if the ring
 * is full, add the entry stamped with start_cnt, and arm the timer if it is off.
 */
export function fqQueueOrdered(d: u32, cpu: u32, pfn: u64, pages: u64, data: u64): void {
  cpuCharge(CPU_COST_FQ_QUEUE, 1);
  const ring = ringFor(d, cpu);
  kernelLockTimed(ringLock(ring), TIME_FQ_LOCK);
  ringRelease(d, ring, cpu);
  if (nextIdx(d, ring.tail) == ring.head) {
    atomic.add<u64>(d + I_FQ_FLUSH_FULL, 1);
    fqFlush(d);
    ringRelease(d, ring, cpu);
  }
  const tail = ring.tail;
  const e = entry(ring, tail);
  e.pfn = pfn;
  e.pages = pages;
  e.data = data;
  const stamp = atomic.load<u64>(d + I_FQ_START_CNT);
  e.counter = stamp;
  store<u64>(slotBase() + TS_FQ_STAMP, stamp);
  ring.tail = nextIdx(d, tail);
  kernelUnlockTimed(ringLock(ring));
  // Arm the timer if it is off: read first (0d87308cca2c), or compare-and-swap every time.
  if (iovaHas(d, KB_FQ_TIMER_READ_FIRST) && atomic.load<u32>(timerOnAddr(d)) != 0) return;
  timerWordWritten(d, cpu);
  if (atomic.cmpxchg<u32>(timerOnAddr(d), 0, 1) == 0) {
    atomic.store<u64>(d + offsetof<IovaDomainBlock>("fqTimerDue"), jiffiesNow() + iovaBlock(d).fqTimeout);
  }
}

/**
 * CPU `cpu` writes fq_timer_on (a compare-and-swap takes the line exclusive whether or not
 * it changes the word): counted, and a move of the line when another CPU wrote it last; in
 * timed runs the move is charged as a line transfer (line-sharing.ts).
 */
function timerWordWritten(d: u32, cpu: u32): void {
  atomic.add<u64>(d + I_FQ_TIMER_WRITES, 1);
  const last = atomic.xchg<u32>(d + offsetof<IovaDomainBlock>("fqTimerLastCpu"), cpu + 1);
  if (last != 0 && last != cpu + 1) atomic.add<u64>(d + I_FQ_TIMER_MOVES, 1);
  linesWritten(timerOnAddr(d), 4);
}

/** When the armed timer fires (U64.MAX_VALUE when it is off). */
export function fqTimerDue(d: u32): u64 {
  if (!fqEnabled(d) || atomic.load<u32>(timerOnAddr(d)) == 0) return U64.MAX_VALUE;
  return atomic.load<u64>(d + offsetof<IovaDomainBlock>("fqTimerDue"));
}

/** Release every ring's covered entries into `cpu`'s caches, locking each in turn. */
export function fqReleaseAll(d: u32, cpu: u32): void {
  const n = ringCount(d);
  for (let c: u32 = 0; c < n; c++) fqReleaseRing(d, cpu, c);
}

/**
 * The release scan of ring `idx` into `cpu`'s caches, under the ring's lock, the rings'
 * pointer read afresh (as the kernel's loop over the CPUs does). Entries released, or
 * -ESIM_NO_QUEUE (the pointer was cleared: the kernel would follow a NULL per-CPU pointer),
 * -ESIM_FQ_FREED (the ring was freed under the reader: a use-after-free), each counted.
 */
export function fqReleaseRing(d: u32, cpu: u32, idx: u32): i32 {
  const base = ringsBase(d);
  if (base == 0 || !ringAlive(d, base, idx)) {
    atomic.add<u32>(fqFreedAccessesAddr(d), 1);
    return base == 0 ? -ESIM_NO_QUEUE : -ESIM_FQ_FREED;
  }
  const ring = ringAt(d, base, idx);
  kernelLockTimed(ringLock(ring), TIME_FQ_LOCK);
  const n = ringRelease(d, ring, cpu);
  kernelUnlockTimed(ringLock(ring));
  return <i32>n;
}

// ── the timer callback (fq_flush_timeout), in the steps a schedule interleaves ──

@inline function timerRunningAddr(d: u32): u32 {
  return d + offsetof<IovaDomainBlock>("fqTimerRunning");
}

/**
 * The timer fires on simulated CPU `cpu`: if it is still pending, its callback starts —
 * running, timer_on cleared — and flushes. false: it was deleted before it fired, and nothing runs.
 */
export function fqTimerFire(d: u32, cpu: u32): bool {
  if (!fqEnabled(d) || atomic.load<u32>(timerOnAddr(d)) == 0) return false;
  atomic.store<u32>(timerRunningAddr(d), 1);
  timerWordWritten(d, cpu);
  atomic.store<u32>(timerOnAddr(d), 0);
  atomic.add<u64>(d + I_FQ_FLUSH_TIMER, 1);
  fqFlush(d);
  return true;
}

/**
 * The running callback's release scan of ring `idx` into `cpu`'s caches (fqReleaseRing;
 * `canRelease` false: that CPU's caches belong to another worker, so entries wait for the
 * next queue_iova on their ring or the next timer). The last ring's scan ends the
 * callback. 0 when no callback is running.
 */
export function fqTimerReleaseRing(d: u32, cpu: u32, idx: u32, canRelease: bool): i32 {
  if (atomic.load<u32>(timerRunningAddr(d)) == 0) return 0;
  const rc = canRelease ? fqReleaseRing(d, cpu, idx) : 0;
  if (idx + 1 >= ringCount(d)) atomic.store<u32>(timerRunningAddr(d), 0);
  return rc;
}

/** Whether a timer callback is running (between fqTimerFire and its last ring's scan). */
export function fqTimerRunning(d: u32): bool {
  return atomic.load<u32>(timerRunningAddr(d)) != 0;
}

/**
 * The timer callback, run on simulated CPU `cpu` (the one advancing time): the timer goes
 * off, a flush, then every ring is released into `cpu`'s caches. `canRelease` false
 * (that CPU's caches belong to another worker): the flush still happens; entries wait for
 * the next queue_iova on their ring or the next timer.
 */
export function fqTimeout(d: u32, cpu: u32, canRelease: bool): void {
  if (!fqTimerFire(d, cpu)) return;
  const n = ringCount(d);
  for (let c: u32 = 0; c < n; c++) fqTimerReleaseRing(d, cpu, c, canRelease);
}

/** Entries still queued, over all rings. */
export function fqPending(d: u32): u32 {
  if (!fqEnabled(d)) return 0;
  const n = ringCount(d);
  const base = ringsBase(d);
  let total: u32 = 0;
  for (let c: u32 = 0; c < n; c++) total += ringQueued(d, ringAt(d, base, c));
  return total;
}

/**
 * Entries queued on ring `idx` (a CPU's ring, or ring 0 in single mode), or -ESIM_NO_QUEUE
 * when there is no queue, -ESIM_ARGS when there is no such ring. Lock-free: the live page reads it while CPUs queue and flush,
 * so a value may be a moment old, never torn (head and tail are each read atomically).
 */
export function fqRingPending(d: u32, idx: u32): i32 {
  if (!fqEnabled(d)) return -ESIM_NO_QUEUE;
  if (idx >= ringCount(d)) return -ESIM_ARGS;
  return <i32>ringQueued(d, ringAt(d, ringsBase(d), idx));
}

/** Slots per ring (usable: one less), or 0 when there is no queue. */
export function fqRingSlots(d: u32): u32 {
  return fqEnabled(d) ? iovaBlock(d).fqSize : 0;
}

// ── teardown (v5.15 free_iova_flush_queue, v7.1 iommu_dma_free_fq), in steps ──

/** Teardown's steps, in order (fqTeardownStep). */
export const FQT_CANCEL: u32 = 0;
export const FQT_DESTROY: u32 = 1;
export const FQT_FREE: u32 = 2;
export const FQT_DETACH: u32 = 3;
export const FQT_STEPS: u32 = 4;

/**
 * Whether teardown may not go past cancelling the timer yet: a callback is running on
 * another CPU and the kernel waits for it (KB_FQ_TEARDOWN_WAITS_TIMER: del_timer_sync,
 * timer_delete_sync). Before that fix the timer was deleted only if pending, and teardown
 * went on under the running callback.
 */
export function fqTeardownMustWait(d: u32): bool {
  return iovaHas(d, KB_FQ_TEARDOWN_WAITS_TIMER) && fqTimerRunning(d);
}

/**
 * One step of teardown: FQT_CANCEL, the timer deleted if pending (a caller with
 * KB_FQ_TEARDOWN_WAITS_TIMER has waited out a running callback: fqTeardownMustWait);
 * FQT_DESTROY, every pending entry's destructor — without freeing its IOVA (the domain is
 * destroyed next); FQT_FREE, the rings' memory poisoned and freed; FQT_DETACH, the queue's
 * pointer cleared. false for a step that does not exist.
 */
export function fqTeardownStep(d: u32, step: u32): bool {
  if (step == FQT_CANCEL) atomic.store<u32>(timerOnAddr(d), 0);
  else if (step == FQT_DESTROY) destroyPending(d);
  else if (step == FQT_FREE) freeRings(d);
  else if (step == FQT_DETACH) atomic.store<u32>(d + offsetof<IovaDomainBlock>("fqRings"), 0);
  else return false;
  return true;
}

function destroyPending(d: u32): void {
  const base = ringsBase(d);
  if (base == 0) return;
  const n = ringCount(d);
  for (let c: u32 = 0; c < n; c++) {
    const ring = ringAt(d, base, c);
    for (let i = ring.head; i != ring.tail; i = nextIdx(d, i)) {
      destroyPayload(d, entry(ring, i).data);
    }
  }
}

function freeRings(d: u32): void {
  const base = ringsBase(d);
  if (base == 0) return;
  memory.fill(base, <u8>(FQ_POISON_WORD & 0xff), <usize>(ringCount(d) * ringBytes(d)));
  zoneFree(ZONE_KHEAP, iovaBlock(d).fqFrame);
}

/**
 * Teardown, whole: the timer goes, every pending entry's destructor runs — without freeing
 * its IOVA (the domain is destroyed next) — and the rings are freed.
 */
export function fqTeardown(d: u32): void {
  if (!fqEnabled(d)) return;
  for (let step: u32 = 0; step < FQT_STEPS; step++) fqTeardownStep(d, step);
}
