// Creating and freeing an io-pgtable-arm table: alloc_io_pgtable_ops() for the LPAE
// formats (arm_lpae_restrict_pgsizes, arm_lpae_alloc_pgtable, the s1/s2 allocators and
// their 32-bit wrappers) and free_io_pgtable_ops(), following reference §4.1–4.5 and
// §4.12 for v5.15 and v7.1.
//
// Where the kernel returns NULL the core returns the negative of an ESIM_PGT_* code instead
// (assembly/errno.ts), so the caller can say why; the replay prints all of them as the
// kernel's NULL.

import { MAX_PGTABLES, PGT_BASE, PGT_DESC_SIZE, ZONE_KHEAP } from "../memmap";
import { frameAddr, orderForBytes, zoneAlloc, zoneFree } from "../phys";
import {
  PgtDesc, pgtDesc, FMT_ARM_32_LPAE_S1, FMT_ARM_32_LPAE_S2, FMT_ARM_64_LPAE_S2, pgtHas,
  QUIRK_ARM_HD, QUIRK_ARM_NS, QUIRK_ARM_OUTER_WBWA, QUIRK_ARM_S2FWB, QUIRK_ARM_TTBR1,
  QUIRK_NO_WARN, isStage1,
} from "./desc";
import { EVENT_SIZE } from "../events";
import {
  SLOT_DYING, SLOT_LIVE, SlotHeader, slotAt, slotClaim, slotLive, slotPublish, slotRelease, slotRetire,
} from "../slots";
import {
  BEHAVIOUR_BITS, KB_PGT_NO_WARN_QUIRK, KB_PGT_QUIRK_ARM_HD, KB_PGT_QUIRK_ARM_S2FWB, KB_PGT_S2_CONCAT_MANDATORY,
} from "../behaviour";
import {
  ENOMEM, ESIM_ARGS, ESIM_KHEAP, ESIM_PGT_FORMAT, ESIM_PGT_GRANULE, ESIM_PGT_IAS, ESIM_PGT_OAS,
  ESIM_PGT_OUTER_WBWA, ESIM_PGT_QUIRKS, ESIM_PGT_S2_CONCAT, ESIM_PGT_VA_BITS, ESIM_SLOTS_FULL,
} from "../errno";
import { allocTablePages, freeSubtree, MAX_LEVELS } from "./lpae";
import { tlbFlushAll } from "./tlb";

const MAX_ADDR_BITS: u32 = 52;
const S2_MAX_CONCAT_PAGES: u64 = 16;
const SZ_4K: u64 = 0x1000;
const SZ_16K: u64 = 0x4000;
const SZ_64K: u64 = 0x10000;
const SZ_2M: u64 = 0x200000;
const SZ_32M: u64 = 0x2000000;
const SZ_512M: u64 = 0x20000000;
const SZ_1G: u64 = 0x40000000;
const SZ_4T: u64 = 0x40000000000;

/** MAIR: NC, WBRWA, device-nGnRE, inner-NC/outer-WB; the kernel's int shift sign-extends. */
const MAIR_VALUE: u64 = <u64><i64><i32>0xf404ff44;

@inline export function descAddr(id: u32): u32 {
  return slotAt(PGT_BASE, PGT_DESC_SIZE, id);
}

/** Clear a descriptor and give its slot back (the state word last). */
function releaseDescriptor(id: u32): void {
  const d = descAddr(id);
  memory.fill(d + offsetof<SlotHeader>(), 0, PGT_DESC_SIZE - offsetof<SlotHeader>());
  slotRelease(d);
}

/** arm_lpae_restrict_pgsizes: pick the granule, keep its page sizes, clamp ias/oas. */
function restrictPgsizes(d: u32, bitmap: u64, pageSize: u64): void {
  const t = pgtDesc(d);
  let gran: u64 = 0;
  if ((bitmap & pageSize) != 0) gran = pageSize;
  else if ((bitmap & (pageSize - 1)) != 0) gran = <u64>1 << (63 - clz(bitmap & (pageSize - 1)));
  else if ((bitmap & ~(pageSize - 1)) != 0) gran = <u64>1 << ctz(bitmap & ~(pageSize - 1));

  let sizes: u64 = 0;
  let maxBits: u32 = 48;
  if (gran == SZ_4K) sizes = SZ_4K | SZ_2M | SZ_1G;
  else if (gran == SZ_16K) sizes = SZ_16K | SZ_32M;
  else if (gran == SZ_64K) {
    sizes = SZ_64K | SZ_512M;
    if (t.oas > 48) sizes |= SZ_4T;
    maxBits = 52;
  }
  t.pgsizeBitmap = bitmap & sizes;
  t.ias = min(t.ias, maxBits);
  t.oas = min(t.oas, maxBits);
}

/** arm_lpae_alloc_pgtable: the geometry every LPAE format shares. */
function lpaeGeometry(d: u32, bitmap: u64, pageSize: u64): i32 {
  const t = pgtDesc(d);
  // The kernel restricts (and so clamps ias and oas to 48, or 52 with 64K) before it checks
  // them: an ias or oas above 52 is cut down to the granule's limit, not refused.
  restrictPgsizes(d, bitmap, pageSize);
  const sizes = t.pgsizeBitmap;
  if ((sizes & (SZ_4K | SZ_16K | SZ_64K)) == 0) return -ESIM_PGT_GRANULE;
  if (t.ias > MAX_ADDR_BITS) return -ESIM_PGT_IAS;
  if (t.oas > MAX_ADDR_BITS) return -ESIM_PGT_OAS;

  const pgShift = <u32>ctz(sizes);
  const bpl = pgShift - 3;
  const ias = t.ias;
  if (ias <= pgShift) return -ESIM_PGT_VA_BITS;
  const vaBits = ias - pgShift;
  const levels = (vaBits + bpl - 1) / bpl;
  t.pgShift = pgShift;
  t.bpl = bpl;
  t.startLevel = <u32>MAX_LEVELS - levels;
  t.pgdBits = vaBits - bpl * (levels - 1);
  return 0;
}

@inline function pgdEntries(d: u32): u64 {
  return <u64>1 << pgtDesc(d).pgdBits;
}

/** Concatenate PGDs: one level fewer, a PGD of several granule-sized tables. */
function concatenate(d: u32): void {
  const t = pgtDesc(d);
  t.pgdBits = t.pgdBits + t.bpl;
  t.startLevel = t.startLevel + 1;
}

/** v7.1 arm_lpae_concat_mandatory (Arm DDI0487 R_DXBSH / R_SRKBC). */
function concatMandatory(d: u32): bool {
  const t = pgtDesc(d);
  const gran = t.pgShift;
  const start = t.startLevel;
  const ias = t.ias;
  const oas = t.oas;
  if (gran == 14 && start == 0) return oas == 48 || ias == 48;
  if (gran == 12 && start == 0) return oas == 40 || oas == 42;
  if (gran == 14 && start == 1) return oas == 40;
  return false;
}

/** TCR.IPS / VTCR.PS for an output size, or -1 for one the hardware cannot encode. */
function physSizeField(oas: u32): i32 {
  if (oas == 32) return 0;
  if (oas == 36) return 1;
  if (oas == 40) return 2;
  if (oas == 42) return 3;
  if (oas == 44) return 4;
  if (oas == 48) return 5;
  if (oas == 52) return 6;
  return -1;
}

/** Shareability and cacheability of the walk: inner-WBWA if coherent, else outer NC. */
function walkAttributes(d: u32, outerWbwa: bool): void {
  const t = pgtDesc(d);
  const coherentWalk = t.coherent != 0;
  t.tcrSh = coherentWalk ? 3 : 2;
  t.tcrIrgn = coherentWalk ? 1 : 0;
  t.tcrOrgn = coherentWalk || outerWbwa ? 1 : 0;
}

/** TG0 encoding (4K = 0, 64K = 1, 16K = 2), or TG1's (16K = 1, 4K = 2, 64K = 3). */
function granuleField(pgShift: u32, tg1: bool): u8 {
  if (pgShift == 12) return tg1 ? 2 : 0;
  if (pgShift == 16) return tg1 ? 3 : 1;
  return tg1 ? 1 : 2;
}

/** The quirks every kernel accepts for a format, and those its behaviours add. */
function allowedQuirks(d: u32, stage1: bool): u32 {
  let allowed = stage1 ? QUIRK_ARM_NS | QUIRK_ARM_TTBR1 | QUIRK_ARM_OUTER_WBWA : 0;
  if (pgtHas(d, KB_PGT_NO_WARN_QUIRK)) allowed |= QUIRK_NO_WARN;
  if (stage1 && pgtHas(d, KB_PGT_QUIRK_ARM_HD)) allowed |= QUIRK_ARM_HD;
  if (!stage1 && pgtHas(d, KB_PGT_QUIRK_ARM_S2FWB)) allowed |= QUIRK_ARM_S2FWB;
  return allowed;
}

function configureStage1(d: u32, bitmap: u64, pageSize: u64): i32 {
  const t = pgtDesc(d);
  const quirks = t.quirks;
  const allowed = allowedQuirks(d, true);
  if ((quirks & ~allowed) != 0) return -ESIM_PGT_QUIRKS;
  const err = lpaeGeometry(d, bitmap, pageSize);
  if (err != 0) return err;

  const outerWbwa = (quirks & QUIRK_ARM_OUTER_WBWA) != 0;
  if (t.coherent != 0 && outerWbwa) return -ESIM_PGT_OUTER_WBWA;
  walkAttributes(d, outerWbwa);
  t.tcrTg = granuleField(t.pgShift, (quirks & QUIRK_ARM_TTBR1) != 0);
  const ips = physSizeField(t.oas);
  if (ips < 0) return -ESIM_PGT_OAS;
  t.tcrPs = <u8>ips;
  t.tcrTsz = <u8>(64 - t.ias);
  t.mair = MAIR_VALUE;
  return 0;
}

function configureStage2(d: u32, bitmap: u64, pageSize: u64): i32 {
  const t = pgtDesc(d);
  const quirks = t.quirks;
  if ((quirks & ~allowedQuirks(d, false)) != 0) return -ESIM_PGT_QUIRKS;
  const err = lpaeGeometry(d, bitmap, pageSize);
  if (err != 0) return err;

  if (!pgtHas(d, KB_PGT_S2_CONCAT_MANDATORY)) {
    // Opportunistic: concatenate whenever a level-0 PGD is small enough.
    if (t.startLevel == 0 && pgdEntries(d) <= S2_MAX_CONCAT_PAGES) concatenate(d);
  } else if (concatMandatory(d)) {
    if (pgdEntries(d) > S2_MAX_CONCAT_PAGES) return -ESIM_PGT_S2_CONCAT;
    concatenate(d);
  }

  walkAttributes(d, false);
  const pgShift = t.pgShift;
  t.tcrTg = granuleField(pgShift, false);
  const ps = physSizeField(t.oas);
  if (ps < 0) return -ESIM_PGT_OAS;
  t.tcrPs = <u8>ps;
  t.tcrTsz = <u8>(64 - t.ias);
  // SL0 counts differently for 4K granules.
  const sl = t.startLevel + (pgShift == 12 ? 1 : 0);
  t.tcrSl = <u8>(~sl & 3);
  return 0;
}

/** The 32-bit LPAE formats: tighter limits, 4K-granule sizes only, then as 64-bit. */
function limit32(fmt: u32, ias: u32, oas: u32): i32 {
  if (fmt == FMT_ARM_32_LPAE_S1 && ias > 32) return -ESIM_PGT_IAS;
  if (fmt == FMT_ARM_32_LPAE_S2 && ias > 40) return -ESIM_PGT_IAS;
  if (oas > 40) return -ESIM_PGT_OAS;
  return 0;
}

/**
 * alloc_io_pgtable_ops for an LPAE format. Returns the table id (≥ 0) or a negative errno
 * (ESIM_PGT_* for a configuration the kernel would refuse).
 * `kb`: the kernel's behaviours (KB_*); `events`: the event-ring capacity (a power of two; 0 for none).
 */
export function createTable(fmt: u32, kb: u32, bitmap: u64, ias: u32, oas: u32,
                            coherentWalk: bool, quirks: u32, pageShift: u32,
                            events: u32): i32 {
  if (fmt > FMT_ARM_32_LPAE_S2) return -ESIM_PGT_FORMAT;
  if ((kb & ~BEHAVIOUR_BITS) != 0 || pageShift < 12 || pageShift > 16) return -ESIM_ARGS;
  const id = slotClaim(PGT_BASE, PGT_DESC_SIZE, MAX_PGTABLES); // any worker may create tables
  if (id < 0) return id;
  const d = descAddr(<u32>id);
  const t = pgtDesc(d);
  t.fmt = fmt;
  t.kb = kb;
  t.quirks = quirks;
  t.coherent = coherentWalk ? 1 : 0;
  t.ias = ias;
  t.oas = oas;

  let err: i32 = 0;
  if (fmt == FMT_ARM_32_LPAE_S1 || fmt == FMT_ARM_32_LPAE_S2) {
    err = limit32(fmt, ias, oas);
    bitmap &= SZ_4K | SZ_2M | SZ_1G;
  }
  if (err == 0) {
    err = isStage1(fmt) ? configureStage1(d, bitmap, <u64>1 << pageShift)
                        : configureStage2(d, bitmap, <u64>1 << pageShift);
  }
  if (err == 0) err = allocPgd(d);
  if (err == 0 && events != 0) err = allocEventRing(d, events);
  if (err != 0) {
    if (t.pgdPa != 0) freeSubtreeAt(d);
    releaseDescriptor(<u32>id);
    return err;
  }
  t.levels = <u32>MAX_LEVELS - t.startLevel;
  slotPublish(d);
  return id;
}

function allocPgd(d: u32): i32 {
  // v7.1 allocates at least 64 bytes; either way a PGD takes whole frames here.
  const t = pgtDesc(d);
  const bytes = <u64>8 << t.pgdBits;
  const pa = allocTablePages(bytes);
  if (pa == 0) return -ENOMEM;
  t.pgdPa = pa;
  t.pgdBytes = bytes;
  return 0;
}

function allocEventRing(d: u32, capacity: u32): i32 {
  if (capacity < 2 || (capacity & (capacity - 1)) != 0) return -ESIM_ARGS;
  const frame = zoneAlloc(ZONE_KHEAP, orderForBytes(<u64>capacity * EVENT_SIZE));
  if (frame < 0) return -ESIM_KHEAP;
  const t = pgtDesc(d);
  t.evFrame = <u32>frame;
  t.evRing = frameAddr(ZONE_KHEAP, <u32>frame);
  t.evMask = capacity - 1;
  t.evHead = 0;
  return 0;
}

function freeSubtreeAt(d: u32): void {
  const t = pgtDesc(d);
  freeSubtree(d, <i32>t.startLevel, t.pgdPa);
  t.pgdPa = 0;
}

/** A live table's descriptor address, or 0. */
export function liveTable(id: u32): u32 {
  return slotLive(PGT_BASE, PGT_DESC_SIZE, MAX_PGTABLES, id);
}

/**
 * free_io_pgtable_ops: the driver's tlb_flush_all, then every table page goes back.
 * The descriptor (and its event ring) stays readable until releaseTable().
 */
export function freePgtable(id: u32): bool {
  const d = liveTable(id);
  if (d == 0) return false;
  if (!slotRetire(d)) return false;
  tlbFlushAll(d);
  freeSubtreeAt(d);
  return true;
}

/** Forget a freed table's descriptor and event ring. */
export function releaseTable(id: u32): bool {
  if (id >= MAX_PGTABLES) return false;
  const d = descAddr(id);
  if (atomic.load<u32>(d + offsetof<PgtDesc>("state")) != SLOT_DYING) return false;
  const t = pgtDesc(d);
  if (t.evRing != 0) zoneFree(ZONE_KHEAP, t.evFrame);
  releaseDescriptor(id);
  return true;
}

/** Change descriptor flags (event recording, selftest mode, fault injection). */
export function setTableFlags(id: u32, set: u32, clear: u32): bool {
  if (id >= MAX_PGTABLES) return false;
  const d = descAddr(id);
  const state = atomic.load<u32>(d + offsetof<PgtDesc>("state"));
  if (state != SLOT_LIVE && state != SLOT_DYING) return false;
  const t = pgtDesc(d);
  t.flags = (t.flags & ~clear) | set;
  return true;
}

