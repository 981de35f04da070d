// Which thread runs which simulated CPU. In the kernel, code that touches per-CPU data (an
// IOVA domain's rcache magazines, the DMA layer's unmap in progress) runs with preemption
// off on that CPU, so no two contexts use one CPU's data at once. Here a simulated CPU is
// run by one thread (worker) at a time: the first call that uses it claims it, by writing
// the thread's slot + 1 into the CPU's owner word with compare-and-swap; another thread's
// call is refused with -ESIM_CPU_BUSY (the owner's slot + 1 left in the caller's RESULT0)
// until the owner releases it. Two kinds of owner words exist:
//   - per IOVA domain and CPU (the domain's block, I_OWNERS): whose magazines these are;
//   - per DMA CPU (machine-wide, the DMA layer's per-CPU scratch, DMA_CPU_OWNER): whose
//     unmap in progress it is.
// A DMA-layer call on a CPU claims both; the IOVA allocator's own calls claim the first.

import { DMA_CPUS_BASE, DMA_CPU_SIZE, MAX_DMA_CPUS } from "./memmap";
import { currentSlot, thisThread } from "./sync";
import { I_NCPUS, I_OWNERS, OWNER_STRIDE } from "./iova/layout";
import { ESIM_CPU, ESIM_CPU_BUSY } from "./errno";

/** Offset, in a DMA CPU's scratch (DMA_CPU_SIZE), of its owner word (u32: thread slot + 1, 0 none). */
export const DMA_CPU_OWNER: u32 = 120;

/** Make this thread the owner of owner word `w` (first use claims it): 0, or -ESIM_CPU_BUSY. */
function own(w: u32): i32 {
  const me = currentSlot() + 1;
  let owner = load<u32>(w);
  if (owner == me) return 0;
  if (owner == 0) {
    owner = atomic.cmpxchg<u32>(w, 0, me);
    if (owner == 0 || owner == me) return 0;
  }
  thisThread().result0 = owner;
  return -ESIM_CPU_BUSY;
}

/** Let go of owner word `w`; false if this thread did not hold it. */
function disown(w: u32): bool {
  const me = currentSlot() + 1;
  return atomic.cmpxchg<u32>(w, me, 0) == me;
}

@inline function iovaOwnerWord(d: u32, cpu: u32): u32 {
  return load<u32>(d + I_OWNERS) + cpu * OWNER_STRIDE;
}

@inline export function dmaCpuOwnerWord(cpu: u32): u32 {
  return DMA_CPUS_BASE + cpu * DMA_CPU_SIZE + DMA_CPU_OWNER;
}

/** Run simulated `cpu` of IOVA domain `d` (its block) on this thread: 0, -ESIM_CPU or -ESIM_CPU_BUSY. */
export function claimIovaCpu(d: u32, cpu: u32): i32 {
  if (cpu >= load<u32>(d + I_NCPUS)) return -ESIM_CPU;
  return own(iovaOwnerWord(d, cpu));
}

/** Stop running `cpu` of IOVA domain `d`: 0, -ESIM_CPU, or -ESIM_CPU_BUSY (another thread holds it). */
export function releaseIovaCpu(d: u32, cpu: u32): i32 {
  if (cpu >= load<u32>(d + I_NCPUS)) return -ESIM_CPU;
  return disown(iovaOwnerWord(d, cpu)) ? 0 : -ESIM_CPU_BUSY;
}

/**
 * Run DMA CPU `cpu` on this thread, for a DMA domain whose IOVA domain is `d`: both owner
 * words. 0, -ESIM_CPU (not one of the domain's CPUs) or -ESIM_CPU_BUSY.
 */
export function claimDmaCpu(d: u32, cpu: u32): i32 {
  if (cpu >= MAX_DMA_CPUS || cpu >= load<u32>(d + I_NCPUS)) return -ESIM_CPU;
  const c = own(dmaCpuOwnerWord(cpu));
  return c != 0 ? c : own(iovaOwnerWord(d, cpu));
}

/** Give DMA CPU `cpu` back (both words, where this thread holds them): 0 or -ESIM_CPU. */
export function releaseDmaCpu(d: u32, cpu: u32): i32 {
  if (cpu >= MAX_DMA_CPUS) return -ESIM_CPU;
  disown(dmaCpuOwnerWord(cpu));
  if (d != 0 && cpu < load<u32>(d + I_NCPUS)) disown(iovaOwnerWord(d, cpu));
  return 0;
}
