// Simulated time, in jiffies (HZ = 250: one jiffy is 4 ms). Time moves only when the
// orchestrator advances it, so runs are reproducible.

import { CONTROL_BASE, CTL_JIFFIES } from "./memmap";

export const HZ: u32 = 250;

@inline export function jiffiesNow(): u64 {
  return atomic.load<u64>(CONTROL_BASE + CTL_JIFFIES);
}
