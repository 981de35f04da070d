// The race-type kernel bugs the explorer reaches (bug-corpus #3 and #6): the flush-queue timer
// callback against teardown (d7061627d701, behaviour FQ_TEARDOWN_WAITS_TIMER) and two CPUs
// splitting one block (85c7a0f1ef62, PGT_SPLIT_LOSER_UNMAPS). Each race is found in its buggy
// form and is exhaustively absent in its fixed form, with partial-order reduction and without.
// Also: a step that waits (del_timer_sync) drops the schedules the kernel cannot run, and
// freed flush-queue rings are poisoned, so that a late access is seen — and only then.

import { describe, expect, it } from "vitest";
import {
  Simulator, explore, exploreScenario, replayScenario, buildScenario, runSchedule, validateScenario, BUILTIN_SCENARIOS, ScheduleError,
  type Program, type Reduction, type Scenario,
} from "../dist/index.js";
import { coreOf } from "./helpers.js";

const REDUCTIONS: Reduction[] = ["dpor", "none"];
const FQ = BUILTIN_SCENARIOS["fq-timeout-teardown"]!;
const SPLIT = BUILTIN_SCENARIOS["split-race"]!;

describe("the FQ timer callback against teardown (bug-corpus #3, d7061627d701)", () => {
  for (const reduction of REDUCTIONS) {
    it(`5.15.16 (the timer deleted only if pending): the callback scans a freed ring (${reduction})`, async () => {
      const r = await exploreScenario("fq-timeout-teardown", { reduction });
      expect(r.verdict).toBe("violation");
      expect(r.result.violation!.message).toMatch(/^fq ring accessed after free: the FQ timer callback on CPU timer /);
      // The evidence is in the schedule: the callback started, teardown went past it and freed the rings.
      const labels = r.result.violation!.trace.map((t) => `${t.thread}:${t.step}`);
      expect(labels[0]).toBe("timer:1");
      expect(labels.indexOf("teardown:3")).toBeLessThan(labels.length - 1);
      expect(r.result.violation!.trace.at(-1)!.thread).toBe("timer");
    });

    const fixed: [string, Scenario][] = [
      ["6.12", { ...FQ, profile: "6.12" }], ["7.1", { ...FQ, profile: "7.1" }],
      ["5.15 with FQ_TEARDOWN_WAITS_TIMER", { ...FQ, behaviours: { with: ["FQ_TEARDOWN_WAITS_TIMER"] } }],
    ];
    for (const [kernel, sc] of fixed) {
      it(`${kernel} (teardown waits for a running callback): clean over every schedule (${reduction})`, async () => {
        const r = await exploreScenario(sc, { reduction });
        expect(r.verdict).toBe("clean");
        expect(r.result.complete).toBe(true);
        // The schedules that ran teardown past a running callback were left out, not judged.
        expect(r.result.blocked).toBeGreaterThan(0);
        expect(r.result.blockedBy).toMatch(/del_timer_sync/);
        expect(r.text).toMatch(/cannot run: a CPU would still be waiting/);
      });
    }
  }

  it("replaying a schedule the kernel cannot run (teardown past a running callback it waits for) is a ScheduleError naming the step", async () => {
    const line = "fq-timeout-teardown[5.15 with FQ_TEARDOWN_WAITS_TIMER]@merged@sc: timer:1 timer:2 teardown:1 teardown:2 teardown:3 timer:3 teardown:4";
    const e = await replayScenario(line).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ScheduleError);
    expect((e as ScheduleError).position).toBe(2);
    expect((e as Error).message).toMatch(/^schedule position 3: teardown:1 "FQ teardown: cancel the timer" would still be waiting there \(del_timer_sync: .*\), so the kernel cannot run this schedule/);
  });

  it("the timer deleted before it fires: the callback never runs, in either form", async () => {
    for (const profile of ["5.15", "7.1"] as const) {
      const built = await buildScenario({ ...FQ, profile });
      try {
        const { program, reset, check } = built;
        const e = runSchedule(program,
          "teardown:1 teardown:2 teardown:3 teardown:4 timer:1 timer:2 timer:3", { model: "sc", reset, check });
        expect(e.violation).toBeUndefined();
        expect(e.trace.find((t) => t.thread === "timer" && t.step === 1)!.note).toMatch(/not pending/);
      } finally {
        await built.close();
      }
    }
  });
});

describe("two CPUs split one block (bug-corpus #6, 85c7a0f1ef62)", () => {
  for (const reduction of REDUCTIONS) {
    it(`5.15 with the fix: the loser unmaps in the winner's table, clean over every schedule (${reduction})`, async () => {
      const r = await exploreScenario("split-race", { reduction });
      expect(r.verdict).toBe("clean");
      expect(r.result.complete).toBe(true);
    });
  }

  const BUGGY: Scenario = { ...SPLIT, behaviours: { without: ["PGT_SPLIT_LOSER_UNMAPS"] } };
  for (const reduction of REDUCTIONS) {
    it(`5.15 without it: the loser's page stays mapped after its unmap returned success (${reduction})`, async () => {
      const r = await exploreScenario(BUGGY, { reduction });
      expect(r.verdict).toBe("violation");
      // Either detection is the bug: the device reaches B's page after B's strict unmap
      // returned, or A cannot map its page again because it is still mapped.
      expect(r.result.violation!.message).toMatch(/^(after-strict-unmap: device \(stream 1\) reached PA 0x40002000|iommu_map of IOVA 0x40001000 .*-EEXIST)/);
      // Both CPUs built a split table before either installed one: the race.
      const order = r.result.violation!.trace.map((t) => `${t.thread}:${t.step}`);
      expect(Math.max(order.indexOf("A:1"), order.indexOf("B:1"))).toBeLessThan(Math.min(order.indexOf("A:2"), order.indexOf("B:2")));
      // The printed schedule names the kernel, so it replays in the buggy form.
      expect(r.replay).toMatch(/^split-race\[5\.15 without PGT_SPLIT_LOSER_UNMAPS\]@merged@sc: /);
      const again = await replayScenario(r.replay!);
      expect(again.execution.violation?.message).toBe(r.result.violation!.message);
    });
  }

  it("the loser that maps its page again hits io-pgtable's already-mapped WARN (-EEXIST)", async () => {
    const built = await buildScenario(BUGGY);
    try {
      const { program, reset, check } = built;
      // B installs first; A loses, returns success, and maps its page again.
      const e = runSchedule(program, "A:1 B:1 B:2 A:2 A:3 A:4 B:3 dev:1", { model: "sc", reset, check });
      expect(e.violation!.message).toMatch(/^iommu_map of IOVA 0x40001000 \(page 1 of 'blk'\) on CPU A failed with -EEXIST .* CPU A's iommu_unmap of it returned success/);
      const fixed = await buildScenario(SPLIT);
      try {
        const f = runSchedule(fixed.program, "A:1 B:1 B:2 A:2 A:3 A:4 B:3 dev:1", { model: "sc", reset: fixed.reset, check: fixed.check });
        expect(f.violation).toBeUndefined();
        expect(f.trace.find((t) => t.thread === "dev")!.note).toMatch(/fault/);
      } finally {
        await fixed.close();
      }
    } finally {
      await built.close();
    }
  });

  it("7.1 does not split: every partial unmap is refused, nothing is reported unmapped", async () => {
    const r = await exploreScenario({ ...SPLIT, profile: "7.1" });
    expect(r.verdict).toBe("clean");
  });
});

describe("two devices of one group probe at once (bug-corpus #14, ac9a5d522bb8)", () => {
  const PROBE = BUILTIN_SCENARIOS["probe-race"]!;
  for (const reduction of REDUCTIONS) {
    it(`5.15 (no cookie mutex): both initialise the IOVA domain, the second dropping the first's ranges (${reduction})`, async () => {
      const r = await exploreScenario("probe-race", { reduction });
      expect(r.verdict).toBe("violation");
      expect(r.result.violation!.message).toMatch(/^init_iova_domain ran twice on one cookie's IOVA domain: CPU [AB] read start_pfn 0/);
    });
    const fixed: [string, Scenario][] = [
      ["6.12", { ...PROBE, profile: "6.12" }], ["5.15 with DMA_INIT_DOMAIN_LOCKED", { ...PROBE, behaviours: { with: ["DMA_INIT_DOMAIN_LOCKED"] } }],
    ];
    for (const [kernel, sc] of fixed) {
      it(`${kernel} (the test and the init under the cookie's mutex): clean over every schedule (${reduction})`, async () => {
        const r = await exploreScenario(sc, { reduction });
        expect(r.verdict).toBe("clean");
        expect(r.result.blocked).toBeGreaterThan(0);
        expect(r.result.blockedBy).toMatch(/mutex_lock\(&cookie->mutex\)/);
      });
    }
  }

  it("the lost-node check finds none in an ordinary domain's life (maps, unmaps, reservations)", async () => {
    const sim = await Simulator.create({ profile: "5.15", ramMiB: 4, kheapMiB: 4 });
    try {
      const smmu = sim.createSmmu({ oracle: false });
      const dom = sim.createDmaDomain({ smmu, cpus: 1 });
      const dev = dom.attachDevice({ streamId: 1 });
      dom.iova.reserve(0x8000, 0x80ff);
      const maps = Array.from({ length: 40 }, (_, i) => {
        const size = (1 + (i % 5)) * 4096;
        return { addr: dev.map(0x4000_0000 + i * 0x10000, size), size };
      });
      maps.filter((_, i) => i % 2).forEach((m) => dev.unmap(m.addr, m.size));
      const raw = coreOf(sim).raw;
      expect(raw.dma_iova_lost_nodes(dom.id)).toBe(0);
      // A second init_iova_domain on it is what loses them.
      expect(raw.dma_probe_init(dom.id, 1)).toBe(0);
      expect(raw.dma_iova_lost_nodes(dom.id)).toBeGreaterThan(0);
    } finally {
      await sim.close();
    }
  });
});

describe("a step that waits", () => {
  // A waits for B's two steps once B has started: a schedule that runs A:1 between B:1 and
  // B:2 cannot happen and is dropped; the others run as usual.
  const state = { started: false, done: false };
  const program: Program = {
    threads: [
      { name: "A", steps: [{ kind: "action", label: "wait for B", footprint: { reads: ["b"], writes: [] },
        blocked: () => (state.started && !state.done ? "B is in progress" : undefined), run: () => {} }] },
      { name: "B", steps: [
        { kind: "action", label: "B starts", footprint: { reads: [], writes: ["b"] }, run: () => { state.started = true; } },
        { kind: "action", label: "B ends", footprint: { reads: [], writes: ["b"] }, run: () => { state.done = true; } },
      ] },
    ],
  };
  const reset = () => { state.started = false; state.done = false; };
  for (const reduction of ["dpor", "sleep", "none"] as const) {
    it(`drops the schedules the waiting step cannot run in (${reduction})`, () => {
      const r = explore(program, { model: "sc", reset, reduction });
      expect(r.blocked).toBe(1);
      expect(r.blockedBy).toBe("B is in progress");
      expect(r.violations).toBe(0);
      expect(r.complete).toBe(true);
      // A before B, or A after B: two schedules ran to the end.
      expect(r.schedules - r.blocked).toBe(2);
      expect(r.finalStates.reduce((n, f) => n + f.count, 0)).toBe(2);
    });
  }

  it("a step whose blocked is not a function is refused, naming the field", () => {
    const bad = { threads: [{ name: "A", steps: [{ kind: "action", label: "x", blocked: 3 }] }] } as unknown as Program;
    expect(() => explore(bad, { model: "sc" })).toThrow(/steps\[0\]\.blocked.*must be a function/);
  });
});

describe("freed flush-queue rings are poisoned", () => {
  it("a ring reached after teardown freed it is found freed and counted (a direct test of the core)", async () => {
    const sim = await Simulator.create({ profile: "5.15", ramMiB: 1, kheapMiB: 2 });
    try {
      const smmu = sim.createSmmu({ oracle: false });
      const dom = sim.createDmaDomain({ smmu, cpus: 2, type: "DMA-FQ" });
      const dev = dom.attachDevice({ streamId: 1 });
      dev.unmap(dev.map(0x4000_0000, 4096, { cpu: 0 }), 4096, { cpu: 0 });
      const core = coreOf(sim);
      const { raw, layout: L } = core;
      expect(raw.dma_fq_timer_fire(dom.id, 0)).toBe(1);
      expect(raw.dma_fq_timer_release(dom.id, 0, 0)).toBe(1); // the entry released: the ring is live
      expect(raw.dma_fq_freed_accesses(dom.id)).toBe(0);
      expect(raw.dma_fq_teardown_step(dom.id, L.FQT_FREE)).toBe(0);
      expect(raw.dma_fq_timer_release(dom.id, 0, 1)).toBe(-L.ESIM_FQ_FREED);
      expect(raw.dma_fq_freed_accesses(dom.id)).toBe(1);
      // Once the pointer is cleared, the next reader finds no queue at all — also counted.
      expect(raw.dma_fq_teardown_step(dom.id, L.FQT_DETACH)).toBe(0);
      expect(raw.dma_fq_timer_fire(dom.id, 0)).toBe(0);
      expect(raw.dma_fq_teardown_step(dom.id, 99)).toBe(-L.ESIM_ARGS);
    } finally {
      await sim.close();
    }
  });

  it("never fires in an ordinary lazy run: timers flush and release, teardown at the end", async () => {
    const sim = await Simulator.create({ profile: "5.15", ramMiB: 4, kheapMiB: 4 });
    try {
      const smmu = sim.createSmmu({ oracle: true });
      const dom = sim.createDmaDomain({ smmu, cpus: 2, type: "DMA-FQ" });
      const dev = dom.attachDevice({ streamId: 1 });
      for (let i = 0; i < 600; i++) {
        const cpu = i % 2;
        const iova = dev.map(0x4000_0000 + (i % 64) * 4096, 4096, { cpu });
        dev.access(iova, 64, "write");
        dev.unmap(iova, 4096, { cpu });
        if (i % 50 === 0) sim.advance(20, { cpu });
      }
      sim.advance(20);
      const raw = coreOf(sim).raw;
      expect(raw.dma_fq_freed_accesses(dom.id)).toBe(0);
      expect(smmu.oracle!.counts().afterFlush + smmu.oracle!.counts().useAfterFree).toBe(0);
      dom.rebuildStrictForTesting(0); // flush, release and tear the queue down
      expect(raw.dma_fq_freed_accesses(dom.id)).toBe(0);
    } finally {
      await sim.close();
    }
  });
});

describe("the new operations refuse bad input, naming the field", () => {
  const sc = (threads: Record<string, unknown[]>, extra: Record<string, unknown> = {}) =>
    ({ profile: "5.15", bufferSize: 2 * 1024 * 1024, threads, ...extra }) as unknown as Scenario;
  it("a page outside the buffer", () => {
    expect(() => validateScenario(sc({ A: [{ iommuUnmap: "blk", page: 512 }] })))
      .toThrow(/threads\.A\[0\]\.page.*must be a page number of the buffer, 0 … 511/);
    expect(() => validateScenario(sc({ dev: [{ access: "blk", page: -1 }] }))).toThrow(/threads\.dev\[0\]\.page/);
  });
  it("fqTimeout / fqTeardown take true, and nothing else", () => {
    expect(() => validateScenario(sc({ T: [{ fqTimeout: 1 }] }))).toThrow(/threads\.T\[0\]\.fqTimeout.*must be true/);
    expect(() => validateScenario(sc({ T: [{ fqTeardown: true, page: 1 }] }))).toThrow(/page/);
  });
  it("a thread's name that a schedule cannot print, and a name the replay line cannot carry, named by the file and the field", () => {
    // The engine's own check said "explore: program.threads[0].name …", naming neither the file nor the key.
    expect(() => validateScenario(sc({ "bad name!": [{ map: "x" }], B: [{ map: "y" }] }), "t.json"))
      .toThrow(/^t\.json: threads\["bad name!"\] has a key that is not a CPU name: a thread's name must be a non-empty string without white space/);
    expect(() => validateScenario(sc({ A: [{ map: "x" }] }, { name: "a@b" }), "n.json"))
      .toThrow(/^n\.json: name must be a non-empty string without '@', '\[', '\]'/);
    expect(() => validateScenario(sc({ A: [{ map: "x" }] }, { name: "" }), "n.json")).toThrow(/^n\.json: name must be/);
  });
  it("an unknown operation lists the ones there are", () => {
    expect(() => validateScenario(sc({ T: [{ iommuUnmapp: "x" }] }))).toThrow(/iommuMap, iommuUnmap, fqTimeout, fqTeardown/);
  });
  it("an iommuUnmap of a buffer the driver never mapped is refused before anything runs, naming the operation", () => {
    expect(() => validateScenario(sc({ A: [{ iommuUnmap: "blk", page: 1 }] }, { setup: [] }), "s.json"))
      .toThrow(/^s\.json: threads\.A\[0\]\.iommuUnmap names a buffer with no IOVA yet: map \(or iommuMap\) it in the setup or earlier in this thread/);
  });
});
