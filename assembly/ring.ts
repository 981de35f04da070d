// Event rings in shared memory: fixed 32-byte records, a u32 sequence counter that writers
// advance atomically, and a record's sequence word (+4) written last, so a record being
// written (or overwritten after the ring wrapped) never reads as finished. Used by a page
// table's event log and an IOVA domain's WARN / flush-queue log; src/ring.ts reads them.
//
//   +0 kind u32   +4 seq + 1 u32   +8 a u64   +16 b u64   +24 c u64

export const RING_RECORD: u32 = 32;

/** Append one record to the ring at `base` (`mask` = capacity − 1) counted by `head`. */
export function ringWrite(head: u32, base: u32, mask: u32, kind: u32, a: u64, b: u64, c: u64): void {
  const seq = atomic.add<u32>(head, 1);
  const rec = base + (seq & mask) * RING_RECORD;
  atomic.store<u32>(rec + 4, 0);
  store<u32>(rec, kind);
  store<u64>(rec + 8, a);
  store<u64>(rec + 16, b);
  store<u64>(rec + 24, c);
  atomic.store<u32>(rec + 4, seq + 1);
}
