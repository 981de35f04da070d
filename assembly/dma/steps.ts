// The seed variants as data: for each variant of the thread behind the seed race (reference
// §1.2–1.3), the steps of dma-iommu's unmap (the reader: __iommu_dma_unmap and queue_iova in
// drivers/iommu/dma-iommu.c, and io-pgtable-arm's unmap for the v2 quirk) and of the live
// DMA → DMA-FQ switch (the writer: iommu_dma_init_fq, set_pgtable_quirks), in the order that
// variant's code performs them. Kernel behaviour followed: v5.15 as merged, and the v2
// series of 2021-07 as Robin Murphy's mail of 2021-08-02 describes it (plain reads, and a
// compiler hoisting the second read of fq_domain).
//
// This is the one definition of each variant's order. Runs interpret it (dma/variant.ts:
// dmaUnmap, dmaSwitchToLazy); the deterministic explorer (src/explore/scenario.ts) reads the
// same sequences through dma_variant_step, lets its memory model decide what each load
// sees, and has the core perform each store and action with dma_step_run (stepEffect in
// dma/variant.ts). Left out: the kernel code between these
// sites, which touches none of the modelled words.
//
// A step is one u32 — a code site of the kernel and what it does there:
//
//    31    28 27    24 23    20 19  18  17  16 15    12 11     8 7              0
//   ┌────────┬────────┬────────┬──────┬───┬───┬────────┬────────┬───────────────┐
//   │  data  │  ctrl  │  out   │  0   │ G │ M │ object │  kind  │     site      │
//   └────────┴────────┴────────┴──────┴───┴───┴────────┴────────┴───────────────┘
//   site    SITE_*: which line of the kernel this is (the explorer labels steps by it)
//   kind    STEP_LOAD, STEP_STORE (of a shared word), STEP_FENCE, STEP_ACTION
//   object  the word (WORD_*), the barrier (BARRIER_*) or the action (ACT_*)
//   M       a marked access: READ_ONCE / WRITE_ONCE (else a plain C access)
//   G       guarded: the step takes effect only if register `ctrl` is non-zero
//   out     the register a load writes (1..STEP_REGS; 0: none)
//   ctrl    the register the step is control-dependent on (its decision)
//   data    the register whose value the step uses (a data dependency)
// A sequence ends at the first 0. Registers belong to one unmap or switch: what a load
// read, carried to the steps that depend on it as the kernel carries it in a local.

// The variants (DmaDomain.variant, dma/domain.ts; src/dma.ts names them).
export const VARIANT_MERGED: u32 = 0;
export const VARIANT_V2_TWO_READS: u32 = 1;
export const VARIANT_V2_HOISTED: u32 = 2;
export const VARIANT_NO_WMB: u32 = 3;

/** The v5.14 IO_PGTABLE_QUIRK_NON_STRICT bit (v2 only; removed by a8e5f04458c4). */
export const QUIRK_NON_STRICT: u32 = 1 << 4;

// ── the word's fields ───────────────────────────────────────────────────────
export const STEP_SITE_MASK: u32 = 0xff;
export const STEP_KIND_SHIFT: u32 = 8;
export const STEP_OBJECT_SHIFT: u32 = 12;
export const STEP_MARKED: u32 = 1 << 16;
export const STEP_GUARDED: u32 = 1 << 17;
export const STEP_OUT_SHIFT: u32 = 20;
export const STEP_CTRL_SHIFT: u32 = 24;
export const STEP_DATA_SHIFT: u32 = 28;
/** Every field but the site is a nibble. */
export const STEP_FIELD_MASK: u32 = 0xf;
/** Registers a sequence may use (each a byte of dmaRunSteps' register word). */
export const STEP_REGS: u32 = 4;

export const STEP_LOAD: u32 = 1;
export const STEP_STORE: u32 = 2;
export const STEP_FENCE: u32 = 3;
export const STEP_ACTION: u32 = 4;

/** cookie->fq_domain: the published mode flag (DmaDomain.fqDomain). */
export const STEP_WORD_FQ_DOMAIN: u32 = 1;
/** The flush queue itself: "built" (1) or not (0). Its store is the queue's construction. */
export const STEP_WORD_FQ: u32 = 2;
/** io-pgtable's cfg.quirks (DmaDomain.quirk): v2 sets IO_PGTABLE_QUIRK_NON_STRICT in it. */
export const STEP_WORD_QUIRK: u32 = 3;

export const STEP_BARRIER_MB: u32 = 1; //  smp_mb
export const STEP_BARRIER_WMB: u32 = 2; // smp_wmb

/** Clear the PTEs into the gather; leaf invalidations not gathered iff `ctrl` says queued. */
export const STEP_ACT_CLEAR: u32 = 1;
/** iotlb_sync if `ctrl` is zero, else remember that the sync was skipped. */
export const STEP_ACT_SYNC: u32 = 2;
/** queue_iova if `ctrl` is non-zero (given the queue `data` saw), else free_iova_fast. */
export const STEP_ACT_RELEASE: u32 = 3;
/** domain->type = DMA_FQ. */
export const STEP_ACT_SET_TYPE: u32 = 4;

/** The two sequences each variant has. */
export const STEP_OP_UNMAP: u32 = 0;
export const STEP_OP_SWITCH: u32 = 1;
/** Room for one sequence in a domain's copy (DmaDomain.steps, a cache line each): its steps and the closing 0. */
export const SEQ_WORDS: u32 = 16;

// ── the kernel's code sites ─────────────────────────────────────────────────
// The merged reader (merged and no-wmb): one READ_ONCE snapshot decides everything (O2).
export const SITE_UNMAP_SNAPSHOT: u32 = 1; //        gather.queued = READ_ONCE(cookie->fq_domain)
export const SITE_UNMAP_CLEAR_QUEUED: u32 = 2; //    iommu_unmap_fast: leaves gathered iff !queued
export const SITE_UNMAP_SYNC_QUEUED: u32 = 3; //     if (!gather.queued) iommu_iotlb_sync
export const SITE_QUEUE_MB: u32 = 4; //              queue_iova: smp_mb() before the entry
export const SITE_QUEUE_LOAD: u32 = 5; //            queue_iova: the per-CPU queue pointer
export const SITE_UNMAP_RELEASE_QUEUED: u32 = 6; //  queued ? queue_iova : free_iova_fast
// The v2 reader: io-pgtable reads the quirk, dma-iommu reads fq_domain twice, plainly.
export const SITE_UNMAP_READ_QUIRK: u32 = 7; //      io-pgtable unmap: cfg.quirks
export const SITE_UNMAP_CLEAR_QUIRK: u32 = 8; //     leaves gathered iff NON_STRICT not seen
export const SITE_UNMAP_READ_FQ_SYNC: u32 = 9; //    read #1 of fq_domain, for the sync
export const SITE_UNMAP_SYNC_FQ: u32 = 10; //        if (!cookie->fq_domain) iommu_iotlb_sync
export const SITE_UNMAP_READ_FQ_FREE: u32 = 11; //   read #2 of fq_domain, in iommu_dma_free_iova
export const SITE_UNMAP_READ_FQ_HOISTED: u32 = 12; // read #2, hoisted to the top by the compiler
export const SITE_QUEUE_WMB: u32 = 13; //            queue_iova before v3: smp_wmb() after the pointer
export const SITE_UNMAP_RELEASE_FQ: u32 = 14; //     fq_domain ? queue_iova : free_iova_fast
// The writer.
export const SITE_SWITCH_BUILD: u32 = 15; //         iommu_dma_init_fq: rings, counters, timer
export const SITE_SWITCH_WMB: u32 = 16; //           merged: smp_wmb() before publishing
export const SITE_SWITCH_PUBLISH_ONCE: u32 = 17; //  WRITE_ONCE(cookie->fq_domain, domain)
export const SITE_SWITCH_PUBLISH_PLAIN: u32 = 18; // v2: cookie->fq_domain = domain
export const SITE_SWITCH_READ_QUIRK: u32 = 19; //    set_pgtable_quirks: read cfg.quirks …
export const SITE_SWITCH_SET_QUIRK: u32 = 20; //     … |= NON_STRICT, written back plainly
export const SITE_SWITCH_SET_TYPE: u32 = 21; //      domain->type = IOMMU_DOMAIN_DMA_FQ (last, fixing hazard 4)

// Registers, named as the kernel's locals are.
const R_QUEUED: u32 = 1; // the merged snapshot
const R_FQ: u32 = 2; //     the queue pointer queue_iova loaded
const R_QUIRK: u32 = 3; //  io-pgtable's (or set_pgtable_quirks') read of cfg.quirks
const R_SYNC: u32 = 4; //   v2 read #1 of fq_domain
const R_FREE: u32 = 1; //   v2 read #2 of fq_domain (the merged snapshot's register is unused in v2)

@inline function word(site: u32, kind: u32, object: u32): u32 {
  return site | (kind << STEP_KIND_SHIFT) | (object << STEP_OBJECT_SHIFT);
}

@inline function loadOf(site: u32, w: u32, marked: bool, out: u32): u32 {
  return word(site, STEP_LOAD, w) | (marked ? STEP_MARKED : 0) | (out << STEP_OUT_SHIFT);
}

@inline function storeOf(site: u32, w: u32, marked: bool): u32 {
  return word(site, STEP_STORE, w) | (marked ? STEP_MARKED : 0);
}

@inline function fenceAt(site: u32, barrier: u32): u32 {
  return word(site, STEP_FENCE, barrier);
}

@inline function actionAt(site: u32, act: u32): u32 {
  return word(site, STEP_ACTION, act);
}

@inline function ctrl(r: u32): u32 {
  return r << STEP_CTRL_SHIFT;
}

@inline function guardedBy(r: u32): u32 {
  return STEP_GUARDED | (r << STEP_CTRL_SHIFT);
}

@inline function data(r: u32): u32 {
  return r << STEP_DATA_SHIFT;
}

// ── the sequences ───────────────────────────────────────────────────────────

/** merged (and no-wmb, whose reader it is): the snapshot, then everything follows from it. */
function mergedUnmap(i: u32): u32 {
  switch (i) {
    case 0: return loadOf(SITE_UNMAP_SNAPSHOT, STEP_WORD_FQ_DOMAIN, true, R_QUEUED);
    case 1: return actionAt(SITE_UNMAP_CLEAR_QUEUED, STEP_ACT_CLEAR) | ctrl(R_QUEUED);
    case 2: return actionAt(SITE_UNMAP_SYNC_QUEUED, STEP_ACT_SYNC) | ctrl(R_QUEUED);
    case 3: return fenceAt(SITE_QUEUE_MB, STEP_BARRIER_MB) | guardedBy(R_QUEUED);
    case 4: return loadOf(SITE_QUEUE_LOAD, STEP_WORD_FQ, false, R_FQ) | guardedBy(R_QUEUED);
    case 5: return actionAt(SITE_UNMAP_RELEASE_QUEUED, STEP_ACT_RELEASE) | ctrl(R_QUEUED) | data(R_FQ);
  }
  return 0;
}

/**
 * v2: the quirk decides the leaves, read #1 of fq_domain the sync, read #2 the free.
 * `hoisted`: read #2 taken first and kept in a local, as Robin's mail shows a compiler may.
 */
function v2Unmap(i: u32, hoisted: bool): u32 {
  if (hoisted) {
    if (i == 0) return loadOf(SITE_UNMAP_READ_FQ_HOISTED, STEP_WORD_FQ_DOMAIN, false, R_FREE);
    if (i <= 4) return v2Unmap(i - 1, false); // the quirk, the clear, read #1, the sync
    return v2Unmap(i, false); //                   read #2's own place is gone
  }
  switch (i) {
    case 0: return loadOf(SITE_UNMAP_READ_QUIRK, STEP_WORD_QUIRK, false, R_QUIRK);
    case 1: return actionAt(SITE_UNMAP_CLEAR_QUIRK, STEP_ACT_CLEAR) | ctrl(R_QUIRK);
    case 2: return loadOf(SITE_UNMAP_READ_FQ_SYNC, STEP_WORD_FQ_DOMAIN, false, R_SYNC);
    case 3: return actionAt(SITE_UNMAP_SYNC_FQ, STEP_ACT_SYNC) | ctrl(R_SYNC);
    case 4: return loadOf(SITE_UNMAP_READ_FQ_FREE, STEP_WORD_FQ_DOMAIN, false, R_FREE);
    case 5: return loadOf(SITE_QUEUE_LOAD, STEP_WORD_FQ, false, R_FQ) | guardedBy(R_FREE);
    case 6: return fenceAt(SITE_QUEUE_WMB, STEP_BARRIER_WMB) | guardedBy(R_FREE);
    case 7: return actionAt(SITE_UNMAP_RELEASE_FQ, STEP_ACT_RELEASE) | ctrl(R_FREE) | data(R_FQ);
  }
  return 0;
}

/** The switch: the queue built first (hazard 1), the domain type last (hazard 4). */
function switchStep(variant: u32, i: u32): u32 {
  if (i == 0) return storeOf(SITE_SWITCH_BUILD, STEP_WORD_FQ, false);
  if (variant == VARIANT_MERGED) {
    if (i == 1) return fenceAt(SITE_SWITCH_WMB, STEP_BARRIER_WMB); // the queue before the flag (O1)
    if (i == 2) return storeOf(SITE_SWITCH_PUBLISH_ONCE, STEP_WORD_FQ_DOMAIN, true);
    return i == 3 ? actionAt(SITE_SWITCH_SET_TYPE, STEP_ACT_SET_TYPE) : 0;
  }
  if (variant == VARIANT_NO_WMB) {
    if (i == 1) return storeOf(SITE_SWITCH_PUBLISH_ONCE, STEP_WORD_FQ_DOMAIN, true);
    return i == 2 ? actionAt(SITE_SWITCH_SET_TYPE, STEP_ACT_SET_TYPE) : 0;
  }
  switch (i) { // v2: a plain store of the flag, then the quirk's plain read-modify-write
    case 1: return storeOf(SITE_SWITCH_PUBLISH_PLAIN, STEP_WORD_FQ_DOMAIN, false);
    case 2: return loadOf(SITE_SWITCH_READ_QUIRK, STEP_WORD_QUIRK, false, R_QUIRK);
    case 3: return storeOf(SITE_SWITCH_SET_QUIRK, STEP_WORD_QUIRK, false) | data(R_QUIRK);
    case 4: return actionAt(SITE_SWITCH_SET_TYPE, STEP_ACT_SET_TYPE);
  }
  return 0;
}

/** Step `i` of `variant`'s sequence for `op` (STEP_OP_UNMAP, STEP_OP_SWITCH); 0 past its end or for a bad argument. */
export function variantStep(variant: u32, op: u32, i: u32): u32 {
  if (op == STEP_OP_SWITCH) return variant <= VARIANT_NO_WMB ? switchStep(variant, i) : 0;
  if (op != STEP_OP_UNMAP) return 0;
  if (variant == VARIANT_MERGED || variant == VARIANT_NO_WMB) return mergedUnmap(i);
  if (variant == VARIANT_V2_TWO_READS) return v2Unmap(i, false);
  if (variant == VARIANT_V2_HOISTED) return v2Unmap(i, true);
  return 0;
}

// ── decoding ────────────────────────────────────────────────────────────────

@inline export function stepKind(s: u32): u32 {
  return (s >> STEP_KIND_SHIFT) & STEP_FIELD_MASK;
}

@inline export function stepObject(s: u32): u32 {
  return (s >> STEP_OBJECT_SHIFT) & STEP_FIELD_MASK;
}

@inline export function ctrlOf(s: u32): u32 {
  return (s >> STEP_CTRL_SHIFT) & STEP_FIELD_MASK;
}

@inline export function dataOf(s: u32): u32 {
  return (s >> STEP_DATA_SHIFT) & STEP_FIELD_MASK;
}

@inline export function outOf(s: u32): u32 {
  return (s >> STEP_OUT_SHIFT) & STEP_FIELD_MASK;
}

// The registers of a sequence, one byte each: register r in byte r of a u64, whose byte 0
// ("no register") is never written and reads 0 — so a step reads its register without a
// branch. Every word a step loads fits a byte: fq_domain and the queue are flags, and the
// quirk word holds only NON_STRICT (0x10). Across the boundary (dma_step_run) the word is a
// u32 without byte 0: register r in byte r - 1 (registersFrom).

@inline export function regGet(regs: u64, r: u32): u32 {
  return <u32>(regs >> (<u64>r << 3)) & 0xff;
}

@inline export function regSet(regs: u64, r: u32, v: u32): u64 {
  const shift = <u64>r << 3;
  return (regs & ~(<u64>0xff << shift)) | (<u64>(v & 0xff) << shift);
}

/** The register word as the boundary passes it (register r in byte r - 1). */
@inline export function registersFrom(packed: u32): u64 {
  return <u64>packed << 8;
}

/**
 * Copy `variant`'s sequences to a domain's DmaDomain.steps, where dmaRunSteps reads them: the
 * hot path then loads a word per step instead of working the definition out each time.
 */
export function copySteps(dst: u32, variant: u32): void {
  for (let op: u32 = STEP_OP_UNMAP; op <= STEP_OP_SWITCH; op++) {
    if (variantStep(variant, op, SEQ_WORDS - 1) != 0) unreachable(); // a sequence outgrew its line
    for (let i: u32 = 0; i < SEQ_WORDS; i++) store<u32>(dst + (op * SEQ_WORDS + i) * 4, variantStep(variant, op, i));
  }
}

/** The value a store step writes, given the registers it depends on. */
export function stepValue(s: u32, regs: u64): u32 {
  return stepObject(s) == STEP_WORD_QUIRK ? regGet(regs, dataOf(s)) | QUIRK_NON_STRICT : 1;
}
