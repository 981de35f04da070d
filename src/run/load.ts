// Loading a scenario file from disk (Node only; the library itself reads no files, so it
// also runs in browsers): read, parse as JSON, validate (src/run/scenario.ts).

import { readFileSync } from "node:fs";
import { parseRunScenario, ScenarioError, type RunScenario } from "./scenario.js";

/** Reads a JSON scenario file and parses it (the file's path is the messages' source). */
export function loadRunScenarioFile(path: string): RunScenario {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ScenarioError(path, "(root)", [`cannot read ${path}: ${readFailure(e)}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (e) {
    const reason = (e as Error).message.replace(/\s*[\r\n]+\s*/g, " ");
    throw new ScenarioError(path, "(root)", [`${path}: not JSON: ${reason}`]);
  }
  return parseRunScenario(json, path);
}

/** `no such file or directory (ENOENT)` from `ENOENT: no such file or directory, open 'x'`. */
function readFailure(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (!err.code) return String(err.message ?? e);
  const reason = err.message.replace(/^[A-Z]+: /, "").replace(/, \w+ '.*'$/, "");
  return `${reason} (${err.code})`;
}
