// The built-in scenarios `iommu-sim run` and `list` know by name. Each is an ordinary
// scenario object (the same shape as a JSON file), checked by the same validator.

import { parseRunScenario, type RunScenario, type RunScenarioInput } from "./scenario.js";

/** The names of the built-in scenarios (the compiler holds this list to BUILTIN_RUN_SCENARIOS' keys). */
export type BuiltinRunScenarioName = "nic" | "nic-tx" | "storage" | "random" | "attacker";

/**
 * The built-in scenarios by name, as scenario objects (the input of runScenario): keyed by
 * their literal names, so that a misspelt `BUILTIN_RUN_SCENARIOS.nicc` is a type error.
 */
export const BUILTIN_RUN_SCENARIOS: Readonly<Record<BuiltinRunScenarioName, RunScenarioInput>> = Object.freeze({
  nic: {
    name: "nic",
    description: "A dual-port NIC (two PCI functions, one IOMMU group, so one DMA domain) receiving on two CPUs, " +
      "one port each, on two workers. The domain starts strict and is switched to lazy (DMA-FQ) half-way through " +
      "while traffic flows, with the safety oracle checking every device write. Shows what the switch changes: " +
      "unmap latency, invalidation commands, the flush queue and its lazy window.",
    profile: "7.1", seed: 1, workers: 2, cpus: 2,
    domains: [{ name: "nic", type: "DMA" }],
    devices: [{ name: "eth0", domain: "nic", streamId: 1 }, { name: "eth1", domain: "nic", streamId: 2 }],
    workloads: [
      { kind: "nic-rx", name: "rx0", device: "eth0", cpus: [0], ops: 1_000_000, ring: 256, bufferBytes: 2048 },
      { kind: "nic-rx", name: "rx1", device: "eth1", cpus: [1], ops: 1_000_000, ring: 256, bufferBytes: 2048 },
    ],
    events: [{ at: { fraction: 0.5 }, cpu: 0, action: "switch-to-lazy", domain: "nic" }],
    checks: { oracle: true, expect: "clean" },
  },
  "nic-tx": {
    name: "nic-tx",
    description: "A NIC transmitting packets of 64–1514 bytes on two CPUs through a lazy (DMA-FQ) domain.",
    profile: "7.1", seed: 1, workers: 2, cpus: 2,
    domains: [{ name: "nic", type: "DMA-FQ" }],
    devices: [{ name: "eth0", domain: "nic", streamId: 1 }],
    workloads: [{ kind: "nic-tx", name: "tx", device: "eth0", cpus: [0, 1], ops: 500_000, ring: 256, minBytes: 64, maxBytes: 1514 }],
  },
  storage: {
    name: "storage",
    description: "A storage queue of depth 32 with scatter requests of 1–4 segments of 4–256 KiB, strict: " +
      "large mappings use the rbtree (above the rcache's 128 KiB) and block entries.",
    profile: "7.1", seed: 1, workers: 2, cpus: 2,
    domains: [{ name: "disk", type: "DMA" }],
    devices: [{ name: "nvme0", domain: "disk", streamId: 2 }],
    workloads: [{ kind: "storage", name: "io", device: "nvme0", cpus: [0, 1], ops: 20_000, queueDepth: 32, segments: 4,
                  minBytes: 4096, maxBytes: 256 << 10 }],
  },
  random: {
    name: "random",
    description: "Random map/unmap of 4–64 KiB buffers, 64 live per CPU, on the v5.15 profile in a lazy domain.",
    profile: "5.15", seed: 1, workers: 2, cpus: 2,
    domains: [{ name: "dev", type: "DMA-FQ" }],
    devices: [{ name: "dev0", domain: "dev", streamId: 3 }],
    workloads: [{ kind: "random", name: "churn", device: "dev0", cpus: [0, 1], ops: 200_000, live: 64, minBytes: 4096, maxBytes: 65536 }],
  },
  attacker: {
    name: "attacker",
    description: "A malicious NIC that keeps every IOVA its driver unmapped and keeps reading them: in a lazy " +
      "domain it still reaches the old buffers until the flush queue's flush (the deferred-invalidation window " +
      "it measures); the oracle accepts those reads as lazy mode's documented risk, and finds no use-after-free.",
    profile: "7.1", seed: 1, workers: 2, cpus: 2,
    domains: [{ name: "nic", type: "DMA-FQ" }],
    devices: [{ name: "eth0", domain: "nic", streamId: 1 }],
    workloads: [
      { kind: "nic-rx", name: "rx", device: "eth0", cpus: [0], ops: 300_000, ring: 256, bufferBytes: 2048 },
      { kind: "attacker", name: "evil", victim: "rx", cpus: [1], ops: 300_000, keep: 32 },
    ],
    checks: { oracle: true, expect: "clean" },
  },
} satisfies Record<BuiltinRunScenarioName, RunScenarioInput>);

/** A built-in scenario by name, validated; undefined if there is none. */
export function builtinRunScenario(name: string): RunScenario | undefined {
  // Own keys only: "toString" is no scenario.
  if (!isBuiltinRunScenarioName(name)) return undefined;
  return parseRunScenario(BUILTIN_RUN_SCENARIOS[name], `built-in scenario ${name}`);
}

/** Whether `name` names a built-in scenario. */
export function isBuiltinRunScenarioName(name: string): name is BuiltinRunScenarioName {
  return Object.hasOwn(BUILTIN_RUN_SCENARIOS, name);
}
