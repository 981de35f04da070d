// The seed variants' steps as the explorer shows them. The steps themselves — which kernel
// code site of dma-iommu's unmap or of the live DMA → DMA-FQ switch reads or writes which
// shared word, plainly or with READ_ONCE/WRITE_ONCE, behind which barrier, in what order,
// for each variant of the 2021 thread (reference §1.2–1.3) — are defined once, in the core
// (assembly/dma/steps.ts), and read from it here (dma_variant_step). This file only puts
// words to them: a label per code site, the name of the local a load's value is kept in
// (as the kernel names it), and the names of the modelled words and barriers. Every name
// is a constant the core exports, so the two cannot drift apart unnoticed;
// test/explore-steps.test.ts walks the core's sequences against these tables.

import type { Core } from "../../bindings/core.js";
import type { Layout, LayoutName } from "../../bindings/layout.js";
import { IommuSimError } from "../errors.js";
import { SEED_VARIANTS, type SeedVariant } from "../dma.js";
import type { AccessMode } from "./model.js";

export type SiteName = Extract<LayoutName, `SITE_${string}`>;

/** What the explorer calls each code site; `reg`: the local a load's value goes to. */
export const SITE_TEXT: Readonly<Record<SiteName, { label: string; reg?: string }>> = Object.freeze({
  SITE_UNMAP_SNAPSHOT: { label: "gather.queued = READ_ONCE(fq_domain)", reg: "q" },
  SITE_UNMAP_CLEAR_QUEUED: { label: "iommu_unmap_fast: clear PTEs (leaves gathered iff !queued)" },
  SITE_UNMAP_SYNC_QUEUED: { label: "if !queued: iotlb_sync" },
  SITE_QUEUE_MB: { label: "queue_iova: smp_mb()" },
  SITE_QUEUE_LOAD: { label: "queue_iova: load the flush queue", reg: "f" },
  SITE_UNMAP_RELEASE_QUEUED: { label: "queued ? queue_iova : free_iova_fast" },
  SITE_UNMAP_READ_QUIRK: { label: "io-pgtable unmap: read cfg.quirks (plain)", reg: "k" },
  SITE_UNMAP_CLEAR_QUIRK: { label: "clear PTEs (leaves gathered iff NON_STRICT not seen)" },
  SITE_UNMAP_READ_FQ_SYNC: { label: "read #1 of fq_domain (plain), for the sync", reg: "b" },
  SITE_UNMAP_SYNC_FQ: { label: "if !fq_domain: iotlb_sync" },
  SITE_UNMAP_READ_FQ_FREE: { label: "read #2 of fq_domain (plain), for the free", reg: "a" },
  SITE_UNMAP_READ_FQ_HOISTED: { label: "read #2 of fq_domain (plain), hoisted to the top by the compiler", reg: "a" },
  SITE_QUEUE_WMB: { label: "queue_iova: smp_wmb()" },
  SITE_UNMAP_RELEASE_FQ: { label: "fq_domain ? queue_iova : free_iova_fast" },
  SITE_SWITCH_BUILD: { label: "build the flush queue (rings, counters, timer)" },
  SITE_SWITCH_WMB: { label: "smp_wmb()" },
  SITE_SWITCH_PUBLISH_ONCE: { label: "WRITE_ONCE(fq_domain, domain)" },
  SITE_SWITCH_PUBLISH_PLAIN: { label: "cookie->fq_domain = domain (plain)" },
  SITE_SWITCH_READ_QUIRK: { label: "set_pgtable_quirks: read cfg.quirks (plain)", reg: "t" },
  SITE_SWITCH_SET_QUIRK: { label: "cfg.quirks |= NON_STRICT (plain)" },
  SITE_SWITCH_SET_TYPE: { label: "domain->type = DMA_FQ" },
});

/** The modelled shared words, as the explorer's traces and data races name them. */
export const WORD_NAMES = Object.freeze({
  STEP_WORD_FQ_DOMAIN: "fq_domain", STEP_WORD_FQ: "fq", STEP_WORD_QUIRK: "quirk",
} as const satisfies Partial<Record<LayoutName, string>>);

export const BARRIER_NAMES = Object.freeze({
  STEP_BARRIER_MB: "mb", STEP_BARRIER_WMB: "wmb",
} as const satisfies Partial<Record<LayoutName, "mb" | "wmb">>);

export const ACTION_NAMES = Object.freeze({
  STEP_ACT_CLEAR: "clear", STEP_ACT_SYNC: "sync", STEP_ACT_RELEASE: "release", STEP_ACT_SET_TYPE: "set-type",
} as const satisfies Partial<Record<LayoutName, string>>);

const KIND_NAMES = Object.freeze({
  STEP_LOAD: "load", STEP_STORE: "store", STEP_FENCE: "fence", STEP_ACTION: "action",
} as const satisfies Partial<Record<LayoutName, string>>);

export type StepAction = (typeof ACTION_NAMES)[keyof typeof ACTION_NAMES];
export type SeedOp = "unmap" | "switch";

/** One step of a variant's sequence, decoded. Registers are numbered 1..STEP_REGS; 0 is none. */
export interface VariantStep {
  /** The step as the core encodes it (what dma_step_run takes). */
  word: number;
  site: SiteName;
  label: string;
  kind: (typeof KIND_NAMES)[keyof typeof KIND_NAMES];
  /** load/store: the shared word, and whether the access is marked (READ_ONCE/WRITE_ONCE). */
  var?: (typeof WORD_NAMES)[keyof typeof WORD_NAMES];
  mode?: Extract<AccessMode, "plain" | "once">;
  fence?: "mb" | "wmb";
  action?: StepAction;
  /** The register a load writes, and its name (the kernel's local). */
  out: number;
  reg?: string;
  /** The register the step is control-dependent on, and whether it runs only when that is non-zero. */
  ctrl: number;
  guarded: boolean;
  /** The register whose value the step uses. */
  data: number;
}

/** The layout name whose value is `code`, among `names`. */
function nameOf<K extends LayoutName>(layout: Layout, names: readonly K[], code: number): K | undefined {
  return names.find((n) => layout[n] === code);
}

function decode(core: Core, word: number, where: string): VariantStep {
  const L = core.layout;
  const field = (shift: number) => (word >>> shift) & L.STEP_FIELD_MASK;
  const site = nameOf(L, Object.keys(SITE_TEXT) as SiteName[], word & L.STEP_SITE_MASK);
  const kind = nameOf(L, Object.keys(KIND_NAMES) as (keyof typeof KIND_NAMES)[], field(L.STEP_KIND_SHIFT));
  if (!site || !kind) {
    throw new IommuSimError(`iommu-sim: ${where}: the core's step 0x${word.toString(16)} names a code site or kind ` +
      `this package has no words for (src/explore/steps.ts): the core and the package are from different builds`);
  }
  const object = field(L.STEP_OBJECT_SHIFT);
  const step: VariantStep = {
    word, site, label: SITE_TEXT[site].label, kind: KIND_NAMES[kind],
    out: field(L.STEP_OUT_SHIFT), ctrl: field(L.STEP_CTRL_SHIFT), guarded: (word & L.STEP_GUARDED) !== 0,
    data: field(L.STEP_DATA_SHIFT),
  };
  const pick = <T extends Record<string, string>>(names: T) => {
    const n = nameOf(L, Object.keys(names) as (keyof T & LayoutName)[], object);
    if (!n) throw new IommuSimError(`iommu-sim: ${where}: the core's step 0x${word.toString(16)} (${site}) has an object this package does not know`);
    return names[n] as T[keyof T];
  };
  if (step.kind === "load" || step.kind === "store") {
    step.var = pick(WORD_NAMES);
    step.mode = (word & L.STEP_MARKED) !== 0 ? "once" : "plain";
  } else if (step.kind === "fence") step.fence = pick(BARRIER_NAMES);
  else step.action = pick(ACTION_NAMES);
  if (step.kind === "load") step.reg = SITE_TEXT[site].reg;
  return step;
}

/** `variant`'s steps for `op`, in program order, as the core defines them. */
export function variantSteps(core: Core, variant: SeedVariant, op: SeedOp): VariantStep[] {
  const L = core.layout;
  const v = SEED_VARIANTS.indexOf(variant);
  const code = op === "unmap" ? L.STEP_OP_UNMAP : L.STEP_OP_SWITCH;
  const out: VariantStep[] = [];
  for (let i = 0; ; i++) {
    const word = core.raw.dma_variant_step(v, code, i) >>> 0;
    if (word === 0) return out;
    out.push(decode(core, word, `the ${variant} ${op}'s step ${i + 1}`));
  }
}

/** The kernel's name for register `r` of a sequence: that of the load that writes it. */
export function registerName(steps: readonly VariantStep[], r: number): string {
  const writer = steps.find((s) => s.kind === "load" && s.out === r);
  if (!writer?.reg) throw new IommuSimError(`iommu-sim: a seed step reads register ${r}, which no load of its sequence names`);
  return writer.reg;
}
