// The live page's entry point: the three views (a live scenario run, the seed race explorer, the bug zoo)
// behind tabs, and a plain warning when the page is not cross-origin isolated — the
// simulator's shared memory (SharedArrayBuffer) needs that, so nothing would run.

import { $ } from "./util.js";
import { initLive } from "./live.js";
import { initSeedRace } from "./seed-race.js";
import { initBugZoo } from "./bug-zoo.js";

function showView(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.view === name);
  $("view-live").hidden = name !== "live";
  $("view-seed").hidden = name !== "seed";
  $("view-bugs").hidden = name !== "bugs";
}

for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showView(tab.dataset.view));

if (!crossOriginIsolated) {
  const w = $("isolation-warning");
  w.hidden = false;
  w.textContent = "This page is not cross-origin isolated, so it cannot create the simulator's shared memory. " +
    "Serve it with `npx iommu-sim web` (or `npm run web` in a clone): they send the COOP/COEP headers.";
}

initLive();
initSeedRace({ isActive: () => !$("view-seed").hidden });
initBugZoo({ isActive: () => !$("view-bugs").hidden });
