// The --out option of `run`, `report`, `bench`, `sweep` and `sweep report` names the base of
// the files a command writes (BASE.json and BASE.html; a sweep's BASE.jsonl, .html, .csv). A
// directory there (`files/`, or one that exists) would give hidden files named `.json` and
// `.html` inside it, and a folder that is missing or not writable would fail only when the
// files are written — after a run that may have taken hours. Both are refused before any
// work, with what to write instead; a write that fails all the same names the file.

import { accessSync, constants, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { ArgumentError } from "./errors.js";
import { FileError, fileFailure } from "./input-file.js";

/** What a command's --out writes: the endings dropped from the value, and the example's name and files. */
export interface OutFiles {
  /** Endings (no dot) that are dropped from the value: `--out r.json` is the base `r`. */
  endings: readonly string[];
  /** How the message names the files ("the report's two files"), and the example base and endings. */
  noun: string;
  example: string;
  writes: readonly string[];
}

/** `run`'s and `report`'s (and `bench`'s) files: BASE.json and BASE.html. */
export const REPORT_FILES: OutFiles = { endings: ["json", "html"], noun: "the report's two files", example: "report", writes: ["json", "html"] };

/**
 * The base path for `--out <out>` (an ending of `files` dropped): refuses "", a directory, and
 * a base whose folder is missing, not a folder or not writable. `option` is what the user typed.
 */
export function outBase(out: string, files: OutFiles = REPORT_FILES, option = "--out"): string {
  if (out === "") throw new ArgumentError(option, out, `must name the base of ${files.noun}, e.g. ${option} ${files.example}`);
  const base = out.replace(new RegExp(`\\.(${files.endings.join("|")})$`, "i"), "");
  let isDir = false;
  try {
    isDir = statSync(out).isDirectory();
  } catch { /* nothing there: a new file base */ }
  if (isDir || base === "" || /[/\\]$/.test(base) || /(^|[/\\])\.{1,2}$/.test(base)) {
    const dir = base.replace(/[/\\]+$/, "") || ".";
    const names = files.writes.map((w) => `${dir}/${files.example}.${w}`);
    throw new ArgumentError(option, out, `must be the base of ${files.noun}, not a directory: e.g. ` +
      `${option} ${dir}/${files.example} writes ${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`);
  }
  checkOutFolder(base, option, out);
  return base;
}

/**
 * Refuses a file path whose folder is missing, is not a folder, or cannot be written to
 * (`given` is the value as typed, for the message). Checked before the work the file is for.
 */
export function checkOutFolder(path: string, option: string, given = path): void {
  const dir = dirname(path);
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ArgumentError(option, given, code === "ENOTDIR"
      ? `must be in a folder (a part of ${dir} is a file, not a folder)`
      : `must be in a folder that exists (${dir} does not: create it first)`);
  }
  if (!isDir) throw new ArgumentError(option, given, `must be in a folder (${dir} is a file, not a folder)`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new ArgumentError(option, given, `must be in a folder you may write to (${dir} is not writable)`);
  }
}

/** Writes a file a command was asked for; a failure (a directory of that name, a full disk) names the file. */
export function writeOutFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new FileError(`cannot write ${path}: ${fileFailure(e)}`);
  }
}
