// Context generations: how a TLBI by ASID, by VMID or of everything removes a context's
// entries from the IOTLB and walk caches without visiting them (CMD_TLBI_NH_ASID,
// CMD_TLBI_S12_VMALL, CMD_TLBI_NSNH_ALL; on an SMMU v1/v2 TLBIASID, TLBIVMID, TLBIALL*).
// The hardware drops the entries at once; the model used to find them by scanning every set
// of the IOTLB, every walk cache and every micro-TLB. A lazy (DMA-FQ) domain flushes all of
// that on every flush of every CPU, and with CPUs on several workers each scan read every line
// the other workers' fills had just written: the scan cost more than the rest of the lazy path
// and made it slower on two workers than on one.
//
// Instead each context (ASID | VMID << 16, as the caches tag entries) gets a slot in a small
// table of the SMMU's with a generation; a fill stamps its entry with the slot and the
// generation the translation read when it began, and an entry is alive only while its slot
// still holds that generation. A flush of a context bumps the generation of every slot that
// matches it: every entry stamped before is gone in O(1). Dead entries are to every reader
// what an invalid one is (a lookup misses, a fill takes the first way that is invalid or
// dead, an invalidation that covers them clears them); each is counted as invalidated when
// it is physically cleared, and smmuSettle clears them all before statistics or a snapshot
// are read, so the counters read the same as if the flush had removed the entries itself.
// LRU caches keep no stamps (their entries' age word is the LRU age) and are scanned; a
// micro-TLB's tag filter is cleared by the fill that finds it dead (cache.ts restartFilter).
//
// The table: one header line (overflow flag), then CTX_SLOTS slots, one cache line each (a
// bump dirties only the lines of the contexts it flushes). A context with no slot (more than
// CTX_SLOTS contexts on one SMMU) stamps its entries 0, alive until removed for real; once
// that has happened every flush of everything scans as before. Generations have GEN_BITS
// bits; every GEN_SCAN_EVERY-th bump of a slot scans for real, so no dead entry lives to see
// its generation come round again.

import { CACHE_LINE } from "../memmap";

/** Contexts with a generation per SMMU (the table is one 4 KiB frame: a header line + the slots). */
export const CTX_SLOTS: u32 = 63;
export const CTX_TABLE_BYTES: u32 = (CTX_SLOTS + 1) * CACHE_LINE;
const GEN_BITS: u32 = 24;
const GEN_MASK: u32 = (1 << GEN_BITS) - 1;
/** A bump that lands on a multiple of this also scans (half the generations: none can wrap onto a live stamp). */
const GEN_SCAN_EVERY: u32 = 1 << (GEN_BITS - 2);

const SLOT_FREE: u32 = 0;
const SLOT_CLAIMING: u32 = 1;
const SLOT_READY: u32 = 2;

/** One context's generation, on a line of its own. */
@unmanaged class CtxSlot {
  /** SLOT_*: claimed by compare-and-swap, ready once `ctx` is written. */
  state: u32;
  /** ASID | VMID << 16 (cache.ts makeCtx). */
  ctx: u32;
  /** Bumped (atomically) by every flush of this context; the low GEN_BITS are the generation. */
  gen: u32;
}

/** The table's first line: 1 once a context found no free slot. */
@unmanaged class CtxTableHeader {
  overflow: u32;
}

if (offsetof<CtxSlot>() > CACHE_LINE) ERROR("CtxSlot outgrew its cache line");
if (CTX_TABLE_BYTES > 4096) ERROR("the context table outgrew one kheap frame");
if (CTX_SLOTS >= 256) ERROR("a stamp keeps the slot in 8 bits");

@inline function slotAt(table: u32, slot: u32): CtxSlot {
  return changetype<CtxSlot>(table + slot * CACHE_LINE); // slot 1..CTX_SLOTS: line 0 is the header
}

@inline function genOf(table: u32, slot: u32): u32 {
  return atomic.load<u32>(changetype<u32>(slotAt(table, slot)) + offsetof<CtxSlot>("gen")) & GEN_MASK;
}

/** A zeroed table at `table` (CTX_TABLE_BYTES). */
export function ctxTableInit(table: u32): void {
  memory.fill(table, 0, CTX_TABLE_BYTES);
}

/**
 * The stamp of context `ctx` now: its slot (1..CTX_SLOTS) in the low 8 bits, its generation
 * above; 0 when it has no slot (entries then live until removed). `hint` is a slot the
 * caller remembered for this context (0: none); the slot the stamp names is returned in
 * the low 8 bits, for the caller to remember.
 */
export function ctxStamp(table: u32, ctx: u32, hint: u32): u32 {
  if (hint != 0 && hint <= CTX_SLOTS) {
    const sl = slotAt(table, hint);
    if (atomic.load<u32>(changetype<u32>(sl)) == SLOT_READY && sl.ctx == ctx) return hint | (genOf(table, hint) << 8);
  }
  const slot = ctxSlotFor(table, ctx);
  return slot == 0 ? 0 : slot | (genOf(table, slot) << 8);
}

/** Find the slot of `ctx`, or claim a free one for it; 0 if the table is full (overflow noted). */
function ctxSlotFor(table: u32, ctx: u32): u32 {
  for (let i: u32 = 1; i <= CTX_SLOTS; i++) {
    const state = changetype<u32>(slotAt(table, i));
    let st = atomic.load<u32>(state);
    while (st == SLOT_CLAIMING) st = atomic.load<u32>(state); // its claimer writes ctx next
    if (st == SLOT_FREE) {
      if (atomic.cmpxchg<u32>(state, SLOT_FREE, SLOT_CLAIMING) != SLOT_FREE) { i--; continue; } // look again
      slotAt(table, i).ctx = ctx;
      atomic.store<u32>(state, SLOT_READY);
      return i;
    }
    if (slotAt(table, i).ctx == ctx) return i;
  }
  atomic.store<u32>(changetype<u32>(table) + offsetof<CtxTableHeader>("overflow"), 1);
  return 0;
}

/** Whether an entry stamped `stamp` is still alive (its context not flushed since). */
@inline export function stampLive(table: u32, stamp: u32): bool {
  return stamp == 0 || genOf(table, stamp & 0xff) == stamp >> 8;
}

/**
 * Flush every context that `ctx` matches — its ASID if `byAsid`, its VMID if `byVmid`,
 * neither: every context — by bumping its generation. Returns whether the caches must
 * still be scanned: some context has no slot, or a generation came round to a scan.
 */
export function ctxFlush(table: u32, byAsid: bool, byVmid: bool, ctx: u32): bool {
  let scan = atomic.load<u32>(table + offsetof<CtxTableHeader>("overflow")) != 0;
  for (let i: u32 = 1; i <= CTX_SLOTS; i++) {
    const sl = slotAt(table, i);
    if (atomic.load<u32>(changetype<u32>(sl)) != SLOT_READY) continue;
    const c = sl.ctx;
    if (byAsid && (c & 0xffff) != (ctx & 0xffff)) continue;
    if (byVmid && (c >> 16) != (ctx >> 16)) continue;
    const gen = (atomic.add<u32>(changetype<u32>(sl) + offsetof<CtxSlot>("gen"), 1) + 1) & GEN_MASK;
    if (gen % GEN_SCAN_EVERY == 0) scan = true;
  }
  return scan;
}
