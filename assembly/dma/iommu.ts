// dma-iommu's map and unmap (drivers/iommu/dma-iommu.c, v5.15 and v7.1; reference §2.5,
// §2.13, §6.4): the IOVA sizes and the 32-bit-first attempt, the IOMMU core's map loop,
// and the unmap path whose one snapshot of fq_domain decides everything (O2).
//
// The unmap is written as its steps — begin, clear the PTEs, sync, release the IOVA — and
// the order in which each seed variant takes them, with its reads of fq_domain and of the
// v2 quirk between them, is the domain's step program (dma/steps.ts): dmaUnmap (dma/variant.ts) runs that
// sequence with the steps below, and the deterministic explorer runs the same one a step
// at a time. Every map and unmap is recorded in the SMMU's safety
// oracle when it has one: the IOVA counts as unmapped strictly when it goes back to the
// allocator (which promises its invalidation completed), lazily when it is queued.
//
// Modelled CPU time: each map and each unmap charges CPU_COST_DMA_API (the call's entry, its
// checks and its exit) to the calling thread; the units below charge their own work.
// Left out: scatterlists, bounce buffers (swiotlb), the v7.1 IOVA-link API, dma_sync_*.

import { CPU_COST_DMA_API, DMA_CPUS_BASE, DMA_CPU_SIZE } from "../memmap";
import { DMA_CPU_OWNER } from "../cpu-owner";
import { cpuCharge } from "../sync";
import { liveTable } from "../pgtable/config";
import { IOMMU_CACHE, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE, SPLIT_SCRATCH_SIZE } from "../pgtable/lpae";
import { allocFast, freeFast } from "../iova/rcache";
import { fqEnabled, fqQueueOrdered } from "../iova/fq";
import { MAP_SCRATCH_SIZE, iommuMap, iommuUnmapFast } from "../iommu/core";
import { Gather, gatherInit, iotlbSync } from "../iommu/gather";
import { freelistRelease } from "../iommu/freelist";
import { KB_DMA_SAC_PER_DEVICE, KB_IOVA_FAST_ROUNDS } from "../behaviour";
import { ESIM_NO_QUEUE } from "../errno";
import { recordMapPages, recordUnmapPages, smmuOracle } from "../safety/record";
import {
  BUS_PCI, DDF_FORCEDAC, DS_MAPS, DS_MAP_FAILS, DS_MIXED, DS_NO_QUEUE, DS_SAC_FALLBACKS, DS_SAC_TRIES,
  DS_SYNCS, DS_UNMAPS_LAZY, DS_UNMAPS_STRICT, DS_UNMAP_SHORT, DVF_COHERENT, DVF_PCI_32BIT, dmaDevice, dmaDomain, dmaHas,
  deviceFlagsAddr, iovaOf, statAdd,
} from "./domain";

// enum dma_data_direction
export const DMA_BIDIRECTIONAL: u32 = 0;
export const DMA_TO_DEVICE: u32 = 1;
export const DMA_FROM_DEVICE: u32 = 2;
/** DMA_ATTR_PRIVILEGED */
export const ATTR_PRIVILEGED: u32 = 1 << 9;


const DMA_BIT_MASK_32: u64 = 0xffff_ffff;

/**
 * A simulated CPU's DMA scratch (DMA_CPU_SIZE bytes at DMA_CPUS_BASE): the dma_unmap it
 * has in progress, which the kernel keeps on the CPU's stack. Here it outlives a call, so
 * that a deterministic schedule can stop an unmap between its steps and run other CPUs'
 * steps on the same thread. Written only by the thread that owns the CPU (`owner`).
 */
@unmanaged export class DmaCpuScratch {
  /** The unmap's iotlb gather (assembly/iommu/gather.ts Gather): its first word. */
  gather: u64;
  _pad0: u64; _pad1: u64; _pad2: u64; _pad3: u64; _pad4: u64; _pad5: u64; _pad6: u64;
  /** The unmap's IOVA, aligned down to the granule (unmapBegin). */
  iova: u64;
  /** The unmap's size in bytes, rounded up to whole granules (unmapBegin). */
  size: u64;
  /** Bytes the page table gave back (unmapClear). */
  unmapped: u64;
  /** 1 = this unmap decided not to sync (unmapSkipSync): a strict release after it is a mixed decision. */
  skippedSync: u32;
  _pad7: u32; _pad8: u64; _pad9: u64; _pad10: u64;
  /**
   * The thread running this CPU: its slot + 1, 0 = none (assembly/cpu-owner.ts claims and
   * releases it with compare-and-swap, as the IOVA domains' per-CPU owner words).
   */
  owner: u32;
  _pad11: u32;
  /** Scratch for the IOMMU core's map and unmap loops (iommu/core.ts, MAP_SCRATCH_SIZE bytes): its first word. */
  scratch: u64;
}

if (offsetof<Gather>() > offsetof<DmaCpuScratch>("iova") - offsetof<DmaCpuScratch>("gather")) {
  ERROR("Gather outgrew its room in DmaCpuScratch");
}
if (offsetof<DmaCpuScratch>("owner") != DMA_CPU_OWNER) ERROR("DmaCpuScratch.owner must be where cpu-owner.ts claims it (DMA_CPU_OWNER)");
if (offsetof<DmaCpuScratch>("scratch") + MAP_SCRATCH_SIZE > DMA_CPU_SIZE) ERROR("DmaCpuScratch outgrew DMA_CPU_SIZE");

/**
 * Where in a CPU's scratch an unmap run in two halves keeps what lies between them
 * (pgtable/lpae.ts unmapPrepare, SPLIT_SCRATCH_SIZE bytes): past the map loops' scratch.
 */
export const DMA_CPU_HALVES: u32 = 192;
if (offsetof<DmaCpuScratch>("scratch") + MAP_SCRATCH_SIZE > DMA_CPU_HALVES) ERROR("DmaCpuScratch.scratch runs into DMA_CPU_HALVES");
if (DMA_CPU_HALVES + SPLIT_SCRATCH_SIZE > DMA_CPU_SIZE) ERROR("the unmap halves outgrew DMA_CPU_SIZE");

/** Simulated CPU `cpu`'s DMA scratch. */
@inline export function dmaCpu(cpu: u32): DmaCpuScratch {
  return changetype<DmaCpuScratch>(DMA_CPUS_BASE + cpu * DMA_CPU_SIZE);
}

/** The address of `c`'s gather (what the IOMMU core and gather.ts take). */
@inline export function gatherAddr(c: DmaCpuScratch): u32 {
  return changetype<u32>(c) + offsetof<DmaCpuScratch>("gather");
}

/** The address of `c`'s scratch for the IOMMU core's loops. */
@inline export function scratchAddr(c: DmaCpuScratch): u32 {
  return changetype<u32>(c) + offsetof<DmaCpuScratch>("scratch");
}

@inline function granuleOf(dd: u32): u64 {
  return <u64>1 << <u64>dmaDomain(dd).shift;
}

/** dma_info_to_prot. */
export function dirToProt(dir: u32, coherent: bool, attrs: u32): u32 {
  let prot: u32 = coherent ? IOMMU_CACHE : 0;
  if ((attrs & ATTR_PRIVILEGED) != 0) prot |= IOMMU_PRIV;
  if (dir == DMA_BIDIRECTIONAL) return prot | IOMMU_READ | IOMMU_WRITE;
  if (dir == DMA_TO_DEVICE) return prot | IOMMU_READ;
  if (dir == DMA_FROM_DEVICE) return prot | IOMMU_WRITE;
  return 0;
}

// ── the oracle's view ───────────────────────────────────────────────────────

@inline function oracleOf(dd: u32): u32 {
  const id = dmaDomain(dd).smmu;
  return id == 0 ? 0 : smmuOracle(id - 1);
}

export function recordMap(dd: u32, iova: u64, pa: u64, size: u64): void {
  const o = oracleOf(dd);
  if (o != 0) recordMapPages(o, dmaDomain(dd).smmuDomain, iova >> 12, pa >> 12, (size + 4095) >> 12);
}

export function recordUnmap(dd: u32, iova: u64, size: u64, lazy: bool): void {
  const o = oracleOf(dd);
  if (o != 0) recordUnmapPages(o, dmaDomain(dd).smmuDomain, iova >> 12, (size + 4095) >> 12, lazy);
}

// ── map ─────────────────────────────────────────────────────────────────────

/**
 * The highest DMA address device `dv` may be given in domain `dd` (iommu_dma_alloc_iova's
 * dma_limit): min_not_zero of its DMA mask and bus_dma_limit, capped at the aperture's end,
 * which SMMUv3 domains force.
 */
export function dmaLimit(dd: u32, dv: u32): u64 {
  const dev = dmaDevice(dv);
  let limit = dev.mask;
  const bus = dev.busLimit;
  if (bus != 0 && bus < limit) limit = bus;
  const aperture = dmaDomain(dd).apertureEnd;
  if (aperture < limit) limit = aperture;
  return limit;
}

/**
 * iommu_dma_alloc_iova: a PFN for `len` granules below the device's limit, 32-bit first
 * for PCI devices (unless iommu.forcedac; with KB_DMA_SAC_PER_DEVICE, while the device's
 * workaround flag holds, cleared for good by the first failure). 0 on failure.
 */
function allocIova(dd: u32, dv: u32, cpu: u32, len: u64): u64 {
  const d = iovaOf(dd);
  const t = dmaDomain(dd);
  const dev = dmaDevice(dv);
  const shift = <u64>t.shift;
  const perDevice = dmaHas(dd, KB_DMA_SAC_PER_DEVICE);
  // Before KB_IOVA_FAST_ROUNDS small sizes were rounded here; later alloc_iova_fast does it.
  if (!dmaHas(dd, KB_IOVA_FAST_ROUNDS) && len < 32 && len > 1) len = <u64>1 << (64 - clz(len - 1));
  const limit = dmaLimit(dd, dv);
  let sac = false;
  if (limit > DMA_BIT_MASK_32) {
    sac = perDevice ? (atomic.load<u32>(deviceFlagsAddr(dv)) & DVF_PCI_32BIT) != 0
                    : dev.bus == BUS_PCI && (t.flags & DDF_FORCEDAC) == 0;
  }
  if (sac) {
    statAdd(dd, cpu, DS_SAC_TRIES, 1);
    const pfn = allocFast(d, cpu, len, DMA_BIT_MASK_32 >> shift, false);
    if (pfn > 0) return <u64>pfn;
    statAdd(dd, cpu, DS_SAC_FALLBACKS, 1);
    // "Using N-bit DMA addresses" — the workaround is off for this device from now on.
    if (perDevice) atomic.and<u32>(deviceFlagsAddr(dv), ~DVF_PCI_32BIT);
  }
  const pfn = allocFast(d, cpu, len, limit >> shift, true);
  return pfn > 0 ? <u64>pfn : 0;
}

// Why a dma_map returned DMA_MAPPING_ERROR, for the caller that asked (dmaMap's `why`): a
// u64 code, then a u64 detail.
/** No IOVA range of the size below the device's limit; the detail is that limit (dmaLimit). */
export const DMA_MAP_FAIL_IOVA: u32 = 1;
/** The page table refused the mapping (its IOVA freed at once); the detail is the errno, positive. */
export const DMA_MAP_FAIL_PGTABLE: u32 = 2;

/**
 * __iommu_dma_map for device `dv` on simulated CPU `cpu`: [phys, phys + size) gets an
 * IOVA with the same offset into its granule. Returns the DMA address, or 0
 * (DMA_MAPPING_ERROR) — the IOVA freed at once if the page table refused the mapping.
 * `why` (0: not asked) gets why it failed: DMA_MAP_FAIL_* and its detail, two u64s.
 */
export function dmaMap(dd: u32, dv: u32, cpu: u32, phys: u64, size: u64, dir: u32, attrs: u32, why: u32 = 0): u64 {
  cpuCharge(CPU_COST_DMA_API, 1);
  const shift = <u64>dmaDomain(dd).shift;
  const gran = granuleOf(dd);
  const off = phys & (gran - 1);
  const len = (size + off + gran - 1) & ~(gran - 1);
  const prot = dirToProt(dir, (dmaDevice(dv).flags & DVF_COHERENT) != 0, attrs);
  const pfn = allocIova(dd, dv, cpu, len >> shift);
  if (pfn == 0) {
    statAdd(dd, cpu, DS_MAP_FAILS, 1);
    mapFailed(why, DMA_MAP_FAIL_IOVA, dmaLimit(dd, dv));
    return 0;
  }
  const iova = pfn << shift;
  const pt = liveTable(dmaDomain(dd).pgt);
  // The oracle learns of the mapping before its PTEs exist: a device that reaches the new
  // page through them must find it recorded, even if this CPU stalls right after the map.
  recordMap(dd, iova, phys - off, len);
  const ret = iommuMap(pt, iova, phys - off, len, prot, scratchAddr(dmaCpu(cpu)));
  if (ret != 0) {
    // __iommu_map took back what it had mapped with a synchronised unmap.
    recordUnmap(dd, iova, len, false);
    freeFast(iovaOf(dd), cpu, pfn, len >> shift); // iommu_dma_free_iova with a NULL gather
    statAdd(dd, cpu, DS_MAP_FAILS, 1);
    mapFailed(why, DMA_MAP_FAIL_PGTABLE, <u64>(-ret));
    return 0;
  }
  statAdd(dd, cpu, DS_MAPS, 1);
  return iova + off;
}

/** Tell the caller of dmaMap why it failed, if it asked. */
@inline function mapFailed(why: u32, code: u32, detail: u64): void {
  if (why == 0) return;
  store<u64>(why, <u64>code);
  store<u64>(why + 8, detail);
}

// ── unmap, step by step ─────────────────────────────────────────────────────

/** Step 0: align the request to granules and start an empty gather (§2.5 steps 1–2). */
export function unmapBegin(dd: u32, cpu: u32, dmaAddr: u64, size: u64): void {
  cpuCharge(CPU_COST_DMA_API, 1); // the unmap call's entry and exit, charged as it starts
  const gran = granuleOf(dd);
  const off = dmaAddr & (gran - 1);
  const c = dmaCpu(cpu);
  c.iova = dmaAddr - off;
  c.size = (size + off + gran - 1) & ~(gran - 1);
  c.unmapped = 0;
  c.skippedSync = 1; // until an iotlb_sync runs: a variant may have none on some path
  gatherInit(gatherAddr(c), false);
}

/**
 * Step 1: clear the PTEs through the core's loop into the gather. `skipLeaves`: the gather
 * is queued (merged: the snapshot; v2: io-pgtable saw the non-strict quirk), so leaf
 * invalidations are not gathered. WARN (counted) if less than the whole range went.
 */
@inline export function unmapClear(dd: u32, cpu: u32, skipLeaves: bool): void {
  const c = dmaCpu(cpu);
  changetype<Gather>(gatherAddr(c)).queued = skipLeaves ? 1 : 0;
  const size = c.size;
  const pt = liveTable(dmaDomain(dd).pgt);
  const n = iommuUnmapFast(pt, gatherAddr(c), c.iova, size, scratchAddr(c));
  c.unmapped = n;
  if (n != size) statAdd(dd, cpu, DS_UNMAP_SHORT, 1);
}

/** Step 2, when the unmap is strict: iotlb_sync — the invalidation, waited for. */
@inline export function unmapSync(dd: u32, cpu: u32): void {
  iotlbSync(liveTable(dmaDomain(dd).pgt), gatherAddr(dmaCpu(cpu)));
  dmaCpu(cpu).skippedSync = 0;
  statAdd(dd, cpu, DS_SYNCS, 1);
}

/** Step 2, when it is not: remember the decision (to spot mixed decisions at release). */
@inline export function unmapSkipSync(dd: u32, cpu: u32): void {
  dmaCpu(cpu).skippedSync = 1;
}

/**
 * Step 3: release the IOVA — queued: queue_iova with the gather's freelist, unless the
 * queue the unmap saw (`queueSeen`) did not exist yet: hazard 1, counted, nothing queued,
 * -1 (the kernel would dereference a NULL queue); otherwise free_iova_fast now, and any
 * table pages with it.
 */
@inline export function unmapRelease(dd: u32, cpu: u32, queued: bool, queueSeen: bool): i32 {
  const c = dmaCpu(cpu);
  const g = changetype<Gather>(gatherAddr(c));
  const iova = c.iova;
  const size = c.size;
  const shift = <u64>dmaDomain(dd).shift;
  const d = iovaOf(dd);
  const freelist = g.freelist;
  if (queued) {
    // Seen but not there would be the explorer's model disagreeing with the core: the same hazard.
    if (!queueSeen || !fqEnabled(d)) {
      statAdd(dd, cpu, DS_NO_QUEUE, 1);
      return -ESIM_NO_QUEUE;
    }
    recordUnmap(dd, iova, size, true);
    // queue_iova's barrier was a step of the sequence, before the queue pointer was read.
    fqQueueOrdered(d, cpu, iova >> shift, size >> shift, <u64>freelist);
    statAdd(dd, cpu, DS_UNMAPS_LAZY, 1);
    return 0;
  }
  if (c.skippedSync != 0) statAdd(dd, cpu, DS_MIXED, 1);
  recordUnmap(dd, iova, size, false);
  freeFast(d, cpu, iova >> shift, size >> shift);
  freelistRelease(freelist);
  g.freelist = 0;
  statAdd(dd, cpu, DS_UNMAPS_STRICT, 1);
  return 0;
}

/** The unmap's page-table result: bytes cleared. */
export function unmapCleared(cpu: u32): u64 {
  return dmaCpu(cpu).unmapped;
}
