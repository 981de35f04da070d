// Telling the safety oracle what the DMA API did, in the terms of an SMMU domain: its
// shadow entries are tagged by the domain's ASID/VMID, and a lazy unmap remembers how many
// of the domain's flush-alls had begun (the window closes when a later one completes).
// Used by dma-iommu's map and unmap (assembly/dma/iommu.ts) and by the raw oracle calls
// of the ABI (assembly/index.ts).

import { smmuLive, S_ORACLE } from "../smmu/smmu";
import { SD_ASID, SD_FLUSH_STARTED, SD_VMID, smmuDomainAddr } from "../smmu/domain";
import { makeCtx } from "../smmu/cache";
import { oracleMap, oracleUnmap } from "./oracle";
import { jiffiesNow } from "../clock";

/** The oracle of live SMMU `id`, or 0 (no such SMMU, or it checks nothing). */
export function smmuOracle(id: u32): u32 {
  const s = smmuLive(id);
  return s == 0 ? 0 : load<u32>(s + S_ORACLE);
}

@inline function ctxOf(smmuDomain: u32): u32 {
  const a = smmuDomainAddr(smmuDomain);
  return makeCtx(load<u32>(a + SD_ASID), load<u32>(a + SD_VMID));
}

/** [iovaPage, +pages) now maps to [paPage, +pages) in SMMU domain `smmuDomain`. */
export function recordMapPages(o: u32, smmuDomain: u32, iovaPage: u64, paPage: u64, pages: u64): void {
  oracleMap(o, ctxOf(smmuDomain), iovaPage, paPage, pages, jiffiesNow());
}

/**
 * [iovaPage, +pages) was unmapped, strictly or lazily. Call it after the PTEs were cleared:
 * only a flush begun after this point covers them.
 */
export function recordUnmapPages(o: u32, smmuDomain: u32, iovaPage: u64, pages: u64, lazy: bool): void {
  const started = atomic.load<u32>(smmuDomainAddr(smmuDomain) + SD_FLUSH_STARTED);
  oracleUnmap(o, ctxOf(smmuDomain), iovaPage, pages, lazy, started, jiffiesNow());
}
