// The seed race view: explore the seed mail's race (a live DMA → DMA-FQ switch on CPU A
// against an unmap on CPU B, a map on CPU C, and the device) in a Web Worker, show how many
// schedules ran and the verdict, and step through a violating schedule: each step's CPU,
// what it did and the state it changed. The violating step is highlighted: where the device
// goes through a stale translation, with the cached entry it used and the oracle's
// explanation; for the other checks (a CPU queueing on a queue not yet built), their message.
// The code explored is a seed variant, or the user's own variant written as JSON in the
// variant vocabulary (edited here, checked and explored by the worker).

import { SEED_VARIANT_DEFINITIONS } from "/dist/index.js";
import { $, el } from "./util.js";

let worker;
let requestId = 0;
/** The exploration shown: the worker's reply plus the step being looked at. */
let shown;

export function initSeedRace({ isActive }) {
  $("explore").addEventListener("click", explore);
  $("variant").addEventListener("change", showEditor);
  $("variant-copy").addEventListener("click", copyVariant);
  showEditor();
  $("step-prev").addEventListener("click", () => go(shown?.at - 1));
  $("step-next").addEventListener("click", () => go(shown?.at + 1));
  $("step-stale").addEventListener("click", () => go(shown?.violation.position));
  document.addEventListener("keydown", (ev) => {
    if (!shown?.violation || !isActive() || /^(INPUT|SELECT|TEXTAREA)$/.test(ev.target.tagName)) return;
    if (ev.key === "ArrowRight") { go(shown.at + 1); ev.preventDefault(); }
    if (ev.key === "ArrowLeft") { go(shown.at - 1); ev.preventDefault(); }
  });
}

/** The editor shows with "your own"; empty, it starts from the chosen seed variant. */
function showEditor() {
  const custom = $("variant").value === "custom";
  $("variant-editor").hidden = !custom;
  if (custom && !$("variant-json").value.trim()) copyVariant();
}

/** A seed variant as editable JSON, one step a line. */
function copyVariant() {
  const def = SEED_VARIANT_DEFINITIONS[$("variant-base").value];
  const steps = (list) => list.map((s) => `    ${JSON.stringify(s)}`).join(",\n");
  $("variant-json").value = `{ "name": ${JSON.stringify(`my-${def.name}`)},\n  "switch": [\n${steps(def.switch)}\n  ],\n` +
    `  "unmap": [\n${steps(def.unmap)}\n  ] }\n`;
}

function explore() {
  worker ??= new Worker(new URL("./explore-worker.js", import.meta.url), { type: "module" });
  const id = ++requestId;
  const custom = $("variant").value === "custom";
  // Your own variant goes to the worker as its text: parsed and checked there, errors shown here.
  const variant = custom ? $("variant-json").value : $("variant").value;
  const model = $("model").value;
  $("explore").disabled = true;
  $("explore-state").textContent = `exploring ${custom ? "your variant" : variant} under ${model}…`;
  $("verdict").textContent = "";
  $("verdict").className = "verdict";
  $("steps-panel").hidden = true;
  $("litmus-panel").hidden = true;
  worker.onmessage = (ev) => {
    if (ev.data.id !== id) return;
    $("explore").disabled = false;
    if (!ev.data.ok) {
      $("explore-state").textContent = "";
      $("verdict").textContent = `exploration failed: ${ev.data.error}`;
      $("verdict").className = "verdict bad";
      return;
    }
    show(ev.data);
  };
  worker.onerror = (ev) => {
    $("explore").disabled = false;
    $("verdict").textContent = `the explorer's worker failed: ${ev.message ?? "see the console"}`;
    $("verdict").className = "verdict bad";
  };
  worker.postMessage({ id, variant, custom, model });
}

function show(r) {
  $("explore-state").textContent = `${r.variant} under ${r.model}: explored in ${(r.ms / 1000).toFixed(2)} s`;
  $("litmus").textContent = r.litmus;
  $("litmus-panel").hidden = false;
  const verdict = $("verdict");
  if (!r.violation) {
    shown = undefined;
    // A bounded run found nothing but proves nothing either: not shown as good.
    verdict.className = r.complete ? "verdict good" : "verdict";
    verdict.textContent = `${r.schedules.toLocaleString("en-US")} schedules, no violation` +
      (r.complete ? " — every interleaving there is (up to reordering of commuting steps)" : " (bounded: not a proof)") +
      (r.races.length ? `. Data races flagged: ${r.races.join("; ")}` : "");
    return;
  }
  verdict.className = "verdict bad";
  verdict.textContent = `${r.schedules.toLocaleString("en-US")} schedules — VIOLATION in schedule ${r.schedules}: ` +
    r.violation.message.split(":")[0];
  const { initial, states } = statesAfterEachStep(r.violation.trace);
  shown = { ...r, at: 0, initial, states };
  // A variant of your own replays from a file: the line names the file it would be saved as.
  const file = `${r.variant}.json`;
  $("replay-line").textContent = r.custom
    ? `replay: save your variant as ${file}, then iommu-sim explore --replay "${r.replay.replace(`@${r.variant}@`, `@${file}@`)}"`
    : `replay: iommu-sim explore --replay "${r.replay}"`;
  renderSteps();
  $("step-stale").textContent = isStale(r.violation.trace[r.violation.position]) ? "Jump to the stale translation" : "Jump to the violation";
  $("steps-panel").hidden = false;
  go(0);
}

/** The modelled shared words (fq_domain, the queue, the quirk; 0 at first) after each step: stores change them. */
function statesAfterEachStep(trace) {
  const vars = [...new Set(trace.filter((t) => t.var).map((t) => t.var))];
  const initial = Object.fromEntries(vars.map((v) => [v, 0]));
  let state = initial;
  const states = trace.map((t) => {
    if (t.kind === "store" && t.effective) state = { ...state, [t.var]: t.value };
    return state;
  });
  return { initial, states };
}

function renderSteps() {
  const list = $("steps");
  list.replaceChildren(...shown.violation.trace.map((t, i) => {
    const li = el("li", stepClass(t, i));
    const what = el("span", "what", t.label);
    if (t.note) what.append(el("span", "note", ` — ${t.note}`));
    li.append(el("span", `cpu cpu-${t.threadIndex}`, `${t.thread}:${t.step}`), what);
    li.addEventListener("click", () => go(i));
    return li;
  }));
}

/** A device access that reached memory through a cached (IOTLB or micro-TLB) translation. */
const STALE = /IOVA (0x[0-9a-f]+) → PA (0x[0-9a-f]+) via (micro-tlb|iotlb)/;
const isStale = (t) => STALE.test(t.note ?? "");

function stepClass(t, i) {
  const violating = i === shown.violation.position;
  return ["step", t.effective ? "" : "not-taken", violating ? "violation" : "", violating && isStale(t) ? "stale" : ""]
    .filter(Boolean).join(" ");
}

function go(i) {
  if (!shown?.violation || !Number.isInteger(i)) return;
  const trace = shown.violation.trace;
  shown.at = Math.max(0, Math.min(trace.length - 1, i));
  [...$("steps").children].forEach((li, k) => li.classList.toggle("current", k === shown.at));
  $("steps").children[shown.at].scrollIntoView({ block: "nearest" });
  $("step-pos").textContent = `step ${shown.at + 1} of ${trace.length}`;
  $("step-prev").disabled = shown.at === 0;
  $("step-next").disabled = shown.at === trace.length - 1;
  renderDetail(trace[shown.at], shown.at);
}

/** What the CPU named `thread` runs in the scenario, in words. */
function roleOf(thread) {
  const ops = shown.threads[thread] ?? [];
  const words = ops.map((op) => "unmap" in op ? `dma_unmap of buffer '${op.unmap}'`
    : "map" in op ? `dma_map of buffer '${op.map}'`
    : "switch" in op ? "the live switch DMA → DMA-FQ (a sysfs write to the group's type)"
    : `DMA through the IOVA it was given for '${op.access}'`);
  const who = ops.every((op) => "access" in op) ? "the device" : `CPU ${thread}`;
  return `${who}: ${words.join(", ")}`;
}

function renderDetail(t, i) {
  const d = $("step-detail");
  const violating = i === shown.violation.position;
  const stale = violating && isStale(t);
  const title = stale ? `Step ${i + 1}: the device uses a stale translation`
    : violating ? `Step ${i + 1}: the violation (${shown.violation.message.split(":")[0]})` : `Step ${i + 1}`;
  const parts = [
    el("h3", violating ? "stale-title" : "", title),
    row("CPU", `${t.thread} — ${roleOf(t.thread)}`),
    row("Action", t.label + (t.effective ? "" : " (not taken: its condition was false)")),
    row("State it changed", changeOf(t, i)),
    stateTable(i),
  ];
  if (stale) parts.push(...staleExplanation(t));
  else if (violating) parts.push(el("p", "oracle", `Check: ${shown.violation.message}`));
  d.replaceChildren(...parts);
  d.classList.toggle("stale", violating);
}

function row(label, text) {
  const p = el("p", "detail-row");
  p.append(el("span", "detail-label", label), el("span", "", text));
  return p;
}

function changeOf(t, i) {
  if (!t.effective) return "nothing";
  const before = i > 0 ? shown.states[i - 1] : shown.initial;
  if (t.kind === "store") return `${t.var}: ${before[t.var]} → ${t.value}${t.note ? ` (${t.note})` : ""}`;
  if (t.kind === "load") return `none shared — read ${t.var} = ${t.value} into a register${t.note ? `; ${t.note}` : ""}`;
  if (t.kind === "fence") return "none — a barrier orders this CPU's accesses";
  return t.note ?? "the simulation (page table, IOTLB, IOVA allocator)";
}

/** The modelled shared words after step i, the one this step wrote highlighted. */
function stateTable(i) {
  const state = shown.states[i];
  const t = shown.violation.trace[i];
  const table = el("table", "state");
  const head = el("tr");
  const vals = el("tr");
  for (const [k, v] of Object.entries(state)) {
    head.append(el("th", "mono", k));
    vals.append(el("td", t.kind === "store" && t.effective && t.var === k ? "mono changed" : "mono", String(v)));
  }
  table.append(head, vals);
  return table;
}

/** The cached entry the device used, the step that should have invalidated it, and the oracle's verdict. */
function staleExplanation(t) {
  const m = STALE.exec(t.note);
  const cache = { "micro-tlb": "micro-TLB", iotlb: "IOTLB" }[m[3]];
  const skipped = shown.violation.trace.findIndex((s) => /sync skipped/.test(s.note ?? ""));
  const s = shown.violation.trace[skipped];
  return [
    el("p", "stale-entry", `Stale ${cache} entry: IOVA ${m[1]} → PA ${m[2]} (the old buffer's page). It survived because ` +
      (s ? `step ${skipped + 1} (${s.thread}:${s.step}) skipped the TLBI + CMD_SYNC, yet the IOVA was freed at once ` +
        "instead of waiting in the flush queue." : "no invalidation reached it.")),
    el("p", "oracle", `Oracle: ${shown.violation.message}`),
  ];
}
