// The SMMU's table walkers as a resource in modelled time: an SMMU runs a bounded number of
// table walks at once (gem5's SMMUv3 model: 16 page-table-walk slots, reference anchors.md
// §3), so when many devices miss their TLBs together, a miss that finds every walker busy
// queues until one is free. The walk itself takes what its descriptor reads and walk-cache
// lookups cost (COST_PTE_READ, COST_WALKC_HIT: walk.ts).
//
// Booked only while CPUs contend in modelled time (cpu-time.ts timedMode), like the command
// queue and the kernel's locks: the translation starts at the clock of the CPU whose
// workload made the device access. The wait is the device's, not the CPU's (a CPU does not
// stall on its device's DMA), so it is counted in the SMMU's statistics (STAT_WALKS_QUEUED,
// STAT_WALK_WAIT_NS) rather than in a CPU's breakdown.
//
// Bookings arrive out of modelled order: a CPU's operation can be long (a ring refilled,
// CMD_SYNC waits), and a CPU behind another can reach its device access after the other
// booked a walk later in modelled time. So each walker keeps its latest walk's interval, not
// just when it frees: a walk that starts before that interval began had the walker first
// and does not wait (that earlier walk is not recorded: a later one may then miss a wait
// behind it — a wait can be missed, never invented); one that starts inside it waits for its
// end; one that starts after it takes the walker. Among walkers all busy, the one free
// soonest.

import { lockAcquire, lockRelease } from "../sync";
import { cpuNow, cpuRunning, timedMode } from "../cpu-time";
import { S_WALKER_BUSY, STAT_WALKS_QUEUED, STAT_WALK_WAIT_NS, SmmuInstance, stat } from "./smmu";

/** A walk of `ns` modelled ns ran for the CPU running now: book a walker for it. */
export function walkerBook(s: SmmuInstance, ns: u64): void {
  if (ns == 0 || !timedMode() || cpuRunning() == 0) return;
  const now = cpuNow();
  const lock = changetype<u32>(s) + offsetof<SmmuInstance>("walkerLock");
  lockAcquire(lock);
  const wait = book(changetype<u32>(s) + S_WALKER_BUSY, s.walkers, now, ns);
  lockRelease(lock);
  if (wait != 0) {
    stat(s, STAT_WALKS_QUEUED, 1);
    stat(s, STAT_WALK_WAIT_NS, wait);
  }
}

/** Book `ns` at `now` on the first of `n` walkers (from, until pairs at `busy`) free for it; the wait. */
function book(busy: u32, n: u32, now: u64, ns: u64): u64 {
  let soonest = busy;
  for (let i: u32 = 0; i < n; i++) {
    const w = busy + (i << 4);
    const from = load<u64>(w);
    const until = load<u64>(w + 8);
    if (now < from) return 0; // it had this walker before that walk
    if (now >= until) {
      store<u64>(w, now);
      store<u64>(w + 8, now + ns);
      return 0;
    }
    if (until < load<u64>(soonest + 8)) soonest = w;
  }
  const start = load<u64>(soonest + 8);
  store<u64>(soonest, start);
  store<u64>(soonest + 8, start + ns);
  return start - now;
}
