// The flush queue: one bar per CPU ring (v7.1 single mode: one shared ring), filled by the
// IOVAs its lazy unmaps queued and emptied when a flush (TLBI by ASID + CMD_SYNC) lets them
// go back to the allocator. A full ring (255 of 256 slots) forces a synchronous flush.

import { el, fmt } from "./util.js";

export function createFqView(container) {
  let bars = [];

  function reset() {
    bars = [];
    container.replaceChildren(el("p", "muted", "no flush queue: the domain is strict (DMA)"));
  }

  function update(occupancy, capacity, counters) {
    if (occupancy.length === 0) {
      if (bars.length) reset();
      return;
    }
    if (bars.length !== occupancy.length) build(occupancy.length);
    occupancy.forEach((n, i) => {
      const b = bars[i];
      b.fill.style.width = `${(100 * n) / capacity}%`;
      b.fill.classList.toggle("high", n > capacity * 0.8);
      b.value.textContent = `${n} / ${capacity}`;
      b.root.dataset.pending = String(n);
    });
    container.querySelector(".fq-flushes").textContent =
      `flushes so far: ${fmt(counters.ringFullFlushes)} on a full ring, ${fmt(counters.timerFlushes)} by the 10 ms timer, ` +
      `${fmt(counters.startCnt)} in all`;
  }

  function build(rings) {
    bars = [];
    const rows = [];
    for (let i = 0; i < rings; i++) {
      const root = el("div", "fq-bar");
      const label = el("span", "fq-label", rings === 1 ? "shared ring" : `CPU ${i} ring`);
      const track = el("div", "fq-track");
      const fill = el("div", "fq-fill");
      track.append(fill);
      const value = el("span", "fq-value mono");
      root.append(label, track, value);
      rows.push(root);
      bars.push({ root, fill, value });
    }
    container.replaceChildren(...rows, el("p", "fq-flushes muted"));
  }

  return { update, reset };
}
