// Device DMA engines: a device that takes DMA descriptors (IOVA, length, direction) from a
// ring in shared memory, as a NIC or NVMe queue does, and reads or writes through the SMMU
// page by page; and, optionally, the attacker of the threat model — a device that keeps
// every IOVA it was ever given and keeps trying them after the driver unmapped them.
// The data itself is not moved (simulated RAM holds only page tables); what the model
// tracks is where each access went, and — with the SMMU's oracle — whether it should have.
//
// A ring is one kheap block: its header, the descriptors, then (an attacker's) history of
// every IOVA it was given:
//
//   r ─► RingHeader (RING_HEADER bytes) │ capacity × DmaDesc (DESC_SIZE) │ history: u64 IOVAs
//
// The driver produces at `prod`, the device consumes at `cons` (free-running u32 counters;
// the ring slot is counter & mask).

import { smmuTranslate } from "../smmu/translate";
import { AccessResult } from "../smmu/access";
import { slotBase } from "../sync";
import { CACHE_LINE, TS_RESULT0 } from "../memmap";
import { randomOf, seedState, xorshift64 } from "../random";

/** The ring's bookkeeping (set by ringInit, in zeroed memory). */
@unmanaged export class RingHeader {
  /** Descriptors (a power of two). */
  capacity: u32;
  /** capacity − 1. */
  mask: u32;
  /** The attacker's history: u64 IOVAs (historyMask + 1 of them), 0 = an ordinary device. */
  history: u32;
  historyMask: u32;
  /** Bytes per translation: the DMA goes page by page in this granule. */
  granule: u32;
  _pad0: u32; _pad1: u64; _pad2: u64; _pad3: u64; _pad4: u64; _pad5: u64;
  /** Descriptors posted: the driver's (atomic store after the descriptor is written). */
  prod: u32;
  _pad6: u32; _pad7: u64; _pad8: u64; _pad9: u64; _pad10: u64; _pad11: u64; _pad12: u64; _pad13: u64;
  /** Descriptors taken: the device's (atomic store after it is done). */
  cons: u32;
  _pad14: u32; _pad15: u64; _pad16: u64; _pad17: u64; _pad18: u64; _pad19: u64; _pad20: u64; _pad21: u64;
  /** IOVAs the attacker remembered (wrapping): bumped atomically by the device. */
  historyHead: u32;
  _pad22: u32; _pad23: u64; _pad24: u64; _pad25: u64; _pad26: u64; _pad27: u64; _pad28: u64; _pad29: u64;
  /** Statistics: u64 at stats + 8·RS_* (atomic adds by the device). */
  stats: u64;
}

export const RS_COMPLETED: u32 = 0;
export const RS_FAULTED: u32 = 1;
export const RS_BYTES: u32 = 2;
export const RS_RETRIES: u32 = 3;
export const RS_RETRIES_THROUGH: u32 = 4;
const RS_COUNT: u32 = 5;

/** Bytes before the first descriptor. */
export const RING_HEADER: u32 = 320;
if (offsetof<RingHeader>("stats") + RS_COUNT * 8 > RING_HEADER) ERROR("RingHeader outgrew RING_HEADER");
if (offsetof<RingHeader>("prod") % CACHE_LINE != 0) ERROR("RingHeader.prod must start its own cache line");
if (offsetof<RingHeader>("cons") % CACHE_LINE != 0) ERROR("RingHeader.cons must start its own cache line");
if (offsetof<RingHeader>("historyHead") % CACHE_LINE != 0) {
  ERROR("RingHeader.historyHead must start its own cache line");
}
if (offsetof<RingHeader>("stats") % CACHE_LINE != 0) ERROR("RingHeader.stats must start its own cache line");

/** A DMA descriptor: written by the driver (ringPost), completed by the device (deviceRun). */
@unmanaged export class DmaDesc {
  /** Where the DMA starts. */
  iova: u64;
  /** Its length in bytes. */
  len: u32;
  /** DESC_* flags. */
  flags: u32;
  /** 0 posted, 1 done, 2 + fault type when the access faulted (atomic store by the device, last). */
  status: u32;
  _pad0: u32;
  /** The physical address its first page reached (0 when it faulted). */
  pa: u64;
}

export const DESC_SIZE: u32 = offsetof<DmaDesc>();
// Exported in the module's layout (assembly/index.ts); src/device/engine.ts reads prod, cons, stats.
export const R_CAPACITY: u32 = offsetof<RingHeader>("capacity");
export const R_HISTORY_MASK: u32 = offsetof<RingHeader>("historyMask");
export const R_PROD: u32 = offsetof<RingHeader>("prod");
export const R_CONS: u32 = offsetof<RingHeader>("cons");
export const R_STATS: u32 = offsetof<RingHeader>("stats");

export const DESC_WRITE: u32 = 1;

export function ringBytes(capacity: u32, history: u32): u32 {
  return RING_HEADER + capacity * DESC_SIZE + history * 8;
}

/** Lay out a ring at `r` in zeroed memory. history = 0: an ordinary device, no attacker memory. */
export function ringInit(r: u32, capacity: u32, history: u32, granule: u32): void {
  const h = changetype<RingHeader>(r);
  h.capacity = capacity;
  h.mask = capacity - 1;
  h.history = history == 0 ? 0 : r + RING_HEADER + capacity * DESC_SIZE;
  h.historyMask = history == 0 ? 0 : history - 1;
  h.granule = granule;
}

@inline function desc(r: RingHeader, i: u32): DmaDesc {
  return changetype<DmaDesc>(changetype<u32>(r) + RING_HEADER + (i & r.mask) * DESC_SIZE);
}

@inline function bump(r: RingHeader, which: u32, n: u64): void {
  atomic.add<u64>(changetype<u32>(r) + R_STATS + which * 8, n);
}

@inline function statusAddr(d: DmaDesc): u32 {
  return changetype<u32>(d) + offsetof<DmaDesc>("status");
}

/** The driver posts a descriptor to the ring at `r`; false when the ring is full. One producer at a time. */
export function ringPost(r: u32, iova: u64, len: u32, flags: u32): bool {
  const h = changetype<RingHeader>(r);
  const prod = atomic.load<u32>(r + R_PROD);
  if (prod - atomic.load<u32>(r + R_CONS) >= h.capacity) return false;
  const d = desc(h, prod);
  d.iova = iova;
  d.len = len;
  d.flags = flags;
  d.status = 0;
  atomic.store<u32>(r + R_PROD, prod + 1); // publishes the descriptor
  return true;
}

/** One DMA of `len` bytes from `iova`: page by page; stops at a fault (returned, else 0). */
function dma(s: u32, sid: u32, iova: u64, len: u64, access: u32, gran: u64, first: u32): u32 {
  const out = slotBase() + TS_RESULT0;
  const res = changetype<AccessResult>(out);
  let a = iova;
  const end = iova + len;
  while (a < end) {
    const fault = smmuTranslate(s, sid, a, access, out);
    if (fault != 0) return fault;
    if (a == iova) store<u64>(first, res.pa);
    a = (a & ~(gran - 1)) + gran;
  }
  return 0;
}

/**
 * Run the device: take up to `budget` posted descriptors of the ring at `r` and do their
 * DMA through SMMU `s` (its address) as stream `sid`. An attacker (a ring with history)
 * remembers every IOVA it is given and, after each descriptor, retries `retries`
 * remembered ones at random. Returns the number of descriptors taken.
 */
export function deviceRun(s: u32, sid: u32, r: u32, budget: u32, retries: u32, seed: u32): u32 {
  const h = changetype<RingHeader>(r);
  const gran = <u64>h.granule;
  const history = h.history;
  const hmask = h.historyMask;
  let x = seedState(seed == 0 ? 1 : seed);
  let taken: u32 = 0;
  // The first PA of a descriptor lands just after the access result.
  const scratch = slotBase() + TS_RESULT0 + offsetof<AccessResult>();
  const historyHead = r + offsetof<RingHeader>("historyHead");
  while (taken < budget) {
    const cons = atomic.load<u32>(r + R_CONS);
    if (cons == atomic.load<u32>(r + R_PROD)) break;
    const d = desc(h, cons);
    const iova = d.iova;
    const len = <u64>d.len;
    const access = (d.flags & DESC_WRITE) != 0 ? 1 : 0;
    const fault = dma(s, sid, iova, len, access, gran, scratch);
    d.pa = fault == 0 ? load<u64>(scratch) : 0;
    atomic.store<u32>(statusAddr(d), fault == 0 ? 1 : 2 + fault);
    bump(h, fault == 0 ? RS_COMPLETED : RS_FAULTED, 1);
    if (fault == 0) bump(h, RS_BYTES, len);
    atomic.store<u32>(r + R_CONS, cons + 1);
    taken++;
    if (history != 0) {
      const i = atomic.add<u32>(historyHead, 1);
      store<u64>(history + (i & hmask) * 8, iova);
      for (let k: u32 = 0; k < retries; k++) {
        x = xorshift64(x);
        const seen = min<u32>(atomic.load<u32>(historyHead), hmask + 1);
        const old = load<u64>(history + <u32>(randomOf(x) % <u64>seen) * 8);
        bump(h, RS_RETRIES, 1);
        if (dma(s, sid, old, gran, 0, gran, scratch) == 0) bump(h, RS_RETRIES_THROUGH, 1);
      }
    }
  }
  return taken;
}
