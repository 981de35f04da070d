// Number formatting and the report's tables, shared by the terminal summary (text.ts) and
// the HTML report (html.ts): both show the same rows, so a column added here shows up in
// both, and the two never disagree on how a number is written.

import { TIME_CODES, sumTimeBreakdowns, type TimeBreakdown } from "../cpu-time.js";
import { COMMAND_KINDS } from "../smmu/commands.js";
import { REGISTER_KINDS } from "../smmu/registers.js";
import type { Histogram, RunReport } from "./types.js";

/** Column alignment: text left, numbers right (so digits line up). */
export type Align = "l" | "r";

/** A table as strings: what the terminal pads and the HTML puts in <td>s. */
export interface Table {
  headers: string[];
  align: Align[];
  rows: string[][];
  /** Rows drawn apart after the body (the total row). */
  footer?: string[][];
}

/** A labelled value: the sections that are lists rather than tables (SMMU, IOVA, ...). */
export type Fact = [label: string, value: string];

const DASH = "–";

/** Digits grouped by thousands with commas ("1,234,567"); written by hand so the output is the same under any locale. */
function groupDigits(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** n with `decimals` decimals and thousands separators; a dash for NaN/Infinity (a rate over no time). */
export function fmtNum(n: number, decimals = 0): string {
  if (!Number.isFinite(n)) return DASH;
  const fixed = Math.abs(n).toFixed(decimals);
  const [int = "0", frac] = fixed.split(".");
  const sign = n < 0 && Number(fixed) !== 0 ? "-" : "";
  return sign + groupDigits(int) + (frac ? "." + frac : "");
}

/** An integer count ("12,345"). */
export function fmtInt(n: number): string {
  return fmtNum(Math.round(n), 0);
}

/** A measurement with as many decimals as its size deserves: 1,234 / 56.7 / 8.91 / 0.123. */
export function fmtAuto(n: number): string {
  const a = Math.abs(n);
  if (a >= 100 || n === 0) return fmtNum(n, 0);
  if (a >= 10) return fmtNum(n, 1);
  if (a >= 1) return fmtNum(n, 2);
  return fmtNum(n, 3);
}

/** A 0..1 rate as a percentage ("97.3%"). */
export function fmtPct(rate: number): string {
  return Number.isFinite(rate) ? `${(rate * 100).toFixed(1)}%` : DASH;
}

/** An address in hex ("0x7f001000"); addresses stay below 2^53, so a Number holds them exactly. */
export function fmtHex(n: number): string {
  return n < 0 || !Number.isFinite(n) ? String(n) : "0x" + n.toString(16);
}

/** A short number for axis ticks and bucket labels: 950, 1.5k, 12k, 3.2M. */
export function fmtCompact(n: number): string {
  const a = Math.abs(n);
  const units: [number, string][] = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [scale, suffix] of units) {
    if (a >= scale) {
      const v = n / scale;
      return (Math.abs(v) >= 10 ? v.toFixed(0) : String(Number(v.toFixed(1)))) + suffix;
    }
  }
  return a >= 10 || Number.isInteger(n) ? n.toFixed(0) : String(Number(n.toFixed(2)));
}

/** The report writes micro as "us" (ASCII); people read "µs". */
export function unitLabel(unit: string): string {
  return unit === "us" ? "µs" : unit;
}

/** A modelled time in µs, switching to ms past 10 ms so large values stay short. */
export function fmtUs(us: number): string {
  return us >= 10_000 ? `${fmtNum(us / 1000, 2)} ms` : `${fmtAuto(us)} µs`;
}

/** "p50/p99" of a histogram (interpolated, see Histogram), or a dash when it has no samples (a CPU that never unmapped). */
export function fmtP50P99(h: Histogram): string {
  return h.samples > 0 ? `${fmtAuto(h.p50)}/${fmtAuto(h.p99)}` : DASH;
}

export function scenarioFacts(r: RunReport): Fact[] {
  const s = r.scenario;
  return [
    ["scenario", s.name],
    ["profile", s.kernel ?? s.profile],
    ["workers", fmtInt(s.workers)],
    ["cpus", fmtInt(s.cpus)],
    ["seed", String(s.seed)],
    ["oracle", s.oracle ? "on" : "off"],
    ...(s.machine !== undefined ? [["machine", s.machine] as Fact] : []),
    ...(s.contention ? [["contention", "in modelled time"] as Fact] : []),
  ];
}

/** Under the CPU table: the clock and the kind of number of its p50/p99 columns (too long for their headers). */
export const QUANTILE_NOTE =
  "map/unmap p50/p99: modelled ns, interpolated within the latency histogram's buckets (4 per power of two)";

/** One row per simulated CPU and a total row: the run's work and what each operation cost. */
export function cpuTable(r: RunReport): Table {
  const headers = ["cpu", "worker", "workload", "ops", "maps", "unmaps", "accesses", "violations",
    "modelled ns/op", "map p50/p99", "unmap p50/p99"];
  const align: Align[] = ["r", "r", "l", "r", "r", "r", "r", "r", "r", "r", "r"];
  const rows = r.perCpu.map((c) => [
    String(c.cpu), String(c.worker), c.workload, fmtInt(c.ops), fmtInt(c.maps), fmtInt(c.unmaps),
    fmtInt(c.deviceAccesses), fmtInt(c.violations), fmtAuto(c.modelledNsPerOp),
    fmtP50P99(c.mapLatency), fmtP50P99(c.unmapLatency),
  ]);
  const t = r.totals;
  const total = ["all", "", "", fmtInt(t.ops), fmtInt(t.maps), fmtInt(t.unmaps), fmtInt(t.deviceAccesses),
    fmtInt(t.violations), fmtAuto(t.modelledNsPerOp), fmtP50P99(r.latency.map), fmtP50P99(r.latency.unmap)];
  return { headers, align, rows, footer: [total] };
}

/**
 * Where each simulated CPU's modelled time went: the kernel's own work, the command queue,
 * CMD_SYNC waits, the spinlocks and requested delays, as shares of its clock (the parts add
 * up to it). CPUs that spent nothing (devices) are left out.
 */
export function timeTable(r: RunReport): Table {
  const parts = Object.keys(TIME_CODES) as (keyof TimeBreakdown)[];
  const cpus = r.perCpu.filter((c) => c.modelledNs > 0);
  const share = (t: TimeBreakdown, total: number, k: keyof TimeBreakdown) => (total > 0 ? fmtPct(t[k] / total) : "–");
  const rows = cpus.map((c) => [String(c.cpu), c.workload, fmtUs(c.modelledNs / 1000), ...parts.map((k) => share(c.time, c.modelledNs, k))]);
  const sum = sumTimeBreakdowns(cpus.map((c) => c.time));
  const total = cpus.reduce((n, c) => n + c.modelledNs, 0);
  return {
    headers: ["cpu", "workload", "modelled", ...parts],
    align: ["r", "l", "r", ...parts.map(() => "r" as const)],
    rows,
    footer: [["all", "", fmtUs(total / 1000), ...parts.map((k) => share(sum, total, k))]],
  };
}

/**
 * The commands by kind, in opcode order whatever the counts ("CMD_TLBI_NH_VA 1,234, CMD_SYNC
 * 1,300"), kinds never sent left out; keys of an older report that are not kinds follow.
 */
export function commandList(r: RunReport): string {
  const c = r.smmu.commands;
  const known = COMMAND_KINDS.filter((k) => (c[k] ?? 0) > 0).map((k) => [k, c[k]!] as const);
  const other = Object.entries(c).filter(([k, n]) => !(COMMAND_KINDS as readonly string[]).includes(k) && n > 0);
  const kinds = [...known, ...other];
  return kinds.length === 0 ? "none" : kinds.map(([k, n]) => `${k} ${fmtInt(n)}`).join(", ");
}

/**
 * An SMMU v1/v2's register operations by kind, in the core's order ("TLBIVAL 1,000,
 * TLBSYNC 1,000, TLBSTATUS 6,000"), kinds never used left out.
 */
export function registerList(r: RunReport): string {
  const c = r.smmu.registers ?? {};
  const kinds = REGISTER_KINDS.filter((k) => (c[k] ?? 0) > 0);
  return kinds.length === 0 ? "none" : kinds.map((k) => `${k} ${fmtInt(c[k]!)}`).join(", ");
}

export function smmuFacts(r: RunReport): Fact[] {
  const s = r.smmu;
  if (s.registers !== undefined) {
    return [
      ["model", `SMMU ${s.model ?? "v2"} (arm-smmu: TLB-maintenance registers, no command queue)`],
      ...smmuCacheFacts(r),
      ["registers", registerList(r)],
    ];
  }
  return [...smmuCacheFacts(r), ["commands", commandList(r)]];
}

function smmuCacheFacts(r: RunReport): Fact[] {
  const s = r.smmu;
  return [
    ["translations", fmtInt(s.translations)],
    ["TLB hit rate", `${fmtPct(s.iotlbHitRate)} (micro-TLB hits ${fmtInt(s.microTlbHits)}, IOTLB hits ` +
      `${fmtInt(s.iotlbHits)}, misses ${fmtInt(s.iotlbMisses)})`],
    ["walks", fmtInt(s.walks) + (s.walksQueued > 0
      ? ` (${fmtInt(s.walksQueued)} waited for a walker, ${fmtUs(s.walkWaitNs / 1000)} in all)` : "")],
    ["PTE reads", fmtInt(s.pteReads)],
    ["walk-cache hits", fmtInt(s.walkCacheHits)],
    ["faults", fmtInt(s.faults)],
    ["modelled time", fmtUs(s.modelledNs / 1000)],
  ];
}

/** The magazines' size (IOVA_MAG_SIZE) the domains ran with: one number, or each domain's where they differ. */
function magazinesText(r: RunReport): string {
  const known = r.domains.filter((d) => d.magazineSize !== undefined);
  if (known.length === 0) return "";
  const sizes = new Set(known.map((d) => d.magazineSize));
  return sizes.size === 1 ? `, magazines of ${known[0]!.magazineSize}`
    : `, magazines of ${known.map((d) => `${d.magazineSize} (${d.name})`).join(", ")}`;
}

export function iovaFacts(r: RunReport): Fact[] {
  const v = r.iova;
  return [
    ["rcache hit rate", fmtPct(v.rcacheHitRate)],
    ["alloc_iova_fast", `rcache hits ${fmtInt(v.rcacheHits)}, misses ${fmtInt(v.rcacheMisses)}`],
    ["depot", `${fmtInt(v.depotHits)} hits via a depot magazine (${fmtPct(v.depotHitRate)} of hits)${magazinesText(r)}`],
    ["rbtree", `allocs ${fmtInt(v.treeAllocs)}, frees ${fmtInt(v.treeFrees)}`],
    ["magazine alloc failures", fmtInt(v.magazineAllocFailures)],
  ];
}

export function fqFacts(r: RunReport): Fact[] {
  const f = r.fq;
  return [
    ["flushes", `ring full ${fmtInt(f.flushes.ringFull)}, timer ${fmtInt(f.flushes.timer)}, other ${fmtInt(f.flushes.other)}`],
    ["entries queued", fmtInt(f.entriesQueued)],
    ["max occupancy", fmtInt(f.maxOccupancy)],
  ];
}

/**
 * The live switch and the seed race's signature, when there is something to say: a
 * switcher's rounds and switches, and each domain's unmaps that skipped the sync yet freed
 * the IOVA at once (mixed decisions) or found fq_domain set but no queue. Empty otherwise.
 */
export function switchFacts(r: RunReport): Fact[] {
  const facts: Fact[] = r.switcher.rounds > 0
    ? [["switcher", `${fmtInt(r.switcher.rounds)} rounds, ${fmtInt(r.switcher.switches)} switches to lazy`]]
    : [];
  for (const d of r.domains) {
    if (d.dma.mixedDecisions > 0) facts.push([`${d.name} mixed decisions`, fmtInt(d.dma.mixedDecisions)]);
    if (d.dma.queueMissing > 0) facts.push([`${d.name} queue missing`, fmtInt(d.dma.queueMissing)]);
  }
  return facts;
}

/** The lazy window's statistics, in modelled time; its unit comes from the histogram (µs in practice). */
export function lazyFacts(r: RunReport): Fact[] {
  const open: Fact = ["still open at the end", fmtInt(r.lazyWindowsOpen)];
  const lost: Fact[] = r.lazyWindowsLost > 0 ? [["not measured", fmtInt(r.lazyWindowsLost)]] : [];
  const attacker: Fact[] = r.attacker.retries > 0
    ? [["attacker reads", `${fmtInt(r.attacker.retries)}, ${fmtInt(r.attacker.staleReads)} still reached memory, ` +
         `${fmtInt(r.attacker.faults)} faulted`],
       ...histFacts("attacker saw", r.attackerWindow)]
    : [];
  if (r.lazyWindow.samples === 0) return [["samples", "0"], open, ...lost, ...attacker];
  return [...histFacts("", r.lazyWindow), open, ...lost, ...attacker];
}

/** A histogram's figures; every one is modelled time, which the first label says once for all. */
function histFacts(prefix: string, h: RunReport["lazyWindow"]): Fact[] {
  const u = unitLabel(h.unit);
  const p = prefix ? `${prefix} ` : "";
  return [
    [`${p}samples`, fmtInt(h.samples)],
    [`modelled ${u}:`, `mean ${fmtAuto(h.mean)}, p50 ${fmtAuto(h.p50)}, p99 ${fmtAuto(h.p99)}, max < ${fmtAuto(h.max)}`],
  ];
}

/** The scenario's events: when each was due, when it happened, and what the kernel said. */
export function eventTable(r: RunReport): Table {
  return {
    headers: ["due", "at (modelled)", "cpu", "action", "target", "result"],
    align: ["l", "r", "r", "l", "l", "l"],
    rows: r.events.map((e) => [e.due, fmtUs(e.atUs), e.cpu < 0 ? "orchestrator" : String(e.cpu), e.action, e.target, e.result]),
  };
}

export function timingFacts(r: RunReport): Fact[] {
  return [
    ["wall time", `${fmtNum(r.timing.wallMs, 1)} ms`],
    ["throughput", `${fmtInt(r.timing.opsPerSec)} wall ops/s`],
  ];
}

export function workerTable(r: RunReport): Table {
  return {
    headers: ["worker", "cpus", "ops", "wall ms", "wall ops/s"],
    align: ["r", "l", "r", "r", "r"],
    rows: r.timing.perWorker.map((w) => [
      String(w.worker), w.cpus.join(","), fmtInt(w.ops), fmtNum(w.wallMs, 1), fmtInt(w.opsPerSec),
    ]),
  };
}

/** How many violations the run had: the list may be capped, the total count is not. */
export function violationCount(r: RunReport): number {
  return Math.max(r.totals.violations, r.violations.length);
}

/** The one-line head of a violation: its class and the access the oracle objected to. */
export function violationHead(v: RunReport["violations"][number]): string {
  return `${v.class}: stream ${v.streamId}, iova ${fmtHex(v.iova)}, pa ${fmtHex(v.pa)}`;
}
