// Device DMA engines: a device that takes DMA descriptors (IOVA, length, direction) from a
// ring in shared memory, as a NIC or NVMe queue does, and reads or writes through the SMMU
// page by page; and, optionally, the attacker of the threat model — a device that keeps
// every IOVA it was ever given and keeps trying them after the driver unmapped them.
// The data itself is not moved (simulated RAM holds only page tables); what the model
// tracks is where each access went, and — with the SMMU's oracle — whether it should have.
//
// Ring (in kheap):
//   +0 capacity  +4 mask  +8 history ptr  +12 history mask  +16 granule
//   +64 prod u32 (own line: the driver posts)   +128 cons u32 (own line: the device takes)
//   +192 history head u32
//   +256 stats u64: completed, faulted, bytes, retries, retries that got through
//   +320 descriptors, 32 B each: iova u64, len u32, flags u32, status u32, pad u32, pa u64
// A descriptor's status: 0 posted, 1 done, 2 + fault type when the access faulted.

import { smmuTranslate } from "../smmu/translate";
import { slotBase } from "../sync";
import { TS_RESULT0 } from "../memmap";
import { randomOf, seedState, xorshift64 } from "../random";

export const RING_HEADER: u32 = 320;
export const DESC_SIZE: u32 = 32;
export const R_CAPACITY: u32 = 0;
export const R_HISTORY_MASK: u32 = 12;
export const R_PROD: u32 = 64;
export const R_CONS: u32 = 128;
export const R_STATS: u32 = 256;
export const RS_COMPLETED: u32 = 0;
export const RS_FAULTED: u32 = 1;
export const RS_BYTES: u32 = 2;
export const RS_RETRIES: u32 = 3;
export const RS_RETRIES_THROUGH: u32 = 4;

const R_MASK: u32 = 4;
const R_HISTORY: u32 = 8;
const R_GRANULE: u32 = 16;
const R_HISTORY_HEAD: u32 = 192;

export const DESC_WRITE: u32 = 1;

export function ringBytes(capacity: u32, history: u32): u32 {
  return RING_HEADER + capacity * DESC_SIZE + history * 8;
}

/** Lay out a ring in zeroed memory. history = 0: an ordinary device, no attacker memory. */
export function ringInit(r: u32, capacity: u32, history: u32, granule: u32): void {
  store<u32>(r + R_CAPACITY, capacity);
  store<u32>(r + R_MASK, capacity - 1);
  store<u32>(r + R_HISTORY, history == 0 ? 0 : r + RING_HEADER + capacity * DESC_SIZE);
  store<u32>(r + R_HISTORY_MASK, history == 0 ? 0 : history - 1);
  store<u32>(r + R_GRANULE, granule);
}

@inline function desc(r: u32, i: u32): u32 {
  return r + RING_HEADER + (i & load<u32>(r + R_MASK)) * DESC_SIZE;
}

@inline function bump(r: u32, which: u32, n: u64): void {
  atomic.add<u64>(r + R_STATS + which * 8, n);
}

/** The driver posts a descriptor; false when the ring is full. One producer at a time. */
export function ringPost(r: u32, iova: u64, len: u32, flags: u32): bool {
  const prod = atomic.load<u32>(r + R_PROD);
  if (prod - atomic.load<u32>(r + R_CONS) >= load<u32>(r + R_CAPACITY)) return false;
  const d = desc(r, prod);
  store<u64>(d, iova);
  store<u32>(d + 8, len);
  store<u32>(d + 12, flags);
  store<u32>(d + 16, 0);
  atomic.store<u32>(r + R_PROD, prod + 1); // publishes the descriptor
  return true;
}

/** One DMA of `len` bytes from `iova`: page by page; stops at a fault (returned, else 0). */
function dma(s: u32, sid: u32, iova: u64, len: u64, access: u32, gran: u64, first: u32): u32 {
  const res = slotBase() + TS_RESULT0;
  let a = iova;
  const end = iova + len;
  while (a < end) {
    const fault = smmuTranslate(s, sid, a, access, res);
    if (fault != 0) return fault;
    if (a == iova) store<u64>(first, load<u64>(res + 8));
    a = (a & ~(gran - 1)) + gran;
  }
  return 0;
}

/**
 * Run the device: take up to `budget` posted descriptors and do their DMA through SMMU `s`
 * as stream `sid`. An attacker (a ring with history) remembers every IOVA it is given and,
 * after each descriptor, retries `retries` remembered ones at random. Returns the number
 * of descriptors taken.
 */
export function deviceRun(s: u32, sid: u32, r: u32, budget: u32, retries: u32, seed: u32): u32 {
  const gran = <u64>load<u32>(r + R_GRANULE);
  const history = load<u32>(r + R_HISTORY);
  const hmask = load<u32>(r + R_HISTORY_MASK);
  let x = seedState(seed == 0 ? 1 : seed);
  let taken: u32 = 0;
  const scratch = slotBase() + TS_RESULT0 + 32; // the first PA of a descriptor lands here
  while (taken < budget) {
    const cons = atomic.load<u32>(r + R_CONS);
    if (cons == atomic.load<u32>(r + R_PROD)) break;
    const d = desc(r, cons);
    const iova = load<u64>(d);
    const len = <u64>load<u32>(d + 8);
    const access = (load<u32>(d + 12) & DESC_WRITE) != 0 ? 1 : 0;
    const fault = dma(s, sid, iova, len, access, gran, scratch);
    store<u64>(d + 24, fault == 0 ? load<u64>(scratch) : 0);
    atomic.store<u32>(d + 16, fault == 0 ? 1 : 2 + fault);
    bump(r, fault == 0 ? RS_COMPLETED : RS_FAULTED, 1);
    if (fault == 0) bump(r, RS_BYTES, len);
    atomic.store<u32>(r + R_CONS, cons + 1);
    taken++;
    if (history != 0) {
      const h = atomic.add<u32>(r + R_HISTORY_HEAD, 1);
      store<u64>(history + (h & hmask) * 8, iova);
      for (let i: u32 = 0; i < retries; i++) {
        x = xorshift64(x);
        const seen = min<u32>(atomic.load<u32>(r + R_HISTORY_HEAD), hmask + 1);
        const old = load<u64>(history + <u32>(randomOf(x) % <u64>seen) * 8);
        bump(r, RS_RETRIES, 1);
        if (dma(s, sid, old, gran, 0, gran, scratch) == 0) bump(r, RS_RETRIES_THROUGH, 1);
      }
    }
  }
  return taken;
}
