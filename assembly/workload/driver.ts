// The driver side of a workload CPU: dma_map and dma_unmap through the DMA layer
// (assembly/dma/iommu.ts) with each call's modelled CPU time measured and binned, the
// device's access to a buffer through the SMMU judged by the oracle, and the lazy window
// of each unmap that was queued rather than synchronised — from its PTE clear until a
// flush that began after it has completed (the flush queue's counter rule, reference
// §2.7), measured on this CPU's clock.

import { slotBase } from "../sync";
import {
  CONTROL_BASE, CTL_RUN_FLAGS, CTL_RUN_STOP, RUN_STOP_ON_VIOLATION, TS_ACCESS_RESULT, TS_CPU_NS, TS_FQ_STAMP,
} from "../memmap";
import { smmuTranslate } from "../smmu/translate";
import { AR_ORACLE_CLASS } from "../smmu/access";
import { AC_LAZY_WINDOW, AC_OK, AC_UNCHECKED } from "../safety/oracle";
import { DS_UNMAPS_LAZY, statGet } from "../dma/domain";
import { dmaMap } from "../dma/iommu";
import { dmaUnmap } from "../dma/variant";
import { I_FQ_FINISH_CNT } from "../iova/layout";
import {
  LOG_ENTRY, LOG_MAX, W_CLOCK, W_DD, W_DIR, W_DV, W_IOVA, W_HIST_MAP, W_HIST_UNMAP, W_HIST_WINDOW, W_LOG_PROD,
  W_VICTIM, W_WIN_COUNT, W_WIN_HEAD, W_WINDOWS, WC_ACCESSES, WC_FAULTS, WC_MAP_FAILS,
  WC_MAP_NS, WC_MAPS, WC_UNMAP_ERRORS, WC_UNMAP_NS, WC_UNMAPS, WC_VIOLATIONS, WC_WINDOWS_LOST, WINDOW_ENTRY, WINDOW_MAX,
  W_SID, W_SMMU, histAdd, wcAdd, wlState, W_RING_BASE,
} from "./state";

/** Modelled ns this thread has been charged so far. */
@inline export function threadNs(): u64 {
  return load<u64>(slotBase() + TS_CPU_NS);
}

/** Charge `ns` of modelled time to the thread (and so to the CPU it is running). */
@inline export function chargeNs(ns: u64): void {
  const p = slotBase() + TS_CPU_NS;
  store<u64>(p, load<u64>(p) + ns);
}

/** dma_map of `bytes` at `phys` on `cpu`: the DMA address, or 0 (counted as a failure). */
export function wlMap(w: u32, cpu: u32, phys: u64, bytes: u32): u64 {
  const t0 = threadNs();
  const iova = dmaMap(load<u32>(w + W_DD), load<u32>(w + W_DV), cpu, phys, <u64>bytes, load<u32>(w + W_DIR), 0);
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
export function wlUnmap(w: u32, cpu: u32, iova: u64, bytes: u32): void {
  const dd = load<u32>(w + W_DD);
  const lazyBefore = lazyUnmaps(dd, cpu);
  const t0 = threadNs();
  if (dmaUnmap(dd, cpu, iova, <u64>bytes) != 0) wcAdd(w, WC_UNMAP_ERRORS, 1);
  const ns = threadNs() - t0;
  histAdd(w, W_HIST_UNMAP, ns);
  wcAdd(w, WC_UNMAP_NS, ns);
  wcAdd(w, WC_UNMAPS, 1);
  const now = load<u64>(w + W_CLOCK) + ns;
  if (lazyUnmaps(dd, cpu) != lazyBefore) {
    // The window closes when a flush begun after the entry's stamp completes (a full ring
    // flushes inside the unmap, before the entry goes in, so the stamp is read back).
    openWindow(w, load<u64>(slotBase() + TS_FQ_STAMP), now - ns); // the PTEs were cleared early in the call
  }
  const attacker = load<u32>(w + W_VICTIM);
  if (attacker != 0) logForAttacker(wlState(attacker - 1), iova, now);
}

/** Lazy unmaps this CPU has done in its domain (the DMA layer's per-CPU statistic). */
@inline function lazyUnmaps(dd: u32, cpu: u32): u64 {
  return statGet(dd, cpu, DS_UNMAPS_LAZY);
}

function openWindow(w: u32, stamp: u64, at: u64): void {
  const n = load<u32>(w + W_WIN_COUNT);
  if (n == WINDOW_MAX) {
    wcAdd(w, WC_WINDOWS_LOST, 1);
    return;
  }
  const i = (load<u32>(w + W_WIN_HEAD) + n) % WINDOW_MAX;
  const e = w + W_WINDOWS + i * WINDOW_ENTRY;
  store<u64>(e, stamp);
  store<u64>(e + 8, at);
  store<u32>(w + W_WIN_COUNT, n + 1);
}

/**
 * Close every open window whose covering flush has completed: finish_cnt has passed the
 * stamp of its flush-queue entry (entries are released by the same rule). Measured at
 * `now` on this CPU's clock, so a window is known to within one operation.
 */
export function closeWindows(w: u32, now: u64): void {
  let n = load<u32>(w + W_WIN_COUNT);
  if (n == 0) return;
  const d = load<u32>(w + W_IOVA);
  if (d == 0) return;
  const finished = atomic.load<u64>(d + I_FQ_FINISH_CNT);
  let head = load<u32>(w + W_WIN_HEAD);
  while (n > 0) {
    const e = w + W_WINDOWS + head * WINDOW_ENTRY;
    if (load<u64>(e) >= finished) break;
    histAdd(w, W_HIST_WINDOW, now - load<u64>(e + 8));
    head = (head + 1) % WINDOW_MAX;
    n--;
  }
  store<u32>(w + W_WIN_HEAD, head);
  store<u32>(w + W_WIN_COUNT, n);
}

/** Append an unmapped IOVA to the attacker's log (dropped if the attacker is behind). */
function logForAttacker(a: u32, iova: u64, at: u64): void {
  const prod = atomic.load<u32>(a + W_LOG_PROD);
  const e = a + W_RING_BASE + (prod % LOG_MAX) * LOG_ENTRY;
  store<u64>(e, iova);
  store<u64>(e + 8, at);
  atomic.store<u32>(a + W_LOG_PROD, prod + 1); // publishes the entry
}

/**
 * The device reads or writes the buffer's page at `iova` through the SMMU. Returns the
 * oracle's class (AC_*), or 0x100 + the fault type when the translation faulted. A class
 * other than ok or lazy-window is a violation: counted, and the run is stopped if asked.
 */
export function wlAccess(w: u32, iova: u64, access: u32): u32 {
  const s = load<u32>(w + W_SMMU);
  if (s == 0) return 0x100;
  const res = slotBase() + TS_ACCESS_RESULT;
  store<u32>(res + AR_ORACLE_CLASS, AC_OK);
  wcAdd(w, WC_ACCESSES, 1);
  const fault = smmuTranslate(s, load<u32>(w + W_SID), iova, access, res);
  if (fault != 0) {
    wcAdd(w, WC_FAULTS, 1);
    return 0x100 + fault;
  }
  const cls = load<u32>(res + AR_ORACLE_CLASS);
  if (cls != AC_OK && cls != AC_LAZY_WINDOW && cls != AC_UNCHECKED) violation(w);
  return cls;
}

function violation(w: u32): void {
  wcAdd(w, WC_VIOLATIONS, 1);
  if ((atomic.load<u32>(CONTROL_BASE + CTL_RUN_FLAGS) & RUN_STOP_ON_VIOLATION) != 0) {
    atomic.store<u32>(CONTROL_BASE + CTL_RUN_STOP, 1);
  }
}
