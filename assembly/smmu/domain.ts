// The SMMUv3 driver's view of a domain (struct arm_smmu_domain in arm-smmu-v3.c): which
// stage it translates at, its ASID or VMID, and the SMMU features that shape its
// invalidations. An io-pgtable table points at one of these as its TLB-callback cookie.
//
//   +0 state u32   +4 stage u32 (1, 2)   +8 asid u32   +12 vmid u32
//   +16 features u32 (SMMU_FEAT_*)      +20 behaviours u32 (the driver's KB_SMMU_* bits)
//   +24 smmu u32 (the SMMU instance its commands go to: id + 1, 0 = none)
//   +28 flush generation u32: flush-alls completed (TLBI by ASID/VMID + CMD_SYNC)
//   +32 flushes started u32: flush-alls begun (bumped before the TLBI is issued)

import { MAX_SMMU_DOMAINS, SMMU_DOMAINS_BASE, SMMU_DOMAIN_SIZE } from "../memmap";
import { D_SMMU_DOMAIN } from "../pgtable/desc";
import { ESIM_ARGS } from "../errno";
import { BEHAVIOUR_BITS } from "../behaviour";
import { slotAt, slotClaim, slotLive, slotPublish, slotRelease } from "../slots";

export const SD_STATE: u32 = 0;
export const SD_STAGE: u32 = 4;
export const SD_ASID: u32 = 8;
export const SD_VMID: u32 = 12;
export const SD_FEATURES: u32 = 16;
export const SD_KB: u32 = 20;
export const SD_SMMU: u32 = 24;
export const SD_FLUSH_GEN: u32 = 28;
/**
 * Flush-alls begun. With SD_FLUSH_GEN it gives the oracle the flush queue's counter rule
 * (§2.7): a translation unmapped when `started` read s is gone once more than s flushes
 * have completed — one of them began after the unmap. Completed flushes alone cannot say
 * that: a flush whose TLBI ran before the PTE was cleared may complete after the unmap.
 */
export const SD_FLUSH_STARTED: u32 = 32;

/** IDR3.RIL: range invalidation (TG/SCALE/NUM). */
export const SMMU_FEAT_RANGE_INV: u32 = 1 << 0;
/** E2H: stage-1 invalidations use the EL2 opcodes. */
export const SMMU_FEAT_E2H: u32 = 1 << 1;

/** Whether SMMU domain `sd`'s driver has behaviour `kb` (assembly/behaviour.ts KB_SMMU_*). */
@inline export function smmuDomainHas(sd: u32, kb: u32): bool {
  return (load<u32>(sd + SD_KB) & kb) != 0;
}

@inline export function smmuDomainAddr(id: u32): u32 {
  return slotAt(SMMU_DOMAINS_BASE, SMMU_DOMAIN_SIZE, id);
}

/** The SMMU domain behind a table's TLB callbacks (the io-pgtable cookie), or 0. */
@inline export function tlbCookie(d: u32): u32 {
  const id = load<u32>(d + D_SMMU_DOMAIN);
  return id == 0 ? 0 : smmuDomainAddr(id - 1);
}

/** Claim a free domain slot: its id, or -ESIM_ARGS, -ESIM_SLOTS_FULL. */
export function smmuDomainCreate(stage: u32, id: u32, features: u32, kb: u32): i32 {
  if ((stage != 1 && stage != 2) || id > 0xffff || (kb & ~BEHAVIOUR_BITS) != 0) return -ESIM_ARGS;
  const i = slotClaim(SMMU_DOMAINS_BASE, SMMU_DOMAIN_SIZE, MAX_SMMU_DOMAINS);
  if (i < 0) return i;
  const sd = smmuDomainAddr(<u32>i);
  store<u32>(sd + SD_STAGE, stage);
  store<u32>(sd + SD_ASID, stage == 1 ? id : 0);
  store<u32>(sd + SD_VMID, stage == 2 ? id : 0);
  store<u32>(sd + SD_FEATURES, features);
  store<u32>(sd + SD_KB, kb);
  slotPublish(sd);
  return i;
}

export function smmuDomainDestroy(id: u32): bool {
  const sd = slotLive(SMMU_DOMAINS_BASE, SMMU_DOMAIN_SIZE, MAX_SMMU_DOMAINS, id);
  if (sd == 0) return false;
  memory.fill(sd + 4, 0, SMMU_DOMAIN_SIZE - 4);
  slotRelease(sd);
  return true;
}

export function smmuDomainLive(id: u32): bool {
  return slotLive(SMMU_DOMAINS_BASE, SMMU_DOMAIN_SIZE, MAX_SMMU_DOMAINS, id) != 0;
}
