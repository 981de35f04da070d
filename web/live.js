// The live view's controller: starts a built-in scenario on Web Workers (startScenario with
// keepOpen, so the machine can be read until we close it), then every FRAME_MS reads the
// shared memory — counters, the IOTLB, the first domain's page table and flush queue —
// and hands it to the views, yielding to the page between views so that no frame is one long
// task. Reading is lock-free and short; the page's thread never waits on the workers
// (browsers forbid Atomics.wait here, and a long frame would freeze the page).

import { BUILTIN_RUN_SCENARIOS, startScenario, formatSummary } from "/dist/index.js";
import { $, fmt, pct } from "./util.js";
import { createIotlbView } from "./iotlb-view.js";
import { createPageTableView } from "./pagetable-view.js";
import { createFqView } from "./fq-view.js";
import { createCharts } from "./charts.js";

/** ~6–7 frames a second: enough to see queues fill and drain, cheap enough to never stall. */
const FRAME_MS = 150;
/** Chart points are rates over this much wall time (one frame would be too noisy). */
const CHART_MS = 500;
/** The operations per CPU a scenario may ask for (src/run/scenario.ts: a workload's ops). */
const MAX_OPS = 1_000_000_000;

let views;
/** The run being watched: { run, domainName, domain, cpus, drivers, floors, timer, last, lastChart, inFlight, closing }. */
let current;

export function initLive() {
  views = {
    iotlb: createIotlbView($("iotlb"), $("iotlb-tip")),
    pt: createPageTableView($("pt-tree")),
    fq: createFqView($("fq-bars")),
    charts: createCharts($("chart-ops"), $("chart-window")),
  };
  const select = $("scenario");
  for (const name of Object.keys(BUILTIN_RUN_SCENARIOS)) select.append(new Option(name, name));
  select.addEventListener("change", describeScenario);
  describeScenario();
  $("ops").addEventListener("input", () => showOpsError(undefined));
  $("start").addEventListener("click", () => start().catch(showError));
  $("stop").addEventListener("click", () => current?.run.stop());
  $("switch-lazy").addEventListener("click", switchToLazy);
}

function describeScenario() {
  const sc = BUILTIN_RUN_SCENARIOS[$("scenario").value];
  $("scenario-description").textContent = sc.description ?? "";
  $("ops").value = sc.workloads[0].ops;
  const timed = (sc.events ?? []).some((e) => e.action === "switch-to-lazy");
  $("timed-switch-label").hidden = !timed;
  $("timed-switch").checked = false;
}

/**
 * The operations per CPU the field asks for, or undefined after saying (next to the field)
 * what is wrong: a count the page cannot run is refused, never replaced by another.
 */
function opsPerCpu() {
  const text = $("ops").value.trim();
  const n = Number(text);
  if (text !== "" && Number.isInteger(n) && n >= 1 && n <= MAX_OPS) return n;
  // An <input type=number> holding something that is no number reads as "" (the browser drops it).
  const got = text === "" ? ($("ops").validity.badInput ? "something that is not a number" : "nothing") : `"${text}"`;
  showOpsError(`Operations per CPU must be a whole number from 1 to ${fmt(MAX_OPS)}; got ${got}.`);
  return undefined;
}

function showOpsError(message) {
  const e = $("ops-error");
  e.hidden = message === undefined;
  e.textContent = message ?? "";
  $("ops").setAttribute("aria-invalid", message === undefined ? "false" : "true");
}

/** The chosen built-in scenario, with the page's operation count and, unless kept, no timed events. */
function chosenScenario(ops) {
  const sc = structuredClone(BUILTIN_RUN_SCENARIOS[$("scenario").value]);
  for (const w of sc.workloads) w.ops = ops;
  // An SMMU v2 runs the arm-smmu driver: register writes (TLBIVAL, TLBSYNC …) instead of commands.
  sc.smmu = { ...(sc.smmu ?? {}), model: $("smmu-model").value };
  // The nic scenario switches at 50% on its own; on this page the button does it instead.
  if (!$("timed-switch").checked) sc.events = [];
  return sc;
}

async function start() {
  if (current) return;
  const ops = opsPerCpu();
  if (ops === undefined) return;
  setRunning(true, "starting…");
  $("summary-panel").hidden = true;
  $("switch-result").textContent = "";
  const sc = chosenScenario(ops);
  const run = await startScenario(sc, { workers: Number($("workers").value), keepOpen: true });
  const domainName = run.scenario.domains[0].name;
  const drivers = run.scenario.workloads.filter((w) => w.kind !== "attacker").flatMap((w) => w.cpus);
  current = {
    run, domainName, domain: run.domains.get(domainName), drivers,
    cpus: [...new Set(run.scenario.workloads.flatMap((w) => w.cpus))],
    floors: histFloors(run.simulator.core), t0: performance.now(),
  };
  current.last = current.lastChart = readCounters(current);
  for (const v of Object.values(views)) v.reset();
  $("domain-name").textContent = domainName;
  // The first screen's placeholders give way to the run's views.
  for (const hint of [$("domain-hint"), $("iotlb-hint"), ...document.querySelectorAll(".chart-hint")]) hint.hidden = true;
  $("switch-lazy").disabled = false;
  $("run-state").textContent = "running";
  const cur = current;
  cur.timer = setInterval(() => tick(cur), FRAME_MS);
  tick(cur);
  run.report.then((report) => finish(report), (e) => finish(undefined, e));
}

/** Lower bounds (ns) of the core's latency histogram buckets: fixed, read once. */
function histFloors(core) {
  const out = [];
  for (let b = 0; b < core.layout.WL_HIST_BUCKETS; b++) out.push(core.raw.wl_hist_floor(b));
  return out;
}

/** Cumulative counters at this moment: operations, and the lazy-window histogram of the drivers' CPUs. */
function readCounters(cur) {
  const core = cur.run.simulator.core;
  const L = core.layout;
  let ops = 0;
  for (const c of cur.cpus) ops += core.raw.wl_counter(c, L.WC_OPS);
  const windows = cur.floors.map((_, b) => cur.drivers.reduce((n, c) => n + core.raw.wl_hist_count(c, L.W_HIST_WINDOW, b), 0));
  return { t: performance.now(), ops, windows };
}

/** Mean lazy window (µs) of the windows closed between two readings; null when none closed. */
function meanWindowUs(floors, a, b) {
  let n = 0, sum = 0;
  b.windows.forEach((count, i) => { const d = count - a.windows[i]; n += d; sum += d * floors[i]; });
  return n > 0 ? sum / n / 1000 : null;
}

/** Start a frame unless the last one is still drawing (a busy machine: skip rather than queue up). */
function tick(cur) {
  if (cur.inFlight || cur.closing) return;
  cur.inFlight = frame(cur).finally(() => { cur.inFlight = undefined; });
}

/** Let the page handle input and paint between a frame's parts: no part makes a long task. */
const yieldToPage = () => new Promise((resolve) => setTimeout(resolve, 0));

async function frame(cur) {
  const now = readCounters(cur);
  const { run, domain } = cur;
  showCounters(cur, now);
  if (now.t - cur.lastChart.t >= CHART_MS) {
    const dt = (now.t - cur.lastChart.t) / 1000;
    views.charts.push((now.t - cur.t0) / 1000, (now.ops - cur.lastChart.ops) / dt, meanWindowUs(cur.floors, cur.lastChart, now));
    cur.lastChart = now;
  }
  cur.last = now;
  // Behind the other tab nobody sees the pictures: leave the page's thread (and a core) to the explorer.
  if ($("view-live").hidden) return;
  views.fq.update(domain.fqRingOccupancy(), domain.fqRingCapacity(), domain.iova.fqCounters());
  await yieldToPage();
  // With a main TLB per device (the default IOTLB scope), the first device's is drawn.
  const smmu = run.smmu;
  views.iotlb.update(smmu.iotlbSnapshot(smmu.iotlbScope === "device" ? smmu.streamIds[0] : undefined));
  await yieldToPage();
  views.pt.update(safeDump(domain.pageTable), domain.pageTable.geometry);
}

/**
 * The page table's entries. The workers change it while we walk it; a table freed and
 * reused under the walk can make one frame's dump fail — the next frame reads it again.
 */
function safeDump(pt) {
  try { return pt.dump(); } catch { return undefined; }
}

function showCounters(cur, now) {
  const { run, domain } = cur;
  const p = run.progress();
  $("progress-bar").style.width = `${(100 * p.done) / p.total}%`;
  $("progress-text").textContent = `${fmt(p.done)} of ${fmt(p.total)} operations · ${(p.elapsedMs / 1000).toFixed(1)} s`;
  const type = domain.type;
  const badge = $("domain-type");
  badge.textContent = type;
  badge.className = `badge ${type === "DMA-FQ" ? "lazy" : "strict"}`;
  // The kernel only switches DMA → DMA-FQ on a live domain: once lazy, there is nothing to press.
  if (!cur.closing) $("switch-lazy").disabled = type === "DMA-FQ";
  const d = domain.stats();
  const s = run.smmu.stats();
  $("c-ops").textContent = fmt(now.ops);
  $("c-mapunmap").textContent = `${fmt(d.maps + d.mapFailures)} / ${fmt(d.strictUnmaps + d.lazyUnmaps)}`;
  $("c-strict").textContent = fmt(d.strictUnmaps);
  $("c-lazy").textContent = fmt(d.lazyUnmaps);
  $("c-syncs").textContent = fmt(s.syncs);
  // Where an SMMUv3 shows its commands, an SMMU v2 shows the registers the arm-smmu driver wrote.
  const v2 = run.smmu.model !== "v3";
  $("l-syncs").textContent = v2 ? "TLBSYNCs (TLBSTATUS polls)" : "CMD_SYNCs";
  $("l-tlbi").textContent = v2 ? "TLBIVAL / TLBIASID writes" : "CMD_TLBI_NH_VA / CMD_TLBI_NH_ASID";
  if (v2) $("c-syncs").textContent = `${fmt(s.syncs)} (${fmt(s.registersByKind.TLBSTATUS)})`;
  $("c-tlbi").textContent = v2 ? `${fmt(s.registersByKind.TLBIVAL)} / ${fmt(s.registersByKind.TLBIASID)}`
    : `${fmt(s.commandsByKind.CMD_TLBI_NH_VA)} / ${fmt(s.commandsByKind.CMD_TLBI_NH_ASID)}`;
  $("c-hitrate").textContent = s.translations ? pct((s.iotlbHits + s.microTlbHits) / s.translations) : "—";
  $("c-violations").textContent = fmt(p.violations);
}

function switchToLazy() {
  if (!current) return;
  const result = current.run.switchToLazy(current.domainName);
  const el = $("switch-result");
  el.textContent = `switchToLazy("${current.domainName}") → ${result}` +
    (result === "ok" ? `: the domain is now ${current.domain.type}; unmaps queue their IOVAs in the flush queue` : "");
  el.className = result === "ok" ? "ok" : "error";
  tick(current);
}

async function finish(report, error) {
  const cur = current;
  clearInterval(cur.timer);
  cur.closing = true;
  $("switch-lazy").disabled = true;
  await cur.inFlight?.catch(() => {}); // never close the simulator under a frame that is reading it
  await frame(cur); // the state the run ended in
  if (report) {
    $("summary").textContent = formatSummary(report).join("\n"); // the lines `iommu-sim run` prints
    $("summary-panel").hidden = false;
  }
  await cur.run.simulator.close();
  current = undefined;
  setRunning(false, report ? `finished: ${report.outcome.status} — ${report.outcome.message}` : `failed: ${error?.message ?? error}`);
  if (error) $("run-state").classList.add("error");
}

function setRunning(running, state) {
  $("start").disabled = running;
  $("stop").disabled = !running;
  $("scenario").disabled = running;
  const s = $("run-state");
  s.textContent = state;
  s.classList.remove("error");
}

function showError(e) {
  console.error(e);
  current = undefined;
  setRunning(false, `could not start: ${e?.message ?? e}`);
  $("run-state").classList.add("error");
}
