// A DMA domain: the kernel's iommu_domain of type DMA (strict) or DMA_FQ (lazy) together
// with its dma-iommu cookie (drivers/iommu/dma-iommu.c, iommu.c; v5.15 and v7.1;
// reference §1, §2.4, §2.12). It ties one io-pgtable table, one IOVA domain and one SMMU
// context together, holds the published mode flag `fq_domain`, and the devices that use
// it (struct device: DMA mask, bus, stream ID).
//
// The live switch DMA → DMA_FQ is the writer of the seed race (§1). Its order is a
// *variant* of the domain, so the merged fix and the shapes from the thread can be run
// side by side:
//   VARIANT_MERGED       v5.15 as merged: queue fully built, smp_wmb, WRITE_ONCE(fq_domain);
//                        unmap takes one READ_ONCE snapshot (O1, O2, O3)
//   VARIANT_V2_TWO_READS the v2 series: plain store of fq_domain, then the io-pgtable
//                        non-strict quirk set with a plain read-modify-write; unmap reads
//                        the quirk in io-pgtable and fq_domain twice, with plain reads
//   VARIANT_V2_HOISTED   the same, compiled as Robin's mail shows a compiler may: the
//                        second read of fq_domain hoisted to the top of the unmap
//   VARIANT_NO_WMB       the merged reader, but the writer publishes without the barrier
// Each variant's steps, for the switch and for the unmap, are defined once, as data, in
// dma/steps.ts: runs execute them in dma/variant.ts, the explorer (src/explore/) one at
// a time. On the host's own memory (Wasm atomics are sequentially consistent) only
// the hoisted shape can go wrong; the reorderings of a weaker machine are the explorer's.
//
// The reverse switch is refused while devices are attached, as the kernel refuses it.
// For stress runs only, dmaRebuildStrict is an explicit test hook (not kernel behaviour)
// that drains the queue and makes the domain strict again so the switch can repeat; it
// needs every CPU that maps or unmaps in the domain to be parked (dmaPause).
//
// Domain (DMA_DOMAIN_SIZE):
//   +0 state  +4 type  +8 behaviours (KB_*)  +12 page table  +16 IOVA domain  +20 SMMU domain
//   +24 SMMU instance + 1 (its oracle shadows this domain; 0 = none)  +28 variant
//   +32 granule shift  +36 flush-queue options (FQ_OPT_*)  +40 devices attached
//   +44 flags (DD_*)  +48 aperture end u64  +56 switches u32  +60 per-CPU stats block
//   +64  fq_domain u32 (own line: every unmap reads it)
//   +128 the v2 non-strict quirk word (own line)
//   +192 pause requested u32, +196 CPUs parked u32, +200 CPUs running loops u32 (own line)
//   +256 the variant's steps (dma/steps.ts), copied at creation so that every unmap reads
//        them from a read-only line: the unmap's at +256, the switch's at +320 (16 words each)
// Device (DMA_DEVICE_SIZE):
//   +0 state  +4 domain  +8 bus  +12 flags (DV_*)  +16 DMA mask u64  +24 bus DMA limit u64
//   +32 stream ID  +36 SMMU instance

import {
  DMA_DEVICES_BASE, DMA_DEVICE_SIZE, DMA_DOMAINS_BASE, DMA_DOMAIN_SIZE, MAX_DMA_DEVICES,
  MAX_DMA_DOMAINS, MAX_DMA_CPUS, ZONE_KHEAP,
} from "../memmap";
import { frameAddr, orderForBytes, zoneAlloc, zoneFree } from "../phys";
import { liveTable } from "../pgtable/config";
import { liveDomain } from "../iova/domain";
import { I_NCPUS } from "../iova/layout";
import {
  FQ_OPT_FREELIST, FQ_OPT_SINGLE, FQ_SINGLE_SIZE, FQ_SINGLE_TIMEOUT_JIFFIES, FQ_SIZE,
  FQ_TIMEOUT_JIFFIES, fqEnabled, fqFlush, fqInit, fqReleaseAll, fqSetFlushTarget, fqTeardown,
} from "../iova/fq";
import { smmuDomainLive } from "../smmu/domain";
import { smmuLive } from "../smmu/smmu";
import { BEHAVIOUR_BITS, KB_DMA_FQ_SINGLE } from "../behaviour";
import { slotAt, slotClaim, slotLive, slotPublish, slotRelease } from "../slots";
import {
  EBUSY, ESIM_ARGS, ESIM_KHEAP, ESIM_NO_DEVICE, ESIM_NO_DMA_DOMAIN, ESIM_NO_IOVA_DOMAIN, ESIM_NO_SMMU,
  ESIM_NO_SMMU_DOMAIN, ESIM_NO_TABLE, ESIM_SLOTS_FULL,
} from "../errno";
import { VARIANT_NO_WMB, copySteps } from "./steps";
import { clockHold, clockRelease } from "../clock";

// Domain types (include/linux/iommu.h): __IOMMU_DOMAIN_PAGING | DMA_API (| DMA_FQ).
export const DOMAIN_DMA: u32 = 0x3;
export const DOMAIN_DMA_FQ: u32 = 0xb;


export const DD_STATE: u32 = 0;
export const DD_TYPE: u32 = 4;
export const DD_KB: u32 = 8;
export const DD_PGT: u32 = 12;
export const DD_IOVA: u32 = 16;
export const DD_SMMU_DOMAIN: u32 = 20;
export const DD_SMMU: u32 = 24;
export const DD_VARIANT: u32 = 28;
export const DD_SHIFT: u32 = 32;
export const DD_FQ_OPTS: u32 = 36;
export const DD_DEVICES: u32 = 40;
export const DD_FLAGS: u32 = 44;
export const DD_APERTURE_END: u32 = 48;
export const DD_SWITCHES: u32 = 56;
export const DD_STATS: u32 = 60;
export const DD_FQ_DOMAIN: u32 = 64;
export const DD_QUIRK: u32 = 128;
export const DD_PAUSE: u32 = 192;
export const DD_PARKED: u32 = 196;
export const DD_RUNNING: u32 = 200;
export const DD_STEPS: u32 = 256;

/** iommu.forcedac: no 32-bit-first attempt for PCI devices. */
export const DDF_FORCEDAC: u32 = 1 << 0;


// Per-CPU statistics (u64 each), summed when read.
export const DS_MAPS: u32 = 0;
export const DS_MAP_FAILS: u32 = 1; //       no IOVA, or the page table refused
export const DS_UNMAPS_STRICT: u32 = 2; //   IOVA freed at once
export const DS_UNMAPS_LAZY: u32 = 3; //     IOVA queued
export const DS_SYNCS: u32 = 4; //           iotlb_sync calls
export const DS_SAC_TRIES: u32 = 5; //       32-bit-first attempts
export const DS_SAC_FALLBACKS: u32 = 6; //   …that failed and fell back to the full mask
export const DS_UNMAP_SHORT: u32 = 7; //     WARN: fewer bytes unmapped than asked
export const DS_MIXED: u32 = 8; //           unmaps that skipped the sync yet freed at once (the seed bug)
export const DS_NO_QUEUE: u32 = 9; //        unmaps that saw fq_domain set but no queue (hazard 1)
export const DS_COUNT: u32 = 16;
const STATS_STRIDE: u32 = DS_COUNT * 8;

export const BUS_PLATFORM: u32 = 0;
export const BUS_PCI: u32 = 1;

export const DV_STATE: u32 = 0;
export const DV_DOMAIN: u32 = 4;
export const DV_BUS: u32 = 8;
export const DV_FLAGS: u32 = 12;
export const DV_MASK: u32 = 16;
export const DV_BUS_LIMIT: u32 = 24;
export const DV_SID: u32 = 32;
export const DV_SMMU: u32 = 36;
/** v7.1 dev->iommu->pci_32bit_workaround: try 32-bit IOVAs first (cleared on first failure). */
export const DVF_PCI_32BIT: u32 = 1 << 0;
/** Cache-coherent device: mappings get IOMMU_CACHE. */
export const DVF_COHERENT: u32 = 1 << 1;

/** Whether DMA domain `dd`'s kernel has behaviour `kb` (assembly/behaviour.ts KB_*). */
@inline export function dmaHas(dd: u32, kb: u32): bool {
  return (load<u32>(dd + DD_KB) & kb) != 0;
}

@inline export function dmaDomainAddr(id: u32): u32 {
  return slotAt(DMA_DOMAINS_BASE, DMA_DOMAIN_SIZE, id);
}

@inline export function dmaDeviceAddr(id: u32): u32 {
  return slotAt(DMA_DEVICES_BASE, DMA_DEVICE_SIZE, id);
}

/** The record of a live DMA domain, or 0. */
export function liveDmaDomain(id: u32): u32 {
  return slotLive(DMA_DOMAINS_BASE, DMA_DOMAIN_SIZE, MAX_DMA_DOMAINS, id);
}

export function liveDmaDevice(id: u32): u32 {
  return slotLive(DMA_DEVICES_BASE, DMA_DEVICE_SIZE, MAX_DMA_DEVICES, id);
}

@inline export function statAdd(dd: u32, cpu: u32, which: u32, n: u64): void {
  const p = load<u32>(dd + DD_STATS) + cpu * STATS_STRIDE + which * 8;
  store<u64>(p, load<u64>(p) + n); // each CPU's line is written only by the thread running it
}

export function statSum(dd: u32, which: u32): u64 {
  const base = load<u32>(dd + DD_STATS);
  let total: u64 = 0;
  for (let c: u32 = 0; c < MAX_DMA_CPUS; c++) total += atomic.load<u64>(base + c * STATS_STRIDE + which * 8);
  return total;
}

/**
 * iommu_dma_init_domain for a domain over page table `pgt`, IOVA domain `iova` (which
 * already has start_pfn and reservations), SMMU domain `smmuDomain`, checked by the oracle
 * of SMMU `smmu` (-1: none). `lazy` asks for DMA_FQ from the start (the default domain
 * type when strict mode is off); `fqSingle` selects v7.1's single queue. Returns the id,
 * or -ESIM_NO_TABLE, -ESIM_NO_IOVA_DOMAIN, -ESIM_NO_SMMU_DOMAIN, -ESIM_NO_SMMU, -ESIM_ARGS,
 * -ESIM_KHEAP, -ESIM_SLOTS_FULL.
 */
export function dmaDomainCreate(pgt: u32, iova: u32, smmuDomain: u32, smmu: i32, kb: u32,
                                variant: u32, shift: u32, apertureEnd: u64, flags: u32,
                                fqOpts: u32): i32 {
  if (liveTable(pgt) == 0) return -ESIM_NO_TABLE;
  if (liveDomain(iova) == 0) return -ESIM_NO_IOVA_DOMAIN;
  if (!smmuDomainLive(smmuDomain)) return -ESIM_NO_SMMU_DOMAIN;
  if (smmu >= 0 && smmuLive(<u32>smmu) == 0) return -ESIM_NO_SMMU;
  if (variant > VARIANT_NO_WMB || (kb & ~BEHAVIOUR_BITS) != 0) return -ESIM_ARGS;
  if ((kb & KB_DMA_FQ_SINGLE) == 0 && (fqOpts & FQ_OPT_SINGLE) != 0) return -ESIM_ARGS;
  const id = slotClaim(DMA_DOMAINS_BASE, DMA_DOMAIN_SIZE, MAX_DMA_DOMAINS);
  if (id < 0) return id;
  const dd = dmaDomainAddr(<u32>id);
  const frame = zoneAlloc(ZONE_KHEAP, orderForBytes(<u64>(MAX_DMA_CPUS * STATS_STRIDE)));
  if (frame < 0) {
    slotRelease(dd);
    return -ESIM_KHEAP;
  }
  memory.fill(dd + 4, 0, DMA_DOMAIN_SIZE - 4);
  store<u32>(dd + DD_TYPE, DOMAIN_DMA);
  store<u32>(dd + DD_KB, kb);
  store<u32>(dd + DD_PGT, pgt);
  store<u32>(dd + DD_IOVA, iova);
  store<u32>(dd + DD_SMMU_DOMAIN, smmuDomain);
  store<u32>(dd + DD_SMMU, smmu < 0 ? 0 : <u32>smmu + 1);
  store<u32>(dd + DD_VARIANT, variant);
  copySteps(dd + DD_STEPS, variant);
  store<u32>(dd + DD_SHIFT, shift);
  store<u32>(dd + DD_FQ_OPTS, fqOpts);
  store<u32>(dd + DD_FLAGS, flags);
  store<u64>(dd + DD_APERTURE_END, apertureEnd);
  store<u32>(dd + DD_STATS, frameAddr(ZONE_KHEAP, <u32>frame));
  slotPublish(dd);
  return id;
}

/** Tear a domain down: refused (-EBUSY) while devices are attached. Frees the flush queue. */
export function dmaDomainDestroy(id: u32): i32 {
  const dd = liveDmaDomain(id);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  if (atomic.load<u32>(dd + DD_DEVICES) != 0) return -EBUSY;
  const d = liveDomain(load<u32>(dd + DD_IOVA));
  if (d != 0) fqTeardown(d);
  const stats = load<u32>(dd + DD_STATS);
  zoneFree(ZONE_KHEAP, (stats - frameAddr(ZONE_KHEAP, 0)) >> 12);
  slotRelease(dd);
  return 0;
}

/** The IOVA domain's record behind a DMA domain. */
@inline export function iovaOf(dd: u32): u32 {
  return liveDomain(load<u32>(dd + DD_IOVA));
}

// ── devices ─────────────────────────────────────────────────────────────────

/**
 * Attach a device (its stream already points at the domain's context) to a domain: its id,
 * or -ESIM_NO_DMA_DOMAIN, -ESIM_ARGS, -ESIM_SLOTS_FULL.
 */
export function dmaDeviceAttach(domain: u32, bus: u32, mask: u64, busLimit: u64, sid: u32, smmu: u32,
                                flags: u32): i32 {
  const dd = liveDmaDomain(domain);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  if (bus > BUS_PCI || mask == 0) return -ESIM_ARGS;
  const id = slotClaim(DMA_DEVICES_BASE, DMA_DEVICE_SIZE, MAX_DMA_DEVICES);
  if (id < 0) return id;
  const dv = dmaDeviceAddr(<u32>id);
  memory.fill(dv + 4, 0, DMA_DEVICE_SIZE - 4);
  store<u32>(dv + DV_DOMAIN, domain);
  store<u32>(dv + DV_BUS, bus);
  store<u32>(dv + DV_FLAGS, flags);
  store<u64>(dv + DV_MASK, mask);
  store<u64>(dv + DV_BUS_LIMIT, busLimit);
  store<u32>(dv + DV_SID, sid);
  store<u32>(dv + DV_SMMU, smmu);
  atomic.add<u32>(dd + DD_DEVICES, 1);
  slotPublish(dv);
  return id;
}

export function dmaDeviceDetach(id: u32): i32 {
  const dv = liveDmaDevice(id);
  if (dv == 0) return -ESIM_NO_DEVICE;
  const dd = liveDmaDomain(load<u32>(dv + DV_DOMAIN));
  if (dd != 0) atomic.sub<u32>(dd + DD_DEVICES, 1);
  slotRelease(dv);
  return 0;
}

// ── the live switch (the writer) ────────────────────────────────────────────

/**
 * Build the flush queue in the geometry of the domain's profile and options (§2.4 steps
 * 2–5: counters, rings, flush callback, timer off). 0, or -ENOMEM.
 */
export function buildQueue(dd: u32): i32 {
  const d = iovaOf(dd);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  const opts = load<u32>(dd + DD_FQ_OPTS);
  const single = (opts & FQ_OPT_SINGLE) != 0;
  const ret = fqInit(d, single ? FQ_SINGLE_SIZE : FQ_SIZE,
                     single ? FQ_SINGLE_TIMEOUT_JIFFIES : FQ_TIMEOUT_JIFFIES, opts | FQ_OPT_FREELIST);
  if (ret != 0) return ret;
  fqSetFlushTarget(d, <i32>load<u32>(dd + DD_PGT));
  return 0;
}

/**
 * TEST HOOK (not kernel behaviour): make a lazy domain strict again so that stress runs
 * can repeat the switch. The caller guarantees no map or unmap is in flight (dmaPause).
 * A flush, every queued entry released into `cpu`'s caches, the queue torn down, then
 * the flag and quirk cleared.
 */
export function dmaRebuildStrict(dd: u32, cpu: u32): i32 {
  const d = iovaOf(dd);
  if (d == 0) return -ESIM_NO_IOVA_DOMAIN;
  if (fqEnabled(d)) {
    // No timer may flush the queue while it goes away (a parked CPU may have armed it, and
    // a CPU that is not parked — a device's — may advance time).
    clockHold();
    fqFlush(d);
    fqReleaseAll(d, cpu);
    fqTeardown(d);
    clockRelease();
  }
  atomic.store<u32>(dd + DD_FQ_DOMAIN, 0);
  atomic.store<u32>(dd + DD_QUIRK, 0);
  store<u32>(dd + DD_TYPE, DOMAIN_DMA);
  return 0;
}

// ── parking the CPUs that map in a domain (for the test hook) ───────────────

/** A CPU's workload starts or ends a call that maps and unmaps in the domain. */
export function loopEnter(dd: u32): void { atomic.add<u32>(dd + DD_RUNNING, 1); }
export function loopLeave(dd: u32): void { atomic.sub<u32>(dd + DD_RUNNING, 1); }

/**
 * Between two operations: park while a pause is requested. After unparking, look at the
 * pause word again before going on: between leaving the wait and giving up its place in
 * the parked count, this CPU still counts as parked, and a switcher that pauses again in
 * that window finds the count complete and starts its rebuild. Looking again after the
 * decrement closes it: a CPU that then reads "not paused" read it before the new pause was
 * requested, so that pause reads the decremented count and waits for this CPU to park.
 */
@inline export function parkIfPaused(dd: u32): void {
  while (atomic.load<u32>(dd + DD_PAUSE) != 0) {
    atomic.add<u32>(dd + DD_PARKED, 1);
    while (atomic.load<u32>(dd + DD_PAUSE) != 0) {}
    atomic.sub<u32>(dd + DD_PARKED, 1);
  }
}

/** Ask every CPU running in the domain to park and wait until they have (or left). */
export function dmaPause(dd: u32): void {
  atomic.store<u32>(dd + DD_PAUSE, 1);
  while (atomic.load<u32>(dd + DD_PARKED) != atomic.load<u32>(dd + DD_RUNNING)) {}
}

export function dmaResume(dd: u32): void {
  atomic.store<u32>(dd + DD_PAUSE, 0);
}

/** CPUs a domain's IOVA domain has (for release targets). */
export function dmaNcpus(dd: u32): u32 {
  const d = iovaOf(dd);
  return d == 0 ? 0 : load<u32>(d + I_NCPUS);
}
