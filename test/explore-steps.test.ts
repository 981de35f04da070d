// The seed variants are defined once, as data in the variant vocabulary (SEED_VARIANT_DEFINITIONS),
// and both runs (the core interprets their encoding, loaded into each domain's program area)
// and the explorer (which builds its steps from the same resolved definition) take them from
// there. These tests pin each variant's order to what the 2021 thread describes (reference
// §1.2–1.3), check that the core holds exactly the encoded program and refuses words it cannot
// run, and check that the two users cannot drift apart: a sequential schedule in the explorer
// ends in the very state a run on one CPU of the same operations ends in — for the four seed
// variants and for a variant written by a user.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BUILTIN_SCENARIOS, SEED_RACE, SEED_VARIANTS, SEED_VARIANT_DEFINITIONS, Simulator, buildScenario, describeFootprints, parseVariant, runSchedule,
  type ResolvedStep, type Scenario, type SeedVariant, type VariantDefinition, type VariantSequence,
} from "../dist/index.js";
import { coreOf } from "./helpers.js";
import { encodeVariant } from "../src/variants/program.js";
import { Buffers, switchFootprint, unmapFootprint } from "../src/explore/footprints.js";

const OPS = ["unmap", "switch"] as const satisfies readonly VariantSequence[];

let sim: Simulator;
beforeAll(async () => { sim = await Simulator.create({ profile: "5.15", ramMiB: 1, kheapMiB: 2 }); });
afterAll(async () => { await sim.close(); });

const seq = (variant: SeedVariant, op: VariantSequence) => parseVariant(SEED_VARIANT_DEFINITIONS[variant])[op].steps;
/** A sequence as short text: kind, word or action, marked/plain, guard. */
const shape = (s: ResolvedStep) =>
  s.kind === "load" || s.kind === "store" ? `${s.kind} ${s.var} ${s.mode}${s.guard ? " if" : ""}`
    : s.kind === "fence" ? `${s.fence}${s.guard ? " if" : ""}` : s.action!;

/** The user's variant of the README: the merged code with its smp_wmb() after the publication. */
const WMB_LATE: VariantDefinition = {
  name: "wmb-after-publish",
  switch: [{ op: "build-fq" }, { op: "publish-fq-domain", access: "once" }, { op: "smp_wmb" }, { op: "set-type" }],
  unmap: SEED_VARIANT_DEFINITIONS.merged.unmap,
};

describe("the variants' definitions", () => {
  it("every seed variant parses, a load names the local it fills, and a step reads only locals an earlier load wrote", () => {
    for (const v of SEED_VARIANTS) for (const op of OPS) {
      const steps = seq(v, op);
      steps.forEach((s, i) => {
        if (s.kind === "load") expect(s.out, `${v} ${op} step ${i + 1}`).toMatch(/^[a-z]$/);
        for (const r of [s.decide, s.guard?.local, s.data].filter((x) => x !== undefined)) {
          expect(steps.slice(0, i).some((w) => w.kind === "load" && w.out === r), `${v} ${op} step ${i + 1} reads ${r}`).toBe(true);
        }
        // Every action has a footprint the reduction can use (else it would conflict with every step).
        if (s.kind === "action") {
          const fp = op === "switch" ? switchFootprint(s) : unmapFootprint(s.action!, "B", "old", Buffers.of(SEED_RACE));
          expect(fp, `${v} ${op} step ${i + 1}`).toBeDefined();
        }
      });
    }
  });

  it("every step of every built-in scenario that acts on the simulation declares what it touches", async () => {
    for (const [name, sc] of Object.entries(BUILTIN_SCENARIOS)) {
      const built = await buildScenario(sc);
      try {
        for (const f of describeFootprints(built.program, "sc")) {
          expect(f.everything, `${name} ${f.thread}:${f.step} ${f.label}`).toBe(false);
        }
      } finally {
        await built.close();
      }
    }
  });

  it("the core holds exactly each variant's encoding, and accepts every word of it", async () => {
    const core = coreOf(sim);
    const L = core.layout;
    const smmu = sim.createSmmu({});
    for (const v of [...SEED_VARIANTS, WMB_LATE]) {
      const dom = sim.createDmaDomain({ smmu, cpus: 2, variant: v });
      const words = encodeVariant(L, parseVariant(typeof v === "string" ? SEED_VARIANT_DEFINITIONS[v] : v));
      for (const op of OPS) {
        const base = L.DMA_DOMAINS_BASE + dom.id * L.DMA_DOMAIN_SIZE + L.DD_STEPS + (op === "unmap" ? L.STEP_OP_UNMAP : L.STEP_OP_SWITCH) * L.SEQ_WORDS * 4;
        const held = Array.from({ length: L.SEQ_WORDS }, (_, i) => core.readU32(base + i * 4));
        expect(held, `${typeof v === "string" ? v : v.name} ${op}`).toEqual([...words[op], ...Array(L.SEQ_WORDS - words[op].length).fill(0)]);
        for (const w of words[op]) expect(core.raw.dma_step_valid(w)).toBe(1);
      }
      expect(dom.variant).toBe(typeof v === "string" ? v : v.name);
      dom.destroy();
    }
  });

  it("the core refuses words it cannot run: a guard on an action that decides, acquire stores, release loads, bad registers and objects", () => {
    const core = coreOf(sim);
    const L = core.layout;
    const step = (kind: number, object: number, extra = 0) => ((kind << L.STEP_KIND_SHIFT) | (object << L.STEP_OBJECT_SHIFT) | extra) >>> 0;
    const valid = (w: number) => core.raw.dma_step_valid(w);
    expect(valid(step(L.STEP_LOAD, L.STEP_WORD_FQ, 1 << L.STEP_OUT_SHIFT))).toBe(1);
    expect(valid(0)).toBe(0);
    expect(valid(step(L.STEP_LOAD, L.STEP_WORD_FQ, L.STEP_ACCESS_RELEASE << L.STEP_ACCESS_SHIFT))).toBe(0);
    expect(valid(step(L.STEP_STORE, L.STEP_WORD_FQ, L.STEP_ACCESS_ACQUIRE << L.STEP_ACCESS_SHIFT))).toBe(0);
    expect(valid(step(L.STEP_ACTION, L.STEP_ACT_SYNC, L.STEP_GUARDED | (1 << L.STEP_CTRL_SHIFT)))).toBe(0);
    expect(valid(step(L.STEP_ACTION, L.STEP_ACT_FREE, L.STEP_GUARDED | (1 << L.STEP_CTRL_SHIFT)))).toBe(1);
    expect(valid(step(L.STEP_ACTION, L.STEP_ACT_FREE, L.STEP_GUARDED))).toBe(0); // a guard needs a register
    expect(valid(step(L.STEP_LOAD, L.STEP_WORD_FQ, (L.STEP_REGS + 1) << L.STEP_OUT_SHIFT))).toBe(0);
    expect(valid(step(L.STEP_FENCE, L.STEP_BARRIER_RMB + 1))).toBe(0);
    expect(valid(step(L.STEP_ACTION + 1, 1))).toBe(0);
    expect(valid(step(L.STEP_FENCE, L.STEP_BARRIER_MB) | 1)).toBe(0); // the reserved byte
  });
});

describe("each seed variant's order, as the thread describes it", () => {
  it("merged (and no-wmb's reader): one READ_ONCE of fq_domain decides the clear, the sync and the free", () => {
    for (const v of ["merged", "no-wmb"] as const) {
      const steps = seq(v, "unmap");
      expect(steps.map(shape)).toEqual(["load fq_domain once", "clear", "sync", "mb if", "load fq plain if", "release"]);
      const q = steps[0]!.out;
      expect(steps.filter((s) => s.kind === "action").every((s) => s.decide === q)).toBe(true);
    }
  });

  it("v2: the quirk decides the leaves, a first plain read of fq_domain the sync, a second the free; hoisted: the second taken first", () => {
    const two = seq("v2-two-reads", "unmap");
    expect(two.map(shape)).toEqual([
      "load quirk plain", "clear", "load fq_domain plain", "sync", "load fq_domain plain", "load fq plain if", "wmb if", "release",
    ]);
    expect(two[3]!.decide).toBe(two[2]!.out);
    expect(two[7]!.decide).toBe(two[4]!.out);
    expect(two[2]!.out).not.toBe(two[4]!.out);
    const hoisted = seq("v2-hoisted", "unmap");
    expect(hoisted[0]!.label).toMatch(/hoisted/);
    expect(hoisted.slice(1).map((s) => s.label)).toEqual(two.filter((_, i) => i !== 4).map((s) => s.label));
    expect(hoisted.at(-1)!.decide).toBe(hoisted[0]!.out);
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

async function runOnOneCpu(variant: SeedVariant | VariantDefinition, switchFirst: boolean) {
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

async function exploreOneCpu(variant: SeedVariant | VariantDefinition, switchFirst: boolean) {
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
  for (const variant of [...SEED_VARIANTS, WMB_LATE]) {
    for (const switchFirst of [true, false]) {
      it(`${typeof variant === "string" ? variant : variant.name}: ${switchFirst ? "switch, then unmap (lazy)" : "unmap, then switch (strict)"}`, async () => {
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
