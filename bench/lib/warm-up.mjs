// How the benchmarks bring two CPUs of one domain to the state they time: the CPUs run in
// turns of a burst of operations each, on the orchestrating thread, before any worker is timed.
//
// Why not just let the workers warm up: which IOVAs each CPU's caches end up holding is
// decided by its first allocations, which come from the IOVA tree, top-down, one range after
// the other's. Two workers that start together take them in whatever order their threads
// happen to run, and on 5.15 (whose magazines hold a full flush queue in two, so no IOVA
// ever moves to the other CPU afterwards) that order stays for the whole run: measured after
// free-running warm-ups of 50,000 pairs, between none and all of a CPU's cached IOVAs sat on
// page-table lines (eight 4 KiB PTEs) holding the other CPU's too — from no line move a pair
// to about one, a different benchmark every time. In turns of WARMUP_BURST, each CPU's
// IOVAs come in runs of hundreds, as they do for CPUs that start a few hundred operations
// apart; the line counter (line-sharing.mjs) warms up the same way, so what it counts is what
// the timed runs pay. A burst of 1 is the other end: IOVAs interleaved PTE by PTE.

/** Operations a CPU runs per turn of the warm-up: its IOVAs come in runs of this many. */
export const WARMUP_BURST = 500;

/**
 * `total` operations for each of `cpus` (indices passed to `step`), in turns of `burst`:
 * step(k, n) runs n operations of the k-th CPU.
 */
export function inTurns(cpus, total, burst, step) {
  if (!(Number.isInteger(burst) && burst >= 1)) throw new RangeError(`warm-up: burst must be an integer >= 1, got ${burst}`);
  for (let done = 0; done < total; done += burst) {
    const n = Math.min(burst, total - done);
    for (let k = 0; k < cpus; k++) step(k, n);
  }
}
