// Loading the core: from beside the bundle (default), from a compiled module or bytes the
// user supplies, and a clear error for a source that is not the core. The worker script's
// place (`workerUrl`) is an option too, of the simulator and of runScenario.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ArgumentError, BUILTIN_RUN_SCENARIOS, Simulator, compileCore, runScenario } from "../dist/index.js";

const WASM = join(import.meta.dirname, "..", "dist", "core.wasm");

async function roundTrip(sim: Simulator): Promise<number> {
  const pt = sim.createPageTable({ format: "arm-lpae-s2", pgsizeBitmap: 0x20010000, ias: 42, oas: 44 });
  pt.mapPages(0x10000, 0x30000, 0x10000, 1, 3);
  const pa = pt.iovaToPhys(0x10123);
  await sim.close();
  return pa;
}

describe("loading the core", () => {
  it("from beside the bundle", async () => {
    expect(await roundTrip(await Simulator.create())).toBe(0x30123);
  });

  it("from a compiled WebAssembly.Module, shared by two simulators", async () => {
    const module = await compileCore(await readFile(WASM));
    expect(module).toBeInstanceOf(WebAssembly.Module);
    const [a, b] = await Promise.all([Simulator.create({ core: module }), Simulator.create({ core: module })]);
    expect(await roundTrip(a)).toBe(0x30123);
    expect(await roundTrip(b)).toBe(0x30123);
  });

  it("from bytes and from a file URL", async () => {
    expect(await roundTrip(await Simulator.create({ core: await readFile(WASM) }))).toBe(0x30123);
    expect(await roundTrip(await Simulator.create({ core: new URL(`file://${WASM}`) }))).toBe(0x30123);
  });

  it("a missing file or a module that is not the core is a clear error", async () => {
    await expect(Simulator.create({ core: new URL("file:///nonexistent/core.wasm") }))
      .rejects.toThrow(/could not load the Wasm core from file:\/\/\/nonexistent\/core.wasm/);
    const other = await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    await expect(Simulator.create({ core: other })).rejects.toThrow(/lacks the export|does not export|memory/);
  });

  it("the worker script from a URL given to Simulator.create, or to runScenario", async () => {
    // A script that is not there: the pool fails to start, so the option was used.
    const sim = await Simulator.create({ workerUrl: new URL("file:///nonexistent/worker.js"), ramMiB: 16 });
    await expect(sim.pool({ workers: 1 })).rejects.toThrow(/worker 0 (threw|exited).*nonexistent/s);
    await sim.close();
    const sc = structuredClone(BUILTIN_RUN_SCENARIOS.nic);
    for (const w of sc.workloads) w.ops = 500;
    const r = await runScenario(sc, { workers: 2, workerUrl: new URL("../dist/worker.js", import.meta.url), core: WASM });
    expect(r.totals.ops).toBe(1000);
  });

  it("a core or worker option of the wrong kind is an ArgumentError naming it", async () => {
    for (const [opts, name] of [[{ core: 5 }, "core"], [{ core: "" }, "core"], [{ workerUrl: {} }, "workerUrl"]] as const) {
      const err = await Simulator.create(opts as never).catch((e) => e);
      expect(err).toBeInstanceOf(ArgumentError);
      expect(err.message).toMatch(new RegExp(`^Simulator.create: ${name} must be`));
    }
    const sim = await Simulator.create({ ramMiB: 16 });
    await expect(runScenario(BUILTIN_RUN_SCENARIOS.nic, { simulator: sim, workerUrl: "x.js" }))
      .rejects.toThrow(/workerUrl must not be given with `simulator`/);
    await sim.close();
  });
});

