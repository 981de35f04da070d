// Kernel profiles: which kernel's IOMMU code the simulator runs. A profile is a set of named
// behaviours — each one change the kernel made, defined once in the core with the commit
// that made it (assembly/behaviour.ts, KB_*) — plus the few numbers that differ. This is the
// one table of which kernel has what; everything else asks `profileHas(p, "…")` or passes
// the profile's bits to the core, never compares versions. Adding a kernel is one entry
// here (see CONTRIBUTING in the README).

import type { Core } from "../bindings/core.js";
import type { Layout, LayoutNamesWith } from "../bindings/layout.js";
import { CORE_EXPORTS } from "../build/exports.js";
import { ArgumentError, UnknownOptionError, unknownKeyText } from "./errors.js";
import { checkOneOf, didYouMean } from "./validate.js";

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
    // Has 85c7a0f1ef62 (v4.20); not d7061627d701, which reached 5.15.y after 5.15.16.
    behaviours: ["PGT_SPLIT_PARTIAL_UNMAP", "PGT_SPLIT_LOSER_UNMAPS", "IOVA_FLUSH_QUEUE", "FQ_TIMER_READ_FIRST", "IOVA_LIMIT_NO_UNDERFLOW"],
    iovaMagazineSize: 128,
  },
  "6.12": {
    kernel: "Linux 6.12.63 (6.12.y LTS, with the 6.12.4 concatenated-PGD fix)",
    summary: "the LTS of Debian 13, RHEL 10, Android 16: 5.15's page-table structure and WARNs, 7.1's allocator and flush queue",
    behaviours: [
      "PGT_SPLIT_PARTIAL_UNMAP", "PGT_SPLIT_LOSER_UNMAPS", "PGT_MAP_NO_PROT_EINVAL", "PGT_UNMAP_TABLES_FIRST", "PGT_CONCAT_PER_TABLE",
      "PGT_QUIRK_ARM_HD", "PGT_TABLE_PA_PACKED", "SMMU_NONLEAF_TTL0", "SMMU_RANGE_NUM_BUMP", "FQ_TEARDOWN_WAITS_TIMER", "DMA_INIT_DOMAIN_LOCKED",
      "IOVA_DEPOT_LIST", "IOVA_FAST_ROUNDS", "IOVA_MAX32_ANY_LOW_FREE", "IOVA_RETRY_ABOVE_CACHED", "FQ_TIMER_READ_FIRST",
      "IOVA_LIMIT_NO_UNDERFLOW",
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
      "PGT_NO_WARN_QUIRK", "PGT_QUIRK_ARM_HD", "PGT_QUIRK_ARM_S2FWB", "PGT_SELFTEST_KUNIT", "PGT_TABLE_PA_PACKED",
      "SMMU_NONLEAF_TTL0", "SMMU_RANGE_NUM_BUMP", "SMMU_INV_ALL_TOO_BIG",
      "IOVA_DEPOT_LIST", "IOVA_FAST_ROUNDS", "IOVA_MAX32_ANY_LOW_FREE", "IOVA_RETRY_ABOVE_CACHED", "FQ_TIMER_READ_FIRST",
      "IOVA_LIMIT_NO_UNDERFLOW", "FQ_TEARDOWN_WAITS_TIMER", "DMA_INIT_DOMAIN_LOCKED",
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

/** `p` as a profile's name, or an ArgumentError naming the profiles there are. */
function checkProfile(p: unknown, context: string): Profile {
  return checkOneOf("profile", p, PROFILES, context);
}

/** What a profile stands for: the kernel, a summary, its behaviours and constants. */
export function kernelProfile(p: Profile): KernelProfile {
  return KERNEL_PROFILES[checkProfile(p, "kernelProfile")];
}

/** Whether profile `p`'s kernel has `behaviour`. */
export function profileHas(p: Profile, behaviour: Behaviour): boolean {
  const profile = checkProfile(p, "profileHas");
  if (!(BEHAVIOURS as readonly unknown[]).includes(behaviour)) {
    const hint = typeof behaviour === "string" ? didYouMean(behaviour, BEHAVIOURS) : undefined;
    throw new ArgumentError("behaviour", behaviour, `must be a behaviour's name${hint ? ` (did you mean '${hint}'?)` : ""}; ` +
      `\`iommu-sim profiles\` lists them: ${BEHAVIOURS.join(", ")}`, "profileHas");
  }
  return (KERNEL_PROFILES[profile].behaviours as readonly Behaviour[]).includes(behaviour);
}

/**
 * Every behaviour the core defines, in bit order: read from the module's export list
 * (build/exports.js, written from core.wasm when it is built), so no core need be loaded.
 */
export const BEHAVIOURS: readonly Behaviour[] = Object.freeze(CORE_EXPORTS
  .filter(([n, kind]) => kind === "global" && n.startsWith("KB_")).map(([n]) => n.slice(3) as Behaviour));

/**
 * The commit(s) of each behaviour, as the README's behaviour table and `iommu-sim profiles`
 * show them, so a user can find the switch for a fix. The doc comment of its KB_ bit in
 * assembly/behaviour.ts says the same at length (a test checks the two agree).
 */
export const BEHAVIOUR_COMMITS: Readonly<Partial<Record<Behaviour, string>>> = {
  PGT_SPLIT_PARTIAL_UNMAP: "removed by 33729a5fc0ca",
  PGT_SPLIT_LOSER_UNMAPS: "85c7a0f1ef62",
  PGT_MAP_NO_PROT_EINVAL: "6093cd582f8e",
  PGT_UNMAP_TABLES_FIRST: "85b715a33458",
  PGT_CONCAT_PER_TABLE: "d71fa842d33c",
  PGT_S2_CONCAT_MANDATORY: "4dcac8407fe1",
  PGT_NO_WARN_QUIRK: "3318f7b5cefb",
  PGT_QUIRK_ARM_HD: "4fe88fd8b4ae",
  PGT_QUIRK_ARM_S2FWB: "not identified",
  PGT_SELFTEST_KUNIT: "d64c8053378e (last-page test)",
  PGT_TABLE_PA_PACKED: "9abe2ac83485",
  SMMU_NONLEAF_TTL0: "6833b8f2e199",
  SMMU_RANGE_NUM_BUMP: "eb6c97647be2",
  SMMU_INV_ALL_TOO_BIG: "587bb3e56a2c",
  IOVA_DEPOT_LIST: "911aa1245da8, 233045378dbb",
  IOVA_FAST_ROUNDS: "972bf252f860",
  IOVA_MAX32_ANY_LOW_FREE: "5b61343b5059",
  IOVA_RETRY_ABOVE_CACHED: "dcdb3ba7e2a8",
  IOVA_LIMIT_NO_UNDERFLOW: "5016bdb796b3, 757c370f036e",
  IOVA_DEPOT_FULL_FLUSH: "not identified (John Garry, v4 3/3, Dec 2020)",
  IOVA_FLUSH_QUEUE: "moved by ea4d71bb5e3f",
  FQ_TIMER_READ_FIRST: "0d87308cca2c",
  FQ_TEARDOWN_WAITS_TIMER: "d7061627d701",
  DMA_INIT_DOMAIN_LOCKED: "ac9a5d522bb8",
  DMA_FQ_SINGLE: "32d5bc8b09c7, 9f5b681e2a3f",
  DMA_SAC_PER_DEVICE: "791c2b17fb40",
  DMA_SWITCH_OWNED_GROUPS: "not identified",
  BENCH_MAP_MODE: "not identified",
  IOMMU_SKIP_EMPTY_GATHER: "90c5def10bea",
  IOMMU_GATHER_UNMAPPED_RANGE: "7e0548525abd",
};

/**
 * A machine-wide change to the profile's behaviours, by name (without the KB_ prefix): the
 * bug zoo's switch — a fix is a behaviour, so its buggy form is the kernel `without` it.
 */
export interface BehaviourOverrides {
  /** Behaviours the profile lacks, added. */
  with?: readonly Behaviour[];
  /** Behaviours the profile has, removed. */
  without?: readonly Behaviour[];
}

/** One thing wrong with an overrides object: where (a path below it) and what. */
export interface BehaviourOverrideProblem {
  path: (string | number)[];
  message: string;
  /** Set when the problem is a key that is neither `with` nor `without`: the nearest of them, if any. */
  unknownKey?: { suggestion: string | undefined };
}

const OVERRIDE_KEYS = ["with", "without"] as const;

/**
 * What is wrong with `v` as overrides of profile `p`, first problem first (empty: nothing).
 * Unknown names get a did-you-mean; a name in both lists, `with` one the profile already has
 * and `without` one it lacks are refused too, so a mistyped switch never silently does nothing.
 */
export function behaviourOverrideProblems(p: Profile, v: unknown): BehaviourOverrideProblem[] {
  if (v === undefined) return [];
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return [{ path: [], message: "must be an object { with?: [...], without?: [...] } of behaviour names" }];
  }
  const out: BehaviourOverrideProblem[] = [];
  for (const k of Object.keys(v)) {
    if (!(OVERRIDE_KEYS as readonly string[]).includes(k)) {
      const suggestion = didYouMean(k, OVERRIDE_KEYS);
      out.push({ path: [k], message: unknownKeyText(OVERRIDE_KEYS, suggestion, "key"), unknownKey: { suggestion } });
    }
  }
  const o = v as Record<string, unknown>;
  const seen = new Map<string, string>();
  for (const k of OVERRIDE_KEYS) {
    const list = o[k];
    if (list === undefined) continue;
    if (!Array.isArray(list)) { out.push({ path: [k], message: "must be an array of behaviour names" }); continue; }
    list.forEach((name: unknown, i) => {
      const problem = nameProblem(p, k, name, seen);
      if (problem) out.push({ path: [k, i], message: problem });
      else seen.set(name as string, k);
    });
  }
  return out;
}

function nameProblem(p: Profile, list: "with" | "without", name: unknown, seen: Map<string, string>): string | undefined {
  if (typeof name !== "string") return "must be a behaviour's name (a string)";
  if (!(BEHAVIOURS as readonly string[]).includes(name)) {
    const bare = name.replace(/^KB_/, "");
    if (bare !== name && (BEHAVIOURS as readonly string[]).includes(bare)) return `must name the behaviour without the KB_ prefix ('${bare}')`;
    const hint = didYouMean(name, BEHAVIOURS);
    return `is not a behaviour${hint ? ` (did you mean '${hint}'?)` : ""}; \`iommu-sim profiles\` lists them: ${BEHAVIOURS.join(", ")}`;
  }
  const before = seen.get(name);
  if (before !== undefined) {
    return before === list ? `names ${name} twice` : `names ${name}, which is in '${before}' too: a behaviour is either added or removed`;
  }
  const has = profileHas(p, name as Behaviour);
  if (list === "with" && has) return `adds ${name}, which kernel ${p} already has (nothing would change; 'without' removes it)`;
  if (list === "without" && !has) return `removes ${name}, which kernel ${p} does not have (nothing would change; 'with' adds it)`;
  return undefined;
}

/**
 * The behaviours of profile `p` with `overrides` applied (they must be valid: see
 * behaviourOverrideProblems), in bit order.
 */
export function effectiveBehaviours(p: Profile, overrides?: BehaviourOverrides): Behaviour[] {
  const set = new Set<Behaviour>(KERNEL_PROFILES[p].behaviours);
  for (const b of overrides?.with ?? []) set.add(b);
  for (const b of overrides?.without ?? []) set.delete(b);
  return BEHAVIOURS.filter((b) => set.has(b));
}

/** The kernel in words, overrides included: "7.1", "7.1 without SMMU_NONLEAF_TTL0", "5.15 with … without …". */
export function describeKernel(p: Profile, overrides?: BehaviourOverrides): string {
  checkBehaviourOverrides(checkProfile(p, "describeKernel"), overrides, "describeKernel", "overrides");
  return kernelText(p, overrides);
}

/** describeKernel's words, unchecked: for messages about overrides that may be wrong. */
export function kernelText(p: Profile, overrides?: BehaviourOverrides): string {
  const parts: string[] = [p];
  if (overrides?.with?.length) parts.push(`with ${overrides.with.join(", ")}`);
  if (overrides?.without?.length) parts.push(`without ${overrides.without.join(", ")}`);
  return parts.join(" ");
}

/**
 * Overrides of profile `profile` checked (an ArgumentError at the first problem, `name` and
 * its path naming the field) and normalised.
 */
export function checkBehaviourOverrides(profile: Profile, v: unknown, ctx: string, name = "behaviours"): BehaviourOverrides | undefined {
  const [problem] = behaviourOverrideProblems(profile, v);
  if (problem) {
    const path = name + problem.path.map((k) => (typeof k === "number" ? `[${k}]` : `.${k}`)).join("");
    let at: unknown = v;
    for (const k of problem.path) at = (at as Record<string | number, unknown>)[k];
    if (problem.unknownKey) {
      // A key that is neither `with` nor `without`: refused as every options object refuses one.
      throw new UnknownOptionError(path, at, OVERRIDE_KEYS, problem.unknownKey.suggestion, ctx, "key");
    }
    throw new ArgumentError(path, at, problem.message, ctx);
  }
  return normaliseOverrides(v as BehaviourOverrides | undefined);
}

/** An entry of overrides: its list and index. */
export interface OverrideEntry { list: "with" | "without"; index: number }

/**
 * The first other entry of `v` naming the behaviour at `at`: for overrides gathered from two
 * places (a script's lines and the caller, a scenario file and --with/--without), where the
 * other half of a duplicate or a contradiction came from, so the message can say.
 */
export function otherOverrideEntry(v: BehaviourOverrides, at: OverrideEntry): OverrideEntry | undefined {
  const name = v[at.list]?.[at.index];
  for (const list of OVERRIDE_KEYS) {
    const index = (v[list] ?? []).findIndex((b, i) => b === name && (list !== at.list || i !== at.index));
    if (index >= 0) return { list, index };
  }
  return undefined;
}

/** The overrides object with empty lists left out; undefined when nothing is overridden. */
export function normaliseOverrides(o: BehaviourOverrides | undefined): BehaviourOverrides | undefined {
  const w = o?.with?.length ? [...o.with] : undefined;
  const wo = o?.without?.length ? [...o.without] : undefined;
  if (!w && !wo) return undefined;
  return { ...(w ? { with: w } : {}), ...(wo ? { without: wo } : {}) };
}

/** Behaviour names as the core's bits. */
export function bitsOf(layout: Layout, behaviours: readonly Behaviour[]): number {
  let bits = 0;
  for (const b of behaviours) bits |= layout[`KB_${b}`];
  return bits >>> 0;
}

/**
 * The profile's behaviour bits, no overrides: only where there is no machine to ask (a
 * machine's records take machineBehaviourBits).
 */
export function behaviourBits(layout: Layout, p: Profile): number {
  return bitsOf(layout, KERNEL_PROFILES[p].behaviours);
}

/**
 * Record which kernel a machine runs — the profile, and the behaviour bits in force (the
 * profile's unless overridden) — in its control block (workers that attach read both).
 */
export function setMachineProfile(core: Core, p: Profile, behaviours: readonly Behaviour[] = KERNEL_PROFILES[p].behaviours): void {
  const L = core.layout;
  Atomics.store(core.u32, (L.CONTROL_BASE + L.CTL_BEHAVIOURS) >>> 2, bitsOf(L, behaviours));
  Atomics.store(core.u32, (L.CONTROL_BASE + L.CTL_KERNEL) >>> 2, PROFILES.indexOf(p));
}

/** The profile the machine runs (as setMachineProfile recorded it). */
export function machineProfile(core: Core): Profile {
  const L = core.layout;
  const p = PROFILES[Atomics.load(core.u32, (L.CONTROL_BASE + L.CTL_KERNEL) >>> 2)];
  if (p === undefined) throw new Error("iommu-sim: the shared memory names no kernel profile this package knows");
  return p;
}

/** The behaviour bits the machine runs: its profile's with its overrides (every record made in it carries these). */
export function machineBehaviourBits(core: Core): number {
  const L = core.layout;
  return Atomics.load(core.u32, (L.CONTROL_BASE + L.CTL_BEHAVIOURS) >>> 2) >>> 0;
}

/** Whether the machine's kernel (profile and overrides) has `behaviour`. */
export function machineHas(core: Core, behaviour: Behaviour): boolean {
  return (machineBehaviourBits(core) & core.layout[`KB_${behaviour}`]) !== 0;
}

/** The machine's behaviours by name, in bit order. */
export function machineBehaviours(core: Core): Behaviour[] {
  return BEHAVIOURS.filter((b) => machineHas(core, b));
}
