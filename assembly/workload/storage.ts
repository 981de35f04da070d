// A block-storage queue (NVMe/SCSI-like) as its driver drives the DMA API: each operation
// is one request of 1..segments scatter segments, each mapped on its own (dma_map_page of
// a random size between min and max bytes, rounded up to 512-byte sectors), alternately
// a read (DMA_FROM_DEVICE: the device writes) and a write (DMA_TO_DEVICE: it reads). Up to
// queueDepth requests are in flight; when the queue is full the oldest completes: the
// device touches the first and last page of each segment and the driver unmaps them.
// Large segments exercise block mappings and the tree allocator (above the rcache's 128 KiB).

import { ACCESS_WRITE } from "../smmu/translate";
import { randomOf, xorshift64 } from "../random";
import { RingSlot, WC_OPS, WorkloadCpu, ringEntry, wcAdd } from "./state";
import { wlAccess, wlMap, wlUnmap } from "./driver";
import { DMA_FROM_DEVICE, DMA_TO_DEVICE } from "../dma/iommu";

/** Each request slot owns this much physical address space. */
const REQUEST_PHYS: u64 = 0x4000000; // 64 MiB: 8 segments of up to 4 MiB, 8 MiB apart
const SEGMENT_PHYS: u64 = 0x800000;

@inline function next(w: WorkloadCpu): u64 {
  const x = xorshift64(w.rng);
  w.rng = x;
  return randomOf(x);
}

/** Segment s of request slot q: entry (iova, bytes), 0 bytes when unused. */
@inline function segment(w: WorkloadCpu, q: u32, s: u32): RingSlot {
  return ringEntry(w, q * w.segs + s);
}

function submit(w: WorkloadCpu, cpu: u32, q: u32): void {
  const segs = w.segs;
  const n: u32 = 1 + <u32>(next(w) % <u64>segs);
  const lo = w.min;
  const span = <u64>(w.max - lo + 1);
  const read = (next(w) & 1) != 0;
  w.dir = read ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
  for (let s: u32 = 0; s < segs; s++) {
    const e = segment(w, q, s);
    if (s >= n) {
      e.iova = 0;
      e.bytes = 0;
      continue;
    }
    const bytes = ((lo + <u32>(next(w) % span) + 511) & ~511);
    const phys = w.phys + <u64>q * REQUEST_PHYS + <u64>s * SEGMENT_PHYS;
    e.iova = wlMap(w, cpu, phys, bytes);
    // The access direction rides in the top bit of the size word.
    e.bytes = bytes | (read ? 0x80000000 : 0);
  }
}

function complete(w: WorkloadCpu, cpu: u32, q: u32): void {
  const segs = w.segs;
  for (let s: u32 = 0; s < segs; s++) {
    const e = segment(w, q, s);
    const iova = e.iova;
    const word = e.bytes;
    const bytes = word & 0x7fffffff;
    if (bytes == 0) continue;
    if (iova != 0) {
      const access: u32 = (word & 0x80000000) != 0 ? ACCESS_WRITE : 0;
      wlAccess(w, iova, access);
      const last = (iova + <u64>bytes - 1) & ~<u64>0xfff;
      if (last != (iova & ~<u64>0xfff)) wlAccess(w, last, access);
      wlUnmap(w, cpu, iova, bytes);
    }
    e.iova = 0;
    e.bytes = 0;
  }
}

/** One request submitted; the oldest completed first if the queue is full. */
export function storageOp(w: WorkloadCpu, cpu: u32): void {
  const depth = w.ring;
  const head = w.head;
  let count = w.count;
  if (count == depth) {
    complete(w, cpu, head);
    w.head = (head + 1) % depth;
    count--;
  }
  submit(w, cpu, (w.head + count) % depth);
  w.count = count + 1;
  wcAdd(w, WC_OPS, 1);
}

/** End of the run: every request in flight completes. */
export function storageDrain(w: WorkloadCpu, cpu: u32): void {
  const depth = w.ring;
  for (let q: u32 = 0; q < depth; q++) complete(w, cpu, q);
  w.count = 0;
}
