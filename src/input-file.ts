// Files named on the command line (a replay script, --compare's trace, --litmus's test, a
// report, a scenario or variant file): read through one helper, so that a missing file, a
// directory or one that may not be read is one line naming the option and the path, not
// Node's ENOENT with a stack.

import { readFileSync } from "node:fs";
import { ArgumentError, IommuSimError } from "./errors.js";

/** A file that could not be written (or read) for a reason the path alone does not show: a full disk, an I/O error. */
export class FileError extends IommuSimError {
  override name = "FileError";
}

/** Why a file operation failed, in words: "no such file or directory (ENOENT)" from Node's `ENOENT: …, open 'x'`. */
export function fileFailure(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (!err?.code) return String(err?.message ?? e);
  const reason = err.message.replace(/^[A-Z]+: /, "").replace(/, \w+ '.*'$/, "");
  return `${reason} (${err.code})`;
}

/** What a path should have been, for the errors users meet most; other failures are told as Node tells them. */
const EXPECTED: Record<string, string> = {
  ENOENT: "must name a file that exists",
  ENOTDIR: "must name a file that exists (a part of its path is a file, not a folder)",
  EISDIR: "must name a file, not a directory",
  EACCES: "must name a file you may read (permission denied)",
  EPERM: "must name a file you may read (operation not permitted)",
};

/**
 * The text of the file `path`, which the user gave as `what` (an option, `--compare`, or an
 * argument, `replay's <file>`); a file that cannot be read is an ArgumentError naming both.
 */
export function readInputFile(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ArgumentError(what, path, (code && EXPECTED[code]) ?? `could not be read: ${fileFailure(e)}`);
  }
}
