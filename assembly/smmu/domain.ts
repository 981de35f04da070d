// The SMMUv3 driver's view of a domain (struct arm_smmu_domain in arm-smmu-v3.c): which
// stage it translates at, its ASID or VMID, and the SMMU features that shape its
// invalidations. An io-pgtable table points at one of these as its TLB-callback cookie.

import { MAX_SMMU_DOMAINS, SMMU_DOMAINS_BASE, SMMU_DOMAIN_SIZE } from "../memmap";
import { D_SMMU_DOMAIN } from "../pgtable/desc";
import { ESIM_ARGS } from "../errno";
import { BEHAVIOUR_BITS } from "../behaviour";
import { slotAt, slotClaim, slotLive, slotPublish, slotRelease } from "../slots";
import { SMMU_MODEL_V3 } from "./smmu";
import { makeCtx } from "./cache";

/** One slot of the SMMU-domain table: written at create, then read by the driver's paths. */
@unmanaged export class SmmuDomain {
  /** Slot state (assembly/slots.ts SLOT_*). */
  state: u32;
  /** Translation stage: 1 or 2. */
  stage: u32;
  /** The ASID (stage 1; else 0). */
  asid: u32;
  /** The VMID (stage 2; else 0). */
  vmid: u32;
  /** SMMU_FEAT_* the driver found on its SMMU. */
  features: u32;
  /** The driver's behaviours (assembly/behaviour.ts KB_SMMU_*). */
  kb: u32;
  /** The SMMU instance its commands go to: id + 1, 0 = none (smmu_domain_set_smmu). */
  smmu: u32;
  /**
   * Flush-alls completed (TLBI by ASID/VMID + CMD_SYNC): atomic add by the flushing CPU
   * after the sync; read by translations to close the oracle's lazy windows.
   */
  flushGen: u32;
  /**
   * Flush-alls begun: atomic add by the flushing CPU before its TLBI. With flushGen it gives
   * the oracle the flush queue's counter rule (§2.7): a translation unmapped when `started`
   * read s is gone once more than s flushes have completed — one of them began after the
   * unmap. Completed flushes alone cannot say that: a flush whose TLBI ran before the PTE
   * was cleared may complete after the unmap.
   */
  flushStarted: u32;
  /**
   * The SMMU's architecture (smmu.ts SMMU_MODEL_*), set with `smmu` by the first attach:
   * which driver's invalidations the table's callbacks make (arm-smmu-v3.c, or arm-smmu.c
   * for v1/v2: smmu/v2/driver.ts).
   */
  model: u32;
  /** On an SMMU v1/v2: the context bank the domain was given at its first attach, + 1 (0 = none yet). */
  cbndx: u32;
}

if (offsetof<SmmuDomain>() > SMMU_DOMAIN_SIZE) ERROR("SmmuDomain outgrew SMMU_DOMAIN_SIZE");

/** Read by assembly/index.ts (smmu_domain_set_smmu). */
export const SD_SMMU: u32 = offsetof<SmmuDomain>("smmu");
/** Read by assembly/index.ts (smmu_domain_set_smmu). */
export const SD_MODEL: u32 = offsetof<SmmuDomain>("model");
/** Exported in the module's layout (assembly/index.ts). */
export const SD_FLUSH_GEN: u32 = offsetof<SmmuDomain>("flushGen");
/** Read by the TypeScript side (which bank a domain got on an SMMU v1/v2). */
export const SD_CBNDX: u32 = offsetof<SmmuDomain>("cbndx");

/** IDR3.RIL: range invalidation (TG/SCALE/NUM). */
export const SMMU_FEAT_RANGE_INV: u32 = 1 << 0;
/** E2H: stage-1 invalidations use the EL2 opcodes. */
export const SMMU_FEAT_E2H: u32 = 1 << 1;

/** Whether SMMU domain `sd`'s driver has behaviour `kb` (assembly/behaviour.ts KB_SMMU_*). */
@inline export function smmuDomainHas(sd: SmmuDomain, kb: u32): bool {
  return (sd.kb & kb) != 0;
}

@inline export function smmuDomainAddr(id: u32): u32 {
  return slotAt(SMMU_DOMAINS_BASE, SMMU_DOMAIN_SIZE, id);
}

@inline export function smmuDomainAt(id: u32): SmmuDomain {
  return changetype<SmmuDomain>(smmuDomainAddr(id));
}

/** The address of SmmuDomain.flushGen (atomics). */
@inline export function flushGenAddr(sd: SmmuDomain): u32 {
  return changetype<u32>(sd) + offsetof<SmmuDomain>("flushGen");
}

/** The address of SmmuDomain.flushStarted (atomics). */
@inline export function flushStartedAddr(sd: SmmuDomain): u32 {
  return changetype<u32>(sd) + offsetof<SmmuDomain>("flushStarted");
}

/** The SMMU domain behind a table's TLB callbacks (the io-pgtable cookie): its address, or 0. */
@inline export function tlbCookie(d: u32): u32 {
  const id = load<u32>(d + D_SMMU_DOMAIN);
  return id == 0 ? 0 : smmuDomainAddr(id - 1);
}

/** Claim a free domain slot: its id, or -ESIM_ARGS, -ESIM_SLOTS_FULL. */
export function smmuDomainCreate(stage: u32, id: u32, features: u32, kb: u32): i32 {
  if ((stage != 1 && stage != 2) || id > 0xffff || (kb & ~BEHAVIOUR_BITS) != 0) return -ESIM_ARGS;
  const i = slotClaim(SMMU_DOMAINS_BASE, SMMU_DOMAIN_SIZE, MAX_SMMU_DOMAINS);
  if (i < 0) return i;
  const sd = smmuDomainAt(<u32>i);
  sd.stage = stage;
  sd.asid = stageAsid(stage, id);
  sd.vmid = stageVmid(stage, id);
  sd.features = features;
  sd.kb = kb;
  slotPublish(changetype<u32>(sd));
  return i;
}

/** Everything after the slot's state word (which slots.ts owns). */
const AFTER_STATE: u32 = offsetof<SmmuDomain>("stage");

export function smmuDomainDestroy(id: u32): bool {
  const sd = slotLive(SMMU_DOMAINS_BASE, SMMU_DOMAIN_SIZE, MAX_SMMU_DOMAINS, id);
  if (sd == 0) return false;
  memory.fill(sd + AFTER_STATE, 0, SMMU_DOMAIN_SIZE - AFTER_STATE);
  slotRelease(sd);
  return true;
}

export function smmuDomainLive(id: u32): bool {
  return slotLive(SMMU_DOMAINS_BASE, SMMU_DOMAIN_SIZE, MAX_SMMU_DOMAINS, id) != 0;
}

/**
 * SMMU `smmu` is going away: its domains send their commands to none from now on, and give
 * up its context bank and their contexts there — a later SMMU that reuses its id starts with
 * none of them (their commands would reach it; their ASIDs would be taken there).
 */
export function smmuDomainsUnbind(smmu: u32): void {
  for (let i: u32 = 0; i < MAX_SMMU_DOMAINS; i++) {
    const a = slotLive(SMMU_DOMAINS_BASE, SMMU_DOMAIN_SIZE, MAX_SMMU_DOMAINS, i);
    if (a == 0) continue;
    const d = changetype<SmmuDomain>(a);
    if (d.smmu != smmu + 1) continue;
    d.smmu = 0;
    d.cbndx = 0;
    d.model = SMMU_MODEL_V3;
  }
}

/**
 * The live domain sending its commands to SMMU `smmu` whose cache context (makeCtx) is that
 * of stage `stage`'s `ctxId` (its ASID, or VMID): its id, or -1. Two domains on one SMMU with
 * the same context would share its cache entries and each other's invalidations, so the
 * package refuses the second; this table is the one record of which contexts are taken. A
 * stage-1 context is its ASID with VMID 0 and a stage-2 one its VMID with ASID 0, so ASID 0
 * and VMID 0 are one context (the kernel allocates both from 1).
 */
export function smmuContextHolder(smmu: u32, stage: u32, ctxId: u32): i32 {
  const want = stageCtx(stage, ctxId);
  for (let i: u32 = 0; i < MAX_SMMU_DOMAINS; i++) {
    const a = slotLive(SMMU_DOMAINS_BASE, SMMU_DOMAIN_SIZE, MAX_SMMU_DOMAINS, i);
    if (a == 0) continue;
    const d = changetype<SmmuDomain>(a);
    if (d.smmu == smmu + 1 && makeCtx(d.asid, d.vmid) == want) return <i32>i;
  }
  return -1;
}

/** A stage-`stage` domain's ASID and VMID, from its id: the one its stage tags with, the other 0. */
@inline function stageAsid(stage: u32, id: u32): u32 { return stage == 1 ? id : 0; }
@inline function stageVmid(stage: u32, id: u32): u32 { return stage == 2 ? id : 0; }

/** The cache context of a stage-`stage` domain with ASID or VMID `id`. */
@inline function stageCtx(stage: u32, id: u32): u32 {
  return makeCtx(stageAsid(stage, id), stageVmid(stage, id));
}
