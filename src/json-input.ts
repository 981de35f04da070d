// Reading JSON that a user wrote (scenario, explore and report files): JSON.parse keeps the
// last of two equal keys without a word, so `{"workers": 1, "workers": 8}` would run with 8
// and the first line the user reads is ignored. parseJsonStrict parses, then walks the text
// once (iteratively: a file nested 100,000 deep must not overflow the stack) and refuses a
// duplicate key, naming it, the object it is in and the line.

import { IommuSimError } from "./errors.js";

/** A file that is not JSON, or JSON with a duplicate key. `source` is the file (or "input"). */
export class JsonInputError extends IommuSimError {
  override name = "JsonInputError";
  constructor(readonly source: string, readonly reason: string) {
    super(`${source}: ${reason}`);
  }
}

/** JSON.parse (a leading BOM dropped), refusing duplicate keys; throws JsonInputError. */
export function parseJsonStrict(text: string, source: string): unknown {
  const body = text.replace(/^\uFEFF/, "");
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new JsonInputError(source, `not JSON: ${why.replace(/\s*[\r\n]+\s*/g, " ")}`);
  }
  const dup = findDuplicateKey(body);
  if (dup) {
    throw new JsonInputError(source, `line ${dup.line}: the key ${JSON.stringify(dup.key)} appears twice in ` +
      `${dup.path === "" ? "the top-level object" : `the object at ${dup.path}`} (JSON would keep only the last; ` +
      "remove one)");
  }
  return value;
}

interface Frame { keys: Set<string> | undefined; at: string; index: number; pendingKey: string | undefined }

/** The first duplicate key of valid JSON text, with the path of its object and its line. */
export function findDuplicateKey(text: string): { key: string; path: string; line: number } | undefined {
  const stack: Frame[] = [];
  let line = 1;
  let lastString: string | undefined;
  const pathOf = (f: Frame | undefined) => f?.at ?? "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\n") line++;
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      lastString = JSON.parse(text.slice(i, j + 1)) as string;
      i = j;
    } else if (c === ":") {
      const top = stack[stack.length - 1]!;
      const key = lastString!;
      if (top.keys!.has(key)) return { key, path: top.at, line };
      top.keys!.add(key);
      top.pendingKey = key;
    } else if (c === "{" || c === "[") {
      const parent = stack[stack.length - 1];
      const at = parent === undefined ? "" : parent.keys ? join(pathOf(parent), parent.pendingKey!) : `${pathOf(parent)}[${parent.index}]`;
      stack.push({ keys: c === "{" ? new Set() : undefined, at, index: 0, pendingKey: undefined });
    } else if (c === "}" || c === "]") stack.pop();
    else if (c === ",") {
      const top = stack[stack.length - 1];
      if (top && !top.keys) top.index++;
    }
  }
  return undefined;
}

function join(path: string, key: string): string {
  const k = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key);
  return path === "" ? k : /^[A-Za-z_$]/.test(k) ? `${path}.${k}` : `${path}[${k}]`;
}
