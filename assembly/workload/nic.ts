// A NIC's receive and transmit rings, as a network driver drives them through the DMA API.
//
// Receive (nic-rx): the driver keeps `ring` buffers mapped DMA_FROM_DEVICE and posted; each
// operation is one packet — the device writes the buffer at the ring's head, the driver
// unmaps it (dma_unmap_single, before handing the data up the stack), then maps a fresh
// buffer and posts it at the tail. Steady state: one map, one unmap, one device write.
//
// Transmit (nic-tx): each operation maps one outgoing packet DMA_TO_DEVICE (a random size
// between min and max bytes) and queues it; once `ring` packets are in flight the device
// reads the oldest and the driver unmaps it on completion.
//
// The device moves a packet as PCIe transactions of at most 256 bytes (a common Max
// Payload Size), each translated by the SMMU: the first misses the IOTLB (the buffer's
// mapping is new), the rest hit the entry it filled.
//
// Buffers are pages of this CPU's own pool (a page_pool, as NIC drivers keep): each map
// takes a page at random from POOL_PAGES, so an IOVA that is reused usually maps a
// different page than before — a stale translation then reaches the wrong page, and the
// oracle can tell.

import { ACCESS_WRITE } from "../smmu/translate";
import { randomOf, xorshift64 } from "../random";
import { WC_OPS, WorkloadCpu, ringEntry, wcAdd } from "./state";
import { wlAccess, wlMap, wlUnmap } from "./driver";

const POOL_PAGES: u64 = 8192;
/** Bytes per PCIe transaction: the device translates each one. */
const TLP_BYTES: u32 = 256;

/** The device reads or writes `bytes` at `iova`, one transaction at a time. */
function transfer(w: WorkloadCpu, iova: u64, bytes: u32, access: u32): void {
  for (let off: u32 = 0; off < bytes; off += TLP_BYTES) wlAccess(w, iova + <u64>off, access);
}

/** A page from the CPU's pool (its physical address). */
function poolPage(w: WorkloadCpu): u64 {
  const x = xorshift64(w.rng);
  w.rng = x;
  return w.phys + (randomOf(x) % POOL_PAGES) * 4096;
}

/** dma_map a buffer for ring slot i and record it there (iova 0 if the map failed). */
function post(w: WorkloadCpu, cpu: u32, i: u32, bytes: u32): void {
  const e = ringEntry(w, i);
  const phys = poolPage(w);
  e.iova = wlMap(w, cpu, phys, bytes);
  e.bytes = bytes;
}

/** Unmap ring slot i's buffer, if it has one. */
function retire(w: WorkloadCpu, cpu: u32, i: u32): void {
  const e = ringEntry(w, i);
  const iova = e.iova;
  if (iova != 0) wlUnmap(w, cpu, iova, e.bytes);
  e.iova = 0;
}

/** One received packet. The first call fills the ring. */
export function nicRxOp(w: WorkloadCpu, cpu: u32): void {
  const ring = w.ring;
  const bytes = w.min;
  if (w.started == 0) {
    for (let i: u32 = 0; i < ring; i++) post(w, cpu, i, bytes);
    w.started = 1;
  }
  const head = w.head;
  const iova = ringEntry(w, head).iova;
  if (iova != 0) transfer(w, iova, bytes, ACCESS_WRITE);
  retire(w, cpu, head);
  post(w, cpu, head, bytes);
  w.head = (head + 1) % ring;
  wcAdd(w, WC_OPS, 1);
}

/** One transmitted packet: map and queue it; complete the oldest once the ring is full. */
export function nicTxOp(w: WorkloadCpu, cpu: u32): void {
  const ring = w.ring;
  const head = w.head;
  let count = w.count;
  if (count == ring) {
    const e = ringEntry(w, head);
    if (e.iova != 0) transfer(w, e.iova, e.bytes, 0);
    retire(w, cpu, head);
    w.head = (head + 1) % ring;
    count--;
  }
  const x = xorshift64(w.rng);
  w.rng = x;
  const lo = w.min;
  const span = w.max - lo + 1;
  post(w, cpu, (w.head + count) % ring, lo + <u32>((randomOf(x) >> 20) % <u64>span));
  w.count = count + 1;
  wcAdd(w, WC_OPS, 1);
}

/** End of the run: the device finishes (rx: nothing; tx: the packets in flight) and the driver unmaps everything. */
export function nicDrain(w: WorkloadCpu, cpu: u32, tx: bool): void {
  const ring = w.ring;
  for (let i: u32 = 0; i < ring; i++) {
    const e = ringEntry(w, i);
    if (tx && e.iova != 0) transfer(w, e.iova, e.bytes, 0);
    retire(w, cpu, i);
  }
  w.count = 0;
}


