// Cache lines written by several CPUs, in modelled time: when a CPU writes a line that
// another CPU wrote last, the line has to move between their caches first (a coherence
// transfer), and the writer waits for it. The page tables are where the DMA path shares
// lines: IOVAs handed out near each other by the allocator put different CPUs' PTEs on one
// 64-byte line (eight 4 KiB PTEs), so CPUs mapping and unmapping at once bounce it — the
// reason a map gets slower with threads on real machines even though no lock is taken.
//
// Counted only in timed runs (cpu-time.ts timedMode), where CPUs run in modelled-time
// order; charged to the writer's work as CPU_COST_LINE_TRANSFER per line that moves. The
// last writer of each line is kept in a direct-mapped table (memmap.ts LINE_OWNERS_BASE): two
// lines sharing a slot forget each other, which can only miss a transfer, never invent one.

import { CACHE_LINE, CPU_COST_LINE_TRANSFER, LINE_OWNERS_BASE, LINE_OWNER_SLOTS } from "./memmap";
import { cpuRunning, timedMode } from "./cpu-time";
import { cpuCharge } from "./sync";

const LINE_SHIFT: u32 = 6;
if (<u32>1 << LINE_SHIFT != CACHE_LINE) ERROR("LINE_SHIFT must match CACHE_LINE");

/** The running CPU writes `bytes` from `addr`: each line last written by another CPU moves here. */
export function linesWritten(addr: u32, bytes: u32): void {
  if (bytes == 0 || !timedMode()) return;
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
  if (moved != 0) cpuCharge(CPU_COST_LINE_TRANSFER, moved);
}
