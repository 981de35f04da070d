// Loading a scenario file from disk (Node only; the library itself reads no files, so it
// also runs in browsers): read, parse as JSON, validate (src/run/scenario.ts).

import { readFileSync } from "node:fs";
import { fileFailure } from "../input-file.js";
import { parseJsonStrict, type JsonInputError } from "../json-input.js";
import { parseRunScenario, ScenarioError, type RunScenario } from "./scenario.js";

/** Reads a JSON scenario file and parses it (the file's path is the messages' source). */
export function loadRunScenarioFile(path: string): RunScenario {
  return parseRunScenario(readRunScenarioJson(path), path);
}

/** @internal A scenario file's JSON, read and parsed but not yet checked (the CLI adds --with/--without to it first). */
export function readRunScenarioJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ScenarioError(path, "(root)", [`cannot read ${path}: ${fileFailure(e)}`]);
  }
  let json: unknown;
  try {
    json = parseJsonStrict(text, path);
  } catch (e) {
    // Not JSON, or a key given twice (JSON.parse would keep the last without a word).
    throw new ScenarioError(path, "(root)", [(e as JsonInputError).message]);
  }
  return json;
}
