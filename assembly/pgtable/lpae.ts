// Arm LPAE I/O page tables: drivers/iommu/io-pgtable-arm.c of v5.15.16, v6.12 and v7.1,
// rewritten from the behaviour described in reference §4 (no kernel code was copied); where
// the kernels differ, the table's behaviour bits decide (assembly/behaviour.ts KB_PGT_*).
//
// Formats: 64-bit LPAE stage 1 and stage 2, and the 32-bit LPAE ("ARM_32_LPAE") variants,
// granules 4K / 16K / 64K. Tables live in simulated RAM (ZONE_PHYS); a table descriptor
// holds the address of the next table, so walks go PA → shared-memory address.
//
// Kernel behaviour reproduced on purpose (see the conformance README):
//   - a map_pages / unmap_pages call never crosses a table boundary; without
//     KB_PGT_CONCAT_PER_TABLE the room left is counted against one granule-sized table even
//     in a concatenated PGD, so past index 511 the count goes negative and the byte count wraps;
//   - alignment is not checked here (the IOMMU core does that): a misaligned IOVA maps the
//     page that contains it, and the PA's low bits fall out of the PTE;
//   - iova_to_phys masks bits above the IAS away instead of refusing them;
//   - emptied tables stay until a block map over them, or an unmap of the larger size;
//   - a map that ends in -EEXIST may already have replaced tables before it;
//   - a partial unmap of a block splits it (KB_PGT_SPLIT_PARTIAL_UNMAP) or is refused (WARN, 0 bytes);
//   - with KB_PGT_UNMAP_TABLES_FIRST every cleared entry at the unmap size is gathered,
//     table entries included.
// Modelled CPU time (memmap.ts CPU_COST_*), charged to the calling thread where the work
// is done: a step down the walk, each PTE written or cleared, each table page allocated.
// Left out: the Mali and Apple DART formats, dirty tracking (v7.1 read_and_clear_dirty),
// custom table allocators.

import { CACHE_LINE, CPU_COST_PTE, CPU_COST_TABLE_ALLOC, CPU_COST_WALK_STEP, FRAME_SHIFT, HIGH_RAM_WINDOW, PHYS_BASE, ramOffset, ZONE_PHYS } from "../memmap";
import { cpuCharge, loadToWrite } from "../sync";
import { linesWritten } from "../line-sharing";
import { frameAddr, orderForBytes, zoneAlloc, zoneFree } from "../phys";
import {
  pgtDesc, D_BAD_TABLE_DESCS, DF_DEFER_TABLE_FREE, DF_FAULT_PLAIN_INSTALL, DF_HIGH_TABLES, DF_SELFTEST, pgtHas, QUIRK_ARM_NS, QUIRK_ARM_TTBR1, QUIRK_NO_WARN, QUIRK_ARM_HD,
  QUIRK_ARM_S2FWB, isStage1,
} from "./desc";
import {
  warn, WARN_MAP_EXISTS, WARN_MAP_LAST_LEVEL, WARN_MAP_PGSIZE, WARN_MAP_RANGE,
  WARN_MAP_REPLACE_TABLE, WARN_OUT_OF_LEVELS, WARN_UNMAP_ARGS, WARN_UNMAP_NO_PTE,
  WARN_UNMAP_PARTIAL_BLOCK, WARN_UNMAP_RANGE,
} from "../events";
import { gatherAddTable, gatherQueued } from "../iommu/gather";
import { tlbAddPage, tlbFlushWalk } from "./tlb";
import { EEXIST, EINVAL, ENOMEM, ERANGE } from "../errno";
import {
  KB_PGT_CONCAT_PER_TABLE, KB_PGT_MAP_NO_PROT_EINVAL, KB_PGT_NO_WARN_QUIRK, KB_PGT_SPLIT_LOSER_UNMAPS,
  KB_PGT_SPLIT_PARTIAL_UNMAP, KB_PGT_TABLE_PA_PACKED, KB_PGT_UNMAP_TABLES_FIRST,
} from "../behaviour";

export const MAX_LEVELS: i32 = 4;


// IOMMU prot flags (include/linux/iommu.h).
export const IOMMU_READ: u32 = 1 << 0;
export const IOMMU_WRITE: u32 = 1 << 1;
export const IOMMU_CACHE: u32 = 1 << 2;
export const IOMMU_NOEXEC: u32 = 1 << 3;
export const IOMMU_MMIO: u32 = 1 << 4;
export const IOMMU_PRIV: u32 = 1 << 5;

// PTE bits (reference §4.6).
//
//   63  55  54 53  52  51 50      48 47                  12 11  10  9 8  7 6  5  4  2  1 0
//  ┌───┬───┬─────┬────┬───┬────────┬──────────────────────┬───┬───┬────┬────┬───┬────┬────┐
//  │NST│SYN│ XN  │cont│DBM│  ...   │   output address     │nG │AF │ SH │ AP │NS │Attr│type│
//  └───┴───┴─────┴────┴───┴────────┴──────────────────────┴───┴───┴────┴────┴───┴────┴────┘
//   (stage 2: bits 7:6 are HAP, bits 5:2 MemAttr)
const PTE_TYPE_MASK: u64 = 3;
const PTE_TYPE_BLOCK: u64 = 1;
const PTE_TYPE_TABLE: u64 = 3;
const PTE_TYPE_PAGE: u64 = 3;
const PTE_NSTABLE: u64 = 1 << 63;
const PTE_SW_SYNC: u64 = 1 << 55;
const PTE_XN: u64 = 3 << 53;
const PTE_DBM: u64 = 1 << 51;
const PTE_AF: u64 = 1 << 10;
const PTE_SH_OS: u64 = 2 << 8;
const PTE_SH_IS: u64 = 3 << 8;
const PTE_NS: u64 = 1 << 5;
const PTE_NG: u64 = 1 << 11;
const PTE_AP_UNPRIV: u64 = 1 << 6;
const PTE_AP_RDONLY: u64 = 2 << 6;
const PTE_HAP_READ: u64 = 1 << 6;
const PTE_HAP_WRITE: u64 = 2 << 6;
const PTE_MEMATTR_OIWB: u64 = 0xf << 2;
const PTE_MEMATTR_NC: u64 = 0x5 << 2;
const PTE_MEMATTR_DEV: u64 = 0x1 << 2;
const PTE_MEMATTR_FWB_WB: u64 = 0x6 << 2;
const MAIR_IDX_CACHE: u64 = 1;
const MAIR_IDX_DEV: u64 = 2;
const PTE_ATTRINDX_SHIFT: u64 = 2;
/** Output address bits [47:12]; with 64K granules PA[51:48] sit in PTE[15:12]. */
export const PTE_ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;
/**
 * Attributes a split copies from the block: bits [11:2], XN and DBM. DBM joined the mask
 * with the ARM_HD quirk (KB_PGT_QUIRK_ARM_HD); a kernel without that quirk never sets it,
 * so copying it changes nothing there.
 */
const PTE_SPLIT_ATTR_MASK: u64 = (0x3ff << 2) | PTE_DBM | (6 << 52);

// ── geometry helpers ─────────────────────────────────────────────────────────

@inline function bpl(d: u32): u32 { return pgtDesc(d).bpl; }
@inline function pgShift(d: u32): u32 { return pgtDesc(d).pgShift; }
@inline function granule(d: u32): u64 { return <u64>1 << pgShift(d); }
@inline function ptesPerTable(d: u32): i32 { return 1 << (bpl(d) as i32); }
@inline function startLevel(d: u32): i32 { return pgtDesc(d).startLevel as i32; }

/** ARM_LPAE_LVL_SHIFT: (4 − l)·bpl + 3. */
@inline function lvlShift(d: u32, lvl: i32): u64 {
  return <u64>((MAX_LEVELS - lvl) * (bpl(d) as i32) + 3);
}

/** ARM_LPAE_BLOCK_SIZE: bytes one entry at this level maps. */
@inline export function blockSize(d: u32, lvl: i32): u64 {
  return <u64>1 << lvlShift(d, lvl);
}

/** ARM_LPAE_LVL_IDX: the index bits for this level; the start level uses pgd_bits of them. */
@inline function lvlIdx(d: u32, iova: u64, lvl: i32): i32 {
  const bits = lvl == startLevel(d) ? pgtDesc(d).pgdBits : bpl(d);
  return <i32>((iova >> lvlShift(d, lvl)) & ((<u64>1 << bits) - 1));
}

/**
 * Entries a single call may touch from index `idx` on: within the granule-sized table that
 * holds idx (KB_PGT_CONCAT_PER_TABLE), or — before that fix — against one granule-sized
 * table, which goes negative past it in a concatenated PGD (kept: it is what the kernel did).
 */
@inline function entriesLeft(d: u32, idx: i32): i32 {
  const n = ptesPerTable(d);
  return pgtHas(d, KB_PGT_CONCAT_PER_TABLE) ? n - (idx & (n - 1)) : n - idx;
}

/** min_t(int, pgcount, max): the kernel truncates pgcount to int first. */
@inline function minInt(pgcount: u64, max: i32): i32 {
  const c = <i32>pgcount;
  return c < max ? c : max;
}

@inline function isLeaf(pte: u64, lvl: i32): bool {
  return lvl == MAX_LEVELS - 1 ? (pte & PTE_TYPE_MASK) == PTE_TYPE_PAGE
                               : (pte & PTE_TYPE_MASK) == PTE_TYPE_BLOCK;
}

@inline function isTableType(pte: u64): bool {
  return (pte & PTE_TYPE_MASK) == PTE_TYPE_TABLE;
}

/** paddr_to_iopte: PA bits [51:48] fold into PTE [15:12] (only ever set with 64K granules). */
@inline export function paddrToPte(pa: u64): u64 {
  return (pa | (pa >> 36)) & PTE_ADDR_MASK;
}

/** iopte_to_paddr: the inverse, which only unfolds for 64K granules. */
@inline export function pteToPaddr(d: u32, pte: u64): u64 {
  const pa = pte & PTE_ADDR_MASK;
  if (pgShift(d) < 16) return pa;
  return (pa | (pa << 36)) & (PTE_ADDR_MASK << 4);
}

/** Shared-memory address of the table at physical address `pa` (either window of the RAM). */
@inline export function tablePtr(pa: u64): u32 {
  return frameAddr(ZONE_PHYS, 0) + <u32>ramOffset(pa);
}

@inline function deref(d: u32, pte: u64): u32 {
  return tablePtr(pteToPaddr(d, pte));
}

// ── table memory ─────────────────────────────────────────────────────────────

/**
 * Allocate a zeroed table of `bytes`; returns its PA (in the high window with `high`), or 0
 * when RAM is exhausted.
 */
export function allocTablePages(bytes: u64, high: bool = false): u64 {
  const frame = zoneAlloc(ZONE_PHYS, orderForBytes(bytes));
  if (frame < 0) return 0;
  cpuCharge(CPU_COST_TABLE_ALLOC, 1);
  return PHYS_BASE + (<u64>frame << FRAME_SHIFT) + (high ? HIGH_RAM_WINDOW : 0);
}

export function freeTablePages(pa: u64): void {
  zoneFree(ZONE_PHYS, <u32>(ramOffset(pa) >> FRAME_SHIFT));
}

/** A next-level table for table `d`: in the high window while DF_HIGH_TABLES is set. */
@inline function allocNextTable(d: u32): u64 {
  return allocTablePages(granule(d), (pgtDesc(d).flags & DF_HIGH_TABLES) != 0);
}

/**
 * Make PTE writes visible to a non-coherent walker (__arm_lpae_sync_pte). The simulated
 * SMMU reads the same memory, so there is nothing to copy; the cost model counts it.
 */
@inline function syncPtes(d: u32, ptep: u32, n: i32): void {}

@inline function coherent(d: u32): bool { return pgtDesc(d).coherent != 0; }

/** __arm_lpae_clear_pte for n entries. */
function clearPtes(d: u32, ptep: u32, n: i32): void {
  for (let i = 0; i < n; i++) atomic.store<u64>(ptep + (<u32>i << 3), 0);
  cpuCharge(CPU_COST_PTE, n > 0 ? <u64>n : 0);
  linesWritten(ptep, n > 0 ? <u32>n << 3 : 0);
  if (!coherent(d)) syncPtes(d, ptep, n);
}

/**
 * arm_lpae_install_table: publish `tablePa` in *ptep if it still holds `curr`, with one
 * compare-and-swap (a Wasm atomic is a full barrier, which covers the dma_wmb before it).
 * Returns the old value: equal to `curr` means ours went in. On a non-coherent walk the
 * winner's entry is cleaned and marked with the software SYNC bit.
 */
function installTable(d: u32, tablePa: u64, ptep: u32, curr: u64): u64 {
  const t = pgtDesc(d);
  // Before KB_PGT_TABLE_PA_PACKED the raw PA went in: above 2^48 its bits [51:48] land in
  // PTE bits the walk reads as address bits [47:12], and the PTE's own [15:12] stay clear.
  let entry = (pgtHas(d, KB_PGT_TABLE_PA_PACKED) ? paddrToPte(tablePa) : tablePa) | PTE_TYPE_TABLE;
  if (pteToPaddr(d, entry) != tablePa) atomic.add<u32>(d + D_BAD_TABLE_DESCS, 1);
  if ((t.quirks & QUIRK_ARM_NS) != 0) entry |= PTE_NSTABLE;
  if ((t.flags & DF_FAULT_PLAIN_INSTALL) != 0) {
    // Injected bug: overwrite whatever is there and claim success.
    atomic.store<u64>(ptep, entry);
    return curr;
  }
  const old = atomic.cmpxchg<u64>(ptep, curr, entry);
  if (coherent(d) || (old & PTE_SW_SYNC) != 0) return old;
  syncPtes(d, ptep, 1);
  if (old == curr) atomic.store<u64>(ptep, entry | PTE_SW_SYNC);
  return old;
}

/** __arm_lpae_free_pgtable: free a table and every table below it. */
export function freeSubtree(d: u32, lvl: i32, tablePa: u64): void {
  const table = tablePtr(tablePa);
  const bytes = lvl == startLevel(d) ? pgtDesc(d).pgdBytes : granule(d);
  // Level-3 tables hold only leaves; nothing below them to free.
  if (lvl < MAX_LEVELS - 1) {
    const n = <u32>(bytes >> 3);
    for (let i: u32 = 0; i < n; i++) {
      const pte = atomic.load<u64>(table + (i << 3));
      if (pte == 0 || isLeaf(pte, lvl)) continue;
      freeSubtree(d, lvl + 1, pteToPaddr(d, pte));
    }
  }
  freeTablePages(tablePa);
}

/**
 * A table entry at `lvl` − 1 covering [iova, iova + size) was cleared. io-pgtable-arm
 * invalidates the walk caches for it synchronously and frees the subtree (O5); with
 * DF_DEFER_TABLE_FREE and a gather, the subtree's pages go on the gather's freelist instead.
 */
function dropTable(d: u32, gather: u32, iova: u64, size: u64, lvl: i32, tablePa: u64): void {
  if (gather != 0 && (pgtDesc(d).flags & DF_DEFER_TABLE_FREE) != 0) {
    deferSubtree(d, gather, iova, size, lvl, tablePa);
    return;
  }
  tlbFlushWalk(d, iova, size, granule(d));
  freeSubtree(d, lvl, tablePa);
}

function deferSubtree(d: u32, gather: u32, iova: u64, size: u64, lvl: i32, tablePa: u64): void {
  if (lvl < MAX_LEVELS - 1) {
    const table = tablePtr(tablePa);
    const n = <u32>(granule(d) >> 3);
    for (let i: u32 = 0; i < n; i++) {
      const pte = atomic.load<u64>(table + (i << 3));
      if (pte != 0 && !isLeaf(pte, lvl)) deferSubtree(d, gather, iova, size, lvl + 1, pteToPaddr(d, pte));
    }
  }
  gatherAddTable(d, gather, iova, size, tablePa);
}

// ── prot → PTE ───────────────────────────────────────────────────────────────

/** arm_lpae_prot_to_pte: the attribute bits a leaf gets for IOMMU prot flags. */
export function protToPte(d: u32, prot: u32): u64 {
  const t = pgtDesc(d);
  const fmt = t.fmt;
  const quirks = t.quirks;
  let pte: u64 = 0;
  if (isStage1(fmt)) {
    pte = PTE_NG;
    if ((prot & IOMMU_WRITE) == 0 && (prot & IOMMU_READ) != 0) pte |= PTE_AP_RDONLY;
    else if ((quirks & QUIRK_ARM_HD) != 0) pte |= PTE_DBM; // accepted only with KB_PGT_QUIRK_ARM_HD
    if ((prot & IOMMU_PRIV) == 0) pte |= PTE_AP_UNPRIV;
    if ((prot & IOMMU_MMIO) != 0) pte |= MAIR_IDX_DEV << PTE_ATTRINDX_SHIFT;
    else if ((prot & IOMMU_CACHE) != 0) pte |= MAIR_IDX_CACHE << PTE_ATTRINDX_SHIFT;
  } else {
    if ((prot & IOMMU_READ) != 0) pte |= PTE_HAP_READ;
    if ((prot & IOMMU_WRITE) != 0) pte |= PTE_HAP_WRITE;
    if ((prot & IOMMU_MMIO) != 0) pte |= PTE_MEMATTR_DEV;
    else if ((prot & IOMMU_CACHE) != 0) {
      // S2FWB is accepted only with KB_PGT_QUIRK_ARM_S2FWB.
      pte |= (quirks & QUIRK_ARM_S2FWB) != 0 ? PTE_MEMATTR_FWB_WB : PTE_MEMATTR_OIWB;
    } else pte |= PTE_MEMATTR_NC;
  }
  pte |= (prot & IOMMU_CACHE) != 0 ? PTE_SH_IS : PTE_SH_OS;
  if ((prot & IOMMU_NOEXEC) != 0) pte |= PTE_XN;
  if ((quirks & QUIRK_ARM_NS) != 0) pte |= PTE_NS;
  return pte | PTE_AF;
}

// ── WARN suppression ─────────────────────────────────────────────────────────

/** Mapping over a leaf: quiet with the NO_WARN quirk (KB_PGT_NO_WARN_QUIRK), else while the boot self-test runs. */
function warnExists(d: u32): void {
  const quiet = pgtHas(d, KB_PGT_NO_WARN_QUIRK) ? (pgtDesc(d).quirks & QUIRK_NO_WARN) != 0
                                                : (pgtDesc(d).flags & DF_SELFTEST) != 0;
  if (!quiet) warn(d, WARN_MAP_EXISTS);
}

/** Unmapping a zero entry: quiet only with the NO_WARN quirk (KB_PGT_NO_WARN_QUIRK). */
function warnNoPte(d: u32): void {
  if (!pgtHas(d, KB_PGT_NO_WARN_QUIRK) || (pgtDesc(d).quirks & QUIRK_NO_WARN) == 0) warn(d, WARN_UNMAP_NO_PTE);
}

/** The sign-extension test on an input address (inverted for a TTBR1 table). */
@inline function iovaOutOfRange(d: u32, iova: u64): bool {
  const t = pgtDesc(d);
  let ext = <i64>iova >> <i64>t.ias;
  if ((t.quirks & QUIRK_ARM_TTBR1) != 0) ext = ~ext;
  return ext != 0;
}

/** The kernel's check only: a value with several bitmap sizes in it passes (and fails later). */
@inline function pgsizeInvalid(d: u32, pgsize: u64): bool {
  return pgsize == 0 || (pgsize & pgtDesc(d).pgsizeBitmap) != pgsize;
}

// ── map ──────────────────────────────────────────────────────────────────────

/**
 * arm_lpae_map_pages. Returns 0 or -errno; the bytes mapped are added to *mappedOut
 * (a u64 the caller zeroed).
 */
export function mapPages(d: u32, iova: u64, paddr: u64, pgsize: u64, pgcount: u64,
                         prot: u32, mappedOut: u32): i32 {
  if (pgsizeInvalid(d, pgsize)) {
    warn(d, WARN_MAP_PGSIZE);
    return -EINVAL;
  }
  if (iovaOutOfRange(d, iova) || (paddr >> <u64>pgtDesc(d).oas) != 0) {
    warn(d, WARN_MAP_RANGE);
    return -ERANGE;
  }
  if ((prot & (IOMMU_READ | IOMMU_WRITE)) == 0) return pgtHas(d, KB_PGT_MAP_NO_PROT_EINVAL) ? -EINVAL : 0;
  const pte = protToPte(d, prot);
  const ret = mapAt(d, iova, paddr, pgsize, pgcount, pte, startLevel(d),
                    tablePtr(pgtDesc(d).pgdPa), mappedOut);
  // Every PTE of the new mapping is visible before anything can walk the new IOVA.
  atomic.fence();
  return ret;
}

function mapAt(d: u32, iova: u64, paddr: u64, size: u64, pgcount: u64, prot: u64,
               lvl: i32, table: u32, mappedOut: u32): i32 {
  const idx = lvlIdx(d, iova, lvl);
  const ptep = table + (<u32>idx << 3);

  if (size == blockSize(d, lvl)) {
    const n = minInt(pgcount, entriesLeft(d, idx));
    const ret = initLeaves(d, iova, paddr, prot, lvl, n, ptep, table);
    // n < 0 only without KB_PGT_CONCAT_PER_TABLE in a concatenated PGD: the count wraps, as the kernel's did.
    if (ret == 0) store<u64>(mappedOut, load<u64>(mappedOut) + <u64><i64>n * size);
    return ret;
  }
  if (lvl >= MAX_LEVELS - 1) {
    warn(d, WARN_MAP_LAST_LEVEL);
    return -EINVAL;
  }

  let pte = atomic.load<u64>(ptep);
  let next: u32 = 0;
  if (pte == 0) {
    const tablePa = allocNextTable(d);
    if (tablePa == 0) return -ENOMEM;
    pte = installTable(d, tablePa, ptep, 0);
    if (pte != 0) freeTablePages(tablePa); // another CPU installed one first: use theirs
    else next = tablePtr(tablePa);
  } else if (!coherent(d) && (pte & PTE_SW_SYNC) == 0) {
    syncPtes(d, ptep, 1);
  }
  if (pte != 0) {
    if (isLeaf(pte, lvl)) {
      warnExists(d);
      return -EEXIST;
    }
    next = deref(d, pte);
  }
  cpuCharge(CPU_COST_WALK_STEP, 1);
  return mapAt(d, iova, paddr, size, pgcount, prot, lvl + 1, next, mappedOut);
}

/**
 * arm_lpae_init_pte: n leaves from ptep on. A leaf already there is -EEXIST (nothing
 * written); a table is unmapped first — in order, so an -EEXIST further on leaves the
 * earlier tables already gone.
 */
function initLeaves(d: u32, iova: u64, paddr: u64, prot: u64, lvl: i32, n: i32,
                    ptep: u32, table: u32): i32 {
  // One leaf over nothing, the common case: checked and written by one compare-and-swap.
  // A read and then a write of a PTE whose line another worker wrote last (an IOVA freed on
  // one CPU, mapped again on another) would move that line between their cores twice.
  if (n == 1 && atomic.cmpxchg<u64>(ptep, 0, leafPte(prot, lvl, paddr)) == 0) {
    leavesWritten(d, ptep, 1);
    return 0;
  }
  const sz = blockSize(d, lvl);
  for (let i = 0; i < n; i++) {
    // Several leaves (or one over something): read, then written by writeLeaves. The
    // first PTE and each that starts a line are read for writing, taking the line once.
    const at = ptep + (<u32>i << 3);
    const old = i == 0 || (at & (CACHE_LINE - 1)) == 0 ? loadToWrite<u64>(at) : atomic.load<u64>(at);
    if (isLeaf(old, lvl)) {
      warnExists(d);
      return -EEXIST;
    }
    if (isTableType(old)) {
      const at = iova + <u64>i * sz;
      if (unmapAt(d, 0, at, sz, 1, lvl, table) != sz) {
        warn(d, WARN_MAP_REPLACE_TABLE);
        return -EINVAL;
      }
    }
  }
  writeLeaves(d, paddr, prot, lvl, n, ptep);
  return 0;
}

/** __arm_lpae_init_pte: write n consecutive leaves. */
function writeLeaves(d: u32, paddr: u64, prot: u64, lvl: i32, n: i32, ptep: u32): void {
  const sz = blockSize(d, lvl);
  for (let i = 0; i < n; i++) {
    atomic.store<u64>(ptep + (<u32>i << 3), leafPte(prot, lvl, paddr + <u64>i * sz));
  }
  leavesWritten(d, ptep, n);
}

/** The leaf PTE mapping `paddr` at level `lvl` with the attributes `prot` (protToPte's). */
@inline function leafPte(prot: u64, lvl: i32, paddr: u64): u64 {
  return prot | (lvl == MAX_LEVELS - 1 ? PTE_TYPE_PAGE : PTE_TYPE_BLOCK) | paddrToPte(paddr);
}

/** What writing n leaves from ptep costs and leaves to do: their CPU time, their lines, and the sync of a non-coherent walker. */
function leavesWritten(d: u32, ptep: u32, n: i32): void {
  cpuCharge(CPU_COST_PTE, n > 0 ? <u64>n : 0);
  linesWritten(ptep, n > 0 ? <u32>n << 3 : 0);
  if (!coherent(d)) syncPtes(d, ptep, n);
}

// ── unmap ────────────────────────────────────────────────────────────────────

/** arm_lpae_unmap_pages: returns the bytes unmapped (0 on a refused call). */
export function unmapPages(d: u32, gather: u32, iova: u64, pgsize: u64, pgcount: u64): u64 {
  if (pgsizeInvalid(d, pgsize) || pgcount == 0) {
    warn(d, WARN_UNMAP_ARGS);
    return 0;
  }
  if (iovaOutOfRange(d, iova)) {
    warn(d, WARN_UNMAP_RANGE);
    return 0;
  }
  return unmapAt(d, gather, iova, pgsize, pgcount, startLevel(d),
                 tablePtr(pgtDesc(d).pgdPa));
}

function unmapAt(d: u32, gather: u32, iova: u64, size: u64, pgcount: u64, lvl: i32,
                 table: u32): u64 {
  if (lvl == MAX_LEVELS) {
    warn(d, WARN_OUT_OF_LEVELS);
    return 0;
  }
  const idx = lvlIdx(d, iova, lvl);
  const ptep = table + (<u32>idx << 3);
  const pte = atomic.load<u64>(ptep);
  if (pte == 0) {
    warnNoPte(d);
    return 0;
  }
  if (size == blockSize(d, lvl)) {
    const n = minInt(pgcount, entriesLeft(d, idx));
    return pgtHas(d, KB_PGT_UNMAP_TABLES_FIRST) ? clearRunTablesFirst(d, gather, iova, size, lvl, ptep, n)
                                                : clearRunEntryByEntry(d, gather, iova, size, lvl, ptep, n);
  }
  if (isLeaf(pte, lvl)) {
    if (pgtHas(d, KB_PGT_SPLIT_PARTIAL_UNMAP)) return splitBlockUnmap(d, gather, iova, size, pte, lvl + 1, ptep, pgcount);
    // Without the split (since v6.13): a partial unmap of a block is refused. A WARN_ONCE
    // in the kernel; reported every time here, as the kernel-code traces do.
    warn(d, WARN_UNMAP_PARTIAL_BLOCK);
    return 0;
  }
  cpuCharge(CPU_COST_WALK_STEP, 1);
  return unmapAt(d, gather, iova, size, pgcount, lvl + 1, deref(d, pte));
}

/**
 * Before KB_PGT_UNMAP_TABLES_FIRST: clear n entries one at a time. A table entry gets a
 * synchronous walk flush and its subtree freed; a leaf goes into the gather unless the
 * gather is queued (lazy). An empty entry always WARNs (no NO_WARN quirk then).
 */
function clearRunEntryByEntry(d: u32, gather: u32, iova: u64, size: u64, lvl: i32, ptep: u32,
                              n: i32): u64 {
  let i = 0;
  while (i < n) {
    const p = ptep + (<u32>i << 3);
    const pte = atomic.load<u64>(p);
    if (pte == 0) {
      warn(d, WARN_UNMAP_NO_PTE);
      break;
    }
    clearPtes(d, p, 1);
    const at = iova + <u64>i * size;
    if (!isLeaf(pte, lvl)) {
      dropTable(d, gather, at, size, lvl + 1, pteToPaddr(d, pte));
    } else if (!gatherQueued(gather)) {
      tlbAddPage(d, gather, at, size);
    }
    i++;
  }
  return <u64>i * size;
}

/**
 * KB_PGT_UNMAP_TABLES_FIRST: a first pass frees the tables among the n entries (walk flush
 * each), then all processed entries are cleared at once and — with a non-queued gather —
 * every one of them is gathered, table entries included.
 */
function clearRunTablesFirst(d: u32, gather: u32, iova: u64, size: u64, lvl: i32, ptep: u32,
                             n: i32): u64 {
  let i = 0;
  for (; i < n; i++) {
    const p = ptep + (<u32>i << 3);
    const pte = atomic.load<u64>(p);
    if (pte == 0) {
      warnNoPte(d);
      break;
    }
    if (!isLeaf(pte, lvl)) {
      clearPtes(d, p, 1);
      dropTable(d, gather, iova + <u64>i * size, size, lvl + 1, pteToPaddr(d, pte));
    }
  }
  clearPtes(d, ptep, i);
  if (gather != 0 && !gatherQueued(gather)) {
    for (let j = 0; j < i; j++) tlbAddPage(d, gather, iova + <u64>j * size, size);
  }
  return <u64>i * size;
}

/**
 * arm_lpae_split_blk_unmap (KB_PGT_SPLIT_PARTIAL_UNMAP): replace the block at *ptep (level lvl − 1) by a table at
 * `lvl` that maps all of it except the slots being unmapped, installed with one
 * compare-and-swap against the block entry. Removed slots are gathered even when the
 * gather is queued. A request smaller than this level's size splits again one level down.
 * Its two halves are also run apart (unmapPrepare, unmapFinish), so that a schedule can
 * put another CPU's split between building the table and installing it.
 */
function splitBlockUnmap(d: u32, gather: u32, iova: u64, size: u64, blockPte: u64, lvl: i32,
                         ptep: u32, pgcount: u64): u64 {
  if (lvl == MAX_LEVELS) {
    warn(d, WARN_OUT_OF_LEVELS);
    return 0;
  }
  const tablePa = splitBuild(d, iova, size, blockPte, lvl, pgcount);
  if (tablePa == 0) return 0;
  return splitInstall(d, gather, iova, size, blockPte, lvl, ptep, pgcount, tablePa);
}

/** The slots of the new table at `lvl` the request removes: the first (−1: none, the request is smaller) … */
@inline function splitFirst(d: u32, iova: u64, size: u64, lvl: i32): i32 {
  return size == blockSize(d, lvl) ? lvlIdx(d, iova, lvl) : -1;
}
/** … and how many. */
@inline function splitCount(d: u32, first: i32, pgcount: u64): i32 {
  return first < 0 ? 0 : minInt(pgcount, ptesPerTable(d) - first);
}

/**
 * The split's first half: a new table at `lvl` holding the block's other slots as leaves
 * of the next size down, with the block's attributes. Its PA, or 0 when RAM is exhausted.
 */
function splitBuild(d: u32, iova: u64, size: u64, blockPte: u64, lvl: i32, pgcount: u64): u64 {
  const tablePa = allocNextTable(d);
  if (tablePa == 0) return 0;
  const table = tablePtr(tablePa);
  const splitSize = blockSize(d, lvl);
  const first = splitFirst(d, iova, size, lvl);
  const n = splitCount(d, first, pgcount);
  const prot = blockPte & PTE_SPLIT_ATTR_MASK;
  let pa = pteToPaddr(d, blockPte);
  for (let i = 0; i < ptesPerTable(d); i++, pa += splitSize) {
    if (i >= first && i < first + n) continue;
    writeLeaves(d, pa, prot, lvl, 1, table + (<u32>i << 3));
  }
  return tablePa;
}

/**
 * The split's second half: the compare-and-swap of the block entry for the new table.
 * Won: the removed slots are gathered, or a smaller request goes on in the new table.
 * Lost (another CPU split the block first): ours is freed and the unmap goes on in the
 * winner's table — or, without KB_PGT_SPLIT_LOSER_UNMAPS, a request of this level's size
 * is gathered and reported as unmapped while its page stays mapped there.
 */
function splitInstall(d: u32, gather: u32, iova: u64, size: u64, blockPte: u64, lvl: i32,
                      ptep: u32, pgcount: u64, tablePa: u64): u64 {
  const first = splitFirst(d, iova, size, lvl);
  const n = splitCount(d, first, pgcount);
  const old = installTable(d, tablePa, ptep, blockPte);
  let next = tablePtr(tablePa);
  if (old != blockPte) {
    freeTablePages(tablePa);
    if (!isTableType(old)) return 0;
    next = deref(d, old);
    if (first < 0 || pgtHas(d, KB_PGT_SPLIT_LOSER_UNMAPS)) return unmapAt(d, gather, iova, size, pgcount, lvl, next);
  }
  for (let i = 0; i < n; i++) tlbAddPage(d, gather, iova + <u64>i * size, size);
  if (first >= 0) return <u64><i64>n * size;
  return unmapAt(d, gather, iova, size, pgcount, lvl, next);
}

// ── an unmap in two halves, for the schedule explorer ────────────────────────

/**
 * What an unmap holds between its halves (the kernel keeps it on the unmapping CPU's stack):
 * the request, and — when the walk found a block to split — the block's slot and entry and
 * the table built to replace it. Lives in the caller's per-CPU scratch, SPLIT_SCRATCH_SIZE bytes.
 */
@unmanaged class UnmapHalves {
  iova: u64;
  pgsize: u64;
  pgcount: u64;
  /** The block entry the walk read, and the table built to replace it (0: no split in flight). */
  blockPte: u64;
  tablePa: u64;
  /** The block's slot (a shared-memory address). */
  ptep: u32;
  /** The new table's level. */
  lvl: i32;
}
export const SPLIT_SCRATCH_SIZE: u32 = offsetof<UnmapHalves>();

/**
 * unmap_pages up to the split's compare-and-swap: the walk down to the entry covering
 * `iova`, and — if that is a block larger than the request (KB_PGT_SPLIT_PARTIAL_UNMAP) —
 * the replacement table built, not yet installed. Anything else (a table all the way down,
 * an empty entry, a refused request) is left whole to unmapFinish.
 */
export function unmapPrepare(d: u32, scratch: u32, iova: u64, pgsize: u64, pgcount: u64): void {
  const h = changetype<UnmapHalves>(scratch);
  h.iova = iova;
  h.pgsize = pgsize;
  h.pgcount = pgcount;
  h.tablePa = 0;
  if (pgsizeInvalid(d, pgsize) || pgcount == 0 || iovaOutOfRange(d, iova)) return;
  let lvl = startLevel(d);
  let table = tablePtr(pgtDesc(d).pgdPa);
  while (lvl < MAX_LEVELS - 1) {
    const ptep = table + (<u32>lvlIdx(d, iova, lvl) << 3);
    const pte = atomic.load<u64>(ptep);
    if (pte == 0 || pgsize == blockSize(d, lvl)) return;
    if (isLeaf(pte, lvl)) {
      if (!pgtHas(d, KB_PGT_SPLIT_PARTIAL_UNMAP)) return;
      h.tablePa = splitBuild(d, iova, pgsize, pte, lvl + 1, pgcount);
      h.blockPte = pte;
      h.ptep = ptep;
      h.lvl = lvl + 1;
      return;
    }
    cpuCharge(CPU_COST_WALK_STEP, 1);
    table = deref(d, pte);
    lvl++;
  }
}

/** The rest of the unmap unmapPrepare began: the split's install, or the whole unmap. Bytes unmapped. */
export function unmapFinish(d: u32, gather: u32, scratch: u32): u64 {
  const h = changetype<UnmapHalves>(scratch);
  if (h.tablePa == 0) return unmapPages(d, gather, h.iova, h.pgsize, h.pgcount);
  const tablePa = h.tablePa;
  h.tablePa = 0;
  return splitInstall(d, gather, h.iova, h.pgsize, h.blockPte, h.lvl, h.ptep, h.pgcount, tablePa);
}

// ── translate ────────────────────────────────────────────────────────────────

/** arm_lpae_iova_to_phys: 0 where nothing is mapped. Bits above the IAS are not checked. */
export function iovaToPhys(d: u32, iova: u64): u64 {
  let lvl = startLevel(d);
  let table = tablePtr(pgtDesc(d).pgdPa);
  while (lvl < MAX_LEVELS) {
    const pte = atomic.load<u64>(table + (<u32>lvlIdx(d, iova, lvl) << 3));
    if (pte == 0) return 0;
    if (isLeaf(pte, lvl)) return pteToPaddr(d, pte) | (iova & (blockSize(d, lvl) - 1));
    if (!isTableType(pte) || lvl == MAX_LEVELS - 1) return 0;
    table = deref(d, pte);
    lvl++;
  }
  return 0;
}
