// Batched device-side loops for benchmarks: many translations through an SMMU in one call
// (the JS→Wasm boundary crossed once per batch). They exercise the translation path
// (translate.ts: micro-TLB, IOTLB, walk caches, table walk); nothing here is kernel or
// hardware behaviour of its own.

import { TS_RESULT0 } from "../memmap";
import { slotBase } from "../sync";
import { randomOf, seedState, xorshift64 } from "../random";
import { smmuLive } from "./smmu";
import { smmuTranslate } from "./translate";
import { AccessResult } from "./access";

/**
 * `count` device reads at random addresses in [base, base + span) (8-byte aligned) through
 * stream `sid`. Returns the number that faulted (all of them when the SMMU is not live or
 * the seed or span is 0); the slot's RESULT0 gets the sum of the physical addresses reached
 * (a checksum).
 */
export function smmu_loop_translate(id: u32, sid: u32, base: f64, span: f64, count: u32, seed: u32,
                                    access: u32): u32 {
  const s = smmuLive(id);
  if (s == 0 || seed == 0) return count;
  const out = slotBase() + TS_RESULT0;
  const res = changetype<AccessResult>(out);
  const slots = <u64>span >> 3;
  if (slots == 0) return count;
  let x = seedState(seed);
  let faults: u32 = 0;
  let sum: u64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    x = xorshift64(x);
    const iova = <u64>base + ((randomOf(x) % slots) << 3);
    if (smmuTranslate(s, sid, iova, access, out) != 0) faults++;
    else sum += res.pa;
  }
  store<u64>(out, sum);
  return faults;
}
