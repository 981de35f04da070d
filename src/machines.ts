// Machine presets: a named set of modelled costs and SMMU features for one real machine,
// calibrated against its published measurements (../shared/reference/performance.md and
// the sources written beside each). A preset sets the SMMU's costs (command consumption,
// CMD_SYNC, the command queue's claim and MMIO, contention on prod), whether the SMMU has
// range invalidation, and the CPU-side costs of the kernel's code; `bench --machine` and a
// scenario's `machine` field select one.
//
// How the figures were fitted (the model is assembly/smmu/cmdq.ts and assembly/cpu-time.ts):
//   - one thread's strict 4 KiB unmap is the CPU's unmap path + claim + MMIO + the SMMU
//     consuming one TLBI and completing the CMD_SYNC + the CPU noticing (syncWake);
//   - with N threads the SMMU's consumption (tlbi + the sync's completion) is what they
//     queue for, so the unmap grows towards N × that once it saturates (Snapdragon X: 780 ns,
//     so 8 threads wait 6.2 µs; the rest of its 1.8 µs single-thread unmap is latency that
//     occupies nothing, syncWake);
//   - a 1 MiB unmap without range invalidation is 256 TLBIs (four batches of 64);
//   - many-CPU collapse (Kunpeng 920) is the compare-and-swap loop on prod: each spinning CPU
//     slows the winning claim by cmdqSpin, up to cmdqSpinMax spinners.
// Each number is a fit to the figures named, not a measurement of the part it names.

import type { CpuCosts, SmmuCosts, SmmuModel } from "./smmu/smmu.js";
import { ArgumentError } from "./errors.js";

/** The command queue as the kernel has it, or with John Garry's 2020 series (never merged). */
export type CmdqVariant = "kernel" | "garry-2020";
export const CMDQ_VARIANTS: readonly CmdqVariant[] = ["kernel", "garry-2020"];

/** A published figure a preset is calibrated on (dma_map_benchmark unless said otherwise). */
export interface PublishedFigure {
  threads: number;
  /** Pages per mapping (4 KiB each). */
  granule: number;
  mode: "strict" | "lazy";
  cmdq?: CmdqVariant;
  /** Average map / unmap latency, µs, as the tool prints it. */
  mapUs?: number;
  unmapUs?: number;
  /** Map+unmap pairs per CPU per second (John Garry's measure). */
  pairsPerCpuPerSecond?: number;
  source: string;
}

export interface MachinePreset {
  /** What it is, in a line. */
  readonly description: string;
  /** SMMU costs (over the defaults) and whether the SMMU has range invalidation (IDR3.RIL). */
  readonly smmuCosts: Partial<SmmuCosts>;
  /** The SMMU's architecture, when not an SMMUv3 ("v2": arm-smmu's TLB registers). */
  readonly smmuModel?: SmmuModel;
  readonly rangeInvalidation: boolean;
  /** The command-queue variants it can run: the kernel's, and any never-merged series' costs. */
  readonly cmdq: Readonly<Partial<Record<CmdqVariant, Partial<SmmuCosts>>>>;
  /** CPU-side costs of the kernel's code (over the defaults). */
  readonly cpuCosts: Partial<CpuCosts>;
  /** The figures it is calibrated on, each within ±30% (test/machines.test.ts pins them). */
  readonly published: readonly PublishedFigure[];
  /** Where its figures come from. */
  readonly sources: readonly string[];
}

const GARRY = 'John Garry, "[PATCH 0/4] iommu/arm-smmu-v3: Improve cmdq lock efficiency" (2020), map+unmap per CPU per second';

/**
 * The Kunpeng fit: the SMMU consumes a TLBI + CMD_SYNC in 340 ns (what Garry's series reaches
 * at 32 and 64 CPUs); with the kernel's CAS loop each CPU in the queue slows a claim by 12 ns
 * up to 51 of them, so past ~32 CPUs the claim, not the SMMU, sets the pace; the series'
 * claim slows by 4 ns per CPU with no cap (its 128-CPU figure).
 */
const KUNPENG_920 = {
  description: "HiSilicon Kunpeng 920 (Arm SMMUv3 with range invalidation), command-queue memory on the SMMU's node",
  smmuCosts: { tlbi: 200, sync: 240, cmdqClaim: 40, mmio: 60, cmdqSpin: 12, cmdqSpinMax: 51 },
  rangeInvalidation: true,
  cmdq: { kernel: {}, "garry-2020": { cmdqSpin: 4, cmdqSpinMax: 128 } },
  cpuCosts: {},
  published: [
    { threads: 32, granule: 1, mode: "strict", pairsPerCpuPerSecond: 63_187, source: GARRY },
    { threads: 64, granule: 1, mode: "strict", pairsPerCpuPerSecond: 19_418, source: GARRY },
    { threads: 128, granule: 1, mode: "strict", pairsPerCpuPerSecond: 10_169, source: GARRY },
    { threads: 32, granule: 1, mode: "strict", cmdq: "garry-2020", pairsPerCpuPerSecond: 93_287, source: GARRY },
    { threads: 64, granule: 1, mode: "strict", cmdq: "garry-2020", pairsPerCpuPerSecond: 44_789, source: GARRY },
    { threads: 128, granule: 1, mode: "strict", cmdq: "garry-2020", pairsPerCpuPerSecond: 15_862, source: GARRY },
  ],
  sources: [GARRY, "Barry Song (HiSilicon, 2020): one CMD_SYNC on an idle queue ≈ 240 ns with the queue on the SMMU's node"],
} as const satisfies MachinePreset;

const MACHINE_PRESETS = {
  "snapdragon-x": {
    description: "Qualcomm Snapdragon X (Arm SMMUv3, no range invalidation), 4 KiB pages",
    smmuCosts: { tlbi: 200, sync: 1520, cmdqClaim: 40, mmio: 100, syncWake: 800, cmdqSpin: 0, cmdqSpinMax: 0 },
    rangeInvalidation: false,
    cmdq: { kernel: {} },
    cpuCosts: { dmaApi: 40, pte: 1, iovaRcache: 10, lock: 10, lineTransfer: 150 },
    published: [
      { threads: 1, granule: 1, mode: "strict", mapUs: 0.0, unmapUs: 1.8, source: "dma_map_benchmark on Snapdragon X (performance.md)" },
      { threads: 8, granule: 1, mode: "strict", mapUs: 0.2, unmapUs: 6.2, source: "dma_map_benchmark on Snapdragon X (performance.md)" },
      { threads: 1, granule: 256, mode: "strict", mapUs: 0.5, unmapUs: 54.3, source: "dma_map_benchmark on Snapdragon X (performance.md)" },
    ],
    sources: ["performance.md, 'What real hardware costs' and 'Many CPUs' (dma_map_benchmark, Snapdragon X, 4 KiB and 1 MiB, 1 and 8 threads)"],
  },
  "snapdragon-x-smmuv2": {
    description: "Qualcomm Snapdragon X's arm-smmu (SMMU v2 / MMU-500 class, non-coherent table walk), 4 KiB pages",
    // Fitted to the one thread figures (estimates of what each part costs, not measurements):
    // 1 MiB unmap 372 µs = 256 PTE clears with cache maintenance (the 1 MiB map's 61.8 µs /
    // 256 ≈ 240 ns each) + 256 TLBIVAL writes at ~1.2 µs each (a slow MMIO write path:
    // what is left, per page) + one sync; 4 KiB unmap 3.9 µs = the same with one TLBIVAL and
    // a TLBSYNC completing after ~0.8 µs of polling.
    smmuModel: "v2",
    smmuCosts: { tlbi: 0, regWrite: 1200, statusPoll: 100, tlbSync: 800 },
    rangeInvalidation: false,
    cmdq: { kernel: {} },
    cpuCosts: { dmaApi: 40, pte: 240, walkStep: 100, iovaRcache: 10, lock: 10 },
    published: [
      { threads: 1, granule: 1, mode: "strict", mapUs: 0.6, unmapUs: 3.9, source: "dma_map_benchmark on Snapdragon X, SMMUv2 (arm-smmu) (linux-iommu.md §7.1)" },
      { threads: 1, granule: 256, mode: "strict", mapUs: 61.8, unmapUs: 372.0, source: "dma_map_benchmark on Snapdragon X, SMMUv2 (arm-smmu) (linux-iommu.md §7.1)" },
    ],
    sources: ["linux-iommu.md §7.1: Mostafa Saleh's IOMMU_DEBUG_PAGEALLOC series (v7), dma_map_benchmark on Snapdragon X with the SMMUv2 (arm-smmu) driver: 4 KiB 0.6/3.9 µs, 1 MiB 61.8/372.0 µs at 1 thread. Its 8-thread figures (1.0/19.6, 89.4/1470.5 µs) are not fitted: contention on an SMMU v2's registers is not modelled."],
  },
  morello: {
    description: "Arm Morello (Arm SMMUv3, no range invalidation), 4 KiB pages",
    smmuCosts: { tlbi: 78, sync: 352, cmdqClaim: 30, mmio: 100, cmdqSpin: 0, cmdqSpinMax: 0 },
    rangeInvalidation: false,
    cmdq: { kernel: {} },
    cpuCosts: { dmaApi: 110, pte: 1 },
    published: [
      { threads: 1, granule: 1, mode: "strict", mapUs: 0.1, unmapUs: 0.6, source: "dma_map_benchmark on Arm Morello (performance.md)" },
      { threads: 4, granule: 1, mode: "strict", unmapUs: 1.1, source: "dma_map_benchmark on Arm Morello (performance.md)" },
      { threads: 1, granule: 256, mode: "strict", unmapUs: 21.2, source: "dma_map_benchmark on Arm Morello (performance.md)" },
    ],
    sources: ["performance.md (dma_map_benchmark, Arm Morello, 4 KiB and 1 MiB, 1 and 4 threads)"],
  },
  "kunpeng-920": KUNPENG_920,
  "kunpeng-920-remote": {
    ...KUNPENG_920,
    description: "HiSilicon Kunpeng 920 with the command queue's memory on a remote NUMA node",
    smmuCosts: { ...KUNPENG_920.smmuCosts, sync: 550 },
    published: [],
    sources: ["Barry Song (HiSilicon, 2020): one CMD_SYNC on an idle queue > 550 ns with the queue's memory remote"],
  },
} as const satisfies Record<string, MachinePreset>;

export type MachineName = keyof typeof MACHINE_PRESETS;
/** Every preset, by name. */
export const MACHINES: Readonly<Record<MachineName, MachinePreset>> = MACHINE_PRESETS;
export const MACHINE_NAMES = Object.freeze(Object.keys(MACHINES)) as readonly MachineName[];

/** The preset named `name` (an ArgumentError naming the known ones otherwise). */
export function machinePreset(name: unknown, field = "machine", context = "machine"): MachinePreset {
  if (typeof name !== "string" || !(name in MACHINES)) {
    throw new ArgumentError(field, name, `must be one of ${MACHINE_NAMES.join(", ")}`, context);
  }
  return MACHINES[name as MachineName];
}

/** The SMMU costs of a preset with a command-queue variant (refused if the preset has no such variant). */
export function machineSmmuCosts(m: MachinePreset, cmdq: CmdqVariant, context = "machine"): Partial<SmmuCosts> {
  const v = m.cmdq[cmdq];
  if (v === undefined) {
    throw new ArgumentError("cmdq", cmdq, `must be one of the machine's command-queue variants: ${Object.keys(m.cmdq).join(", ")}`, context);
  }
  return { ...m.smmuCosts, ...v };
}
