// Where the package's runtime files are: the options that place core.wasm and the worker
// script (for bundlers that move them, or bundles that cannot say where they are), and
// their check. Shared by Simulator.create, runScenario and runMapBenchmark.

import type { CoreSource } from "../bindings/loader.js";
import { ArgumentError } from "./errors.js";

/**
 * Where the package's two runtime files live, for a bundle that moves them or cannot say
 * where it is itself (esbuild, an iife bundle, a CDN): the compiled core and the worker
 * script. Unset, each is looked for beside the bundle (`new URL("./core.wasm",
 * import.meta.url)`), which is right when the package is used unbundled or through Vite.
 */
export interface AssetOptions {
  /**
   * core.wasm: a URL (absolute, or a path relative to the page in a browser, a file path in
   * Node), its bytes, or a compiled `WebAssembly.Module` (compile it once, share it between
   * simulators). Like esbuild-wasm's `wasmURL`/`wasmModule`. Default: core.wasm beside the bundle.
   */
  core?: CoreSource;
  /**
   * The worker script the pool starts: in a browser the package's `dist/browser/worker.js`
   * (one self-contained file) copied where the page can load it; in Node `dist/worker.js`.
   * A relative string resolves against the page in a browser, against the bundle in Node.
   * Default: worker.js beside the bundle.
   */
  workerUrl?: URL | string;
}

/**
 * The asset options checked: `core` a URL, a non-empty string, bytes or a WebAssembly.Module;
 * `workerUrl` a URL or a non-empty string.
 */
export function checkAssetOptions(opts: AssetOptions, ctx: string): AssetOptions {
  const { core, workerUrl } = opts;
  const okCore = core === undefined || core instanceof WebAssembly.Module || core instanceof URL ||
    (typeof core === "string" && core.length > 0) || core instanceof ArrayBuffer || ArrayBuffer.isView(core);
  if (!okCore) {
    throw new ArgumentError("core", core, "must be the URL or path of core.wasm (a URL or a non-empty string), its bytes, " +
      "or a compiled WebAssembly.Module", ctx);
  }
  if (workerUrl !== undefined && !(workerUrl instanceof URL) && !(typeof workerUrl === "string" && workerUrl.length > 0)) {
    throw new ArgumentError("workerUrl", workerUrl, "must be the URL of the worker script (a URL or a non-empty string)", ctx);
  }
  return { core, workerUrl };
}

