// Small helpers shared by the live page's views: element lookup and creation, number and
// address formatting in the words the kernel uses (hex IOVAs, KiB/MiB sizes).

/** The element with this id (the page's markup defines every one the scripts use). */
export const $ = (id) => document.getElementById(id);

/** A new element with a class and text. */
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** An address as the kernel prints it: 0x-prefixed hex. */
export const hex = (n) => "0x" + Math.round(n).toString(16);

/** 4096 → "4 KiB", 2097152 → "2 MiB". */
export function sizeName(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  while (bytes >= 1024 && u < units.length - 1) { bytes /= 1024; u++; }
  return `${+bytes.toFixed(1)} ${units[u]}`;
}

/** 1234567 → "1,234,567". */
export const fmt = (n) => Math.round(n).toLocaleString("en-US");

/** 0.1234 → "12.3%". */
export const pct = (x) => `${(x * 100).toFixed(1)}%`;
