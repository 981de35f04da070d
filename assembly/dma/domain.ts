// A DMA domain: the kernel's iommu_domain of type DMA (strict) or DMA_FQ (lazy) together
// with its dma-iommu cookie (drivers/iommu/dma-iommu.c, iommu.c; v5.15 and v7.1;
// reference §1, §2.4, §2.12). It ties one io-pgtable table, one IOVA domain and one SMMU
// context together, holds the published mode flag `fq_domain`, and the devices that use
// it (struct device: DMA mask, bus, stream ID).
//
// The live switch DMA → DMA_FQ is the writer of the seed race (§1). Its order, and the
// unmap's, is a *variant* of the domain, so the merged fix and the shapes from the thread
// (or a user's own) can be run side by side. A variant is data: the package encodes it into
// the domain's step program (DmaDomain.steps, dma/steps.ts) right after creation
// (dmaDomainSetStep), and runs interpret that program (dma/variant.ts) while the explorer
// (src/explore/) hands the same words to the core one at a time. On the host's own memory
// (Wasm atomics are sequentially consistent) only a shape whose program order itself is
// wrong (the hoisted read) can go wrong; the reorderings of a weaker machine are the explorer's.
//
// The reverse switch is refused while devices are attached, as the kernel refuses it.
// For stress runs only, dmaRebuildStrict is an explicit test hook (not kernel behaviour)
// that drains the queue and makes the domain strict again so the switch can repeat; it
// needs every CPU that maps or unmaps in the domain to be parked (dmaPause).

import {
  CACHE_LINE, DMA_DEVICES_BASE, DMA_DEVICE_SIZE, DMA_DOMAINS_BASE, DMA_DOMAIN_SIZE, MAX_DMA_DEVICES,
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
import { SlotHeader, slotAt, slotClaim, slotLive, slotPublish, slotRelease } from "../slots";
import {
  EBUSY, ESIM_ARGS, ESIM_KHEAP, ESIM_NO_DEVICE, ESIM_NO_DMA_DOMAIN, ESIM_NO_IOVA_DOMAIN, ESIM_NO_SMMU,
  ESIM_NO_SMMU_DOMAIN, ESIM_NO_TABLE, ESIM_SLOTS_FULL,
} from "../errno";
import { SEQ_WORDS, STEP_OP_SWITCH, stepValid } from "./steps";
import { clockHold, clockRelease } from "../clock";
import { giveUpWait, waitedForStopped } from "../sync";

// Domain types (include/linux/iommu.h): __IOMMU_DOMAIN_PAGING | DMA_API (| DMA_FQ).
export const DOMAIN_DMA: u32 = 0x3;
export const DOMAIN_DMA_FQ: u32 = 0xb;


/**
 * One slot of the DMA-domain table (DMA_DOMAIN_SIZE bytes at DMA_DOMAINS_BASE): the
 * iommu_domain and its dma-iommu cookie. Filled by dmaDomainCreate while the slot is
 * CREATING, then read by every CPU that maps or unmaps in it. The words that different
 * workers write during a run (fqDomain, quirk, the parking words) each start a cache line
 * of their own, so that the unmap's reads of fq_domain do not bounce with unrelated stores.
 */
@unmanaged export class DmaDomain {
  /** The slot state (assembly/slots.ts SLOT_*). */
  state: u32;
  /**
   * DOMAIN_DMA or DOMAIN_DMA_FQ (iommu_domain.type): set at creation, to DMA_FQ by the
   * switch's last action (dma/variant.ts), back to DMA by the rebuild test hook.
   */
  type: u32;
  /** The kernel's behaviours, KB_* bits (assembly/behaviour.ts). */
  kb: u32;
  /** The io-pgtable table's id (assembly/pgtable/config.ts). */
  pgt: u32;
  /** The IOVA domain's id (assembly/iova/domain.ts): the cookie's iovad. */
  iova: u32;
  /** The SMMU domain's id (assembly/smmu/domain.ts). */
  smmuDomain: u32;
  /** The SMMU instance whose oracle shadows this domain: its id + 1, 0 = none. */
  smmu: u32;
  /** Unused (once the variant's number; the variant is now the program in `steps`). */
  _reserved: u32;
  /** log2 of the IOVA granule (iova_shift). */
  shift: u32;
  /** FQ_OPT_* (assembly/iova/fq.ts): the geometry of the flush queue the switch builds. */
  fqOpts: u32;
  /** Devices attached (atomic: any worker attaches or detaches). */
  devices: u32;
  /** DDF_* flags (iommu.forcedac). */
  flags: u32;
  /** The last IOVA of the aperture (domain->geometry.aperture_end): no IOVA above it. */
  apertureEnd: u64;
  /** Switches to DMA_FQ done (atomic add by the switch's last action; the TypeScript side reads it). */
  switches: u32;
  /**
   * Address of the per-CPU statistics (a kheap block): MAX_DMA_CPUS × STATS_STRIDE bytes,
   * DS_COUNT u64 per CPU indexed by DS_*, each CPU's written only by the thread running it.
   */
  stats: u32;
  /**
   * cookie->fq_domain: non-zero once the flush queue is published (the switch writes it,
   * as each variant does; every unmap reads it). On its own line.
   */
  fqDomain: u32;
  _pad0: u32; _pad1: u64; _pad2: u64; _pad3: u64; _pad4: u64; _pad5: u64; _pad6: u64; _pad7: u64;
  /**
   * io-pgtable's cfg.quirks as the v2 series sets it (QUIRK_NON_STRICT, dma/steps.ts),
   * with a plain read-modify-write by the switch; read by the v2 unmap. On its own line.
   */
  quirk: u32;
  _pad8: u32; _pad9: u64; _pad10: u64; _pad11: u64; _pad12: u64; _pad13: u64; _pad14: u64; _pad15: u64;
  /** Non-zero: a switcher asks every CPU running in the domain to park (dmaPause; test hook). */
  pause: u32;
  /** CPUs parked at the pause (atomic: each parking CPU). */
  parked: u32;
  /** CPUs inside a call that maps and unmaps in the domain (atomic: loopEnter, loopLeave). */
  running: u32;
  /** cookie->mutex, taken by iommu_dma_init_domain (KB_DMA_INIT_DOMAIN_LOCKED): the holding CPU + 1, 0 = free. */
  initMutex: u32; _pad17: u64; _pad18: u64; _pad19: u64; _pad20: u64; _pad21: u64; _pad22: u64;
  /**
   * The first word of the domain's step program (dma/steps.ts), written once after creation
   * (dmaDomainSetStep) so that every unmap reads its steps from lines nobody writes:
   * STEPS_OPS sequences of SEQ_WORDS u32 each, the unmap's (STEP_OP_UNMAP) first, each
   * ending at its first 0 (its last word is never written).
   */
  steps: u32;
}

// Read by name from the module (src/dma.ts, src/tasks/scenario.ts; DD_QUIRK by the explorer's tests).
export const DD_TYPE: u32 = offsetof<DmaDomain>("type");
export const DD_SWITCHES: u32 = offsetof<DmaDomain>("switches");
export const DD_FQ_DOMAIN: u32 = offsetof<DmaDomain>("fqDomain");
export const DD_QUIRK: u32 = offsetof<DmaDomain>("quirk");
/** The IOVA domain's id, whose CPUs are the domain's (src/tasks/args.ts: a task's CPU must be one). */
export const DD_IOVA: u32 = offsetof<DmaDomain>("iova");
/** The program area (read back by the tests of the variant encoding). */
export const DD_STEPS: u32 = offsetof<DmaDomain>("steps");

/** Sequences in a domain's copy of its steps: the unmap's and the switch's. */
const STEPS_OPS: u32 = STEP_OP_SWITCH + 1;

if (offsetof<DmaDomain>("state") != offsetof<SlotHeader>("state")) ERROR("DmaDomain.state must be the slot's state word");
if (offsetof<DmaDomain>("fqDomain") % CACHE_LINE != 0) ERROR("DmaDomain.fqDomain must start its own cache line");
if (offsetof<DmaDomain>("quirk") % CACHE_LINE != 0) ERROR("DmaDomain.quirk must start its own cache line");
if (offsetof<DmaDomain>("pause") % CACHE_LINE != 0) ERROR("DmaDomain.pause must start its own cache line");
if (offsetof<DmaDomain>("steps") % CACHE_LINE != 0) ERROR("DmaDomain.steps must start a cache line (read-only lines)");
if (offsetof<DmaDomain>("steps") + STEPS_OPS * SEQ_WORDS * 4 > DMA_DOMAIN_SIZE) ERROR("DmaDomain outgrew DMA_DOMAIN_SIZE");

/** iommu.forcedac: no 32-bit-first attempt for PCI devices. */
export const DDF_FORCEDAC: u32 = 1 << 0;


// Per-CPU statistics (u64 each), summed when read.
export const DS_MAPS: u32 = 0;
export const DS_MAP_FAILS: u32 = 1; //       no IOVA, or the page table refused
export const DS_UNMAPS_STRICT: u32 = 2; //   IOVA freed at once
export const DS_UNMAPS_LAZY: u32 = 3; //     IOVA queued
export const DS_SYNCS: u32 = 4; //           iotlb_sync calls after an unmap (not the gather's own)
export const DS_SAC_TRIES: u32 = 5; //       32-bit-first attempts
export const DS_SAC_FALLBACKS: u32 = 6; //   …that failed and fell back to the full mask
export const DS_UNMAP_SHORT: u32 = 7; //     WARN: fewer bytes unmapped than asked
export const DS_MIXED: u32 = 8; //           unmaps that skipped the sync yet freed at once (the seed bug)
export const DS_NO_QUEUE: u32 = 9; //        unmaps that saw fq_domain set but no queue (hazard 1)
export const DS_COUNT: u32 = 16;
const STATS_STRIDE: u32 = DS_COUNT * 8;

if (DS_NO_QUEUE >= DS_COUNT) ERROR("the DMA statistics outgrew DS_COUNT");
// Each CPU adds to its own statistics with plain stores: no two CPUs' on one line.
if (STATS_STRIDE % CACHE_LINE != 0) ERROR("a CPU's DMA statistics must fill whole cache lines");

export const BUS_PLATFORM: u32 = 0;
export const BUS_PCI: u32 = 1;

/**
 * One slot of the DMA-device table (DMA_DEVICE_SIZE bytes at DMA_DEVICES_BASE): what
 * dma-iommu reads of a struct device. Written by dmaDeviceAttach; after that only `flags`
 * changes.
 */
@unmanaged export class DmaDevice {
  /** The slot state (assembly/slots.ts SLOT_*). */
  state: u32;
  /** The DMA domain's id (its iommu_group's domain). */
  domain: u32;
  /** BUS_PLATFORM or BUS_PCI (dev_is_pci). */
  bus: u32;
  /** DVF_* flags; DVF_PCI_32BIT is cleared (atomically) by the first 32-bit attempt that fails. */
  flags: u32;
  /** The DMA mask (dma_get_mask). */
  mask: u64;
  /** The bus's DMA limit (dev->bus_dma_limit), 0 = none. */
  busLimit: u64;
  /** The device's stream ID at its SMMU. */
  sid: u32;
  /** The SMMU's id the device's transactions go through. */
  smmu: u32;
}

if (offsetof<DmaDevice>("state") != offsetof<SlotHeader>("state")) ERROR("DmaDevice.state must be the slot's state word");
/** The device's DMA domain (src/tasks/args.ts: a task's device must be on the domain it names). */
export const DV_DOMAIN: u32 = offsetof<DmaDevice>("domain");
if (offsetof<DmaDevice>() > DMA_DEVICE_SIZE) ERROR("DmaDevice outgrew DMA_DEVICE_SIZE");

/** v7.1 dev->iommu->pci_32bit_workaround: try 32-bit IOVAs first (cleared on first failure). */
export const DVF_PCI_32BIT: u32 = 1 << 0;
/** Cache-coherent device: mappings get IOMMU_CACHE. */
export const DVF_COHERENT: u32 = 1 << 1;

/** DMA domain `dd`'s record. */
@inline export function dmaDomain(dd: u32): DmaDomain {
  return changetype<DmaDomain>(dd);
}

/** DMA device `dv`'s record. */
@inline export function dmaDevice(dv: u32): DmaDevice {
  return changetype<DmaDevice>(dv);
}

/** The address of DmaDevice.flags (atomics: the 32-bit workaround is cleared while other CPUs map). */
@inline export function deviceFlagsAddr(dv: u32): u32 {
  return dv + offsetof<DmaDevice>("flags");
}

/** The address of DmaDomain.fqDomain (atomics, and the steps' marked and plain accesses). */
@inline export function fqDomainAddr(dd: u32): u32 {
  return dd + offsetof<DmaDomain>("fqDomain");
}

/** The address of DmaDomain.quirk. */
@inline export function quirkAddr(dd: u32): u32 {
  return dd + offsetof<DmaDomain>("quirk");
}

/** The address of the first word of sequence `op` (STEP_OP_*) in domain `dd`'s copy of its steps. */
@inline export function stepsAddr(dd: u32, op: u32): u32 {
  return dd + offsetof<DmaDomain>("steps") + op * SEQ_WORDS * 4;
}

/** The address of DmaDomain.devices (atomics). */
@inline function devicesAddr(dd: u32): u32 {
  return dd + offsetof<DmaDomain>("devices");
}

/** Whether DMA domain `dd`'s kernel has behaviour `kb` (assembly/behaviour.ts KB_*). */
@inline export function dmaHas(dd: u32, kb: u32): bool {
  return (dmaDomain(dd).kb & kb) != 0;
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

/** The address of statistic `which` (DS_*) of `cpu` in domain `dd`. */
@inline function statAddr(dd: u32, cpu: u32, which: u32): u32 {
  return dmaDomain(dd).stats + cpu * STATS_STRIDE + which * 8;
}

@inline export function statAdd(dd: u32, cpu: u32, which: u32, n: u64): void {
  const p = statAddr(dd, cpu, which);
  store<u64>(p, load<u64>(p) + n); // each CPU's line is written only by the thread running it
}

/** Statistic `which` of `cpu` alone (read by the thread running that CPU). */
@inline export function statGet(dd: u32, cpu: u32, which: u32): u64 {
  return load<u64>(statAddr(dd, cpu, which));
}

export function statSum(dd: u32, which: u32): u64 {
  const base = dmaDomain(dd).stats + which * 8;
  let total: u64 = 0;
  for (let c: u32 = 0; c < MAX_DMA_CPUS; c++) total += atomic.load<u64>(base + c * STATS_STRIDE);
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
                                shift: u32, apertureEnd: u64, flags: u32,
                                fqOpts: u32): i32 {
  if (liveTable(pgt) == 0) return -ESIM_NO_TABLE;
  if (liveDomain(iova) == 0) return -ESIM_NO_IOVA_DOMAIN;
  if (!smmuDomainLive(smmuDomain)) return -ESIM_NO_SMMU_DOMAIN;
  if (smmu >= 0 && smmuLive(<u32>smmu) == 0) return -ESIM_NO_SMMU;
  if ((kb & ~BEHAVIOUR_BITS) != 0) return -ESIM_ARGS;
  if ((kb & KB_DMA_FQ_SINGLE) == 0 && (fqOpts & FQ_OPT_SINGLE) != 0) return -ESIM_ARGS;
  const id = slotClaim(DMA_DOMAINS_BASE, DMA_DOMAIN_SIZE, MAX_DMA_DOMAINS);
  if (id < 0) return id;
  const dd = dmaDomainAddr(<u32>id);
  const frame = zoneAlloc(ZONE_KHEAP, orderForBytes(<u64>(MAX_DMA_CPUS * STATS_STRIDE)));
  if (frame < 0) {
    slotRelease(dd);
    return -ESIM_KHEAP;
  }
  memory.fill(dd + offsetof<SlotHeader>(), 0, DMA_DOMAIN_SIZE - offsetof<SlotHeader>());
  const t = dmaDomain(dd);
  t.type = DOMAIN_DMA;
  t.kb = kb;
  t.pgt = pgt;
  t.iova = iova;
  t.smmuDomain = smmuDomain;
  t.smmu = smmu < 0 ? 0 : <u32>smmu + 1;
  t.shift = shift;
  t.fqOpts = fqOpts;
  t.flags = flags;
  t.apertureEnd = apertureEnd;
  t.stats = frameAddr(ZONE_KHEAP, <u32>frame);
  slotPublish(dd);
  return id;
}

/**
 * Write word `index` of domain `id`'s sequence `op` (STEP_OP_*): a step stepValid accepts, or
 * 0 to end the sequence there. Made for the package to load the variant's program right
 * after dmaDomainCreate, before any CPU runs in the domain (the program is read without
 * atomics). 0, or -ESIM_NO_DMA_DOMAIN, or -ESIM_ARGS (no such sequence or index — the last
 * word of each stays 0 — or not a valid step).
 */
export function dmaDomainSetStep(id: u32, op: u32, index: u32, word: u32): i32 {
  const dd = liveDmaDomain(id);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  if (op > STEP_OP_SWITCH || index >= SEQ_WORDS - 1) return -ESIM_ARGS;
  if (word != 0 && !stepValid(word)) return -ESIM_ARGS;
  store<u32>(stepsAddr(dd, op) + index * 4, word);
  return 0;
}

/** Tear a domain down: refused (-EBUSY) while devices are attached. Frees the flush queue. */
export function dmaDomainDestroy(id: u32): i32 {
  const dd = liveDmaDomain(id);
  if (dd == 0) return -ESIM_NO_DMA_DOMAIN;
  if (atomic.load<u32>(devicesAddr(dd)) != 0) return -EBUSY;
  const d = liveDomain(dmaDomain(dd).iova);
  if (d != 0) fqTeardown(d);
  const stats = dmaDomain(dd).stats;
  zoneFree(ZONE_KHEAP, (stats - frameAddr(ZONE_KHEAP, 0)) >> 12);
  slotRelease(dd);
  return 0;
}

/** The IOVA domain's record behind a DMA domain. */
@inline export function iovaOf(dd: u32): u32 {
  return liveDomain(dmaDomain(dd).iova);
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
  memory.fill(dv + offsetof<SlotHeader>(), 0, DMA_DEVICE_SIZE - offsetof<SlotHeader>());
  const t = dmaDevice(dv);
  t.domain = domain;
  t.bus = bus;
  t.flags = flags;
  t.mask = mask;
  t.busLimit = busLimit;
  t.sid = sid;
  t.smmu = smmu;
  atomic.add<u32>(devicesAddr(dd), 1);
  slotPublish(dv);
  return id;
}

export function dmaDeviceDetach(id: u32): i32 {
  const dv = liveDmaDevice(id);
  if (dv == 0) return -ESIM_NO_DEVICE;
  const dd = liveDmaDomain(dmaDevice(dv).domain);
  if (dd != 0) atomic.sub<u32>(devicesAddr(dd), 1);
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
  const opts = dmaDomain(dd).fqOpts;
  const single = (opts & FQ_OPT_SINGLE) != 0;
  const ret = fqInit(d, single ? FQ_SINGLE_SIZE : FQ_SIZE,
                     single ? FQ_SINGLE_TIMEOUT_JIFFIES : FQ_TIMEOUT_JIFFIES, opts | FQ_OPT_FREELIST);
  if (ret != 0) return ret;
  fqSetFlushTarget(d, <i32>dmaDomain(dd).pgt);
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
  atomic.store<u32>(fqDomainAddr(dd), 0);
  atomic.store<u32>(quirkAddr(dd), 0);
  dmaDomain(dd).type = DOMAIN_DMA;
  return 0;
}

// ── parking the CPUs that map in a domain (for the test hook) ───────────────

// The parking words, all three on the line DmaDomain.pause starts (atomics only).
@inline function pauseAddr(dd: u32): u32 { return dd + offsetof<DmaDomain>("pause"); }
@inline function parkedAddr(dd: u32): u32 { return dd + offsetof<DmaDomain>("parked"); }
@inline function runningAddr(dd: u32): u32 { return dd + offsetof<DmaDomain>("running"); }

/** A CPU's workload starts or ends a call that maps and unmaps in the domain. */
export function loopEnter(dd: u32): void { atomic.add<u32>(runningAddr(dd), 1); }
export function loopLeave(dd: u32): void { atomic.sub<u32>(runningAddr(dd), 1); }

/**
 * Between two operations: park while a pause is requested. After unparking, look at the
 * pause word again before going on: between leaving the wait and giving up its place in
 * the parked count, this CPU still counts as parked, and a switcher that pauses again in
 * that window finds the count complete and starts its rebuild. Looking again after the
 * decrement closes it: a CPU that then reads "not paused" read it before the new pause was
 * requested, so that pause reads the decremented count and waits for this CPU to park.
 */
@inline export function parkIfPaused(dd: u32): void {
  while (atomic.load<u32>(pauseAddr(dd)) != 0) {
    atomic.add<u32>(parkedAddr(dd), 1);
    // The pauser may be a worker stopped mid-task that never resumes (sync.ts waitedForStopped).
    for (let looks: u32 = 0; atomic.load<u32>(pauseAddr(dd)) != 0; looks++) if (waitedForStopped(looks)) giveUpWait();
    atomic.sub<u32>(parkedAddr(dd), 1);
  }
}

/**
 * Ask every CPU running in the domain to park and wait until they have (or left). A worker
 * stopped mid-task inside a call still counts as running, and never parks: waitedForStopped.
 */
export function dmaPause(dd: u32): void {
  atomic.store<u32>(pauseAddr(dd), 1);
  for (let looks: u32 = 0; atomic.load<u32>(parkedAddr(dd)) != atomic.load<u32>(runningAddr(dd)); looks++) {
    if (waitedForStopped(looks)) giveUpWait();
  }
}

export function dmaResume(dd: u32): void {
  atomic.store<u32>(pauseAddr(dd), 0);
}

/** CPUs a domain's IOVA domain has (for release targets). */
export function dmaNcpus(dd: u32): u32 {
  const d = iovaOf(dd);
  return d == 0 ? 0 : load<u32>(d + I_NCPUS);
}
