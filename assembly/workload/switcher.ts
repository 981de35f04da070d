// The live switch under load, repeated: a CPU that switches its domain from strict (DMA) to
// lazy (DMA-FQ) again and again while the domain's other CPUs map and unmap — the writer of
// the seed race (reference §1.7–1.8; the switch in the domain's variant, dma/steps.ts), as a
// sysfs write to iommu_groups/N/type makes it. Each operation is one round: park the
// domain's mapping CPUs, make the domain strict again through the TEST HOOK
// dmaRebuildStrict (not kernel behaviour: the kernel never goes lazy → strict on a live
// domain, O6), let them go, wait `gap` spins with the domain strict, switch it to lazy
// while they run, wait `gap` spins again. A round takes one jiffy of this CPU's modelled
// clock, so the flush queue's timer fires now and then (on this CPU, in the run's time).
//
// Parking: every CPU whose workload maps in the domain counts itself running while inside a
// run or drain call and parks between two operations when asked (assembly/workload/run.ts,
// dma/domain.ts dmaPause); a CPU between calls holds nothing and is not waited for.
//
// Left out of the lazy-window measure (workload/driver.ts): a window closes when a flush of
// the queue that stamped it completes, and the rebuild tears that queue down (its last
// flush is the rebuild's own); the next queue counts from zero, so such windows stay open
// in the report ("still open", then "not measured").

import { NS_PER_JIFFY } from "../clock";
import { slotBase } from "../sync";
import { dmaPause, dmaRebuildStrict, dmaResume } from "../dma/domain";
import { dmaSwitchToLazy } from "../dma/variant";
import { WC_OPS, WC_SWITCHES, WorkloadCpu, wcAdd } from "./state";
import { chargeNs } from "./driver";

export function switcherOp(w: WorkloadCpu, cpu: u32): void {
  const dd = w.dd;
  const gap = w.ring;
  dmaPause(dd);
  dmaRebuildStrict(dd, cpu);
  dmaResume(dd);
  spin(gap);
  if (dmaSwitchToLazy(dd) == 0) wcAdd(w, WC_SWITCHES, 1);
  spin(gap);
  chargeNs(NS_PER_JIFFY);
  wcAdd(w, WC_OPS, 1);
}

/** About a nanosecond each: an atomic read of this thread's own slot. */
function spin(n: u32): void {
  for (let i: u32 = 0; i < n; i++) atomic.load<u32>(slotBase());
}
