// The attacker of the threat model, measuring the deferred-invalidation window: a device
// that remembers every IOVA its driver unmapped (the victim CPU logs each one with the
// time of its unmap) and keeps reading them. While a stale IOTLB entry survives, a read
// still reaches the old buffer — the oracle calls that a lazy-window access (allowed in
// lazy mode, a violation after a strict unmap). When a read faults, or reaches whatever
// the IOVA was mapped to next, the window is over: the attacker records how long after
// the unmap its last stale read succeeded, on the victim's clock. Each operation takes
// the newly logged IOVAs and retries each kept one once.

import { AC_LAZY_WINDOW } from "../safety/oracle";
import {
  LOG_MAX, W_HIST_WINDOW, WC_OPS, WC_RETRIES, WC_STALE_HITS, WorkloadCpu, clockAddr, histAdd, keptEntry, logEntry,
  logProdAddr, wcAdd, wlState,
} from "./state";
import { wlAccess } from "./driver";

/** Close kept entry i: its window lasted until its last stale read (0 if none got through). */
function forget(w: WorkloadCpu, i: u32): void {
  const e = keptEntry(w, i);
  const seen = e.lastSeen;
  histAdd(w, W_HIST_WINDOW, seen > e.unmappedAt ? seen - e.unmappedAt : 0);
  e.live = 0;
}

/** Take the victim's newly logged unmaps; when full, the oldest kept IOVA is given up. */
function takeLogged(w: WorkloadCpu): void {
  const keep = w.ring;
  let cons = w.logCons;
  const prod = atomic.load<u32>(logProdAddr(w));
  if (prod - cons > LOG_MAX) cons = prod - LOG_MAX; // fell behind: the oldest were overwritten
  for (; cons != prod; cons++) {
    const src = logEntry(w, cons);
    const slot = (w.head + w.count) % keep;
    if (w.count == keep) {
      if (keptEntry(w, slot).live != 0) forget(w, slot);
      w.head = (w.head + 1) % keep;
    } else {
      w.count = w.count + 1;
    }
    const e = keptEntry(w, slot);
    e.iova = src.iova;
    e.unmappedAt = src.at;
    e.lastSeen = 0;
    e.live = 1;
  }
  w.logCons = cons;
}

export function attackerOp(w: WorkloadCpu): void {
  takeLogged(w);
  const victim = wlState(w.victim);
  const now = atomic.load<u64>(clockAddr(victim));
  const keep = w.ring;
  for (let i: u32 = 0; i < keep; i++) {
    const e = keptEntry(w, i);
    if (e.live == 0) continue;
    wcAdd(w, WC_RETRIES, 1);
    const cls = wlAccess(w, e.iova, 0);
    if (cls == AC_LAZY_WINDOW) {
      wcAdd(w, WC_STALE_HITS, 1);
      e.lastSeen = now;
    } else {
      forget(w, i);
    }
  }
  wcAdd(w, WC_OPS, 1);
}
