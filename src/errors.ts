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
  }
}

/** The simulated kernel refused a configuration (where the kernel returns NULL). */
export class ConfigError extends IommuSimError {
  override name = "ConfigError";
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
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : String(v);
}
