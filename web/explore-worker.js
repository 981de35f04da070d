// The seed race explorer off the page's thread: a module Web Worker that runs
// exploreScenario("seed-race") — a second or more of schedules against its own simulator —
// and posts back the verdict and the violating schedule's trace as plain data.

import { exploreScenario, BUILTIN_SCENARIOS } from "/dist/index.js";

self.onmessage = async (ev) => {
  const { id, variant, model } = ev.data;
  const t0 = performance.now();
  try {
    const r = await exploreScenario("seed-race", { variant, model });
    const v = r.result.violation;
    self.postMessage({
      id, ok: true, variant, model, ms: performance.now() - t0,
      schedules: r.result.schedules, complete: r.result.complete, text: r.text, replay: r.replay,
      // What each CPU of the scenario does (thread name → its operations), to name them on the page.
      threads: BUILTIN_SCENARIOS["seed-race"].threads,
      races: r.result.races.map((x) => x.text),
      violation: v && { message: v.message, position: v.position, text: v.text, trace: v.trace },
    });
  } catch (e) {
    self.postMessage({ id, ok: false, error: String(e?.stack ?? e) });
  }
};
