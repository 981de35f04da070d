// iommu_dma_init_domain's IOVA part, as each device of a group runs it when it probes
// (drivers/iommu/dma-iommu.c, reference §2.13; bug-corpus #14, ac9a5d522bb8): "is the
// cookie's IOVA domain initialised already?" (start_pfn != 0), else init_iova_domain and the
// reservation of the IOMMU's and the host bridge's regions. Two devices of one group probing
// at once both saw start_pfn 0 and both initialised the domain, the second dropping what the
// first had reserved; since the fix (KB_DMA_INIT_DOMAIN_LOCKED) the test and the
// initialisation run under the cookie's mutex. In steps, so that the schedule explorer can
// interleave two probers; a CPU that would wait for the mutex is the explorer's to hold back
// (probeMustWait).

import { KB_DMA_INIT_DOMAIN_LOCKED } from "../behaviour";
import { iovaReinit } from "../iova/domain";
import { iovaBlock } from "../iova/layout";
import { reserveRange } from "../iova/alloc";
import { DmaDomain, dmaDomain, dmaHas, iovaOf } from "./domain";

@inline function mutexAddr(dd: u32): u32 {
  return dd + offsetof<DmaDomain>("initMutex");
}

/** Whether CPU `cpu` would wait for the cookie's mutex now (a kernel that takes it, held by another CPU). */
export function probeMustWait(dd: u32, cpu: u32): bool {
  if (!dmaHas(dd, KB_DMA_INIT_DOMAIN_LOCKED)) return false;
  const owner = atomic.load<u32>(mutexAddr(dd));
  return owner != 0 && owner != cpu + 1;
}

/**
 * mutex_lock(&cookie->mutex) in a kernel that takes it (the caller has waited:
 * probeMustWait): true; false in a kernel without the mutex.
 */
export function probeLock(dd: u32, cpu: u32): bool {
  if (!dmaHas(dd, KB_DMA_INIT_DOMAIN_LOCKED)) return false;
  atomic.store<u32>(mutexAddr(dd), cpu + 1);
  return true;
}

/** mutex_unlock(&cookie->mutex). */
export function probeUnlock(dd: u32): void {
  if (dmaHas(dd, KB_DMA_INIT_DOMAIN_LOCKED)) atomic.store<u32>(mutexAddr(dd), 0);
}

/** The test: is the IOVA domain initialised already (start_pfn != 0)? */
export function probeInitialised(dd: u32): bool {
  return iovaBlock(iovaOf(dd)).startPfn != 0;
}

/**
 * init_iova_domain(granule, base_pfn = 1): the tree reset to just the anchor. start_pfn 0
 * instead makes the domain a new cookie's, never initialised (a scenario's starting point).
 */
export function probeInit(dd: u32, startPfn: u64): void {
  iovaReinit(iovaOf(dd), startPfn);
}

/** reserve_iova of one region, [pfnLo, pfnHi]: 0, or -1 when the allocator refused it. */
export function probeReserve(dd: u32, pfnLo: u64, pfnHi: u64, out: u32): i32 {
  return reserveRange(iovaOf(dd), pfnLo, pfnHi, out) < 0 ? -1 : 0;
}

/** The IOVA domain's shift (granule), for turning addresses into PFNs. */
export function probeShift(dd: u32): u32 {
  return dmaDomain(dd).shift;
}
