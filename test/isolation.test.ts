// The cross-origin-isolation check (src/isolation.ts), in Node: its logic over every
// combination of the global flags, and Simulator.create / runScenario refusing first thing
// when the globals look like a page without the COOP/COEP headers. Chromium itself is
// covered by test/browser-run.test.ts.

import { afterEach, describe, expect, it } from "vitest";
import { BUILTIN_RUN_SCENARIOS, IommuSimError, Simulator, runScenario } from "../dist/index.js";
import { ISOLATION_MESSAGE, NO_SAB_MESSAGE, currentIsolationFlags, sharedMemoryProblem } from "../src/isolation.js";

describe("sharedMemoryProblem", () => {
  it("a cross-origin-isolated page, and Node, have none", () => {
    expect(sharedMemoryProblem({ crossOriginIsolated: true, hasSharedArrayBuffer: true, isNode: false })).toBeUndefined();
    expect(sharedMemoryProblem({ crossOriginIsolated: undefined, hasSharedArrayBuffer: true, isNode: true })).toBeUndefined();
  });

  it("a page that is not isolated needs the two headers, whether or not SharedArrayBuffer shows", () => {
    expect(sharedMemoryProblem({ crossOriginIsolated: false, hasSharedArrayBuffer: false, isNode: false })).toBe(ISOLATION_MESSAGE);
    // SharedArrayBuffer exposed anyway (a flag, an origin trial): still not postable to a worker.
    expect(sharedMemoryProblem({ crossOriginIsolated: false, hasSharedArrayBuffer: true, isNode: false })).toBe(ISOLATION_MESSAGE);
    // A browser too old to say crossOriginIsolated, without SharedArrayBuffer.
    expect(sharedMemoryProblem({ crossOriginIsolated: undefined, hasSharedArrayBuffer: false, isNode: false })).toBe(ISOLATION_MESSAGE);
  });

  it("Node without SharedArrayBuffer is told so, not about headers", () => {
    expect(sharedMemoryProblem({ crossOriginIsolated: undefined, hasSharedArrayBuffer: false, isNode: true })).toBe(NO_SAB_MESSAGE);
  });

  it("the message is one line naming both headers", () => {
    expect(ISOLATION_MESSAGE).not.toContain("\n");
    expect(ISOLATION_MESSAGE).toContain('"Cross-Origin-Opener-Policy: same-origin"');
    expect(ISOLATION_MESSAGE).toContain('"Cross-Origin-Embedder-Policy: require-corp"');
  });

  it("reads Node's globals as fine", () => {
    expect(currentIsolationFlags()).toEqual({ crossOriginIsolated: undefined, hasSharedArrayBuffer: true, isNode: true });
  });
});

describe("refusing before anything else", () => {
  const g = globalThis as { crossOriginIsolated?: boolean };
  afterEach(() => { delete g.crossOriginIsolated; });

  it("Simulator.create and runScenario reject with an IommuSimError when the globals say 'not isolated'", async () => {
    g.crossOriginIsolated = false;
    // Even an invalid option is not looked at: isolation is the first thing said.
    await expect(Simulator.create({ ramMiB: -1 })).rejects.toThrow(IommuSimError);
    await expect(Simulator.create()).rejects.toThrow(ISOLATION_MESSAGE);
    await expect(runScenario(BUILTIN_RUN_SCENARIOS.nic!)).rejects.toThrow(ISOLATION_MESSAGE);
  });

  it("Node is unaffected", async () => {
    const sim = await Simulator.create();
    expect(sim.profile).toBe("7.1");
    await sim.close();
  });
});
