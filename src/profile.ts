// Kernel profiles: which kernel's IOMMU code the simulator runs. A profile is a set of named
// behaviours — each one change the kernel made, defined once in the core with the commit
// that made it (assembly/behaviour.ts, KB_*) — plus the few numbers that differ. This is the
// one table of which kernel has what; everything else asks `profileHas(p, "…")` or passes
// the profile's bits to the core, never compares versions. Adding a kernel is one entry
// here (see CONTRIBUTING in the README).

import type { Core } from "../bindings/core.js";
import type { Layout, LayoutNamesWith } from "../bindings/layout.js";

type StripKb<T> = T extends `KB_${infer B}` ? B : never;
/** A behaviour the core defines (assembly/behaviour.ts, without the KB_ prefix). */
export type Behaviour = StripKb<LayoutNamesWith<"KB_">>;

export interface KernelProfile {
  /** The kernel release whose code the profile follows (conformance traces were printed by it). */
  readonly kernel: string;
  /** What sets it apart, in a line. */
  readonly summary: string;
  /** The behaviours this kernel has. */
  readonly behaviours: readonly Behaviour[];
  /** IOVA_MAG_SIZE: PFNs per rcache magazine (128; 127 from v6.0, to fit a 1 KiB object). */
  readonly iovaMagazineSize: number;
}

const KERNEL_PROFILES = {
  "5.15": {
    kernel: "Linux 5.15.16",
    summary: "the seed mail's kernel: splitting unmaps, an array depot, the flush queue in iova.c",
    behaviours: ["PGT_SPLIT_PARTIAL_UNMAP", "IOVA_FLUSH_QUEUE"],
    iovaMagazineSize: 128,
  },
  "6.12": {
    kernel: "Linux 6.12.63 (6.12.y LTS, with the 6.12.4 concatenated-PGD fix)",
    summary: "the LTS of Debian 13, RHEL 10, Android 16: 5.15's page-table structure and WARNs, 7.1's allocator and flush queue",
    behaviours: [
      "PGT_SPLIT_PARTIAL_UNMAP", "PGT_MAP_NO_PROT_EINVAL", "PGT_UNMAP_TABLES_FIRST", "PGT_CONCAT_PER_TABLE",
      "PGT_QUIRK_ARM_HD", "SMMU_NONLEAF_TTL0",
      "IOVA_DEPOT_LIST", "IOVA_FAST_ROUNDS", "IOVA_MAX32_ANY_LOW_FREE", "IOVA_RETRY_ABOVE_CACHED",
      "DMA_FQ_SINGLE", "DMA_SAC_PER_DEVICE",
      // Not covered by the 6.12 traces; inferred from when the group-ownership rework merged (2023).
      "DMA_SWITCH_OWNED_GROUPS",
    ],
    iovaMagazineSize: 127,
  },
  "7.1": {
    kernel: "Linux 7.1 (merge window)",
    summary: "today's kernel: no split on unmap, the NO_WARN quirk, KUnit self-tests, whole-context invalidation of large ranges",
    behaviours: [
      "PGT_MAP_NO_PROT_EINVAL", "PGT_UNMAP_TABLES_FIRST", "PGT_CONCAT_PER_TABLE", "PGT_S2_CONCAT_MANDATORY",
      "PGT_NO_WARN_QUIRK", "PGT_QUIRK_ARM_HD", "PGT_QUIRK_ARM_S2FWB", "PGT_SELFTEST_KUNIT",
      "SMMU_NONLEAF_TTL0", "SMMU_INV_ALL_TOO_BIG",
      "IOVA_DEPOT_LIST", "IOVA_FAST_ROUNDS", "IOVA_MAX32_ANY_LOW_FREE", "IOVA_RETRY_ABOVE_CACHED",
      "DMA_FQ_SINGLE", "DMA_SAC_PER_DEVICE", "DMA_SWITCH_OWNED_GROUPS", "BENCH_MAP_MODE",
      "IOMMU_SKIP_EMPTY_GATHER", "IOMMU_GATHER_UNMAPPED_RANGE",
    ],
    iovaMagazineSize: 127,
  },
} as const satisfies Record<string, KernelProfile>;

export type Profile = keyof typeof KERNEL_PROFILES;
/** Every profile, oldest kernel first. */
export const PROFILES = Object.freeze(Object.keys(KERNEL_PROFILES)) as readonly Profile[];
/** The profile used when none is given: the newest. */
export const DEFAULT_PROFILE: Profile = "7.1";

/** What a profile stands for: the kernel, a summary, its behaviours and constants. */
export function kernelProfile(p: Profile): KernelProfile {
  return KERNEL_PROFILES[p];
}

/** Whether profile `p`'s kernel has `behaviour`. */
export function profileHas(p: Profile, behaviour: Behaviour): boolean {
  return (KERNEL_PROFILES[p].behaviours as readonly Behaviour[]).includes(behaviour);
}

/** The profile's behaviour bits, as the core's records carry them. */
export function behaviourBits(layout: Layout, p: Profile): number {
  let bits = 0;
  for (const b of KERNEL_PROFILES[p].behaviours) bits |= layout[`KB_${b}`];
  return bits >>> 0;
}

/** Record which profile a machine runs, in its control block (workers that attach read it). */
export function setMachineProfile(core: Core, p: Profile): void {
  const L = core.layout;
  Atomics.store(core.u32, (L.CONTROL_BASE + L.CTL_KERNEL) >>> 2, PROFILES.indexOf(p));
}

/** The profile the machine runs (as setMachineProfile recorded it). */
export function machineProfile(core: Core): Profile {
  const L = core.layout;
  const p = PROFILES[Atomics.load(core.u32, (L.CONTROL_BASE + L.CTL_KERNEL) >>> 2)];
  if (p === undefined) throw new Error("iommu-sim: the shared memory names no kernel profile this package knows");
  return p;
}
