// The SMMUv3 command queue, driver side: commands are added to a batch and submitted with a
// CMD_SYNC (arm_smmu_cmdq_batch_add / _submit, reference §5.2–5.3). Each command is logged
// to the table's event ring — a run of per-granule TLBIs (no range invalidation) as one
// record with its count and step, so a 1 GiB walk flush is one record, not 262,144.
// The SMMU's consumption of the queue (IOTLB invalidation, completion timing) hooks in here.

import { EV_CMD, cmdRunWord, recordEvent } from "../events";
import { CMD0_OP_BITS, CMD0_OP_LO, OP_CMD_SYNC, cmdField, syncDw0 } from "./cmd";
import { SmmuDomain } from "./domain";
import { smmuConsume } from "./consume";
import { COST_SYNC, COST_TLBI, SmmuInstance, cost, smmuLive } from "./smmu";
import { slotBase } from "../sync";
import { TS_CPU_NS } from "../memmap";

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
  // The issuing CPU pays for writing the commands, and waits for a sync to complete.
  const s = changetype<SmmuInstance>(a);
  const ns = cmdField(dw0, CMD0_OP_LO, CMD0_OP_BITS) == OP_CMD_SYNC ? cost(s, COST_SYNC) : count * cost(s, COST_TLBI);
  const acc = slotBase() + TS_CPU_NS;
  store<u64>(acc, load<u64>(acc) + ns);
}

export function cmdqIssue(d: u32, sd: SmmuDomain, dw0: u64, dw1: u64): void {
  cmdqIssueRun(d, sd, dw0, dw1, 1, 0, 0);
}

/** CMD_SYNC: everything issued before it has completed when it does. */
export function cmdqSync(d: u32, sd: SmmuDomain): void {
  cmdqIssue(d, sd, syncDw0(), 0);
}

export { OP_CMD_SYNC };
