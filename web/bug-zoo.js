// The bug zoo view: pick a real kernel bug of the zoo (src/bugs/), read what went wrong and
// what the fix changed, run its buggy and fixed forms in a Web Worker, and step through the
// evidence of both side by side — the commands the driver wrote, each device access and the
// oracle's verdict, or for an explorer entry the schedule step by step. The line stepped to
// is highlighted in both columns; lines that show the bug (a stale access, an illegal
// command, a violation) are marked.

import { BUG_ZOO } from "/dist/index.js";
import { $, el } from "./util.js";

let worker;
let requestId = 0;
/** The run shown, and the evidence line looked at. */
let shown;

export function initBugZoo({ isActive }) {
  const pick = $("bug");
  pick.replaceChildren(...BUG_ZOO.map((e) => {
    const o = el("option", "", `#${e.corpus} ${e.id} — ${e.title}`);
    o.value = e.id;
    return o;
  }));
  pick.addEventListener("change", describeEntry);
  describeEntry();
  $("bug-run").addEventListener("click", run);
  $("bug-prev").addEventListener("click", () => go(shown?.at - 1));
  $("bug-next").addEventListener("click", () => go(shown?.at + 1));
  document.addEventListener("keydown", (ev) => {
    if (!shown || !isActive() || /^(INPUT|SELECT|TEXTAREA)$/.test(ev.target.tagName)) return;
    if (ev.key === "ArrowRight") { go(shown.at + 1); ev.preventDefault(); }
    if (ev.key === "ArrowLeft") { go(shown.at - 1); ev.preventDefault(); }
  });
}

const entryOf = (id) => BUG_ZOO.find((e) => e.id === id);

function describeEntry() {
  const e = entryOf($("bug").value);
  const row = (label, text) => {
    const p = el("p", "detail-row");
    p.append(el("span", "detail-label", label), el("span", "", text));
    return p;
  };
  $("bug-about").replaceChildren(
    row("Fix", `${e.fix}${e.introducedBy ? ` (introduced by ${e.introducedBy})` : ""} — ${e.kernels}`),
    row("Component", e.component),
    row("What goes wrong", e.effect),
    row("What the fix changed", e.fixChanged),
    row("Trigger", e.trigger),
    row("Switch", `${e.switch.kind} ${e.switch.name}: buggy = ${e.switch.buggy}, fixed = ${e.switch.fixed}`),
  );
  $("bug-forms").hidden = true;
  $("bug-verdict").textContent = "";
  $("bug-verdict").className = "verdict";
  shown = undefined;
}

function run() {
  worker ??= new Worker(new URL("./bugs-worker.js", import.meta.url), { type: "module" });
  const id = ++requestId;
  const entry = $("bug").value;
  $("bug-run").disabled = true;
  $("bug-state").textContent = `running ${entry}: the buggy form, then the fixed one…`;
  $("bug-verdict").textContent = "";
  $("bug-forms").hidden = true;
  worker.onmessage = (ev) => {
    if (ev.data.id !== id) return;
    $("bug-run").disabled = false;
    if (!ev.data.ok) {
      $("bug-state").textContent = "";
      $("bug-verdict").textContent = `the run failed: ${ev.data.error}`;
      $("bug-verdict").className = "verdict bad";
      return;
    }
    $("bug-state").textContent = `${entry}: both forms ran in ${(ev.data.ms / 1000).toFixed(2)} s`;
    show(entryOf(entry), ev.data.result);
  };
  worker.onerror = (ev) => {
    $("bug-run").disabled = false;
    $("bug-verdict").textContent = `the bug zoo's worker failed: ${ev.message ?? "see the console"}`;
    $("bug-verdict").className = "verdict bad";
  };
  worker.postMessage({ id, entry });
}

/** A line that shows the bug: a violation by the oracle, an illegal command, a stale translation used. */
const TELLING = /oracle: (?!OK|LAZY_WINDOW)[A-Z_]+|VIOLATION|violation:|illegal|LAZY_WINDOW|ttl=3|bounces/;

function show(e, r) {
  const v = $("bug-verdict");
  v.className = r.pass ? "verdict good" : "verdict bad";
  v.textContent = r.pass ? "PASS: the buggy form is caught and the fixed one is clean"
    : `FAIL: ${[!r.buggy.caught ? "the buggy form was not caught" : "", r.fixed.caught ? "the fixed form is not clean" : ""].filter(Boolean).join("; ")}`;
  for (const [side, f, label] of [["buggy", r.buggy, e.switch.buggy], ["fixed", r.fixed, e.switch.fixed]]) {
    $(`bug-${side}-title`).textContent = `${side} (${label})`;
    const verdict = $(`bug-${side}-verdict`);
    verdict.textContent = f.verdict === "clean" ? "clean" : `${f.caught ? "CAUGHT" : "clean"} — ${f.verdict}`;
    verdict.className = `form-verdict ${f.caught ? "bad" : "good"}`;
    $(`bug-${side}-evidence`).replaceChildren(...f.evidence.map((line, i) => {
      const li = el("li", TELLING.test(line) ? "evidence telling" : "evidence", line);
      li.addEventListener("click", () => go(i));
      return li;
    }));
  }
  shown = { at: 0, lines: Math.max(r.buggy.evidence.length, r.fixed.evidence.length) };
  $("bug-forms").hidden = false;
  go(0);
}

function go(i) {
  if (!shown || !Number.isInteger(i)) return;
  shown.at = Math.max(0, Math.min(shown.lines - 1, i));
  for (const side of ["buggy", "fixed"]) {
    const items = [...$(`bug-${side}-evidence`).children];
    items.forEach((li, k) => li.classList.toggle("current", k === shown.at));
    items[Math.min(shown.at, items.length - 1)]?.scrollIntoView({ block: "nearest" });
  }
  $("bug-pos").textContent = `line ${shown.at + 1} of ${shown.lines}`;
  $("bug-prev").disabled = shown.at === 0;
  $("bug-next").disabled = shown.at === shown.lines - 1;
}
