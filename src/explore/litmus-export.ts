// Writes an explore scenario with a code variant as a C litmus test in herd7's dialect, so
// that a developer can cross-check the explorer's verdict with herd7 and the Linux-kernel
// memory model (tools/memory-model). What is written is the modelled words' accesses only:
// each CPU thread that switches or unmaps becomes a process P0.., each read and write of
// fq_domain, fq (the flush queue, "built") and quirk (io-pgtable's cfg.quirks) a
// READ_ONCE/WRITE_ONCE, plain access, smp_load_acquire or smp_store_release, each barrier an
// smp_*(), each guard an `if`; the kernel operations between them (clearing PTEs, the sync,
// queue_iova / free_iova_fast, the map and the device's DMA) touch none of these words and are
// left as comments. The `exists` clause is the bad outcome in the unmaps' locals: an IOVA
// freed at once although its invalidation was skipped (the seed race), or queued on a
// queue the CPU saw not yet built (hazard 1). Values: fq_domain and fq are 0/1 flags, and
// quirk holds 1 for IO_PGTABLE_QUIRK_NON_STRICT.

import { ArgumentError } from "../errors.js";
import { checkOptions } from "../validate.js";
import type { SeedVariant } from "../variants/seed.js";
import { resolveVariant } from "../variants/program.js";
import {
  VARIANT_WORDS, type ResolvedSequence, type ResolvedStep, type ResolvedVariant, type VariantDefinition, type VariantWord,
} from "../variants/vocabulary.js";
import { BUILTIN_SCENARIOS, initialState, validateScenario, type Scenario, type ScenarioOp } from "./scenario.js";

export interface ExportLitmusOptions {
  /** The switch and unmap code (overrides the scenario's; default the scenario's, else merged). */
  variant?: SeedVariant | VariantDefinition;
  /** The test's name (default `<scenario>+<variant>`). */
  name?: string;
}

/** A condition of the exists clause, before it is printed. */
type Cond = { t: "true" } | { t: "false" } | { t: "reg"; proc: number; reg: string; zero: boolean }
  | { t: "and" | "or"; parts: Cond[] };

const TRUE: Cond = { t: "true" };
const FALSE: Cond = { t: "false" };

/** The parts of a conjunction or disjunction, nested ones of the same kind flattened. */
function flat(kind: "and" | "or", parts: Cond[]): Cond[] {
  return parts.flatMap((p) => (p.t === kind ? p.parts : [p]));
}

function and(...parts: Cond[]): Cond {
  if (parts.some((p) => p.t === "false")) return FALSE;
  const rest = flat("and", parts.filter((p) => p.t !== "true"));
  return rest.length === 0 ? TRUE : rest.length === 1 ? rest[0]! : { t: "and", parts: rest };
}

function or(...parts: Cond[]): Cond {
  if (parts.some((p) => p.t === "true")) return TRUE;
  const rest = flat("or", parts.filter((p) => p.t !== "false"));
  return rest.length === 0 ? FALSE : rest.length === 1 ? rest[0]! : { t: "or", parts: rest };
}

/**
 * A C litmus test (herd7's dialect) of `scenario` (a built-in name or a Scenario) run with
 * a variant: its CPUs' accesses to the modelled words, and an `exists` clause for the bad
 * outcome. Map-only and device threads have no such accesses and are left out (named in a comment).
 */
export function exportLitmus(scenario: string | Scenario, options?: ExportLitmusOptions): string {
  const opts = checkOptions(options, ["variant", "name"], "exportLitmus");
  let sc: Scenario;
  let scName: string;
  if (typeof scenario === "string") {
    const b = BUILTIN_SCENARIOS[scenario];
    if (!b) throw new ArgumentError("scenario", scenario, `is not a built-in scenario (${Object.keys(BUILTIN_SCENARIOS).join(", ")})`, "exportLitmus");
    sc = b;
    scName = scenario;
  } else {
    sc = validateScenario(scenario, "exportLitmus");
    scName = sc.name ?? "scenario";
  }
  const v = resolveVariant(opts.variant ?? sc.variant ?? "merged", "exportLitmus");
  if (opts.name !== undefined && (typeof opts.name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(opts.name))) {
    throw new ArgumentError("name", opts.name, "must be a litmus test name: letters, digits, '.', '_', '+' or '-'", "exportLitmus");
  }
  const name = opts.name ?? `${scName}+${v.name}`.replace(/[^A-Za-z0-9._+-]/g, "_");
  checkExportable(sc, scName);
  return writeTest(name, scName, sc, v);
}

/**
 * Refuses a scenario none of whose threads switches or unmaps: it has no access to the
 * modelled words, so the test would have no process (which no litmus tool takes) and say
 * nothing. The races such scenarios model (a block split, the flush queue's timer against
 * its teardown, two probes) live in kernel state a litmus test of these words cannot hold.
 */
function checkExportable(sc: Scenario, scName: string): void {
  if (Object.values(sc.threads).some((ops) => ops.some((op) => "switch" in op || "unmap" in op))) return;
  throw new ArgumentError("scenario", scName,
    "has no modelled shared access to export: no thread switches or unmaps (a litmus test holds only the reads and " +
    "writes of fq_domain, fq and quirk; this scenario's race is in kernel state the explorer runs itself — explore it instead)",
    "exportLitmus");
}

interface Proc { thread: string; lines: string[]; regs: string[] }

function writeTest(name: string, scName: string, sc: Scenario, v: ResolvedVariant): string {
  // fq_domain always: an exists clause no register decides is written over it.
  const words = new Set<VariantWord>(["fq_domain"]);
  const procs: Proc[] = [];
  const left: string[] = [];
  const bad: Cond[] = [];
  for (const [thread, ops] of Object.entries(sc.threads)) {
    if (!ops.some((op) => "switch" in op || "unmap" in op)) {
      left.push(thread);
      continue;
    }
    const p: Proc = { thread, lines: [], regs: [] };
    const index = procs.length;
    let n = 0;
    for (const op of ops) {
      if ("switch" in op || "unmap" in op) {
        const seq = "switch" in op ? v.switch : v.unmap;
        // A register is the local's name, unless that is a shared word's too; the n-th
        // sequence of a thread suffixes its registers so that they stay apart.
        const reg = (local: string) => {
          const base = (VARIANT_WORDS as readonly string[]).includes(local) ? `r_${local}` : local;
          return n === 0 ? base : `${base}_${n + 1}`;
        };
        p.lines.push(`\t/* ${"switch" in op ? "the switch to lazy" : `dma_unmap(${op.unmap})`} */`);
        for (const s of seq.steps) p.lines.push(statement(s, reg, words));
        for (const local of seq.locals) if (!p.regs.includes(reg(local))) p.regs.push(reg(local));
        if ("unmap" in op) bad.push(unmapBad(seq, index, reg));
        n++;
      } else p.lines.push(`\t/* ${describeOp(op)}: no modelled access */`);
    }
    procs.push(p);
  }
  const params = [...words].sort().map((w) => `int *${w}`).join(", ");
  const init = initialState(sc, v);
  const out = [
    `C ${name}`,
    "",
    "(*",
    ` * iommu-sim: scenario ${scName}, variant ${v.name}${v.description ? ` (${v.description})` : ""}.`,
    " * The modelled words' accesses only: fq_domain (cookie->fq_domain), fq (the flush queue,",
    " * 1 once built), quirk (io-pgtable's cfg.quirks, 1 for NON_STRICT). exists: an unmap freed",
    " * its IOVA at once although its invalidation was skipped, or queued it on a queue it saw",
    " * not yet built.",
    ...(left.length ? [` * Left out (no modelled access): ${left.join(", ")}.`] : []),
    " *)",
    "",
    `{ ${Object.entries(init).filter(([, x]) => x !== 0).map(([w, x]) => `${w}=${x};`).join(" ")} }`.replace("{  }", "{}"),
    "",
  ];
  procs.forEach((p, i) => {
    out.push(`P${i}(${params})`, "{");
    for (const r of p.regs) out.push(`\tint ${r};`);
    if (p.regs.length) out.push("");
    out.push(...p.lines, "}", "");
  });
  out.push(`exists ${printCond(or(...bad))}`, "");
  return out.join("\n");
}

function describeOp(op: ScenarioOp): string {
  if ("map" in op) return `dma_map(${op.map})`;
  if ("access" in op) return `the device ${op.kind ?? "write"}s ${op.access}`;
  if ("iommuMap" in op) return `iommu_map(${op.iommuMap})`;
  if ("iommuUnmap" in op) return `iommu_unmap(${op.iommuUnmap})`;
  if ("fqTimeout" in op) return "the flush queue's timer callback";
  if ("fqTeardown" in op) return "the flush queue's teardown";
  if ("probe" in op) return "a device probing (iommu_dma_init_domain)";
  if ("newCookie" in op) return "a new DMA cookie";
  return "switch" in op ? "the switch" : `dma_unmap(${op.unmap})`;
}

const READS = { plain: (w: string) => `*${w}`, once: (w: string) => `READ_ONCE(*${w})`, acquire: (w: string) => `smp_load_acquire(${w})` };

/** One step as a C statement (a comment for the kernel operations). */
function statement(s: ResolvedStep, reg: (local: string) => string, words: Set<VariantWord>): string {
  const guard = s.guard ? `if (${s.guard.negate ? "!" : ""}${reg(s.guard.local)}) ` : "";
  let body: string;
  if (s.kind === "load") {
    words.add(s.var!);
    body = `${reg(s.out!)} = ${READS[s.mode as keyof typeof READS](s.var!)};`;
  } else if (s.kind === "store") {
    words.add(s.var!);
    // quirk |= NON_STRICT with NON_STRICT as 1: `from | 1` is 1 for a from of 0 or 1; written
    // so that the data dependency on `from` stays.
    const value = s.data !== undefined ? `1 + ${reg(s.data)} - ${reg(s.data)}` : "1";
    body = s.mode === "once" ? `WRITE_ONCE(*${s.var}, ${value});` : s.mode === "release" ? `smp_store_release(${s.var}, ${value});`
      : `*${s.var} = ${value};`;
  } else if (s.kind === "fence") body = `smp_${s.fence}();`;
  else return `\t/* ${guard}${s.label.replace(/\*\//g, "* /")} */`;
  return `\t${guard}${body}\t/* ${s.label.replace(/\*\//g, "* /")} */`;
}

/** The bad outcome of one unmap (process `proc`), in its locals. */
function unmapBad(seq: ResolvedSequence, proc: number, reg: (local: string) => string): Cond {
  const set = (local: string): Cond => ({ t: "reg", proc, reg: reg(local), zero: false });
  const zero = (local: string): Cond => ({ t: "reg", proc, reg: reg(local), zero: true });
  const guardHolds = (s: ResolvedStep): Cond => (s.guard ? (s.guard.negate ? zero(s.guard.local) : set(s.guard.local)) : TRUE);
  const clear = seq.steps.find((s) => s.action === "clear")!;
  const syncs = seq.steps.filter((s) => s.action === "sync");
  // The invalidation is incomplete when the leaves were not gathered, or every sync was skipped.
  const lazy = clear.decide ? set(clear.decide) : FALSE;
  const skipped = and(...syncs.map((s) => (s.decide ? set(s.decide) : FALSE)));
  const incomplete = or(lazy, skipped);
  const parts: Cond[] = [];
  for (const s of seq.steps) {
    if (s.action === "release") {
      parts.push(and(zero(s.decide!), incomplete));
      if (s.data) parts.push(and(set(s.decide!), zero(s.data)));
    } else if (s.action === "free") parts.push(and(guardHolds(s), incomplete));
    else if (s.action === "queue" && s.data) parts.push(and(guardHolds(s), zero(s.data)));
  }
  return or(...parts);
}

function printCond(c: Cond): string {
  switch (c.t) {
    // No register decides: an always-true or never-true clause over a location's final value.
    case "true": return "(fq_domain=0 \\/ ~fq_domain=0)";
    case "false": return "(fq_domain=0 /\\ ~fq_domain=0)";
    case "reg": return `${c.zero ? "" : "~"}${c.proc}:${c.reg}=0`;
    case "and": case "or": {
      return `(${c.parts.map(printCond).join(c.t === "and" ? " /\\ " : " \\/ ")})`;
    }
  }
}
