// dma-iommu's map and unmap (drivers/iommu/dma-iommu.c, v5.15 and v7.1; reference §2.5,
// §2.13, §6.4): the IOVA sizes and the 32-bit-first attempt, the IOMMU core's map loop,
// and the unmap path whose one snapshot of fq_domain decides everything (O2).
//
// The unmap is written as its steps — begin, clear the PTEs, sync, release the IOVA — and
// the order in which each seed variant takes them, with its reads of fq_domain and of the
// v2 quirk between them, is data (dma/steps.ts): dmaUnmap (dma/variant.ts) runs that
// sequence with the steps below, and the deterministic explorer runs the same one a step
// at a time. Every map and unmap is recorded in the SMMU's safety
// oracle when it has one: the IOVA counts as unmapped strictly when it goes back to the
// allocator (which promises its invalidation completed), lazily when it is queued.
//
// Modelled CPU time: each map and each unmap charges CPU_COST_DMA_API (the call's entry, its
// checks and its exit) to the calling thread; the units below charge their own work.
// Left out: scatterlists, bounce buffers (swiotlb), the v7.1 IOVA-link API, dma_sync_*.

import { CPU_COST_DMA_API, DMA_CPUS_BASE, DMA_CPU_SIZE } from "../memmap";
import { cpuCharge } from "../sync";
import { liveTable } from "../pgtable/config";
import { IOMMU_CACHE, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE } from "../pgtable/lpae";
import { allocFast, freeFast } from "../iova/rcache";
import { fqEnabled, fqQueueOrdered } from "../iova/fq";
import { iommuMap, iommuUnmapFast } from "../iommu/core";
import { G_FREELIST, G_QUEUED, gatherInit, iotlbSync } from "../iommu/gather";
import { freelistRelease } from "../iommu/freelist";
import { KB_DMA_SAC_PER_DEVICE, KB_IOVA_FAST_ROUNDS } from "../behaviour";
import { ESIM_NO_QUEUE } from "../errno";
import { recordMapPages, recordUnmapPages, smmuOracle } from "../safety/record";
import {
  BUS_PCI, DD_APERTURE_END, DD_FLAGS, DD_PGT, DD_SHIFT, dmaHas,
  DD_SMMU, DD_SMMU_DOMAIN, DDF_FORCEDAC, DS_MAPS, DS_MAP_FAILS, DS_MIXED, DS_NO_QUEUE,
  DS_SAC_FALLBACKS, DS_SAC_TRIES, DS_SYNCS, DS_UNMAPS_LAZY, DS_UNMAPS_STRICT, DS_UNMAP_SHORT,
  DV_BUS, DV_BUS_LIMIT, DV_FLAGS, DV_MASK, DVF_COHERENT, DVF_PCI_32BIT, iovaOf, statAdd,
} from "./domain";

// enum dma_data_direction
export const DMA_BIDIRECTIONAL: u32 = 0;
export const DMA_TO_DEVICE: u32 = 1;
export const DMA_FROM_DEVICE: u32 = 2;
/** DMA_ATTR_PRIVILEGED */
export const ATTR_PRIVILEGED: u32 = 1 << 9;


const DMA_BIT_MASK_32: u64 = 0xffff_ffff;

// Per simulated CPU (DMA_CPU_SIZE): the unmap in progress.
const C_GATHER: u32 = 0; //     64 B
const C_IOVA: u32 = 64; //      u64 granule-aligned IOVA
const C_SIZE: u32 = 72; //      u64 granule-aligned size
const C_UNMAPPED: u32 = 80; //  u64 bytes the page table gave back
const C_SKIPPED_SYNC: u32 = 88; // u32: this unmap decided not to sync
//                 +120: the owner word (assembly/cpu-owner.ts DMA_CPU_OWNER)
const C_SCRATCH: u32 = 128; //  for the core's loops (count, bytes mapped, a gather)

@inline export function cpuArea(cpu: u32): u32 {
  return DMA_CPUS_BASE + cpu * DMA_CPU_SIZE;
}

@inline function granuleOf(dd: u32): u64 {
  return <u64>1 << <u64>load<u32>(dd + DD_SHIFT);
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
  const id = load<u32>(dd + DD_SMMU);
  return id == 0 ? 0 : smmuOracle(id - 1);
}

function recordMap(dd: u32, iova: u64, pa: u64, size: u64): void {
  const o = oracleOf(dd);
  if (o != 0) recordMapPages(o, load<u32>(dd + DD_SMMU_DOMAIN), iova >> 12, pa >> 12, (size + 4095) >> 12);
}

function recordUnmap(dd: u32, iova: u64, size: u64, lazy: bool): void {
  const o = oracleOf(dd);
  if (o != 0) recordUnmapPages(o, load<u32>(dd + DD_SMMU_DOMAIN), iova >> 12, (size + 4095) >> 12, lazy);
}

// ── map ─────────────────────────────────────────────────────────────────────

/**
 * iommu_dma_alloc_iova: a PFN for `len` granules below the device's limit, 32-bit first
 * for PCI devices (unless iommu.forcedac; with KB_DMA_SAC_PER_DEVICE, while the device's
 * workaround flag holds, cleared for good by the first failure). 0 on failure.
 */
function allocIova(dd: u32, dv: u32, cpu: u32, len: u64): u64 {
  const d = iovaOf(dd);
  const shift = <u64>load<u32>(dd + DD_SHIFT);
  const perDevice = dmaHas(dd, KB_DMA_SAC_PER_DEVICE);
  // Before KB_IOVA_FAST_ROUNDS small sizes were rounded here; later alloc_iova_fast does it.
  if (!dmaHas(dd, KB_IOVA_FAST_ROUNDS) && len < 32 && len > 1) len = <u64>1 << (64 - clz(len - 1));
  let limit = load<u64>(dv + DV_MASK);
  const bus = load<u64>(dv + DV_BUS_LIMIT);
  if (bus != 0 && bus < limit) limit = bus;
  const aperture = load<u64>(dd + DD_APERTURE_END);
  if (aperture < limit) limit = aperture; // SMMUv3 domains force their aperture
  let sac = false;
  if (limit > DMA_BIT_MASK_32) {
    sac = perDevice ? (atomic.load<u32>(dv + DV_FLAGS) & DVF_PCI_32BIT) != 0
                    : load<u32>(dv + DV_BUS) == BUS_PCI && (load<u32>(dd + DD_FLAGS) & DDF_FORCEDAC) == 0;
  }
  if (sac) {
    statAdd(dd, cpu, DS_SAC_TRIES, 1);
    const pfn = allocFast(d, cpu, len, DMA_BIT_MASK_32 >> shift, false);
    if (pfn > 0) return <u64>pfn;
    statAdd(dd, cpu, DS_SAC_FALLBACKS, 1);
    // "Using N-bit DMA addresses" — the workaround is off for this device from now on.
    if (perDevice) atomic.and<u32>(dv + DV_FLAGS, ~DVF_PCI_32BIT);
  }
  const pfn = allocFast(d, cpu, len, limit >> shift, true);
  return pfn > 0 ? <u64>pfn : 0;
}

/**
 * __iommu_dma_map for device `dv` on simulated CPU `cpu`: [phys, phys + size) gets an
 * IOVA with the same offset into its granule. Returns the DMA address, or 0
 * (DMA_MAPPING_ERROR) — the IOVA freed at once if the page table refused the mapping.
 */
export function dmaMap(dd: u32, dv: u32, cpu: u32, phys: u64, size: u64, dir: u32, attrs: u32): u64 {
  cpuCharge(CPU_COST_DMA_API, 1);
  const shift = <u64>load<u32>(dd + DD_SHIFT);
  const gran = granuleOf(dd);
  const off = phys & (gran - 1);
  const len = (size + off + gran - 1) & ~(gran - 1);
  const prot = dirToProt(dir, (load<u32>(dv + DV_FLAGS) & DVF_COHERENT) != 0, attrs);
  const pfn = allocIova(dd, dv, cpu, len >> shift);
  if (pfn == 0) {
    statAdd(dd, cpu, DS_MAP_FAILS, 1);
    return 0;
  }
  const iova = pfn << shift;
  const pt = liveTable(load<u32>(dd + DD_PGT));
  // The oracle learns of the mapping before its PTEs exist: a device that reaches the new
  // page through them must find it recorded, even if this CPU stalls right after the map.
  recordMap(dd, iova, phys - off, len);
  if (iommuMap(pt, iova, phys - off, len, prot, cpuArea(cpu) + C_SCRATCH) != 0) {
    // __iommu_map took back what it had mapped with a synchronised unmap.
    recordUnmap(dd, iova, len, false);
    freeFast(iovaOf(dd), cpu, pfn, len >> shift); // iommu_dma_free_iova with a NULL gather
    statAdd(dd, cpu, DS_MAP_FAILS, 1);
    return 0;
  }
  statAdd(dd, cpu, DS_MAPS, 1);
  return iova + off;
}

// ── unmap, step by step ─────────────────────────────────────────────────────

/** Step 0: align the request to granules and start an empty gather (§2.5 steps 1–2). */
export function unmapBegin(dd: u32, cpu: u32, dmaAddr: u64, size: u64): void {
  cpuCharge(CPU_COST_DMA_API, 1); // the unmap call's entry and exit, charged as it starts
  const gran = granuleOf(dd);
  const off = dmaAddr & (gran - 1);
  const c = cpuArea(cpu);
  store<u64>(c + C_IOVA, dmaAddr - off);
  store<u64>(c + C_SIZE, (size + off + gran - 1) & ~(gran - 1));
  store<u64>(c + C_UNMAPPED, 0);
  store<u32>(c + C_SKIPPED_SYNC, 0);
  gatherInit(c + C_GATHER, false);
}

/**
 * Step 1: clear the PTEs through the core's loop into the gather. `skipLeaves`: the gather
 * is queued (merged: the snapshot; v2: io-pgtable saw the non-strict quirk), so leaf
 * invalidations are not gathered. WARN (counted) if less than the whole range went.
 */
@inline export function unmapClear(dd: u32, cpu: u32, skipLeaves: bool): void {
  const c = cpuArea(cpu);
  store<u32>(c + C_GATHER + G_QUEUED, skipLeaves ? 1 : 0);
  const size = load<u64>(c + C_SIZE);
  const pt = liveTable(load<u32>(dd + DD_PGT));
  const n = iommuUnmapFast(pt, c + C_GATHER, load<u64>(c + C_IOVA), size, c + C_SCRATCH);
  store<u64>(c + C_UNMAPPED, n);
  if (n != size) statAdd(dd, cpu, DS_UNMAP_SHORT, 1);
}

/** Step 2, when the unmap is strict: iotlb_sync — the invalidation, waited for. */
@inline export function unmapSync(dd: u32, cpu: u32): void {
  iotlbSync(liveTable(load<u32>(dd + DD_PGT)), cpuArea(cpu) + C_GATHER);
  statAdd(dd, cpu, DS_SYNCS, 1);
}

/** Step 2, when it is not: remember the decision (to spot mixed decisions at release). */
@inline export function unmapSkipSync(dd: u32, cpu: u32): void {
  store<u32>(cpuArea(cpu) + C_SKIPPED_SYNC, 1);
}

/**
 * Step 3: release the IOVA — queued: queue_iova with the gather's freelist, unless the
 * queue the unmap saw (`queueSeen`) did not exist yet: hazard 1, counted, nothing queued,
 * -1 (the kernel would dereference a NULL queue); otherwise free_iova_fast now, and any
 * table pages with it.
 */
@inline export function unmapRelease(dd: u32, cpu: u32, queued: bool, queueSeen: bool): i32 {
  const c = cpuArea(cpu);
  const iova = load<u64>(c + C_IOVA);
  const size = load<u64>(c + C_SIZE);
  const shift = <u64>load<u32>(dd + DD_SHIFT);
  const d = iovaOf(dd);
  const freelist = load<u32>(c + C_GATHER + G_FREELIST);
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
  if (load<u32>(c + C_SKIPPED_SYNC) != 0) statAdd(dd, cpu, DS_MIXED, 1);
  recordUnmap(dd, iova, size, false);
  freeFast(d, cpu, iova >> shift, size >> shift);
  freelistRelease(freelist);
  store<u32>(c + C_GATHER + G_FREELIST, 0);
  statAdd(dd, cpu, DS_UNMAPS_STRICT, 1);
  return 0;
}

/** The unmap's page-table result: bytes cleared. */
export function unmapCleared(cpu: u32): u64 {
  return load<u64>(cpuArea(cpu) + C_UNMAPPED);
}
