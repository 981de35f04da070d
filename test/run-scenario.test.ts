// Run-scenario files (src/run/scenario.ts): defaults filled in, a full file kept as written,
// and every refusal as one line `<source>: <field path>: <what was wrong>`, naming what was
// found and what was expected.

import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../src/errors.js";
import {
  EVENT_ACTIONS, MAX_EVENT_MS, RUN_WORKLOAD_KINDS, ScenarioError, parseRunScenario,
  type AttackerWorkload, type RunScenario, type RunScenarioInput,
} from "../src/run/scenario.js";
import { loadRunScenarioFile } from "../src/run/load.js";

/** The least a scenario must say. Fresh each call: tests change it. */
function minimal() {
  return {
    name: "nic",
    cpus: 4,
    domains: [{ name: "nic" } as Record<string, unknown>],
    devices: [{ name: "eth0", domain: "nic", streamId: 1 } as Record<string, unknown>],
    workloads: [{ kind: "nic-rx", device: "eth0", cpus: [0, 1], ops: 1000 } as Record<string, unknown>],
  };
}

/** Every field given: parsing it changes nothing. */
const FULL: RunScenario = {
  name: "full",
  description: "every field",
  profile: "5.15",
  seed: 42,
  workers: 2,
  cpus: 9,
  smmu: {
    iotlb: { entries: 256, ways: 8, policy: "lru", scope: "smmu" },
    walkCache: [0, 16, 64, 8],
    microTlb: 0,
    invalidateAt: "sync",
    ttl: "honour",
    costs: { pteRead: 80, iotlbHit: 2, iotlbMiss: 2, walkCacheHit: 3, microTlbHit: 1, tlbi: 40, sync: 900 },
  },
  domains: [
    { name: "nic", type: "DMA", format: "arm-lpae-s1", granule: 16384, ias: 40, oas: 44, variant: "v2-hoisted",
      fqMode: "percpu", forcedac: true, deferTableFree: true, rangeInvalidation: false },
    { name: "disk", type: "DMA-FQ", format: "arm-lpae-s1", granule: 65536, ias: 32, oas: 32, variant: "no-wmb",
      fqMode: "percpu", forcedac: false, deferTableFree: false, rangeInvalidation: true },
  ],
  devices: [
    { name: "eth0", domain: "nic", streamId: 3, dmaMask: 32, bus: "pci", coherent: false },
    { name: "nvme0", domain: "disk", streamId: 4, dmaMask: 48, bus: "platform", coherent: true },
  ],
  workloads: [
    { kind: "nic-rx", name: "rx", device: "eth0", cpus: [0, 1], ops: 500, ring: 128, bufferBytes: 4096 },
    { kind: "nic-tx", name: "tx", device: "eth0", cpus: [2], ops: 400, ring: 64, minBytes: 60, maxBytes: 9000 },
    { kind: "storage", name: "io", device: "nvme0", cpus: [3, 4], ops: 300, queueDepth: 16, segments: 2,
      minBytes: 512, maxBytes: 1048576 },
    { kind: "random", name: "rand", device: "nvme0", cpus: [5], ops: 200, live: 10, minBytes: 1, maxBytes: 8192 },
    { kind: "attacker", name: "evil", device: "eth0", cpus: [6], ops: 100, victim: "rx", keep: 8 },
    { kind: "pairs", name: "map", device: "eth0", cpus: [7], ops: 100, worker: 1, minBytes: 512, maxBytes: 8192 },
    { kind: "switcher", name: "flip", domain: "disk", cpus: [8], ops: 20, worker: 0, gap: 100 },
  ],
  events: [
    { at: { fraction: 0.5 }, cpu: 1, action: "switch-to-lazy", domain: "nic" },
    { at: { timeMs: 2.5 }, cpu: 3, action: "fail-magazine-alloc", domain: "disk", count: 10 },
    { at: { fraction: 1 }, cpu: 5, action: "fail-worker", mode: "crash" },
    { at: { ops: 3 }, cpu: 7, action: "fail-worker", mode: "exit" },
  ],
  checks: { oracle: false, stopOnViolation: false, expect: "violations" },
  contention: false,
  timeoutMs: 1000,
};

/** The message parseRunScenario refuses `input` with (a one-line ScenarioError). */
function refusal(input: unknown, source = "nic.json"): string {
  let err: unknown;
  try {
    parseRunScenario(input, source);
  } catch (e) {
    err = e;
  }
  return messageOf(err);
}

function messageOf(err: unknown): string {
  expect(err).toBeInstanceOf(ScenarioError);
  expect(err).toBeInstanceOf(ConfigError);
  const e = err as ScenarioError;
  expect(e.message).not.toMatch(/[\r\n]/);
  for (const line of e.issues) expect(line).not.toMatch(/[\r\n]/);
  expect(e.message.startsWith(e.issues[0]!)).toBe(true);
  return e.message;
}

/** A minimal scenario changed by `edit`. */
function withEdit(edit: (s: ReturnType<typeof minimal>) => void) {
  const s = minimal();
  edit(s);
  return s;
}

describe("a valid scenario", () => {
  it("a minimal one gets every default", () => {
    expect(parseRunScenario(minimal())).toEqual({
      name: "nic", description: "", profile: "7.1", seed: 1, workers: 1, cpus: 4,
      smmu: {},
      domains: [{
        name: "nic", type: "DMA", format: "arm-lpae-s1", granule: 4096, ias: 48, oas: 48, variant: "merged",
        fqMode: "percpu", forcedac: false, deferTableFree: false, rangeInvalidation: true,
      }],
      devices: [{ name: "eth0", domain: "nic", streamId: 1, dmaMask: 64, bus: "pci", coherent: true }],
      workloads: [{ kind: "nic-rx", name: "nic-rx0", device: "eth0", cpus: [0, 1], ops: 1000, ring: 256, bufferBytes: 2048 }],
      events: [],
      checks: { oracle: true, stopOnViolation: false, expect: "clean" },
      contention: false,
      timeoutMs: 600000,
    } satisfies RunScenario);
  });

  it("each workload kind gets its defaults; an attacker gets its victim's device; events their CPU", () => {
    const s = withEdit((s) => {
      s.devices.push({ name: "nvme0", domain: "nic", streamId: 2 });
      s.workloads = [
        { kind: "attacker", cpus: [3], ops: 5, victim: "nic-tx1" },
        { kind: "nic-tx", device: "eth0", cpus: [2], ops: 10 },
        { kind: "storage", device: "nvme0", cpus: [1], ops: 10 },
        { kind: "random", device: "nvme0", cpus: [0], ops: 10 },
      ];
      (s as RunScenarioInput).events = [
        { at: { fraction: 0.25 }, action: "switch-to-lazy", domain: "nic" },
        { at: { timeMs: 1 }, action: "fail-magazine-alloc", domain: "nic" },
        { at: { fraction: 1 }, cpu: 3, action: "fail-worker" },
      ];
    });
    const r = parseRunScenario(s);
    expect(r.workloads).toEqual([
      { kind: "attacker", name: "attacker0", device: "eth0", cpus: [3], ops: 5, victim: "nic-tx1", keep: 32 },
      { kind: "nic-tx", name: "nic-tx1", device: "eth0", cpus: [2], ops: 10, ring: 256, minBytes: 64, maxBytes: 1514 },
      { kind: "storage", name: "storage2", device: "nvme0", cpus: [1], ops: 10, queueDepth: 32, segments: 4,
        minBytes: 4096, maxBytes: 131072 },
      { kind: "random", name: "random3", device: "nvme0", cpus: [0], ops: 10, live: 64, minBytes: 4096, maxBytes: 65536 },
    ]);
    expect(r.events).toEqual([
      { at: { fraction: 0.25 }, cpu: 2, action: "switch-to-lazy", domain: "nic" },
      { at: { timeMs: 1 }, cpu: 2, action: "fail-magazine-alloc", domain: "nic", count: 1000 },
      { at: { fraction: 1 }, cpu: 3, action: "fail-worker", mode: "throw" },
    ]);
  });

  it("a full scenario round-trips unchanged, from an object and from a file", () => {
    const input = structuredClone(FULL);
    expect(parseRunScenario(input)).toEqual(FULL);
    expect(input).toEqual(FULL); // the input is not modified
    const dir = mkdtempSync(join(tmpdir(), "run-scenario-"));
    try {
      const file = join(dir, "full.json");
      writeFileSync(file, JSON.stringify(FULL, null, 2));
      expect(loadRunScenarioFile(file)).toEqual(FULL);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("parsing twice gives the same scenario; results share no objects", () => {
    const a = parseRunScenario(minimal());
    expect(parseRunScenario(a)).toEqual(a);
    const b = parseRunScenario(minimal());
    a.events.push(FULL.events[2]!);
    a.checks.oracle = false;
    expect(b.events).toEqual([]);
    expect(b.checks.oracle).toBe(true);
  });

  it("a TypeScript object typed as the input works the same", () => {
    const input: RunScenarioInput = {
      name: "typed", cpus: 2, workers: 2,
      domains: [{ name: "d", type: "DMA-FQ", granule: 65536 }],
      devices: [{ name: "dev", domain: "d", streamId: 0 }],
      workloads: [{ kind: "storage", device: "dev", cpus: [0], ops: 1 }, { kind: "attacker", cpus: [1], ops: 1, victim: "storage0" }],
      events: [{ at: { timeMs: 1 }, action: "fail-worker", mode: "crash" }],
    };
    const r = parseRunScenario(input);
    expect(r.workloads[1]).toEqual({ kind: "attacker", name: "attacker1", device: "dev", cpus: [1], ops: 1, victim: "storage0", keep: 32 });
    expect(r.events[0]).toEqual({ at: { timeMs: 1 }, cpu: 0, action: "fail-worker", mode: "crash" });
  });

  it("exports the workload kinds and event actions", () => {
    expect(RUN_WORKLOAD_KINDS).toEqual(["nic-rx", "nic-tx", "storage", "random", "pairs", "attacker", "switcher"]);
    expect(EVENT_ACTIONS).toEqual(["switch-to-lazy", "fail-magazine-alloc", "fail-worker"]);
  });
});

describe("refused: structure and types", () => {
  it("the root is not an object", () => {
    expect(refusal([1, 2])).toBe("nic.json: (root): expected an object, found an array");
    expect(refusal("scenario")).toBe(`nic.json: (root): expected an object, found "scenario" (a string)`);
  });

  it("checks.stopOnViolation without the oracle, which alone stops a run, is refused; expect violations is not", () => {
    // Accepted before: the run could never stop, as nothing looks for a violation.
    expect(refusal({ ...minimal(), checks: { oracle: false, stopOnViolation: true } }))
      .toMatch(/^nic\.json: checks\.stopOnViolation: true needs checks\.oracle true: the run stops at the first violation the oracle finds/);
    // An unmap that finds its flush queue missing is a violation of the outcome with the oracle off too.
    expect(parseRunScenario({ ...minimal(), checks: { oracle: false, expect: "violations" } }).checks)
      .toEqual({ oracle: false, stopOnViolation: false, expect: "violations" });
  });

  it("a wrong type says what was found, and its type", () => {
    const s = withEdit((s) => { s.workloads.push({ kind: "nic-tx", device: "eth0", cpus: [2], ops: "many" }); });
    expect(refusal(s)).toBe(`nic.json: workloads[1].ops: expected an integer ≥ 1, found "many" (a string)`);
    expect(refusal({ ...minimal(), cpus: true })).toBe("nic.json: cpus: expected an integer 1..128, found true (a boolean)");
    expect(refusal({ ...minimal(), domains: { name: "nic" } })).toBe("nic.json: domains: expected an array, found an object");
    expect(refusal({ ...minimal(), cpus: 2.5 })).toBe("nic.json: cpus: expected an integer 1..128, found 2.5");
    expect(refusal({ ...minimal(), name: null })).toBe("nic.json: name: expected a string of 1..64 characters, found null");
  });

  it("a required field missing", () => {
    const { cpus: _, ...s } = minimal();
    expect(refusal(s)).toBe("nic.json: cpus: required field missing (expected an integer 1..128)");
    const d = withEdit((s) => { delete s.devices[0]!.streamId; });
    expect(refusal(d)).toBe("nic.json: devices[0].streamId: required field missing (expected an integer 0..255)");
  });

  it("an unknown field at the top level", () => {
    expect(refusal({ ...minimal(), threads: 4 }))
      .toBe("nic.json: threads: unknown field (allowed: name, description, profile, behaviours, machine, seed, workers, cpus, smmu, " +
            "domains, devices, workloads, events, checks, contention, timeoutMs)");
  });

  it("an unknown field, nested", () => {
    const s = withEdit((s) => { s.devices[0]!.colour = "blue"; });
    expect(refusal(s)).toBe("nic.json: devices[0].colour: unknown field (allowed: name, domain, streamId, dmaMask, bus, coherent)");
    const t = { ...minimal(), smmu: { iotlb: { entries: 64, size: 2 } } };
    expect(refusal(t)).toBe("nic.json: smmu.iotlb.size: unknown field (allowed: entries, ways, policy, scope)");
    const w = withEdit((s) => { s.workloads[0]!.bufferbytes = 4096; });
    expect(refusal(w)).toBe("nic.json: workloads[0].bufferbytes: unknown field (did you mean \"bufferBytes\"? allowed: kind, name, device, cpus, ops, worker, ring, bufferBytes)");
  });

  it("an unknown workload kind lists the kinds", () => {
    const s = withEdit((s) => { s.workloads[0]!.kind = "gpu"; });
    expect(refusal(s)).toBe(`nic.json: workloads[0].kind: expected one of "nic-rx", "nic-tx", "storage", "random", "pairs", "attacker", "switcher", found "gpu"`);
    const t = withEdit((s) => { delete s.workloads[0]!.kind; });
    expect(refusal(t)).toBe(`nic.json: workloads[0].kind: required field missing (expected one of "nic-rx", "nic-tx", "storage", "random", "pairs", "attacker", "switcher")`);
  });

  it("an unknown event action lists the actions", () => {
    const s = { ...minimal(), events: [{ at: { fraction: 0.5 }, action: "reboot" }] };
    expect(refusal(s)).toBe(`nic.json: events[0].action: expected one of "switch-to-lazy", "fail-magazine-alloc", "fail-worker", found "reboot"`);
  });

  it("an invalid enum lists the options", () => {
    expect(refusal({ ...minimal(), profile: "6.1" })).toBe(`nic.json: profile: expected one of "5.15", "6.12", "7.1", found "6.1"`);
    const s = withEdit((s) => { s.domains[0]!.format = "arm-v7s"; });
    expect(refusal(s)).toBe(`nic.json: domains[0].format: expected "arm-lpae-s1" (the only format dma-iommu uses on SMMUv3), found "arm-v7s"`);
  });

  it("too many or too few entries", () => {
    expect(refusal({ ...minimal(), domains: [] })).toBe("nic.json: domains: expected at least 1 entry, found 0");
    const s = withEdit((s) => { s.workloads[0]!.cpus = []; });
    expect(refusal(s)).toBe("nic.json: workloads[0].cpus: expected at least 1 entry, found 0");
    const t = { ...minimal(), smmu: { walkCache: [1, 2, 3] } };
    expect(refusal(t)).toBe("nic.json: smmu.walkCache: expected exactly 4 entries, found 3");
  });

  it("several problems: the first, and how many more", () => {
    const s = withEdit((s) => { s.domains[0]!.granule = 8192; s.domains[0]!.ias = 60; s.devices[0]!.bus = "usb"; });
    let err: ScenarioError | undefined;
    try { parseRunScenario(s, "nic.json"); } catch (e) { err = e as ScenarioError; }
    expect(messageOf(err)).toBe("nic.json: domains[0].granule: expected one of 4096, 16384, 65536, found 8192 (and 2 more problems)");
    expect(err!.path).toBe("domains[0].granule");
    expect(err!.source).toBe("nic.json");
    expect(err!.issues).toEqual([
      "nic.json: domains[0].granule: expected one of 4096, 16384, 65536, found 8192",
      "nic.json: domains[0].ias: expected an integer ≤ 48, found 60",
      `nic.json: devices[0].bus: expected one of "pci", "platform", found "usb"`,
    ]);
  });

  it("the source defaults to 'scenario'", () => {
    expect(() => parseRunScenario({ ...minimal(), seed: -1 })).toThrow(/^scenario: seed: expected an integer ≥ 0, found -1$/);
  });
});

describe("refused: impossible values", () => {
  it("granule 8192", () => {
    const s = withEdit((s) => { s.domains[0]!.granule = 8192; });
    expect(refusal(s)).toBe("nic.json: domains[0].granule: expected one of 4096, 16384, 65536, found 8192");
    const t = withEdit((s) => { s.domains[0]!.granule = "4096"; });
    expect(refusal(t)).toBe(`nic.json: domains[0].granule: expected one of 4096, 16384, 65536, found "4096" (a string)`);
  });

  it("ias 60", () => {
    const s = withEdit((s) => { s.domains[0]!.ias = 60; });
    expect(refusal(s)).toBe("nic.json: domains[0].ias: expected an integer ≤ 48, found 60");
  });

  it("an oas the SMMU cannot encode is refused by its field path, not by the page table when the run sets up", () => {
    const s = withEdit((s) => { s.domains[0]!.oas = 35; });
    expect(refusal(s)).toBe("nic.json: domains[0].oas: expected one of 32, 36, 40, 42, 44, 48, found 35");
  });

  it("ops 0", () => {
    const s = withEdit((s) => { s.workloads[0]!.ops = 0; });
    expect(refusal(s)).toBe("nic.json: workloads[0].ops: expected an integer ≥ 1, found 0");
    const t = withEdit((s) => { s.workloads[0]!.ops = 2e9; });
    expect(refusal(t)).toBe("nic.json: workloads[0].ops: expected an integer ≤ 1000000000, found 2000000000");
  });

  it("ring 1000", () => {
    const s = withEdit((s) => { s.workloads[0]!.ring = 1000; });
    expect(refusal(s)).toBe("nic.json: workloads[0].ring: expected an integer ≤ 512, found 1000");
  });

  it("fraction 1.5, fraction 0, and an event time with both keys", () => {
    const at = (a: object) => ({ ...minimal(), events: [{ at: a, action: "switch-to-lazy", domain: "nic" }] });
    expect(refusal(at({ fraction: 1.5 }))).toBe("nic.json: events[0].at.fraction: expected a number ≤ 1, found 1.5");
    expect(refusal(at({ fraction: 0 }))).toBe("nic.json: events[0].at.fraction: expected a number > 0, found 0");
    expect(refusal(at({ fraction: 0.5, timeMs: 3 }))).toBe(`nic.json: events[0].at: expected exactly one of "fraction", "ops", "timeMs", found "fraction" and "timeMs"`);
    expect(refusal(at({}))).toBe(`nic.json: events[0].at: expected exactly one of "fraction", "ops", "timeMs", found none`);
    expect(refusal(at({ ops: 0 }))).toBe("nic.json: events[0].at.ops: expected an integer ≥ 1, found 0");
  });

  it("minBytes > maxBytes, given or by default", () => {
    const s = withEdit((s) => { s.workloads[0] = { kind: "random", device: "eth0", cpus: [0], ops: 1, minBytes: 8192, maxBytes: 4096 }; });
    expect(refusal(s)).toBe("nic.json: workloads[0].maxBytes: expected at least minBytes (8192), found 4096");
    const t = withEdit((s) => { s.workloads[0] = { kind: "nic-tx", device: "eth0", cpus: [0], ops: 1, minBytes: 2000 }; });
    expect(refusal(t)).toBe("nic.json: workloads[0].maxBytes: expected at least minBytes (2000), found 1514 (the default)");
  });

  it("IOTLB sizes: a power of two, ways no more than entries", () => {
    expect(refusal({ ...minimal(), smmu: { iotlb: { entries: 100 } } }))
      .toBe("nic.json: smmu.iotlb.entries: expected a power of two 16..65536, found 100");
    expect(refusal({ ...minimal(), smmu: { iotlb: { entries: 16, ways: 32 } } }))
      .toBe("nic.json: smmu.iotlb.ways: expected at most iotlb.entries (16), found 32");
    // One problem per field: 0 is also not a power of two, but that is not said twice.
    expect(refusal({ ...minimal(), smmu: { iotlb: { ways: 0 } } }))
      .toBe("nic.json: smmu.iotlb.ways: expected a power of two ≥ 1, found 0");
  });

  it("an identifier that is not one", () => {
    const s = withEdit((s) => { s.domains[0]!.name = "my domain"; });
    expect(refusal(s)).toBe(`nic.json: domains[0].name: expected an identifier (up to 64 letters, digits, _ or -, ` +
                            `not starting with a digit or -), found "my domain"`);
  });
});

describe("refused: references and rules across fields", () => {
  it("a device on a missing domain", () => {
    const s = withEdit((s) => {
      s.domains.push({ name: "disk" });
      s.devices.push({ name: "nvme0", domain: "disk", streamId: 2 }, { name: "gpu0", domain: "gpu", streamId: 3 });
    });
    expect(refusal(s)).toBe(`nic.json: devices[2].domain: no domain named "gpu" (domains: nic, disk)`);
  });

  it("a workload on a missing device", () => {
    const s = withEdit((s) => { s.workloads[0]!.device = "eth1"; });
    expect(refusal(s)).toBe(`nic.json: workloads[0].device: no device named "eth1" (devices: eth0)`);
  });

  it("duplicate names", () => {
    const d = withEdit((s) => { s.domains.push({ name: "nic" }); });
    expect(refusal(d)).toBe(`nic.json: domains[1].name: the name "nic" is already used by domains[0]`);
    const v = withEdit((s) => { s.devices.push({ name: "eth0", domain: "nic", streamId: 2 }); });
    expect(refusal(v)).toBe(`nic.json: devices[1].name: the name "eth0" is already used by devices[0]`);
    // A default name counts: the second workload is named "nic-rx0" like the first.
    const w = withEdit((s) => { s.workloads.push({ kind: "nic-rx", name: "nic-rx0", device: "eth0", cpus: [2], ops: 1 }); });
    expect(refusal(w)).toBe(`nic.json: workloads[1].name: the name "nic-rx0" is already used by workloads[0]`);
  });

  it("duplicate stream IDs", () => {
    const s = withEdit((s) => { s.devices.push({ name: "eth1", domain: "nic", streamId: 1 }); });
    expect(refusal(s)).toBe(`nic.json: devices[1].streamId: stream ID 1 is already used by device "eth0"`);
  });

  it("a CPU out of range", () => {
    const s = withEdit((s) => { s.workloads[0]!.cpus = [0, 7]; });
    expect(refusal(s)).toBe("nic.json: workloads[0].cpus[1]: cpu 7 does not exist (the scenario has cpus 0..3)");
    const one = withEdit((s) => { s.cpus = 1; s.workloads[0]!.cpus = [1]; });
    expect(refusal(one)).toBe("nic.json: workloads[0].cpus[0]: cpu 1 does not exist (the scenario has cpu 0)");
  });

  it("a CPU used twice", () => {
    const s = withEdit((s) => {
      s.workloads[0]!.name = "rx0";
      s.workloads.push({ kind: "nic-tx", device: "eth0", cpus: [2], ops: 1 }, { kind: "nic-tx", device: "eth0", cpus: [1], ops: 1 });
    });
    expect(refusal(s)).toBe(`nic.json: workloads[2].cpus[0]: cpu 1 is already used by workload "rx0"`);
    const t = withEdit((s) => { s.workloads[0]!.cpus = [0, 1, 0]; });
    expect(refusal(t)).toBe("nic.json: workloads[0].cpus[2]: cpu 0 is listed twice");
  });

  it("more workers than CPUs used", () => {
    expect(refusal({ ...minimal(), workers: 3 }))
      .toBe("nic.json: workers: expected at most 2 (the CPUs the workloads use: 0, 1), found 3");
  });

  it("fqMode single on 5.15", () => {
    const s = withEdit((s) => { (s as RunScenarioInput).profile = "5.15"; s.domains[0]!.fqMode = "single"; });
    expect(refusal(s)).toBe(`nic.json: domains[0].fqMode: "single" needs profile "6.12" or "7.1", a kernel with the single flush queue (the scenario's profile is "5.15")`);
  });

  it("an attacker whose victim is missing, is an attacker, or is on another device", () => {
    const attacker = (victim: string, device?: string) => withEdit((s) => {
      s.devices.push({ name: "eth1", domain: "nic", streamId: 2 });
      s.workloads.push({ kind: "attacker", name: "evil", cpus: [3], ops: 1, victim, ...(device ? { device } : {}) });
    });
    expect(refusal(attacker("rx9"))).toBe(`nic.json: workloads[1].victim: no workload named "rx9" (workloads: nic-rx0, evil)`);
    expect(refusal(attacker("evil"))).toBe(`nic.json: workloads[1].victim: "evil" is an attacker; the victim must be a workload that maps`);
    expect(refusal(attacker("nic-rx0", "eth1")))
      .toBe(`nic.json: workloads[1].device: expected the victim's device "eth0" (or leave it out), found "eth1"`);
    expect((parseRunScenario(attacker("nic-rx0", "eth0")).workloads[1] as AttackerWorkload).device).toBe("eth0");
  });

  it("two attackers on one victim", () => {
    const s = withEdit((s) => {
      s.workloads.push({ kind: "attacker", name: "evil", cpus: [2], ops: 1, victim: "nic-rx0" });
      s.workloads.push({ kind: "attacker", name: "worse", cpus: [3], ops: 1, victim: "nic-rx0" });
    });
    expect(refusal(s)).toBe(`nic.json: workloads[2].victim: "nic-rx0" already has an attacker ("evil"); a workload can have one`);
  });

  it("an attacker on more than one CPU", () => {
    const s = withEdit((s) => { s.workloads.push({ kind: "attacker", cpus: [2, 3], ops: 1, victim: "nic-rx0" }); });
    expect(refusal(s)).toBe("nic.json: workloads[1].cpus: expected exactly 1 entry, found 2");
  });

  it("an event on a missing domain", () => {
    const s = { ...minimal(), events: [{ at: { timeMs: 5 }, action: "fail-magazine-alloc", domain: "disk" }] };
    expect(refusal(s)).toBe(`nic.json: events[0].domain: no domain named "disk" (domains: nic)`);
  });

  it("an event that needs a domain, and one that takes none", () => {
    const s = { ...minimal(), events: [{ at: { timeMs: 5 }, action: "switch-to-lazy" }] };
    expect(refusal(s)).toBe("nic.json: events[0].domain: required field missing (expected the name of a domain)");
    const t = { ...minimal(), events: [{ at: { timeMs: 5 }, action: "fail-worker", domain: "nic" }] };
    expect(refusal(t)).toBe("nic.json: events[0].domain: unknown field (allowed: at, cpu, action, mode)");
  });

  it("an event on a CPU no workload runs", () => {
    const s = { ...minimal(), events: [{ at: { fraction: 0.5 }, cpu: 3, action: "fail-worker" }] };
    expect(refusal(s)).toBe("nic.json: events[0].cpu: no workload runs on cpu 3 (workloads use 0, 1)");
    const t = { ...minimal(), events: [{ at: { fraction: 0.5 }, cpu: 9, action: "fail-worker" }] };
    expect(refusal(t)).toBe("nic.json: events[0].cpu: cpu 9 does not exist (the scenario has cpus 0..3)");
  });

  it("a second switch-to-lazy of one domain, and a live switch the kernel's group rule refuses", () => {
    const sw = (fraction: number) => ({ at: { fraction }, action: "switch-to-lazy", domain: "nic" });
    expect(refusal({ ...minimal(), events: [sw(0.3), sw(0.6)] })).toBe(`nic.json: events[1].domain: domain "nic" is ` +
      "already switched to lazy by events[0]; a second switch-to-lazy would find it lazy and do nothing");
    const two = withEdit((s) => { s.devices.push({ name: "eth1", domain: "nic", streamId: 2 }); });
    const e = { ...two, profile: "5.15", events: [sw(0.5)] };
    expect(refusal(e)).toBe(`nic.json: events[0].domain: domain "nic" cannot be switched live: 5.15 changes a live ` +
      "group's type only when it holds exactly one device; this domain has 2 (-EINVAL)");
    // From the behaviour, not the version: 5.15 given the group-ownership rework takes it, 7.1 without it does not.
    expect(parseRunScenario({ ...e, behaviours: { with: ["DMA_SWITCH_OWNED_GROUPS"] } }).events).toHaveLength(1);
    expect(refusal({ ...e, profile: "7.1", behaviours: { without: ["DMA_SWITCH_OWNED_GROUPS"] } }))
      .toMatch(/^nic\.json: events\[0\]\.domain: domain "nic" cannot be switched live: 7\.1 without DMA_SWITCH_OWNED_GROUPS changes/);
  });

  it("an integer past 2^53 is told the field's own bound, not the safe-integer one", () => {
    expect(refusal({ ...minimal(), seed: 2 ** 53 })).toBe("nic.json: seed: expected an integer ≤ 4294967295, found 9007199254740992");
    expect(refusal({ ...minimal(), smmu: { costs: { sync: 1e20 } } }))
      .toBe("nic.json: smmu.costs.sync: expected an integer ≤ 2147483648, found 100000000000000000000");
    expect(refusal({ ...minimal(), smmu: { iotlb: { entries: 2 ** 60 } } }))
      .toBe(`nic.json: smmu.iotlb.entries: expected a power of two ≤ 65536, found ${2 ** 60}`);
    expect(refusal({ ...minimal(), seed: 1.5 })).toBe("nic.json: seed: expected an integer ≥ 0, found 1.5");
  });

  it("an event time past what a CPU's clock counts", () => {
    const at = (timeMs: number) => ({ ...minimal(), events: [{ at: { timeMs }, action: "switch-to-lazy", domain: "nic" }] });
    expect(refusal(at(9.1e9))).toBe(`nic.json: events[0].at.timeMs: expected a number ≤ ${MAX_EVENT_MS}, found 9100000000`);
    expect(parseRunScenario(at(MAX_EVENT_MS)).events[0]!.at).toEqual({ timeMs: MAX_EVENT_MS });
  });

  it("switch-to-lazy on a DMA-FQ domain", () => {
    const s = withEdit((s) => { s.domains[0]!.type = "DMA-FQ"; });
    const e = { ...s, events: [{ at: { fraction: 0.5 }, action: "switch-to-lazy", domain: "nic" }] };
    expect(refusal(e)).toBe(`nic.json: events[0].domain: domain "nic" is DMA-FQ: the domain starts lazy already`);
  });

  it("a switcher on a missing domain, a second one, a domain without devices, two devices on 5.15", () => {
    const sw = (domain: string, cpu = 3) => ({ kind: "switcher", domain, cpus: [cpu] });
    expect(refusal(withEdit((s) => { s.workloads.push(sw("disk")); })))
      .toBe(`nic.json: workloads[1].domain: no domain named "disk" (domains: nic)`);
    expect(refusal(withEdit((s) => { s.workloads.push(sw("nic", 2), { ...sw("nic"), name: "again" }); })))
      .toBe(`nic.json: workloads[2].domain: domain "nic" already has a switcher ("switcher1"); a domain can have one`);
    expect(refusal(withEdit((s) => { s.domains.push({ name: "idle" }); s.workloads.push({ ...sw("idle"), ops: 5 }); })))
      .toBe(`nic.json: workloads[1].domain: domain "idle" has no device: there is nothing to switch under`);
    const two: Record<string, unknown> = withEdit((s) => {
      s.devices.push({ name: "eth1", domain: "nic", streamId: 2 });
      s.workloads.push(sw("nic"));
    });
    two.profile = "5.15";
    expect(refusal(two)).toBe(`nic.json: workloads[1].domain: domain "nic" cannot be switched live: 5.15 changes a live ` +
      "group's type only when it holds exactly one device; this domain has 2 (-EINVAL)");
    two.profile = "7.1";
    expect(parseRunScenario(two).workloads[1]).toEqual({ kind: "switcher", name: "switcher1", domain: "nic", cpus: [3], gap: 5000 });
  });

  it("a switcher with no workload to serve needs a number of operations", () => {
    const s = withEdit((s) => {
      s.domains.push({ name: "disk" });
      s.devices.push({ name: "nvme0", domain: "disk", streamId: 2 });
      s.workloads.push({ kind: "switcher", domain: "disk", cpus: [3] });
    });
    expect(refusal(s)).toBe(`nic.json: workloads[1].ops: required when no workload maps in domain "disk" ` +
      `(without ops, a switcher runs for as long as they do)`);
  });

  it("an attacker whose victim is a switcher, and a switch-to-lazy event on a domain that has one", () => {
    const s = withEdit((s) => {
      s.workloads.push({ kind: "switcher", name: "flip", domain: "nic", cpus: [2] }, { kind: "attacker", cpus: [3], victim: "flip" });
    });
    expect(refusal(s)).toBe(`nic.json: workloads[2].victim: "flip" is a switcher; the victim must be a workload that maps`);
    const t = withEdit((s) => { s.workloads.push({ kind: "switcher", name: "flip", domain: "nic", cpus: [2] }); });
    const e = { ...t, events: [{ at: { fraction: 0.5 }, action: "switch-to-lazy", domain: "nic" }] };
    expect(refusal(e)).toBe(`nic.json: events[0].domain: domain "nic" has a switcher ("flip"): its switches are the ones ` +
      `this domain gets (a switch of its own would race the switcher's rebuild)`);
 
    // An unnamed switcher is named as everywhere else: by its kind and index.
    const u = withEdit((s) => { s.workloads.push({ kind: "switcher", domain: "nic", cpus: [2] }); });
    expect(refusal({ ...u, events: e.events })).toMatch(/^nic\.json: events\[0\]\.domain: domain "nic" has a switcher \("switcher1"\): /);
  });

  it("background workloads without ops: an attacker runs while its victim does, so no fraction of its ops", () => {
    const s = withEdit((s) => { s.workloads.push({ kind: "attacker", name: "evil", cpus: [3], victim: "nic-rx0" }); });
    expect((parseRunScenario(s).workloads[1] as AttackerWorkload).ops).toBeUndefined();
    const e = { ...s, events: [{ at: { fraction: 0.5 }, cpu: 3, action: "fail-worker" }] };
    expect(refusal(e)).toBe(`nic.json: events[0].at.fraction: cpu 3 runs attacker "evil" without a number of ` +
      `operations, so a fraction of them means nothing; use "ops" or "timeMs"`);
    expect(parseRunScenario({ ...s, events: [{ at: { ops: 10 }, cpu: 3, action: "fail-worker" }] }).events[0]!.at).toEqual({ ops: 10 });
    // An event without a CPU goes to the first workload that maps, never to a background one.
    const first = withEdit((s) => { s.workloads.unshift({ kind: "switcher", domain: "nic", cpus: [3] }); });
    expect(parseRunScenario({ ...first, events: [{ at: { fraction: 0.5 }, action: "fail-worker" }] }).events[0]!.cpu).toBe(0);
    const ops = withEdit((s) => { s.workloads.push({ kind: "nic-tx", device: "eth0", cpus: [3] }); });
    expect(refusal(ops)).toBe("nic.json: workloads[1].ops: required field missing (expected an integer ≥ 1)");
  });

  it("placement on workers: below `workers`, and no worker left without a CPU", () => {
    const s = withEdit((s) => { s.workloads[0]!.worker = 2; });
    expect(refusal({ ...s, workers: 2 })).toBe("nic.json: workloads[0].worker: expected a worker below workers (2), found 2");
    const t = withEdit((s) => { s.workloads[0]!.worker = 1; });
    expect(refusal({ ...t, workers: 2 })).toBe(`nic.json: workers: worker 0 would have no CPU to run (workloads placed ` +
      `with "worker" take theirs; the other CPUs are dealt round-robin)`);
    const u = withEdit((s) => { s.workloads.push({ kind: "nic-tx", device: "eth0", cpus: [2, 3], ops: 5, worker: 0 }); });
    expect(parseRunScenario({ ...u, workers: 2 }).workloads[1]!.worker).toBe(0);
  });
});

describe("scenario files", () => {
  const dir = mkdtempSync(join(tmpdir(), "run-scenario-"));
  afterAll(() => rmSync(dir, { recursive: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it("a valid file loads", () => {
    const path = file("ok.json", JSON.stringify(minimal()));
    expect(loadRunScenarioFile(path)).toEqual(parseRunScenario(minimal()));
  });

  it("problems are reported with the file's path as the source", () => {
    const path = file("bad.json", JSON.stringify({ ...minimal(), cpus: 0 }));
    expect(messageOf(catching(() => loadRunScenarioFile(path)))).toBe(`${path}: cpus: expected an integer ≥ 1, found 0`);
  });

  it("a file that is not JSON", () => {
    const text = `{\n  "name": "nic",\n  cpus: 4\n}\n`;
    const path = file("broken.json", text);
    const err = catching(() => loadRunScenarioFile(path)) as ScenarioError;
    const parserMessage = catching(() => JSON.parse(text)).message.replace(/\s*\n\s*/g, " ");
    expect(messageOf(err)).toBe(`${path}: not JSON: ${parserMessage}`);
    expect(err.path).toBe("(root)");
  });

  it("a file that is missing", () => {
    const path = join(dir, "missing.json");
    const err = catching(() => loadRunScenarioFile(path)) as ScenarioError;
    expect(messageOf(err)).toBe(`cannot read ${path}: no such file or directory (ENOENT)`);
    expect(err.issues).toEqual([err.message]);
  });
});

function catching(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a throw");
}
