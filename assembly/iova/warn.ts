// WARNs of the IOVA allocator, recorded in the domain's event ring in the order they
// happen (reference §3.6), and counted. The replay prints each as a `WARNING:` line where
// the kernel's WARN_ON fired; the public API exposes the count.
//
// Ring entry (32 bytes): +0 kind u32  +4 seq+1 u32 (published last)  +8 a u64  +16 b u64

import { EV_ENTRIES, EV_SIZE, EV_WARN, I_EV_HEAD, I_EV_RING, I_ST_WARNINGS } from "./layout";

export function iovaWarn(d: u32, code: u32, value: u64): void {
  atomic.add<u32>(d + I_ST_WARNINGS, 1);
  const seq = atomic.add<u32>(d + I_EV_HEAD, 1);
  const rec = d + I_EV_RING + (seq & (EV_ENTRIES - 1)) * EV_SIZE;
  atomic.store<u32>(rec + 4, 0);
  store<u32>(rec, EV_WARN);
  store<u64>(rec + 8, <u64>code);
  store<u64>(rec + 16, value);
  atomic.store<u32>(rec + 4, seq + 1);
}
