// Thread slots whose worker the orchestrator stopped in the middle of a task: a pool closed,
// timed out or failed while its workers were inside a run. Such a worker was terminated
// wherever it was — possibly inside one of the core's critical sections, holding a spinlock
// (locks record no owner) or halfway through a simulated CPU's per-CPU data. So what it
// held stays held: its claims on simulated CPUs are not released (the CPU's magazines or
// unmap in progress may be half-changed), and tearing the machine's objects down could spin
// forever on one of its locks. This is the orchestrating thread's record of those slots, per
// machine (its Core), for the errors that meet what such a worker left behind and for
// Simulator.close, which then leaves the objects as they are.

import type { Core } from "../bindings/core.js";

const stoppedSlots = new WeakMap<Core, Set<number>>();

/** Record that the workers in `slots` of `core`'s machine were stopped mid-task. */
export function markStoppedMidRun(core: Core, slots: readonly number[]): void {
  if (slots.length === 0) return;
  const set = stoppedSlots.get(core) ?? new Set<number>();
  for (const s of slots) set.add(s);
  stoppedSlots.set(core, set);
}

/** Whether any worker of `core`'s machine was stopped mid-task (its objects may hold a dead thread's lock). */
export function anyStoppedMidRun(core: Core): boolean {
  return (stoppedSlots.get(core)?.size ?? 0) > 0;
}

/**
 * Why simulated CPU `cpu` is claimed by thread `slot`, where that slot's worker was stopped
 * mid-task (undefined otherwise): what the claim means and how to go on.
 */
export function stoppedClaimNote(core: Core, slot: number, cpu: number): string | undefined {
  if (!stoppedSlots.get(core)?.has(slot)) return undefined;
  return `simulated CPU ${cpu} was left claimed by the worker in thread slot ${slot}, which was stopped mid-run ` +
    "(its pool was closed, timed out or failed during a run); it may have died inside a critical section, so its " +
    "claims are not released and that CPU's state may be half-changed: close this Simulator and use a new one (ESIM_CPU_BUSY)";
}
