// A JSON form for result objects that hold 64-bit values as BigInt (a fault's `info`, a
// PTE, a map's `mapped64`, …): JSON.stringify throws on a BigInt, and a user who logs or
// saves a result should not have to know which fields are 64-bit. Each such field appears
// in JSON as its decimal string ("0", "18446744073709551615") — every bit kept, as
// protobuf's JSON mapping does for 64-bit integers; `BigInt(s)` gives the value back.

/** The JSON form of an object: its own enumerable fields, each BigInt as a decimal string. */
function toJSON(this: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(this)) out[k] = typeof v === "bigint" ? v.toString() : v;
  return out;
}

/**
 * Give `obj` a toJSON (not enumerable: it is not a field, and comparisons and spreads do
 * not see it) so that JSON.stringify writes its BigInt fields as decimal strings.
 */
export function withJsonForm<T extends object>(obj: T): T {
  Object.defineProperty(obj, "toJSON", { value: toJSON, enumerable: false, configurable: true, writable: true });
  return obj;
}
