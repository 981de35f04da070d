// The bug zoo off the page's thread: a module Web Worker that runs one entry's buggy and
// fixed forms (runBug: each form on a simulator of its own, in this worker) and posts back
// both results as plain data, or the package's error as its message.

import { findBug, runBug, IommuSimError } from "/dist/index.js";

self.onmessage = async (ev) => {
  const { id, entry } = ev.data;
  const t0 = performance.now();
  try {
    const r = await runBug(findBug(entry));
    self.postMessage({ id, ok: true, result: r, ms: performance.now() - t0 });
  } catch (e) {
    self.postMessage({ id, ok: false, error: e instanceof IommuSimError ? e.message : String(e?.stack ?? e) });
  }
};
