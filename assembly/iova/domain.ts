// Creating and destroying IOVA domains: init_iova_domain (plus v7.1's
// iova_domain_init_rcaches) and put_iova_domain of drivers/iommu/iova.c, v5.15.16 and v7.1
// (reference §3.1, §3.5). A domain is one kheap block, found through its slot in the slot
// table of the memory map; any thread may create one, and all threads see it by id.
//
// The granule may be any power of two up to 64 KiB (the kernel BUGs above PAGE_SIZE; the
// harness ran 64K traces on a 64K-page build). Left out: CPU-hotplug registration, and the
// v5.15 flush queue that put_iova_domain also tears down (it comes with the DMA layer).

import { IOVA_MAX_CPUS, IOVA_SLOTS_BASE, IOVA_SLOT_SIZE, MAX_IOVA_DOMAINS, ZONE_KHEAP } from "../memmap";
import { frameAddr, orderForBytes, zoneAlloc, zoneFree } from "../phys";
import { clockHold, clockRelease } from "../clock";
import { fqTeardown, fqTimeout, fqTimerDue } from "./fq";
import { BEHAVIOUR_BITS } from "../behaviour";
import { slotAt, slotClaim, slotLive, slotPublish, slotRelease, slotRetire } from "../slots";
import {
  BLOCK_FIXED_END, I_ANCHOR, I_MAG_POOL, I_NODE_POOL, IovaDomainBlock, IovaSlot, Magazine, MAG_SIZE_MAX,
  OWNER_STRIDE, PC_STRIDE, RCACHE_BINS, iovaBlock, iovaFlags,
} from "./layout";
import { first, insertNode, nodeInit, succ, NODE_SIZE } from "./tree";
import { poolDestroy, poolFree, poolInit, poolLive } from "./slab";
import { claimIovaCpu } from "../cpu-owner";
import { ESIM_ARGS, ESIM_KHEAP, ESIM_NO_IOVA_DOMAIN, ESIM_SLOTS_FULL } from "../errno";
import { nextReclaimDue, rcachesFree, rcachesInit, runDueReclaims } from "./rcache";


@inline function slotAddr(id: u32): u32 {
  return slotAt(IOVA_SLOTS_BASE, IOVA_SLOT_SIZE, id);
}

@inline function slotOf(s: u32): IovaSlot {
  return changetype<IovaSlot>(s);
}

/** The block of a live domain, or 0. */
export function liveDomain(id: u32): u32 {
  const s = slotLive(IOVA_SLOTS_BASE, IOVA_SLOT_SIZE, MAX_IOVA_DOMAINS, id);
  return s == 0 ? 0 : slotOf(s).block;
}

/** Bytes of magazine object: the size word and the PFNs, rounded to a cache line. */
function magazineBytes(magSize: u32): u32 {
  return (offsetof<Magazine>("pfns") + magSize * sizeof<u64>() + 63) & ~63;
}

/**
 * init_iova_domain(granule = 1 << shift, start_pfn) with `ncpus` simulated CPUs, for a
 * kernel with behaviours `kb` (KB_*) and magazines of `magSize` PFNs (IOVA_MAG_SIZE): its
 * id, or -ESIM_ARGS, -ESIM_SLOTS_FULL (every domain slot live), -ESIM_KHEAP.
 */
export function iovaCreate(kb: u32, magSize: u32, shift: u32, startPfn: u64, ncpus: u32, flags: u32): i32 {
  if ((kb & ~BEHAVIOUR_BITS) != 0 || magSize == 0 || magSize > MAG_SIZE_MAX || shift > 16 || ncpus == 0 ||
      ncpus > IOVA_MAX_CPUS) return -ESIM_ARGS;
  const id = slotClaim(IOVA_SLOTS_BASE, IOVA_SLOT_SIZE, MAX_IOVA_DOMAINS);
  if (id < 0) return id;
  const bytes = BLOCK_FIXED_END + ncpus * OWNER_STRIDE + ncpus * RCACHE_BINS * PC_STRIDE;
  const order = orderForBytes(bytes);
  const frame = zoneAlloc(ZONE_KHEAP, order);
  if (frame < 0) {
    slotRelease(slotAddr(<u32>id));
    return -ESIM_KHEAP;
  }
  const d = frameAddr(ZONE_KHEAP, <u32>frame); // zeroed
  const dom = iovaBlock(d);
  dom.kb = kb;
  dom.ncpus = ncpus;
  dom.shift = shift;
  dom.magSize = magSize;
  dom.flags = flags;
  dom.id = <u32>id;
  dom.blockFrame = <u32>frame;
  dom.blockOrder = order;
  dom.owners = d + BLOCK_FIXED_END;
  dom.rcaches = d + BLOCK_FIXED_END + ncpus * OWNER_STRIDE;
  dom.startPfn = startPfn;
  const dma32: u64 = <u64>1 << <u64>(32 - shift);
  dom.dma32Pfn = dma32;
  dom.max32AllocSize = dma32;
  poolInit(d + I_NODE_POOL, NODE_SIZE);
  poolInit(d + I_MAG_POOL, magazineBytes(magSize));

  // The anchor: a range at the very top, never freed, where both cached nodes start.
  const anchor = d + I_ANCHOR;
  nodeInit(anchor, U64.MAX_VALUE, U64.MAX_VALUE);
  insertNode(d, anchor);
  dom.cachedNode = anchor;
  dom.cached32Node = anchor;

  if (!rcachesInit(d)) {
    teardown(d);
    slotRelease(slotAddr(<u32>id));
    return -ESIM_KHEAP;
  }
  slotOf(slotAddr(<u32>id)).block = d;
  slotPublish(slotAddr(<u32>id));
  return id;
}

/**
 * init_iova_domain run on a domain already in use — what a second prober does in bug-corpus
 * #14 (ac9a5d522bb8): the tree starts over with just the anchor (rbroot = RB_ROOT), the
 * cached nodes and start_pfn reset. Ranges already in the tree are dropped from it, their
 * nodes left allocated, as the kernel's reset drops them. start_pfn 0 is a cookie's IOVA
 * domain before its first initialisation.
 */
export function iovaReinit(d: u32, startPfn: u64): void {
  const dom = iovaBlock(d);
  dom.root = 0;
  dom.nodes = 0;
  const anchor = d + I_ANCHOR;
  nodeInit(anchor, U64.MAX_VALUE, U64.MAX_VALUE);
  insertNode(d, anchor);
  dom.cachedNode = anchor;
  dom.cached32Node = anchor;
  dom.startPfn = startPfn;
  dom.max32AllocSize = dom.dma32Pfn;
}

/**
 * Range nodes the tree lost: allocated from the domain's node pool but not in the tree (0
 * when the tree holds every one) — the leak a re-initialisation under another prober leaves.
 */
export function iovaLostNodes(d: u32): u32 {
  let inTree: u32 = 0;
  for (let n = first(d); n != 0; n = succ(n)) if (n != d + I_ANCHOR) inTree++;
  const live = poolLive(d + I_NODE_POOL);
  return live > inTree ? live - inTree : 0;
}

/** Free every magazine and node, then the pools and the block. Returns objects still live. */
function teardown(d: u32): u32 {
  fqTeardown(d); // usually done already (iova_fq_teardown), so its events could be read
  rcachesFree(d);
  const anchor = d + I_ANCHOR;
  let n = first(d);
  while (n != 0) {
    const next = succ(n);
    if (n != anchor) poolFree(d + I_NODE_POOL, n);
    n = next;
  }
  const live = poolLive(d + I_NODE_POOL) + poolLive(d + I_MAG_POOL);
  poolDestroy(d + I_NODE_POOL);
  poolDestroy(d + I_MAG_POOL);
  zoneFree(ZONE_KHEAP, iovaBlock(d).blockFrame);
  return live;
}

/**
 * put_iova_domain. Returns the kernel objects (nodes, magazines) still allocated after it
 * (0 unless something leaked), or -ESIM_NO_IOVA_DOMAIN if `id` is not a live domain. No other thread may be
 * using the domain.
 */
export function iovaDestroy(id: u32): i32 {
  if (id >= MAX_IOVA_DOMAINS) return -ESIM_NO_IOVA_DOMAIN;
  const s = slotAddr(id);
  if (!slotRetire(s)) return -ESIM_NO_IOVA_DOMAIN;
  clockHold(); // no depot reclaim may run while the domain goes away
  const live = teardown(slotOf(s).block);
  slotOf(s).block = 0;
  slotRelease(s);
  clockRelease();
  return <i32>live;
}

/** The earliest due timer of any live domain (U64.MAX_VALUE if none). */
export function iovaNextDue(): u64 {
  let due = U64.MAX_VALUE;
  for (let id: u32 = 0; id < MAX_IOVA_DOMAINS; id++) {
    const d = liveDomain(id);
    if (d == 0) continue;
    const t = nextReclaimDue(d);
    if (t < due) due = t;
    const f = fqTimerDue(d);
    if (f < due) due = f;
  }
  return due;
}

/** Fire every timer due at `now`, domain by domain, on simulated CPU `cpu`. */
export function iovaRunDue(now: u64, cpu: u32): void {
  for (let id: u32 = 0; id < MAX_IOVA_DOMAINS; id++) {
    const d = liveDomain(id);
    if (d == 0) continue;
    runDueReclaims(d, now);
    if (fqTimerDue(d) <= now) {
      // The timeout releases into `cpu`'s caches, if this thread may run that CPU.
      const mine = claimIovaCpu(d, cpu) == 0;
      fqTimeout(d, cpu, mine);
    }
  }
}

export function iovaSetFlags(d: u32, set: u32, clear: u32): u32 {
  for (;;) {
    const old = iovaFlags(d);
    const nw = (old | set) & ~clear;
    if (atomic.cmpxchg<u32>(d + offsetof<IovaDomainBlock>("flags"), old, nw) == old) return nw;
  }
  return 0; // not reached
}
