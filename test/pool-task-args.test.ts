// Every built-in task's arguments are checked by pool.run before any worker hears of the run
// (src/tasks/args.ts): a missing field, a wrong type, an unknown key, a per-worker list short
// of a worker, an id that names nothing live, a CPU two workers would run — each an
// ArgumentError that names the task and the field. No worker ran, so the pool is not stopped:
// the same two-worker pool takes every refusal here, then runs every task with good arguments.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ArgumentError, IovaDomain as IovaDomainClass, PageTable as PageTableClass, Simulator, UnknownOptionError, WorkerPool, type DmaDevice, type DmaDomain, type IovaDomain, type PageTable,
  type Smmu,
} from "../dist/index.js";
import { coreOf, LPAE_S1 } from "./helpers.js";

const WORKERS = 2;
const BASE = 0x4000_0000;
const SAB = (bytes: number) => new SharedArrayBuffer(bytes);
/** A handoff ring per worker for iova.churn (src/tasks/iova.ts handoffRingBytes). */
const RING_SLOTS = 64;
const RINGS_BYTES = WORKERS * (16 + RING_SLOTS * 16);
// What the workers of a run share: one buffer for all of them.
const OWNERS = SAB(0x10000);
const RINGS = SAB(RINGS_BYTES);
const PROGRESS = SAB(8 * 1024);
const CONTROL = SAB(4096);
const MAP_BENCH_CONTROL = SAB(8 + 8 * WORKERS);

let sim: Simulator;
let pool: WorkerPool;
let pt: PageTable;
let gone: number;
let smmu: Smmu;
let iova: IovaDomain;
let dom: DmaDomain;
let dev: DmaDevice;
let otherDev: DmaDevice;

beforeAll(async () => {
  sim = await Simulator.create({ profile: "7.1", kheapMiB: 16 });
  pt = sim.createPageTable(LPAE_S1);
  smmu = sim.createSmmu();
  smmu.attachDevice(7, sim.createSmmuDomain(pt, { id: 3 }));
  iova = sim.createIovaDomain({ granule: 4096, startPfn: 1, cpus: 4, checkFastFrees: false });
  dom = sim.createDmaDomain({ smmu: sim.createSmmu(), type: "DMA-FQ", cpus: WORKERS });
  dev = dom.attachDevice({ streamId: 1 });
  otherDev = sim.createDmaDomain({ smmu: sim.createSmmu(), cpus: WORKERS }).attachDevice({ streamId: 2 });
  // Last: a table made after it would take its slot, and its id would name that one.
  const released = sim.createPageTable(LPAE_S1);
  gone = released.id;
  released.release();
  pool = await sim.pool({ workers: WORKERS });
});
afterAll(async () => {
  await sim.close();
  expect(WorkerPool.liveWorkers).toBe(0);
});

type Args = unknown | ((w: number) => unknown);
/**
 * A refusal: its arguments (made once the simulator's objects exist), the error's class and
 * the field it names (ArgumentError.argument).
 */
type Refusal = [label: string, args: () => Args, cls: typeof ArgumentError | typeof UnknownOptionError, field: string];

// Good arguments for each task, small: every refusal below is one of them with one thing wrong.
const churn = () => ({ table: pt.id, seed: 1, ops: 200, base: 0x8000_0000, regions: 4 });
const loop = (w: number) => ({ table: pt.id, base: 0x1_0000_0000 + w * BASE, span: 0x10_0000, pgsize: 0x1000, count: 100, seed: 1 });
const walk = () => ({ table: pt.id, base: BASE, span: 0x10_0000, count: 100, seed: 1 });
const stress = (w: number) => ({ role: w === 0 ? "translate" : "remap", smmu: smmu.id, streamId: 7, table: pt.id,
                                 base: 0x2_0000_0000, pages: 8, count: 200, seed: 1 + w });
const translate = () => ({ smmu: smmu.id, streamId: 7, base: 0x2_0000_0000, span: 0x8000, count: 100, seed: 1 });
const iovaChurn = (w: number) => ({ domain: iova.id, cpus: [2 * w, 2 * w + 1], ops: 500, seed: 1, limitPfn: 0xffff,
                                    owners: OWNERS, ownerBase: 0, maxPages: 8, liveTarget: 20, rings: RINGS,
                                    ringSlots: RING_SLOTS });
const cross = (w: number) => ({ domain: iova.id, cpus: [2 * w, 2 * w + 1], rounds: 4, batch: 8 });
const fastPairs = () => ({ domain: iova.id, cpus: [0, 1], count: 100, sizes: "one" });
const pairs = () => ({ domain: dom.id, device: dev.id, cpus: [0, 1], count: 100, size: 4096, physBase: 0x1_0000_0000,
                       physPages: 64, flags: coreOf(sim).layout.LOOP_TOUCH, seed: 1 });
const scenarioCpu = (cpu: number) => ({ cpu, ops: 10, events: [], domain: dom.id, what: `cpu ${cpu}`, fqRing: cpu });
const scenario = (w: number) => ({ cpus: [scenarioCpu(w)], chunk: 16, firstWindowNs: 1000, maxWindows: 16,
                                   progress: PROGRESS, control: CONTROL });
const mapbench = (w: number) => ({ control: MAP_BENCH_CONTROL, domain: dom.id, device: dev.id, first: w, stride: WORKERS,
                                   count: 1, physBase: 0x1_0000_0000, physStride: 0x40_0000, size: 4096, dir: 0, transNs: 0,
                                   endNs: 1e6, maxLoops: 10, quantumNs: 500, chunkLoops: 100 });

/** Each worker's arguments from `make`, with `change` over them (a key set to undefined is left out). */
function each(make: (w: number) => object, change: Record<string, unknown> = {}): (w: number) => object {
  return (w) => Object.fromEntries(Object.entries({ ...make(w), ...change }).filter(([, v]) => v !== undefined));
}
/** One value for every worker: `make`'s for worker 0, changed. */
const one = (make: (w: number) => object, change: Record<string, unknown> = {}) => each(make, change)(0);

const REFUSALS: Record<string, Refusal[]> = {
  "pgtable.churn": [
    ["missing field", () => one(churn, { ops: undefined }), ArgumentError, "ops"],
    ["wrong type", () => one(churn, { lockstep: "yes" }), ArgumentError, "lockstep"],
    ["unknown key", () => one(churn, { region: 4 }), UnknownOptionError, "region"],
    ["no such table", () => one(churn, { table: 12345 }), ArgumentError, "table"],
    ["a released table", () => one(churn, { table: gone }), ArgumentError, "table"],
    ["no arguments", () => undefined, ArgumentError, "args"],
    ["a span past the table's input addresses", () => one(churn, { base: 2 ** 48 - 0x20_0000 }), ArgumentError, "base"],
  ],
  "pgtable.loop": [
    ["missing field", () => one(loop, { pgsize: undefined }), ArgumentError, "pgsize"],
    ["wrong type", () => one(loop, { count: "100" }), ArgumentError, "count"],
    ["unknown key", () => one(loop, { pgsizes: 4096 }), UnknownOptionError, "pgsizes"],
    ["no such table", () => one(loop, { table: 12345 }), ArgumentError, "table"],
    ["a page size the table lacks", () => one(loop, { pgsize: 0x10000 }), ArgumentError, "pgsize"],
    ["seed 0 (every pair would fail)", () => one(loop, { seed: 0 }), ArgumentError, "seed"],
  ],
  "pgtable.walk": [
    ["missing field", () => one(walk, { span: undefined }), ArgumentError, "span"],
    ["wrong type", () => one(walk, { base: "0x40000000" }), ArgumentError, "base"],
    ["unknown key", () => one(walk, { pgsize: 4096 }), UnknownOptionError, "pgsize"],
    ["no such table", () => one(walk, { table: 12345 }), ArgumentError, "table"],
  ],
  "smmu.stress": [
    ["missing field", () => each(stress, { pages: undefined }), ArgumentError, "pages"],
    ["wrong type", () => each(stress, { seed: "1" }), ArgumentError, "seed"],
    ["unknown key", () => each(stress, { stream: 7 }), UnknownOptionError, "stream"],
    ["no such SMMU", () => each(stress, { smmu: 77 }), ArgumentError, "smmu"],
    ["no such table", () => each(stress, { table: 12345 }), ArgumentError, "table"],
    ["a role that is none", () => each(stress, { role: "read" }), ArgumentError, "role"],
    ["nobody remaps (the translators would never stop)", () => each(stress, { role: "translate" }), ArgumentError, "role"],
  ],
  "smmu.loop": [
    ["missing field", () => one(translate, { streamId: undefined }), ArgumentError, "streamId"],
    ["wrong type", () => one(translate, { span: "4096" }), ArgumentError, "span"],
    ["unknown key", () => one(translate, { sid: 7 }), UnknownOptionError, "sid"],
    ["no such SMMU", () => one(translate, { smmu: 77 }), ArgumentError, "smmu"],
  ],
  "iova.churn": [
    ["missing field", () => each(iovaChurn, { rings: undefined }), ArgumentError, "rings"],
    ["wrong type", () => each(iovaChurn, { owners: new ArrayBuffer(0x10000) }), ArgumentError, "owners"],
    ["unknown key", () => each(iovaChurn, { progres: SAB(16) }), UnknownOptionError, "progres"],
    ["no such domain", () => each(iovaChurn, { domain: 999 }), ArgumentError, "domain"],
    ["rings too small for two workers", () => each(iovaChurn, { rings: SAB(RINGS_BYTES / 2) }), ArgumentError, "rings"],
    ["a CPU the domain lacks", () => each(iovaChurn, { cpus: [0, 4] }), ArgumentError, "cpus[1]"],
    ["one CPU for both workers", () => each(iovaChurn, { cpus: [0, 1] }), ArgumentError, "cpus[0]"],
    ["rings of each worker's own (the handoffs would never arrive)", () => (w: number) => ({ ...iovaChurn(w), rings: SAB(RINGS_BYTES) }),
      ArgumentError, "rings"],
  ],
  "iova.cross": [
    ["missing field", () => each(cross, { batch: undefined }), ArgumentError, "batch"],
    ["wrong type", () => each(cross, { sizes: 2 }), ArgumentError, "sizes"],
    ["unknown key", () => each(cross, { round: 4 }), UnknownOptionError, "round"],
    ["one CPU where the worker needs two", () => each(cross, { cpus: [0] }), ArgumentError, "cpus"],
    ["no such domain", () => each(cross, { domain: 999 }), ArgumentError, "domain"],
    ["the same CPU twice", () => (w: number) => ({ ...cross(w), cpus: [2 * w, 2 * w] }), ArgumentError, "cpus[1]"],
  ],
  "iova.fastPairs": [
    ["missing field", () => one(fastPairs, { sizes: undefined }), ArgumentError, "sizes"],
    ["wrong type", () => one(fastPairs, { warmup: "10" }), ArgumentError, "warmup"],
    ["unknown key", () => one(fastPairs, { warmUp: 10 }), UnknownOptionError, "warmUp"],
    ["a CPU list short of a worker", () => one(fastPairs, { cpus: [0] }), ArgumentError, "cpus"],
    ["no such domain", () => one(fastPairs, { domain: 999 }), ArgumentError, "domain"],
    ["one CPU for both workers", () => one(fastPairs, { cpus: [1, 1] }), ArgumentError, "cpus[1]"],
  ],
  "dma.pairs": [
    ["missing field", () => one(pairs, { count: undefined }), ArgumentError, "count"],
    ["wrong type", () => one(pairs, { size: "4096" }), ArgumentError, "size"],
    ["unknown key", () => one(pairs, { cpu: 0 }), UnknownOptionError, "cpu"],
    ["a CPU list short of a worker", () => one(pairs, { cpus: [0] }), ArgumentError, "cpus"],
    ["a domain list short of a worker", () => one(pairs, { domain: [dom.id] }), ArgumentError, "domain"],
    ["no such device", () => one(pairs, { device: 999 }), ArgumentError, "device"],
    ["no such domain", () => one(pairs, { domain: [dom.id, 999] }), ArgumentError, "domain[1]"],
    ["a device of another domain", () => one(pairs, { device: [dev.id, otherDev.id] }), ArgumentError, "device[1]"],
    ["a CPU the domain lacks", () => one(pairs, { cpus: [0, 2] }), ArgumentError, "cpus[1]"],
    ["one CPU for both workers", () => one(pairs, { cpus: [0, 0] }), ArgumentError, "cpus[1]"],
    ["a flag that is none", () => one(pairs, { flags: 2 }), ArgumentError, "flags"],
  ],
  "scenario.run": [
    ["missing field", () => each(scenario, { control: undefined }), ArgumentError, "control"],
    ["wrong type", () => each(scenario, { chunk: "16" }), ArgumentError, "chunk"],
    ["unknown key", () => each(scenario, { chunks: 16 }), UnknownOptionError, "chunks"],
    ["no such domain", () => (w: number) => ({ ...scenario(w), cpus: [{ ...scenarioCpu(w), domain: 999 }] }), ArgumentError,
      "cpus[0].domain"],
    ["an unknown key in a CPU's share", () => (w: number) => ({ ...scenario(w), cpus: [{ ...scenarioCpu(w), op: 3 }] }),
      UnknownOptionError, "cpus[0].op"],
    ["one CPU for both workers", () => () => scenario(0), ArgumentError, "cpus[0].cpu"],
    ["a background CPU waiting for a CPU of no worker", () => (w: number) =>
      ({ ...scenario(w), cpus: [{ ...scenarioCpu(w), ops: Infinity, until: [5] }] }), ArgumentError, "cpus[0].until[0]"],
  ],
  "mapbench.run": [
    ["missing field", () => each(mapbench, { endNs: undefined }), ArgumentError, "endNs"],
    ["wrong type", () => each(mapbench, { dir: "bidirectional" }), ArgumentError, "dir"],
    ["unknown key", () => each(mapbench, { threads: 2 }), UnknownOptionError, "threads"],
    ["no such device", () => each(mapbench, { device: 999 }), ArgumentError, "device"],
    ["control words short of a worker", () => each(mapbench, { control: SAB(16) }), ArgumentError, "control"],
    ["one CPU for both workers", () => each(mapbench, { first: 0, stride: 1 }), ArgumentError, "first"],
    ["control words of each worker's own", () => (w: number) => ({ ...mapbench(w), control: SAB(64) }), ArgumentError, "control"],
  ],
  "test.throw": [
    ["wrong type", () => ({ message: 5 }), ArgumentError, "message"],
    ["unknown key", () => ({ mesage: "x" }), UnknownOptionError, "mesage"],
  ],
  "test.exit": [
    ["wrong type", () => ({ code: "7" }), ArgumentError, "code"],
    ["unknown key", () => ({ workers: 1 }), UnknownOptionError, "workers"],
    ["a worker the pool lacks", () => ({ worker: 5 }), ArgumentError, "worker"],
  ],
};

describe("built-in tasks' arguments", () => {
  for (const [task, refusals] of Object.entries(REFUSALS)) {
    describe(task, () => {
      for (const [label, args, cls, field] of refusals) {
        it(`refuses ${label}, naming the task and ${field}`, async () => {
          const err = await pool.run(task, args()).then(() => undefined, (e: unknown) => e);
          expect(err, "the run was not refused").toBeInstanceOf(cls);
          const e = err as ArgumentError;
          expect(e.argument).toBe(field);
          // The task first (with the worker when each got arguments of its own), then the field.
          const at = e.message.indexOf(": ");
          expect(e.message.slice(0, at)).toMatch(new RegExp(`^${task.replace(".", "\\.")}( \\(worker \\d's args\\))?$`));
          expect(e.message.slice(at + 2).startsWith(`${field} `)).toBe(true);
          expect(pool.closed).toBe(false);
        });
      }
    });
  }

  it("says what was wrong in words: the list's length, the id, the workers that would share a CPU", async () => {
    await expect(pool.run("dma.pairs", one(pairs, { cpus: [0] }))).rejects.toThrow(
      "dma.pairs: cpus must have one simulated CPU per worker (2 workers), got an array of 1 entry");
    await expect(pool.run("dma.pairs", one(pairs, { device: 999 }))).rejects.toThrow(
      "dma.pairs: device must be the id of a live DMA device (DmaDevice.id), got 999 (0x3e7)");
    await expect(pool.run("iova.cross", each(cross, { cpus: [0, 1] }))).rejects.toThrow(
      "iova.cross (worker 1's args): cpus[0] must name a simulated CPU no other worker runs, but workers 0 and 1 both would");
  });

  it("after every refusal the pool is still open and runs each task with good arguments", async () => {
    expect(pool.closed).toBe(false);
    const ok = async (task: string, args: Args) => pool.run<Record<string, number>>(task, args, { timeoutMs: 60_000 });
    expect((await ok("pgtable.churn", churn())).map((r) => r.ops)).toEqual([200, 200]);
    expect((await ok("pgtable.loop", loop)).map((r) => r.failures)).toEqual([0, 0]);
    expect(await ok("pgtable.walk", walk())).toHaveLength(WORKERS);
    const [t] = await ok("smmu.stress", stress);
    expect(t!.torn).toBe(0);
    expect((await ok("smmu.loop", translate())).map((r) => r.faults)).toEqual([0, 0]);
    for (const r of await ok("iova.churn", iovaChurn)) expect([r.ops, r.doubleHandouts, r.lostPages]).toEqual([500, 0, 0]);
    expect((await ok("iova.cross", cross)).map((r) => r.failures)).toEqual([0, 0]);
    expect((await ok("iova.fastPairs", fastPairs())).map((r) => r.failures)).toEqual([0, 0]);
    expect((await ok("dma.pairs", pairs())).map((r) => [r.pairs, r.mapFailures])).toEqual([[100, 0], [100, 0]]);
    expect(pool.closed).toBe(false);
  });
});

describe("a handle made from an id (as a worker makes one) names a live object or is refused", () => {
  // The same slot-state test as the tasks' checks (src/handles.ts), so an id of an object
  // destroyed since, or of a slot never used, is an error at attach, not state read from a dead record.
  it("PageTable.attach and IovaDomain.attach", () => {
    const core = coreOf(sim);
    expect(PageTableClass.attach(core, pt.id).id).toBe(pt.id);
    expect(() => PageTableClass.attach(core, gone)).toThrow("PageTable.attach: table must be the id of a live page table");
    expect(IovaDomainClass.attach(core, iova.id).id).toBe(iova.id);
    const dead = sim.createIovaDomain({ granule: 4096, startPfn: 1 });
    const id = dead.id;
    dead.destroy();
    expect(() => IovaDomainClass.attach(core, id)).toThrow(ArgumentError);
    expect(() => IovaDomainClass.attach(core, id)).toThrow("IovaDomain.attach: domain must be the id of a live IOVA domain");
  });
});
