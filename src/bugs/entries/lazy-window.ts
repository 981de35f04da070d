// Bug zoo #20, a design hazard rather than a bug: "IOMMU Deferred Invalidation Vulnerability:
// Exploit and Defense" (DATE 2024; corpus #20, reference §2.2). In lazy mode (DMA-FQ) an
// unmap only queues its IOTLB invalidation until the flush queue's next flush, so a malicious
// device that keeps reading an IOVA its driver unmapped still reaches the page — by then
// handed to another device (a disk) for its data. Strict mode (DMA) invalidates before the
// unmap returns. No kernel commit "fixes" it: lazy mode accepts the window by design, which
// the oracle classes as LAZY_WINDOW (accepted) rather than a violation; this entry counts
// those reads. The switch is the domain type, an option. It runs in-process, as the
// `attacker` run scenario's malicious NIC does at scale on workers (assembly/workload/attacker.ts).

import { Simulator } from "../../simulator.js";
import { hex } from "../../errors.js";
import type { BugEntry, BugForm, BugFormResult } from "../types.js";
import { accessLine, oracleName } from "../evidence.js";

const TYPES = { buggy: "DMA-FQ", fixed: "DMA" } as const;
const ROUNDS = 8;
const PAGE = 0x1000;
const PA = 0x4000_0000;

async function run(form: BugForm): Promise<BugFormResult> {
  const sim = await Simulator.create({ profile: "7.1", ramMiB: 8, kheapMiB: 4 });
  try {
    const smmu = sim.createSmmu({ oracle: true });
    // Each device in a domain (an IOMMU group) of its own, both of the type under test.
    const nic = sim.createDmaDomain({ smmu, type: TYPES[form], cpus: 1 }).attachDevice({ streamId: 1 });
    const disk = sim.createDmaDomain({ smmu, type: TYPES[form], cpus: 1 }).attachDevice({ streamId: 2 });
    const evidence = [`kernel 7.1, ${TYPES[form]} domains: a malicious NIC (stream 1) and a disk (stream 2), each in its own`];
    let stale = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const pa = PA + i * PAGE;
      const rx = nic.map(pa, 2048);
      nic.access(rx, 64, "write");
      nic.unmap(rx, 2048);
      // The page goes back to the kernel, which gives it to the disk for its data.
      const blk = disk.map(pa, PAGE, { dir: "from-device" });
      disk.access(blk, 64, "write");
      const r = nic.access(rx, 64, "read");
      const through = r.ok;
      if (through) stale++;
      if (i < 2) {
        evidence.push(`round ${i + 1}: NIC receives at IOVA ${hex(rx)} → PA ${hex(pa)}; the driver unmaps it; the disk writes PA ${hex(pa)}`,
          `  ${accessLine(`NIC reads IOVA ${hex(rx)} again`, r)}${through ? " — the disk's data" : ""}`);
      }
      disk.unmap(blk, PAGE);
    }
    const window = oracleName("lazy-window");
    evidence.push(`… ${ROUNDS} rounds: ${stale} read(s) after the unmap reached the page, now the disk's`);
    const verdict = stale ? `${window} ×${stale}: reads of another device's data through the deferred invalidation`
      : "clean: every read after the unmap faulted";
    return { form, caught: stale > 0, verdict, evidence, measures: { staleReads: stale, rounds: ROUNDS } };
  } finally {
    await sim.close();
  }
}

export const LAZY_WINDOW: BugEntry = {
  id: "lazy-window",
  corpus: 20,
  // No fixing commit: the hazard is lazy mode's design.
  fix: "none (design hazard)",
  title: "IOMMU Deferred Invalidation Vulnerability: Exploit and Defense (DATE 2024) — a design hazard, not a bug fix",
  component: "dma-iommu lazy mode (flush queue)",
  effect: "a device keeps reading an unmapped IOVA until the flush queue's flush: another device's data leaks",
  kernels: "every kernel with lazy (DMA-FQ) domains, by design",
  fixChanged: "Nothing was fixed: strict mode (DMA) invalidates before dma_unmap returns and closes the window, " +
    "at the cost of a TLBI and CMD_SYNC per unmap; the paper proposes a hardware and driver change instead.",
  switch: { kind: "option", name: "domain type", buggy: TYPES.buggy, fixed: TYPES.fixed },
  trigger: `${ROUNDS} rounds: the NIC's buffer is mapped, written, unmapped; its page is mapped for the disk and ` +
    "written; the NIC reads its old IOVA again",
  run,
};
