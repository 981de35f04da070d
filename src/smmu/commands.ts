// Decoding SMMUv3 commands (two 64-bit words, see assembly/smmu/cmd.ts) into values a
// person can read, and printing them the way the kernel-code traces do.

import { hex } from "../errors.js";
import { loadedLayout, type Layout, type LayoutNamesWith } from "../../bindings/layout.js";

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

type RangeOp = "TLBI_NH_VA" | "TLBI_NH_VAA" | "TLBI_EL2_VA" | "TLBI_S2_IPA";
type KnownOp = Exclude<SmmuCommand["op"], "UNKNOWN">;
const RANGE_OPS: readonly string[] = ["TLBI_NH_VA", "TLBI_NH_VAA", "TLBI_EL2_VA", "TLBI_S2_IPA"] satisfies RangeOp[];
/** The commands this decoder names, each with its opcode's name in the core (assembly/smmu/cmd.ts). */
export const KNOWN_OPS: readonly KnownOp[] = [
  "TLBI_NH_ALL", "TLBI_NH_ASID", "TLBI_NH_VA", "TLBI_NH_VAA", "TLBI_EL2_ALL", "TLBI_EL2_ASID", "TLBI_EL2_VA",
  "TLBI_S12_VMALL", "TLBI_S2_IPA", "TLBI_NSNH_ALL", "CMD_SYNC",
];

const field = (w: bigint, L: Layout, lo: LayoutNamesWith<"CMD">, n: LayoutNamesWith<"CMD">) =>
  Number((w >> BigInt(L[lo])) & ((1n << BigInt(L[n])) - 1n));

/**
 * An SMMUv3 command (two 64-bit words) in words, with the field layout of the core's
 * command builders (assembly/smmu/cmd.ts; the layout of the last core loaded by default).
 */
export function decodeCommand(dw0: bigint, dw1: bigint, layout?: Layout): SmmuCommand {
  const L = layout ?? loadedLayout("decodeCommand");
  const opcode = field(dw0, L, "CMD0_OP_LO", "CMD0_OP_BITS");
  const asid = field(dw0, L, "CMD0_ASID_LO", "CMD0_ASID_BITS");
  const vmid = field(dw0, L, "CMD0_VMID_LO", "CMD0_VMID_BITS");
  const op = KNOWN_OPS.find((o) => L[`OP_${o}`] === opcode);
  if (op === undefined) return { op: "UNKNOWN", opcode };
  if (RANGE_OPS.includes(op)) {
    const addrBits = op === "TLBI_S2_IPA" ? L.CMD1_IPA_BITS : L.CMD1_VA_BITS;
    return {
      op: op as RangeOp, asid, vmid, leaf: field(dw1, L, "CMD1_LEAF_LO", "CMD1_LEAF_BITS") === 1,
      addr: Number((dw1 >> BigInt(L.CMD1_ADDR_LO)) & ((1n << BigInt(addrBits)) - 1n)) * 2 ** L.CMD1_ADDR_LO,
      tg: field(dw1, L, "CMD1_TG_LO", "CMD1_TG_BITS"), ttl: field(dw1, L, "CMD1_TTL_LO", "CMD1_TTL_BITS"),
      scale: field(dw0, L, "CMD0_SCALE_LO", "CMD0_SCALE_BITS"), num: field(dw0, L, "CMD0_NUM_LO", "CMD0_NUM_BITS"),
    };
  }
  if (op === "TLBI_NH_ALL" || op === "TLBI_S12_VMALL") return { op, vmid };
  if (op === "TLBI_NH_ASID" || op === "TLBI_EL2_ASID") return { op, asid, vmid };
  return { op: op as "TLBI_EL2_ALL" | "TLBI_NSNH_ALL" | "CMD_SYNC" };
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
