// Property: any sequence of DMA-API-shaped maps and unmaps (whole mappings, 4K or 2M pages,
// possibly several per call) leaves translations equal to a plain model of what is mapped,
// in every profile, and freeing the table returns every page.

import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROFILES, Prot, Simulator } from "../dist/index.js";

const SZ_4K = 0x1000, SZ_2M = 0x200000;
const SPAN = 8 * SZ_2M; // small, so operations collide with each other's tables often

interface Mapping { iova: number; pa: number; pgsize: number; pages: number }

const opArb = fc.record({
  unmap: fc.boolean(),
  large: fc.boolean(),
  slot: fc.nat({ max: 511 }),
  pages: fc.integer({ min: 1, max: 4 }),
  pa: fc.nat({ max: 0xfffff }),
});

let sims: Simulator[];
beforeAll(async () => { sims = await Promise.all(PROFILES.map((profile) => Simulator.create({ profile }))); });
afterAll(async () => { for (const s of sims) await s.close(); });

describe("page tables agree with a model of the mappings", () => {
  for (const [i, profile] of PROFILES.entries()) {
    it(`profile ${profile}`, () => {
      fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const sim = sims[i]!;
        const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 40, oas: 48, events: 0 });
        const live: Mapping[] = [];
        const overlaps = (a: number, len: number) => live.some((m) => a < m.iova + m.pgsize * m.pages && m.iova < a + len);
        try {
          for (const op of ops) {
            if (op.unmap && live.length > 0) {
              const m = live.splice(op.slot % live.length, 1)[0]!;
              expect(pt.unmapPages(m.iova, m.pgsize, m.pages).unmapped).toBe(m.pgsize * m.pages);
              continue;
            }
            const pgsize = op.large ? SZ_2M : SZ_4K;
            const iova = (op.slot * SZ_4K) % SPAN - ((op.slot * SZ_4K) % SPAN) % pgsize;
            // Stay within one table so one call maps all of it (the IOMMU core would loop).
            const pages = Math.min(op.pages, (op.large ? 512 : 512 - (iova / SZ_4K) % 512));
            if (overlaps(iova, pgsize * pages) || iova + pgsize * pages > SPAN) continue;
            const pa = op.pa * pgsize;
            const r = pt.mapPages(iova, pa, pgsize, pages, Prot.READ | Prot.WRITE);
            expect(r).toMatchObject({ ret: 0, mapped: pgsize * pages });
            live.push({ iova, pa, pgsize, pages });
          }
          for (let a = 0; a < SPAN; a += 0x7f01) {
            const m = live.find((x) => a >= x.iova && a < x.iova + x.pgsize * x.pages);
            expect(pt.iovaToPhys(a)).toBe(m ? m.pa + (a - m.iova) : 0);
          }
        } finally {
          pt.release();
        }
        expect(sim.memoryStats().tablePages).toBe(0);
      }), { numRuns: 150 });
    });
  }
});
