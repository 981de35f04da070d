// SMMUv3 commands: opcodes and the field layout of the 16-byte command (two little-endian
// 64-bit words), as arm-smmu-v3.h (v5.15, v7.1) and the Arm SMMUv3 architecture define them
// (reference §5.1). Only building is here; what consumes them is the command queue.
//
//   TLBI_NH_VA   dw0: op[7:0] NUM[16:12] SCALE[24:20] VMID[47:32] ASID[63:48]
//                dw1: LEAF[0] TTL[9:8] TG[11:10] VA[63:12]
//   TLBI_S2_IPA  dw0: op NUM SCALE VMID          dw1: LEAF TTL TG IPA[51:12]
//   TLBI_NH_ASID dw0: op VMID ASID               TLBI_S12_VMALL dw0: op VMID
//   CMD_SYNC     dw0: op CS[13:12] MSH[23:22] MSIATTR[27:24] MSIDATA[63:32]

export const OP_CFGI_STE: u64 = 0x03;
export const OP_CFGI_ALL: u64 = 0x04;
export const OP_CFGI_CD: u64 = 0x05;
export const OP_CFGI_CD_ALL: u64 = 0x06;
export const OP_TLBI_NH_ALL: u64 = 0x10;
export const OP_TLBI_NH_ASID: u64 = 0x11;
export const OP_TLBI_NH_VA: u64 = 0x12;
export const OP_TLBI_NH_VAA: u64 = 0x13; // by VA, every ASID (the kernel's driver never sends it)
export const OP_TLBI_EL2_ALL: u64 = 0x20;
export const OP_TLBI_EL2_ASID: u64 = 0x21;
export const OP_TLBI_EL2_VA: u64 = 0x22;
export const OP_TLBI_S12_VMALL: u64 = 0x28;
export const OP_TLBI_S2_IPA: u64 = 0x2a;
export const OP_TLBI_NSNH_ALL: u64 = 0x30;
export const OP_CMD_SYNC: u64 = 0x46;

/** How many opcodes cmdKindIndex knows: every one above. */
export const CMD_KINDS: u32 = 15;

/**
 * An opcode's place among those above, in opcode order (-1 for one the model does not
 * know): the SMMU counts each kind of command it consumes at STAT_BY_KIND + this index.
 * The TypeScript side asks the core for the index (cmd_kind_index) instead of keeping a
 * second list of positions.
 */
export function cmdKindIndex(op: u64): i32 {
  if (op == OP_CFGI_STE) return 0;
  if (op == OP_CFGI_ALL) return 1;
  if (op == OP_CFGI_CD) return 2;
  if (op == OP_CFGI_CD_ALL) return 3;
  if (op == OP_TLBI_NH_ALL) return 4;
  if (op == OP_TLBI_NH_ASID) return 5;
  if (op == OP_TLBI_NH_VA) return 6;
  if (op == OP_TLBI_NH_VAA) return 7;
  if (op == OP_TLBI_EL2_ALL) return 8;
  if (op == OP_TLBI_EL2_ASID) return 9;
  if (op == OP_TLBI_EL2_VA) return 10;
  if (op == OP_TLBI_S12_VMALL) return 11;
  if (op == OP_TLBI_S2_IPA) return 12;
  if (op == OP_TLBI_NSNH_ALL) return 13;
  if (op == OP_CMD_SYNC) return 14;
  return -1;
}

/**
 * Whether `op` is a command the SMMUv3 architecture defines: the ones above, and those this
 * model consumes without an effect (PREFETCH_CONFIG 0x01, PREFETCH_ADDR 0x02, CFGI_VMS_PIDM
 * 0x07, TLBI_EL2_VAA 0x23, ATC_INV 0x40, PRI_RESP 0x41, RESUME 0x44, STALL_TERM 0x45). Any
 * other opcode is illegal: a real SMMU stops consuming with CMDQ_CONS.ERR = CERROR_ILL.
 */
export function cmdOpLegal(op: u64): bool {
  return (op >= 0x01 && op <= 0x07) || (op >= 0x10 && op <= 0x13) || (op >= 0x20 && op <= 0x23) ||
    op == 0x28 || op == 0x2a || op == 0x30 || op == 0x40 || op == 0x41 || op == 0x44 || op == 0x45 || op == OP_CMD_SYNC;
}

/**
 * Whether a command with a legal opcode is also legally encoded: a range TLBI (NH_VA, EL2_VA,
 * S2_IPA) with TG set must not have TTL, NUM and SCALE all 0 (the architecture makes it
 * CERROR_ILL; eb6c97647be2 is the driver's fix for building one). Other commands: true.
 */
export function cmdEncodingLegal(dw0: u64, dw1: u64): bool {
  const op = cmdField(dw0, CMD0_OP_LO, CMD0_OP_BITS);
  if (op != OP_TLBI_NH_VA && op != OP_TLBI_EL2_VA && op != OP_TLBI_S2_IPA) return true;
  if (cmdField(dw1, CMD1_TG_LO, CMD1_TG_BITS) == 0) return true;
  return cmdField(dw1, CMD1_TTL_LO, CMD1_TTL_BITS) != 0 || cmdField(dw0, CMD0_NUM_LO, CMD0_NUM_BITS) != 0 ||
         cmdField(dw0, CMD0_SCALE_LO, CMD0_SCALE_BITS) != 0;
}

const SYNC_CS_SEV: u64 = 2; //      completion signalled by SEV; the driver polls
const SYNC_MSH_IS: u64 = 3; //      inner shareable
const SYNC_MSIATTR_OWBI: u64 = 0xf;

// The fields, as (lowest bit, width) of their word; the one description both the builders
// here, the SMMU's consumer (consume.ts) and the TypeScript decoder (src/smmu/commands.ts) use.
export const CMD0_OP_LO: u32 = 0;       export const CMD0_OP_BITS: u32 = 8;
export const CMD0_NUM_LO: u32 = 12;     export const CMD0_NUM_BITS: u32 = 5;
export const CMD0_SCALE_LO: u32 = 20;   export const CMD0_SCALE_BITS: u32 = 5;
export const CMD0_VMID_LO: u32 = 32;    export const CMD0_VMID_BITS: u32 = 16;
export const CMD0_ASID_LO: u32 = 48;    export const CMD0_ASID_BITS: u32 = 16;
export const CMD1_LEAF_LO: u32 = 0;     export const CMD1_LEAF_BITS: u32 = 1;
export const CMD1_TTL_LO: u32 = 8;      export const CMD1_TTL_BITS: u32 = 2;
export const CMD1_TG_LO: u32 = 10;      export const CMD1_TG_BITS: u32 = 2;
/** The address bits of dw1: VA[63:12], or IPA[51:12] for TLBI_S2_IPA. */
export const CMD1_ADDR_LO: u32 = 12;    export const CMD1_VA_BITS: u32 = 52;
export const CMD1_IPA_BITS: u32 = 40;

@inline function field(v: u64, lo: u32, bits: u32): u64 {
  return (v & ((<u64>1 << <u64>bits) - 1)) << <u64>lo;
}

/** Bits [lo, lo + bits) of a command word. */
@inline export function cmdField(w: u64, lo: u32, bits: u32): u64 {
  return (w >> <u64>lo) & ((<u64>1 << <u64>bits) - 1);
}

/** The address a range TLBI carries in dw1 (VA[63:12] or IPA[51:12]), other bits clear. */
@inline export function cmdAddr(op: u64, dw1: u64): u64 {
  const bits = op == OP_TLBI_S2_IPA ? CMD1_IPA_BITS : CMD1_VA_BITS;
  return cmdField(dw1, CMD1_ADDR_LO, bits) << <u64>CMD1_ADDR_LO;
}

/** dw0 of a range TLBI (NH_VA / EL2_VA / S2_IPA). */
export function tlbiRangeDw0(op: u64, asid: u64, vmid: u64, num: u64, scale: u64): u64 {
  return field(op, CMD0_OP_LO, CMD0_OP_BITS) | field(num, CMD0_NUM_LO, CMD0_NUM_BITS) |
         field(scale, CMD0_SCALE_LO, CMD0_SCALE_BITS) | field(vmid, CMD0_VMID_LO, CMD0_VMID_BITS) |
         field(asid, CMD0_ASID_LO, CMD0_ASID_BITS);
}

/** dw1 of a range TLBI: the address (VA[63:12] or IPA[51:12]), leaf, TTL and TG. */
export function tlbiRangeDw1(op: u64, addr: u64, leaf: bool, ttl: u64, tg: u64): u64 {
  return cmdAddr(op, addr) | field(leaf ? 1 : 0, CMD1_LEAF_LO, CMD1_LEAF_BITS) |
         field(ttl, CMD1_TTL_LO, CMD1_TTL_BITS) | field(tg, CMD1_TG_LO, CMD1_TG_BITS);
}

/** dw0 of an ASID/VMID-wide TLBI (NH_ASID, EL2_ASID, S12_VMALL). */
export function tlbiContextDw0(op: u64, asid: u64, vmid: u64): u64 {
  return field(op, CMD0_OP_LO, CMD0_OP_BITS) | field(vmid, CMD0_VMID_LO, CMD0_VMID_BITS) |
         field(asid, CMD0_ASID_LO, CMD0_ASID_BITS);
}

/** CMD_SYNC as the driver sends it without MSI polling: SEV completion, inner shareable. */
export function syncDw0(): u64 {
  return field(OP_CMD_SYNC, CMD0_OP_LO, CMD0_OP_BITS) | field(SYNC_CS_SEV, 12, 2) | field(SYNC_MSH_IS, 22, 2) |
         field(SYNC_MSIATTR_OWBI, 24, 4);
}
