// The worker side of the pool (src/pool.ts): one instance of the core over the shared
// memory, a start gate, and the tasks. Runs unchanged under Node's worker_threads and in a
// browser's Web Worker.

import { Core } from "../bindings/core.js";
import { BUILTIN_TASK_NAMES, builtinTask, type Task } from "./tasks/index.js";
import { barrierWait, CONTROL_GATE, CONTROL_SHARED, type TaskContext } from "./pool.js";
import { IS_NODE, nodeParentPort } from "./host.js";

type Outbound = Record<string, unknown> & { type: string };

interface Port {
  post(msg: Outbound): void;
  listen(cb: (msg: any) => void): void;
}

async function parentPort(): Promise<Port> {
  if (IS_NODE) {
    const p = await nodeParentPort();
    if (!p) throw new Error("iommu-sim: worker.js must run as a worker thread");
    return { post: (m) => p.postMessage(m), listen: (cb) => p.on("message", cb) };
  }
  const scope = globalThis as unknown as { postMessage(m: unknown): void; onmessage: ((e: MessageEvent) => void) | null };
  return { post: (m) => scope.postMessage(m), listen: (cb) => { scope.onmessage = (e) => cb(e.data); } };
}

const externalTasks = new Map<string, Promise<Task>>();

function resolveTask(name: string): Promise<Task> {
  // Its arguments were checked by the pool (WorkerPool.run), as was a name that is neither.
  const builtin = builtinTask(name);
  if (builtin) return Promise.resolve(builtin.run);
  const hash = name.lastIndexOf("#");
  if (hash <= 0) {
    return Promise.reject(new Error(`unknown task '${name}': not a builtin (${BUILTIN_TASK_NAMES.join(", ")}) and not 'URL#export'`));
  }
  let p = externalTasks.get(name);
  if (!p) {
    const url = name.slice(0, hash);
    const exportName = name.slice(hash + 1);
    p = import(/* @vite-ignore */ url).then((mod: Record<string, unknown>) => {
      const fn = mod[exportName];
      if (typeof fn !== "function") throw new Error(`task module ${url} has no exported function '${exportName}'`);
      return fn as Task;
    });
    externalTasks.set(name, p);
  }
  return p;
}

async function main(): Promise<void> {
  const port = await parentPort();
  let ctx: TaskContext | undefined;
  let gate: Int32Array | undefined;
  // Messages are handled one at a time, in order.
  let queue = Promise.resolve();
  port.listen((msg) => {
    queue = queue.then(() => handle(msg)).catch((e) => {
      port.post({ type: "error", run: msg?.run ?? 0, message: errorMessage(e), stack: (e as Error)?.stack });
    });
  });

  async function handle(msg: any): Promise<void> {
    if (msg.type === "init") {
      const core = await Core.attach(msg.module, msg.memory, msg.slot, true);
      const control = new Int32Array(msg.control);
      ctx = { core, worker: msg.worker, workers: msg.workers, barrier: () => barrierWait(control, msg.workers),
              shared: new Int32Array(msg.control, CONTROL_SHARED * 4) };
      gate = control;
      port.post({ type: "ready" });
    } else if (msg.type === "run") {
      if (!ctx || !gate) throw new Error("run before init");
      const task = await resolveTask(msg.task);
      port.post({ type: "armed", run: msg.run });
      // Wait for the gate to open for this run (or a later one: the pool is closing).
      for (let g = Atomics.load(gate, CONTROL_GATE); g < msg.run; g = Atomics.load(gate, CONTROL_GATE)) {
        Atomics.wait(gate, CONTROL_GATE, g);
      }
      const result = await task(ctx, msg.args);
      port.post({ type: "done", run: msg.run, result });
    }
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

void main();
