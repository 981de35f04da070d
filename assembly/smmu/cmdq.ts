// The SMMUv3 command queue, driver side: commands are added to a batch and submitted with a
// CMD_SYNC (arm_smmu_cmdq_batch_add / _submit, reference §5.2–5.3). Each command is logged
// to the table's event ring — a run of per-granule TLBIs (no range invalidation) as one
// record with its count and step, so a 1 GiB walk flush is one record, not 262,144.
// The SMMU consumes each command as it is issued (assembly/smmu/consume.ts).
//
// Modelled time follows the lock-free queue of arm_smmu_cmdq_issue_cmdlist (Will Deacon,
// 2019; the same algorithm in 5.15, 6.12 and 7.1, so no kernel behaviour selects it):
//   batch     a CPU gathers up to CMDQ_BATCH_ENTRIES (64) commands; adding one more first
//             submits those 64 without a sync; submitting the rest adds the CMD_SYNC;
//   claim     a submission claims queue space by compare-and-swap on prod. The cache line
//             holding prod serves one claim at a time (COST_CMDQ_CLAIM); every other CPU in
//             the queue — spinning on the CAS, or polling for its CMD_SYNC's completion —
//             keeps the queue's shared lines moving and makes the claim slower by
//             COST_CMDQ_SPIN, up to COST_CMDQ_SPIN_MAX of them. They are counted from the
//             backlogs: claims queued on prod, submissions queued at the SMMU;
//   owner     the first claim after the previous owner closed its gathering becomes the
//             owner: it waits for that owner to finish, closes its own gathering (every claim
//             made meanwhile joins its batch) and writes prod by MMIO (COST_MMIO);
//   consume   the SMMU consumes published commands in order, COST_TLBI each, and completes
//             a CMD_SYNC in sync − claim − MMIO − wake: a CPU that issued one waits until
//             everything before it is consumed, then COST_SYNC_WAKE more to notice (polling
//             the queue or its MSI-written word, or waking from WFE) — latency that occupies
//             nothing. So an idle queue's CMD_SYNC costs COST_SYNC in all.
// The CPU's time goes to TIME_CMDQ (claim and, as owner, the wait and MMIO) and TIME_SYNC.
// Outside modelled contention (cpu-time.ts timedMode) each step costs its uncontended price,
// so one CPU alone gets the same figures in both.

import { EV_CMD, cmdRunWord, recordEvent } from "../events";
import { CMD0_OP_BITS, CMD0_OP_LO, OP_CMD_SYNC, cmdField, syncDw0 } from "./cmd";
import { SmmuDomain } from "./domain";
import { smmuConsume } from "./consume";
import {
  COST_CMDQ_CLAIM, COST_CMDQ_SPIN, COST_CMDQ_SPIN_MAX, COST_MMIO, COST_SYNC, COST_SYNC_WAKE, COST_TLBI, SmmuInstance, cost,
  smmuLive,
} from "./smmu";
import { lockAcquire, lockRelease, slotBase } from "../sync";
import { TIME_CMDQ, TIME_SYNC, cpuNow, cpuSpend, cpuWaitUntil, timedMode } from "../cpu-time";
import { TS_BATCH_CMDS, TS_BATCH_NS } from "../memmap";

/** CMDQ_BATCH_ENTRIES: commands a batch holds (BITS_PER_LONG). */
export const CMDQ_BATCH_ENTRIES: u64 = 64;

/**
 * Issue `count` commands: dw1's address advancing by 2^stepShift after each. `addrLow` is
 * the low 12 bits of the address the driver asked for, which the encoding drops (kept in
 * the log so a reader sees the request as well as the command).
 */
export function cmdqIssueRun(d: u32, sd: SmmuDomain, dw0: u64, dw1: u64, count: u64, stepShift: u32,
                             addrLow: u64): void {
  recordEvent(d, EV_CMD, dw0, dw1, cmdRunWord(count, stepShift, addrLow));
  const smmu = sd.smmu;
  if (smmu == 0) return;
  const a = smmuLive(smmu - 1);
  if (a == 0) return;
  smmuConsume(a, dw0, dw1, count, stepShift);
  const s = changetype<SmmuInstance>(a);
  if (cmdField(dw0, CMD0_OP_LO, CMD0_OP_BITS) == OP_CMD_SYNC) submit(s, true);
  else batchAdd(s, count);
}

export function cmdqIssue(d: u32, sd: SmmuDomain, dw0: u64, dw1: u64): void {
  cmdqIssueRun(d, sd, dw0, dw1, 1, 0, 0);
}

/** CMD_SYNC: everything issued before it has completed when it does. */
export function cmdqSync(d: u32, sd: SmmuDomain): void {
  cmdqIssue(d, sd, syncDw0(), 0);
}

/** Add `count` commands to this CPU's batch, submitting each full batch before it overflows. */
function batchAdd(s: SmmuInstance, count: u64): void {
  const t = slotBase();
  const tlbi = cost(s, COST_TLBI);
  let pending = load<u64>(t + TS_BATCH_CMDS) + count;
  store<u64>(t + TS_BATCH_NS, load<u64>(t + TS_BATCH_NS) + count * tlbi);
  while (pending > CMDQ_BATCH_ENTRIES) {
    store<u64>(t + TS_BATCH_CMDS, CMDQ_BATCH_ENTRIES);
    submit(s, false);
    pending -= CMDQ_BATCH_ENTRIES;
  }
  store<u64>(t + TS_BATCH_CMDS, pending);
}

/** The SMMU's part of a CMD_SYNC: completing it once the commands before it are consumed. */
@inline function syncCompleteNs(s: SmmuInstance): u64 {
  const sync = cost(s, COST_SYNC);
  const cpu = cost(s, COST_CMDQ_CLAIM) + cost(s, COST_MMIO) + cost(s, COST_SYNC_WAKE);
  return sync > cpu ? sync - cpu : 0;
}

/**
 * Submit this CPU's batch (TS_BATCH_CMDS commands, the SMMU taking TS_BATCH_NS to consume
 * them), with a CMD_SYNC when `sync`, and charge the CPU what it costs.
 */
function submit(s: SmmuInstance, sync: bool): void {
  const t = slotBase();
  const consumeNs = load<u64>(t + TS_BATCH_NS) + (sync ? syncCompleteNs(s) : 0);
  store<u64>(t + TS_BATCH_CMDS, 0);
  if (!timedMode()) {
    cpuSpend(TIME_CMDQ, cost(s, COST_CMDQ_CLAIM) + cost(s, COST_MMIO));
    // Uncontended, the SMMU consumes the batch while the CPU goes on: a sync waits for all of it.
    if (sync) {
      cpuSpend(TIME_SYNC, consumeNs + cost(s, COST_SYNC_WAKE));
      store<u64>(t + TS_BATCH_NS, 0);
    }
    return;
  }
  store<u64>(t + TS_BATCH_NS, 0);
  submitTimed(s, sync, consumeNs);
}

function submitTimed(s: SmmuInstance, sync: bool, consumeNs: u64): void {
  const lock = changetype<u32>(s) + offsetof<SmmuInstance>("cmdqLock");
  lockAcquire(lock);
  const now = cpuNow();
  const claimed = claimSpace(s, now);
  // Owner or not: a claim before the latest owner closed its gathering joins that batch.
  const owner = claimed >= s.gatherClosedAt;
  if (owner) {
    const closed = claimed > s.publishAt ? claimed : s.publishAt; // after the previous owner's MMIO
    s.gatherClosedAt = closed;
    s.publishAt = closed + cost(s, COST_MMIO);
  }
  const published = s.publishAt;
  const start = published > s.consumedAt ? published : s.consumedAt;
  const done = start + consumeNs;
  s.consumedAt = done;
  s.consumeHold = consumeNs;
  lockRelease(lock);
  cpuWaitUntil(TIME_CMDQ, owner ? published : claimed);
  if (sync) cpuWaitUntil(TIME_SYNC, done + cost(s, COST_SYNC_WAKE));
}

/** How many of `hold`-long bookings fit between `now` and `until`: a backlog's length. */
@inline function backlog(until: u64, now: u64, hold: u64): u64 {
  return until > now && hold > 0 ? (until - now) / hold : 0;
}

/** The compare-and-swap loop on prod, from `now`: when this CPU's claim succeeds. */
function claimSpace(s: SmmuInstance, now: u64): u64 {
  const free = s.prodFreeAt;
  const spinning = backlog(free, now, s.prodHold);
  const polling = backlog(s.consumedAt, now, s.consumeHold);
  let others = spinning > polling ? spinning : polling;
  const most = cost(s, COST_CMDQ_SPIN_MAX);
  if (others > most) others = most;
  const hold = cost(s, COST_CMDQ_CLAIM) + others * cost(s, COST_CMDQ_SPIN);
  const start = free > now ? free : now;
  s.prodFreeAt = start + hold;
  s.prodHold = hold;
  return start + hold;
}

export { OP_CMD_SYNC };
