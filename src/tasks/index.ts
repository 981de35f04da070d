// The tasks a worker can run by name. Each is a function of the worker's context and the
// arguments the orchestrator sent it, with the check of those arguments that WorkerPool.run
// makes before any worker starts (src/tasks/args.ts).

import type { TaskContext } from "../pool.js";
import { pgtableTasks } from "./pgtable.js";
import { smmuTasks } from "./smmu.js";
import { iovaTasks } from "./iova.js";
import { dmaTasks } from "./dma.js";
import { scenarioTasks } from "./scenario.js";
import { mapBenchmarkTasks } from "./map-benchmark.js";
import { argsCheck, checkString, optional, taskFields, type BuiltinTask } from "./args.js";
import { checkInt, type OptionKeys } from "../validate.js";

export type Task = (ctx: TaskContext, args: any) => unknown;
export type { BuiltinTask } from "./args.js";

interface ThrowArgs { message?: string }
interface ExitArgs { worker?: number; code?: number }

const THROW_KEYS = { message: true } as const satisfies OptionKeys<ThrowArgs>;
const EXIT_KEYS = { worker: true, code: true } as const satisfies OptionKeys<ExitArgs>;

/** For the pool's own tests: a task that fails, and one whose worker dies. */
const testTasks = {
  /** Throws (`message`, or a default): for tests of error propagation. */
  "test.throw": {
    run: (_ctx: TaskContext, args: ThrowArgs | undefined) => {
      throw new Error(args?.message ?? "task threw on purpose");
    },
    checkArgs: argsCheck((a, s) => {
      if (a === undefined) return;
      optional(taskFields<ThrowArgs>(a, THROW_KEYS, s).message, (v) => checkString("message", v, s));
    }),
  },
  /** Exits worker `worker` (every worker when left out) with `code` (default 3): for tests of a dying worker. */
  "test.exit": {
    run: (ctx: TaskContext, args: ExitArgs | undefined) => {
      if (args?.worker === undefined || args.worker === ctx.worker) {
        if (typeof process !== "undefined" && process.versions?.node) process.exit(args?.code ?? 3);
        (globalThis as unknown as { close(): void }).close();
      }
      return new Promise(() => undefined); // the others wait, as a peer of a dead worker would
    },
    checkArgs: argsCheck((a, s) => {
      if (a === undefined) return;
      const f = taskFields<ExitArgs>(a, EXIT_KEYS, s);
      optional(f.worker, (v) => checkInt("worker", v, 0, s.workers - 1, s.context));
      optional(f.code, (v) => checkInt("code", v, 0, 255, s.context));
    }),
  },
} satisfies Record<string, BuiltinTask>;

export const BUILTIN_TASKS: Readonly<Record<string, BuiltinTask>> = Object.freeze({
  ...pgtableTasks,
  ...smmuTasks,
  ...iovaTasks,
  ...dmaTasks,
  ...scenarioTasks,
  ...mapBenchmarkTasks,
  ...testTasks,
});

export const BUILTIN_TASK_NAMES: readonly string[] = Object.freeze(Object.keys(BUILTIN_TASKS));

/** The built-in task named `name`, or undefined (never an Object.prototype member: "constructor" is no task). */
export function builtinTask(name: string): BuiltinTask | undefined {
  return Object.hasOwn(BUILTIN_TASKS, name) ? BUILTIN_TASKS[name] : undefined;
}
