// The arm-smmu.c driver's TLB maintenance (SMMU v1/v2, MMU-500): io-pgtable's flush ops
// write TLB-maintenance registers of the domain's context bank as the table changes, and
// .iotlb_sync is the sync those writes wait for (bug-corpus.md #1: the v2 driver never fills
// the gather, so a core that skips .iotlb_sync for an empty gather leaves strict unmaps
// unsynchronised). What each op writes (the reference is silent; this follows the driver's
// arm_smmu_s1_tlb_ops / _s2_tlb_ops_v2 / _s2_tlb_ops_v1 and the architecture):
//
//   tlb_add_page    stage 1: TLBIVAL per granule (VA | ASID << 48), no sync, gather untouched
//                   stage 2: TLBIIPAS2L per granule; SMMUv1: TLBIVMID (it has no TLBIIPAS2)
//   tlb_flush_walk  stage 1: TLBIVA per granule, then the context's sync
//                   stage 2: TLBIIPAS2 per granule, then the context's sync; SMMUv1: flush_all
//   tlb_flush_all   stage 1: TLBIASID, then the context's sync
//                   stage 2: TLBIVMID (global), then the global sync
//   iotlb_sync      the context's TLBSYNC — or the global sTLBGSYNC for stage 2 on an
//                   SMMUv1, whose stage-2 banks have no TLBSYNC
//
// A sync (__arm_smmu_tlb_sync) writes the sync register and polls the status register:
// TLB_SPIN_COUNT (10) reads, then udelay(1 µs), doubling each round, giving up after
// TLB_LOOP_TIMEOUT (1 s) — the driver's constants, recalled from arm-smmu.h, not the
// reference. In modelled time the sync completes COST_TLB_SYNC after its write, plus the
// SMMU's COST_TLBI for each TLBI written since the last sync; each read costs
// COST_STATUS_POLL and each register write COST_REG_WRITE. Uncontended only: the register
// writes of several CPUs are not booked against each other (liveness of concurrent syncs,
// bug-corpus.md #17, is not modelled).

import { EV_REG, cmdRunWord, recordEvent } from "../../events";
import { SmmuDomain, flushGenAddr, flushStartedAddr } from "../domain";
import {
  COST_REG_WRITE, COST_STATUS_POLL, COST_TLB_SYNC, COST_TLBI, SMMU_MODEL_V1, SMMU_MODEL_V3, SmmuInstance, cost, smmuLive,
} from "../smmu";
import {
  V2_ASID_LO, V2R_STLBGSTATUS, V2R_STLBGSYNC, V2R_TLBIASID, V2R_TLBIIPAS2, V2R_TLBIIPAS2L, V2R_TLBIVA, V2R_TLBIVAL,
  V2R_TLBIVMID, V2R_TLBSTATUS, V2R_TLBSYNC, v2RegWord,
} from "./regs";
import { v2CountPolls, v2RegWrite } from "./bank";
import { TIME_CMDQ, TIME_SYNC, cpuSpend } from "../../cpu-time";
import { slotBase } from "../../sync";
import { TS_BATCH_NS } from "../../memmap";

/** Status reads before the first back-off (TLB_SPIN_COUNT). */
const TLB_SPIN_COUNT: u32 = 10;
/** The back-off gives up once its delay reaches this many µs (TLB_LOOP_TIMEOUT). */
const TLB_LOOP_TIMEOUT_US: u64 = 1000000;
/** What the driver writes to a sync register (QCOM_DUMMY_VAL: any value does). */
const SYNC_VALUE: u64 = 0xffffffff;

/** Whether SMMU domain `sd` is served by the arm-smmu (v1/v2) driver: attached to such an SMMU, with a bank. */
@inline export function armSmmuV2(sd: SmmuDomain): bool {
  return sd.model != SMMU_MODEL_V3 && sd.cbndx != 0 && sd.smmu != 0;
}

/** The SMMU instance the domain's registers are on (0 if it is gone). */
@inline function smmuOf(sd: SmmuDomain): u32 {
  return smmuLive(sd.smmu - 1);
}

@inline function bank(sd: SmmuDomain): u32 {
  return sd.cbndx - 1;
}

/**
 * `count` writes of register `kind` of the domain's bank (or a global one), the value
 * advancing by 2^stepShift after each: logged as one record, charged to this CPU, and
 * received by the SMMU.
 */
function regWrite(d: u32, sd: SmmuDomain, kind: u32, value: u64, count: u64, stepShift: u32): void {
  recordEvent(d, EV_REG, v2RegWord(kind, bank(sd)), value, cmdRunWord(count, stepShift, 0));
  const a = smmuOf(sd);
  if (a == 0) return;
  const s = changetype<SmmuInstance>(a);
  cpuSpend(TIME_CMDQ, count * cost(s, COST_REG_WRITE));
  // The SMMU's work on them: the next sync completes only after it.
  const t = slotBase();
  store<u64>(t + TS_BATCH_NS, load<u64>(t + TS_BATCH_NS) + count * cost(s, COST_TLBI));
  v2RegWrite(s, kind, bank(sd), value, count, stepShift);
}

/**
 * __arm_smmu_tlb_sync: write the sync register (`global`: sTLBGSYNC, else the bank's
 * TLBSYNC), then poll its status until the sync completed, in modelled time.
 */
function tlbSync(d: u32, sd: SmmuDomain, global: bool): void {
  const syncKind = global ? V2R_STLBGSYNC : V2R_TLBSYNC;
  const statusKind = global ? V2R_STLBGSTATUS : V2R_TLBSTATUS;
  recordEvent(d, EV_REG, v2RegWord(syncKind, bank(sd)), SYNC_VALUE, cmdRunWord(1, 0, 0));
  const a = smmuOf(sd);
  if (a == 0) return;
  const s = changetype<SmmuInstance>(a);
  const t = slotBase();
  const busy = load<u64>(t + TS_BATCH_NS) + cost(s, COST_TLB_SYNC);
  store<u64>(t + TS_BATCH_NS, 0);
  v2RegWrite(s, syncKind, bank(sd), SYNC_VALUE, 1, 0);
  const polls = pollUntilIdle(s, busy);
  v2CountPolls(s, statusKind, polls);
  recordEvent(d, EV_REG, v2RegWord(statusKind, bank(sd)), 0, cmdRunWord(polls, 0, 0));
}

/**
 * The driver's polling loop against a sync that completes `busy` ns after its write: the
 * status reads it makes (each COST_STATUS_POLL, with the back-off delays between rounds),
 * charged to this CPU with the sync's own write.
 */
function pollUntilIdle(s: SmmuInstance, busy: u64): u64 {
  const poll = cost(s, COST_STATUS_POLL);
  let t: u64 = 0;
  let polls: u64 = 0;
  let delayUs: u64 = 1;
  for (;;) {
    for (let i: u32 = 0; i < TLB_SPIN_COUNT; i++) {
      t += poll;
      polls++;
      if (t >= busy) {
        cpuSpend(TIME_SYNC, cost(s, COST_REG_WRITE) + t);
        return polls;
      }
    }
    if (delayUs >= TLB_LOOP_TIMEOUT_US) break; // "TLB sync timed out -- SMMU may be deadlocked"
    t += delayUs * 1000;
    delayUs <<= 1;
  }
  cpuSpend(TIME_SYNC, cost(s, COST_REG_WRITE) + t);
  return polls;
}

/** The context's sync, or the global one where the bank has none (stage 2 on an SMMUv1). */
function syncDomain(d: u32, sd: SmmuDomain): void {
  tlbSync(d, sd, sd.stage == 2 && sd.model == SMMU_MODEL_V1);
}

/**
 * arm_smmu_tlb_inv_range_s1 / _s2: one write of `kind` per granule of [iova, iova + size),
 * the value the page number (with the ASID at stage 1) advancing by one granule each.
 */
function invRange(d: u32, sd: SmmuDomain, kind: u32, iova: u64, size: u64, granule: u64): void {
  const count = size > granule ? size / granule : 1;
  let value = iova >> 12;
  if (sd.stage == 1) value |= <u64>sd.asid << V2_ASID_LO;
  regWrite(d, sd, kind, value, count, <u32>(ctz(granule) - 12));
}

/** tlb_add_page: invalidate one leaf now, without waiting and without the gather. */
export function v2TlbAddPage(d: u32, sd: SmmuDomain, iova: u64, granule: u64): void {
  if (sd.stage == 1) invRange(d, sd, V2R_TLBIVAL, iova, granule, granule);
  else if (sd.model == SMMU_MODEL_V1) regWrite(d, sd, V2R_TLBIVMID, <u64>sd.vmid, 1, 0);
  else invRange(d, sd, V2R_TLBIIPAS2L, iova, granule, granule);
}

/** tlb_flush_walk: invalidate every level of the range, and wait. */
export function v2TlbFlushWalk(d: u32, sd: SmmuDomain, iova: u64, size: u64, granule: u64): void {
  if (sd.stage == 2 && sd.model == SMMU_MODEL_V1) {
    v2TlbFlushAll(d, sd);
    return;
  }
  invRange(d, sd, sd.stage == 1 ? V2R_TLBIVA : V2R_TLBIIPAS2, iova, size, granule);
  tlbSync(d, sd, false);
}

/** tlb_flush_all (and flush_iotlb_all): the whole ASID or VMID, and wait. */
export function v2TlbFlushAll(d: u32, sd: SmmuDomain): void {
  // Begun before its TLBI exists: a lazy unmap that reads this later is covered by it.
  atomic.add<u32>(flushStartedAddr(sd), 1);
  if (sd.stage == 1) {
    regWrite(d, sd, V2R_TLBIASID, <u64>sd.asid, 1, 0);
    tlbSync(d, sd, false);
  } else {
    regWrite(d, sd, V2R_TLBIVMID, <u64>sd.vmid, 1, 0);
    tlbSync(d, sd, true);
  }
  // Every translation of the domain made before this point is gone (the oracle's lazy window closes).
  atomic.add<u32>(flushGenAddr(sd), 1);
}

/** .iotlb_sync: wait for the TLBIs written so far; the gather is not looked at. */
export function v2IotlbSync(d: u32, sd: SmmuDomain): void {
  syncDomain(d, sd);
}
