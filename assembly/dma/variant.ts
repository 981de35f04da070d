// A domain's step programs (dma/steps.ts) performed: dma-iommu's unmap and the live
// DMA → DMA-FQ switch, run step by step from the domain's program area (DmaDomain.steps,
// written by the package from its variant's definition), each load reading memory as the
// variant's code does; and the effect of one store, fence or action, which the explorer
// asks for with dma_step_run while its memory model decides what the loads saw. Kernel
// behaviour followed: __iommu_dma_unmap / queue_iova and iommu_dma_init_fq /
// set_pgtable_quirks of each variant (reference §1.2–1.3, §2.4–2.5).

import {
  DD_FQ_DOMAIN, DD_QUIRK, DD_SWITCHES, DOMAIN_DMA_FQ, buildQueue, dmaDomain, fqDomainAddr, iovaOf, stepsAddr,
} from "./domain";
import { unmapBegin, unmapClear, unmapRelease, unmapSkipSync, unmapSync } from "./iommu";
import {
  STEP_ACTION, STEP_ACT_CLEAR, STEP_ACT_FREE, STEP_ACT_QUEUE, STEP_ACT_RELEASE, STEP_ACT_SET_TYPE, STEP_ACT_SYNC,
  STEP_FENCE, STEP_LOAD, STEP_OP_SWITCH, STEP_OP_UNMAP, STEP_STORE, STEP_WORD_FQ, STEP_WORD_QUIRK, ctrlOf, dataOf,
  guardFails, outOf, regGet, regSet, stepKind, stepMarked, stepObject, stepValue,
} from "./steps";
import { fqEnabled } from "../iova/fq";

/** What a load step reads from the domain `dd` now. */
function loadWord(dd: u32, s: u32): u32 {
  const w = stepObject(s);
  if (w == STEP_WORD_FQ) return fqEnabled(iovaOf(dd)) ? 1 : 0;
  const p = dd + (w == STEP_WORD_QUIRK ? DD_QUIRK : DD_FQ_DOMAIN);
  return stepMarked(s) ? atomic.load<u32>(p) : load<u32>(p);
}

/** A store: the queue's construction (0 or -ENOMEM), the flag, or the quirk word. */
function storeWord(dd: u32, s: u32, regs: u64): i32 {
  const w = stepObject(s);
  if (w == STEP_WORD_FQ) return fqEnabled(iovaOf(dd)) ? 0 : buildQueue(dd);
  const p = dd + (w == STEP_WORD_QUIRK ? DD_QUIRK : DD_FQ_DOMAIN);
  if (stepMarked(s)) atomic.store<u32>(p, stepValue(s, regs));
  else store<u32>(p, stepValue(s, regs));
  return 0;
}

/**
 * Perform step `s` (a store, fence or action) on simulated CPU `cpu` of domain `dd` with the
 * register word `regs`: 0, or a negative result that ends the sequence — the queue could not
 * be built (-ENOMEM), or an unmap saw fq_domain set but no queue (-1, hazard 1). An STEP_ACT_CLEAR
 * needs the unmap begun (unmapBegin) on `cpu`. A load has no effect here: its value is the
 * caller's (the run reads memory, the explorer asks its model).
 */
@inline export function stepEffect(dd: u32, cpu: u32, s: u32, regs: u64): i32 {
  const kind = stepKind(s);
  if (kind == STEP_STORE) return storeWord(dd, s, regs);
  if (kind == STEP_FENCE) {
    atomic.fence(); // Wasm's fence is a full barrier: as strong as smp_mb and smp_wmb
    return 0;
  }
  if (kind != STEP_ACTION) return 0;
  const act = stepObject(s);
  const decided = regGet(regs, ctrlOf(s)) != 0;
  // A queue_iova given no register of its own reads the queue itself (not a modelled access).
  const queueSeen = dataOf(s) == 0 || regGet(regs, dataOf(s)) != 0;
  if (act == STEP_ACT_CLEAR) unmapClear(dd, cpu, decided);
  else if (act == STEP_ACT_SYNC) {
    if (decided) unmapSkipSync(dd, cpu);
    else unmapSync(dd, cpu);
  } else if (act == STEP_ACT_RELEASE) return unmapRelease(dd, cpu, decided, queueSeen);
  else if (act == STEP_ACT_QUEUE) return unmapRelease(dd, cpu, true, queueSeen);
  else if (act == STEP_ACT_FREE) return unmapRelease(dd, cpu, false, false);
  else if (act == STEP_ACT_SET_TYPE) {
    dmaDomain(dd).type = DOMAIN_DMA_FQ;
    atomic.add<u32>(dd + DD_SWITCHES, 1);
  }
  return 0;
}

/**
 * Run the domain's variant's sequence for `op` on simulated CPU `cpu`, each load reading
 * memory as that variant's code does: 0, or the negative result that ended it.
 */
export function dmaRunSteps(dd: u32, cpu: u32, op: u32): i32 {
  const seq = stepsAddr(dd, op);
  let regs: u64 = 0;
  for (let i: u32 = 0; ; i++) {
    const s = load<u32>(seq + (i << 2));
    if (s == 0) break; // every program ends with one (its last word is never written)
    if (guardFails(s, regs)) continue;
    if (stepKind(s) == STEP_LOAD) {
      regs = regSet(regs, outOf(s), loadWord(dd, s));
      continue;
    }
    const rc = stepEffect(dd, cpu, s, regs);
    if (rc < 0) return rc;
  }
  return 0;
}

/**
 * __iommu_dma_unmap on simulated CPU `cpu`: the domain's variant's sequence. Returns 0, or
 * -ESIM_NO_QUEUE when the unmap found fq_domain set but no queue (only possible in a
 * broken variant).
 */
export function dmaUnmap(dd: u32, cpu: u32, dmaAddr: u64, size: u64): i32 {
  unmapBegin(dd, cpu, dmaAddr, size);
  return dmaRunSteps(dd, cpu, STEP_OP_UNMAP);
}

/**
 * The whole DMA → DMA-FQ switch in the domain's variant (its program's switch sequence). 0 on success (also
 * when already lazy); -ENOMEM when the queue cannot be built (its first step: the domain
 * stays DMA).
 */
export function dmaSwitchToLazy(dd: u32): i32 {
  if (atomic.load<u32>(fqDomainAddr(dd)) != 0) return 0;
  return dmaRunSteps(dd, 0, STEP_OP_SWITCH);
}
