// The schedule explorer's engine: how many schedules each model enables, replaying a printed
// schedule, refusing invalid ones with the rule that forbids them, the exploration bound, seeded
// random schedules, stopping at a violation found by `check`, data races, and program checks.

import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ArgumentError, ScheduleError, describePpo, explore, formatSchedule, parseLitmus, parseSchedule,
  randomSchedules, runSchedule, type Program, type Step,
} from "../dist/index.js";

const st = (v: string, value: number, mode: "plain" | "once" | "release" = "once"): Step =>
  ({ kind: "store", var: v, value, mode, label: `${v} = ${value}` });
const ld = (reg: string, v: string, mode: "plain" | "once" | "acquire" = "once", extra: Partial<Step> = {}): Step =>
  ({ kind: "load", var: v, reg, mode, label: `${reg} = ${v}`, ...extra } as Step);
const fence = (f: "wmb" | "rmb" | "mb"): Step => ({ kind: "fence", fence: f, label: `smp_${f}()` });

/** Message passing, writer fenced with smp_wmb, reader with only a control dependency. */
const MP_CTRL: Program = {
  threads: [
    { name: "P0", steps: [st("fq", 1), fence("wmb"), st("fq_domain", 1)] },
    { name: "P1", steps: [ld("r0", "fq_domain"), ld("r1", "fq", "once", { deps: [{ reg: "r0", kind: "ctrl" }], guard: (r) => r.r0 !== 0 })] },
  ],
};
const mpBad = (e: { regs: Record<string, number>[] }) => e.regs[1]!.r0 === 1 && e.regs[1]!.r1 === 0;

describe("schedule counts", () => {
  // Two threads of 2 and 3 steps, on different variables and without fences.
  const loose: Program = {
    threads: [
      { name: "A", steps: [st("x", 1), st("y", 1)] },
      { name: "B", steps: [ld("r0", "z"), ld("r1", "w"), ld("r2", "v")] },
    ],
  };
  // The same shape, every pair of a thread ordered (same variable; smp_mb).
  const fenced: Program = {
    threads: [
      { name: "A", steps: [st("x", 1), st("x", 2)] },
      { name: "B", steps: [ld("r0", "z"), fence("mb"), ld("r2", "v")] },
    ],
  };

  it("sc interleaves in program order: C(5,2) = 10 schedules", () => {
    expect(explore(loose, { model: "sc" , reduction: "none"})).toMatchObject({ schedules: 10, complete: true });
    expect(explore(fenced, { model: "sc" , reduction: "none"})).toMatchObject({ schedules: 10, complete: true });
  });

  it("relaxed enables every order of unordered steps (5! = 120) and only program order for fenced ones", () => {
    expect(explore(loose, { model: "relaxed" , reduction: "none"})).toMatchObject({ schedules: 120, complete: true });
    expect(explore(fenced, { model: "relaxed" , reduction: "none"})).toMatchObject({ schedules: 10, complete: true });
  });

  it("the ppo rules: wmb orders stores only, a ctrl dependency orders a later store but not a later load", () => {
    const p: Program = {
      threads: [{
        name: "T", steps: [
          ld("r0", "a"), st("b", 1), fence("wmb"), st("c", 1), ld("r1", "d"),
          { kind: "store", var: "e", mode: "once", value: 1, label: "if (r0) e = 1", deps: [{ reg: "r0", kind: "ctrl" }], guard: (r) => r.r0 === 1 },
          ld("r2", "f", "once", { deps: [{ reg: "r0", kind: "ctrl" }], guard: (r) => r.r0 === 1 }),
        ],
      }],
    };
    const after = describePpo(p, "relaxed").map((s) => s.after.map((a) => a.step));
    // T:6 (if (r0) e = 1) waits for the load of r0 (ctrl) and for the wmb (a store after it).
    expect(after).toEqual([[], [], [2], [3], [], [1, 3], []]);
    expect(describePpo(p, "relaxed")[5]!.after[0]!.reason).toBe("ctrl dependency on r0");
    expect(describePpo(p, "sc").map((s) => s.after.map((a) => a.step))).toEqual([[], [1], [2], [3], [4], [5], [6]]);
  });

  it("plain reads of one variable may be reordered, marked ones may not", () => {
    const two = (mode: "plain" | "once"): Program => ({ threads: [{ name: "T", steps: [ld("a", "x", mode), ld("b", "x", mode)] }] });
    expect(explore(two("plain"), { model: "relaxed" , reduction: "none"}).schedules).toBe(2);
    expect(explore(two("once"), { model: "relaxed" , reduction: "none"}).schedules).toBe(1);
  });
});

describe("schedules as text, and replay", () => {
  it("formatSchedule/parseSchedule round-trip, and runSchedule reproduces the witness's trace", () => {
    const res = explore(MP_CTRL, { model: "relaxed", reduction: "none", predicate: mpBad });
    expect(res.witnesses).toBe(1);
    const w = res.witness!;
    expect(w.text).toBe("P1:2 P0:1 P0:2 P0:3 P1:1");
    expect(formatSchedule(MP_CTRL, w.schedule)).toBe(w.text);
    const again = runSchedule(MP_CTRL, parseSchedule(MP_CTRL, w.text), { model: "relaxed" });
    expect(again.trace).toEqual(w.execution.trace);
    expect(again.regs[1]).toEqual({ r0: 1, r1: 0 });
    // The guarded read of fq ran first, speculatively; it took effect once r0 was known.
    expect(again.trace[0]).toMatchObject({ thread: "P1", step: 2, speculative: true, effective: true, value: 0 });
    expect(again.trace[4]).toMatchObject({ thread: "P1", step: 1, effective: true, value: 1 });
  });

  it("thread names with dots and colons print unambiguously (split at the last colon)", () => {
    const p: Program = { threads: [{ name: "cpu0.3", steps: [st("x", 1)] }, { name: "a:1", steps: [st("x", 2), st("y", 1)] }] };
    const s = parseSchedule(p, "a:1:1 cpu0.3:1 a:1:2");
    expect(s).toEqual([{ thread: 1, index: 0 }, { thread: 0, index: 0 }, { thread: 1, index: 1 }]);
    expect(formatSchedule(p, s)).toBe("a:1:1 cpu0.3:1 a:1:2");
    expect(runSchedule(p, s, { model: "sc" }).memory).toEqual({ x: 1, y: 1 });
  });

  it("parseSchedule names the unknown thread, the missing step, the repeated and the left-out ones", () => {
    expect(() => parseSchedule(MP_CTRL, "P0:1 P9:1")).toThrow(/token 2 "P9:1": no thread named "P9" \(threads: P0, P1\)/);
    expect(() => parseSchedule(MP_CTRL, "P1:3")).toThrow(/thread P1 has no step 3 \(it has 2\)/);
    expect(() => parseSchedule(MP_CTRL, "P0:1 P0:1")).toThrow(/P0:1 is repeated \(first at token 1\)/);
    expect(() => parseSchedule(MP_CTRL, "P0 1")).toThrow(/expected THREAD:STEP/);
    expect(() => parseSchedule(MP_CTRL, "P0:1 P0:2 P1:1")).toThrow(/leaves out P0:3 P1:2/);
    expect(() => parseSchedule(MP_CTRL, "P0:0")).toThrow(ScheduleError);
  });

  it("runSchedule refuses a step before its ppo predecessor, naming both steps and the rule", () => {
    const run = (text: string, model: "sc" | "relaxed") => () => runSchedule(MP_CTRL, text, { model });
    expect(run("P0:3 P0:1 P0:2 P1:1 P1:2", "relaxed")).toThrow(
      'schedule position 1: P0:3 "fq_domain = 1" cannot run before P0:2 "smp_wmb()", which has not run yet (relaxed: smp_wmb() orders stores around it)');
    // The same reordering of P1's steps is fine under relaxed and out of program order under sc.
    expect(() => runSchedule(MP_CTRL, "P1:2 P1:1 P0:1 P0:2 P0:3", { model: "relaxed" })).not.toThrow();
    expect(run("P1:2 P1:1 P0:1 P0:2 P0:3", "sc")).toThrow(
      'schedule position 1: P1:2 "r1 = fq" cannot run before P1:1 "r0 = fq_domain", which has not run yet (sc: program order (sc))');
    let err: unknown;
    try { run("P0:1 P0:3 P0:2 P1:1 P1:2", "relaxed")(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ScheduleError);
    expect((err as ScheduleError).position).toBe(1);
  });

  it("runSchedule refuses a thread or step that does not exist, a repeat, and an unfinished schedule", () => {
    expect(() => runSchedule(MP_CTRL, [{ thread: 5, index: 0 }], { model: "sc" })).toThrow(/position 1: there is no thread 5/);
    expect(() => runSchedule(MP_CTRL, [{ thread: 1, index: 7 }], { model: "sc" })).toThrow(/thread P1 has no step 8 \(it has 2\)/);
    expect(() => runSchedule(MP_CTRL, [{ thread: 0, index: 0 }, { thread: 0, index: 0 }], { model: "sc" })).toThrow(/position 2: P0:1 "fq = 1" already ran/);
    expect(() => runSchedule(MP_CTRL, [{ thread: 0, index: 0 }], { model: "sc" })).toThrow(/4 step\(s\) not run: P0:2 P0:3 P1:1 P1:2/);
  });
});

describe("exploration bounds and random schedules", () => {
  const mp: Program = {
    threads: [
      { name: "P0", steps: [st("fq", 1), st("fq_domain", 1)] },
      { name: "P1", steps: [ld("r0", "fq_domain"), ld("r1", "fq")] },
    ],
  };

  it("maxSchedules stops the enumeration and says so", () => {
    expect(explore(mp, { model: "relaxed" , reduction: "none"})).toMatchObject({ schedules: 24, complete: true });
    expect(explore(mp, { model: "relaxed", reduction: "none", maxSchedules: 5 })).toMatchObject({ schedules: 5, complete: false, stoppedBy: "maxSchedules" });
    // Exactly as many as there are: nothing was left out.
    const all = explore(mp, { model: "relaxed", reduction: "none", maxSchedules: 24 });
    expect(all.complete).toBe(true);
    expect(all.stoppedBy).toBeUndefined();
    expect(() => explore(mp, { model: "relaxed", reduction: "none", maxSchedules: 0 })).toThrow(ArgumentError);
  });

  it("enumerates each schedule once", () => {
    const seen = new Set<string>();
    explore(mp, { model: "relaxed", reduction: "none", predicate: (e) => { seen.add(formatSchedule(mp, e.schedule)); return false; } });
    expect(seen.size).toBe(24);
  });

  it("seeded random schedules are reproducible and valid", () => {
    const texts = (seed: number) => {
      const out: string[] = [];
      randomSchedules(mp, { model: "relaxed", seed, count: 40, predicate: (e) => { out.push(formatSchedule(mp, e.schedule)); return false; } });
      return out;
    };
    const a = texts(7);
    expect(texts(7)).toEqual(a);
    expect(texts(8)).not.toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(5);
    for (const s of a) expect(() => runSchedule(mp, s, { model: "relaxed" })).not.toThrow();
    const r = randomSchedules(mp, { model: "relaxed", seed: 7, count: 40 });
    expect(r).toMatchObject({ schedules: 40, complete: false });
    // Under sc every random schedule keeps program order.
    const sc = randomSchedules(mp, { model: "sc", seed: 1, count: 30, predicate: (e) => e.regs[1]!.r0 === 1 && e.regs[1]!.r1 === 0 });
    expect(sc.witnesses).toBe(0);
  });
});

describe("check: stopping at a violation", () => {
  // Robin Murphy's double read of fq_domain (§1.3): the unmap reads it twice with plain loads,
  // syncs the IOTLB iff read #1 saw NULL, and frees the IOVA at once iff read #2 saw NULL.
  function seedRace() {
    const sim = { synced: false, parked: false, freed: false };
    const ctrl = (reg: string) => [{ reg, kind: "ctrl" as const }];
    const program: Program = {
      threads: [
        { name: "A", steps: [{ kind: "store", var: "fq_domain", mode: "plain", value: 1, label: "fq_domain = domain" }] },
        {
          name: "B", steps: [
            ld("a", "fq_domain", "plain", { label: "read #2 of fq_domain (plain, hoisted)" }),
            { kind: "action", label: "clear PTEs" },
            ld("b", "fq_domain", "plain", { label: "read #1 of fq_domain (plain)" }),
            { kind: "action", label: "sync IOTLB", deps: ctrl("b"), guard: (r) => r.b === 0, run: () => { sim.synced = true; return "iotlb_sync"; } },
            { kind: "action", label: "park IOVA", deps: ctrl("a"), guard: (r) => r.a !== 0, run: () => { sim.parked = true; } },
            { kind: "action", label: "free IOVA now", deps: ctrl("a"), guard: (r) => r.a === 0, run: () => { sim.freed = true; } },
          ],
        },
      ],
    };
    const reset = () => { sim.synced = sim.parked = sim.freed = false; };
    const check = () => (sim.freed && !sim.synced ? "IOVA freed without an IOTLB sync" : undefined);
    return { program, reset, check };
  }

  it("an sc interleaving finds the double-read bug; the schedule replays to the same trace", () => {
    const { program, reset, check } = seedRace();
    const res = explore(program, { model: "sc", reduction: "none", reset, check });
    expect(res).toMatchObject({ complete: false, stoppedBy: "violation", violations: 1 });
    const v = res.violation!;
    expect(v.message).toBe("IOVA freed without an IOTLB sync");
    // Depth-first, thread A first: A before both reads is fine, A right after read #2 is not.
    expect(v.text).toBe("B:1 A:1 B:2 B:3 B:4 B:5 B:6");
    expect(v.step).toEqual({ thread: 1, index: 5 });
    expect(v.trace.map((e) => `${e.thread}:${e.step}${e.effective ? "" : "(skip)"}`)).toEqual(
      ["B:1", "A:1", "B:2", "B:3", "B:4(skip)", "B:5(skip)", "B:6"]);
    expect(v.trace[4]!.note).toBeUndefined();
    const again = runSchedule(program, v.text, { model: "sc", reset, check });
    expect(again.completed).toBe(false);
    expect(again.violation).toEqual({ message: v.message, position: 6, step: v.step });
    expect(again.trace).toEqual(v.trace);
  });

  it("stopAtFirst: false runs every schedule and counts the violating ones", () => {
    const { program, reset, check } = seedRace();
    const res = explore(program, { model: "sc", reduction: "none", reset, check, stopAtFirst: false });
    expect(res).toMatchObject({ complete: true, schedules: 7, violations: 2 }); // A in 7 places, 2 between the reads
    // The other 5: A before both reads (a = b = 1: parked) or after both (a = b = 0: synced, freed).
    expect(res.finalStates.map((f) => f.regs[1])).toEqual([{ a: 1, b: 1 }, { a: 0, b: 0 }]);
    const syncNotes = runSchedule(program, "B:1 B:2 B:3 B:4 B:5 B:6 A:1", { model: "sc", reset, check }).trace.map((e) => e.note);
    expect(syncNotes).toContain("iotlb_sync");
  });

  it("after a violation, schedules sharing its prefix are skipped: they would repeat it", () => {
    let boom = false;
    const p: Program = {
      threads: [
        { name: "X", steps: [{ kind: "action", label: "boom", run: () => { boom = true; } }] },
        { name: "Y", steps: [st("a", 1), st("b", 1), st("c", 1)] },
        { name: "Z", steps: [st("d", 1), st("e", 1)] },
      ],
    };
    const opts = { model: "sc" as const, reset: () => { boom = false; }, check: () => (boom ? "boom" : undefined) };
    // 6!/(3!·2!) = 60 schedules, but only one per distinct prefix ending in X:1 is run.
    const prefixes = new Set<string>();
    explore(p, { model: "sc", reduction: "none", predicate: (e) => { prefixes.add(formatSchedule(p, e.schedule).replace(/(^|\s)X:1(\s.*)?$/, "$1X:1")); return false; } });
    expect(prefixes.size).toBe(34); // Σ over i ≤ 3 steps of Y, j ≤ 2 of Z of C(i+j, i)
    const res = explore(p, { ...opts, reduction: "none", stopAtFirst: false });
    expect(res).toMatchObject({ complete: true, schedules: 34, violations: 34, finalStates: [] });
    expect(explore(p, { ...opts, reduction: "none" })).toMatchObject({ schedules: 1, violations: 1, stoppedBy: "violation" });
    expect(explore(p, { model: "sc" , reduction: "none"}).schedules).toBe(60);
  });

  it("under relaxed the same bug has more violating schedules, and the plain reads race", () => {
    const { program, reset, check } = seedRace();
    const res = explore(program, { model: "relaxed", reduction: "none", reset, check, stopAtFirst: false });
    expect(res.violations).toBeGreaterThan(2);
    const r = explore(program, { model: "relaxed" , reduction: "none"});
    expect(r.races.map((x) => x.var)).toEqual(["fq_domain", "fq_domain"]);
  });
});

describe("data races", () => {
  it("release/acquire message passing makes a plain payload race-free; without it, it races", () => {
    const mp = (rel: boolean): Program => ({
      threads: [
        { name: "P0", steps: [st("x", 1, "plain"), st("f", 1, rel ? "release" : "once")] },
        { name: "P1", steps: [ld("r0", "f", rel ? "acquire" : "once"), ld("r1", "x", "plain", { deps: [{ reg: "r0", kind: "ctrl" }], guard: (r) => r.r0 === 1 })] },
      ],
    });
    const good = explore(mp(true), { model: "relaxed" });
    expect(good.races).toEqual([]);
    const bad = explore(mp(false), { model: "relaxed" });
    expect(bad.races.map((r) => r.text)).toEqual(['data race on x: P0:1 "x = 1" (plain store) and P1:2 "r1 = x" (plain load)']);
    expect(bad.racyExecutions).toBeGreaterThan(0);
    expect(explore(mp(false), { model: "sc" }).races).toEqual([]);
  });

  it("a plain read that reads from a plain store still races with it (plain reads-from is not happens-before)", () => {
    const p: Program = { threads: [{ name: "P0", steps: [st("x", 1, "plain")] }, { name: "P1", steps: [ld("r0", "x", "plain")] }] };
    const e = runSchedule(p, "P0:1 P1:1", { model: "relaxed" });
    expect(e.regs[1]).toEqual({ r0: 1 });
    expect(e.races.map((r) => r.var)).toEqual(["x"]);
    // Marked on both sides: no race.
    const q: Program = { threads: [{ name: "P0", steps: [st("x", 1)] }, { name: "P1", steps: [ld("r0", "x")] }] };
    expect(runSchedule(q, "P0:1 P1:1", { model: "relaxed" }).races).toEqual([]);
  });
});

describe("program checks", () => {
  it("a guard that reads a register not in its deps is refused", () => {
    const p: Program = { threads: [{ name: "T", steps: [ld("r0", "x"), { kind: "store", var: "y", mode: "once", value: 1, label: "if (r0) y = 1", guard: (r) => r.r0 === 1 }] }] };
    expect(() => explore(p, { model: "relaxed" , reduction: "none"})).toThrow(ArgumentError);
    expect(() => explore(p, { model: "relaxed" , reduction: "none"})).toThrow(/T:2 "if \(r0\) y = 1": register r0 must be listed in the step's deps to be read by its guard/);
  });

  it("a dependency on a register nothing earlier writes is refused", () => {
    const p: Program = { threads: [{ name: "T", steps: [{ kind: "fence", fence: "mb", label: "mb", deps: [{ reg: "r7", kind: "ctrl" }] }, ld("r7", "x")] }] };
    expect(() => explore(p, { model: "sc" , reduction: "none"})).toThrow(/program\.threads\[0\]\.steps\[0\]\.deps must name registers written by an earlier load or assign of thread T; nothing before T:1 "mb" writes this one, got "r7"/);
  });

  it("shape errors name the field", () => {
    expect(() => explore({ threads: [] }, { model: "sc" })).toThrow(/program\.threads must be a non-empty array/);
    expect(() => explore({ threads: [{ name: "a b", steps: [] }] }, { model: "sc" })).toThrow(/name must be a non-empty string without white space/);
    expect(() => explore({ threads: [{ name: "T", steps: [{ kind: "load", var: "x", mode: "release", reg: "r", label: "" } as Step] }] }, { model: "sc" }))
      .toThrow(/steps\[0\]\.mode must be plain, once or acquire for a load/);
    expect(() => explore({ threads: [{ name: "T", steps: [] }] }, { model: "tso" as "sc" })).toThrow(/model must be "sc" or "relaxed"/);
  });

  it("the litmus parser's programs are ordinary programs", () => {
    const t = parseLitmus("C x\n{}\nP0(int *x)\n{\n WRITE_ONCE(*x, 2);\n}\nexists (x=2)");
    expect(explore(t.program, { model: "sc" }).finalStates.map((s) => s.memory)).toEqual([{ x: 2 }]);
  });
});

describe("partial-order reduction (sleep sets, DPOR)", () => {
  // Every litmus program: the reduced exploration reaches exactly the final states and data
  // races of the full one, in no more schedules.
  const dir = process.env.IOMMU_SIM_LITMUS ?? join(__dirname, "..", "..", "shared", "reference", "litmus");
  const files = readdirSync(dir).filter((f) => f.endsWith(".litmus"));
  for (const model of ["sc", "relaxed"] as const) for (const reduction of ["sleep", "dpor"] as const) {
    it(`${reduction} keeps every final state and race of the 12 litmus tests under ${model}`, () => {
      expect(files.length).toBe(12);
      for (const f of files) {
        const { program } = parseLitmus(readFileSync(join(dir, f), "utf8"), f);
        const full = explore(program, { model, reduction: "none" });
        const reduced = explore(program, { model, reduction });
        const key = (r: typeof full) => r.finalStates.map((s) => JSON.stringify([s.memory, s.regs])).sort();
        expect(key(reduced), f).toEqual(key(full));
        expect(reduced.races.map((r) => r.text).sort(), f).toEqual(full.races.map((r) => r.text).sort());
        expect(reduced.schedules, f).toBeLessThanOrEqual(full.schedules);
      }
    });
  }

  it("collapses interleavings of independent threads to one", () => {
    const prog = {
      threads: [
        { name: "A", steps: [{ kind: "store" as const, label: "x=1", var: "x", mode: "once" as const, value: 1 }, { kind: "store" as const, label: "x=2", var: "x", mode: "once" as const, value: 2 }] },
        { name: "B", steps: [{ kind: "store" as const, label: "y=1", var: "y", mode: "once" as const, value: 1 }, { kind: "store" as const, label: "y=2", var: "y", mode: "once" as const, value: 2 }, { kind: "fence" as const, label: "mb", fence: "mb" as const }] },
      ],
    };
    expect(explore(prog, { model: "sc" , reduction: "none"}).schedules).toBe(10);
    expect(explore(prog, { model: "sc", reduction: "sleep" }).schedules).toBe(1);
    expect(explore(prog, { model: "sc", reduction: "dpor" }).schedules).toBe(1);
  });
});
