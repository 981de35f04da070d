// The page-table descriptor: one io_pgtable (struct io_pgtable_cfg + the arm_lpae data of
// drivers/iommu/io-pgtable-arm.c) laid out at a fixed place in shared memory, so that every
// worker reads the same geometry. Written once when the table is created, then read-only
// apart from the event-ring head and the warning counter.
//
//   +0   state        u32  the slot state (assembly/slots.ts; DYING: freed, not yet released)
//   +4   fmt          u32  FMT_*
//   +8   behaviours   u32  the kernel's KB_* bits (assembly/behaviour.ts)
//   +12  quirks       u32  IO_PGTABLE_QUIRK_* bits (kernel numbering)
//   +16  coherent     u32  1 = coherent table walk
//   +20  ias, +24 oas u32  after arm_lpae_restrict_pgsizes()
//   +28  pg_shift     u32  log2(granule)
//   +32  bpl          u32  bits resolved per level
//   +36  start_level  u32
//   +40  pgd_bits     u32
//   +44  levels       u32
//   +48  pgsize_bitmap u64 after restriction
//   +56  pgd_pa       u64
//   +64  pgd_bytes    u64  ARM_LPAE_PGD_SIZE
//   +72  flags        u32  DF_*
//   +76  tcr          8 × u8: tsz, ips/ps, tg, sh, irgn, orgn, sl, -
//   +88  mair         u64
//   +96  ev_ring      u32  address of the event ring (0 = none)
//   +100 ev_mask      u32  capacity − 1
//   +104 ev_frame     u32  kheap frame backing the ring
//   +108 warnings     u32  WARNs raised by this table
//   +112 pgd_frame    u32
//   +116 smmu_domain  u32  the TLB callbacks' cookie: SMMU domain id + 1 (0 = none)
//   +128 ev_head      u32  next event sequence number (own cache line)

export const D_STATE: u32 = 0;
export const D_FMT: u32 = 4;
export const D_KB: u32 = 8;
export const D_QUIRKS: u32 = 12;
export const D_COHERENT: u32 = 16;
export const D_IAS: u32 = 20;
export const D_OAS: u32 = 24;
export const D_PG_SHIFT: u32 = 28;
export const D_BPL: u32 = 32;
export const D_START_LEVEL: u32 = 36;
export const D_PGD_BITS: u32 = 40;
export const D_LEVELS: u32 = 44;
export const D_PGSIZE_BITMAP: u32 = 48;
export const D_PGD_PA: u32 = 56;
export const D_PGD_BYTES: u32 = 64;
export const D_FLAGS: u32 = 72;
export const D_TCR_TSZ: u32 = 76;
export const D_TCR_PS: u32 = 77;
export const D_TCR_TG: u32 = 78;
export const D_TCR_SH: u32 = 79;
export const D_TCR_IRGN: u32 = 80;
export const D_TCR_ORGN: u32 = 81;
export const D_TCR_SL: u32 = 82;
export const D_MAIR: u32 = 88;
export const D_EV_RING: u32 = 96;
export const D_EV_MASK: u32 = 100;
export const D_EV_FRAME: u32 = 104;
export const D_WARNINGS: u32 = 108;
export const D_PGD_FRAME: u32 = 112;
export const D_SMMU_DOMAIN: u32 = 116;
export const D_EV_HEAD: u32 = 128;

/** Whether table `d`'s kernel has behaviour `kb` (assembly/behaviour.ts KB_PGT_*). */
@inline export function pgtHas(d: u32, kb: u32): bool {
  return (load<u32>(d + D_KB) & kb) != 0;
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
 * Fault injection, for tests only: install tables with a plain store instead of a
 * compare-and-swap, the bug the concurrency test must be able to catch.
 */
export const DF_FAULT_PLAIN_INSTALL: u32 = 1 << 8;

@inline export function isStage1(fmt: u32): bool {
  return fmt == FMT_ARM_64_LPAE_S1 || fmt == FMT_ARM_32_LPAE_S1;
}
