// The SMMUv3 command queue, driver side: commands are added to a batch and submitted with a
// CMD_SYNC (arm_smmu_cmdq_batch_add / _submit, reference §5.2–5.3). Each command is logged
// to the table's event ring — a run of per-granule TLBIs (no range invalidation) as one
// record with its count and step, so a 1 GiB walk flush is one record, not 262,144.
// The SMMU's consumption of the queue (IOTLB invalidation, completion timing) hooks in here.

import { EV_CMD, recordEvent } from "../events";
import { OP_CMD_SYNC, syncDw0 } from "./cmd";

/**
 * Issue `count` commands: dw1's address advancing by 2^stepShift after each. `addrLow` is
 * the low 12 bits of the address the driver asked for, which the encoding drops (kept in
 * the log so a reader sees the request as well as the command).
 */
export function cmdqIssueRun(d: u32, dw0: u64, dw1: u64, count: u64, stepShift: u32, addrLow: u64): void {
  recordEvent(d, EV_CMD, dw0, dw1, (count & 0xffffffff) | (<u64>stepShift << 32) | ((addrLow & 0xfff) << 40));
}

export function cmdqIssue(d: u32, dw0: u64, dw1: u64): void {
  cmdqIssueRun(d, dw0, dw1, 1, 0, 0);
}

/** CMD_SYNC: everything issued before it has completed when it does. */
export function cmdqSync(d: u32): void {
  cmdqIssue(d, syncDw0(), 0);
}

export { OP_CMD_SYNC };
