// Field paths of a sweep (`smmu.iotlb.entries`, `domains[0].type`, `workloads[0].ops`): how a
// sweep file names the scenario field an axis changes, and the metric a result line keeps of a
// run's report. Parsed once into segments (names and array indices); read and written by
// getPath / setPath, which never index past an array's end (a sweep that does is refused with
// the path, not given a sparse array the scenario validator would misreport).

import { ArgumentError } from "../errors.js";

/** A parsed field path: object keys (strings) and array indices (numbers). */
export type FieldPath = readonly (string | number)[];

const NAME = /^[A-Za-z_$][\w$-]*/;
const INDEX = /^\[(\d+)\]/;

/** `a.b[0].c` → ["a", "b", 0, "c"]; throws an ArgumentError saying where the text stops being a path. */
export function parseFieldPath(text: string, what = "the field path"): FieldPath {
  if (typeof text !== "string" || text === "") {
    throw new ArgumentError(what, text, "must be a field path such as smmu.iotlb.entries or workloads[0].ops");
  }
  const out: (string | number)[] = [];
  let rest = text;
  let first = true;
  while (rest !== "") {
    const index = INDEX.exec(rest);
    if (index && !first) {
      const n = Number(index[1]);
      if (!Number.isSafeInteger(n)) throw badPath(text, rest, what, "an index that is too large");
      out.push(n);
      rest = rest.slice(index[0].length);
      continue;
    }
    if (!first) {
      if (rest[0] !== ".") throw badPath(text, rest, what, `"." or "[index]"`);
      rest = rest.slice(1);
    }
    const name = NAME.exec(rest);
    if (!name) throw badPath(text, rest, what, "a field name (letters, digits, _, $ or -, not starting with a digit)");
    out.push(name[0]);
    rest = rest.slice(name[0].length);
    first = false;
  }
  return out;
}

function badPath(text: string, rest: string, what: string, expected: string): ArgumentError {
  const at = text.length - rest.length;
  return new ArgumentError(what, text, `is not one such as smmu.iotlb.entries or workloads[0].ops: ` +
    `expected ${expected} at character ${at + 1}${rest === "" ? " (the end)" : ` ("${rest.slice(0, 12)}")`}`);
}

/** The path as text again: ["a", 0, "b"] → `a[0].b`. */
export function formatFieldPath(path: FieldPath): string {
  return path.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The value at `path` in `root`, or undefined when any step of it is missing. */
export function getPath(root: unknown, path: FieldPath): unknown {
  let v: unknown = root;
  for (const seg of path) {
    if (typeof seg === "number") {
      if (!Array.isArray(v) || seg >= v.length) return undefined;
      v = v[seg];
    } else {
      if (!isObject(v) || !Object.hasOwn(v, seg)) return undefined;
      v = v[seg];
    }
  }
  return v;
}

/**
 * Writes `value` at `path` in `root` (in place). Missing objects on the way are created; an
 * index must name an element of an array that is there (at most one past its end, which
 * appends), and a step into something that is not an object or array is refused: each with
 * an ArgumentError naming the path and the step.
 */
export function setPath(root: Record<string, unknown>, path: FieldPath, value: unknown): void {
  if (path.length === 0) throw new ArgumentError("field path", "", "must name a field");
  let v: unknown = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    const here = formatFieldPath(path.slice(0, i));
    if (typeof seg === "number") {
      if (!Array.isArray(v)) {
        throw new ArgumentError(formatFieldPath(path), value, `cannot be set: ${here} is not an array (found ${kind(v)})`);
      }
      if (seg > v.length) {
        throw new ArgumentError(formatFieldPath(path), value, `cannot be set: ${here} has ${v.length} ` +
          `entr${v.length === 1 ? "y" : "ies"}, so [${seg}] is past its end (the next new one is [${v.length}])`);
      }
      if (last) v[seg] = value;
      else {
        if (seg === v.length || v[seg] === undefined || v[seg] === null) v[seg] = typeof path[i + 1] === "number" ? [] : {};
        v = v[seg];
      }
    } else {
      if (!isObject(v)) {
        throw new ArgumentError(formatFieldPath(path), value, `cannot be set: ${here} is not an object (found ${kind(v)})`);
      }
      if (last) v[seg] = value;
      else {
        if (!Object.hasOwn(v, seg) || v[seg] === undefined || v[seg] === null) {
          // A missing array cannot be made from an index: its other entries would be holes.
          if (typeof path[i + 1] === "number") {
            throw new ArgumentError(formatFieldPath(path), value, `cannot be set: ${formatFieldPath(path.slice(0, i + 1))} ` +
              "is not there (set the whole list first, e.g. in `set`)");
          }
          v[seg] = {};
        }
        v = v[seg];
      }
    }
  }
}

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return typeof v === "string" ? `the string ${JSON.stringify(v)}` : `${typeof v} ${String(v)}`;
}
