// The page-table descriptor: one io_pgtable (struct io_pgtable_cfg + the arm_lpae data of
// drivers/iommu/io-pgtable-arm.c) laid out at a fixed place in shared memory, so that every
// worker reads the same geometry. Written once when the table is created, then read-only
// apart from the event-ring head and the warning counter.

import { CACHE_LINE, PGT_DESC_SIZE } from "../memmap";
import { SlotHeader } from "../slots";

/**
 * One page table's descriptor: a slot of PGT_BASE's table (PGT_DESC_SIZE bytes). Filled by
 * createTable (pgtable/config.ts) while the slot is CREATING; readers trust it once LIVE.
 */
@unmanaged export class PgtDesc {
  /** The slot state (assembly/slots.ts SLOT_*; DYING: freed, not yet released). */
  state: u32;
  /** FMT_*: which io_pgtable format. */
  fmt: u32;
  /** The kernel's behaviours, KB_* bits (assembly/behaviour.ts). */
  kb: u32;
  /** IO_PGTABLE_QUIRK_* bits (kernel numbering, QUIRK_*). */
  quirks: u32;
  /** 1 = the table walk is cache-coherent. */
  coherent: u32;
  /** Input address bits, after arm_lpae_restrict_pgsizes(). */
  ias: u32;
  /** Output address bits, after arm_lpae_restrict_pgsizes(). */
  oas: u32;
  /** log2(granule). */
  pgShift: u32;
  /** Bits resolved per level (pgShift − 3). */
  bpl: u32;
  /** The level the walk starts at (0…3; one more for a concatenated stage-2 PGD). */
  startLevel: u32;
  /** Index bits the start level resolves. */
  pgdBits: u32;
  /** Levels walked (MAX_LEVELS − startLevel), set last before the table goes live. */
  levels: u32;
  /** Page sizes the table maps, after restriction (io_pgtable_cfg.pgsize_bitmap). */
  pgsizeBitmap: u64;
  /** Physical address of the PGD (the TTBR / VTTBR value). */
  pgdPa: u64;
  /** Bytes of the PGD (ARM_LPAE_PGD_SIZE). */
  pgdBytes: u64;
  /** DF_* flags (ours), changed by setTableFlags. */
  flags: u32;
  /** TCR.TnSZ / VTCR.T0SZ: 64 − ias. */
  tcrTsz: u8;
  /** TCR.IPS / VTCR.PS: the output size's encoding. */
  tcrPs: u8;
  /** TCR.TGn: the granule's encoding (TG0's, or TG1's for a TTBR1 table). */
  tcrTg: u8;
  /** Shareability of the walk (3 inner, 2 outer). */
  tcrSh: u8;
  /** Inner cacheability of the walk (1 WBWA, 0 non-cacheable). */
  tcrIrgn: u8;
  /** Outer cacheability of the walk. */
  tcrOrgn: u8;
  /** VTCR.SL0 (stage 2 only). */
  tcrSl: u8;
  _pad0: u8; _pad1: u32;
  /** MAIR value for stage 1 (the kernel's four attribute encodings). */
  mair: u64;
  /** Address of the event ring (RingRecords in a kheap block), 0 = none. */
  evRing: u32;
  /** The ring's capacity − 1. */
  evMask: u32;
  /** The kheap frame backing the ring (freed by releaseTable). */
  evFrame: u32;
  /** WARNs raised by this table (atomic: any CPU that unmaps may add). */
  warnings: u32;
  /**
   * Table descriptors written that do not decode (iopte_to_paddr, the walk's own reading) to
   * the table page they were made for: the check bug corpus #8's buggy form fails (atomic).
   */
  badTableDescs: u32;
  /** The TLB callbacks' cookie: SMMU domain id + 1, 0 = none (assembly/smmu/domain.ts). */
  smmuDomain: u32;
  _pad3: u64;
  /** Next event sequence number (ring.ts ringWrite, atomic): every CPU that logs writes it. */
  evHead: u32;
}

// Read by name from the module (src/pgtable.ts reads the descriptor) or used by units that
// address a descriptor themselves (smmu/, iommu/core.ts, index.ts).
export const D_STATE: u32 = offsetof<PgtDesc>("state");
export const D_FMT: u32 = offsetof<PgtDesc>("fmt");
export const D_KB: u32 = offsetof<PgtDesc>("kb");
export const D_QUIRKS: u32 = offsetof<PgtDesc>("quirks");
export const D_COHERENT: u32 = offsetof<PgtDesc>("coherent");
export const D_IAS: u32 = offsetof<PgtDesc>("ias");
export const D_OAS: u32 = offsetof<PgtDesc>("oas");
export const D_PG_SHIFT: u32 = offsetof<PgtDesc>("pgShift");
export const D_BPL: u32 = offsetof<PgtDesc>("bpl");
export const D_START_LEVEL: u32 = offsetof<PgtDesc>("startLevel");
export const D_PGD_BITS: u32 = offsetof<PgtDesc>("pgdBits");
export const D_LEVELS: u32 = offsetof<PgtDesc>("levels");
export const D_PGSIZE_BITMAP: u32 = offsetof<PgtDesc>("pgsizeBitmap");
export const D_PGD_PA: u32 = offsetof<PgtDesc>("pgdPa");
export const D_PGD_BYTES: u32 = offsetof<PgtDesc>("pgdBytes");
export const D_FLAGS: u32 = offsetof<PgtDesc>("flags");
export const D_TCR_TSZ: u32 = offsetof<PgtDesc>("tcrTsz");
export const D_TCR_PS: u32 = offsetof<PgtDesc>("tcrPs");
export const D_TCR_TG: u32 = offsetof<PgtDesc>("tcrTg");
export const D_TCR_SH: u32 = offsetof<PgtDesc>("tcrSh");
export const D_TCR_IRGN: u32 = offsetof<PgtDesc>("tcrIrgn");
export const D_TCR_ORGN: u32 = offsetof<PgtDesc>("tcrOrgn");
export const D_TCR_SL: u32 = offsetof<PgtDesc>("tcrSl");
export const D_MAIR: u32 = offsetof<PgtDesc>("mair");
export const D_EV_RING: u32 = offsetof<PgtDesc>("evRing");
export const D_EV_MASK: u32 = offsetof<PgtDesc>("evMask");
export const D_WARNINGS: u32 = offsetof<PgtDesc>("warnings");
export const D_BAD_TABLE_DESCS: u32 = offsetof<PgtDesc>("badTableDescs");
export const D_SMMU_DOMAIN: u32 = offsetof<PgtDesc>("smmuDomain");
export const D_EV_HEAD: u32 = offsetof<PgtDesc>("evHead");

if (offsetof<PgtDesc>() > PGT_DESC_SIZE) ERROR("PgtDesc outgrew PGT_DESC_SIZE");
if (offsetof<PgtDesc>("evHead") % CACHE_LINE != 0) ERROR("PgtDesc.evHead must start its own cache line");
if (offsetof<PgtDesc>("state") != offsetof<SlotHeader>("state")) ERROR("PgtDesc.state must be the slot's state word");

/** Table `d`'s descriptor. */
@inline export function pgtDesc(d: u32): PgtDesc {
  return changetype<PgtDesc>(d);
}

/** Whether table `d`'s kernel has behaviour `kb` (assembly/behaviour.ts KB_PGT_*). */
@inline export function pgtHas(d: u32, kb: u32): bool {
  return (pgtDesc(d).kb & kb) != 0;
}


// Formats, as io_pgtable_fmt names them.
export const FMT_ARM_64_LPAE_S1: u32 = 0;
export const FMT_ARM_64_LPAE_S2: u32 = 1;
export const FMT_ARM_32_LPAE_S1: u32 = 2;
export const FMT_ARM_32_LPAE_S2: u32 = 3;

// Quirk bits, numbered as include/linux/io-pgtable.h numbers them.
export const QUIRK_ARM_NS: u32 = 1 << 0;
export const QUIRK_ARM_TTBR1: u32 = 1 << 5;
export const QUIRK_ARM_OUTER_WBWA: u32 = 1 << 6;
export const QUIRK_ARM_HD: u32 = 1 << 7; //      accepted with KB_PGT_QUIRK_ARM_HD
export const QUIRK_ARM_S2FWB: u32 = 1 << 8; //   accepted with KB_PGT_QUIRK_ARM_S2FWB
export const QUIRK_NO_WARN: u32 = 1 << 9; //     accepted with KB_PGT_NO_WARN_QUIRK

// Descriptor flags (ours).
export const DF_RECORD_EVENTS: u32 = 1 << 0;
/** selftest_running (without KB_PGT_NO_WARN_QUIRK): the boot self-test maps over leaves on purpose, without a WARN. */
export const DF_SELFTEST: u32 = 1 << 1;
/**
 * Defer freeing removed tables to the caller's gather freelist instead of freeing them
 * right after a synchronous walk-cache flush (which is what io-pgtable-arm does, O5).
 * This is the path of drivers that put table pages on iommu_iotlb_gather.freelist
 * (v7.1's generic page tables, VT-d): the pages go back only after the invalidation that
 * covers them — the strict sync, or the flush-queue entry's release.
 */
export const DF_DEFER_TABLE_FREE: u32 = 1 << 2;
/**
 * Table pages allocated from now on lie in the high window (memmap.ts HIGH_RAM_WINDOW),
 * above 2^48: only a 52-bit output address can name them.
 */
export const DF_HIGH_TABLES: u32 = 1 << 3;
/**
 * Fault injection, for tests only: install tables with a plain store instead of a
 * compare-and-swap, the bug the concurrency test must be able to catch.
 */
export const DF_FAULT_PLAIN_INSTALL: u32 = 1 << 8;

@inline export function isStage1(fmt: u32): bool {
  return fmt == FMT_ARM_64_LPAE_S1 || fmt == FMT_ARM_32_LPAE_S1;
}
