// Cache lines written by several CPUs, in modelled time: when a CPU writes a line that
// another CPU wrote last, the line has to move between their caches first (a coherence
// transfer), and the writer waits for it. The page tables are where the DMA path shares
// lines most: IOVAs handed out near each other by the allocator put different CPUs' PTEs on
// one 64-byte line (eight 4 KiB PTEs), so CPUs mapping and unmapping at once bounce it — the
// reason a map gets slower with threads on real machines even though no lock is taken. The
// IOVA caches share lines too: a magazine one CPU filled and parked in the depot is emptied
// by whichever CPU takes it next (its PFNs, and with them the PTE lines of those IOVAs, move
// to that CPU), and the depot's own line moves with every push and pop from another CPU.
//
// Counted only in timed runs (cpu-time.ts timedMode), where CPUs run in modelled-time
// order; charged as CPU_COST_LINE_TRANSFER per line that moves, to its own part of the CPU's
// time (TIME_LINE_TRANSFER), so a report shows what the kernel's sharing costs. The
// last writer of each line is kept in a direct-mapped table (memmap.ts LINE_OWNERS_BASE): two
// lines sharing a slot forget each other, which can only miss a transfer, never invent one.

import { CACHE_LINE, CPU_COST_LINE_TRANSFER, LINE_OWNERS_BASE, LINE_OWNER_SLOTS } from "./memmap";
import { cpuRunning, timedMode, TIME_LINE_TRANSFER } from "./cpu-time";
import { cpuChargeAs } from "./sync";

const LINE_SHIFT: u32 = 6;
if (<u32>1 << LINE_SHIFT != CACHE_LINE) ERROR("LINE_SHIFT must match CACHE_LINE");

/** The running CPU writes `bytes` from `addr`: each line last written by another CPU moves here. */
@inline export function linesWritten(addr: u32, bytes: u32): void {
  // Inlined to this test: the DMA path calls it on every PTE and magazine write, and only
  // timed runs count.
  if (timedMode()) linesWrittenTimed(addr, bytes);
}

/**
 * Forget every line's last writer: a new modelled timeline begins (timed_set on). The table
 * outlives the objects of a run — a Simulator that runs a scenario again makes its domains at
 * the same addresses — and a line the previous run's CPU wrote last is in no cache of the new
 * run's CPUs, so keeping it would charge a transfer that a fresh machine does not make and
 * give two runs of one seed different reports.
 */
export function lineOwnersForget(): void {
  for (let slot: u32 = 0; slot < LINE_OWNER_SLOTS; slot++) atomic.store<u64>(LINE_OWNERS_BASE + (slot << 3), 0);
}

function linesWrittenTimed(addr: u32, bytes: u32): void {
  if (bytes == 0) return;
  const me = cpuRunning();
  if (me == 0) return;
  const last = (addr + bytes - 1) >> LINE_SHIFT;
  let moved: u64 = 0;
  for (let line = addr >> LINE_SHIFT; line <= last; line++) {
    const slot = LINE_OWNERS_BASE + ((line & (LINE_OWNER_SLOTS - 1)) << 3);
    const was = atomic.load<u64>(slot);
    if (<u32>was == line && (was >> 32) != me) moved++;
    if (<u32>was != line || (was >> 32) != me) atomic.store<u64>(slot, <u64>line | (me << 32));
  }
  if (moved != 0) cpuChargeAs(TIME_LINE_TRANSFER, CPU_COST_LINE_TRANSFER, moved);
}
