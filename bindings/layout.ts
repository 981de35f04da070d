// The core's constants as the TypeScript side sees them: every immutable global the Wasm
// module exports (the memory map, record offsets, opcodes, error codes, behaviour bits),
// read from the module itself at load. Their names and types come from the declarations
// asc writes beside the module (build/core.d.ts): nothing here lists them by hand.

import type { instantiate } from "../build/core.js";
import { IommuSimError } from "../src/errors.js";

/** The core's exports as asc's generated bindings adapt them (booleans as booleans, u32 unsigned). */
export type CoreModule = Awaited<ReturnType<typeof instantiate>>;

type GlobalLike = { readonly value: number | bigint };

/** The name of every constant the core exports. */
export type LayoutName = { [K in keyof CoreModule]: CoreModule[K] extends GlobalLike ? K : never }[keyof CoreModule];

/** The core's constants by name; 64-bit ones as numbers (all are below 2^53). */
export type Layout = Readonly<Record<LayoutName, number>>;

/** The names of the exported constants that start with `prefix`. */
export type LayoutNamesWith<P extends string> = Extract<LayoutName, `${P}${string}`>;

/** Read every exported constant of an instance (adapted exports) into a frozen object. */
export function readLayout(adapted: CoreModule): Layout {
  const out: Record<string, number> = {};
  // Own keys are the adapted constants (u32, u64); the rest (i32, f64) are the raw globals
  // of the prototype, which asc passes through unchanged.
  for (const name in adapted) {
    const v = (adapted as unknown as Record<string, unknown>)[name];
    if (typeof v !== "object" || v === null || !("value" in v)) continue;
    out[name] = Number((v as GlobalLike).value);
  }
  return Object.freeze(out) as Layout;
}

let lastLoaded: Layout | undefined;

/** Remember the layout of a core this package loaded (for helpers that decode without one at hand). */
export function rememberLayout(layout: Layout): void {
  lastLoaded = layout;
}

/** The layout of the core this package loaded last; an error before any was loaded. */
export function loadedLayout(what: string): Layout {
  if (!lastLoaded) throw new IommuSimError(`iommu-sim: ${what} needs the core's constants: create a Simulator (or load the core) first`);
  return lastLoaded;
}

/** The constants whose names start with `prefix`, by the rest of their name (e.g. errno tables). */
export function constantsWith<P extends string>(layout: Layout, prefix: P): Map<number, string> {
  const out = new Map<number, string>();
  for (const [name, value] of Object.entries(layout)) {
    if (name.startsWith(prefix)) out.set(value, name.slice(prefix.length));
  }
  return out;
}
