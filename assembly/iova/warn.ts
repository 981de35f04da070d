// WARNs of the IOVA allocator, recorded in the domain's event ring in the order they
// happen (reference §3.6), and counted. The replay prints each as a `WARNING:` line where
// the kernel's WARN_ON fired; the public API exposes the count.
//
// Each event is one record of the domain's ring (assembly/ring.ts): kind IEV_*; for a WARN,
// a = its IW_* code and b = the PFN concerned.

import { IEV_ENTRIES, IEV_WARN, I_EV_HEAD, I_EV_RING, I_ST_WARNINGS } from "./layout";
import { ringWrite } from "../ring";

/** Log an event (a WARN, or flush-queue activity) in the domain's ring. */
export function iovaEvent(d: u32, kind: u32, a: u64, b: u64): void {
  ringWrite(d + I_EV_HEAD, d + I_EV_RING, IEV_ENTRIES - 1, kind, a, b, 0);
}

export function iovaWarn(d: u32, code: u32, value: u64): void {
  atomic.add<u32>(d + I_ST_WARNINGS, 1);
  iovaEvent(d, IEV_WARN, <u64>code, value);
}
