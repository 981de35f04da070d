// iommu-sim: the Linux IOMMU DMA stack on an Arm SMMUv3, simulated. Public API.

import "./wasm-globals.js"; // types only: see the file
export { Simulator, type SimulatorOptions, type MemoryStats } from "./simulator.js";
export type { AssetOptions } from "./assets.js";
export {
  PROFILES, DEFAULT_PROFILE, kernelProfile, profileHas, BEHAVIOURS, BEHAVIOUR_COMMITS, describeKernel,
  type Profile, type KernelProfile, type Behaviour, type BehaviourOverrides,
} from "./profile.js";
export {
  PageTable, Prot, Quirk, FORMATS, PageTableConfigError,
  type PageTableConfig, type PageTableFormat, type Geometry, type MapResult,
  type UnmapOptions, type UnmapResult, type GatherMode, type TlbEvent, type DumpEntry, type WarnCode,
} from "./pgtable.js";
export { SmmuDomain, type SmmuDomainOptions } from "./smmu/domain.js";
export {
  Smmu, Device, DEFAULT_COSTS, DEFAULT_CPU_COSTS, type CpuCosts, type SmmuOptions, type SmmuWithOracle, type SmmuCosts, type SmmuStats, type CacheStats,
  type IotlbEntry, type IotlbSnapshot, IOTLB_SCOPES, type IotlbScope,
  type Fault, type FaultType, type SmmuCommandInput, type AccessResult, type AccessSegment, type ReplacementPolicy,
  SMMU_MODELS, type SmmuModel, type ContextBankState, ORACLE_MAX_PAGES,
} from "./smmu/smmu.js";
export {
  decodeCommand, formatCommandEvent, COMMAND_KINDS, type CommandKind, type SmmuCommand, type CommandEvent,
} from "./smmu/commands.js";
export { REGISTER_KINDS, formatRegisterEvent, type RegisterKind, type RegisterEvent } from "./smmu/registers.js";
export { DmaEngine, type DmaEngineOptions, type DmaEngineStats } from "./device/engine.js";
export { Oracle, type AccessClass, type OracleCounts, type Violation } from "./safety/oracle.js";
export {
  IovaDomain, IovaWrappedError, IOVA_ANCHOR_PFN, IOVA_WARN_TEXT,
  type IovaDomainOptions, type IovaRange, type RcacheState, type RcacheBin, type CpuRcache,
  type IovaTreeState, type IovaStats, type IovaWarning, type IovaWarnCode, type FastLoopSizes,
  type IovaEvent, type FlushQueueCounters, type FlushQueueTimerCounters,
} from "./iova.js";
export {
  DmaDomain, DmaDevice, DmaMappingError, SEED_VARIANTS,
  type DmaDomainOptions, type DmaDeviceOptions, type DmaMapOptions, type DmaStats, type SeedVariant,
  type DomainType, type DmaDirection,
} from "./dma.js";
export { WorkerPool, PoolRunFailure, type PoolOptions, type PoolRunOptions, type TaskContext, type TaskArgs } from "./pool.js";
export {
  IommuSimError, ArgumentError, ConfigError, WorkerError, UnknownOptionError, ForeignObjectError, SimulatorResourceError,
  MachineStoppedError,
} from "./errors.js";
export { parseRunReport, ReportError } from "./report/schema.js";
export { replayScript, normalizeTrace, ReplayError, type ReplayOptions } from "./replay/index.js";
export { runSelftest, type SelftestResult } from "./selftest.js";
export {
  explore, runSchedule, randomSchedules, formatSchedule, parseSchedule, describePpo, describeFootprints, ScheduleError,
  type Footprint, type Reduction, type ReductionStats, type MemoryModel, type AccessMode, type Regs, type Dep, type StepBase, type Step, type Thread, type Program,
  type StepRef, type Schedule, type TraceEntry, type Race, type RaceAccess, type Execution, type RunScheduleOptions,
  type ExploreOptions, type RandomOptions, type ExploreResult, type ScheduleViolation, type Witness, type FinalState,
} from "./explore/model.js";
export {
  parseLitmus, runLitmus, formatLitmus, litmusModel, litmusFound, LitmusError, LitmusRunError, LITMUS_MODELS, LITMUS_FLAGS, EXIT_CUT_SHORT,
  type LitmusTest, type LitmusModel, type LitmusOptions, type LitmusResult, type LitmusState, type LitmusRace,
  type LitmusRaceAccess, type LkmmFlag,
} from "./explore/litmus.js";
export { compileCore, type CoreSource } from "../bindings/loader.js";
export {
  exploreScenario, replayScenario, parseReplayLine, VERDICT_EXIT_CODES,
  type ExploreVerdict, type ExploreScenarioOptions, type ScenarioReport, type ReplayReport, type ReplayScenarioOptions,
} from "./explore/run.js";
export {
  SEED_RACE, TWO_UNMAPPERS, BUILTIN_SCENARIOS, buildScenario, validateScenario,
  type Scenario, type ScenarioOp, type BuiltScenario, type BuildOptions,
} from "./explore/scenario.js";
export { exportLitmus, type ExportLitmusOptions } from "./explore/litmus-export.js";
export {
  parseVariant, VARIANT_OPS, VARIANT_WORDS,
  type VariantDefinition, type VariantStepDef, type VariantOp, type VariantWord, type VariantAccess, type VariantSequence,
  type ResolvedVariant, type ResolvedSequence, type ResolvedStep, type VariantAction,
} from "./variants/vocabulary.js";
export { SEED_VARIANT_DEFINITIONS } from "./variants/seed.js";
export {
  runDmaStress, dmaStressScenario,
  type DmaStressOptions, type DmaStressReport, type DmaStressRole, type InjectedFailure,
} from "./scenarios/dma-stress.js";
export {
  parseRunScenario, ScenarioError, RUN_WORKLOAD_KINDS, BACKGROUND_WORKLOAD_KINDS, EVENT_ACTIONS,
  type RunScenario, type RunScenarioInput, type RunWorkload, type RunEvent, type RunDomain, type RunDevice,
  type PairsWorkload, type AttackerWorkload, type SwitcherWorkload,
} from "./run/scenario.js";
export {
  runScenario, startScenario, RunError,
  type RunOptions, type StartOptions, type ScenarioRun, type RunProgress,
  type RunFailure,
} from "./run/runner.js";
export { BUILTIN_RUN_SCENARIOS, builtinRunScenario, isBuiltinRunScenarioName, type BuiltinRunScenarioName } from "./run/builtins.js";
export { formatSummary } from "./report/text.js";
export type {
  RunReport, CpuReport, Histogram, SeriesPoint, ViolationReport, EventReport,
} from "./report/types.js";
export { VERSION } from "./version.js";
export {
  runMapBenchmark, formatMapBenchmark, mapBenchmarkStats, MAP_BENCHMARK_DEFAULTS,
  type MapBenchmarkOptions, type MapBenchmarkResult, type MapBenchmarkSums, type MapBenchmarkStats,
} from "./bench/map-benchmark.js";
export {
  MACHINES, MACHINE_NAMES, CMDQ_VARIANTS, machinePreset,
  type MachineName, type MachinePreset, type CmdqVariant, type PublishedFigure,
} from "./machines.js";
export { TIME_CODES, type TimeBreakdown } from "./cpu-time.js";
export {
  BUG_ZOO, findBug, runBug, UnknownBugError,
  type BugEntry, type BugForm, type BugFormResult, type BugRunResult,
} from "./bugs/index.js";
