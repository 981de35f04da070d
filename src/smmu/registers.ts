// The TLB-maintenance registers of an Arm SMMU v1/v2 (MMU-500) by name, and printing the
// writes the arm-smmu.c driver makes (assembly/smmu/v2/regs.ts defines the kinds, their
// order and the architecture's offsets; this maps names onto them and reads their codes
// from the module, so the two sides cannot drift).

import { ArgumentError, hex } from "../errors.js";
import { checkInt, checkOneOf } from "../validate.js";
import { loadedLayout, type Layout, type LayoutName } from "../../bindings/layout.js";

/**
 * Every SMMU v1/v2 register kind the model implements, by the architecture's name (without
 * the SMMU_CBn_ / SMMU_ prefix), each with its constant in the core. The table's order is
 * the core's kind order (V2R_*: a test checks it), and the order every list of register
 * kinds follows — the summary, the reports, the live page.
 */
const CORE_REGISTER = {
  TLBIVA: "V2R_TLBIVA", TLBIVAA: "V2R_TLBIVAA", TLBIASID: "V2R_TLBIASID", TLBIALL: "V2R_TLBIALL",
  TLBIVAL: "V2R_TLBIVAL", TLBIVAAL: "V2R_TLBIVAAL", TLBIIPAS2: "V2R_TLBIIPAS2", TLBIIPAS2L: "V2R_TLBIIPAS2L",
  TLBSYNC: "V2R_TLBSYNC", TLBSTATUS: "V2R_TLBSTATUS", TLBIVMID: "V2R_TLBIVMID", TLBIALLNSNH: "V2R_TLBIALLNSNH",
  sTLBGSYNC: "V2R_STLBGSYNC", sTLBGSTATUS: "V2R_STLBGSTATUS",
} as const satisfies Record<string, LayoutName>;

/** An SMMU v1/v2 register kind, by its architectural name ("TLBIVAL", "sTLBGSYNC"). */
export type RegisterKind = keyof typeof CORE_REGISTER;

/** The register kinds in the core's order: the order every list of them follows. */
export const REGISTER_KINDS = Object.keys(CORE_REGISTER) as readonly RegisterKind[];

/** The registers that are read (polled for a sync's completion), not written. */
export const STATUS_REGISTERS: readonly RegisterKind[] = ["TLBSTATUS", "sTLBGSTATUS"];

/** The registers of the global (GR0) page; the others are per context bank. */
const GLOBAL_REGISTERS: readonly RegisterKind[] = ["TLBIVMID", "TLBIALLNSNH", "sTLBGSYNC", "sTLBGSTATUS"];

/** A register kind's constant in the core ("V2R_TLBIVAL"). */
export function coreRegisterName(kind: RegisterKind): (typeof CORE_REGISTER)[RegisterKind] {
  return CORE_REGISTER[kind];
}

/** The register kind a name stands for, or undefined. */
export function registerKindOf(name: unknown): RegisterKind | undefined {
  return typeof name === "string" && Object.hasOwn(CORE_REGISTER, name) ? (name as RegisterKind) : undefined;
}

/** Whether a register is one of the global page's (not a context bank's). */
export function isGlobalRegister(kind: RegisterKind): boolean {
  return GLOBAL_REGISTERS.includes(kind);
}

/** The register kind with core code `code`. */
export function registerKindByCode(code: number, L: Layout = loadedLayout("registerKindByCode")): RegisterKind {
  const kind = REGISTER_KINDS.find((k) => L[CORE_REGISTER[k]] === code);
  if (kind === undefined) throw new Error(`iommu-sim: unknown SMMU v1/v2 register code ${code}`);
  return kind;
}

/**
 * One or more register operations the driver made, as a page table's event log records them
 * (EV_REG): `count` writes of `value`, the value advancing by `step` after each; for a
 * status register, `count` reads (polls) until the sync completed.
 */
export interface RegisterEvent {
  kind: "reg";
  register: RegisterKind;
  /** The context bank (for a context bank's register). */
  cb?: number;
  /** The value written (the first of a run). */
  value: bigint;
  /** How many writes (or, for a status register, reads). */
  count: number;
  /** How much the value advances between the writes of a run. */
  step: number;
}

/** A register operation from its event record's three words (a: kind and bank, b: value, c: run). */
export function decodeRegisterEvent(a: bigint, b: bigint, c: bigint, L: Layout = loadedLayout("decodeRegisterEvent")): RegisterEvent {
  const register = registerKindByCode(Number(a & ((1n << BigInt(L.V2W_KIND_BITS)) - 1n)), L);
  const field = (lo: number, bits: number) => Number((c >> BigInt(lo)) & ((1n << BigInt(bits)) - 1n));
  const ev: RegisterEvent = { kind: "reg", register, value: b, count: field(L.EVC_COUNT_LO, L.EVC_COUNT_BITS),
    step: 2 ** field(L.EVC_STEP_LO, L.EVC_STEP_BITS) };
  if (!isGlobalRegister(register)) ev.cb = Number((a >> BigInt(L.V2W_CB_LO)) & 0xffffn);
  return ev;
}

/** What formatRegisterEvent reads of an event: its register, bank, value, count and step. */
function checkRegisterEvent(e: unknown): asserts e is RegisterEvent {
  const ctx = "formatRegisterEvent";
  if (typeof e !== "object" || e === null) throw new ArgumentError("event", e, "must be a register event { kind: 'reg', register, value, count, step }", ctx);
  const ev = e as Partial<RegisterEvent>;
  checkOneOf("event.register", ev.register, REGISTER_KINDS, ctx);
  if (ev.cb !== undefined) checkInt("event.cb", ev.cb, 0, 0xffff, ctx);
  if (typeof ev.value !== "bigint" || ev.value < 0n) throw new ArgumentError("event.value", ev.value, "must be a bigint ≥ 0 (the value written)", ctx);
  checkInt("event.count", ev.count, 1, Number.MAX_SAFE_INTEGER, ctx);
  checkInt("event.step", ev.step, 0, Number.MAX_SAFE_INTEGER, ctx);
}

/** What a TLBI value says, in words: the page address (and ASID) it names. */
function describeValue(register: RegisterKind, value: bigint, L: Layout): string {
  const va = (value & ((1n << BigInt(L.V2_VA_BITS)) - 1n)) << 12n;
  const asid = (value >> BigInt(L.V2_ASID_LO)) & 0xffffn;
  switch (register) {
    case "TLBIVA": case "TLBIVAL": return `iova=${hex(Number(va))} asid=${asid}`;
    case "TLBIVAA": case "TLBIVAAL": return `iova=${hex(Number(va))}`;
    case "TLBIIPAS2": case "TLBIIPAS2L": return `ipa=${hex(Number((value & ((1n << BigInt(L.V2_IPA_BITS)) - 1n)) << 12n))}`;
    case "TLBIASID": return `asid=${value & 0xffffn}`;
    case "TLBIVMID": return `vmid=${value & 0xffffn}`;
    default: return "";
  }
}

/**
 * A register event as trace lines: "CB0 TLBIVAL iova=0x1000 asid=5" (a run adds "×N step
 * 0x…"), "CB0 TLBSYNC", "CB0 TLBSTATUS poll ×2", "sTLBGSYNC" — what a developer compares
 * with the driver's register writes.
 */
export function formatRegisterEvent(e: RegisterEvent, layout?: Layout): string {
  checkRegisterEvent(e);
  const L = layout ?? loadedLayout("formatRegisterEvent");
  const where = e.cb === undefined ? "" : `CB${e.cb} `;
  if (STATUS_REGISTERS.includes(e.register)) return `REG ${where}${e.register} poll ×${e.count}`;
  const words = describeValue(e.register, e.value, L);
  const run = e.count > 1 ? ` ×${e.count} step=${hex(e.step * 4096)}` : "";
  return `REG ${where}${e.register}${words ? " " + words : ""}${run}`;
}
