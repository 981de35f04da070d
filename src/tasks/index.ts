// The tasks a worker can run by name. Each is a function of the worker's context and the
// arguments the orchestrator sent it.

import type { TaskContext } from "../pool.js";
import { pgtableTasks } from "./pgtable.js";
import { smmuTasks } from "./smmu.js";
import { iovaTasks } from "./iova.js";
import { dmaTasks } from "./dma.js";
import { scenarioTasks } from "./scenario.js";
import { mapBenchmarkTasks } from "./map-benchmark.js";

export type Task = (ctx: TaskContext, args: any) => unknown;

export const BUILTIN_TASKS: Readonly<Record<string, Task>> = Object.freeze({
  ...pgtableTasks,
  ...smmuTasks,
  ...iovaTasks,
  ...dmaTasks,
  ...scenarioTasks,
  ...mapBenchmarkTasks,
  /** Throws: for tests of error propagation. */
  "test.throw": (_ctx: TaskContext, args: { message?: string }) => {
    throw new Error(args?.message ?? "task threw on purpose");
  },
  /** Exits the worker: for tests of a dying worker. */
  "test.exit": (ctx: TaskContext, args: { worker?: number; code?: number }) => {
    if (args?.worker === undefined || args.worker === ctx.worker) {
      if (typeof process !== "undefined" && process.versions?.node) process.exit(args?.code ?? 3);
      (globalThis as unknown as { close(): void }).close();
    }
    return new Promise(() => undefined); // the others wait, as a peer of a dead worker would
  },
});
