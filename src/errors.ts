// Errors the simulator raises. Every refusal says what was wrong and where: the argument
// or field, the value it got, and what was expected.

/** The base of every error the package throws on purpose (`instanceof IommuSimError`). */
export class IommuSimError extends Error {
  override name = "IommuSimError";
}

/** A call's argument (or a config field) that the simulator will not take. */
export class ArgumentError extends IommuSimError {
  override name = "ArgumentError";
  constructor(readonly argument: string, readonly value: unknown, readonly expected: string,
              context?: string) {
    super(`${context ? context + ": " : ""}${argument} ${expected}, got ${describe(value)}`);
    // Kept for the catcher, out of the error's printing: a handle (a PageTable) would print the
    // whole machine behind it when the error goes uncaught.
    Object.defineProperty(this, "value", { enumerable: false });
  }
}

/** The simulated kernel refused a configuration (where the kernel returns NULL). */
export class ConfigError extends IommuSimError {
  override name = "ConfigError";
}

/**
 * A call met what a worker stopped mid-run left behind — one of the machine's locks it held,
 * or a domain it never left — and would have waited for it for good; or a new pool found no
 * thread slots left that such workers had not taken. The Simulator is to be closed and a new
 * one made.
 */
export class MachineStoppedError extends IommuSimError {
  override name = "MachineStoppedError";
}

/** A worker threw or died; the run it belonged to was stopped. */
export class WorkerError extends IommuSimError {
  override name = "WorkerError";
  constructor(message: string, readonly worker: number, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function hex(v: number | bigint): string {
  return "0x" + v.toString(16);
}

export function describe(v: unknown): string {
  if (typeof v === "number") {
    if (Number.isInteger(v) && v >= 0) return `${v} (${hex(v)})`;
    return String(v);
  }
  if (typeof v === "bigint") return `${v}n (${hex(v)})`;
  if (typeof v === "string") return JSON.stringify(v);
  if (v === undefined || v === null) return String(v);
  // Its length: what a list that must have one entry per worker got wrong.
  if (Array.isArray(v)) return v.length === 0 ? "an empty array" : `an array of ${v.length} entr${v.length === 1 ? "y" : "ies"}`;
  if (typeof v === "object") {
    // A handle (a Smmu, a PageTable) says what it is; a plain object is just an object.
    const cls = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return cls && cls !== "Object" ? `a ${cls}` : "an object";
  }
  return typeof v === "function" ? "a function" : String(v);
}

/**
 * An options object (or a file's object) with a key the simulator does not know: most often
 * a typo, which would otherwise be ignored and leave the default in force.
 */
export class UnknownOptionError extends ArgumentError {
  override name = "UnknownOptionError";
  constructor(readonly key: string, value: unknown, readonly allowed: readonly string[],
              readonly suggestion: string | undefined, context?: string, noun = "option") {
    super(key, value, unknownKeyText(allowed, suggestion, noun), context);
  }
}

/** What an UnknownOptionError says of its key (also a parser's words for one, where it lists problems). */
export function unknownKeyText(allowed: readonly string[], suggestion: string | undefined, noun = "option"): string {
  return `is not a known ${noun}${suggestion ? ` (did you mean '${suggestion}'?)` : ""}; ` +
    `known: ${allowed.length ? allowed.join(", ") : "none"}`;
}

/** An object made by another Simulator, or already bound elsewhere, handed to this one. */
export class ForeignObjectError extends ArgumentError {
  override name = "ForeignObjectError";
}

/**
 * The simulator's own resources ran out (its private heap, kheapMiB; a table of fixed
 * size): not something the simulated kernel would have refused, so not an -errno.
 */
export class SimulatorResourceError extends IommuSimError {
  override name = "SimulatorResourceError";
}
