// The worker pool: tasks run on every worker over the same memory; a worker that throws or
// dies fails the run with its message and stops the pool (after its peers had their grace to
// stop, when the run asks for one); nothing is left running.

import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, PoolRunFailure, Prot, Simulator, WorkerError, WorkerPool } from "../dist/index.js";
import { coreOf } from "./helpers.js";

let sim: Simulator;
beforeAll(async () => { sim = await Simulator.create({ profile: "7.1", ramMiB: 16 }); });
afterAll(async () => {
  await sim.close();
  expect(WorkerPool.liveWorkers).toBe(0);
});

describe("worker pool", () => {
  it("runs a task on every worker over the same memory", async () => {
    const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48 });
    pt.mapPages(0x1000, 0xabc000, 0x1000, 1, Prot.READ);
    const pool = await sim.pool({ workers: 3 });
    const url = new URL("./fixtures/custom-task.mjs", import.meta.url).href;
    const r = await pool.run(`${url}#translate`, (w: number) => ({ table: pt.id, iova: 0x1000 + w }));
    expect(r).toEqual([0, 1, 2].map((w) => ({ worker: w, phys: 0xabc000 + w })));
    pt.release();
  });

  it("a throwing task fails the run with its message, and the pool stops", async () => {
    const pool = await sim.pool({ workers: 2 });
    const err = await pool.run("test.throw", { message: "boom in the task" }).catch((e) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect(err.message).toMatch(/worker \d failed: boom in the task/);
    await expect(pool.run("pgtable.walk", {})).rejects.toThrow(/pool was stopped.*boom in the task/);
    expect(pool.closed).toBe(true);
  });

  it("a worker that dies is reported and the run stops cleanly", async () => {
    const pool = await sim.pool({ workers: 2 });
    const err = await pool.run("test.exit", { worker: 1, code: 7 }, { timeoutMs: 20_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect(err.message).toMatch(/worker 1 exited \(code 7\)/);
    expect(err.worker).toBe(1);
    await pool.close();
    expect(WorkerPool.liveWorkers).toBe(0);
  });

  it("with onFailure, a failing worker's peers are told to stop and given time: their results come with the failure", async () => {
    const url = new URL("./fixtures/custom-task.mjs", import.meta.url).href;
    for (const exit of [undefined, 5]) {
      coreOf(sim).raw.wl_run_begin(0);
      const pool = await sim.pool({ workers: 3 });
      let stops = 0;
      const err = await pool.run(`${url}#untilStopped`, { failing: 1, exit },
        { onFailure: { stop: () => { stops++; coreOf(sim).raw.wl_run_stop(); }, graceMs: 20_000 } }).catch((e) => e);
      expect(err).toBeInstanceOf(PoolRunFailure);
      expect(err).toBeInstanceOf(WorkerError);
      expect(err.worker).toBe(1);
      expect(err.message).toMatch(exit ? /worker 1 exited \(code 5\)/ : /worker 1 failed: failing on purpose/);
      expect(stops).toBe(1);
      expect(err.othersFinished).toBe(true);
      expect(err.results).toEqual([{ worker: 0, stopped: true }, undefined, { worker: 2, stopped: true }]);
      await pool.close();
      expect(WorkerPool.liveWorkers).toBe(0);
    }
  });

  it("with onFailure, peers that do not stop within the grace are stopped by the pool", async () => {
    const url = new URL("./fixtures/custom-task.mjs", import.meta.url).href;
    const pool = await sim.pool({ workers: 2 });
    const err = await pool.run(`${url}#untilStopped`, { failing: 0, deaf: true },
      { onFailure: { stop: () => undefined, graceMs: 200 } }).catch((e) => e);
    expect(err).toBeInstanceOf(PoolRunFailure);
    expect(err.othersFinished).toBe(false);
    expect(err.results).toEqual([undefined, undefined]);
    await pool.close();
    expect(WorkerPool.liveWorkers).toBe(0);
  });

  it("a run that does not finish in time is stopped", async () => {
    const pool = await sim.pool({ workers: 2 });
    const url = new URL("./fixtures/custom-task.mjs", import.meta.url).href;
    // No worker fails, and none listens for the stop word: everyone waits (until 30 s).
    await expect(pool.run(`${url}#untilStopped`, { failing: -1, deaf: true }, { timeoutMs: 300 }))
      .rejects.toThrow(/did not finish within 300 ms/);
    await pool.close();
    expect(WorkerPool.liveWorkers).toBe(0);
  });

  it("unknown tasks and bad task modules are clear errors", async () => {
    const pool = await sim.pool({ workers: 1 });
    // A name that is neither a builtin nor 'URL#export' is refused here: no worker hears of it, the pool stays.
    for (const name of ["no.such.task", "", "constructor"]) {
      const err = await pool.run(name).catch((e) => e);
      expect(err).toBeInstanceOf(ArgumentError);
      expect(err.message).toMatch(/^pool\.run: task must be a builtin task name \(pgtable\.churn, .*\) or 'URL#export', got "/);
    }
    expect(pool.closed).toBe(false);
    const url = new URL("./fixtures/custom-task.mjs", import.meta.url).href;
    await expect(pool.run(`${url}#notAFunction`)).rejects.toThrow(/no exported function 'notAFunction'/);
    await expect(sim.pool({ workers: 0 })).rejects.toThrow(/workers must be an integer in \[1, 63\], got 0/);
  });

  it("a task module named by a relative URL is refused before any worker imports it; the pool stays usable", async () => {
    const pool = await sim.pool({ workers: 1 });
    // Each worker would resolve it against the package's worker.js, not the caller's module.
    for (const name of ["./fixtures/custom-task.mjs#untilStopped", "fixtures/custom-task.mjs#untilStopped", "/abs/path.mjs#f"]) {
      const err = await pool.run(name).catch((e) => e);
      expect(err).toBeInstanceOf(ArgumentError);
      expect(err.message).toMatch(/^pool\.run: task must name its module by an absolute URL, as `new URL\("\.\/my-task\.mjs", import\.meta\.url\)\.href \+ "#myTask"` does/);
    }
    expect(pool.closed).toBe(false);
    const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48 });
    const url = new URL("./fixtures/custom-task.mjs", import.meta.url).href;
    expect(await pool.run(`${url}#translate`, { table: pt.id, iova: 0x1000 })).toEqual([{ worker: 0, phys: expect.any(Number) }]);
    pt.release();
  });

  it("arguments a worker cannot be sent are refused, naming where in them, and the pool stays usable", async () => {
    const pool = await sim.pool({ workers: 2 });
    const url = new URL("./fixtures/custom-task.mjs", import.meta.url).href;
    const refusals: [unknown, RegExp][] = [
      [{ table: 0, hooks: [1, { cb: () => 1 }] }, /^pool\.run: args\.hooks\[1\]\.cb cannot be sent to a worker \(it must survive structured clone: no functions or symbols; .*could not be cloned.*\), got a function$/],
      [{ key: Symbol("k") }, /^pool\.run: args\.key cannot be sent to a worker .*, got Symbol\(k\)$/],
      [(w: number) => (w === 1 ? { table: 0, f: () => w } : { table: 0 }), /^pool\.run: args\(1\)\.f cannot be sent to a worker/],
      [new Map([["m", () => 1]]), /^pool\.run: args\.get\(m\) cannot be sent/],
    ];
    for (const [args, message] of refusals) {
      const err = await pool.run(`${url}#translate`, args).catch((e) => e);
      expect(err).toBeInstanceOf(ArgumentError);
      expect(err.message).toMatch(message);
    }
    expect(pool.closed).toBe(false);
    const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48 });
    pt.mapPages(0x1000, 0xabc000, 0x1000, 2, Prot.READ);
    expect(await pool.run(`${url}#translate`, (w) => ({ table: pt.id, iova: 0x1000 + w * 0x1000 })))
      .toEqual([{ worker: 0, phys: 0xabc000 }, { worker: 1, phys: 0xabd000 }]);
    pt.release();
  });

  it("a second run while one is in progress is refused", async () => {
    const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48 });
    const pool = await sim.pool({ workers: 1 });
    const first = pool.run("pgtable.walk", { table: pt.id, base: 0, span: 4096, count: 1, seed: 1 });
    await expect(pool.run("pgtable.walk", {})).rejects.toThrow(/already in progress/);
    await first;
    pt.release();
  });

  it("concurrent pool() calls share the pool being started, and close() stops it", async () => {
    const own = await Simulator.create({ profile: "7.1", ramMiB: 16 });
    const before = WorkerPool.liveWorkers;
    try {
      const [a, b, c] = await Promise.all([own.pool({ workers: 2 }), own.pool({ workers: 2 }), own.pool()]);
      expect(b).toBe(a);
      expect(c).toBe(a);
      expect(WorkerPool.liveWorkers).toBe(before + 2);
      // Another size while one is being started, or while its pool runs, is refused: either would stop a pool in use.
      const [d, e] = await Promise.allSettled([own.pool({ workers: 1 }), own.pool({ workers: 2 })]);
      expect(d.status).toBe("fulfilled");
      expect(e.status === "rejected" && e.reason).toBeInstanceOf(ArgumentError);
      expect(e.status === "rejected" && e.reason.message).toMatch(
        /^pool: workers must be 1 \(or left out\) while a pool of 1 workers is being started on this Simulator: wait for it first, got 2/);
      const pt = own.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48 });
      const running = (await own.pool()).run("pgtable.walk", { table: pt.id, base: 0, span: 4096, count: 1, seed: 1 });
      await expect(own.pool({ workers: 3 })).rejects.toThrow(/workers must be 1 \(or left out\) while the pool has a run in progress/);
      await running;
      expect(WorkerPool.liveWorkers).toBe(before + 1);
    } finally {
      await own.close();
    }
    expect(WorkerPool.liveWorkers).toBe(before);
  });

  it("a pool stopped mid-run keeps its workers' CPU claims, and says so to the thread that meets one", async () => {
    const own = await Simulator.create({ profile: "7.1", ramMiB: 16 });
    const before = WorkerPool.liveWorkers;
    try {
      const dom = own.createDmaDomain({ smmu: own.createSmmu(), type: "DMA-FQ", cpus: 4 });
      const nic = dom.attachDevice({ streamId: 7, dmaMask: 64, bus: "pci" });
      const pool = await own.pool({ workers: 2 });
      const run = pool.run("dma.pairs", { domain: dom.id, device: nic.id, cpus: [0, 1], count: 4_000_000_000, size: 4096,
                                          physBase: 0x8000_0000, physPages: 1024, flags: 1, seed: 1 }).catch((e) => e);
      // Certainly inside both workers' loops: each claims its CPU first, worker 0 (thread slot 1)
      // CPU 0 — a busy host may start one worker long after the other has mapped thousands.
      while (dom.iova.cpuRunner(0) !== 1 || dom.iova.cpuRunner(1) !== 2 || dom.stats().maps < 1000) {
        await new Promise((r) => setTimeout(r, 5));
      }
      await pool.close();
      expect((await run).message).toMatch(/the pool was closed during a run/);
      // Worker 0 (thread slot 1) may have died inside a critical section: its CPU stays claimed.
      const stopped = /simulated CPU 0 was left claimed by the worker in thread slot 1, which was stopped mid-run \(its pool was closed, timed out or failed during a run\); it may have died inside a critical section.*close this Simulator and use a new one \(ESIM_CPU_BUSY\)/;
      expect(() => nic.map(0x9000_0000, 4096, { cpu: 0 })).toThrow(stopped);
      expect(() => dom.iova.allocFast(0, 1, 0xfffff)).toThrow(stopped);
      expect(() => dom.iova.allocFast(0, 1, 0xfffff)).toThrow(/IOVA domain \d+'s simulated CPU 0 was left claimed/);
    } finally {
      await own.close();
    }
    expect(WorkerPool.liveWorkers).toBe(before);
  });

  it("Simulator.close() returns and stops every worker when it stops a run mid-way", () => {
    // A worker stopped mid-run may have held a lock of the machine's objects: close() must not
    // destroy them (it used to spin on such a lock forever, about 6 times in 10). A hang spins
    // the main thread, so it runs in a child process that the timeout kills; each close is
    // tried on several machines, once a run is certainly under way.
    const index = new URL("../dist/index.js", import.meta.url).href;
    const script = `import { BUILTIN_RUN_SCENARIOS, Simulator, WorkerPool, startScenario } from ${JSON.stringify(index)};
const wait = () => new Promise((r) => setTimeout(r, 5));
for (let i = 0; i < 6; i++) {
  const sim = await Simulator.create({ profile: "7.1" });
  let run;
  if (i % 2 === 0) {
    const dom = sim.createDmaDomain({ smmu: sim.createSmmu({ oracle: true }), type: "DMA", cpus: 2 });
    const nic = dom.attachDevice({ streamId: 7, dmaMask: 64, bus: "pci" });
    const pool = await sim.pool({ workers: 2 });
    run = pool.run("dma.pairs", { domain: dom.id, device: nic.id, cpus: [0, 1], count: 4_000_000_000, size: 4096,
                                  physBase: 0x8000_0000, physPages: 1024, flags: 1, seed: 1 });
    while (dom.stats().maps < 1000) await wait();
  } else {
    const sc = structuredClone(BUILTIN_RUN_SCENARIOS.nic);
    for (const w of sc.workloads) w.ops = 100_000_000;
    const live = await startScenario(sc, { simulator: sim });
    run = live.report;
    while (live.progress().done < 1000) await wait();
  }
  await sim.close();
  const why = await run.then(() => "resolved", (e) => e.message);
  console.log(i, WorkerPool.liveWorkers, /the pool was closed during a run/.test(why));
}`;
    const p = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 120_000 });
    expect(p.stderr).toBe("");
    expect(p.signal).toBe(null);
    expect(p.stdout).toBe([0, 1, 2, 3, 4, 5].map((i) => `${i} 0 true\n`).join(""));
  });

  it("a lock held by a worker stopped mid-run: a call that meets it says so instead of spinning, and new workers take other slots", () => {
    // The worker takes the IOVA tree's lock and never lets go; the run's timeout stops it.
    // The main thread's next allocation on the tree path needs that lock: it used to spin on
    // it for good (a hang: so this runs in a child process that the timeout kills).
    const index = new URL("../dist/index.js", import.meta.url).href;
    const task = new URL("./fixtures/custom-task.mjs", import.meta.url).href;
    const script = `import { MachineStoppedError, Simulator, WorkerError, WorkerPool } from ${JSON.stringify(index)};
const say = (...a) => console.log(JSON.stringify(a));
const sim = await Simulator.create({ profile: "7.1", ramMiB: 16 });
const dom = sim.createDmaDomain({ smmu: sim.createSmmu(), type: "DMA-FQ", cpus: 2 });
const core = sim.core;
const lock = core.raw.iova_block(dom.iova.id) + core.layout.I_TREE_LOCK;
const first = await sim.pool({ workers: 1 });
say("slots", await first.run(${JSON.stringify(task)} + "#slot", {}));
say("held", await first.run(${JSON.stringify(task)} + "#takeLock", { lock, hold: true }, { timeoutMs: 300 })
  .then(() => "finished", (e) => e.message));
try { dom.iova.alloc(1, 0xfffff); say("alloc", "returned"); }
catch (e) { say("alloc", e instanceof MachineStoppedError, e.message); }
say("stats", typeof dom.stats().maps);
try { dom.iova.rangesExact(); say("ranges", "returned"); }
catch (e) { say("ranges", e instanceof MachineStoppedError, e.message); }
const second = await sim.pool({ workers: 2 });
say("slots", await second.run(${JSON.stringify(task)} + "#slot", {}));
const met = await second.run(${JSON.stringify(task)} + "#takeLock", { lock }).then(() => "finished", (e) => e);
say("worker", met instanceof WorkerError, met.message);
await sim.close();
say("live", WorkerPool.liveWorkers);`;
    const p = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    expect(p.stderr).toBe("");
    expect(p.signal).toBe(null);
    const lines = p.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const met = /the core's (iova_alloc|sync_lock) met what the worker in thread slot 1 \(stopped mid-run: its pool was closed, timed out or failed during a run\) left behind: one of the machine's locks it held.*close this Simulator and use a new one/;
    expect(lines[0]).toEqual(["slots", [1]]);
    expect(lines[1]).toEqual(["held", expect.stringMatching(/did not finish within 300 ms; the pool was stopped/)]);
    expect(lines[2]).toEqual(["alloc", true, expect.stringMatching(met)]);
    expect(lines[2][2]).toMatch(/^iommu-sim: the core's iova_alloc/);
    expect(lines[3]).toEqual(["stats", "number"]);
    // A reader that takes the lock for a snapshot gives up at once, naming the holder.
    expect(lines[4]).toEqual(["ranges", true, expect.stringMatching(
      /^iommu-sim: IOVA domain \d+: the range tree is held by the worker in thread slot 1, which was stopped mid-run \(its pool was closed, timed out or failed during a run\) and will never let go of it; close this Simulator and use a new one$/)]);
    // A new pool's workers do not pass for the stopped one (its claims and locks are not theirs).
    expect(lines[5]).toEqual(["slots", [2, 3]]);
    // A new worker that meets the dead worker's lock gives up too, and the run reports it.
    expect(lines[6]).toEqual(["worker", true, expect.stringMatching(met)]);
    expect(lines[7]).toEqual(["live", 0]);
  });

  it("starts its workers under any Node options: a script given on the command line or stdin, per-process options", () => {
    // A worker inherits the main thread's options: --input-type (which `node -e` and stdin
    // scripts take) makes Node refuse a worker file, and a per-process option such as
    // --max-old-space-size is refused when handed to a worker explicitly.
    const index = new URL("../dist/index.js", import.meta.url).href;
    const script = `import { Simulator } from ${JSON.stringify(index)};
const sim = await Simulator.create();
const pool = await sim.pool({ workers: 2 });
console.log("workers", pool.size);
await sim.close();`;
    const runs = [[["--input-type=module", "-e", script]], [["--input-type", "module"], script],
      [["--max-old-space-size=512", "--expose-gc", "--input-type=module", "-e", script]]] as const;
    for (const [args, input] of runs) {
      const p = spawnSync(process.execPath, [...args], { input, encoding: "utf8", timeout: 60_000 });
      expect(p.stderr).toBe("");
      expect(p.stdout).toBe("workers 2\n");
    }
  });
});
