// The SMMU's own table walk (the hardware's, not io-pgtable's iova_to_phys): from the
// stream's table base and geometry, through the walk caches, reading descriptors from
// simulated RAM, to a leaf — or to the fault the architecture defines (Arm SMMUv3 and
// VMSAv8-64 translation; reference §4.6 for the descriptor bits). Single stage only. In runs
// whose CPUs contend in modelled time, each walk occupies one of the SMMU's walkers
// (walkers.ts) for as long as its reads take.

import { HIGH_RAM_WINDOW, PHYS_BASE, ramOffset, ZONE_PHYS } from "../memmap";
import { frameAddr, zoneFrameAllocated, zoneFrames } from "../phys";
import { oracleFreedTable } from "../safety/oracle";
import { jiffiesNow } from "../clock";
import {
  CacheHeader, CacheHit, cacheFillLock, cacheFillLocked, cacheFillUnlock, cacheLookup, makeMeta, META_READ, META_UNPRIV, META_WRITE,
} from "./cache";
import {
  COST_PTE_READ, COST_WALKC_HIT, F_ACCESS, F_ADDR_SIZE, F_TRANSLATION, F_WALK_EABT, SmmuInstance, Ste,
  STAT_PTE_READS, STAT_WALKC_HITS, STAT_WALKS, STAT_MODELLED_NS, cost, stat, walkCacheOf,
} from "./smmu";
import { AccessResult } from "./access";
import { walkerBook } from "./walkers";

const PTE_ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;
const PTE_AF: u64 = 1 << 10;

@inline export function lvlShift(pgShift: u32, lvl: u32): u32 {
  return (4 - lvl) * (pgShift - 3) + 3;
}

/** The leaf sizes a walk with this granule can produce, as a bitmask of shifts. */
export function leafShifts(pgShift: u32): u64 {
  if (pgShift == 12) return (<u64>1 << 12) | (<u64>1 << 21) | (<u64>1 << 30);
  if (pgShift == 14) return (<u64>1 << 14) | (<u64>1 << 25);
  return (<u64>1 << 16) | (<u64>1 << 29) | (<u64>1 << 42);
}

/** Whether a block descriptor is allowed at this level (VMSAv8-64, up to 52-bit OA). */
function blockAllowed(pgShift: u32, lvl: u32): bool {
  if (pgShift == 12) return lvl == 1 || lvl == 2;
  if (pgShift == 14) return lvl == 2;
  return lvl == 1 || lvl == 2;
}

function outputAddress(pte: u64, pgShift: u32): u64 {
  const pa = pte & PTE_ADDR_MASK;
  return pgShift < 16 ? pa : (pa | (pa << 36)) & (PTE_ADDR_MASK << 4);
}

/** Shared-memory address of the descriptor at `pa`, or 0 if it is not simulated RAM (either window). */
function descriptorPtr(pa: u64): u32 {
  const limit = <u64>zoneFrames(ZONE_PHYS) << 12;
  const low = pa & (HIGH_RAM_WINDOW - 1);
  if (pa >= HIGH_RAM_WINDOW << 1 || low < PHYS_BASE || low - PHYS_BASE + 8 > limit) return 0;
  return frameAddr(ZONE_PHYS, 0) + <u32>ramOffset(pa);
}

/** Permissions a leaf grants device accesses, as cache meta bits. */
function leafPerms(pte: u64, stage: u32): u32 {
  if (stage == 1) {
    let p = META_READ | META_UNPRIV;
    if ((pte & (1 << 7)) == 0) p |= META_WRITE; // AP[2] clear: writable
    if ((pte & (1 << 6)) == 0) p &= ~META_UNPRIV; // AP[1] clear: privileged only
    return p;
  }
  let p = META_UNPRIV;
  if ((pte & (1 << 6)) != 0) p |= META_READ; //   S2AP read
  if ((pte & (1 << 7)) != 0) p |= META_WRITE; //  S2AP write
  return p;
}

/**
 * Walk for `iova` in stream context `ste`. On success fills the IOTLB, writes the leaf's
 * meta and output address to `result` (meta, pa) and returns 0; otherwise returns the
 * fault type and leaves the level and the descriptor (or bad PA) in faultLevel, faultInfo.
 * The walk caches, the stream's IOTLB (`iotlb`: the SMMU's or its own main TLB) and its
 * micro-TLB (`utlb`, null = none) are filled
 * with what the walk read only if, with their sets locked, the descriptor still reads the
 * same (cache.ts: no fill outlives a racing TLBI); `stamp` is the context's
 * (context-gen.ts), read before the walk began.
 */
export function walk(s: SmmuInstance, ste: Ste, sid: u32, iova: u64, ctx: u32, stamp: u32, iotlb: CacheHeader,
                     utlb: CacheHeader | null, result: AccessResult): u32 {
  const done = walkTables(s, ste, sid, iova, ctx, stamp, iotlb, utlb, result);
  const ns = done >> FAULT_BITS;
  stat(s, STAT_MODELLED_NS, ns); // the SMMU's time: the walk's reads and walk-cache hits, added once
  walkerBook(s, ns);
  return <u32>(done & ((1 << FAULT_BITS) - 1));
}

/** A walk's outcome holds its fault in the low FAULT_BITS, the walk's modelled ns above (a few costs of < 2^31 each). */
const FAULT_BITS: u64 = 8;
if (F_WALK_EABT >= 1 << <u32>FAULT_BITS) ERROR("a fault type outgrew a walk outcome's FAULT_BITS");

/** A walk's outcome: the fault (0: none) and the walk's own modelled ns. */
@inline function outcome(fault: u32, ns: u64): u64 {
  return <u64>fault | (ns << FAULT_BITS);
}

/** walk() but for the walker's booking: the outcome (fault and the walk's own ns, see outcome). */
function walkTables(s: SmmuInstance, ste: Ste, sid: u32, iova: u64, ctx: u32, stamp: u32, iotlb: CacheHeader,
                    utlb: CacheHeader | null, result: AccessResult): u64 {
  stat(s, STAT_WALKS, 1);
  let ns: u64 = 0;
  const pgShift = ste.pgShift;
  const ias = ste.ias;
  const start = ste.start;
  const stage = ste.stage;
  if ((iova >> <u64>ias) != 0) return outcome(fail(result, F_TRANSLATION, start, 0), ns);

  // Resume below the deepest walk-cache hit.
  let lvl = start;
  let table = ste.ttb;
  for (let l: i32 = 2; l >= <i32>start; l--) {
    const wc = walkCacheOf(s, <u32>l);
    if (!wc) continue;
    if (cacheLookup(wc, iova, ctx, <u64>1 << lvlShift(pgShift, <u32>l), changetype<CacheHit>(result))) {
      stat(s, STAT_WALKC_HITS, 1);
      ns += cost(s, COST_WALKC_HIT);
      table = result.pa;
      lvl = <u32>l + 1;
      break;
    }
  }

  while (true) {
    const shift = lvlShift(pgShift, lvl);
    const bits = lvl == start ? ias - shift : pgShift - 3;
    const idx = (iova >> <u64>shift) & ((<u64>1 << bits) - 1);
    const ptr = descriptorPtr(table + idx * 8);
    if (ptr == 0) return outcome(fail(result, F_WALK_EABT, lvl, table + idx * 8), ns);
    const o = s.oracle;
    if (o && !zoneFrameAllocated(ZONE_PHYS, <u32>(ramOffset(table) >> 12))) {
      // Reading a table page the kernel already freed: whatever it holds now is not a table.
      oracleFreedTable(o, sid, iova >> 12, table, jiffiesNow());
    }
    const pte = atomic.load<u64>(ptr);
    stat(s, STAT_PTE_READS, 1);
    ns += cost(s, COST_PTE_READ);
    const type = pte & 3;
    if ((type & 1) == 0) return outcome(fail(result, F_TRANSLATION, lvl, pte), ns);
    if (lvl < 3 && type == 3) {
      // A table: remember it for walks that share this part of the address.
      table = outputAddress(pte, pgShift);
      const wc = walkCacheOf(s, lvl);
      if (wc) {
        const line = cacheFillLock(wc, iova, shift, ctx);
        if (atomic.load<u64>(ptr) == pte) cacheFillLocked(wc, line, iova, ctx, stamp, makeMeta(0, false, shift, lvl, stage), table);
        else cacheFillUnlock(line);
      }
      lvl++;
      continue;
    }
    if (lvl == 3 ? type != 3 : !blockAllowed(pgShift, lvl)) return outcome(fail(result, F_TRANSLATION, lvl, pte), ns);
    if ((pte & PTE_AF) == 0) return outcome(fail(result, F_ACCESS, lvl, pte), ns);
    const pa = outputAddress(pte, pgShift);
    if ((pa >> <u64>ste.oas) != 0) return outcome(fail(result, F_ADDR_SIZE, lvl, pte), ns);
    const meta = makeMeta(leafPerms(pte, stage), true, shift, lvl, stage);
    // Both sets locked (the IOTLB's first, as every fill takes them) before the second read.
    const line = cacheFillLock(iotlb, iova, shift, ctx);
    const utlbLine = utlb ? cacheFillLock(utlb, iova, shift, ctx) : 0;
    const same = atomic.load<u64>(ptr) == pte;
    if (utlb) {
      if (same) cacheFillLocked(utlb, utlbLine, iova, ctx, stamp, meta, pa);
      else cacheFillUnlock(utlbLine);
    }
    if (same) cacheFillLocked(iotlb, line, iova, ctx, stamp, meta, pa);
    else cacheFillUnlock(line);
    result.meta = meta;
    result.pa = pa;
    return outcome(0, ns);
  }
  return outcome(F_TRANSLATION, ns); // not reached
}

function fail(result: AccessResult, type: u32, lvl: u32, info: u64): u32 {
  result.faultLevel = lvl;
  result.faultInfo = info;
  return type;
}
