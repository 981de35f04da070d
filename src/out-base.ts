// The --out option of `run`, `report` and `bench` names the base of two files (BASE.json and
// BASE.html). A directory there (`files/`, or one that exists) would give hidden files named
// `.json` and `.html` inside it: refused before any work, with what to write instead.

import { statSync } from "node:fs";
import { ArgumentError } from "./errors.js";

/** The base path for `--out <out>` (a .json or .html ending dropped); refuses a directory. */
export function outBase(out: string): string {
  const base = out.replace(/\.(json|html)$/i, "");
  let isDir = false;
  try {
    isDir = statSync(out).isDirectory();
  } catch { /* nothing there: a new file base */ }
  if (isDir || base === "" || /[/\\]$/.test(base) || /(^|[/\\])\.{1,2}$/.test(base)) {
    const dir = base.replace(/[/\\]+$/, "") || ".";
    throw new ArgumentError("--out", out, `must be the base of the report's two files, not a directory: e.g. ` +
      `--out ${dir}/report writes ${dir}/report.json and ${dir}/report.html`);
  }
  return base;
}
