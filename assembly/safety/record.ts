// Telling the safety oracle what the DMA API did, in the terms of an SMMU domain: its
// shadow entries are tagged by the domain's ASID/VMID, and a lazy unmap remembers how many
// of the domain's flush-alls had begun (the window closes when a later one completes).
// Used by dma-iommu's map and unmap (assembly/dma/iommu.ts) and by the raw oracle calls
// of the ABI (assembly/index.ts).

import { SmmuInstance, smmuLive } from "../smmu/smmu";
import { flushStartedAddr, smmuDomainAt } from "../smmu/domain";
import { makeCtx } from "../smmu/cache";
import { OracleHeader, oracleMap, oracleUnmap } from "./oracle";
import { jiffiesNow } from "../clock";

/** The address of the oracle of live SMMU `id`, or 0 (no such SMMU, or it checks nothing). */
export function smmuOracle(id: u32): u32 {
  const s = smmuLive(id);
  return s == 0 ? 0 : changetype<u32>(changetype<SmmuInstance>(s).oracle);
}

@inline function ctxOf(smmuDomain: u32): u32 {
  const sd = smmuDomainAt(smmuDomain);
  return makeCtx(sd.asid, sd.vmid);
}

/** [iovaPage, +pages) now maps to [paPage, +pages) in SMMU domain `smmuDomain`; `o`: the oracle's address. */
export function recordMapPages(o: u32, smmuDomain: u32, iovaPage: u64, paPage: u64, pages: u64): void {
  oracleMap(changetype<OracleHeader>(o), ctxOf(smmuDomain), iovaPage, paPage, pages);
}

/**
 * [iovaPage, +pages) was unmapped, strictly or lazily. Call it after the PTEs were cleared:
 * only a flush begun after this point covers them.
 */
export function recordUnmapPages(o: u32, smmuDomain: u32, iovaPage: u64, pages: u64, lazy: bool): void {
  const started = atomic.load<u32>(flushStartedAddr(smmuDomainAt(smmuDomain)));
  oracleUnmap(changetype<OracleHeader>(o), ctxOf(smmuDomain), iovaPage, pages, lazy, started, jiffiesNow());
}
