// The seed variants' steps are defined once, in the core (assembly/dma/steps.ts), and both
// runs and the explorer take them from there. These tests walk the core's sequences against
// the explorer's words for them (src/explore/steps.ts), pin each variant's order to what the
// 2021 thread describes (reference §1.2–1.3), and check that the two users cannot drift
// apart: a sequential schedule in the explorer ends in the very state a run on one CPU of the
// same operations ends in (the run interprets the domain's copy of the sequences).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  SEED_SITE_TEXT, SEED_VARIANTS, Simulator, buildScenario, runSchedule, variantSteps,
  type Scenario, type SeedOp, type SeedVariant, type VariantStep,
} from "../dist/index.js";
import { coreOf } from "./helpers.js";

const OPS = ["unmap", "switch"] as const satisfies readonly SeedOp[];

let sim: Simulator;
beforeAll(async () => { sim = await Simulator.create({ profile: "5.15", ramMiB: 1, kheapMiB: 2 }); });
afterAll(async () => { await sim.close(); });

const seq = (variant: SeedVariant, op: SeedOp) => variantSteps(coreOf(sim), variant, op);
/** A sequence as short text: kind, word or action, marked/plain, guard. */
const shape = (s: VariantStep) =>
  s.kind === "load" || s.kind === "store" ? `${s.kind} ${s.var} ${s.mode}${s.guarded ? " if" : ""}`
    : s.kind === "fence" ? `${s.fence}${s.guarded ? " if" : ""}` : s.action!;

describe("the core's sequences and the explorer's words for them", () => {
  it("every code site the core exports has a label here, and every label names one the sequences use", () => {
    const exported = WebAssembly.Module.exports(coreOf(sim).module).map((e) => e.name).filter((n) => n.startsWith("SITE_"));
    expect([...exported].sort()).toEqual(Object.keys(SEED_SITE_TEXT).sort());
    const used = new Set(SEED_VARIANTS.flatMap((v) => OPS.flatMap((op) => seq(v, op).map((s) => s.site))));
    expect([...used].sort()).toEqual(Object.keys(SEED_SITE_TEXT).sort());
  });

  it("a load names the local it fills, and a step reads only registers an earlier load of its sequence wrote", () => {
    for (const v of SEED_VARIANTS) for (const op of OPS) {
      const steps = seq(v, op);
      steps.forEach((s, i) => {
        if (s.kind === "load") expect(s.reg, `${v} ${op} step ${i + 1}`).toMatch(/^[a-z]$/);
        for (const r of [s.ctrl, s.data].filter((x) => x !== 0)) {
          expect(steps.slice(0, i).some((w) => w.kind === "load" && w.out === r), `${v} ${op} step ${i + 1} reads r${r}`).toBe(true);
        }
        if (s.guarded) expect(s.ctrl).not.toBe(0);
      });
    }
  });
});

describe("each variant's order, as the thread describes it", () => {
  it("merged (and no-wmb's reader): one READ_ONCE of fq_domain decides the clear, the sync and the free", () => {
    for (const v of ["merged", "no-wmb"] as const) {
      const steps = seq(v, "unmap");
      expect(steps.map(shape)).toEqual(["load fq_domain once", "clear", "sync", "mb if", "load fq plain if", "release"]);
      const q = steps[0]!.out;
      expect(steps.filter((s) => s.kind === "action").every((s) => s.ctrl === q)).toBe(true);
    }
  });

  it("v2: the quirk decides the leaves, a first plain read of fq_domain the sync, a second the free; hoisted: the second taken first", () => {
    const two = seq("v2-two-reads", "unmap");
    expect(two.map(shape)).toEqual([
      "load quirk plain", "clear", "load fq_domain plain", "sync", "load fq_domain plain", "load fq plain if", "wmb if", "release",
    ]);
    expect(two[3]!.ctrl).toBe(two[2]!.out);
    expect(two[7]!.ctrl).toBe(two[4]!.out);
    expect(two[2]!.out).not.toBe(two[4]!.out);
    const hoisted = seq("v2-hoisted", "unmap");
    expect(hoisted[0]!.site).toBe("SITE_UNMAP_READ_FQ_HOISTED");
    expect(hoisted.slice(1).map((s) => s.site)).toEqual(two.filter((_, i) => i !== 4).map((s) => s.site));
    expect(hoisted.at(-1)!.ctrl).toBe(hoisted[0]!.out);
  });

  it("the switch: the queue built first and the type set last; merged fences and marks its publication, no-wmb only marks it, v2 neither and sets the quirk after", () => {
    expect(seq("merged", "switch").map(shape)).toEqual(["store fq plain", "wmb", "store fq_domain once", "set-type"]);
    expect(seq("no-wmb", "switch").map(shape)).toEqual(["store fq plain", "store fq_domain once", "set-type"]);
    for (const v of ["v2-two-reads", "v2-hoisted"] as const) {
      const steps = seq(v, "switch");
      expect(steps.map(shape)).toEqual(["store fq plain", "store fq_domain plain", "load quirk plain", "store quirk plain", "set-type"]);
      expect(steps[3]!.data).toBe(steps[2]!.out); // a read-modify-write
    }
  });
});

// The seed race's operations, one CPU after the other: A switches, B unmaps the buffer the
// device used, C maps a new one, the device uses the old IOVA again.
const SIZE = 256 * 1024;
const OLD_PA = 0x4000_0000; // the explorer's first buffer, then its second (src/explore/scenario.ts World.buffer)
const NEW_PA = 0x4100_0000;
const SCENARIO: Scenario = {
  profile: "5.15", bufferSize: SIZE, setup: [{ map: "old", cpu: "B" }, { access: "old" }],
  threads: { A: [{ switch: "lazy" }], B: [{ unmap: "old" }], C: [{ map: "new" }], dev: [{ access: "old" }] },
};
const CPU = { A: 0, B: 1, C: 2 };

/** What a domain ended in, as both sides can read it. */
function endState(s: Simulator, dom: ReturnType<Simulator["createDmaDomain"]>) {
  const L = coreOf(s).layout;
  const base = L.DMA_DOMAINS_BASE + dom.id * L.DMA_DOMAIN_SIZE;
  const smmu = dom.smmu.stats();
  return {
    type: dom.type, fqPublished: dom.fqPublished, quirk: coreOf(s).readU32(base + L.DD_QUIRK), fqPending: dom.fqPending(),
    dma: dom.stats(), oracle: dom.smmu.oracle!.counts(),
    smmu: { tlbi: smmu.tlbi, syncs: smmu.syncs, commands: smmu.commands, translations: smmu.translations },
  };
}

async function runOnOneCpu(variant: SeedVariant, switchFirst: boolean) {
  const s = await Simulator.create({ profile: "5.15", ramMiB: 1, kheapMiB: 2 });
  try {
    const smmu = s.createSmmu({ oracle: { capacity: 4096, violations: 256 } });
    const dom = s.createDmaDomain({ smmu, cpus: 4, variant });
    const dev = dom.attachDevice({ streamId: 1, dmaMask: 64, bus: "pci" });
    const old = dev.map(OLD_PA, SIZE, { cpu: CPU.B });
    dev.access(old, 64, "write");
    if (switchFirst) dom.setType("DMA-FQ");
    dev.unmap(old, SIZE, { cpu: CPU.B });
    if (!switchFirst) dom.setType("DMA-FQ");
    const fresh = dev.map(NEW_PA, SIZE, { cpu: CPU.C });
    const r = dev.access(old, 64, "write");
    const seg = r.ok ? r.segments[0]! : undefined;
    return { fresh, reached: seg?.pa, via: seg?.from, check: seg?.check, ...endState(s, dom) };
  } finally {
    await s.close();
  }
}

async function exploreOneCpu(variant: SeedVariant, switchFirst: boolean) {
  const built = await buildScenario(SCENARIO, { variant });
  try {
    const n = (t: string) => built.program.threads.find((x) => x.name === t)!.steps.length;
    const all = (t: string) => Array.from({ length: n(t) }, (_, i) => `${t}:${i + 1}`);
    const order = switchFirst ? [...all("A"), ...all("B")] : [...all("B"), ...all("A")];
    const exec = runSchedule(built.program, [...order, "C:1", "dev:1"].join(" "),
                             { model: "sc", reset: built.reset, check: built.check });
    const note = (t: string) => exec.trace.find((e) => e.thread === t)!.note ?? "";
    const fresh = Number(/got IOVA (0x[0-9a-f]+)/.exec(note("C"))![1]);
    const access = /→ PA (0x[0-9a-f]+) via ([a-z-]+)(?: \(oracle: ([a-z-]+)\))?/.exec(note("dev"));
    return {
      exec, fresh, reached: access ? Number(access[1]) : undefined, via: access?.[2], check: access?.[3],
      ...endState(built.simulator, built.domain),
    };
  } finally {
    await built.close();
  }
}

describe("a sequential schedule in the explorer ends where a run on one CPU does", () => {
  for (const variant of SEED_VARIANTS) {
    for (const switchFirst of [true, false]) {
      it(`${variant}: ${switchFirst ? "switch, then unmap (lazy)" : "unmap, then switch (strict)"}`, async () => {
        const { exec, ...explored } = await exploreOneCpu(variant, switchFirst);
        const ran = await runOnOneCpu(variant, switchFirst);
        expect(exec.completed).toBe(true);
        expect(explored).toEqual(ran);
        // The two orders really differ: the unmap went the way the switch decided.
        expect(ran.dma.lazyUnmaps).toBe(switchFirst ? 1 : 0);
        expect(ran.dma.strictUnmaps).toBe(switchFirst ? 0 : 1);
        expect(ran.type).toBe("DMA-FQ");
      });
    }
  }
});
