// Event rings in shared memory: fixed 32-byte records, a u32 sequence counter that writers
// advance atomically, and a record's sequence word written last, so a record being
// written (or overwritten after the ring wrapped) never reads as finished. Used by a page
// table's event log and an IOVA domain's WARN / flush-queue log; src/ring.ts reads them.

/** One record of a ring (its meaning by kind: assembly/events.ts, assembly/iova/warn.ts). */
@unmanaged export class RingRecord {
  /** What happened (EV_*, IEV_*). */
  kind: u32;
  /** The record's sequence number + 1; 0 while it is being written (atomic, written last). */
  seq: u32;
  /** First argument (by kind: an IOVA, a start…). */
  a: u64;
  /** Second argument. */
  b: u64;
  /** Third argument. */
  c: u64;
}

export const RING_RECORD: u32 = offsetof<RingRecord>();

// The words the TypeScript readers take by these names (src/ring.ts, src/pgtable.ts, src/iova.ts).
export const RR_KIND: u32 = offsetof<RingRecord>("kind");
export const RR_SEQ: u32 = offsetof<RingRecord>("seq");
export const RR_A: u32 = offsetof<RingRecord>("a");
export const RR_B: u32 = offsetof<RingRecord>("b");
export const RR_C: u32 = offsetof<RingRecord>("c");

/** Append one record to the ring at `base` (`mask` = capacity − 1) counted by `head`. */
export function ringWrite(head: u32, base: u32, mask: u32, kind: u32, a: u64, b: u64, c: u64): void {
  const seq = atomic.add<u32>(head, 1);
  const at = base + (seq & mask) * RING_RECORD;
  const seqWord = at + offsetof<RingRecord>("seq");
  atomic.store<u32>(seqWord, 0);
  const rec = changetype<RingRecord>(at);
  rec.kind = kind;
  rec.a = a;
  rec.b = b;
  rec.c = c;
  atomic.store<u32>(seqWord, seq + 1);
}
