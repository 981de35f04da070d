// The browser build's stand-in for src/host.ts (rollup.config.mjs swaps it in for
// dist/browser/): the same functions, without a `node:` import. They are reached only under
// Node, which never loads the browser build unless a bundler was told to target browsers
// and the result is then run in Node: the errors say so.

import type { MessagePort, Worker } from "node:worker_threads";

export const IS_NODE = typeof process !== "undefined" && !!process.versions?.node;

const WRONG_BUILD = "iommu-sim: this is the browser build (the package's \"browser\" export), run under Node; " +
  "import the package without the \"browser\" condition (the default export) to use it in Node";

export async function readLocalFile(_path: URL | string): Promise<Uint8Array> {
  throw new Error(`${WRONG_BUILD} (it was asked to read a local file)`);
}

export async function startNodeWorker(_url: URL): Promise<Worker> {
  throw new Error(`${WRONG_BUILD} (it was asked to start a worker thread)`);
}

export async function nodeParentPort(): Promise<MessagePort | null> {
  throw new Error(`${WRONG_BUILD} (worker.js was started as a worker thread)`);
}
