// The seed race explorer off the page's thread: a module Web Worker that runs
// exploreScenario("seed-race") — a second or more of schedules against its own simulator —
// and posts back the verdict and the violating schedule's trace as plain data. The code
// explored is a seed variant by name, or the user's own variant as JSON text: parsed here
// and checked by the package, whose error (naming the step and field) goes back as it is.

import { exploreScenario, exportLitmus, BUILTIN_SCENARIOS, IommuSimError } from "/dist/index.js";

/** The user's variant from its text; a JSON syntax error says so. */
function parseVariantText(text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new IommuSimError(`your variant's JSON does not parse: ${e.message}`);
  }
}

self.onmessage = async (ev) => {
  const { id, custom, model } = ev.data;
  const t0 = performance.now();
  try {
    const variant = custom ? parseVariantText(ev.data.variant) : ev.data.variant;
    const r = await exploreScenario("seed-race", { variant, model });
    const v = r.result.violation;
    self.postMessage({
      id, ok: true, variant: r.variant, custom, model, ms: performance.now() - t0,
      schedules: r.result.schedules, complete: r.result.complete, text: r.text, replay: r.replay,
      // What each CPU of the scenario does (thread name → its operations), to name them on the page.
      threads: BUILTIN_SCENARIOS["seed-race"].threads,
      races: r.result.races.map((x) => x.text),
      // The modelled words' accesses as a C litmus test, for a cross-check in herd7.
      litmus: exportLitmus("seed-race", { variant }),
      violation: v && { message: v.message, position: v.position, text: v.text, trace: v.trace },
    });
  } catch (e) {
    // Bad input (the package's own errors) is shown as its message; anything else with its stack.
    self.postMessage({ id, ok: false, error: e instanceof IommuSimError ? e.message : String(e?.stack ?? e) });
  }
};
