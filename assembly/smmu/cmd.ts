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

const SYNC_CS_SEV: u64 = 2; //      completion signalled by SEV; the driver polls
const SYNC_MSH_IS: u64 = 3; //      inner shareable
const SYNC_MSIATTR_OWBI: u64 = 0xf;

@inline function field(v: u64, lo: u64, bits: u64): u64 {
  return (v & ((<u64>1 << bits) - 1)) << lo;
}

/** dw0 of a range TLBI (NH_VA / EL2_VA / S2_IPA). */
export function tlbiRangeDw0(op: u64, asid: u64, vmid: u64, num: u64, scale: u64): u64 {
  return field(op, 0, 8) | field(num, 12, 5) | field(scale, 20, 5) | field(vmid, 32, 16) | field(asid, 48, 16);
}

/** dw1 of a range TLBI: the address (VA[63:12] or IPA[51:12]), leaf, TTL and TG. */
export function tlbiRangeDw1(op: u64, addr: u64, leaf: bool, ttl: u64, tg: u64): u64 {
  const mask: u64 = op == OP_TLBI_S2_IPA ? 0x000f_ffff_ffff_f000 : 0xffff_ffff_ffff_f000;
  return (addr & mask) | (leaf ? 1 : 0) | field(ttl, 8, 2) | field(tg, 10, 2);
}

/** dw0 of an ASID/VMID-wide TLBI (NH_ASID, EL2_ASID, S12_VMALL). */
export function tlbiContextDw0(op: u64, asid: u64, vmid: u64): u64 {
  return field(op, 0, 8) | field(vmid, 32, 16) | field(asid, 48, 16);
}

/** CMD_SYNC as the driver sends it without MSI polling: SEV completion, inner shareable. */
export function syncDw0(): u64 {
  return field(OP_CMD_SYNC, 0, 8) | field(SYNC_CS_SEV, 12, 2) | field(SYNC_MSH_IS, 22, 2) |
         field(SYNC_MSIATTR_OWBI, 24, 4);
}
