// Decoding SMMUv3 commands (two 64-bit words, see assembly/smmu/cmd.ts) into values a
// person can read, and printing them the way the kernel-code traces do.

import { hex } from "../errors.js";

export type SmmuCommand =
  | { op: "TLBI_NH_VA" | "TLBI_NH_VAA" | "TLBI_EL2_VA" | "TLBI_S2_IPA"; asid: number; vmid: number; leaf: boolean;
      addr: number; tg: number; ttl: number; scale: number; num: number }
  | { op: "TLBI_NH_ASID" | "TLBI_EL2_ASID"; asid: number; vmid: number }
  | { op: "TLBI_S12_VMALL" | "TLBI_NH_ALL"; vmid: number }
  | { op: "TLBI_EL2_ALL" | "TLBI_NSNH_ALL" | "CMD_SYNC" }
  | { op: "UNKNOWN"; opcode: number };

/** A command event: `count` commands, the address advancing by `step` after each. */
export interface CommandEvent {
  kind: "cmd";
  command: SmmuCommand;
  count: number;
  step: number;
  /** The address the driver asked for; the command carries it without bits [11:0]. */
  requestAddr?: number;
}

const bits = (v: bigint, lo: number, n: number) => Number((v >> BigInt(lo)) & ((1n << BigInt(n)) - 1n));

export function decodeCommand(dw0: bigint, dw1: bigint): SmmuCommand {
  const opcode = bits(dw0, 0, 8);
  const asid = bits(dw0, 48, 16);
  const vmid = bits(dw0, 32, 16);
  const range = (op: "TLBI_NH_VA" | "TLBI_NH_VAA" | "TLBI_EL2_VA" | "TLBI_S2_IPA"): SmmuCommand => ({
    op, asid, vmid, leaf: (dw1 & 1n) === 1n,
    addr: Number(dw1 & (op === "TLBI_S2_IPA" ? 0x000f_ffff_ffff_f000n : 0xffff_ffff_ffff_f000n)),
    tg: bits(dw1, 10, 2), ttl: bits(dw1, 8, 2), scale: bits(dw0, 20, 5), num: bits(dw0, 12, 5),
  });
  switch (opcode) {
    case 0x10: return { op: "TLBI_NH_ALL", vmid };
    case 0x11: return { op: "TLBI_NH_ASID", asid, vmid };
    case 0x12: return range("TLBI_NH_VA");
    case 0x13: return range("TLBI_NH_VAA");
    case 0x20: return { op: "TLBI_EL2_ALL" };
    case 0x21: return { op: "TLBI_EL2_ASID", asid, vmid };
    case 0x22: return range("TLBI_EL2_VA");
    case 0x28: return { op: "TLBI_S12_VMALL", vmid };
    case 0x2a: return range("TLBI_S2_IPA");
    case 0x30: return { op: "TLBI_NSNH_ALL" };
    case 0x46: return { op: "CMD_SYNC" };
    default: return { op: "UNKNOWN", opcode };
  }
}

/**
 * The trace's lines for a command event. With `compact`, a run of per-granule TLBIs is one
 * line ("addr=A xN step=S"); without, one line per command.
 */
export function formatCommandEvent(e: CommandEvent, compact: boolean): string[] {
  const c = e.command;
  if (c.op !== "TLBI_NH_VA" && c.op !== "TLBI_NH_VAA" && c.op !== "TLBI_EL2_VA" && c.op !== "TLBI_S2_IPA") {
    return [`CMD ${c.op === "UNKNOWN" ? `opcode=${hex(c.opcode)}` : c.op}`];
  }
  const who = c.op === "TLBI_S2_IPA" || c.op === "TLBI_NH_VAA" ? `vmid=${c.vmid}` : `asid=${c.asid}`;
  // The kernel-code traces print the driver's request, before encoding drops bits [11:0].
  const addr = e.requestAddr ?? c.addr;
  const head = `CMD ${c.op} ${who} leaf=${c.leaf ? 1 : 0}`;
  // A range command (RIL) always has a non-zero TG; per-granule commands leave it 0.
  const range = c.tg !== 0 ? ` tg=${c.tg} ttl=${c.ttl} scale=${c.scale} num=${c.num}(+1)` : "";
  if (e.count === 1) return [`${head} addr=${hex(addr)}${range}`];
  if (compact) return [`${head} addr=${hex(addr)}${range} x${e.count} step=${hex(e.step)}`];
  const out: string[] = [];
  for (let i = 0; i < e.count; i++) out.push(`${head} addr=${hex(addr + i * e.step)}${range}`);
  return out;
}
