// A code variant encoded for the core: each resolved step (vocabulary.ts) becomes one u32 of
// the step interpreter's instruction set (assembly/dma/steps.ts), every field and opcode read
// from the core's exported constants, so the two sides cannot drift apart. Runs load these
// words into a domain's program area (loadProgram → dma_domain_set_step); the explorer hands
// them one at a time to dma_step_run. Kernel behaviour: that of the variant encoded.

import type { Core } from "../../bindings/core.js";
import type { Layout, LayoutName } from "../../bindings/layout.js";
import { checkCore } from "../errno.js";
import { ArgumentError } from "../errors.js";
import { SEED_VARIANTS, SEED_VARIANT_DEFINITIONS, type SeedVariant } from "./seed.js";
import {
  VARIANT_SEQUENCES, parseVariant, registerOf,
  type ResolvedSequence, type ResolvedStep, type ResolvedVariant, type VariantAccess, type VariantAction,
  type VariantDefinition, type VariantSequence, type VariantWord,
} from "./vocabulary.js";

const KIND: Record<ResolvedStep["kind"], LayoutName> = {
  load: "STEP_LOAD", store: "STEP_STORE", fence: "STEP_FENCE", action: "STEP_ACTION",
};
const WORD: Record<VariantWord, LayoutName> = {
  fq_domain: "STEP_WORD_FQ_DOMAIN", fq: "STEP_WORD_FQ", quirk: "STEP_WORD_QUIRK",
};
const ACCESS: Record<VariantAccess, LayoutName> = {
  plain: "STEP_ACCESS_PLAIN", once: "STEP_ACCESS_ONCE", acquire: "STEP_ACCESS_ACQUIRE", release: "STEP_ACCESS_RELEASE",
};
const BARRIER: Record<"mb" | "wmb" | "rmb", LayoutName> = {
  mb: "STEP_BARRIER_MB", wmb: "STEP_BARRIER_WMB", rmb: "STEP_BARRIER_RMB",
};
const ACTION: Record<VariantAction, LayoutName> = {
  "clear": "STEP_ACT_CLEAR", "sync": "STEP_ACT_SYNC", "release": "STEP_ACT_RELEASE", "queue": "STEP_ACT_QUEUE",
  "free": "STEP_ACT_FREE", "set-type": "STEP_ACT_SET_TYPE",
};
/** The core's tables of names, for the test that walks them against the module. */
export const STEP_CODES = Object.freeze({ KIND, WORD, ACCESS, BARRIER, ACTION });

/**
 * A built-in variant's name, a definition, or one already resolved: resolved. `ctx` says
 * whose argument it is; a definition's errors name its fields as `variant.unmap[2].op`.
 */
export function resolveVariant(v: SeedVariant | VariantDefinition | ResolvedVariant, ctx: string): ResolvedVariant {
  if (typeof v === "string") {
    if (!SEED_VARIANTS.includes(v)) {
      throw new ArgumentError("variant", v, `must be one of ${SEED_VARIANTS.join(", ")}, or a variant definition ` +
        '{ "switch": [steps], "unmap": [steps] }', ctx);
    }
    return parseVariant(SEED_VARIANT_DEFINITIONS[v], `the built-in variant ${v}`);
  }
  if (typeof v === "object" && v !== null && isResolved(v)) return v;
  return parseVariant(v, ctx, "variant.");
}

function isResolved(v: object): v is ResolvedVariant {
  return "definition" in v && "switch" in v && typeof (v as ResolvedVariant).switch === "object" &&
    Array.isArray((v as ResolvedVariant).switch.locals);
}

/** One step as the core's word. */
export function encodeStep(L: Layout, seq: ResolvedSequence, s: ResolvedStep): number {
  let object: number;
  if (s.kind === "load" || s.kind === "store") object = L[WORD[s.var!]];
  else if (s.kind === "fence") object = L[BARRIER[s.fence!]];
  else object = L[ACTION[s.action!]];
  const ctrl = registerOf(seq, s.decide ?? s.guard?.local);
  let word = (L[KIND[s.kind]] << L.STEP_KIND_SHIFT) | (object << L.STEP_OBJECT_SHIFT) |
    (L[ACCESS[s.mode ?? "plain"]] << L.STEP_ACCESS_SHIFT) |
    (registerOf(seq, s.out) << L.STEP_OUT_SHIFT) | (ctrl << L.STEP_CTRL_SHIFT) |
    (registerOf(seq, s.data) << L.STEP_DATA_SHIFT);
  if (s.guard) word |= L.STEP_GUARDED | (s.guard.negate ? L.STEP_GUARD_NOT : 0);
  return word >>> 0;
}

/** A variant's two sequences as the core's words (each without its closing 0). */
export function encodeVariant(L: Layout, v: ResolvedVariant): Record<VariantSequence, number[]> {
  return {
    switch: v.switch.steps.map((s) => encodeStep(L, v.switch, s)),
    unmap: v.unmap.steps.map((s) => encodeStep(L, v.unmap, s)),
  };
}

/**
 * Write a variant's program into DMA domain `domain`'s program area, before any CPU runs
 * in it. The core checks each word again (dma_domain_set_step refuses a step it cannot run).
 */
export function loadProgram(core: Core, domain: number, v: ResolvedVariant, ctx: string): void {
  const L = core.layout;
  const words = encodeVariant(L, v);
  for (const seq of VARIANT_SEQUENCES) {
    const op = seq === "unmap" ? L.STEP_OP_UNMAP : L.STEP_OP_SWITCH;
    words[seq].forEach((w, i) => checkCore(core, core.raw.dma_domain_set_step(domain, op, i, w), `${ctx}: variant ${v.name}, ${seq} step ${i}`));
    if (words[seq].length < L.SEQ_WORDS - 1) checkCore(core, core.raw.dma_domain_set_step(domain, op, words[seq].length, 0), ctx);
  }
}
