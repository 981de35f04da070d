// Identities of a sweep and of its points: a hash of their canonical JSON (keys sorted, so a
// file that only reorders its keys is the same sweep). Node's crypto: the sweep runs in Node.

import { createHash } from "node:crypto";

/** JSON with every object's keys sorted (arrays keep their order). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** The first `hexChars` hex digits of the SHA-256 of `value`'s canonical JSON. */
export function hashOf(value: unknown, hexChars = 16): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, hexChars);
}
