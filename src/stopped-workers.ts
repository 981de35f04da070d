// Thread slots whose worker the orchestrator stopped in the middle of a task: a pool closed,
// timed out or failed while its workers were inside a run. Such a worker was terminated
// wherever it was — possibly inside one of the core's critical sections, holding a spinlock
// or halfway through a simulated CPU's per-CPU data. So what it held stays held: its claims
// on simulated CPUs are not released (the CPU's magazines or unmap in progress may be
// half-changed), and tearing the machine's objects down could wait on one of its locks. The
// slots are recorded in the machine itself (ControlBlock.stoppedSlots: the pool calls
// Core.markStoppedSlots), where a lock's word names its holder: a thread that meets a lock
// such a worker held gives up with a MachineStoppedError instead of spinning for good, and
// Simulator.close leaves the objects as they are. Here: the words for a CPU such a worker
// left claimed, and the slots a new pool's workers take — never a stopped one, whose claims
// and locks a new worker would otherwise pass for its own.

import { STOPPED_HOW, type Core } from "../bindings/core.js";
import { MachineStoppedError } from "./errors.js";

/**
 * Why simulated CPU `cpu` is claimed by thread `slot`, where that slot's worker was stopped
 * mid-task (undefined otherwise): what the claim means and how to go on.
 */
export function stoppedClaimNote(core: Core, slot: number, cpu: number): string | undefined {
  if (!core.stoppedSlots().includes(slot)) return undefined;
  return `simulated CPU ${cpu} was left claimed by the worker in thread slot ${slot}, which was stopped mid-run ` +
    `(${STOPPED_HOW}); it may have died inside a critical section, so its ` +
    "claims are not released and that CPU's state may be half-changed: close this Simulator and use a new one (ESIM_CPU_BUSY)";
}

/**
 * The thread slots a new pool of `size` workers runs in: the lowest from 1 up (0 is the
 * orchestrating thread's) that no worker stopped mid-task left — a new worker in such a slot
 * would pass for the dead one, taking over its claims on simulated CPUs and its locks.
 */
export function poolSlots(core: Core, size: number): number[] {
  const stopped = new Set(core.stoppedSlots());
  const slots: number[] = [];
  for (let s = 1; s < core.layout.MAX_THREADS && slots.length < size; s++) if (!stopped.has(s)) slots.push(s);
  if (slots.length < size) {
    throw new MachineStoppedError(`iommu-sim: pool: ${size} workers need ${size} free thread slots, but workers stopped ` +
      `mid-run (${STOPPED_HOW}) left ${stopped.size} of the ` +
      `${core.layout.MAX_THREADS - 1} taken and only ${slots.length} free: close this Simulator and use a new one`);
  }
  return slots;
}
