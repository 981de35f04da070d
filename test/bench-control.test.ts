// The benchmarks' machine controls (bench/lib/control.mjs): what two threads sharing nothing
// give this machine, and what a cache line costs to move between them. Their helper threads
// start from code, and that code must load however node was started: a worker inherits
// `--input-type`, and under `node --input-type=module -e …` (or a script on stdin) code
// given to a worker is an ES module, where require() does not exist — which once stopped
// `bench/scenario.mjs`'s run() when called that way. The figures are timed, so only their
// being figures is checked here.

import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a JavaScript helper of the benchmarks, without types
import { lineHandoffNs, machineScaling } from "../bench/lib/control.mjs";

const CONTROL = new URL("../bench/lib/control.mjs", import.meta.url).href;

/** Both controls, small, as a line of JSON: the code a child node runs. */
const measureBoth = `const m = await import(${JSON.stringify(CONTROL)});
const scaling = await m.machineScaling({ iterations: 1e5, reps: 1 });
const handoff = await m.lineHandoffNs({ handoffs: 2000 });
console.log(JSON.stringify({ scaling, handoff }));`;

describe("bench/lib/control.mjs", () => {
  it("measures in this process", async () => {
    expect(await machineScaling({ iterations: 1e5, reps: 1 })).toBeGreaterThan(0);
    expect(await lineHandoffNs({ handoffs: 2000 })).toBeGreaterThan(0);
  }, 60_000);

  it.each([
    ["node --input-type=module -e", ["--input-type=module", "-e", measureBoth], undefined],
    ["a module on stdin", ["--input-type=module"], measureBoth],
  ])("measures under %s (its helper threads' code is loaded as an ES module)", (_label, args, input) => {
    const r = spawnSync(process.execPath, args, { input, encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const { scaling, handoff } = JSON.parse(r.stdout);
    expect(scaling).toBeGreaterThan(0);
    expect(handoff).toBeGreaterThan(0);
  }, 60_000);
});
