// Which field paths name a field of the scenario language: a sweep's axis, `set` or explicit
// point must name one, checked against the scenario schema itself (src/run/scenario.ts), so a
// typo (`smmu.iotlb.entrys`) is told with a did-you-mean before anything runs — not written
// into the scenario as a new field the scenario validator then refuses without saying which
// axis put it there. Below a field whose value is free-form (a domain's variant definition)
// any path is taken; the scenario validator checks what is there.

import { didYouMean } from "../validate.js";
import { scenarioSchema } from "../run/scenario.js";
import { formatFieldPath, type FieldPath } from "./path.js";

type Def = Record<string, unknown> & { type: string };
type AnySchema = { _zod: { def: Def } };

/** Optional, defaulted and refined fields wrap the schema that says what they take. */
function unwrap(s: AnySchema): AnySchema {
  let cur = s;
  for (;;) {
    const def = cur._zod.def;
    if (def.type === "optional" || def.type === "default" || def.type === "prefault" || def.type === "nullable") {
      cur = def.innerType as AnySchema;
    } else if (def.type === "pipe") cur = def.in as AnySchema;
    else return cur;
  }
}

/** The object shapes a step into `s` by a key can take: one, or a union's options. */
function shapesOf(s: AnySchema): Record<string, AnySchema>[] {
  const def = s._zod.def;
  if (def.type === "object") return [def.shape as Record<string, AnySchema>];
  if (def.type === "union") return (def.options as AnySchema[]).flatMap((o) => shapesOf(unwrap(o)));
  return [];
}

/**
 * Why `path` names no scenario field (a message naming the step that fails, with a
 * suggestion), or undefined when it names one.
 */
export function scenarioPathProblem(path: FieldPath): string | undefined {
  return problemAt([unwrap(scenarioSchema as unknown as AnySchema)], path, 0);
}

function problemAt(candidates: AnySchema[], path: FieldPath, i: number): string | undefined {
  if (i === path.length) return undefined;
  const seg = path[i]!;
  const here = i === 0 ? "the scenario" : formatFieldPath(path.slice(0, i));
  // Free-form values (a variant definition): whatever is below is the scenario validator's to check.
  if (candidates.some((c) => c._zod.def.type === "custom" || c._zod.def.type === "unknown")) return undefined;
  if (typeof seg === "number") {
    const next: AnySchema[] = [];
    for (const c of candidates) {
      const def = c._zod.def;
      if (def.type === "array") next.push(unwrap(def.element as AnySchema));
      else if (def.type === "tuple" && seg < (def.items as AnySchema[]).length) next.push(unwrap((def.items as AnySchema[])[seg]!));
    }
    if (next.length === 0) {
      const tuple = candidates.find((c) => c._zod.def.type === "tuple");
      return tuple ? `${here} has ${(tuple._zod.def.items as unknown[]).length} entries: [${seg}] is past its end`
        : `${here} is not a list: it has no entry [${seg}]`;
    }
    return problemAt(next, path, i + 1);
  }
  const shapes = candidates.flatMap(shapesOf);
  const records = candidates.filter((c) => c._zod.def.type === "record");
  if (shapes.length === 0 && records.length === 0) return `${here} is a single value: it has no field ${JSON.stringify(seg)}`;
  const next = [...shapes.filter((sh) => Object.hasOwn(sh, seg)).map((sh) => unwrap(sh[seg]!)),
                ...records.map((r) => unwrap(r._zod.def.valueType as AnySchema))];
  if (next.length === 0) {
    const keys = [...new Set(shapes.flatMap((sh) => Object.keys(sh)))];
    const near = didYouMean(seg, keys);
    const suggestion = near === undefined ? "" : `did you mean ${formatFieldPath([...path.slice(0, i), near])}? `;
    return `${here} has no field ${JSON.stringify(seg)} (${suggestion}its fields: ${keys.join(", ")})`;
  }
  return problemAt(next, path, i + 1);
}
