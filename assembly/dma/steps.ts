// The step programs of dma-iommu's unmap (the reader: __iommu_dma_unmap, iommu_dma_free_iova,
// queue_iova in drivers/iommu/dma-iommu.c, and io-pgtable-arm's unmap for the v2 quirk) and of
// the live DMA → DMA-FQ switch (the writer: iommu_dma_init_fq, set_pgtable_quirks): the
// instruction set of one small interpreter, defined here once. Which steps a variant of the
// seed thread runs, in what order, is data given by the package (its variant vocabulary,
// TypeScript side): it encodes each variant — the four of the 2021 thread, or one a user
// wrote — into these words and stores them in a domain's program area (DmaDomain.steps,
// dma_domain_set_step, which checks each word with stepValid). Runs interpret that program
// (dma/variant.ts: dmaUnmap, dmaSwitchToLazy); the deterministic explorer hands the same
// words one at a time to dma_step_run while its memory model decides what each load sees.
// Kernel behaviour followed: v5.15 as merged, and the v2 series of 2021-07 as Robin Murphy's
// mail of 2021-08-02 describes it. Left out: the kernel code between these steps, which
// touches none of the modelled words.
//
// A step is one u32:
//
//    31    28 27    24 23    20 19  18  17 16 15    12 11     8 7              0
//   ┌────────┬────────┬────────┬───┬───┬─────┬────────┬────────┬───────────────┐
//   │  data  │  ctrl  │  out   │ N │ G │ acc │ object │  kind  │  0 (reserved) │
//   └────────┴────────┴────────┴───┴───┴─────┴────────┴────────┴───────────────┘
//   kind    STEP_LOAD, STEP_STORE (of a modelled word), STEP_FENCE, STEP_ACTION
//   object  the word (STEP_WORD_*), the barrier (STEP_BARRIER_*) or the action (STEP_ACT_*)
//   acc     the access kind of a load or store (STEP_ACCESS_*: plain C, READ_ONCE/WRITE_ONCE,
//           smp_load_acquire, smp_store_release)
//   G       guarded: the step takes effect only if register `ctrl` is non-zero …
//   N       … or, with N, only if it is zero (`if (!r)`)
//   out     the register a load writes (1..STEP_REGS; 0: none)
//   ctrl    the register the step is control-dependent on (its guard, or an action's decision)
//   data    the register whose value the step uses (a data dependency)
// A sequence ends at the first 0 (every valid step has a kind). Registers belong to one
// unmap or switch: what a load read, carried to the steps that depend on it as the kernel
// carries it in a local.

/** The v5.14 IO_PGTABLE_QUIRK_NON_STRICT bit (v2 only; removed by a8e5f04458c4). */
export const QUIRK_NON_STRICT: u32 = 1 << 4;

// ── the word's fields ───────────────────────────────────────────────────────
export const STEP_KIND_SHIFT: u32 = 8;
export const STEP_OBJECT_SHIFT: u32 = 12;
export const STEP_ACCESS_SHIFT: u32 = 16;
export const STEP_ACCESS_MASK: u32 = 0x3;
export const STEP_GUARDED: u32 = 1 << 18;
export const STEP_GUARD_NOT: u32 = 1 << 19;
export const STEP_OUT_SHIFT: u32 = 20;
export const STEP_CTRL_SHIFT: u32 = 24;
export const STEP_DATA_SHIFT: u32 = 28;
/** kind, object, out, ctrl and data are nibbles. */
export const STEP_FIELD_MASK: u32 = 0xf;
/** The low byte: always 0. */
const STEP_RESERVED_MASK: u32 = 0xff;
/** Registers a sequence may use (each a byte of the register word dma_step_run takes). */
export const STEP_REGS: u32 = 4;

export const STEP_LOAD: u32 = 1;
export const STEP_STORE: u32 = 2;
export const STEP_FENCE: u32 = 3;
export const STEP_ACTION: u32 = 4;

export const STEP_ACCESS_PLAIN: u32 = 0; //   a plain C access (the compiler may tear, merge or hoist it)
export const STEP_ACCESS_ONCE: u32 = 1; //    READ_ONCE / WRITE_ONCE
export const STEP_ACCESS_ACQUIRE: u32 = 2; // smp_load_acquire (loads only)
export const STEP_ACCESS_RELEASE: u32 = 3; // smp_store_release (stores only)

/** cookie->fq_domain: the published mode flag (DmaDomain.fqDomain). A store publishes the domain (1). */
export const STEP_WORD_FQ_DOMAIN: u32 = 1;
/** The flush queue itself: "built" (1) or not (0). Its store is the queue's construction. */
export const STEP_WORD_FQ: u32 = 2;
/** io-pgtable's cfg.quirks (DmaDomain.quirk): a store sets IO_PGTABLE_QUIRK_NON_STRICT into what `data` read. */
export const STEP_WORD_QUIRK: u32 = 3;
const STEP_WORD_LAST: u32 = STEP_WORD_QUIRK;

export const STEP_BARRIER_MB: u32 = 1; //  smp_mb
export const STEP_BARRIER_WMB: u32 = 2; // smp_wmb
export const STEP_BARRIER_RMB: u32 = 3; // smp_rmb
const STEP_BARRIER_LAST: u32 = STEP_BARRIER_RMB;

/** Clear the PTEs into the gather; leaf invalidations not gathered iff register `ctrl` is set (queued). */
export const STEP_ACT_CLEAR: u32 = 1;
/** iotlb_sync if register `ctrl` is zero, else remember that the sync was skipped. */
export const STEP_ACT_SYNC: u32 = 2;
/** iommu_dma_free_iova: queue_iova if `ctrl` is set (given the queue `data` saw), else free_iova_fast. */
export const STEP_ACT_RELEASE: u32 = 3;
/** domain->type = DMA_FQ. */
export const STEP_ACT_SET_TYPE: u32 = 4;
/** queue_iova, whatever any register says (given the queue `data` saw, if it names one). */
export const STEP_ACT_QUEUE: u32 = 5;
/** free_iova_fast, whatever any register says. */
export const STEP_ACT_FREE: u32 = 6;
const STEP_ACT_LAST: u32 = STEP_ACT_FREE;

/** The two sequences a domain's program has. */
export const STEP_OP_UNMAP: u32 = 0;
export const STEP_OP_SWITCH: u32 = 1;
/** Room for one sequence in a domain's program (DmaDomain.steps, a cache line each): its steps and the closing 0. */
export const SEQ_WORDS: u32 = 16;

// ── decoding ────────────────────────────────────────────────────────────────

@inline export function stepKind(s: u32): u32 {
  return (s >> STEP_KIND_SHIFT) & STEP_FIELD_MASK;
}

@inline export function stepObject(s: u32): u32 {
  return (s >> STEP_OBJECT_SHIFT) & STEP_FIELD_MASK;
}

@inline export function stepAccess(s: u32): u32 {
  return (s >> STEP_ACCESS_SHIFT) & STEP_ACCESS_MASK;
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

/** Whether a load or store is marked (anything but a plain C access): Wasm atomics then. */
@inline export function stepMarked(s: u32): bool {
  return stepAccess(s) != STEP_ACCESS_PLAIN;
}

/** The actions whose `ctrl` register is their own decision (so they take no guard). */
@inline function actionDecides(act: u32): bool {
  return act == STEP_ACT_CLEAR || act == STEP_ACT_SYNC || act == STEP_ACT_RELEASE;
}

/** The highest object code of a kind (0 for no such kind). */
function lastObject(kind: u32): u32 {
  if (kind == STEP_LOAD || kind == STEP_STORE) return STEP_WORD_LAST;
  if (kind == STEP_FENCE) return STEP_BARRIER_LAST;
  return kind == STEP_ACTION ? STEP_ACT_LAST : 0;
}

/**
 * Whether `s` is a step this interpreter runs: a known kind and object, an access kind its
 * kind allows (acquire only on loads, release only on stores, none on fences and actions),
 * registers in 1..STEP_REGS, a destination only on loads, a guard with a register, and no
 * guard on an action whose `ctrl` is its decision.
 */
export function stepValid(s: u32): bool {
  if ((s & STEP_RESERVED_MASK) != 0) return false;
  const kind = stepKind(s);
  const object = stepObject(s);
  if (object == 0 || object > lastObject(kind)) return false;
  const acc = stepAccess(s);
  if (kind == STEP_LOAD && acc == STEP_ACCESS_RELEASE) return false;
  if (kind == STEP_STORE && acc == STEP_ACCESS_ACQUIRE) return false;
  if ((kind == STEP_FENCE || kind == STEP_ACTION) && acc != STEP_ACCESS_PLAIN) return false;
  if (outOf(s) > STEP_REGS || ctrlOf(s) > STEP_REGS || dataOf(s) > STEP_REGS) return false;
  if (kind != STEP_LOAD && outOf(s) != 0) return false;
  const guarded = (s & STEP_GUARDED) != 0;
  if ((s & STEP_GUARD_NOT) != 0 && !guarded) return false;
  if (guarded && ctrlOf(s) == 0) return false;
  return !(guarded && kind == STEP_ACTION && actionDecides(object));
}

/** Whether a guarded step's guard fails for the registers `regs` (an unguarded one never does). */
@inline export function guardFails(s: u32, regs: u64): bool {
  if ((s & STEP_GUARDED) == 0) return false;
  return (regGet(regs, ctrlOf(s)) != 0) == ((s & STEP_GUARD_NOT) != 0);
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

/** The value a store step writes, given the registers it depends on. */
export function stepValue(s: u32, regs: u64): u32 {
  return stepObject(s) == STEP_WORD_QUIRK ? regGet(regs, dataOf(s)) | QUIRK_NON_STRICT : 1;
}
