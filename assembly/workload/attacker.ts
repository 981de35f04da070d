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
  KEPT_ENTRY, LOG_ENTRY, LOG_MAX, W_CLOCK, W_COUNT, W_HEAD, W_HIST_WINDOW, W_LOG_CONS, W_LOG_PROD,
  W_RING, W_RING_BASE, W_VICTIM, W_WINDOWS, WC_OPS, WC_RETRIES, WC_STALE_HITS, histAdd, wcAdd, wlState,
} from "./state";
import { wlAccess } from "./driver";

@inline function kept(w: u32, i: u32): u32 {
  return w + W_WINDOWS + i * KEPT_ENTRY;
}

/** Close kept entry i: its window lasted until its last stale read (0 if none got through). */
function forget(w: u32, i: u32): void {
  const e = kept(w, i);
  const seen = load<u64>(e + 16);
  histAdd(w, W_HIST_WINDOW, seen > load<u64>(e + 8) ? seen - load<u64>(e + 8) : 0);
  store<u32>(e + 24, 0);
}

/** Take the victim's newly logged unmaps; when full, the oldest kept IOVA is given up. */
function takeLogged(w: u32): void {
  const keep = load<u32>(w + W_RING);
  let cons = load<u32>(w + W_LOG_CONS);
  const prod = atomic.load<u32>(w + W_LOG_PROD);
  if (prod - cons > LOG_MAX) cons = prod - LOG_MAX; // fell behind: the oldest were overwritten
  for (; cons != prod; cons++) {
    const src = w + W_RING_BASE + (cons % LOG_MAX) * LOG_ENTRY;
    const slot = (load<u32>(w + W_HEAD) + load<u32>(w + W_COUNT)) % keep;
    if (load<u32>(w + W_COUNT) == keep) {
      if (load<u32>(kept(w, slot) + 24) != 0) forget(w, slot);
      store<u32>(w + W_HEAD, (load<u32>(w + W_HEAD) + 1) % keep);
    } else {
      store<u32>(w + W_COUNT, load<u32>(w + W_COUNT) + 1);
    }
    const e = kept(w, slot);
    store<u64>(e, load<u64>(src));
    store<u64>(e + 8, load<u64>(src + 8));
    store<u64>(e + 16, 0);
    store<u32>(e + 24, 1);
  }
  store<u32>(w + W_LOG_CONS, cons);
}

export function attackerOp(w: u32): void {
  takeLogged(w);
  const victim = wlState(load<u32>(w + W_VICTIM));
  const now = atomic.load<u64>(victim + W_CLOCK);
  const keep = load<u32>(w + W_RING);
  for (let i: u32 = 0; i < keep; i++) {
    const e = kept(w, i);
    if (load<u32>(e + 24) == 0) continue;
    wcAdd(w, WC_RETRIES, 1);
    const cls = wlAccess(w, load<u64>(e), 0);
    if (cls == AC_LAZY_WINDOW) {
      wcAdd(w, WC_STALE_HITS, 1);
      store<u64>(e + 16, now);
    } else {
      forget(w, i);
    }
  }
  wcAdd(w, WC_OPS, 1);
}


