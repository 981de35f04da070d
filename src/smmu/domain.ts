// SmmuDomain: the SMMUv3 driver's per-domain state (stage, ASID or VMID, the SMMU's
// features), which a page table's TLB callbacks report to: from then on the table's
// events include the TLBI and CMD_SYNC commands the kernel's driver would send.

import type { Core } from "../../bindings/core.js";
import { checkCore, coreError } from "../errno.js";
import { ArgumentError, IommuSimError } from "../errors.js";
import { refuseDuringRun } from "../run-guard.js";
import type { PageTable } from "../pgtable.js";
import {
  checkAddress, checkBool, checkInt, checkOneOf, checkOptions, checkRequiredOptions, isPowerOfTwo, own, type OptionKeys,
} from "../validate.js";
import { behaviourBits, machineBehaviourBits, PROFILES, type Profile } from "../profile.js";

export interface SmmuDomainOptions {
  /** 1: stage-1 (commands carry the ASID), 2: stage-2 (the VMID): the table's own stage (its format says which), the default. */
  stage?: 1 | 2;
  /** The ASID (stage 1) or VMID (stage 2), 0..65535. */
  id: number;
  /** The SMMU implements range invalidation (IDR3.RIL). Default true. */
  rangeInvalidation?: boolean;
  /** Stage-1 TLBIs use the EL2 forms (E2H mode). Default false. */
  e2h?: boolean;
  /**
   * Which driver's encoding rules to follow: that profile's behaviours, as it ships. Default:
   * the machine's kernel (its profile with the overrides it was made with).
   */
  commandRules?: Profile;
}

const SMMU_DOMAIN_OPTION_KEYS = {
  stage: true, id: true, rangeInvalidation: true, e2h: true, commandRules: true,
} as const satisfies OptionKeys<SmmuDomainOptions>;

/**
 * The SMMUv3 driver's side of a domain (arm_smmu_domain): a context (ASID or VMID) over a
 * page table, whose unmaps become TLBI commands and CMD_SYNCs. Made with
 * Simulator.createSmmuDomain.
 */
export class SmmuDomain {
  readonly id: number;
  readonly stage: 1 | 2;
  /** The ASID (stage 1) or VMID (stage 2) its commands and cache entries carry. */
  readonly asidOrVmid: number;
  /** The SMMU its devices sit behind (set by the first Smmu.attachDevice). */
  smmu: import("./smmu.js").Smmu | undefined;
  private released = false;

  /** @internal Use Simulator.createSmmuDomain. */
  constructor(private readonly core: Core, readonly pageTable: PageTable, opts: SmmuDomainOptions) {
    const pt = pageTable;
    const ctx = "createSmmuDomain";
    checkRequiredOptions(opts, SMMU_DOMAIN_OPTION_KEYS, ctx, "with at least id");
    const L = core.layout;
    if (core.readU32(L.PGT_BASE + pt.id * L.PGT_DESC_SIZE + L.D_SMMU_DOMAIN) !== 0) {
      throw new ArgumentError("pageTable", pt, `already has an SMMU domain (page table ${pt.id}); a table's ` +
        "invalidations go to one domain: destroy that domain first", ctx);
    }
    const tableStage = pt.geometry.format.startsWith("arm-lpae-s1") ? 1 : 2;
    const stage = checkInt("stage", opts.stage ?? tableStage, 1, 2, ctx) as 1 | 2;
    // The driver picks the table's format from the stage (ARM_64_LPAE_S1 or _S2): the SMMU
    // reads the descriptors as its stage has them, so another stage's would be misread
    // (stage-1 AP bits taken for S2AP: writes allowed that the table forbids).
    if (stage !== tableStage) {
      throw new ArgumentError("stage", stage, `must be the page table's own stage (${tableStage}): its format ` +
        `${pt.geometry.format} is a stage-${tableStage} one, and the SMMU walks a table as its domain's stage has them`, ctx);
    }
    const id = checkInt(stage === 1 ? "id (ASID)" : "id (VMID)", opts.id, 0, 0xffff, ctx);
    const rules = opts.commandRules === undefined ? undefined : checkOneOf("commandRules", opts.commandRules, PROFILES, ctx);
    let features = 0;
    if (checkBool("rangeInvalidation", opts.rangeInvalidation, true, ctx)) features |= L.SMMU_FEAT_RANGE_INV;
    if (checkBool("e2h", opts.e2h, false, ctx)) features |= L.SMMU_FEAT_E2H;
    const sd = core.raw.smmu_domain_create(stage, id, features, rules === undefined ? machineBehaviourBits(core) : behaviourBits(L, rules));
    checkCore(core, sd, ctx, { detail: `stage ${stage} id ${id}`,
      when: { ESIM_SLOTS_FULL: `at most ${L.MAX_SMMU_DOMAINS} SMMU domains live at once` } });
    const rc = core.raw.pgt_set_smmu_domain(pt.id, sd);
    if (rc !== 0) {
      core.raw.smmu_domain_destroy(sd);
      throw coreError(core, rc, ctx, { detail: `page table ${pt.id}` });
    }
    this.id = sd;
    this.stage = stage;
    this.asidOrVmid = id;
    own(this, core);
  }

  /**
   * The driver's range invalidation called directly, not from io-pgtable's callbacks: what
   * arm_smmu_tlb_inv_range_asid does for SVA's MMU notifier on any munmap range (io-pgtable
   * only ever invalidates whole tables or gathered leaves). `leaf` false is a non-leaf (walk)
   * invalidation; `granule` the nominal granule (default 4096). The commands and the
   * CMD_SYNC show in the table's events like any others.
   */
  invalidateRange(iova: number, size: number, options?: { granule?: number; leaf?: boolean }): void {
    const ctx = "SmmuDomain.invalidateRange";
    if (this.released) throw new IommuSimError(`iommu-sim: ${ctx} on a destroyed SMMU domain`);
    const opts = checkOptions(options, ["granule", "leaf"], ctx);
    checkAddress("iova", iova, ctx);
    checkAddress("size", size, ctx);
    const granule = checkInt("granule", opts.granule ?? 4096, 4096, 2 ** 40, ctx);
    if (!isPowerOfTwo(granule)) throw new ArgumentError("granule", granule, "must be a power of two (a page or block size)", ctx);
    const rc = this.core.raw.pgt_smmu_inv_range(this.pageTable.id, iova, size, granule, checkBool("leaf", opts.leaf, false, ctx));
    if (rc !== 0) throw coreError(this.core, rc, ctx, { detail: `page table ${this.pageTable.id}` });
  }

  /** Forget the domain; its page table stops issuing commands. */
  destroy(): void {
    if (this.released) return;
    refuseDuringRun(this.core, "SmmuDomain.destroy", `SMMU domain ${this.id}`, "destroyed");
    this.core.raw.pgt_set_smmu_domain(this.pageTable.id, -1);
    this.core.raw.smmu_domain_destroy(this.id);
    this.released = true;
  }
}
