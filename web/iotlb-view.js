// The IOTLB as a grid of sets × ways on a canvas: each set a column of its ways, sets
// wrapped into bands. Valid entries are filled; comparing each snapshot with the previous
// one finds entries filled, invalidated (valid → invalid: a TLBI took them) and replaced
// (another tag now: evicted and refilled), which flash and fade over FADE_MS. Hovering a
// cell names the entry: its set and way, IOVA and size, ASID/VMID and output address.

import { hex, sizeName, fmt } from "./util.js";

const SETS_PER_BAND = 128;
const CELL = 8; //  pixels per entry, gap included
const BAND_GAP = 6;
const FADE_MS = 700;
const COLORS = { empty: [231, 235, 240], valid: [59, 111, 216], filled: [31, 174, 91], invalidated: [224, 72, 62], replaced: [240, 160, 32] };

export function createIotlbView(canvas, tip) {
  let snap; //   the last snapshot
  let flash; //  per entry: { kind, at } of its last change
  let geometry = "";
  let img; //    the canvas's pixels, reused frame to frame

  function reset() {
    snap = undefined;
    flash = undefined;
    tip.hidden = true;
  }

  function update(next) {
    const now = performance.now();
    if (!flash || flash.length !== next.entries.length) flash = next.entries.map(() => ({ kind: "", at: 0 }));
    const counts = { filled: 0, invalidated: 0, replaced: 0 };
    if (snap) {
      next.entries.forEach((e, i) => {
        const kind = changeOf(snap.entries[i], e);
        if (kind) { flash[i] = { kind, at: now }; counts[kind]++; }
      });
    }
    snap = next;
    layout(next);
    draw(now);
    const valid = next.entries.filter((e) => e.valid).length;
    document.getElementById("iotlb-count").textContent =
      `${fmt(valid)} of ${fmt(next.entries.length)} entries valid · since the last frame: ${counts.filled} filled, ` +
      `${counts.invalidated} invalidated, ${counts.replaced} replaced`;
  }

  function layout(s) {
    const whose = s.streamId === undefined ? "the SMMU's, shared by every device" : `stream ${s.streamId}'s main TLB`;
    const g = `${whose}: ${s.sets} sets × ${s.ways} ways (${fmt(s.sets * s.ways)} entries), leaf translations tagged by ASID`;
    if (g === geometry) return;
    geometry = g;
    document.getElementById("iotlb-geometry").textContent = g;
    const bands = Math.ceil(s.sets / SETS_PER_BAND);
    canvas.width = Math.min(s.sets, SETS_PER_BAND) * CELL;
    canvas.height = bands * (s.ways * CELL + BAND_GAP);
  }

  /** Top-left pixel of entry (set, way). */
  function cellAt(set, way) {
    const band = Math.floor(set / SETS_PER_BAND);
    return [(set % SETS_PER_BAND) * CELL, band * (snap.ways * CELL + BAND_GAP) + way * CELL];
  }

  /** Every cell into one ImageData: a few thousand fillRects would cost a frame more. */
  function draw(now) {
    const ctx = canvas.getContext("2d");
    if (img?.width !== canvas.width || img?.height !== canvas.height) img = ctx.createImageData(canvas.width, canvas.height);
    snap.entries.forEach((e, i) => {
      const [x, y] = cellAt(Math.floor(i / snap.ways), i % snap.ways);
      fillCell(img, x, y, colourOf(e, flash[i], now));
    });
    ctx.putImageData(img, 0, 0);
  }

  canvas.addEventListener("mousemove", (ev) => {
    if (!snap) return;
    const r = canvas.getBoundingClientRect();
    const px = ((ev.clientX - r.left) * canvas.width) / r.width;
    const py = ((ev.clientY - r.top) * canvas.height) / r.height;
    const bandH = snap.ways * CELL + BAND_GAP;
    const band = Math.floor(py / bandH);
    const way = Math.floor((py - band * bandH) / CELL);
    const set = band * SETS_PER_BAND + Math.floor(px / CELL);
    if (way >= snap.ways || set >= snap.sets) { tip.hidden = true; return; }
    tip.textContent = describeEntry(set, way, snap.entries[set * snap.ways + way], flash[set * snap.ways + way]);
    tip.style.left = `${ev.clientX - r.left + 14}px`;
    tip.style.top = `${ev.clientY - r.top + 14}px`;
    tip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });

  return { update, reset };
}

/** An entry's colour: valid or not, blended with its last change's colour while that fades. */
function colourOf(e, f, now) {
  const base = e.valid ? COLORS.valid : COLORS.empty;
  const age = now - f.at;
  if (!f.kind || age >= FADE_MS) return base;
  const a = 1 - age / FADE_MS;
  return base.map((c, k) => Math.round(c * (1 - a) + COLORS[f.kind][k] * a));
}

function fillCell(img, x, y, [r, g, b]) {
  const d = img.data;
  for (let dy = 0; dy < CELL - 1; dy++) {
    let p = 4 * ((y + dy) * img.width + x);
    for (let dx = 0; dx < CELL - 1; dx++, p += 4) { d[p] = r; d[p + 1] = g; d[p + 2] = b; d[p + 3] = 255; }
  }
}

/** What happened to an entry between two snapshots: "", filled, invalidated or replaced. */
function changeOf(before, after) {
  if (!before.valid) return after.valid ? "filled" : "";
  if (!after.valid) return "invalidated";
  return before.tag !== after.tag || before.ctx !== after.ctx || before.shift !== after.shift ? "replaced" : "";
}

function describeEntry(set, way, e, f) {
  const where = `IOTLB set ${set}, way ${way}`;
  const last = f?.kind ? ` (last change: ${f.kind})` : "";
  if (!e.valid) return `${where}: invalid${last}`;
  const iova = e.tag * 2 ** e.shift;
  return `${where}: IOVA ${hex(iova)} (${sizeName(2 ** e.shift)} ${e.shift === 12 ? "page" : "block"}), tag ${hex(e.tag)}, ` +
    `ASID ${e.ctx & 0xffff}, VMID ${e.ctx >>> 16} → PA ${hex(e.out)}${last}`;
}
