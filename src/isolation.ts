// Whether this JavaScript environment can hold the simulator's shared memory. The whole
// simulator lives in one shared WebAssembly.Memory that the workers attach to, and browsers
// only allow that (a SharedArrayBuffer that can be posted to a worker) in a page that is
// cross-origin isolated. Without this check a page lacking the two headers fails later and
// obscurely (Chromium still builds a shared Wasm memory there, then refuses to post it), so
// everything that creates shared memory asks here first.

import { IommuSimError } from "./errors.js";

/** The global facts the check looks at (a function of them, so Node can test it). */
export interface IsolationFlags {
  /** globalThis.crossOriginIsolated: a boolean in browsers, undefined in Node. */
  crossOriginIsolated: unknown;
  /** Whether the SharedArrayBuffer constructor is reachable (browsers hide it when not isolated). */
  hasSharedArrayBuffer: boolean;
  /** Node (or a runtime like it): no page, so no headers to ask for. */
  isNode: boolean;
}

/** The one line a page without isolation gets: what is missing and how to provide it. */
export const ISOLATION_MESSAGE =
  "iommu-sim needs a cross-origin-isolated page for its shared memory (SharedArrayBuffer): serve it with " +
  'the headers "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp"';

/** For Node without SharedArrayBuffer (e.g. started with it disabled): headers would not help. */
export const NO_SAB_MESSAGE =
  "iommu-sim needs SharedArrayBuffer for its shared memory, and this JavaScript runtime does not provide it";

/** What keeps shared memory from working here, in one line; undefined when nothing does. */
export function sharedMemoryProblem(flags: IsolationFlags): string | undefined {
  // Only a browser says `false` (Node leaves it undefined). A browser may still expose
  // SharedArrayBuffer there (a flag, an origin trial), but cannot post it to a worker.
  if (flags.crossOriginIsolated === false) return ISOLATION_MESSAGE;
  if (!flags.hasSharedArrayBuffer) return flags.isNode ? NO_SAB_MESSAGE : ISOLATION_MESSAGE;
  return undefined;
}

/** The flags of the environment this code runs in. */
export function currentIsolationFlags(): IsolationFlags {
  return {
    crossOriginIsolated: (globalThis as { crossOriginIsolated?: unknown }).crossOriginIsolated,
    hasSharedArrayBuffer: typeof SharedArrayBuffer !== "undefined",
    isNode: typeof process !== "undefined" && !!process.versions?.node,
  };
}

/** Throw an IommuSimError saying what is needed, unless shared memory can work here. */
export function assertSharedMemoryAvailable(): void {
  const problem = sharedMemoryProblem(currentIsolationFlags());
  if (problem) throw new IommuSimError(problem);
}
