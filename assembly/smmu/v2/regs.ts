// The registers of an Arm SMMU v1/v2 (MMU-400/401/500) that the model implements, as the
// arm-smmu.c driver (drivers/iommu/arm/arm-smmu/) writes them: no command queue, but
// TLB-maintenance registers per context bank and global ones, with a sync register and a
// status register to poll (bug-corpus.md #1, #17; reference linux-iommu.md §7 for the
// machines). Where the reference is silent — register offsets, field positions, value
// encodings — this follows the Arm SMMU architecture specification (SMMUv2, IHI 0062),
// as noted field by field below: those come from the architecture, not from the kernel.
//
// A register is named by its kind (V2R_*): the index of its write counter, the order every
// list of register kinds follows (src/smmu/registers.ts reads the names from here).

// ── TLB maintenance: one kind per register ──────────────────────────────────
// Per context bank (the CBn page, architecture offsets in the comments). Values are in
// the AArch64 context format the driver uses for LPAE tables.

/** SMMU_CBn_TLBIVA (0x600): by VA and ASID, all levels. Value: VA[55:12] in [43:0], ASID in [63:48]. */
export const V2R_TLBIVA: u32 = 0;
/** SMMU_CBn_TLBIVAA (0x608): by VA, any ASID, all levels. Value: VA[55:12] in [43:0]. */
export const V2R_TLBIVAA: u32 = 1;
/** SMMU_CBn_TLBIASID (0x610): every entry of an ASID. Value: the ASID in [15:0]. */
export const V2R_TLBIASID: u32 = 2;
/** SMMU_CBn_TLBIALL (0x618): every entry of the context bank's context. Value ignored. */
export const V2R_TLBIALL: u32 = 3;
/** SMMU_CBn_TLBIVAL (0x620): as TLBIVA, last level (leaf) entries only. */
export const V2R_TLBIVAL: u32 = 4;
/** SMMU_CBn_TLBIVAAL (0x628): as TLBIVAA, leaf entries only. */
export const V2R_TLBIVAAL: u32 = 5;
/** SMMU_CBn_TLBIIPAS2 (0x630): stage 2, by IPA, all levels. Value: IPA[51:12] in [39:0]. */
export const V2R_TLBIIPAS2: u32 = 6;
/** SMMU_CBn_TLBIIPAS2L (0x638): as TLBIIPAS2, leaf entries only. */
export const V2R_TLBIIPAS2L: u32 = 7;
/** SMMU_CBn_TLBSYNC (0x7f0): start a sync of the TLB maintenance written to this bank. Value ignored. */
export const V2R_TLBSYNC: u32 = 8;
/** SMMU_CBn_TLBSTATUS (0x7f4), read: SACTIVE (bit 0) while that sync is in progress. Counted per read (poll). */
export const V2R_TLBSTATUS: u32 = 9;
// Global (the GR0 page).
/** SMMU_TLBIVMID (0x064): every entry of a VMID. Value: the VMID in [15:0]. */
export const V2R_TLBIVMID: u32 = 10;
/** SMMU_TLBIALLNSNH (0x068): every non-secure, non-hypervisor entry. Value ignored. */
export const V2R_TLBIALLNSNH: u32 = 11;
/** SMMU_sTLBGSYNC (0x070): start a sync of the TLB maintenance written to the global registers. */
export const V2R_STLBGSYNC: u32 = 12;
/** SMMU_sTLBGSTATUS (0x074), read: GSACTIVE (bit 0) while that sync is in progress. Counted per read. */
export const V2R_STLBGSTATUS: u32 = 13;
/** How many kinds (the write/read counters of a v2 SMMU). */
export const V2_REG_KINDS: u32 = 14;

/** The architecture's offset of each kind's register (in its page: CBn or GR0). */
export function v2RegOffset(kind: u32): u32 {
  switch (kind) {
    case V2R_TLBIVA: return 0x600;
    case V2R_TLBIVAA: return 0x608;
    case V2R_TLBIASID: return 0x610;
    case V2R_TLBIALL: return 0x618;
    case V2R_TLBIVAL: return 0x620;
    case V2R_TLBIVAAL: return 0x628;
    case V2R_TLBIIPAS2: return 0x630;
    case V2R_TLBIIPAS2L: return 0x638;
    case V2R_TLBSYNC: return 0x7f0;
    case V2R_TLBSTATUS: return 0x7f4;
    case V2R_TLBIVMID: return 0x064;
    case V2R_TLBIALLNSNH: return 0x068;
    case V2R_STLBGSYNC: return 0x070;
    case V2R_STLBGSTATUS: return 0x074;
    default: return 0xffffffff;
  }
}

/** A global (GR0) register, as opposed to one of a context bank. */
@inline export function v2RegGlobal(kind: u32): bool {
  return kind >= V2R_TLBIVMID && kind < V2_REG_KINDS;
}

/** A register the driver reads (a status to poll) rather than writes. */
@inline export function v2RegStatus(kind: u32): bool {
  return kind == V2R_TLBSTATUS || kind == V2R_STLBGSTATUS;
}

// A register operation as the event log (EV_REG: a = this word, b = the value, c = the run
// word of events.ts) and the pending ring carry it: the kind and the context bank.
export const V2W_KIND_BITS: u32 = 8;
export const V2W_CB_LO: u32 = 16;
@inline export function v2RegWord(kind: u32, cb: u32): u64 {
  return <u64>kind | (<u64>cb << V2W_CB_LO);
}
@inline export function v2WordKind(w: u64): u32 {
  return <u32>(w & ((1 << V2W_KIND_BITS) - 1));
}
@inline export function v2WordCb(w: u64): u32 {
  return <u32>((w >> V2W_CB_LO) & 0xffff);
}

// ── value fields (architecture; AArch64 context format) ─────────────────────
/** The page-number field of TLBIVA/VAL/VAA/VAAL: VA[55:12] in value bits [43:0]. */
export const V2_VA_BITS: u32 = 44;
/** The page-number field of TLBIIPAS2/L: IPA[51:12] in value bits [39:0]. */
export const V2_IPA_BITS: u32 = 40;
/** Where TLBIVA/VAL carry the ASID (and TTBR0 does, in the AArch64 format). */
export const V2_ASID_LO: u32 = 48;

// ── stream matching and context banks (architecture) ────────────────────────
/** Stream match registers (and as many S2CRs): MMU-500 has up to 128. */
export const V2_NUM_SMRS: u32 = 128;
/** Context banks: MMU-500 has up to 128. */
export const V2_NUM_CBS: u32 = 128;
/** SMMU_SMRn: ID in [14:0], MASK in [30:16] (a set mask bit ignores that ID bit), VALID in bit 31. */
export const SMR_ID_MASK: u32 = 0x7fff;
export const SMR_MASK_LO: u32 = 16;
export const SMR_VALID: u32 = 1 << 31;
/** SMMU_S2CRn: CBNDX in [7:0], TYPE in [17:16]: translate (0), bypass (1), fault (2). */
export const S2CR_CBNDX_MASK: u32 = 0xff;
export const S2CR_TYPE_LO: u32 = 16;
export const S2CR_TYPE_TRANS: u32 = 0;
export const S2CR_TYPE_BYPASS: u32 = 1;
export const S2CR_TYPE_FAULT: u32 = 2;
/** SMMU_CBARn: VMID in [7:0], TYPE in [17:16]: stage 2 only (0), stage 1 with stage 2 bypassed (1). */
export const CBAR_VMID_MASK: u32 = 0xff;
export const CBAR_TYPE_LO: u32 = 16;
export const CBAR_TYPE_S2_TRANS: u32 = 0;
export const CBAR_TYPE_S1_TRANS_S2_BYPASS: u32 = 1;
/** SMMU_CBn_SCTLR: M (translation on), TRE, AFE, CFRE, CFIE — what the driver sets (arm_smmu_write_context_bank). */
export const SCTLR_M: u32 = 1 << 0;
export const SCTLR_TRE: u32 = 1 << 1;
export const SCTLR_AFE: u32 = 1 << 2;
export const SCTLR_CFRE: u32 = 1 << 5;
export const SCTLR_CFIE: u32 = 1 << 6;
/** SMMU_CBn_FSR: translation, access-flag, permission and external (walk) faults. */
export const FSR_TF: u32 = 1 << 1;
export const FSR_AFF: u32 = 1 << 2;
export const FSR_PF: u32 = 1 << 3;
export const FSR_EF: u32 = 1 << 4;

// What a stream-match failure records as its fault's info (F_BAD_STREAM).
/** No valid SMR matched the stream ID (sGFSR.USF: the driver leaves unmatched streams faulting). */
export const V2_FAULT_UNMATCHED: u32 = 1;
/** The matching S2CR says fault. */
export const V2_FAULT_S2CR: u32 = 2;
/** More than one SMR matched (sGFSR.SMCF). */
export const V2_FAULT_CONFLICT: u32 = 3;
