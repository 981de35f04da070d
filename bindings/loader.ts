// Loading core.wasm: compile once, in Node or a browser, or take a module/URL the user
// supplies; create the shared memory; instantiate over it. The compiled module and the
// memory are what a worker receives to make its own instance (see src/pool.ts).

import { assertSharedMemoryAvailable } from "../src/isolation.js";
import { IS_NODE as isNode, readLocalFile } from "../src/host.js";
import { ArgumentError, IommuSimError } from "../src/errors.js";

/** Where the core comes from: a compiled module, its bytes, or a URL/path to fetch. */
export type CoreSource = WebAssembly.Module | ArrayBufferView | ArrayBuffer | URL | string;

const WASM_PAGE = 65536;
/** The core addresses memory with 32-bit pointers: at most 4 GiB − 64 KiB of it is usable. */
export const MAX_MEMORY_BYTES = 65535 * WASM_PAGE;

function defaultCoreUrl(): URL {
  // A bundle in a format without import.meta (esbuild's default iife for browsers) cannot
  // say where it is: the user has to.
  if (typeof import.meta.url !== "string") {
    throw new IommuSimError("iommu-sim: this bundle cannot locate core.wasm (import.meta.url is not set, as in an iife or CommonJS " +
      "bundle): pass Simulator.create({ core }) a URL of core.wasm or a compiled WebAssembly.Module");
  }
  // core.wasm ships beside the bundle (dist/ and dist/browser/), see rollup.config.mjs.
  return new URL("./core.wasm", import.meta.url);
}

async function readBytes(url: URL | string): Promise<ArrayBuffer | Uint8Array> {
  const asUrl = typeof url === "string" && !/^[a-z][a-z0-9+.-]*:/i.test(url) ? null : new URL(url);
  if (isNode && (asUrl === null || asUrl.protocol === "file:")) {
    return readLocalFile(asUrl ?? url);
  }
  const res = await fetch(asUrl ?? url);
  if (!res.ok) throw new IommuSimError(`iommu-sim: could not fetch the core from ${String(url)}: HTTP ${res.status}`);
  return res.arrayBuffer();
}

let cachedDefault: Promise<WebAssembly.Module> | undefined;

/** Compile the core (once per source for the default one). */
export function compileCore(source?: CoreSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return Promise.resolve(source);
  if (source === undefined) {
    cachedDefault ??= compileFrom(defaultCoreUrl());
    return cachedDefault;
  }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    return WebAssembly.compile(source as BufferSource).catch((e: unknown) => {
      throw new IommuSimError(`iommu-sim: the bytes given as the core are not a Wasm module: ${(e as Error).message}`, { cause: e });
    });
  }
  if (typeof source !== "string" && !(source instanceof URL)) {
    return Promise.reject(new ArgumentError("core", source,
      "must be core.wasm: a compiled WebAssembly.Module, its bytes (an ArrayBuffer or a view), or its URL or path", "compileCore"));
  }
  return compileFrom(source);
}

async function compileFrom(url: URL | string): Promise<WebAssembly.Module> {
  const href = String(url);
  if (!isNode && typeof WebAssembly.compileStreaming === "function") {
    try {
      return await WebAssembly.compileStreaming(fetch(url));
    } catch {
      // A server without the application/wasm type: fall back to bytes.
    }
  }
  try {
    return await WebAssembly.compile((await readBytes(url)) as BufferSource);
  } catch (e) {
    throw new IommuSimError(`iommu-sim: could not load the Wasm core from ${href}: ${(e as Error).message}`, { cause: e });
  }
}

/** Shared memory for the whole simulation; fixed size, so views never go stale. */
export function createSharedMemory(bytes: number): WebAssembly.Memory {
  // Chromium builds a shared Wasm memory even in a page that is not isolated, then refuses
  // to post it to a worker: refuse here, in words, rather than there.
  assertSharedMemoryAvailable();
  const pages = Math.ceil(bytes / WASM_PAGE);
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}
