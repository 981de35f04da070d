// The page table as a tree: one node per table (level, the IOVA range it covers), nested as
// the SMMU walks them; a table holding leaves shows a strip of its entries (one pixel per
// PTE: valid, just mapped, just cleared) and its leaves grouped into contiguous IOVA ranges
// (the first few listed, the rest counted). Nodes are kept across frames by key, so a
// folded table stays folded and what changed since the last frame can be highlighted.

import { el, hex, sizeName, fmt } from "./util.js";

/** Ranges listed per table before the rest are only counted. */
const MAX_RANGES = 6;
/** RGBA of a PTE in the strip (the legend's colours). */
const COLORS = { empty: [231, 235, 240, 255], valid: [59, 111, 216, 255], filled: [31, 174, 91, 255], cleared: [224, 72, 62, 255] };

export function createPageTableView(container) {
  /** key → { root, head, strip, ranges, children, bits, rangeKeys } */
  let nodes = new Map();

  function reset() {
    nodes = new Map();
    container.replaceChildren();
  }

  function update(dump, geometry) {
    if (!dump) return;
    const tree = buildTree(dump, geometry);
    const seen = new Set();
    placeNode(tree, container, 0, seen);
    for (const [key, n] of nodes) if (!seen.has(key)) { n.root.remove(); nodes.delete(key); }
  }

  /** Create or update the element of `node` as child `index` of `parent`, then its children. */
  function placeNode(node, parent, index, seen) {
    seen.add(node.key);
    let n = nodes.get(node.key);
    if (!n) { n = makeNodeElements(node); nodes.set(node.key, n); }
    place(parent, index, n.root);
    renderNode(n, node);
    const items = groupEmpty(node.tables, (t) => nodes.get(t.key)?.bits.some((b) => b));
    items.forEach((item, i) => (item.empty ? placeGroup(item, n.children, i, seen) : placeNode(item, n.children, i, seen)));
    while (n.children.children.length > items.length) n.children.lastElementChild.remove(); // gone: update() forgets them
  }

  /** A run of empty tables, as one line. */
  function placeGroup(group, parent, index, seen) {
    seen.add(group.key);
    let g = nodes.get(group.key);
    if (!g) { g = { root: el("div", "pt-empty") }; nodes.set(group.key, g); }
    const text = `${group.count} empty L${group.level} table${group.count > 1 ? "s" : ""} · IOVA ${hex(group.lo)} – ${hex(group.hi)} ` +
      "(io-pgtable-arm frees a table only when a larger unmap covers it)";
    if (g.root.textContent !== text) g.root.textContent = text;
    place(parent, index, g.root);
  }

  return { update, reset };
}

function place(parent, index, child) {
  if (parent.children[index] !== child) parent.insertBefore(child, parent.children[index] ?? null);
}

/**
 * Subtables with runs of two or more empty ones (no PTE, no subtable, none cleared since
 * the last frame: `hadLeaves` says which had some) collapsed into { empty, key, count, lo, hi }.
 */
function groupEmpty(tables, hadLeaves) {
  const out = [];
  let run = [];
  const flush = () => {
    if (run.length >= 2) {
      const last = run[run.length - 1];
      out.push({ empty: true, key: `empty:${run[0].key}`, level: run[0].level, count: run.length, lo: run[0].va, hi: last.va + last.span - 1 });
    } else out.push(...run);
    run = [];
  };
  for (const t of tables) {
    if (t.leaves.length === 0 && t.tables.length === 0 && !hadLeaves(t)) run.push(t);
    else { flush(); out.push(t); }
  }
  flush();
  return out;
}

/** Tables from the dump (depth-first, as the walker sees them): { key, level, va, span, entries, leafSize, tables, leaves }. */
function buildTree(dump, g) {
  const entriesAt = (level) => 2 ** (level === g.startLevel ? g.pgdBits : g.bitsPerLevel);
  const entrySize = (level) => 2 ** ((4 - level) * g.bitsPerLevel + 3);
  const table = (level, va) => ({ key: `${level}:${va}`, level, va, span: entriesAt(level) * entrySize(level),
                                  entries: entriesAt(level), leafSize: entrySize(level), tables: [], leaves: [] });
  const root = table(g.startLevel, 0);
  const stack = [root];
  for (const e of dump) {
    stack.length = e.level - g.startLevel + 1; // the table this entry sits in is the last on the path
    const parent = stack[stack.length - 1];
    if (e.kind === "table") {
      const child = table(e.level + 1, e.va);
      parent.tables.push(child);
      stack.push(child);
    } else {
      parent.leaves.push(e);
    }
  }
  return root;
}

function makeNodeElements(node) {
  const root = el("div", "pt-node");
  const head = el("div", "pt-head");
  head.title = "fold / unfold";
  head.addEventListener("click", () => root.classList.toggle("folded"));
  const strip = el("canvas", "pt-strip");
  strip.width = node.entries;
  strip.height = 1;
  const ranges = el("div", "pt-ranges");
  const children = el("div", "pt-children");
  root.append(head, strip, ranges, children);
  return { root, head, strip, ranges, children, bits: new Uint8Array(node.entries), rangeKeys: new Set() };
}

/** Valid entries of a table as a bitmap, from its leaf runs. */
function leafBits(node) {
  const bits = new Uint8Array(node.entries);
  for (const leaf of node.leaves) bits.fill(1, leaf.index, leaf.lastIndex + 1);
  return bits;
}

function renderNode(n, node) {
  const bits = leafBits(node);
  let added = 0, cleared = 0, valid = 0;
  bits.forEach((b, i) => { valid += b; if (b && !n.bits[i]) added++; if (!b && n.bits[i]) cleared++; });
  const hasLeaves = valid > 0 || cleared > 0;
  // The DOM is touched only where the text changed: a frame must stay cheap to lay out.
  const head = `${node.level}|${valid}|${added}|${cleared}|${node.tables.length}`;
  if (n.headKey !== head) {
    n.headKey = head;
    n.head.replaceChildren(
      el("span", "pt-level", `L${node.level}`),
      el("span", "pt-title", ` table · IOVA ${hex(node.va)} – ${hex(node.va + node.span - 1)}`),
      el("span", "pt-count", describeCounts(node, valid)),
      ...(added ? [el("span", "delta plus", `+${added} mapped`)] : []),
      ...(cleared ? [el("span", "delta minus", `−${cleared} cleared`)] : []),
    );
  }
  if (n.strip.hidden === hasLeaves) n.strip.hidden = !hasLeaves;
  if (hasLeaves) drawStrip(n.strip, bits, n.bits);
  renderRanges(n, node, bits);
  n.bits = bits;
}

function describeCounts(node, valid) {
  const parts = [];
  if (node.tables.length) parts.push(`${node.tables.length} next-level table${node.tables.length > 1 ? "s" : ""}`);
  if (valid) parts.push(`${fmt(valid)} valid PTE${valid > 1 ? "s" : ""} (${sizeName(node.leafSize)} ${node.level === 3 ? "pages" : "blocks"})`);
  if (!parts.length) parts.push("empty");
  return " · " + parts.join(" · ");
}

/** One pixel per entry (CSS stretches the strip), written as one ImageData. */
function drawStrip(canvas, bits, prev) {
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(bits.length, 1);
  for (let i = 0; i < bits.length; i++) {
    img.data.set(bits[i] ? (prev[i] ? COLORS.valid : COLORS.filled) : (prev[i] ? COLORS.cleared : COLORS.empty), 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}

/** The table's valid entries as contiguous IOVA ranges; ranges new since the last frame marked. */
function renderRanges(n, node, bits) {
  const ranges = [];
  for (let i = 0; i < bits.length; i++) {
    if (!bits[i]) continue;
    let j = i;
    while (j + 1 < bits.length && bits[j + 1]) j++;
    ranges.push({ first: i, last: j });
    i = j;
  }
  const keys = new Set(ranges.map((r) => `${r.first}-${r.last}`));
  const shown = ranges.slice(0, MAX_RANGES).map((r) => {
    const lo = node.va + r.first * node.leafSize;
    const hi = node.va + (r.last + 1) * node.leafSize - 1;
    const count = r.last - r.first + 1;
    const isNew = !n.rangeKeys.has(`${r.first}-${r.last}`) && n.rangeKeys.size > 0;
    return el("span", `pt-range${isNew ? " new" : ""}`,
      `IOVA ${hex(lo)}–${hex(hi)} · ${count} PTE${count > 1 ? "s" : ""} [${r.first}${count > 1 ? `–${r.last}` : ""}]`);
  });
  const rest = ranges.slice(MAX_RANGES);
  if (rest.length) {
    const ptes = rest.reduce((k, r) => k + r.last - r.first + 1, 0);
    shown.push(el("span", "pt-range more", `… ${rest.length} more range${rest.length > 1 ? "s" : ""} (${fmt(ptes)} PTEs)`));
  }
  const key = shown.map((e) => e.className + e.textContent).join("|");
  if (n.rangesKey !== key) { n.rangesKey = key; n.ranges.replaceChildren(...shown); }
  n.rangeKeys = keys;
}
