// The event log of one page table: the TLB-maintenance callbacks io-pgtable-arm makes
// (tlb_add_page, tlb_flush_walk, tlb_flush_all), the driver's iotlb_sync, and every WARN,
// in the order they happen — what the kernel-code harness prints, and what a user reads
// to see which invalidations an operation caused.
//
// A ring of RingRecords in kheap memory (assembly/ring.ts).

import { RING_RECORD, ringWrite } from "./ring";
import { DF_RECORD_EVENTS, PgtDesc, pgtDesc } from "./pgtable/desc";

export const EVENT_SIZE: u32 = RING_RECORD;

export const EV_TLB_ADD_PAGE: u32 = 1; //  a = iova, b = granule
export const EV_TLB_FLUSH_WALK: u32 = 2; // a = iova, b = size, c = granule
export const EV_TLB_FLUSH_ALL: u32 = 3;
export const EV_IOTLB_SYNC: u32 = 4; //     a = start, b = end, c = pgsize
export const EV_WARN: u32 = 5; //           a = WARN_* code
export const EV_CMD: u32 = 6; //            a = dw0, b = dw1, c = the run word below
/**
 * An SMMU v1/v2 register operation (smmu/v2/driver.ts): a = the register word (smmu/v2/regs.ts
 * v2RegWord: kind and context bank), b = the value written, c = the run word below (how many
 * writes, the value advancing by 2^step after each; for a status register, how many reads).
 */
export const EV_REG: u32 = 7;

// An EV_CMD (or EV_REG) record's run word: how many commands (dw1's address advancing by 2^step after
// each), and the low 12 bits of the address the driver asked for (the encoding drops them).
export const EVC_COUNT_LO: u32 = 0;   export const EVC_COUNT_BITS: u32 = 32;
export const EVC_STEP_LO: u32 = 32;   export const EVC_STEP_BITS: u32 = 8;
export const EVC_ADDR_LO: u32 = 40;   export const EVC_ADDR_BITS: u32 = 12;

/** The run word of `count` commands stepping by 2^stepShift, asked for at an address ending in `addrLow`. */
@inline export function cmdRunWord(count: u64, stepShift: u32, addrLow: u64): u64 {
  return ((count & ((<u64>1 << EVC_COUNT_BITS) - 1)) << EVC_COUNT_LO) |
         ((<u64>stepShift & ((<u64>1 << EVC_STEP_BITS) - 1)) << EVC_STEP_LO) |
         ((addrLow & ((<u64>1 << EVC_ADDR_BITS) - 1)) << EVC_ADDR_LO);
}

// Where the kernel WARNs (see reference §4.15).
export const WARN_MAP_PGSIZE: u32 = 1;
export const WARN_MAP_RANGE: u32 = 2;
export const WARN_MAP_EXISTS: u32 = 3;
export const WARN_MAP_REPLACE_TABLE: u32 = 4;
export const WARN_MAP_LAST_LEVEL: u32 = 5;
export const WARN_UNMAP_ARGS: u32 = 6;
export const WARN_UNMAP_RANGE: u32 = 7;
export const WARN_UNMAP_NO_PTE: u32 = 8;
export const WARN_UNMAP_PARTIAL_BLOCK: u32 = 9;
export const WARN_OUT_OF_LEVELS: u32 = 10;

export function recordEvent(d: u32, kind: u32, a: u64, b: u64, c: u64): void {
  const t = pgtDesc(d);
  if ((t.flags & DF_RECORD_EVENTS) == 0) return;
  const ring = t.evRing;
  if (ring != 0) ringWrite(d + offsetof<PgtDesc>("evHead"), ring, t.evMask, kind, a, b, c);
}

/** A WARN_ON that fired: counted always, logged when the table records events. */
export function warn(d: u32, code: u32): void {
  atomic.add<u32>(d + offsetof<PgtDesc>("warnings"), 1);
  recordEvent(d, EV_WARN, code, 0, 0);
}
