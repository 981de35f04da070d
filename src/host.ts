// What the library needs from Node, in one place: reading a file (the core, when given a
// path), and worker_threads (the pool's workers, and a worker's port to its parent). The
// browser build (dist/browser/, see rollup.config.mjs) swaps this module for
// host.browser.ts, so that no `node:` import reaches a browser bundler — esbuild with
// `--platform=browser` refuses to bundle one even when it is never run.

import type { MessagePort, Worker } from "node:worker_threads";

/** True under Node (and runtimes that present themselves as Node). */
export const IS_NODE = typeof process !== "undefined" && !!process.versions?.node;

/** The bytes of a local file. */
export async function readLocalFile(path: URL | string): Promise<Uint8Array> {
  const { readFile } = await import("node:fs/promises");
  return readFile(path);
}

/**
 * A worker_threads Worker running `url`. It starts from a line of code that imports the
 * script rather than from the file itself: a worker inherits this thread's Node options, and
 * Node refuses to start a worker from a file under `--input-type` (given to `node
 * --input-type=module -e …`, or to a script on stdin), while code imports alike under either
 * input type. Handing the worker options of its own instead is no way out: Node then refuses
 * every per-process option among them (`--max-old-space-size`, `--expose-gc`, …), which it
 * leaves out when a worker inherits them. An import that fails is thrown outside its
 * promise, so the worker dies with it whatever `--unhandled-rejections` says.
 */
export async function startNodeWorker(url: URL): Promise<Worker> {
  const { Worker } = await import("node:worker_threads");
  return new Worker(workerBootstrap(url), { eval: true });
}

/** The code a pool worker starts from: import `url`, and die of whatever that import throws. */
function workerBootstrap(url: URL): string {
  return `import(${JSON.stringify(url.href)}).catch((e) => { setTimeout(() => { throw e; }); });`;
}

/** This worker thread's port to the thread that started it (null on a main thread). */
export async function nodeParentPort(): Promise<MessagePort | null> {
  const { parentPort } = await import("node:worker_threads");
  return parentPort;
}
