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
import {
  W_COUNT, W_HEAD, W_MAX, W_MIN, W_PHYS, W_RING, W_RNG, W_STARTED, WC_OPS, ringEntry, wcAdd,
} from "./state";
import { wlAccess, wlMap, wlUnmap } from "./driver";

const POOL_PAGES: u64 = 8192;
/** Bytes per PCIe transaction: the device translates each one. */
const TLP_BYTES: u32 = 256;

/** The device reads or writes `bytes` at `iova`, one transaction at a time. */
function transfer(w: u32, iova: u64, bytes: u32, access: u32): void {
  for (let off: u32 = 0; off < bytes; off += TLP_BYTES) wlAccess(w, iova + <u64>off, access);
}

/** A page from the CPU's pool (its physical address). */
function poolPage(w: u32): u64 {
  const x = xorshift64(load<u64>(w + W_RNG));
  store<u64>(w + W_RNG, x);
  return load<u64>(w + W_PHYS) + (randomOf(x) % POOL_PAGES) * 4096;
}

/** dma_map a buffer for ring slot i and record it there (iova 0 if the map failed). */
function post(w: u32, cpu: u32, i: u32, bytes: u32): void {
  const e = ringEntry(w, i);
  const phys = poolPage(w);
  store<u64>(e, wlMap(w, cpu, phys, bytes));
  store<u32>(e + 8, bytes);
}

/** Unmap ring slot i's buffer, if it has one. */
function retire(w: u32, cpu: u32, i: u32): void {
  const e = ringEntry(w, i);
  const iova = load<u64>(e);
  if (iova != 0) wlUnmap(w, cpu, iova, load<u32>(e + 8));
  store<u64>(e, 0);
}

/** One received packet. The first call fills the ring. */
export function nicRxOp(w: u32, cpu: u32): void {
  const ring = load<u32>(w + W_RING);
  const bytes = load<u32>(w + W_MIN);
  if (load<u32>(w + W_STARTED) == 0) {
    for (let i: u32 = 0; i < ring; i++) post(w, cpu, i, bytes);
    store<u32>(w + W_STARTED, 1);
  }
  const head = load<u32>(w + W_HEAD);
  const iova = load<u64>(ringEntry(w, head));
  if (iova != 0) transfer(w, iova, bytes, ACCESS_WRITE);
  retire(w, cpu, head);
  post(w, cpu, head, bytes);
  store<u32>(w + W_HEAD, (head + 1) % ring);
  wcAdd(w, WC_OPS, 1);
}

/** One transmitted packet: map and queue it; complete the oldest once the ring is full. */
export function nicTxOp(w: u32, cpu: u32): void {
  const ring = load<u32>(w + W_RING);
  const head = load<u32>(w + W_HEAD);
  let count = load<u32>(w + W_COUNT);
  if (count == ring) {
    const e = ringEntry(w, head);
    if (load<u64>(e) != 0) transfer(w, load<u64>(e), load<u32>(e + 8), 0);
    retire(w, cpu, head);
    store<u32>(w + W_HEAD, (head + 1) % ring);
    count--;
  }
  const x = xorshift64(load<u64>(w + W_RNG));
  store<u64>(w + W_RNG, x);
  const lo = load<u32>(w + W_MIN);
  const span = load<u32>(w + W_MAX) - lo + 1;
  post(w, cpu, (load<u32>(w + W_HEAD) + count) % ring, lo + <u32>((randomOf(x) >> 20) % <u64>span));
  store<u32>(w + W_COUNT, count + 1);
  wcAdd(w, WC_OPS, 1);
}

/** End of the run: the device finishes (rx: nothing; tx: the packets in flight) and the driver unmaps everything. */
export function nicDrain(w: u32, cpu: u32, tx: bool): void {
  const ring = load<u32>(w + W_RING);
  for (let i: u32 = 0; i < ring; i++) {
    const e = ringEntry(w, i);
    if (tx && load<u64>(e) != 0) transfer(w, load<u64>(e), load<u32>(e + 8), 0);
    retire(w, cpu, i);
  }
  store<u32>(w + W_COUNT, 0);
}


