// Argument checks at the public API: everything that reaches the Wasm core is a finite
// integer in range, so the core never traps and never sees a value it would misread.

import { ArgumentError } from "./errors.js";

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
