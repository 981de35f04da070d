// The worker pool: tasks run on every worker over the same memory; a worker that throws or
// dies fails the run with its message and stops the pool; nothing is left running.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Prot, Simulator, WorkerError, WorkerPool } from "../dist/index.js";

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

  it("a run that does not finish in time is stopped", async () => {
    const pool = await sim.pool({ workers: 2 });
    // Only worker 5 (none) would exit: everyone waits forever.
    await expect(pool.run("test.exit", { worker: 5 }, { timeoutMs: 300 })).rejects.toThrow(/did not finish within 300 ms/);
    await pool.close();
    expect(WorkerPool.liveWorkers).toBe(0);
  });

  it("unknown tasks and bad task modules are clear errors", async () => {
    let pool = await sim.pool({ workers: 1 });
    await expect(pool.run("no.such.task")).rejects.toThrow(/unknown task 'no.such.task'/);
    pool = await sim.pool({ workers: 1 });
    const url = new URL("./fixtures/custom-task.mjs", import.meta.url).href;
    await expect(pool.run(`${url}#notAFunction`)).rejects.toThrow(/no exported function 'notAFunction'/);
    pool = await sim.pool({ workers: 1 });
    await expect(pool.run("")).rejects.toThrow(/task must be a builtin task name/);
    await expect(sim.pool({ workers: 0 })).rejects.toThrow(/workers must be an integer in \[1, 63\], got 0/);
  });

  it("a second run while one is in progress is refused", async () => {
    const pool = await sim.pool({ workers: 1 });
    const first = pool.run("pgtable.walk", { table: 999, base: 0, span: 4096, count: 1, seed: 1 });
    await expect(pool.run("pgtable.walk", {})).rejects.toThrow(/already in progress/);
    await first;
  });
});
