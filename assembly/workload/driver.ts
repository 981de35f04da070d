// The driver side of a workload CPU: dma_map and dma_unmap through the DMA layer
// (assembly/dma/iommu.ts) with each call's modelled CPU time measured and binned, the
// device's access to a buffer through the SMMU judged by the oracle, and the lazy window
// of each unmap that was queued rather than synchronised — from its PTE clear until a
// flush that began after it has completed (the flush queue's counter rule, reference
// §2.7), measured on this CPU's clock.

import { TIME_DELAY, cpuSpend } from "../cpu-time";
import { slotBase } from "../sync";
import {
  CONTROL_BASE, CTL_RUN_FLAGS, CTL_RUN_STOP, RUN_STOP_ON_VIOLATION, TS_ACCESS_RESULT, TS_CPU_NS, TS_FQ_STAMP,
} from "../memmap";
import { smmuTranslate } from "../smmu/translate";
import { AR_HIT, AR_ORACLE_CLASS, HIT_WALK, HIT_UTLB, HIT_IOTLB } from "../smmu/access";
import { AC_LAZY_WINDOW, AC_OK, AC_UNCHECKED } from "../safety/oracle";
import { DS_UNMAPS_LAZY, statGet } from "../dma/domain";
import { dmaMap } from "../dma/iommu";
import { dmaUnmap } from "../dma/variant";
import { I_FQ_FINISH_CNT } from "../iova/layout";
import {
  W_HIST_MAP, W_HIST_UNMAP, W_HIST_WINDOW, WC_ACCESSES, WC_FAULTS, WC_MAP_FAILS, WC_MAP_NS, WC_MAPS, WC_UNMAP_ERRORS,
  WC_TLB_HITS, WC_UNMAP_NS, WC_UNMAPS, WC_VIOLATIONS, WC_WINDOWS_LOST, WINDOW_MAX, WorkloadCpu, histAdd, logEntry, logProdAddr, wcAdd,
  windowEntry, wlState,
} from "./state";

/** Modelled ns this thread has been charged so far. */
@inline export function threadNs(): u64 {
  return load<u64>(slotBase() + TS_CPU_NS);
}

/** Charge `ns` of modelled time the workload asks to wait to the CPU it is running (TIME_DELAY). */
@inline export function chargeNs(ns: u64): void {
  cpuSpend(TIME_DELAY, ns);
}

/** dma_map of `bytes` at `phys` on `cpu`: the DMA address, or 0 (counted as a failure). */
export function wlMap(w: WorkloadCpu, cpu: u32, phys: u64, bytes: u32): u64 {
  const t0 = threadNs();
  const iova = dmaMap(w.dd, w.dv, cpu, phys, <u64>bytes, w.dir, 0);
  const ns = threadNs() - t0;
  histAdd(w, W_HIST_MAP, ns);
  wcAdd(w, WC_MAP_NS, ns);
  wcAdd(w, iova == 0 ? WC_MAP_FAILS : WC_MAPS, 1);
  return iova;
}

/**
 * dma_unmap on `cpu`. A queued (lazy) unmap opens a window that closes when a flush begun
 * after it completes; with an attacker, the IOVA is logged for it.
 */
export function wlUnmap(w: WorkloadCpu, cpu: u32, iova: u64, bytes: u32): void {
  const dd = w.dd;
  const lazyBefore = lazyUnmaps(dd, cpu);
  const t0 = threadNs();
  if (dmaUnmap(dd, cpu, iova, <u64>bytes) != 0) wcAdd(w, WC_UNMAP_ERRORS, 1);
  const ns = threadNs() - t0;
  histAdd(w, W_HIST_UNMAP, ns);
  wcAdd(w, WC_UNMAP_NS, ns);
  wcAdd(w, WC_UNMAPS, 1);
  const now = w.clock + ns;
  if (lazyUnmaps(dd, cpu) != lazyBefore) {
    // The window closes when a flush begun after the entry's stamp completes (a full ring
    // flushes inside the unmap, before the entry goes in, so the stamp is read back).
    openWindow(w, load<u64>(slotBase() + TS_FQ_STAMP), now - ns); // the PTEs were cleared early in the call
  }
  const attacker = w.victim;
  if (attacker != 0) logForAttacker(wlState(attacker - 1), iova, now);
}

/** Lazy unmaps this CPU has done in its domain (the DMA layer's per-CPU statistic). */
@inline function lazyUnmaps(dd: u32, cpu: u32): u64 {
  return statGet(dd, cpu, DS_UNMAPS_LAZY);
}

function openWindow(w: WorkloadCpu, stamp: u64, at: u64): void {
  const n = w.winCount;
  if (n == WINDOW_MAX) {
    wcAdd(w, WC_WINDOWS_LOST, 1);
    return;
  }
  const e = windowEntry(w, (w.winHead + n) % WINDOW_MAX);
  e.stamp = stamp;
  e.at = at;
  w.winCount = n + 1;
}

/**
 * Close every open window whose covering flush has completed: finish_cnt has passed the
 * stamp of its flush-queue entry (entries are released by the same rule). Measured at
 * `now` on this CPU's clock, so a window is known to within one operation.
 */
export function closeWindows(w: WorkloadCpu, now: u64): void {
  let n = w.winCount;
  if (n == 0) return;
  const d = w.iova;
  if (d == 0) return;
  const finished = atomic.load<u64>(d + I_FQ_FINISH_CNT);
  let head = w.winHead;
  while (n > 0) {
    const e = windowEntry(w, head);
    if (e.stamp >= finished) break;
    histAdd(w, W_HIST_WINDOW, now - e.at);
    head = (head + 1) % WINDOW_MAX;
    n--;
  }
  w.winHead = head;
  w.winCount = n;
}

/** Append an unmapped IOVA to the attacker's log (dropped if the attacker is behind). */
function logForAttacker(a: WorkloadCpu, iova: u64, at: u64): void {
  const prod = atomic.load<u32>(logProdAddr(a));
  const e = logEntry(a, prod);
  e.iova = iova;
  e.at = at;
  atomic.store<u32>(logProdAddr(a), prod + 1); // publishes the entry
}

/**
 * The device reads or writes the buffer's page at `iova` through the SMMU. Returns the
 * oracle's class (AC_*), or 0x100 + the fault type when the translation faulted. A class
 * other than ok or lazy-window is a violation: counted, and the run is stopped if asked.
 */
export function wlAccess(w: WorkloadCpu, iova: u64, access: u32): u32 {
  const s = w.smmu;
  if (s == 0) return 0x100;
  const res = slotBase() + TS_ACCESS_RESULT;
  store<u32>(res + AR_ORACLE_CLASS, AC_OK);
  // Preset to a walk: smmuTranslate writes where it found the translation only once it has one.
  store<u32>(res + AR_HIT, HIT_WALK);
  wcAdd(w, WC_ACCESSES, 1);
  const fault = smmuTranslate(s, w.sid, iova, access, res);
  // Counted as the SMMU counts its hits (a permission fault after a hit is still a hit), but per CPU.
  const hit = load<u32>(res + AR_HIT);
  if (hit == HIT_UTLB || hit == HIT_IOTLB) wcAdd(w, WC_TLB_HITS, 1);
  if (fault != 0) {
    wcAdd(w, WC_FAULTS, 1);
    return 0x100 + fault;
  }
  const cls = load<u32>(res + AR_ORACLE_CLASS);
  if (cls != AC_OK && cls != AC_LAZY_WINDOW && cls != AC_UNCHECKED) violation(w);
  return cls;
}

function violation(w: WorkloadCpu): void {
  wcAdd(w, WC_VIOLATIONS, 1);
  if ((atomic.load<u32>(CONTROL_BASE + CTL_RUN_FLAGS) & RUN_STOP_ON_VIOLATION) != 0) {
    atomic.store<u32>(CONTROL_BASE + CTL_RUN_STOP, 1);
  }
}
