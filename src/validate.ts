// Argument checks at the public API: everything that reaches the Wasm core is a finite
// integer in range, so the core never traps and never sees a value it would misread.

import { ArgumentError, ForeignObjectError, UnknownOptionError } from "./errors.js";

export const MAX_ADDRESS = Number.MAX_SAFE_INTEGER; // 2^53 − 1: exact as a JS number

/** An address or size: an integer in [0, 2^53). */
export function checkAddress(name: string, v: unknown, context?: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_ADDRESS) {
    throw new ArgumentError(name, v,
      "must be an integer address in [0, 2^53) (a JS number, exact up to 2^53)", context);
  }
  return v;
}

export function checkInt(name: string, v: unknown, min: number, max: number, context?: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new ArgumentError(name, v, `must be an integer in [${min}, ${max}]`, context);
  }
  return v;
}

export function checkOneOf<T extends string>(name: string, v: unknown, allowed: readonly T[],
                                             context?: string): T {
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    throw new ArgumentError(name, v, `must be one of ${allowed.map((a) => `'${a}'`).join(", ")}`, context);
  }
  return v as T;
}

export function isPowerOfTwo(v: number): boolean {
  return v > 0 && Number.isInteger(Math.log2(v));
}

/**
 * Every key an options type may hold, as an object the compiler checks against the type
 * (`satisfies OptionKeys<SmmuOptions>` fails when the interface gains or loses a key), so
 * the list of keys accepted at run time is never a hand-kept copy that drifts.
 */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: unknown };

/**
 * An options argument: left out (undefined) reads as {}; anything but a plain object (null,
 * an array, a string) and any key not in `keys` is refused, so a typo (`profil`) is not
 * silently ignored with the default left in force. `name` is the argument's path in the
 * messages (`options`, `options.iotlb`).
 */
export function checkOptions<T extends object>(v: T | undefined | null, keys: OptionKeys<T> | readonly string[],
                                               context: string, name = "options", noun = "option"): T {
  if (v === undefined) return {} as T;
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ArgumentError(name, v, "must be an object (or left out)", context);
  }
  const allowed = Array.isArray(keys) ? keys as readonly string[] : Object.keys(keys);
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) {
      const path = name === "options" || name === "" ? k : `${name}.${k}`;
      throw new UnknownOptionError(path, (v as Record<string, unknown>)[k], allowed, didYouMean(k, allowed), context, noun);
    }
  }
  return v;
}

/**
 * Options a call cannot do without (`what` says which keys it needs): as checkOptions, but
 * left out or null is refused with what is needed.
 */
export function checkRequiredOptions<T extends object>(v: T | undefined | null, keys: OptionKeys<T> | readonly string[],
                                                       context: string, what: string, name = "options"): T {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ArgumentError(name, v, `must be an object (${what})`, context);
  }
  return checkOptions(v, keys, context, name);
}

/** A boolean option: left out gives `dflt`; anything else but true or false is refused. */
export function checkBool(name: string, v: unknown, dflt: boolean, context?: string): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") throw new ArgumentError(name, v, "must be true or false", context);
  return v;
}

/** A callback option (onProgress, onResult, …): left out is undefined; anything but a function is refused. */
export function checkCallback<F extends (...args: never[]) => unknown>(name: string, v: F | undefined, context: string): F | undefined {
  if (v !== undefined && typeof v !== "function") throw new ArgumentError(name, v, "must be a function", context);
  return v;
}

/**
 * A `signal` option: left out is undefined; anything but an AbortSignal is refused before
 * the call starts anything (a timer, a worker) that the refusal would leave behind. Checked
 * by its shape, so that a signal of another realm (a vm context, an iframe) is taken too.
 */
export function checkSignal(v: unknown, context: string, name = "signal"): AbortSignal | undefined {
  if (v === undefined) return undefined;
  const s = v as Partial<AbortSignal> | null;
  if (typeof v !== "object" || s === null || typeof s.aborted !== "boolean" || typeof s.addEventListener !== "function" ||
      typeof s.removeEventListener !== "function" || typeof s.throwIfAborted !== "function") {
    throw new ArgumentError(name, v, "must be an AbortSignal", context);
  }
  return v as AbortSignal;
}

/**
 * The nearest of `candidates` to a mistyped `word` (case folded; at most a third of its
 * letters off), or else the one candidate it abbreviates (`secs` → `seconds`), or undefined:
 * cheap enough for an error path, and wrong guesses stay out.
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Math.max(1, Math.floor(w.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) { best = c; bestD = d; }
  }
  return best ?? abbreviated(w, candidates);
}

/**
 * The one candidate that lower-case `w` abbreviates — three letters or more, its first letter
 * first, all of them in order (`secs` of `seconds`, `thr` of `threads`) — or undefined where
 * none or several do: a guess two keys could answer is no help.
 */
function abbreviated(w: string, candidates: readonly string[]): string | undefined {
  if (w.length < 3) return undefined;
  const matches = candidates.filter((c) => {
    const l = c.toLowerCase();
    if (l.length <= w.length || l[0] !== w[0]) return false;
    let at = 0;
    for (const ch of w) {
      at = l.indexOf(ch, at) + 1;
      if (at === 0) return false;
    }
    return true;
  });
  return matches.length === 1 ? matches[0] : undefined;
}

/** Levenshtein distance with adjacent transpositions counted as one edit (`tpye` → `type`). */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3 || a.length > 64 || b.length > 64) return Infinity;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** A handle's class, for instanceof: its constructor is private or internal, so no `new` signature. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type HandleClass<T> = Function & { prototype: T };

// Which simulator (its core) made each handle: a handle passed to another Simulator would
// have its id read as an index into that simulator's tables — another object, or none.
const OWNERS = new WeakMap<object, object>();

/** Records that `obj` was made by the simulator whose core is `owner`. */
export function own<T extends object>(obj: T, owner: object): T {
  OWNERS.set(obj, owner);
  return obj;
}

/**
 * `v` must be a `what` (a handle this package made) of the simulator whose core is `owner`:
 * a handle from another Simulator, or something else, is refused.
 */
export function checkOwned<T extends object>(name: string, v: unknown, owner: object, what: string, context: string,
                                             kind?: HandleClass<T>): T {
  if (typeof v !== "object" || v === null || !OWNERS.has(v) || (kind && !(v instanceof kind))) {
    throw new ArgumentError(name, v, `must be ${what}`, context);
  }
  if (OWNERS.get(v) !== owner) {
    throw new ForeignObjectError(name, v, `must be ${what} of this Simulator, not one made by another Simulator`, context);
  }
  return v as T;
}
