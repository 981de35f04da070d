// Decoding SMMUv3 commands (two 64-bit words, see assembly/smmu/cmd.ts) into values a
// person can read, and printing them the way the kernel-code traces do.

import { ArgumentError, hex } from "../errors.js";
import { checkBool, checkInt } from "../validate.js";
import { loadedLayout, type Layout, type LayoutName, type LayoutNamesWith } from "../../bindings/layout.js";

/**
 * Every SMMUv3 command the simulator knows, by the name the SMMUv3 architecture gives it,
 * each with its opcode's constant in the core (assembly/smmu/cmd.ts, where the names are
 * the Linux driver's CMDQ_OP_* suffixes). The order of this table is opcode order, and it
 * is the one order in which any list of command kinds is shown — the CLI, the reports, the
 * live page (a test checks the order against the core's opcodes).
 */
const CORE_OPCODE = {
  CMD_CFGI_STE: "OP_CFGI_STE", CMD_CFGI_ALL: "OP_CFGI_ALL", CMD_CFGI_CD: "OP_CFGI_CD", CMD_CFGI_CD_ALL: "OP_CFGI_CD_ALL",
  CMD_TLBI_NH_ALL: "OP_TLBI_NH_ALL", CMD_TLBI_NH_ASID: "OP_TLBI_NH_ASID", CMD_TLBI_NH_VA: "OP_TLBI_NH_VA",
  CMD_TLBI_NH_VAA: "OP_TLBI_NH_VAA", CMD_TLBI_EL2_ALL: "OP_TLBI_EL2_ALL", CMD_TLBI_EL2_ASID: "OP_TLBI_EL2_ASID",
  CMD_TLBI_EL2_VA: "OP_TLBI_EL2_VA", CMD_TLBI_S12_VMALL: "OP_TLBI_S12_VMALL", CMD_TLBI_S2_IPA: "OP_TLBI_S2_IPA",
  CMD_TLBI_NSNH_ALL: "OP_TLBI_NSNH_ALL", CMD_SYNC: "OP_CMD_SYNC",
} as const satisfies Record<string, LayoutName>;

/** A kind of SMMUv3 command, by its architectural name ("CMD_TLBI_NH_ASID"). */
export type CommandKind = keyof typeof CORE_OPCODE;

/** The command kinds in opcode order: the order every list of them follows. */
export const COMMAND_KINDS = Object.keys(CORE_OPCODE) as readonly CommandKind[];

/** A command kind's opcode constant in the core ("OP_TLBI_NH_ASID"). */
export function coreOpcodeName(kind: CommandKind): (typeof CORE_OPCODE)[CommandKind] {
  return CORE_OPCODE[kind];
}

/**
 * The command kind a name stands for: the architectural name, or the Linux driver's
 * CMDQ_OP_* suffix ("TLBI_NH_ASID") that iommu-sim 0.1 used in its API — still accepted
 * so that code written for it keeps working. Undefined for anything else.
 */
export function commandKindOf(name: unknown): CommandKind | undefined {
  if (typeof name !== "string") return undefined;
  if (Object.hasOwn(CORE_OPCODE, name)) return name as CommandKind;
  const kind = `CMD_${name}`;
  return name !== "SYNC" && Object.hasOwn(CORE_OPCODE, kind) ? (kind as CommandKind) : undefined;
}

/**
 * How the kernel-code traces (shared/conformance) write a command kind after "CMD": the
 * driver's CMDQ_OP_* suffix ("TLBI_NH_VA", "CMD_SYNC"). Kept so replayed traces compare.
 */
function traceName(kind: CommandKind): string {
  return CORE_OPCODE[kind].slice("OP_".length);
}

type RangeOp = "CMD_TLBI_NH_VA" | "CMD_TLBI_NH_VAA" | "CMD_TLBI_EL2_VA" | "CMD_TLBI_S2_IPA";
const RANGE_OPS: readonly CommandKind[] = ["CMD_TLBI_NH_VA", "CMD_TLBI_NH_VAA", "CMD_TLBI_EL2_VA", "CMD_TLBI_S2_IPA"] satisfies RangeOp[];

/** A decoded SMMUv3 command; `op` is its architectural name. */
export type SmmuCommand =
  | { op: RangeOp; asid: number; vmid: number; leaf: boolean; addr: number; tg: number; ttl: number; scale: number; num: number }
  | { op: "CMD_TLBI_NH_ASID" | "CMD_TLBI_EL2_ASID"; asid: number; vmid: number }
  | { op: "CMD_TLBI_S12_VMALL" | "CMD_TLBI_NH_ALL"; vmid: number }
  | { op: "CMD_TLBI_EL2_ALL" | "CMD_TLBI_NSNH_ALL" | "CMD_SYNC" | "CMD_CFGI_STE" | "CMD_CFGI_ALL" | "CMD_CFGI_CD" | "CMD_CFGI_CD_ALL" }
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

/** A 64-bit command word: a bigint in [0, 2^64). */
function checkWord(name: string, w: unknown, context: string): void {
  if (typeof w !== "bigint" || w < 0n || w >= 1n << 64n) throw new ArgumentError(name, w, "must be a 64-bit word: a bigint in [0, 2^64)", context);
}

/** What formatCommandEvent reads of an event: its command (with op), count and step. */
function checkCommandEvent(e: unknown): asserts e is CommandEvent {
  const ctx = "formatCommandEvent";
  if (typeof e !== "object" || e === null) throw new ArgumentError("event", e, "must be a command event { kind: 'cmd', command, count, step }", ctx);
  const ev = e as Partial<CommandEvent>;
  if (typeof ev.command !== "object" || ev.command === null || typeof ev.command.op !== "string") {
    throw new ArgumentError("event.command", ev.command, "must be a decoded command { op, … } (decodeCommand's)", ctx);
  }
  checkInt("event.count", ev.count, 1, Number.MAX_SAFE_INTEGER, ctx);
  checkInt("event.step", ev.step, 0, Number.MAX_SAFE_INTEGER, ctx);
}

const field = (w: bigint, L: Layout, lo: LayoutNamesWith<"CMD">, n: LayoutNamesWith<"CMD">) =>
  Number((w >> BigInt(L[lo])) & ((1n << BigInt(L[n])) - 1n));

/**
 * An SMMUv3 command (two 64-bit words) in words, with the field layout of the core's
 * command builders (assembly/smmu/cmd.ts; the layout of the last core loaded by default).
 */
export function decodeCommand(dw0: bigint, dw1: bigint, layout?: Layout): SmmuCommand {
  checkWord("dw0", dw0, "decodeCommand");
  checkWord("dw1", dw1, "decodeCommand");
  const L = layout ?? loadedLayout("decodeCommand");
  const opcode = field(dw0, L, "CMD0_OP_LO", "CMD0_OP_BITS");
  const asid = field(dw0, L, "CMD0_ASID_LO", "CMD0_ASID_BITS");
  const vmid = field(dw0, L, "CMD0_VMID_LO", "CMD0_VMID_BITS");
  const op = COMMAND_KINDS.find((k) => L[CORE_OPCODE[k]] === opcode);
  if (op === undefined) return { op: "UNKNOWN", opcode };
  if (RANGE_OPS.includes(op)) {
    const addrBits = op === "CMD_TLBI_S2_IPA" ? L.CMD1_IPA_BITS : L.CMD1_VA_BITS;
    return {
      op: op as RangeOp, asid, vmid, leaf: field(dw1, L, "CMD1_LEAF_LO", "CMD1_LEAF_BITS") === 1,
      addr: Number((dw1 >> BigInt(L.CMD1_ADDR_LO)) & ((1n << BigInt(addrBits)) - 1n)) * 2 ** L.CMD1_ADDR_LO,
      tg: field(dw1, L, "CMD1_TG_LO", "CMD1_TG_BITS"), ttl: field(dw1, L, "CMD1_TTL_LO", "CMD1_TTL_BITS"),
      scale: field(dw0, L, "CMD0_SCALE_LO", "CMD0_SCALE_BITS"), num: field(dw0, L, "CMD0_NUM_LO", "CMD0_NUM_BITS"),
    };
  }
  if (op === "CMD_TLBI_NH_ALL" || op === "CMD_TLBI_S12_VMALL") return { op, vmid };
  if (op === "CMD_TLBI_NH_ASID" || op === "CMD_TLBI_EL2_ASID") return { op, asid, vmid };
  return { op } as SmmuCommand;
}

/**
 * The trace's lines for a command event. With `compact`, a run of per-granule TLBIs is one
 * line ("addr=A xN step=S"); without, one line per command.
 */
export function formatCommandEvent(e: CommandEvent, compact: boolean): string[] {
  checkCommandEvent(e);
  checkBool("compact", compact, false, "formatCommandEvent");
  const c = e.command;
  if (!("leaf" in c)) return [`CMD ${c.op === "UNKNOWN" ? `opcode=${hex(c.opcode)}` : traceName(c.op)}`];
  const who = c.op === "CMD_TLBI_S2_IPA" || c.op === "CMD_TLBI_NH_VAA" ? `vmid=${c.vmid}` : `asid=${c.asid}`;
  // The kernel-code traces print the driver's request, before encoding drops bits [11:0].
  const addr = e.requestAddr ?? c.addr;
  const head = `CMD ${traceName(c.op)} ${who} leaf=${c.leaf ? 1 : 0}`;
  // A range command (RIL) always has a non-zero TG; per-granule commands leave it 0.
  const range = c.tg !== 0 ? ` tg=${c.tg} ttl=${c.ttl} scale=${c.scale} num=${c.num}(+1)` : "";
  if (e.count === 1) return [`${head} addr=${hex(addr)}${range}`];
  if (compact) return [`${head} addr=${hex(addr)}${range} x${e.count} step=${hex(e.step)}`];
  const out: string[] = [];
  for (let i = 0; i < e.count; i++) out.push(`${head} addr=${hex(addr + i * e.step)}${range}`);
  return out;
}
