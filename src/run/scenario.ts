// Run-scenario files: a JSON file (or a plain object) describing one run of workloads —
// NICs, storage, random mappers, map/unmap pairs, attacking devices, a CPU switching its
// domain strict → lazy again and again — on simulated CPUs spread over worker threads, with
// the SMMU, DMA domains and devices they use, timed events (a live switch to lazy mode,
// failing magazine allocations) and what the run is expected to find.
// (Not the explorer's scenarios: those are src/explore/scenario.ts.)
//
// parseRunScenario checks the structure with zod (types, ranges, unknown fields, defaults),
// then the rules that span fields (names that must exist or be unique, CPUs, workers), and
// returns the scenario with every default filled in. The first problem is thrown as a
// ScenarioError whose message is one line: `<source>: <field path>: <what was wrong>`.

import { MACHINES, MACHINE_NAMES, type MachineName } from "../machines.js";
import { z } from "zod";
import { ConfigError } from "../errors.js";
import { MAX_ADDRESS, didYouMean, isPowerOfTwo } from "../validate.js";
import { CORE_LIMITS } from "../core-limits.js";
import type { ScenarioEventAction } from "../tasks/scenario.js";
import { DMA_DOMAIN_OAS, SEED_VARIANTS, lazySwitchRefusal, type DomainType, type SeedVariant } from "../dma.js";
import { ArgumentError } from "../errors.js";
import { parseVariant, type VariantDefinition } from "../variants/vocabulary.js";
import {
  DEFAULT_IOTLB_ENTRIES, IOTLB_SCOPES, checkSmmuCosts, type IotlbScope, type ReplacementPolicy, type SmmuCosts, type SmmuModel,
  type SmmuOptions,
} from "../smmu/smmu.js";
import {
  DEFAULT_PROFILE, PROFILES, behaviourOverrideProblems, effectiveBehaviours, kernelText, normaliseOverrides, profileHas,
  type Behaviour, type BehaviourOverrides, type Profile,
} from "../profile.js";

export const RUN_WORKLOAD_KINDS = ["nic-rx", "nic-tx", "storage", "random", "pairs", "attacker", "switcher"] as const;
export type RunWorkloadKind = (typeof RUN_WORKLOAD_KINDS)[number];
/**
 * The kinds that run only alongside others — an attacker while its victim runs, a switcher
 * while its domain's CPUs map — waiting on those CPUs in wall time: a scenario with
 * `contention: true` cannot have them.
 */
export const BACKGROUND_WORKLOAD_KINDS = ["attacker", "switcher"] as const satisfies readonly RunWorkloadKind[];

/** A scenario's event actions: each one the worker carries out (src/tasks/scenario.ts SCENARIO_EVENT_ACTIONS). */
export const EVENT_ACTIONS = ["switch-to-lazy", "fail-magazine-alloc", "fail-worker"] as const satisfies readonly ScenarioEventAction[];
export type EventAction = (typeof EVENT_ACTIONS)[number];

// ---------------------------------------------------------------------------------------
// The resolved scenario: what parseRunScenario returns.

export interface RunScenario {
  name: string;
  description: string;
  profile: Profile;
  /** The profile's behaviours changed by name (the bug zoo's switch); absent: none. */
  behaviours?: BehaviourOverrides;
  /**
   * The machine preset whose costs and SMMU features the run takes (src/machines.ts): the
   * SMMU's costs under smmu.costs, its CPU costs, its range invalidation as the domains' default.
   */
  machine?: MachineName;
  seed: number;
  /** Worker threads; each runs some of the simulated CPUs. At most the CPUs workloads use. */
  workers: number;
  /** Simulated CPUs: every domain gets this many per-CPU IOVA caches and flush queues. */
  cpus: number;
  /** Passed to the SMMU model as given; what is left out takes the model's defaults. */
  smmu: RunSmmuOptions;
  domains: RunDomain[];
  devices: RunDevice[];
  workloads: RunWorkload[];
  events: RunEvent[];
  checks: RunChecks;
  /**
   * CPUs contend in modelled time: each worker runs its CPUs in modelled-time order and the
   * workers keep within a quantum of each other, so the command queue, the IOVA locks and
   * shared PTE lines make CPUs wait (assembly/cpu-time.ts). Not with an attacker or a
   * switcher, which wait on other CPUs in wall time.
   */
  contention: boolean;
  timeoutMs: number;
}

export interface RunSmmuOptions {
  /** The SMMU's architecture and so its driver: "v3" (default), "v2" (MMU-500), "v1". */
  model?: SmmuModel;
  /** The IOTLB's geometry, replacement and scope (SmmuOptions.iotlb: "device", a main TLB per device, by default). */
  iotlb?: { entries?: number; ways?: number; policy?: ReplacementPolicy; scope?: IotlbScope };
  walkCache?: [number, number, number, number];
  microTlb?: number;
  /** Table walks the SMMU runs at once (SmmuOptions.walkers). */
  walkers?: number;
  invalidateAt?: "consume" | "sync";
  ttl?: "ignore" | "honour";
  costs?: Partial<SmmuCosts>;
  /** Fault injection for checking checkers: a broken SMMU whose TLBIs invalidate nothing. */
  injectDroppedInvalidations?: boolean;
}

export type Granule = 4096 | 16384 | 65536;
/** A domain's output address bits: one of the sizes an SMMU encodes (DMA_DOMAIN_OAS). */
export type OutputBits = (typeof DMA_DOMAIN_OAS)[number];

export interface RunDomain {
  name: string;
  /** DMA is strict, DMA-FQ lazy. */
  type: DomainType;
  format: "arm-lpae-s1";
  granule: Granule;
  ias: number;
  oas: OutputBits;
  /** A seed variant's name, or a variant definition of the user's own (the core interprets either). */
  variant: SeedVariant | VariantDefinition;
  fqMode: "percpu" | "single";
  forcedac: boolean;
  deferTableFree: boolean;
  rangeInvalidation: boolean;
  /** IOVA_MAG_SIZE when not the profile's (a what-if). */
  magazineSize?: number;
}

export interface RunDevice {
  name: string;
  domain: string;
  streamId: number;
  dmaMask: number;
  bus: "pci" | "platform";
  coherent: boolean;
}

interface WorkloadBase {
  /** Given, or `${kind}${index}`. */
  name: string;
  /** Simulated CPUs the workload runs on, each used by no other workload. */
  cpus: number[];
  /** The worker thread that runs its CPUs; absent: CPUs are dealt round-robin over the workers. */
  worker?: number;
}

interface WorkloadCommon extends WorkloadBase {
  device: string;
  /** Operations per CPU. */
  ops: number;
}

export interface NicRxWorkload extends WorkloadCommon {
  kind: "nic-rx";
  ring: number;
  bufferBytes: number;
}

export interface NicTxWorkload extends WorkloadCommon {
  kind: "nic-tx";
  ring: number;
  minBytes: number;
  maxBytes: number;
}

export interface StorageWorkload extends WorkloadCommon {
  kind: "storage";
  queueDepth: number;
  /** Most segments per request. */
  segments: number;
  minBytes: number;
  maxBytes: number;
}

export interface RandomWorkload extends WorkloadCommon {
  kind: "random";
  /** Mappings kept live. */
  live: number;
  minBytes: number;
  maxBytes: number;
}

/** Map, one device write, unmap: the simplest driver (and the seed race's mapper). */
export interface PairsWorkload extends WorkloadCommon {
  kind: "pairs";
  minBytes: number;
  maxBytes: number;
}

/** A malicious device: keeps the IOVAs its driver unmapped and retries them. */
export interface AttackerWorkload extends WorkloadBase {
  kind: "attacker";
  device: string;
  /** The workload (one that maps) whose IOVAs it keeps; `device` is the victim's device. */
  victim: string;
  /** Old IOVAs kept and retried. */
  keep: number;
  cpus: [number];
  /** Operations; absent: for as long as its victim runs. */
  ops?: number;
}

/**
 * A CPU switching its domain strict → lazy again and again while the domain's CPUs map
 * (assembly/workload/switcher.ts): each operation parks them, makes the domain strict again
 * (a TEST HOOK, not kernel behaviour), lets them go and switches it to lazy in its variant.
 */
export interface SwitcherWorkload extends WorkloadBase {
  kind: "switcher";
  domain: string;
  cpus: [number];
  /** Rounds; absent: for as long as the workloads mapping in its domain run. */
  ops?: number;
  /** Spins (about a nanosecond each) it waits with the domain strict, and again with it lazy. */
  gap: number;
}

export type RunWorkload = NicRxWorkload | NicTxWorkload | StorageWorkload | RandomWorkload | PairsWorkload |
  AttackerWorkload | SwitcherWorkload;
/** A workload of BACKGROUND_WORKLOAD_KINDS. */
export type BackgroundWorkload = Extract<RunWorkload, { kind: (typeof BACKGROUND_WORKLOAD_KINDS)[number] }>;

export function isBackground<W extends { kind: RunWorkloadKind }>(w: W): w is Extract<W, { kind: (typeof BACKGROUND_WORKLOAD_KINDS)[number] }> {
  return (BACKGROUND_WORKLOAD_KINDS as readonly RunWorkloadKind[]).includes(w.kind);
}

/** When an event fires: after a fraction or a number of the event CPU's own ops, or at modelled time on that CPU. */
/** When an event fires: exactly one of a fraction of its CPU's operations, an operation count, or a modelled time. */
export type EventTime =
  | { fraction: number; ops?: never; timeMs?: never }
  | { ops: number; fraction?: never; timeMs?: never }
  | { timeMs: number; fraction?: never; ops?: never };

interface EventCommon {
  at: EventTime;
  /** The CPU whose progress times the event (and that runs it). */
  cpu: number;
}

export interface SwitchToLazyEvent extends EventCommon {
  action: "switch-to-lazy";
  domain: string;
}

/**
 * The domain's allocations of new magazines fail (failatomic) for the next `count` operations
 * of the event's CPU, on every CPU; if that CPU finishes first, until the run ends.
 */
export interface FailMagazineAllocEvent extends EventCommon {
  action: "fail-magazine-alloc";
  domain: string;
  count: number;
}

/**
 * Tests only: the worker running `cpu` fails mid-run — throws (`throw`), stops the run and
 * then exits (`exit`), or exits at once without a word (`crash`).
 */
export interface FailWorkerEvent extends EventCommon {
  action: "fail-worker";
  mode: "throw" | "exit" | "crash";
}

export type RunEvent = SwitchToLazyEvent | FailMagazineAllocEvent | FailWorkerEvent;

export interface RunChecks {
  oracle: boolean;
  stopOnViolation: boolean;
  expect: "clean" | "violations" | "any";
}

// ---------------------------------------------------------------------------------------
// The error.

/** A scenario that cannot be run. `message` is the first problem, on one line. */
export class ScenarioError extends ConfigError {
  override name = "ScenarioError";
  /**
   * @param source where the scenario came from (a file path, or "scenario")
   * @param path the field path of the first problem (`(root)` for the whole file)
   * @param issues every problem found, one full line each
   */
  constructor(readonly source: string, readonly path: string, readonly issues: readonly string[]) {
    const more = issues.length - 1;
    super(issues[0] + (more > 0 ? ` (and ${more} more problem${more === 1 ? "" : "s"})` : ""));
  }
}

export type Path = readonly PropertyKey[];
export interface Problem { path: Path; message: string }

/** `domains[0].granule`; `(root)` for the empty path. */
export function formatPath(path: Path): string {
  if (path.length === 0) return "(root)";
  return path.map((key, i) => {
    if (typeof key === "number") return `[${key}]`;
    const name = String(key);
    if (!/^[A-Za-z_$][\w$-]*$/.test(name)) return `[${JSON.stringify(name)}]`;
    return i === 0 ? name : `.${name}`;
  }).join("");
}

function scenarioError(source: string, problems: readonly Problem[]): ScenarioError {
  const oneLine = (s: string) => s.replace(/\s*[\r\n]+\s*/g, " ");
  const lines = problems.map((p) => oneLine(`${source}: ${formatPath(p.path)}: ${p.message}`));
  return new ScenarioError(source, formatPath(problems[0]!.path), lines);
}

// ---------------------------------------------------------------------------------------
// Words for values and expectations.

/** A value as a message shows it; `withType` adds its type: `"many" (a string)`. */
function found(v: unknown, withType = false): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return v.length === 0 ? "an empty array" : "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") {
    const s = v.length > 40 ? JSON.stringify(v.slice(0, 40)).slice(0, -1) + "…\"" : JSON.stringify(v);
    return withType ? `${s} (a string)` : s;
  }
  const typed = typeof v === "number" || typeof v === "boolean" || typeof v === "bigint";
  return withType && typed ? `${String(v)} (a ${typeof v})` : String(v);
}

/** `nic, disk`; `none` for an empty list. */
function names(list: readonly unknown[]): string {
  return list.length === 0 ? "none" : list.join(", ");
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** What each leaf schema expects, in words (`an integer 1..512`), and its noun (`an integer`). */
interface Expectation { words: string; noun: string }
const EXPECTED = new WeakMap<object, Expectation>();

/** @internal `schema`, whose errors say what it expects in `words` (the sweep file's schema uses it too). */
export function expecting<T extends z.ZodType>(schema: T, words: string, noun = words): T {
  EXPECTED.set(schema, { words, noun });
  return schema;
}

// Upper limits of a billion or more are sanity caps: a type error leaves them out ("an
// integer ≥ 1"); a value over one is told the cap.
const CAP = 1e9;

/**
 * A number in [min, max] that must be an integer: the range is checked first, so that a
 * value past 2^53 is told this field's own bound — z.int() checks its safe-integer range
 * first, and the first issue of a field is the one told.
 */
function boundedInt(min: number, max: number, words: string, noun: string) {
  const schema = z.number().min(min).max(max).int();
  // A fraction's issue comes from the int check, which must say the same as the schema.
  for (const check of schema._zod.def.checks ?? []) EXPECTED.set(check, { words, noun });
  return expecting(schema, words, noun);
}

/** @internal An integer min..max, said so in its errors. */
export function integer(min: number, max: number) {
  const words = max >= CAP ? `an integer ≥ ${min}` : `an integer ${min}..${max}`;
  return boundedInt(min, max, words, "an integer");
}

function powerOfTwo(min: number, max: number) {
  const words = `a power of two ${min}..${max}`;
  const schema = boundedInt(min, max, words, "a power of two")
    .refine(isPowerOfTwo, { error: (iss) => `expected ${words}, found ${found(iss.input)}` });
  return expecting(schema, words, "a power of two");
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return expecting(z.enum(values), `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`);
}

const bool = () => expecting(z.boolean(), "true or false");

/** Behaviour names; which ones (known, and whether the profile has them) is checked after parsing, with a did-you-mean. */
const behaviourList = () => z.array(expecting(z.custom<Behaviour>((v) => typeof v === "string"),
  "a behaviour's name (`iommu-sim profiles` lists them)", "a string"));

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const IDENTIFIER_WORDS = "an identifier (up to 64 letters, digits, _ or -, not starting with a digit or -)";

/** A name the scenario gives something. */
const identifier = () => expecting(z.string().regex(IDENTIFIER), IDENTIFIER_WORDS, "a string");

/** A name referring to something named elsewhere in the scenario; checked after parsing. */
const reference = (what: string) => expecting(z.string(), `the name of ${what}`, "a string");

// ---------------------------------------------------------------------------------------
// zod issue → message (the body after `<source>: <path>: `).

export function messageFor(iss: z.core.$ZodRawIssue): string {
  switch (iss.code) {
    case "invalid_type": return invalidType(iss);
    case "invalid_value": return invalidValue(iss.values, iss.input);
    case "too_small": return outOfRange(iss, "≥", ">", iss.minimum);
    case "too_big": return outOfRange(iss, "≤", "<", iss.maximum);
    case "invalid_format": return `expected ${expected(iss.schema ?? iss.inst)}, found ${found(iss.input)}`;
    case "unrecognized_keys": return unknownField(iss.keys, allowedKeys(iss.inst));
    case "invalid_union": return invalidUnion(iss);
    default: return `expected ${expected(iss.inst)}, found ${found(iss.input, true)}`;
  }
}

function expected(schema: unknown, word: "words" | "noun" = "words"): string {
  const known = typeof schema === "object" && schema !== null ? EXPECTED.get(schema) : undefined;
  if (known) return known[word];
  const type = schemaType(schema);
  if (type === "array" || type === "tuple") return "an array";
  if (type === "object") return "an object";
  return type ? `a value of type ${type}` : "a valid value";
}

/** The zod type of a schema ("object", "tuple", ...); undefined for a check. */
function schemaType(schema: unknown): string | undefined {
  const def = (schema as { _zod?: { def?: { type?: unknown } } } | undefined)?._zod?.def;
  return typeof def?.type === "string" ? def.type : undefined;
}

function invalidType(iss: z.core.$ZodRawIssue<z.core.$ZodIssueInvalidType>): string {
  const want = expected(iss.inst);
  if (iss.input === undefined) return `required field missing (expected ${want})`;
  // A number where an integer is expected: the value says it all.
  const withType = !(iss.expected === "int" && typeof iss.input === "number");
  return `expected ${want}, found ${found(iss.input, withType)}`;
}

function invalidValue(values: readonly unknown[], input: unknown): string {
  const options = values.map((v) => (typeof v === "string" ? JSON.stringify(v) : String(v)));
  const want = options.length === 1 ? options[0] : `one of ${options.join(", ")}`;
  if (input === undefined) return `required field missing (expected ${want})`;
  const sameType = values.some((v) => typeof v === typeof input);
  return `expected ${want}, found ${found(input, !sameType)}`;
}

type RangeIssue = z.core.$ZodRawIssue<z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig>;

function outOfRange(iss: RangeIssue, inclusive: string, exclusive: string, bound: number | bigint): string {
  const input = iss.input;
  if (iss.origin === "array" && Array.isArray(input)) return arrayLength(iss, inclusive, Number(bound));
  if (iss.origin === "string" && typeof input === "string") {
    const least = inclusive === "≥" ? "at least" : "at most";
    return `expected ${least} ${plural(Number(bound), "character")}, found ${found(input)} (${plural(input.length, "character")})`;
  }
  const noun = expected(iss.schema ?? iss.inst, "noun");
  return `expected ${noun} ${iss.inclusive === false ? exclusive : inclusive} ${bound}, found ${found(input)}`;
}

function arrayLength(iss: RangeIssue, inclusive: string, bound: number): string {
  const exact = iss.exact || schemaType(iss.schema ?? iss.inst) === "tuple";
  const want = exact ? "exactly" : inclusive === "≥" ? "at least" : "at most";
  const n = (iss.input as unknown[]).length;
  return `expected ${want} ${plural(bound, "entry", "entries")}, found ${n}`;
}

/** One unknown field gets the nearest allowed one suggested (a typo is the usual cause). */
function unknownField(keys: readonly string[], allowed: readonly string[]): string {
  const near = keys.length === 1 ? didYouMean(keys[0]!, allowed) : undefined;
  return `unknown field (${near ? `did you mean ${JSON.stringify(near)}? ` : ""}allowed: ${names(allowed)})`;
}

function allowedKeys(inst: unknown): string[] {
  const shape = (inst as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

function invalidUnion(iss: z.core.$ZodRawIssue<z.core.$ZodIssueInvalidUnion>): string {
  const { discriminator, options } = iss as { discriminator?: string; options?: unknown[] };
  if (discriminator && options) {
    const value = (iss.input as Record<string, unknown> | undefined)?.[discriminator];
    return invalidValue(options, value);
  }
  if (iss.input === undefined) return `required field missing (expected ${expected(iss.inst)})`;
  return `expected ${expected(iss.inst)}, found ${found(iss.input, true)}`;
}

/**
 * A union's failure told as the failure inside the one branch whose shape the value has, at
 * its own path: a range `{ from, to: "x" }` is told `to: expected a number`, not that it is
 * neither a list nor a range. A branch has the value's shape when none of its issues says the
 * value itself is of another type or value (a list's branch, given an object, does); one
 * about its length or its unknown fields still means the shape was right. With no such
 * branch, or several, the union's own message says what it takes.
 */
function intoBranch(iss: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (iss.code !== "invalid_union") return [iss];
  const shaped = iss.errors.filter((branch) => branch.length > 0 && !branch.some(isOtherShape));
  if (shaped.length !== 1) return [iss];
  return unknownFieldsFirst(shaped[0]!).flatMap((b) => intoBranch({ ...b, path: [...iss.path, ...b.path] }));
}

/**
 * @internal Issues with an unknown field first (otherwise in order): a misspelt field (`stp`)
 * is the likely cause of a missing one (`step`), so it is the one to tell.
 */
export function unknownFieldsFirst(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return [...issues].sort((a, b) => Number(b.code === "unrecognized_keys") - Number(a.code === "unrecognized_keys"));
}

/** Whether an issue says the value at a union's own path is not of its branch's type. */
const isOtherShape = (b: z.core.$ZodIssue): boolean =>
  b.path.length === 0 && (b.code === "invalid_type" || b.code === "invalid_value" || b.code === "invalid_union");

/** Issues as problems, one per field: an unknown-fields issue becomes one problem per
 *  field, and a field failing several checks (0 is neither ≥ 1 nor a power of two) keeps
 *  the first. */
export function problemsOf(issues: readonly z.core.$ZodIssue[]): Problem[] {
  const all = issues.flatMap(intoBranch).flatMap((iss) => iss.code === "unrecognized_keys"
    ? iss.keys.map((key) => ({ path: [...iss.path, key], message: iss.message }))
    : [{ path: iss.path, message: iss.message }]);
  const seen = new Set<string>();
  return all.filter((p) => !seen.has(formatPath(p.path)) && !!seen.add(formatPath(p.path)));
}

// ---------------------------------------------------------------------------------------
// The schema: structure, types, ranges and defaults.

const PROFILE_NAMES = PROFILES as unknown as readonly [Profile, ...Profile[]];
const MACHINE_NAME_LIST = MACHINE_NAMES as unknown as readonly [MachineName, ...MachineName[]];
const VARIANT_WORDS = `one of ${SEED_VARIANTS.map((v) => JSON.stringify(v)).join(", ")}, or a variant definition (an object)`;

/** What is wrong with a domain's variant (the vocabulary's own check, for a definition), or undefined. */
function variantProblem(v: unknown): string | undefined {
  if (typeof v === "string" && (SEED_VARIANTS as readonly string[]).includes(v)) return undefined;
  if (typeof v !== "object" || v === null || Array.isArray(v)) return `expected ${VARIANT_WORDS}, found ${found(v, true)}`;
  try {
    parseVariant(v, "");
    return undefined;
  } catch (e) {
    if (e instanceof ArgumentError) return e.message;
    throw e;
  }
}

const variantField = () => expecting(
  z.custom<SeedVariant | VariantDefinition>((v) => variantProblem(v) === undefined, { error: (iss) => variantProblem(iss.input) }),
  VARIANT_WORDS, "a variant");
const DOMAIN_TYPES = ["DMA", "DMA-FQ"] as const satisfies readonly DomainType[];
const GRANULES = [4096, 16384, 65536] as const;
const MAX_BYTES = 4 * 1024 * 1024;
const { KEPT_MAX, MAG_SIZE_MAX, MAX_DMA_CPUS, MAX_DMA_DEVICES, MAX_DMA_DOMAINS, MAX_STREAMS, MAX_THREADS, MAX_WALKERS, RING_MAX } = CORE_LIMITS;
/** Workers: every thread slot but the orchestrator's. */
const MAX_WORKERS = MAX_THREADS - 1;
/** A storage request's segments at most; a queue's requests share the CPU's RING_MAX buffers. */
const MAX_SEGMENTS = 8;

const cost = () => integer(0, 2 ** 31);

const smmuSchema = z.strictObject({
  model: oneOf(["v3", "v2", "v1"] as const satisfies readonly SmmuModel[]).optional(),
  iotlb: z.strictObject({
    entries: powerOfTwo(16, 65536).optional(),
    // The model's IOTLB has at most 64 ways (and no more than its entries: checked below).
    ways: powerOfTwo(1, 64).optional(),
    policy: oneOf(["lru", "rr", "random"]).optional(),
    scope: oneOf(IOTLB_SCOPES).optional(),
  }).optional(),
  walkCache: z.tuple([integer(0, 4096), integer(0, 4096), integer(0, 4096), integer(0, 4096)]).optional(),
  microTlb: integer(0, 256).optional(),
  walkers: integer(1, MAX_WALKERS).optional(),
  invalidateAt: oneOf(["consume", "sync"]).optional(),
  ttl: oneOf(["ignore", "honour"]).optional(),
  costs: z.strictObject({
    pteRead: cost().optional(), iotlbHit: cost().optional(), iotlbMiss: cost().optional(),
    walkCacheHit: cost().optional(), microTlbHit: cost().optional(), tlbi: cost().optional(),
    sync: cost().optional(), cmdqClaim: cost().optional(), cmdqSpin: cost().optional(),
    cmdqSpinMax: integer(0, 128).optional(), mmio: cost().optional(), syncWake: cost().optional(),
    regWrite: cost().optional(), statusPoll: cost().optional(), tlbSync: cost().optional(),
  }).optional(),
  injectDroppedInvalidations: bool().optional(),
});

const FORMAT_WORDS = `"arm-lpae-s1" (the only format dma-iommu uses on SMMUv3)`;

const domainSchema = z.strictObject({
  name: identifier(),
  type: oneOf(DOMAIN_TYPES).default("DMA"),
  format: z.literal("arm-lpae-s1", {
    error: (iss) => `expected ${FORMAT_WORDS}, found ${found(iss.input, typeof iss.input !== "string")}`,
  }).default("arm-lpae-s1"),
  granule: expecting(z.literal(GRANULES), `one of ${GRANULES.join(", ")}`).default(4096),
  ias: integer(32, 48).default(48),
  oas: expecting(z.literal(DMA_DOMAIN_OAS), `one of ${DMA_DOMAIN_OAS.join(", ")}`).default(48),
  variant: variantField().default("merged"),
  fqMode: oneOf(["percpu", "single"]).default("percpu"),
  forcedac: bool().default(false),
  deferTableFree: bool().default(false),
  rangeInvalidation: bool().optional(),
  magazineSize: integer(1, MAG_SIZE_MAX).optional(),
});

const deviceSchema = z.strictObject({
  name: identifier(),
  domain: reference("a domain"),
  streamId: integer(0, MAX_STREAMS - 1),
  dmaMask: integer(12, 64).default(64),
  bus: oneOf(["pci", "platform"]).default("pci"),
  coherent: bool().default(true),
});

const cpuIndex = () => integer(0, 2 ** 31);

const workloadCommon = {
  name: identifier().optional(),
  device: reference("a device"),
  cpus: z.array(cpuIndex()).min(1),
  ops: integer(1, 1e9),
  worker: integer(0, MAX_WORKERS - 1).optional(),
};

/** minBytes with its default, and maxBytes: its default (DEFAULT_MAX_BYTES) is applied after
 *  the check against minBytes, so that the message can say the default was too small. */
function sizes(min: number, max: number, minBytes: number) {
  return { minBytes: integer(min, max).default(minBytes), maxBytes: integer(min, max).optional() };
}

const DEFAULT_MAX_BYTES: Record<Exclude<RunWorkloadKind, "nic-rx" | "attacker" | "switcher">, number> = {
  "nic-tx": 1514, storage: 131072, random: 65536, pairs: 4096,
};

const workloadSchema = expecting(z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("nic-rx"), ...workloadCommon,
    ring: integer(1, RING_MAX).default(256), bufferBytes: integer(64, 65536).default(2048),
  }),
  z.strictObject({
    kind: z.literal("nic-tx"), ...workloadCommon,
    ring: integer(1, RING_MAX).default(256), ...sizes(1, 65536, 64),
  }),
  z.strictObject({
    kind: z.literal("storage"), ...workloadCommon,
    queueDepth: integer(1, RING_MAX / MAX_SEGMENTS).default(32), segments: integer(1, MAX_SEGMENTS).default(4),
    ...sizes(512, MAX_BYTES, 4096),
  }),
  z.strictObject({
    kind: z.literal("random"), ...workloadCommon,
    live: integer(1, RING_MAX).default(64), ...sizes(1, MAX_BYTES, 4096),
  }),
  z.strictObject({
    kind: z.literal("pairs"), ...workloadCommon, ...sizes(1, MAX_BYTES, 4096),
  }),
  z.strictObject({
    kind: z.literal("attacker"), ...workloadCommon,
    device: reference("a device").optional(),
    cpus: z.tuple([cpuIndex()]),
    ops: integer(1, 1e9).optional(),
    victim: reference("a workload"),
    keep: integer(1, KEPT_MAX).default(32),
  }),
  z.strictObject({
    kind: z.literal("switcher"), name: identifier().optional(), worker: integer(0, MAX_WORKERS - 1).optional(),
    domain: reference("a domain"),
    cpus: z.tuple([cpuIndex()]),
    ops: integer(1, 1e9).optional(),
    gap: integer(0, 1e9).default(5000),
  }),
]), "an object");

/**
 * The latest modelled time an event may be due at, in ms: the worker counts a CPU's clock in
 * whole ns, exact in a double up to 2^53 − 1 (MAX_ADDRESS), about 104 days.
 */
export const MAX_EVENT_MS = Math.floor(MAX_ADDRESS / 1e6);

const AT_WORDS = `an object with one of "fraction" (of the CPU's ops, in (0, 1]), "ops" (≥ 1) or "timeMs" (> 0)`;

const atSchema = expecting(z.strictObject({
  fraction: expecting(z.number().gt(0).max(1), "a number > 0 and ≤ 1", "a number").optional(),
  ops: integer(1, 1e9).optional(),
  timeMs: expecting(z.number().gt(0).max(MAX_EVENT_MS), `a number > 0 and ≤ ${MAX_EVENT_MS}`, "a number").optional(),
}).refine((at) => [at.fraction, at.ops, at.timeMs].filter((x) => x !== undefined).length === 1, {
  error: (iss) => `expected exactly one of "fraction", "ops", "timeMs", found ${
    Object.keys(iss.input as object).length === 0 ? "none" : Object.keys(iss.input as object).map((k) => JSON.stringify(k)).join(" and ")}`,
}), AT_WORDS) as unknown as z.ZodType<EventTime, EventTime>;

const eventCommon = { at: atSchema, cpu: cpuIndex().optional() };

const eventSchema = expecting(z.discriminatedUnion("action", [
  z.strictObject({ ...eventCommon, action: z.literal("switch-to-lazy"), domain: reference("a domain") }),
  z.strictObject({
    ...eventCommon, action: z.literal("fail-magazine-alloc"), domain: reference("a domain"),
    count: integer(1, 1e6).default(1000),
  }),
  z.strictObject({ ...eventCommon, action: z.literal("fail-worker"), mode: oneOf(["throw", "exit", "crash"]).default("throw") }),
]), "an object");

const checksSchema = z.strictObject({
  oracle: bool().default(true),
  stopOnViolation: bool().default(false),
  expect: oneOf(["clean", "violations", "any"]).default("clean"),
});

/** @internal The scenario schema itself (the sweep checks its field paths against it: src/sweep/fields.ts). */
export const scenarioSchema = z.strictObject({
  name: expecting(z.string().min(1).max(64), "a string of 1..64 characters", "a string"),
  description: expecting(z.string(), "a string").default(""),
  profile: oneOf(PROFILE_NAMES).default(DEFAULT_PROFILE),
  behaviours: z.strictObject({ with: behaviourList().optional(), without: behaviourList().optional() }).optional(),
  machine: oneOf(MACHINE_NAME_LIST).optional(),
  seed: integer(0, 2 ** 32 - 1).default(1),
  workers: integer(1, MAX_WORKERS).default(1),
  cpus: integer(1, MAX_DMA_CPUS),
  smmu: smmuSchema.prefault({}),
  domains: z.array(domainSchema).min(1).max(MAX_DMA_DOMAINS),
  devices: z.array(deviceSchema).min(1).max(MAX_DMA_DEVICES),
  workloads: z.array(workloadSchema).min(1).max(64),
  events: z.array(eventSchema).max(64).default(() => []),
  checks: checksSchema.prefault({}),
  contention: bool().default(false),
  timeoutMs: integer(1000, 3_600_000).default(600_000),
});

// What a scenario file (or object) may contain, written as plain types so that the published
// declarations need no schema library; the compiler checks it is exactly the schema's input.

/** `T` with the fields a file may leave out (those that have defaults) optional; `K` required. */
type WithDefaults<T, K extends keyof T> = Omit<Partial<T>, K> & Pick<T, K>;

/** What a scenario file (or object) may contain: a field with a default may be left out. */
export interface RunScenarioInput {
  name: string;
  description?: string;
  profile?: Profile;
  behaviours?: { with?: Behaviour[]; without?: Behaviour[] };
  machine?: MachineName;
  seed?: number;
  workers?: number;
  cpus: number;
  smmu?: RunSmmuOptions;
  domains: WithDefaults<RunDomain, "name">[];
  devices: WithDefaults<RunDevice, "name" | "domain" | "streamId">[];
  workloads: (
    | WithDefaults<NicRxWorkload, "kind" | "device" | "cpus" | "ops">
    | WithDefaults<NicTxWorkload, "kind" | "device" | "cpus" | "ops">
    | WithDefaults<StorageWorkload, "kind" | "device" | "cpus" | "ops">
    | WithDefaults<RandomWorkload, "kind" | "device" | "cpus" | "ops">
    | WithDefaults<PairsWorkload, "kind" | "device" | "cpus" | "ops">
    | WithDefaults<AttackerWorkload, "kind" | "cpus" | "victim">
    | WithDefaults<SwitcherWorkload, "kind" | "cpus" | "domain">
  )[];
  events?: (
    | WithDefaults<SwitchToLazyEvent, "action" | "at" | "domain">
    | WithDefaults<FailMagazineAllocEvent, "action" | "at" | "domain">
    | WithDefaults<FailWorkerEvent, "action" | "at">
  )[];
  checks?: Partial<RunChecks>;
  contention?: boolean;
  timeoutMs?: number;
}

type SchemaInput = z.input<typeof scenarioSchema>;
type _InputIsTheSchemas = Assert<SchemaInput extends RunScenarioInput ? (RunScenarioInput extends SchemaInput ? true : false) : false>;

type Parsed = z.output<typeof scenarioSchema>;
type ParsedWorkload = Parsed["workloads"][number];

// The resolved types and the SMMU model's options must agree with the schema.
type Assert<T extends true> = T;
type _SmmuFits = Assert<RunSmmuOptions extends SmmuOptions ? true : false>;
type _SmmuMatches = Assert<Parsed["smmu"] extends RunSmmuOptions ? true : false>;

// ---------------------------------------------------------------------------------------
// Rules across fields, after parsing.

class Problems {
  readonly list: Problem[] = [];
  add(path: Path, message: string): void {
    this.list.push({ path, message });
  }
}

const workloadName = (w: ParsedWorkload, i: number) => w.name ?? `${w.kind}${i}`;

function cpusText(n: number): string {
  return n === 1 ? "cpu 0" : `cpus 0..${n - 1}`;
}

function checkUnique<T>(list: readonly T[], section: string, field: string, key: (t: T, i: number) => unknown,
                        say: (value: unknown, first: number) => string, out: Problems): void {
  const seen = new Map<unknown, number>();
  list.forEach((item, i) => {
    const k = key(item, i);
    const first = seen.get(k);
    if (first === undefined) seen.set(k, i);
    else out.add([section, i, field], say(k, first));
  });
}

function checkSmmu(p: Parsed, out: Problems): void {
  const iotlb = p.smmu.iotlb;
  const entries = iotlb?.entries ?? DEFAULT_IOTLB_ENTRIES;
  if (iotlb?.ways !== undefined && iotlb.ways > entries) {
    const given = iotlb.entries === undefined ? " (the default)" : "";
    out.add(["smmu", "iotlb", "ways"], `expected at most iotlb.entries (${entries}${given}), found ${iotlb.ways}`);
  }
  checkSmmuCostRules(p, out);
}

/**
 * The rules across SMMU costs (a CMD_SYNC includes its claim, …) are createSmmu's
 * (checkSmmuCosts), asked here of the costs the run will give it — a machine preset's with the
 * file's over them — so that a file breaking one is told so by its field path before a run
 * starts, not by createSmmu's argument name when a worker sets the SMMU up.
 */
function checkSmmuCostRules(p: Parsed, out: Problems): void {
  const name = "smmu.costs";
  try {
    checkSmmuCosts(smmuCosts(p), "scenario", name);
  } catch (e) {
    if (!(e instanceof ArgumentError) || !e.argument.startsWith(`${name}.`)) throw e;
    const from = p.machine === undefined ? "the defaults" : `machine ${found(p.machine)}'s, then the defaults`;
    out.add(["smmu", "costs", e.argument.slice(name.length + 1)],
      `${e.expected}, found ${found(e.value)} (the costs the scenario does not give are ${from})`);
  }
}

/** The SMMU costs a run gives createSmmu: the machine preset's, the file's own over them. */
function smmuCosts(p: Parsed): Partial<SmmuCosts> | undefined {
  const m = p.machine === undefined ? undefined : MACHINES[p.machine];
  return m ? { ...m.smmuCosts, ...(p.smmu.costs ?? {}) } : p.smmu.costs;
}

/** Whether the scenario's kernel (its profile with its behaviour overrides) has `b`. */
function kernelHas(p: Parsed, b: Behaviour): boolean {
  return effectiveBehaviours(p.profile, p.behaviours).includes(b);
}

/** `profile "5.15"`, or with overrides `kernel "5.15 without …"`. */
function kernelWords(p: Parsed): string {
  const o = normaliseOverrides(p.behaviours);
  // Unchecked words: the overrides may be what is wrong (checkBehaviours says so).
  return o ? `kernel is ${found(kernelText(p.profile, o))}` : `profile is ${found(p.profile)}`;
}

function checkBehaviours(p: Parsed, out: Problems): void {
  for (const problem of behaviourOverrideProblems(p.profile, p.behaviours)) {
    out.add(["behaviours", ...problem.path], `${problem.message} (the scenario's profile is ${found(p.profile)})`);
  }
}

function checkDomains(p: Parsed, out: Problems): void {
  checkUnique(p.domains, "domains", "name", (d) => d.name,
    (v, first) => `the name ${found(v)} is already used by domains[${first}]`, out);
  p.domains.forEach((d, i) => {
    if (d.fqMode === "single" && !kernelHas(p, "DMA_FQ_SINGLE")) {
      const have = PROFILES.filter((q) => profileHas(q, "DMA_FQ_SINGLE")).map((q) => JSON.stringify(q)).join(" or ");
      out.add(["domains", i, "fqMode"], `"single" needs profile ${have}, a kernel with the single flush queue ` +
        `(the scenario's ${kernelWords(p)})`);
    }
  });
}

function checkDevices(p: Parsed, out: Problems): void {
  const named = (v: unknown, first: number) => `the name ${found(v)} is already used by devices[${first}]`;
  checkUnique(p.devices, "devices", "name", (d) => d.name, named, out);
  checkUnique(p.devices, "devices", "streamId", (d) => d.streamId,
    (v, first) => `stream ID ${v} is already used by device ${found(p.devices[first]!.name)}`, out);
  const domains = p.domains.map((d) => d.name);
  p.devices.forEach((d, i) => {
    if (!domains.includes(d.domain)) {
      out.add(["devices", i, "domain"], `no domain named ${found(d.domain)} (domains: ${names(domains)})`);
    }
  });
}

function checkWorkloads(p: Parsed, out: Problems): void {
  checkUnique(p.workloads, "workloads", "name", workloadName,
    (v, first) => `the name ${found(v)} is already used by workloads[${first}]`, out);
  const devices = p.devices.map((d) => d.name);
  p.workloads.forEach((w, i) => {
    if ("device" in w && w.device !== undefined && !devices.includes(w.device)) {
      out.add(["workloads", i, "device"], `no device named ${found(w.device)} (devices: ${names(devices)})`);
    }
  });
}

/** The workloads that map and unmap through a device of `domain` (what a switcher serves). */
function mappersOf(p: Parsed, domain: string): ParsedWorkload[] {
  const devices = new Set(p.devices.filter((d) => d.domain === domain).map((d) => d.name));
  return p.workloads.filter((w) => !isBackground(w) && "device" in w && devices.has(w.device!));
}

function checkSwitchers(p: Parsed, out: Problems): void {
  const domains = p.domains.map((d) => d.name);
  const switcherOf = new Map<string, string>();
  p.workloads.forEach((w, i) => {
    if (w.kind !== "switcher") return;
    const at = ["workloads", i, "domain"];
    const other = switcherOf.get(w.domain);
    switcherOf.set(w.domain, other ?? workloadName(w, i));
    const devices = p.devices.filter((d) => d.domain === w.domain).length;
    const refusal = groupRuleRefusal(p, w.domain);
    if (!domains.includes(w.domain)) out.add(at, `no domain named ${found(w.domain)} (domains: ${names(domains)})`);
    else if (other !== undefined) {
      // The pause words of a domain have one user: its switcher.
      out.add(at, `domain ${found(w.domain)} already has a switcher (${found(other)}); a domain can have one`);
    } else if (devices === 0) out.add(at, `domain ${found(w.domain)} has no device: there is nothing to switch under`);
    else if (refusal) out.add(at, switchRefusedText(w.domain, refusal));
    else if (w.ops === undefined && mappersOf(p, w.domain).length === 0) {
      out.add(["workloads", i, "ops"], `required when no workload maps in domain ${found(w.domain)} ` +
        `(without ops, a switcher runs for as long as they do)`);
    }
  });
}

function checkCpus(p: Parsed, out: Problems): void {
  const owner = new Map<number, number>();
  p.workloads.forEach((w, i) => {
    w.cpus.forEach((cpu, j) => {
      const path = ["workloads", i, "cpus", j];
      const other = owner.get(cpu);
      if (cpu >= p.cpus) out.add(path, `cpu ${cpu} does not exist (the scenario has ${cpusText(p.cpus)})`);
      else if (other === i) out.add(path, `cpu ${cpu} is listed twice`);
      else if (other !== undefined) {
        out.add(path, `cpu ${cpu} is already used by workload ${found(workloadName(p.workloads[other]!, other))}`);
      } else owner.set(cpu, i);
    });
  });
}

function checkSizes(p: Parsed, out: Problems): void {
  p.workloads.forEach((w, i) => {
    if (!("minBytes" in w)) return;
    const max = w.maxBytes ?? DEFAULT_MAX_BYTES[w.kind];
    if (max < w.minBytes) {
      const given = w.maxBytes === undefined ? " (the default)" : "";
      out.add(["workloads", i, "maxBytes"], `expected at least minBytes (${w.minBytes}), found ${max}${given}`);
    }
  });
}

function checkAttackers(p: Parsed, out: Problems): void {
  const byName = new Map(p.workloads.map((w, i) => [workloadName(w, i), w] as const));
  const watchedBy = new Map<string, string>();
  p.workloads.forEach((w, i) => {
    if (w.kind !== "attacker") return;
    const victim = byName.get(w.victim);
    const other = watchedBy.get(w.victim);
    watchedBy.set(w.victim, other ?? workloadName(w, i));
    if (other !== undefined) {
      // The victim logs its unmaps for one reader.
      out.add(["workloads", i, "victim"], `${found(w.victim)} already has an attacker (${found(other)}); a workload can have one`);
    } else if (!victim) {
      out.add(["workloads", i, "victim"], `no workload named ${found(w.victim)} (workloads: ${names([...byName.keys()])})`);
    } else if (isBackground(victim)) {
      out.add(["workloads", i, "victim"], `${found(w.victim)} is ${victim.kind === "attacker" ? "an attacker" : "a switcher"}; ` +
        `the victim must be a workload that maps`);
    } else if (w.device !== undefined && "device" in victim && w.device !== victim.device) {
      out.add(["workloads", i, "device"],
        `expected the victim's device ${found(victim.device)} (or leave it out), found ${found(w.device)}`);
    }
  });
}

/** Contention needs every CPU to move on in modelled time by itself. */
function checkContention(p: Parsed, out: Problems): void {
  if (!p.contention) return;
  p.workloads.forEach((w, i) => {
    if (isBackground(w)) {
      out.add(["workloads", i, "kind"], `${found(w.kind)} cannot run with contention: true (it waits on other CPUs in ` +
        "wall time, which a run in modelled-time order cannot give it); leave contention out, or this workload");
    }
  });
}

/** The CPUs the workloads list, each once, in order (out-of-range ones are told elsewhere). */
function usedCpus(p: Parsed): number[] {
  return [...new Set(p.workloads.flatMap((w) => w.cpus))].sort((a, b) => a - b);
}

function checkWorkers(p: Parsed, out: Problems): void {
  const used = usedCpus(p);
  if (p.workers > used.length) {
    out.add(["workers"], `expected at most ${used.length} (the CPUs the workloads use: ${names(used)}), found ${p.workers}`);
    return;
  }
  p.workloads.forEach((w, i) => {
    if (w.worker !== undefined && w.worker >= p.workers) {
      out.add(["workloads", i, "worker"], `expected a worker below workers (${p.workers}), found ${w.worker}`);
    }
  });
  if (out.list.length > 0) return;
  const idle = workerAssignment(p.workloads, p.workers).idle;
  if (idle.length > 0) {
    out.add(["workers"], `worker${idle.length === 1 ? "" : "s"} ${names(idle)} would have no CPU to run ` +
      `(workloads placed with "worker" take theirs; the other CPUs are dealt round-robin)`);
  }
}

/**
 * Which worker runs each CPU: a workload's `worker` for its CPUs, the other CPUs dealt
 * round-robin over all workers in CPU order. `idle`: workers left without a CPU.
 */
export function workerAssignment(workloads: readonly { cpus: number[]; worker?: number }[], workers: number):
    { workerOf: Map<number, number>; idle: number[] } {
  const workerOf = new Map<number, number>();
  for (const w of workloads) if (w.worker !== undefined) for (const c of w.cpus) workerOf.set(c, w.worker);
  const rest = [...new Set(workloads.flatMap((w) => (w.worker === undefined ? w.cpus : [])))].sort((a, b) => a - b);
  rest.forEach((c, i) => workerOf.set(c, i % workers));
  const busy = new Set(workerOf.values());
  return { workerOf, idle: Array.from({ length: workers }, (_, k) => k).filter((k) => !busy.has(k)) };
}

function checkEvents(p: Parsed, out: Problems): void {
  const domains = new Map(p.domains.map((d) => [d.name, d] as const));
  const used = usedCpus(p);
  const switchedBy = new Map<string, number>();
  p.events.forEach((e, i) => {
    if (e.cpu !== undefined && e.cpu >= p.cpus) {
      out.add(["events", i, "cpu"], `cpu ${e.cpu} does not exist (the scenario has ${cpusText(p.cpus)})`);
    } else if (e.cpu !== undefined && !used.includes(e.cpu)) {
      out.add(["events", i, "cpu"], `no workload runs on cpu ${e.cpu} (workloads use ${names(used)})`);
    } else if ("fraction" in e.at) {
      const cpu = e.cpu ?? defaultEventCpu(p.workloads);
      const w = p.workloads.find((x) => x.cpus.includes(cpu));
      if (w && w.ops === undefined) {
        out.add(["events", i, "at", "fraction"], `cpu ${cpu} runs ${w.kind} ${found(workloadName(w, p.workloads.indexOf(w)))} ` +
          `without a number of operations, so a fraction of them means nothing; use "ops" or "timeMs"`);
      }
    }
    if (e.action === "fail-worker") return;
    const domain = domains.get(e.domain);
    const switcherAt = p.workloads.findIndex((w) => w.kind === "switcher" && w.domain === e.domain);
    if (!domain) {
      out.add(["events", i, "domain"], `no domain named ${found(e.domain)} (domains: ${names([...domains.keys()])})`);
    } else if (e.action === "switch-to-lazy" && domain.type === "DMA-FQ") {
      out.add(["events", i, "domain"], `domain ${found(e.domain)} is DMA-FQ: the domain starts lazy already`);
    } else if (e.action === "switch-to-lazy" && switcherAt >= 0) {
      // Its name as the report and other messages give it: an unnamed one's is its default.
      const switcher = workloadName(p.workloads[switcherAt]!, switcherAt);
      out.add(["events", i, "domain"], `domain ${found(e.domain)} has a switcher (${found(switcher)}): ` +
        `its switches are the ones this domain gets (a switch of its own would race the switcher's rebuild)`);
    } else if (e.action === "switch-to-lazy") checkSwitchEvent(p, e.domain, i, switchedBy, out);
  });
}

/** A switch-to-lazy event of `domain` (events[i]): one a domain, and one its kernel takes. */
function checkSwitchEvent(p: Parsed, domain: string, i: number, switchedBy: Map<string, number>, out: Problems): void {
  const first = switchedBy.get(domain);
  if (first !== undefined) {
    out.add(["events", i, "domain"], `domain ${found(domain)} is already switched to lazy by events[${first}]; ` +
      "a second switch-to-lazy would find it lazy and do nothing");
    return;
  }
  switchedBy.set(domain, i);
  const refusal = groupRuleRefusal(p, domain);
  if (refusal) out.add(["events", i, "domain"], switchRefusedText(domain, refusal));
}

/** One wording for a switcher's and a switch event's refusal by the group rule. */
function switchRefusedText(domain: string, refusal: string): string {
  return `domain ${found(domain)} cannot be switched live: ${refusal}`;
}

/** Why the scenario's kernel refuses a live switch of `domain` for its group's size (lazySwitchRefusal), or undefined. */
function groupRuleRefusal(p: Parsed, domain: string): string | undefined {
  const devices = p.devices.filter((d) => d.domain === domain).length;
  return lazySwitchRefusal(kernelText(p.profile, normaliseOverrides(p.behaviours)), kernelHas(p, "DMA_SWITCH_OWNED_GROUPS"), devices);
}

/** The CPU an event without one is timed by (and runs on): the first CPU of the first workload that maps. */
function defaultEventCpu(workloads: readonly { kind: RunWorkloadKind; cpus: number[] }[]): number {
  return workloads.find((w) => !isBackground(w))?.cpus[0] ?? 0;
}

/**
 * stopOnViolation stops at the first violation the oracle finds (the core's device-access
 * check): with the oracle off it could never act. expect "violations" can still be met
 * without it — an unmap that finds fq_domain set but no queue (a broken variant) counts
 * in the outcome (runner.ts) — so it is not refused.
 */
function checkChecks(p: Parsed, out: Problems): void {
  if (p.checks.stopOnViolation && !p.checks.oracle) {
    out.add(["checks", "stopOnViolation"], "true needs checks.oracle true: the run stops at the first violation the oracle " +
      "finds, and with the oracle off it finds none (an unmap that finds its flush queue missing counts in the outcome but stops nothing)");
  }
}

const CHECKS = [
  checkChecks, checkBehaviours, checkSmmu, checkDomains, checkDevices, checkWorkloads, checkCpus, checkSizes, checkAttackers,
  checkSwitchers, checkWorkers, checkEvents, checkContention,
];

// ---------------------------------------------------------------------------------------
// Defaults that depend on other fields.

function resolveWorkload(w: ParsedWorkload, i: number, all: readonly ParsedWorkload[]): RunWorkload {
  const name = workloadName(w, i);
  if (w.kind === "attacker") {
    const victim = all.find((v, j) => workloadName(v, j) === w.victim)! as Exclude<ParsedWorkload, { kind: "switcher" }>;
    return { ...w, name, device: w.device ?? victim.device! };
  }
  if (w.kind === "nic-rx" || w.kind === "switcher") return { ...w, name };
  return { ...w, name, maxBytes: w.maxBytes ?? DEFAULT_MAX_BYTES[w.kind] };
}

function resolveEvent(e: Parsed["events"][number], defaultCpu: number): RunEvent {
  return { ...e, cpu: e.cpu ?? defaultCpu };
}

function resolve(p: Parsed): RunScenario {
  const workloads = p.workloads.map((w, i, all) => resolveWorkload(w, i, all));
  const defaultCpu = defaultEventCpu(workloads);
  const m = p.machine === undefined ? undefined : MACHINES[p.machine];
  // A machine's SMMU costs and range invalidation come first; what the file says wins.
  const smmu = m ? { ...p.smmu, ...(m.smmuModel && p.smmu.model === undefined ? { model: m.smmuModel } : {}),
                     costs: smmuCosts(p) } : p.smmu;
  const domains = p.domains.map((d) => ({ ...d, rangeInvalidation: d.rangeInvalidation ?? m?.rangeInvalidation ?? true }));
  const { machine, behaviours: given, ...rest } = p;
  const behaviours = normaliseOverrides(given);
  return { ...rest, ...(machine !== undefined ? { machine } : {}), ...(behaviours ? { behaviours } : {}), smmu, domains, workloads,
           events: p.events.map((e) => resolveEvent(e, defaultCpu)) };
}

// ---------------------------------------------------------------------------------------
// Entry points.

/**
 * Checks a run scenario and fills in its defaults. Throws a ScenarioError naming the first
 * problem (`<source>: <field path>: <what was wrong>`) and counting the rest.
 */
export function parseRunScenario(input: unknown, source = "scenario"): RunScenario {
  const result = scenarioSchema.safeParse(input, { error: messageFor, reportInput: true });
  if (!result.success) throw scenarioError(source, problemsOf(result.error.issues));
  const out = new Problems();
  for (const check of CHECKS) check(result.data, out);
  if (out.list.length > 0) throw scenarioError(source, out.list);
  return resolve(result.data);
}


// ---------------------------------------------------------------------------------------
// The language described, for its documentation: the README's table of scenario fields is
// made from these rows (test/readme.test.ts checks it, UPDATE_README=1 rewrites it), so
// what it says about types and defaults is what this schema does.

/** A field of the scenario language. */
export interface ScenarioFieldDoc {
  /** `domains[].granule`; a field of one workload kind or event action: `workloads[nic-rx].ring`. */
  path: string;
  /** What the field takes, in the words its error messages use ("an integer 1..128"). */
  type: string;
  /** Must be given. */
  required: boolean;
  /** Its default, as JSON (or as words, for defaults worked out from other fields); absent: none. */
  default?: string;
}

/** @internal Every field of the scenario language, in the schema's order. */
export function scenarioFieldDocs(): ScenarioFieldDoc[] {
  const rows: ScenarioFieldDoc[] = [];
  walkField(scenarioSchema as unknown as AnySchema, "", rows, undefined);
  return rows.filter((r) => r.path !== "");
}

/** The few parts of a zod schema the walk reads (zod 4 keeps them under `_zod.def`). */
type AnySchema = { _zod: { def: Record<string, unknown> & { type: string } } };

function walkField(schema: AnySchema, path: string, rows: ScenarioFieldDoc[], kind: string | undefined): void {
  let s = schema;
  let required = true;
  let dflt: string | undefined;
  // Optional and defaulted fields wrap the schema that says what they take.
  for (;;) {
    const def = s._zod.def;
    if (def.type === "optional") required = false;
    else if (def.type === "default" || def.type === "prefault") {
      required = false;
      dflt = JSON.stringify(def.defaultValue);
    } else break;
    s = def.innerType as AnySchema;
  }
  const def = s._zod.def;
  const leaf = path.split(/[.[]/).at(-1) ?? "";
  if (kind !== undefined && leaf === "maxBytes" && kind in DEFAULT_MAX_BYTES) {
    dflt = String(DEFAULT_MAX_BYTES[kind as keyof typeof DEFAULT_MAX_BYTES]);
  }
  rows.push({ path, type: typeWords(s), required, ...(dflt !== undefined ? { default: dflt } : {}) });
  if (def.type === "object") {
    for (const [key, field] of Object.entries(def.shape as Record<string, AnySchema>)) {
      walkField(field, path ? `${path}.${key}` : key, rows, kind);
    }
  } else if (def.type === "array") {
    const element = def.element as AnySchema;
    const edef = element._zod.def;
    if (edef.type === "union" && typeof edef.discriminator === "string") {
      for (const option of edef.options as AnySchema[]) {
        const shape = option._zod.def.shape as Record<string, AnySchema>;
        const tag = (shape[edef.discriminator]!._zod.def.values as string[])[0]!;
        for (const [key, field] of Object.entries(shape)) {
          if (key !== edef.discriminator) walkField(field, `${path}[${tag}].${key}`, rows, tag);
        }
      }
    } else if (edef.type === "object") {
      for (const [key, field] of Object.entries(edef.shape as Record<string, AnySchema>)) {
        walkField(field, `${path}[].${key}`, rows, kind);
      }
    }
  }
}

function typeWords(s: AnySchema): string {
  const known = EXPECTED.get(s);
  const def = s._zod.def;
  if (def.type === "array") {
    const element = def.element as AnySchema;
    const checks = (def.checks ?? []) as AnySchema[];
    const bound = (check: string) => checks.map((c) => c._zod.def).find((d) => d.check === check);
    const min = bound("min_length")?.minimum as number | undefined;
    const max = bound("max_length")?.maximum as number | undefined;
    const count = min !== undefined && max !== undefined ? `${min}..${max} `
      : min !== undefined ? `at least ${min} ` : max !== undefined ? `up to ${max} ` : "";
    const inner = element._zod.def.type;
    const what = inner === "union" ? "objects, one per kind (below)"
      : inner === "object" ? "objects (below)" : `values, each ${typeWords(element)}`;
    return `an array of ${count}${what}`;
  }
  if (def.type === "tuple") return `[${(def.items as AnySchema[]).map(typeWords).join(", ")}]`;
  // An object's own words describe a rule across its fields (the event's `at`); its fields follow it.
  if (def.type === "object") return known ? known.words : "an object (below)";
  if (known) return known.words;
  if (def.type === "literal") return (def.values as unknown[]).map((v) => JSON.stringify(v)).join(" or ");
  return def.type;
}
