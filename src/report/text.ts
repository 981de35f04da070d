// The terminal summary of a run: a few dozen plain lines (no colours, so it reads the same
// in a log file) saying what ran, whether it went as expected, what each simulated CPU did
// and what the SMMU, the IOVA allocator and the flush queue saw.

import {
  QUANTILE_NOTE, cpuTable, eventTable, timeTable, fmtInt, fqFacts, iovaFacts, lazyFacts, scenarioFacts, smmuFacts,
  switchFacts, timingFacts, violationCount, violationHead, workerTable, type Fact, type Table,
} from "./format.js";
import type { RunReport, ViolationReport } from "./types.js";
import { terminalText } from "../terminal.js";
import { checkReportShape } from "./schema.js";

/** Violations listed in full; the rest are counted (a buggy run can have thousands). */
const MAX_VIOLATIONS = 10;
/** Trace lines shown per violation: the first few hold the map/unmap/flush that matter. */
const MAX_TRACE_LINES = 6;
/** Fact lists wrap before this width so they fit a normal terminal. */
const WIDTH = 100;

/**
 * The summary of a run as lines, for console.log(lines.join("\n")). Each line is safe for a
 * terminal: names from the scenario or the report cannot move the cursor or forge a line.
 */
export function formatSummary(report: RunReport): string[] {
  checkReportShape(report, "formatSummary");
  return summaryLines(report).map(terminalText);
}

function summaryLines(report: RunReport): string[] {
  return [
    ...factLine("Run", scenarioFacts(report)),
    outcomeLine(report),
    "",
    ...formatTable(cpuTable(report)),
    QUANTILE_NOTE,
    "",
    "Where each CPU's modelled time went:",
    ...indent(formatTable(timeTable(report))),
    "",
    ...factLine("SMMU", smmuFacts(report)),
    ...factLine("IOVA", iovaFacts(report)),
    ...factLine("Flush queue", fqFacts(report)),
    ...factLine("Lazy window", lazyFacts(report)),
    ...(switchFacts(report).length ? factLine("Live switch", switchFacts(report)) : []),
    ...eventSection(report),
    ...violationSection(report),
    "",
    ...factLine("Timing", timingFacts(report)),
    ...indent(formatTable(workerTable(report))),
  ];
}

/** Pads every column to its widest cell; a rule under the header and above the footer. */
export function formatTable(t: Table): string[] {
  const all = [t.headers, ...t.rows, ...(t.footer ?? [])];
  const widths = t.headers.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  const line = (row: string[]) =>
    widths.map((w, i) => (t.align[i] === "r" ? (row[i] ?? "").padStart(w) : (row[i] ?? "").padEnd(w)))
      .join("  ").trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const footer = t.footer?.length ? [rule, ...t.footer.map(line)] : [];
  return [line(t.headers), rule, ...t.rows.map(line), ...footer];
}

/** "Title  label value, label value, ..." wrapped at WIDTH, continuation lines indented. */
function factLine(title: string, facts: Fact[]): string[] {
  const head = `${title}:`.padEnd(13);
  const lines: string[] = [];
  let current = head;
  facts.forEach(([label, value], i) => {
    const piece = `${label} ${value}`;
    if (i === 0) current += piece;
    else if (current.length + 3 + piece.length > WIDTH) {
      lines.push(current);
      current = " ".repeat(head.length) + piece;
    } else current += " · " + piece;
  });
  lines.push(current);
  return lines;
}

/** One line however long the message: the status, whether the scenario expected it, and why. */
function outcomeLine(r: RunReport): string {
  const o = r.outcome;
  const verdict = o.asExpected ? "as expected" : "NOT AS EXPECTED";
  return `${"Outcome:".padEnd(13)}${o.status} (expected ${o.expected}: ${verdict}) · ${o.message}`;
}

function eventSection(r: RunReport): string[] {
  if (r.events.length === 0) return [];
  return ["", `Events (${r.events.length}):`, ...indent(formatTable(eventTable(r)))];
}

function violationSection(r: RunReport): string[] {
  const total = violationCount(r);
  if (total === 0) return [];
  const shown = r.violations.slice(0, MAX_VIOLATIONS);
  const lines = ["", `Violations (${fmtInt(total)}):`];
  shown.forEach((v, i) => lines.push(...formatViolation(v, i + 1)));
  const more = total - shown.length;
  if (more > 0) lines.push(`  ... and ${fmtInt(more)} more violation${more === 1 ? "" : "s"} not shown`);
  return lines;
}

/** A violation: its head, the oracle's explanation, and the start of the access's history. */
function formatViolation(v: ViolationReport, n: number): string[] {
  const trace = v.trace.slice(0, MAX_TRACE_LINES).map((t) => `       | ${t}`);
  const rest = v.trace.length - trace.length;
  if (rest > 0) trace.push(`       | (${rest} more trace line${rest === 1 ? "" : "s"})`);
  return [`  ${String(n).padStart(2)}. ${violationHead(v)}`, `      ${v.explanation}`, ...trace];
}

function indent(lines: string[]): string[] {
  return lines.map((l) => "  " + l);
}
