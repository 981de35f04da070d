// Bug zoo #13, 0d87308cca2c "iommu/iova: Avoid false sharing on fq_timer_on" (corpus #13, a
// performance bug; reference §2.2): queue_iova armed the flush queue's timer with an
// atomic_cmpxchg on every lazy unmap, which takes the timer word's cache line exclusive even
// when the timer is already armed — so the line moved between every pair of CPUs unmapping in
// turn. The fix reads the word first and compare-and-swaps only when it is 0 (behaviour
// FQ_TIMER_READ_FIRST, in every profile here; the buggy form is 7.1 without it). The verdict is
// a count the model keeps (IovaDomain.fqCounters: writes of the word, and line moves — writes
// by a CPU other than its last writer), never a wall-clock time.

import type { BugEntry, BugForm, BugFormResult } from "../types.js";
import { formMachine } from "../evidence.js";

const CPUS = 4;
const UNMAPS = 2000;
/** Simulated time advances a jiffy every this many unmaps, so the 10 ms (3-jiffy) timer fires now and then. */
const OPS_PER_JIFFY = 100;
/** Caught: the line moves on more than one lazy unmap in ten (the timer bounds the fixed form far below). */
const CAUGHT_MOVES_PER_UNMAP = 0.1;
const PA = 0x4000_0000;

async function run(form: BugForm): Promise<BugFormResult> {
  const sim = await formMachine(form, "7.1", "FQ_TIMER_READ_FIRST");
  try {
    const smmu = sim.createSmmu();
    const dom = sim.createDmaDomain({ smmu, type: "DMA-FQ", cpus: CPUS });
    const dev = dom.attachDevice({ streamId: 1 });
    for (let i = 0; i < UNMAPS; i++) {
      const cpu = i % CPUS;
      const iova = dev.map(PA + (i % 64) * 0x1000, 0x1000, { cpu });
      dev.unmap(iova, 0x1000, { cpu });
      if ((i + 1) % OPS_PER_JIFFY === 0) sim.tick(1);
    }
    const c = { ...dom.iova.fqCounters(), ...dom.iova.fqTimerCounters() };
    const perUnmap = c.lineMoves / UNMAPS;
    const evidence = [
      `kernel ${form === "buggy" ? "7.1 without FQ_TIMER_READ_FIRST" : "7.1"}; one DMA-FQ domain, ${CPUS} CPUs`,
      `${UNMAPS} lazy unmaps, the CPUs in turn, a jiffy every ${OPS_PER_JIFFY} (the 10 ms timer fired ${c.timerFlushes} times)`,
      `fq_timer_on written ${c.writes} times (compare-and-swaps and the timer's clears)`,
      `its cache line moved between CPUs ${c.lineMoves} times: ${perUnmap.toFixed(3)} per lazy unmap`,
    ];
    const caught = perUnmap > CAUGHT_MOVES_PER_UNMAP;
    const verdict = `${c.lineMoves} line moves of fq_timer_on in ${UNMAPS} lazy unmaps` +
      (caught ? ` (over ${CAUGHT_MOVES_PER_UNMAP} per unmap: the line bounces)` : " (bounded by the timer)");
    return { form, caught, verdict, evidence,
             measures: { unmaps: UNMAPS, timerWrites: c.writes, timerLineMoves: c.lineMoves, timerFlushes: c.timerFlushes } };
  } finally {
    await sim.close();
  }
}

export const FQ_TIMER_SHARING: BugEntry = {
  id: "fq-timer-sharing",
  corpus: 13,
  fix: "0d87308cca2c",
  introducedBy: "9a005a800ae8",
  title: "iommu/iova: Avoid false sharing on fq_timer_on",
  component: "flush queue (queue_iova)",
  effect: "every lazy unmap takes the timer word's line exclusive: it bounces between unmapping CPUs (performance)",
  kernels: "v4.14 to v5.3",
  fixChanged: "queue_iova reads fq_timer_on and only compare-and-swaps it when the timer is off, so the line is " +
    "written about twice per timer period instead of on every lazy unmap.",
  switch: { kind: "behaviour", name: "FQ_TIMER_READ_FIRST", buggy: "7.1 without FQ_TIMER_READ_FIRST", fixed: "7.1" },
  trigger: `${UNMAPS} lazy map/unmap pairs on ${CPUS} CPUs in turn in one DMA-FQ domain, simulated time advancing; ` +
    "counted: moves of the timer word's cache line",
  run,
};
