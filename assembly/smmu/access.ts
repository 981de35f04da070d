// What one device access through the SMMU got: the record smmuTranslate, the cache lookup
// and the table walk (translate.ts, cache.ts, walk.ts) fill in for their caller, in the
// caller's thread slot. Its own unit so the translation path's files need not import each
// other both ways.

import { CacheHit } from "./cache";
import { TS_ACCESS_RESULT, TS_CPU_NS, TS_ORACLE_BEFORE, TS_RESULT0 } from "../memmap";

// Where the translation of an access was found (AccessResult.hit).
export const HIT_UTLB: u32 = 1;
export const HIT_IOTLB: u32 = 2;
export const HIT_WALK: u32 = 3;
/** Not translated: an SMMU v1/v2 stream that bypasses (S2CR bypass, or its bank's SCTLR.M clear). */
export const HIT_BYPASS: u32 = 4;

/**
 * What one access got, in the caller's thread slot (RESULT0..3 for smmu_translate, which
 * the TypeScript side reads at these offsets; TS_ACCESS_RESULT for the batched loops).
 * Written by smmuTranslate, the cache lookup and the walk; a field is meaningful only for
 * the outcome that writes it.
 */
@unmanaged export class AccessResult {
  /** The leaf's cache meta bits (permissions, size, level): on success and permission faults. */
  meta: u32;
  /** The level where the walk faulted. */
  faultLevel: u32;
  /** The physical address the access reached (while translating: the leaf's output address). */
  pa: u64;
  /** On a walk fault: the descriptor that faulted, or the PA that was out of range. */
  faultInfo: u64;
  /** Where the translation was found: HIT_*. */
  hit: u32;
  /**
   * The oracle's class of the access (AC_*), when the SMMU has an oracle; left as the caller
   * set it otherwise (the batched loops preset AC_OK).
   */
  oracleClass: u32;
}

// A cache lookup copies its hit into the head of the result.
if (offsetof<AccessResult>("meta") != offsetof<CacheHit>("meta")) ERROR("AccessResult.meta is not CacheHit.meta");
if (offsetof<AccessResult>("pa") != offsetof<CacheHit>("out")) ERROR("AccessResult.pa is not CacheHit.out");
if (offsetof<AccessResult>() > TS_ORACLE_BEFORE - TS_ACCESS_RESULT) ERROR("AccessResult outgrew TS_ACCESS_RESULT");
// The device engine keeps a u64 just after the result in RESULT0..3 (assembly/device/engine.ts).
if (offsetof<AccessResult>() + 8 > TS_CPU_NS - TS_RESULT0) ERROR("AccessResult outgrew TS_RESULT0");

// The fields the TypeScript side reads (smmu_translate's result: src/smmu/smmu.ts Device.access,
// src/tasks/smmu.ts) and the batched loops that preset the class (dma/loop.ts, workload/driver.ts).
export const AR_META: u32 = offsetof<AccessResult>("meta");
export const AR_FAULT_LEVEL: u32 = offsetof<AccessResult>("faultLevel");
export const AR_PA: u32 = offsetof<AccessResult>("pa");
export const AR_FAULT_INFO: u32 = offsetof<AccessResult>("faultInfo");
export const AR_HIT: u32 = offsetof<AccessResult>("hit");
export const AR_ORACLE_CLASS: u32 = offsetof<AccessResult>("oracleClass");

