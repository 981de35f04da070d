// While a pool run uses a machine, the orchestrating thread does not destroy its objects: a
// worker may be in the middle of a map in the domain, a walk of the table or a translation
// through the stream being taken away, and would meet freed memory (or another object made
// in the freed slot under the same id). A run's end, stop or failure lifts the refusal.

import type { Core } from "../bindings/core.js";
import { IommuSimError } from "./errors.js";

interface RunState {
  /** The task of the run in progress (pool.run), if any. */
  task: string | undefined;
  /** Teardowns in progress that the run cannot see: an object made and undone on this thread. */
  exempt: number;
}

const STATES = new WeakMap<Core, RunState>();

function stateOf(core: Core): RunState {
  let s = STATES.get(core);
  if (!s) STATES.set(core, (s = { task: undefined, exempt: 0 }));
  return s;
}

/** @internal A pool run of `task` begins on the machine (undefined: it ended). */
export function markRun(core: Core, task: string | undefined): void {
  stateOf(core).task = task;
}

/** @internal Refuse to take `what` away (op `ctx`: it would be `done`) while a pool run uses the machine. */
export function refuseDuringRun(core: Core, ctx: string, what: string, done: string): void {
  const s = STATES.get(core);
  if (s?.task === undefined || s.exempt > 0) return;
  throw new IommuSimError(`iommu-sim: ${ctx}: ${what} cannot be ${done} while a run ('${s.task}') is in progress on ` +
    "this Simulator: its workers may be using it. Wait for the run to end (a scenario's report), or stop it first");
}

/**
 * @internal Run `undo` without the refusal: for the parts of one object this thread takes
 * down as one step (a DMA domain's table, IOVA domain and SMMU domain, after its own check),
 * or undoes because making it failed — no worker was given them on their own.
 */
export function asOneTeardown<T>(core: Core, undo: () => T): T {
  const s = stateOf(core);
  s.exempt++;
  try {
    return undo();
  } finally {
    s.exempt--;
  }
}
