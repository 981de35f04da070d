// Robustness: random kernel-call scripts — any format, granule mix, IAS/OAS, aligned or
// not, in range or not, page sizes in the bitmap or not, counts crossing tables — never
// trap in the core or throw, the WARN count matches the WARNING lines, and freeing the
// table always returns every page.

import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROFILES, Simulator, replayScript } from "../dist/index.js";

const SIZES = [0x1000, 0x4000, 0x10000, 0x200000, 0x2000000, 0x20000000, 0x40000000, 0x40000000000];
const hex = (n: number) => "0x" + n.toString(16);

const cfgArb = fc.record({
  fmt: fc.constantFrom("s1", "s2", "s1_32", "s2_32"),
  bitmap: fc.subarray(SIZES, { minLength: 1 }).map((s) => s.reduce((a, b) => a + b, 0)),
  ias: fc.integer({ min: 13, max: 52 }),
  oas: fc.constantFrom(32, 36, 40, 42, 44, 48, 52),
  coherent: fc.constantFrom(0, 1),
});

const opArb = (cfg: { ias: number }) => fc.oneof(
  fc.record({ k: fc.constant("map"), iova: fc.nat({ max: 2 ** Math.min(cfg.ias + 1, 52) }), pa: fc.nat({ max: 2 ** 50 }),
    pgsize: fc.constantFrom(...SIZES, 0x3000, 0), count: fc.nat({ max: 600 }), prot: fc.nat({ max: 63 }) }),
  fc.record({ k: fc.constant("unmap"), iova: fc.nat({ max: 2 ** Math.min(cfg.ias + 1, 52) }),
    pgsize: fc.constantFrom(...SIZES, 0x3000), count: fc.nat({ max: 600 }), queued: fc.constantFrom(0, 1) }),
  fc.record({ k: fc.constant("phys"), iova: fc.nat({ max: 2 ** 53 - 1 }) }),
  fc.record({ k: fc.constantFrom("dump", "dumpall") }),
);

function line(op: Record<string, number | string>): string {
  switch (op.k) {
    case "map": return `map ${hex(op.iova as number)} ${hex(op.pa as number)} ${hex(op.pgsize as number)} ${op.count} ${op.prot}`;
    case "unmap": return `unmap ${hex(op.iova as number)} ${hex(op.pgsize as number)} ${op.count} ${op.queued}`;
    case "phys": return `phys ${hex(op.iova as number)}`;
    default: return String(op.k);
  }
}

/** A script: a cfg, an smmu line sometimes, operations (aligned to their page size half the time). */
const scriptArb = cfgArb.chain((cfg) => fc.tuple(
  fc.constant(cfg), fc.boolean(), fc.array(fc.tuple(opArb(cfg), fc.boolean()), { maxLength: 40 }),
)).map(([cfg, smmu, ops]) => {
  const lines = [`cfg ${cfg.fmt} ${hex(cfg.bitmap)} ${cfg.ias} ${cfg.oas} ${cfg.coherent}`];
  if (smmu) lines.push(`smmu ${cfg.oas & 1} ${cfg.fmt.startsWith("s1") ? 1 : 2} 7 1`);
  for (const [op, align] of ops) {
    if (align && "pgsize" in op && (op.pgsize as number) > 0) {
      const ps = op.pgsize as number;
      op.iova = Math.floor((op.iova as number) / ps) * ps;
      if ("pa" in op) op.pa = Math.floor((op.pa as number) / ps) * ps;
    }
    lines.push(line(op));
  }
  lines.push("free");
  return lines.join("\n");
});

let sims: Simulator[];
beforeAll(async () => {
  sims = [];
  for (const profile of PROFILES) sims.push(await Simulator.create({ profile, ramMiB: 256 }));
});
afterAll(async () => { for (const s of sims) await s.close(); });

describe("random scripts", () => {
  for (const i of PROFILES.keys()) {
    it(`never crash and free everything (${PROFILES[i]})`, async () => {
      let accepted = 0;
      await fc.assert(fc.asyncProperty(scriptArb, async (script) => {
        const sim = sims[i]!;
        // Only configurations the kernel accepts make a script that can run.
        const cfg = await replayScript(script.split("\n")[0]!, { profile: sim.profile, simulator: sim });
        if (cfg.includes("alloc_io_pgtable_ops -> NULL")) return;
        accepted++;
        const out = await replayScript(script, { profile: sim.profile, simulator: sim });
        const warnings = out.filter((l) => l.startsWith("WARNING:")).length;
        expect(out.at(-1)).toBe(`# warnings=${warnings}`);
        expect(out.at(-2)).toBe("  pages_live=0 kmalloc_live=0");
        expect(sim.memoryStats()).toMatchObject({ tablePages: 0, badFrees: 0 });
      }), { numRuns: 300 });
      expect(accepted).toBeGreaterThan(50);
    });
  }
});
