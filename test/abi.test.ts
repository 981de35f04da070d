// The Wasm boundary described once: the TypeScript side's remaining tables (user-facing
// names → the core's constants) are walked against the module itself, the errno namespace
// is checked for collisions and completeness, the export list the loader checks against is
// the module's own, and the memory the core asks for gives exactly the RAM asked for.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Simulator, compileCore } from "../dist/index.js";
import { coreOf } from "./helpers.js";
import { CORE_EXPORTS } from "../build/exports.js";
import { ERRNO_MEANINGS } from "../src/errno.js";
import { DIRECTION_CODES, DMA_STAT_CODES } from "../src/dma.js";
import { STEP_CODES } from "../src/variants/program.js";
import { FAST_SIZES_CODES, IOVA_WARN_CODES, TREE_LOOP_CODES } from "../src/iova.js";
import { FORMAT_CODES, Prot, Quirk, WARN_CODES } from "../src/pgtable.js";
import { POLICY_CODES, SMMU_COST_CODES } from "../src/smmu/smmu.js";
import { ACCESS_CLASS_CODES } from "../src/safety/oracle.js";
import { CPU_COST_CODES } from "../src/simulator.js";
import { WORKLOAD_KIND_CODES } from "../src/run/runner.js";
import { CORE_LIMITS, type CoreLimit } from "../src/core-limits.js";
import { TIME_CODES } from "../src/cpu-time.js";
import { COMMAND_KINDS, coreOpcodeName } from "../src/smmu/commands.js";

const ROOT = join(import.meta.dirname, "..");

async function layout(): Promise<Readonly<Record<string, number>>> {
  const sim = await Simulator.create({ ramMiB: 1, kheapMiB: 1 });
  const L = coreOf(sim).layout as unknown as Record<string, number>;
  await sim.close();
  return L;
}

/** The names a unit of the core exports with a prefix (from the module, not from a list). */
function exported(L: Readonly<Record<string, number>>, re: RegExp): string[] {
  return Object.keys(L).filter((n) => re.test(n)).sort();
}

describe("the TypeScript tables match the module", async () => {
  const L = await layout();
  const tables: [string, Record<string, string>, RegExp][] = [
    ["variant step kinds", STEP_CODES.KIND, /^STEP_(LOAD|STORE|FENCE|ACTION)$/],
    ["variant modelled words", STEP_CODES.WORD, /^STEP_WORD_/],
    ["variant access kinds", STEP_CODES.ACCESS, /^STEP_ACCESS_(?!SHIFT$|MASK$)/],
    ["variant barriers", STEP_CODES.BARRIER, /^STEP_BARRIER_/],
    ["variant actions", STEP_CODES.ACTION, /^STEP_ACT_/],
    ["DMA directions", DIRECTION_CODES, /^DMA_(BIDIRECTIONAL|TO_DEVICE|FROM_DEVICE)$/],
    ["DMA statistics", DMA_STAT_CODES, /^DS_(?!COUNT$)/],
    ["fast-loop sizes", FAST_SIZES_CODES, /^FAST_SIZES_/],
    ["tree loops", TREE_LOOP_CODES, /^TREE_(POPULATE|PAIRS|REFILL)$/],
    ["page-table formats", FORMAT_CODES, /^FMT_/],
    ["io-pgtable WARNs", WARN_CODES, /^WARN_/],
    ["iova.c WARNs", IOVA_WARN_CODES, /^IW_/],
    ["cache policies", POLICY_CODES, /^POLICY_/],
    ["SMMU costs", SMMU_COST_CODES, /^COST_(?!COUNT$)/],
    ["CPU costs", CPU_COST_CODES, /^CPU_COST_(?!COUNT$)/],
    ["time breakdown", TIME_CODES, /^TIME_(?!COUNT$)/],
    // AC_FULL is a counter of the shadow running out of room, never an access's class.
    ["access classes", ACCESS_CLASS_CODES, /^AC_(?!FULL$)/],
    ["workload kinds", WORKLOAD_KIND_CODES, /^WL_(NIC_RX|NIC_TX|STORAGE|RANDOM|ATTACKER|PAIRS|SWITCHER)$/],
  ];
  it.each(tables)("%s: every name is the module's, distinct, and the table covers them all", (_, table, re) => {
    const names = Object.values(table);
    for (const n of names) expect(L[n], n).toBeTypeOf("number");
    expect(new Set(names.map((n) => L[n])).size).toBe(names.length);
    expect([...names].sort()).toEqual(exported(L, re));
  });

  it("the capacities checked before a core is loaded are the core's (CORE_LIMITS)", () => {
    for (const [name, value] of Object.entries(CORE_LIMITS)) expect(L[name as CoreLimit], name).toBe(value);
  });

  it("Prot and Quirk are the core's IOMMU_* and QUIRK_* bits, numbered as the kernel numbers them", () => {
    for (const [k, v] of Object.entries(Prot)) expect(v, k).toBe(L[`IOMMU_${k}`]);
    expect(Object.keys(Prot).map((k) => `IOMMU_${k}`).sort()).toEqual(exported(L, /^IOMMU_/));
    for (const [k, v] of Object.entries(Quirk)) expect(v, k).toBe(L[`QUIRK_${k}`]);
    expect(Object.keys(Quirk).map((k) => `QUIRK_${k}`).sort()).toEqual(exported(L, /^QUIRK_/));
    // Both are read from the core, so the lines above only check names: the numbers a script
    // or a caller writes are the kernel's (include/linux/iommu.h, io-pgtable.h).
    expect({ ...Prot }).toEqual({ READ: 1, WRITE: 2, CACHE: 4, NOEXEC: 8, MMIO: 16, PRIV: 32 });
    expect({ ...Quirk }).toEqual({ ARM_NS: 1 << 0, ARM_TTBR1: 1 << 5, ARM_OUTER_WBWA: 1 << 6, ARM_HD: 1 << 7, ARM_S2FWB: 1 << 8, NO_WARN: 1 << 9 });
  });

  it("the command kinds name every opcode the core defines, in opcode order, and the core counts each in its place", () => {
    expect(COMMAND_KINDS.map(coreOpcodeName).sort()).toEqual(exported(L, /^OP_/));
    const opcodes = COMMAND_KINDS.map((k) => L[coreOpcodeName(k)]!);
    expect(opcodes).toEqual([...opcodes].sort((a, b) => a - b));
    expect(new Set(opcodes).size).toBe(opcodes.length);
    expect(L.CMD_KINDS).toBe(COMMAND_KINDS.length);
  });
});

describe("one errno namespace", async () => {
  const L = await layout();
  const source = readFileSync(join(ROOT, "assembly", "errno.ts"), "utf8");
  const defined = [...source.matchAll(/^export const (E[A-Z0-9_]+): i32/gm)].map((m) => m[1]!).sort();

  it("every errno the core defines is decoded, and nothing else", () => {
    expect(defined.length).toBeGreaterThan(20);
    expect(Object.keys(ERRNO_MEANINGS).sort()).toEqual(defined);
  });

  it("no two errnos share a number; the kernel's stay below MAX_ERRNO, the simulator's above", () => {
    const values = defined.map((n) => L[n]!);
    expect(new Set(values).size).toBe(values.length);
    for (const n of defined) {
      if (n.startsWith("ESIM_")) expect(L[n], n).toBeGreaterThanOrEqual(4096);
      else expect(L[n], n).toBeLessThan(4096);
    }
  });

  it("a raw call on a detached device and one with a bad CPU say different things", async () => {
    const sim = await Simulator.create({ ramMiB: 4 });
    try {
      const smmu = sim.createSmmu();
      const dom = sim.createDmaDomain({ smmu, cpus: 2 });
      const dev = dom.attachDevice({ streamId: 1 });
      const raw = coreOf(sim).raw;
      const badCpu = raw.dma_map(dev.id, 5, 0x1000, 4096, 0, 0);
      dev.detach();
      const detached = raw.dma_map(dev.id, 0, 0x1000, 4096, 0, 0);
      expect(badCpu).toBe(-L.ESIM_CPU!);
      expect(detached).toBe(-L.ESIM_NO_DEVICE!);
      dom.destroy();
      smmu.destroy();
    } finally {
      await sim.close();
    }
  });

  it("a raw wl_init refuses an attacker keeping more IOVAs than its room (KEPT_MAX), not writing past its state", async () => {
    const sim = await Simulator.create({ ramMiB: 4 });
    try {
      const smmu = sim.createSmmu();
      const dom = sim.createDmaDomain({ smmu, cpus: 2 });
      const dev = dom.attachDevice({ streamId: 1 });
      const raw = coreOf(sim).raw;
      const init = (keep: number) => raw.wl_init(1, L.WL_ATTACKER!, dev.id, keep, 4096, 4096, 1, 1, 1);
      expect(init(L.KEPT_MAX! + 1)).toBe(-L.ESIM_ARGS!);
      expect(init(L.KEPT_MAX!)).toBe(0);
      dev.detach();
      dom.destroy();
      smmu.destroy();
    } finally {
      await sim.close();
    }
  });
});

describe("the export list the loader checks is the module's own", () => {
  it("build/exports.js lists exactly what dist/core.wasm exports", async () => {
    const module = await compileCore(readFileSync(join(ROOT, "dist", "core.wasm")));
    const actual = WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]);
    expect(CORE_EXPORTS).toEqual(actual);
  });

  it("a module lacking one export is refused by name", async () => {
    // core.wasm with its last export renamed: a different build.
    const bytes = readFileSync(join(ROOT, "dist", "core.wasm"));
    const [name] = CORE_EXPORTS.filter(([, kind]) => kind === "function").at(-1)!;
    const renamed = Buffer.from(bytes.toString("latin1").replace(name, name.replace(/.$/, "Z")), "latin1");
    await expect(Simulator.create({ core: renamed })).rejects.toThrow(new RegExp(`lacks the export ${name} \\(a function\\)`));
  });
});

describe("the memory the core asks for", () => {
  it.each([1, 3, 4, 6, 64, 130])("ramMiB %i gives exactly that many MiB of frames", async (ramMiB) => {
    const sim = await Simulator.create({ ramMiB, kheapMiB: 2 });
    try {
      expect(sim.memoryStats().totalFrames * 4096).toBe(ramMiB * 2 ** 20);
      // Every frame can be handed out: tables of 4K until the RAM is full.
      const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x1000, ias: 48, oas: 48, events: 0 });
      let mapped = 0;
      for (let i = 0; ; i++) {
        // One leaf per 2 MiB of IOVA: each map needs a new last-level table page.
        if (pt.mapPages(i * 2 ** 21, 0x1000, 0x1000, 1, 3).ret !== 0) break;
        mapped++;
      }
      expect(sim.memoryStats().tablePages).toBe(ramMiB * 256);
      // …less the walk's upper-level tables (one per 512 last-level ones, and the PGD).
      expect(mapped).toBeGreaterThanOrEqual(Math.floor(ramMiB * 256 * 511 / 512) - 2);
    } finally {
      await sim.close();
    }
  });
});

describe("the core's units", () => {
  /** Import cycles among the files under `dir` (each as "a → b → a"). */
  function importCycles(dir: string): string[] {
    const files: string[] = [];
    (function walk(d: string) {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith(".ts")) files.push(p);
      }
    })(dir);
    const deps = new Map(files.map((f) => [f, [...readFileSync(f, "utf8")
      .matchAll(/^(?:import|export)[^;]*?from\s+"(\.[^"]+)"/gms)]
      .map((m) => resolve(dirname(f), m[1]!.replace(/\.js$/, "") + ".ts"))]));
    const cycles: string[] = [];
    const state = new Map<string, 1 | 2>();
    const stack: string[] = [];
    const visit = (n: string) => {
      state.set(n, 1);
      stack.push(n);
      for (const m of deps.get(n) ?? []) {
        if (!deps.has(m)) continue;
        if (state.get(m) === 1) cycles.push([...stack.slice(stack.indexOf(m)), m].map((x) => relative(dir, x)).join(" → "));
        else if (!state.get(m)) visit(m);
      }
      stack.pop();
      state.set(n, 2);
    };
    for (const f of files) if (!state.get(f)) visit(f);
    return cycles;
  }

  it("import each other without cycles (the time base does not call into the allocator, the gather not into the TLB callbacks)", () => {
    expect(importCycles(join(ROOT, "assembly"))).toEqual([]);
  });
});
