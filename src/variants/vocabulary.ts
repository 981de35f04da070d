// The vocabulary of code variants: dma-iommu's unmap path and the live DMA → DMA-FQ switch
// (drivers/iommu/dma-iommu.c iommu_dma_unmap / iommu_dma_free_iova / queue_iova and
// iommu_dma_init_fq, io-pgtable-arm's non-strict quirk; v5.15 and the v2 series of 2021-07)
// written as data: a list of steps each, where a step reads or writes one modelled word with
// an access kind (plain C, READ_ONCE/WRITE_ONCE, acquire, release), is a barrier, or is one of
// the kernel's operations by name. A variant is such an object; the four of the seed thread
// (seed.ts) are written in it, and a user writes their own the same way. One definition
// drives everything: the core interprets its encoding (program.ts) in runs, the explorer
// builds its schedule steps from it (src/explore/scenario.ts), and a litmus test for herd7
// is written from it (src/explore/litmus-export.ts).
//
// This file checks a variant strictly (unknown ops and keys are refused with the step's
// path and what was expected) and resolves it: each local a read fills becomes a register
// of the core's interpreter (at most STEP_REGS per sequence), and every step gets its label
// and action. What each performed step reads and writes, for the explorer's partial-order
// reduction, is the explorer's to say (explore/footprints.ts: per CPU and per buffer).

import { ArgumentError } from "../errors.js";
import { checkOptions } from "../validate.js";

/** The modelled shared words: cookie->fq_domain, the flush queue ("built"), io-pgtable's cfg.quirks. */
export const VARIANT_WORDS = Object.freeze(["fq_domain", "fq", "quirk"] as const);
export type VariantWord = (typeof VARIANT_WORDS)[number];
export type VariantAccess = "plain" | "once" | "acquire" | "release";
export type VariantSequence = "switch" | "unmap";
export const VARIANT_SEQUENCES = Object.freeze(["switch", "unmap"] as const);

/** Fields every step may have: a label of its own (else one is made from the op). */
export interface StepCommon { label?: string }
/** A guard: the step takes effect only if the local is non-zero (`if`) or zero (`unless`). */
export interface Guard { if?: string; unless?: string }

/** One step of a variant, as written (a JSON object with an "op"). */
export type VariantStepDef =
  | (StepCommon & Guard & { op: "read"; var: VariantWord; access?: "plain" | "once" | "acquire"; into: string })
  | (StepCommon & Guard & { op: "write"; var: VariantWord; access?: "plain" | "once" | "release"; from?: string })
  | (StepCommon & Guard & { op: "smp_mb" | "smp_wmb" | "smp_rmb" })
  | (StepCommon & Guard & { op: "build-fq" })
  | (StepCommon & Guard & { op: "publish-fq-domain"; access?: "plain" | "once" | "release" })
  | (StepCommon & Guard & { op: "set-quirk"; access?: "plain" | "once" | "release"; from?: string })
  | (StepCommon & Guard & { op: "set-type" })
  | (StepCommon & { op: "clear-ptes"; lazyIf?: string })
  | (StepCommon & { op: "iotlb_sync"; unless?: string })
  | (StepCommon & { op: "iommu_dma_free_iova"; queueIf: string; fq?: string })
  | (StepCommon & Guard & { op: "queue_iova"; fq?: string })
  | (StepCommon & Guard & { op: "free_iova_fast" });
export type VariantOp = VariantStepDef["op"];

/** A code variant: the switch's steps and the unmap's, in program order. */
export interface VariantDefinition {
  /** Its name (shown in traces and replay lines); default "custom". */
  name?: string;
  /** One line on what it is. */
  description?: string;
  switch: readonly VariantStepDef[];
  unmap: readonly VariantStepDef[];
}

/** The shared state a step touches beyond the modelled word it reads or writes (if any). */

/** What each op is, which fields it takes, where it may stand, and what it touches. */
interface OpSpec {
  /** One line for the error that lists the ops, and for the README. */
  summary: string;
  /** Its fields besides "op" and "label". */
  fields: readonly string[];
  /** The sequences it may appear in. */
  in: readonly VariantSequence[];
}

const GUARD = ["if", "unless"] as const;

export const VARIANT_OPS: Readonly<Record<VariantOp, OpSpec>> = Object.freeze({
  "read": { summary: "read a modelled word into a local", fields: ["var", "access", "into", ...GUARD], in: VARIANT_SEQUENCES },
  "write": { summary: "write a modelled word (fq_domain: the domain; quirk: NON_STRICT into `from`; fq: build the queue)",
    fields: ["var", "access", "from", ...GUARD], in: VARIANT_SEQUENCES },
  "smp_mb": { summary: "full barrier", fields: GUARD, in: VARIANT_SEQUENCES },
  "smp_wmb": { summary: "write barrier", fields: GUARD, in: VARIANT_SEQUENCES },
  "smp_rmb": { summary: "read barrier", fields: GUARD, in: VARIANT_SEQUENCES },
  "build-fq": { summary: "build the flush queue (a plain store of fq)", fields: GUARD, in: ["switch"] },
  "publish-fq-domain": { summary: "cookie->fq_domain = domain", fields: ["access", ...GUARD], in: ["switch"] },
  "set-quirk": { summary: "cfg.quirks |= IO_PGTABLE_QUIRK_NON_STRICT", fields: ["access", "from", ...GUARD], in: ["switch"] },
  "set-type": { summary: "domain->type = IOMMU_DOMAIN_DMA_FQ", fields: GUARD, in: ["switch"] },
  "clear-ptes": { summary: "iommu_unmap_fast: clear the PTEs (leaf TLBIs not gathered if `lazyIf`)", fields: ["lazyIf"],
    in: ["unmap"] },
  "iotlb_sync": { summary: "iotlb_sync: TLBI + CMD_SYNC, waited for (skipped if `unless`)", fields: ["unless"],
    in: ["unmap"] },
  "iommu_dma_free_iova": { summary: "`queueIf` ? queue_iova : free_iova_fast (`fq`: the queue as read)",
    fields: ["queueIf", "fq"], in: ["unmap"] },
  "queue_iova": { summary: "queue the IOVA in the flush queue (`fq`: the queue as read)", fields: ["fq", ...GUARD],
    in: ["unmap"] },
  "free_iova_fast": { summary: "free the IOVA at once", fields: GUARD, in: ["unmap"] },
} satisfies Record<VariantOp, OpSpec>);

const OP_NAMES = Object.keys(VARIANT_OPS) as VariantOp[];
const RELEASES: readonly VariantOp[] = ["iommu_dma_free_iova", "queue_iova", "free_iova_fast"];
/** A local's name: a C identifier the litmus export can use as a register. */
const LOCAL = /^[a-z][a-z0-9_]{0,15}$/;
const RESERVED = new Set(["if", "else", "int", "exists", "while", "for", "return", "do", "true", "false"]);
/** The core interprets at most this many locals per sequence (STEP_REGS) and this many steps (SEQ_WORDS - 1). */
export const VARIANT_LIMITS = Object.freeze({ locals: 4, steps: 15 });

// ── resolved steps ─────────────────────────────────────────────────────────────

/** What the core does for an action (STEP_ACT_*). */
export type VariantAction = "clear" | "sync" | "release" | "queue" | "free" | "set-type";

/** A step of a checked variant, with its locals resolved, ready to encode or to explore. */
export interface ResolvedStep {
  /** As written. */
  def: VariantStepDef;
  /** Its 0-based place in its sequence. */
  index: number;
  label: string;
  kind: "load" | "store" | "fence" | "action";
  var?: VariantWord;
  mode?: VariantAccess;
  fence?: "mb" | "wmb" | "rmb";
  action?: VariantAction;
  /** The local a read fills. */
  out?: string;
  /** The local an action decides by (clear-ptes lazyIf, iotlb_sync unless, iommu_dma_free_iova queueIf). */
  decide?: string;
  /** The step's guard. */
  guard?: { local: string; negate: boolean };
  /** The local whose value the step uses (write/set-quirk from; the queue an IOVA is queued on). */
  data?: string;
}

export interface ResolvedSequence {
  steps: ResolvedStep[];
  /** The sequence's locals in order of first write: local i is the core's register i + 1. */
  locals: string[];
}

export interface ResolvedVariant {
  name: string;
  description?: string;
  definition: VariantDefinition;
  switch: ResolvedSequence;
  unmap: ResolvedSequence;
}

const MODE_TEXT: Record<VariantAccess, { read: string; write: string }> = {
  plain: { read: "(plain)", write: "(plain)" },
  once: { read: "READ_ONCE", write: "WRITE_ONCE" },
  acquire: { read: "smp_load_acquire", write: "?" },
  release: { read: "?", write: "smp_store_release" },
};

function guardText(g: ResolvedStep["guard"]): string {
  return g ? `if ${g.negate ? "!" : ""}${g.local}: ` : "";
}

/** The label a step gets when it has none of its own. */
function defaultLabel(s: ResolvedStep): string {
  const d = s.def;
  const g = guardText(s.guard);
  const access = (v: string, mode: VariantAccess, dir: "read" | "write", value: string) =>
    mode === "plain" ? (dir === "read" ? `${v} (plain)` : `${v} = ${value} (plain)`)
      : dir === "read" ? `${MODE_TEXT[mode].read}(${v})` : `${MODE_TEXT[mode].write}(${v}, ${value})`;
  const valueOf = (v: VariantWord, from?: string) =>
    v === "fq_domain" ? "domain" : v === "quirk" ? `${from ?? "quirks"} | NON_STRICT` : "built";
  switch (d.op) {
    case "read": return `${g}${s.out} = ${access(d.var, s.mode!, "read", "")}`;
    case "write": return d.var === "fq" && s.mode === "plain" ? `${g}build the flush queue (rings, counters, timer)`
      : `${g}${access(d.var, s.mode!, "write", valueOf(d.var, d.from))}`;
    case "smp_mb": case "smp_wmb": case "smp_rmb": return `${g}${d.op}()`;
    case "build-fq": return `${g}build the flush queue (rings, counters, timer)`;
    case "publish-fq-domain": return `${g}${access("fq_domain", s.mode!, "write", "domain")}`;
    case "set-quirk": return `${g}${access("cfg.quirks", s.mode!, "write", `${d.from ?? "quirks"} | NON_STRICT`)}`;
    case "set-type": return `${g}domain->type = DMA_FQ`;
    case "clear-ptes": return `clear PTEs${d.lazyIf ? ` (leaf TLBIs gathered iff !${d.lazyIf})` : ""}`;
    case "iotlb_sync": return d.unless ? `if !${d.unless}: iotlb_sync` : "iotlb_sync";
    case "iommu_dma_free_iova": return `${d.queueIf} ? queue_iova : free_iova_fast`;
    case "queue_iova": return `${g}queue_iova`;
    case "free_iova_fast": return `${g}free_iova_fast`;
  }
}

// ── checking ────────────────────────────────────────────────────────────────

type Fail = (field: string, value: unknown, why: string) => never;

/**
 * Check a variant (the JSON shape above) and resolve it. A bad one is an ArgumentError
 * naming the field by its path (`unmap[2].op`), `where` saying whose variant it is.
 */
export function parseVariant(input: unknown, where = "variant", prefix = ""): ResolvedVariant {
  const fail: Fail = (field, v, why) => { throw new ArgumentError(field === "variant" ? prefix.replace(/\.$/, "") || field : prefix + field, v, why, where); };
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    fail("variant", input, 'must be an object { "name"?, "description"?, "switch": [steps], "unmap": [steps] }');
  }
  const def = input as VariantDefinition;
  checkOptions(def, ["name", "description", "switch", "unmap"], where, prefix.replace(/\.$/, ""), "field");
  if (def.name !== undefined && (typeof def.name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(def.name))) {
    fail("name", def.name, "must be 1..64 letters, digits, '.', '_' or '-' (it appears in replay lines)");
  }
  if (def.description !== undefined && typeof def.description !== "string") fail("description", def.description, "must be a string");
  const seqs = {} as Record<VariantSequence, ResolvedSequence>;
  for (const seq of VARIANT_SEQUENCES) seqs[seq] = resolveSequence(def[seq], seq, fail, where, prefix);
  checkSwitchShape(seqs.switch.steps, fail);
  checkUnmapShape(seqs.unmap.steps, fail);
  return { name: def.name ?? "custom", ...(def.description ? { description: def.description } : {}), definition: def, ...seqs };
}

function resolveSequence(list: unknown, seq: VariantSequence, fail: Fail, where: string, prefix: string): ResolvedSequence {
  if (!Array.isArray(list) || list.length === 0) fail(seq, list, "must be a non-empty list of steps");
  const steps = list as unknown[];
  if (steps.length > VARIANT_LIMITS.steps) {
    fail(seq, `${steps.length} steps`, `may have at most ${VARIANT_LIMITS.steps} steps (the core's program area holds ${VARIANT_LIMITS.steps} per sequence)`);
  }
  const locals: string[] = [];
  const out = steps.map((raw, index) => resolveStep(raw, index, seq, locals, fail, where, prefix));
  return { steps: out, locals };
}

function resolveStep(raw: unknown, index: number, seq: VariantSequence, locals: string[], fail: Fail,
                     where: string, prefix: string): ResolvedStep {
  const at = `${seq}[${index}]`;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(at, raw, 'must be a step object { "op": … }');
  const d = raw as Record<string, unknown>;
  if (typeof d.op !== "string" || !Object.hasOwn(VARIANT_OPS, d.op)) { // not `in`: "toString" is no op
    fail(`${at}.op`, d.op, `must be one of the known ops: ${OP_NAMES.join(", ")}`);
  }
  const op = d.op as VariantOp;
  const spec = VARIANT_OPS[op];
  checkOptions(d, ["op", "label", ...spec.fields], where, prefix + at, "field");
  if (!spec.in.includes(seq)) fail(`${at}.op`, op, `is a step of the ${spec.in.join(" or ")}, not of the ${seq}`);
  if (d.label !== undefined && (typeof d.label !== "string" || d.label.length === 0)) fail(`${at}.label`, d.label, "must be a non-empty string");
  /** A local an earlier read of this sequence filled. */
  const used = (field: string): string | undefined => {
    const v = d[field];
    if (v === undefined) return undefined;
    if (typeof v !== "string" || !locals.includes(v)) {
      fail(`${at}.${field}`, v, locals.length ? `must name a local an earlier read of the ${seq} filled (${locals.join(", ")})`
        : `must name a local an earlier read of the ${seq} filled (none does yet: add { "op": "read", …, "into": "…" } before it)`);
    }
    return v as string;
  };
  const mode = (allowed: readonly VariantAccess[]): VariantAccess => {
    const m = d.access ?? "plain";
    if (!allowed.includes(m as VariantAccess)) fail(`${at}.access`, m, `must be one of ${allowed.join(", ")}`);
    return m as VariantAccess;
  };
  const word = (): VariantWord => {
    if (!VARIANT_WORDS.includes(d.var as VariantWord)) fail(`${at}.var`, d.var, `must be one of ${VARIANT_WORDS.join(", ")}`);
    return d.var as VariantWord;
  };
  if (d.if !== undefined && d.unless !== undefined && spec.fields.includes("if")) fail(at, "if and unless", "may have a guard 'if' or 'unless', not both");
  const guardLocal = spec.fields.includes("if") ? used("if") ?? used("unless") : undefined;
  const s: ResolvedStep = { def: raw as VariantStepDef, index, label: "", kind: "action" };
  if (guardLocal) s.guard = { local: guardLocal, negate: d.if === undefined };
  switch (op) {
    case "read": {
      Object.assign(s, { kind: "load", var: word(), mode: mode(["plain", "once", "acquire"]) });
      {
        if (typeof d.into !== "string" || !LOCAL.test(d.into) || RESERVED.has(d.into)) {
          fail(`${at}.into`, d.into, "must be a local's name: a lower-case C identifier of 1..16 characters");
        }
        if (!locals.includes(d.into as string)) {
          if (locals.length === VARIANT_LIMITS.locals) {
            fail(`${at}.into`, d.into, `is a ${VARIANT_LIMITS.locals + 1}th local; a sequence may have at most ${VARIANT_LIMITS.locals} (${locals.join(", ")})`);
          }
          locals.push(d.into as string);
        }
        s.out = d.into as string;
      }
      break;
    }
    case "write": {
      const v = word();
      Object.assign(s, { kind: "store", var: v, mode: mode(["plain", "once", "release"]) });
      const from = used("from");
      if (from && v !== "quirk") fail(`${at}.from`, from, "is only for the quirk word (its read-modify-write); fq_domain and fq take fixed values");
      if (from) s.data = from;
      break;
    }
    case "smp_mb": case "smp_wmb": case "smp_rmb":
      Object.assign(s, { kind: "fence", fence: op.slice(4) as "mb" | "wmb" | "rmb" });
      break;
    case "build-fq": Object.assign(s, { kind: "store", var: "fq", mode: "plain" }); break;
    case "publish-fq-domain": Object.assign(s, { kind: "store", var: "fq_domain", mode: mode(["plain", "once", "release"]) }); break;
    case "set-quirk": {
      Object.assign(s, { kind: "store", var: "quirk", mode: mode(["plain", "once", "release"]) });
      const from = used("from");
      if (from) s.data = from;
      break;
    }
    case "set-type": s.action = "set-type"; break;
    case "clear-ptes": s.action = "clear"; s.decide = used("lazyIf"); break;
    case "iotlb_sync": s.action = "sync"; s.decide = used("unless"); break;
    case "iommu_dma_free_iova": {
      if (d.queueIf === undefined) fail(`${at}.queueIf`, undefined, "is required: the local that decides between queue_iova and free_iova_fast");
      s.action = "release"; s.decide = used("queueIf"); s.data = used("fq");
      break;
    }
    case "queue_iova": s.action = "queue"; s.data = used("fq"); break;
    case "free_iova_fast": s.action = "free"; break;
  }
  if (s.decide === undefined) delete s.decide;
  if (s.data === undefined) delete s.data;
  s.label = (d.label as string | undefined) ?? defaultLabel(s);
  return s;
}

/** The switch builds the queue, publishes fq_domain and sets the type, once each and unguarded. */
function checkSwitchShape(steps: ResolvedStep[], fail: Fail): void {
  const once = (what: string, pick: (s: ResolvedStep) => boolean) => {
    const found = steps.filter(pick);
    if (found.length !== 1) fail("switch", `${found.length} steps that ${what}`, `must ${what} exactly once`);
    if (found[0]!.guard) fail(`switch[${found[0]!.index}]`, found[0]!.def, `must ${what} unconditionally (no 'if'/'unless')`);
  };
  once("build the flush queue (build-fq, or a write of fq)", (s) => s.kind === "store" && s.var === "fq");
  once("publish fq_domain (publish-fq-domain, or a write of fq_domain)", (s) => s.kind === "store" && s.var === "fq_domain");
  once("set the domain's type (set-type)", (s) => s.action === "set-type");
}

/**
 * The unmap clears the PTEs once, before any sync or release, and releases the IOVA exactly
 * once on every path: one iommu_dma_free_iova, queue_iova or free_iova_fast without a guard,
 * or a queue_iova and a free_iova_fast guarded by the same local the opposite ways.
 */
function checkUnmapShape(steps: ResolvedStep[], fail: Fail): void {
  const clears = steps.filter((s) => s.action === "clear");
  if (clears.length !== 1) fail("unmap", `${clears.length} clear-ptes steps`, "must clear the PTEs exactly once (clear-ptes)");
  const first = steps.find((s) => s.action === "sync" || RELEASES.includes(s.def.op));
  if (first && first.index < clears[0]!.index) fail(`unmap[${first.index}]`, first.def.op, "must come after clear-ptes: nothing is unmapped yet");
  const rel = steps.filter((s) => RELEASES.includes(s.def.op));
  const pairOk = rel.length === 2 && rel.every((s) => s.guard) && rel[0]!.guard!.local === rel[1]!.guard!.local &&
    rel[0]!.guard!.negate !== rel[1]!.guard!.negate && new Set(rel.map((s) => s.action)).size === 2 &&
    !steps.some((s) => s.out === rel[0]!.guard!.local && s.index > rel[0]!.index && s.index < rel[1]!.index);
  if (!(rel.length === 1 && !rel[0]!.guard) && !pairOk) {
    fail("unmap", `${rel.length} release steps`, "must release the IOVA exactly once on every path: one iommu_dma_free_iova, " +
      "queue_iova or free_iova_fast without a guard, or queue_iova with 'if': L and free_iova_fast with 'unless': L " +
      "(the same local, not re-read between them)");
  }
}

/** The registers a step uses, by the core's numbering (local i → register i + 1; 0 none). */
export function registerOf(seq: ResolvedSequence, local: string | undefined): number {
  return local === undefined ? 0 : seq.locals.indexOf(local) + 1;
}
