// The core's failures, decoded in one place. The core returns the negative of an errno
// from one namespace (assembly/errno.ts): the kernel's own errnos where the simulated
// kernel code fails with one, and a block of the simulator's own conditions above the
// kernel's MAX_ERRNO. Their values are read from the module by name; this table says what
// each means to a user and which error class it becomes. A test walks it against the
// module (every errno the core defines is here, and nothing else).

import type { Core } from "../bindings/core.js";
import type { LayoutName } from "../bindings/layout.js";
import { ArgumentError, ConfigError, IommuSimError, SimulatorResourceError } from "./errors.js";
import { CACHE_MAX_BYTES, CACHE_SET_BYTES } from "../build/constants.js";

interface Meaning {
  /** What went wrong, as a clause ("the DMA domain is gone"). */
  readonly text: string;
  /** argument: an ArgumentError when the caller names the argument; config: a ConfigError. */
  readonly kind?: "argument" | "config";
}

/** Every errno of assembly/errno.ts, by its name there. */
export const ERRNO_MEANINGS = {
  // the kernel's
  EPERM: { text: "the operation is not permitted (-EPERM)" },
  ENOMEM: { text: "out of memory (-ENOMEM)" },
  EBUSY: { text: "it is busy (-EBUSY)" },
  EEXIST: { text: "it exists already (-EEXIST)" },
  EINVAL: { text: "an argument is invalid (-EINVAL)" },
  ENOSPC: { text: "no space is left (-ENOSPC)" },
  ERANGE: { text: "out of range (-ERANGE)" },
  // the simulator's
  ESIM_BASE: { text: "(the first code of the simulator's block, never returned)" },
  ESIM_NOT_READY: { text: "the shared memory was not initialised by core_init (or by another build of the core)" },
  ESIM_ALREADY_READY: { text: "the shared memory was initialised already" },
  ESIM_MEMORY_TOO_SMALL: { text: "the memory is too small for the simulator's state, its kheap and 16 frames of RAM" },
  ESIM_THREAD_SLOT: { text: "the thread slot is out of range" },
  ESIM_ARGS: { text: "an argument is outside what the core accepts", kind: "argument" },
  ESIM_SLOTS_FULL: { text: "every slot for it is in use; destroy one first" },
  ESIM_KHEAP: { text: "out of simulator memory (kheap); create the Simulator with a larger kheapMiB" },
  ESIM_NO_TABLE: { text: "the page table is not live" },
  ESIM_NO_IOVA_DOMAIN: { text: "the IOVA domain is not live" },
  ESIM_NO_DMA_DOMAIN: { text: "the DMA domain is gone" },
  ESIM_NO_DEVICE: { text: "the device is detached" },
  ESIM_NO_SMMU: { text: "the SMMU is gone" },
  ESIM_NO_SMMU_DOMAIN: { text: "the SMMU domain is not live" },
  ESIM_CPU: { text: "is not one of the domain's simulated CPUs", kind: "argument" },
  ESIM_CPU_BUSY: { text: "another thread runs that simulated CPU; release it there first" },
  ESIM_NO_QUEUE: { text: "there is no flush queue" },
  ESIM_ORACLE_ENABLED: { text: "the SMMU's oracle is enabled already" },
  ESIM_WOULD_HANG: { text: "v5.15.16's alloc_iova would retry forever here (start_pfn is reachable)" },
  ESIM_NO_WORKLOAD: { text: "the CPU has no workload set up" },
  ESIM_IOVA_WRAPPED: { text: "alloc_iova handed out a range wrapped past the top of the PFN space (a kernel without IOVA_LIMIT_NO_UNDERFLOW): it is in the tree" },
  ESIM_FQ_FREED: { text: "a flush-queue ring was reached after teardown freed it (use-after-free: its memory is poisoned)" },
  ESIM_CMD_ILLEGAL: { text: "has an opcode that is not an SMMUv3 command (an SMMU stops its queue with CERROR_ILL): not consumed, counted in stats().illegalCommands", kind: "argument" },
  ESIM_TABLE_HAS_SMMU_DOMAIN: { text: "the page table already has an SMMU domain (destroy that one first)", kind: "argument" },
  ESIM_SMMU_MODEL: { text: "is not what this SMMU's model has: an SMMU v1/v2 takes register writes, not commands; an SMMUv3 takes commands, not registers", kind: "argument" },
  ESIM_NO_CONTEXT_BANK: { text: "every context bank or stream match register of the SMMU v1/v2 is in use", kind: "argument" },
  ESIM_PGT_FORMAT: { text: "the format is unknown", kind: "config" },
  ESIM_PGT_QUIRKS: { text: "a quirk this format and kernel do not accept", kind: "config" },
  ESIM_PGT_GRANULE: { text: "pgsizeBitmap leaves no 4K, 16K or 64K granule", kind: "config" },
  ESIM_PGT_IAS: { text: "ias is above what the format supports", kind: "config" },
  ESIM_PGT_OAS: { text: "oas is above 52 bits or not a size the hardware can encode (32, 36, 40, 42, 44, 48, 52)", kind: "config" },
  ESIM_PGT_OUTER_WBWA: { text: "the ARM_OUTER_WBWA quirk is refused with a coherent walk", kind: "config" },
  ESIM_PGT_S2_CONCAT: { text: "stage-2 concatenation is mandatory here but would need more than 16 tables (the kernel WARNs)", kind: "config" },
  ESIM_PGT_VA_BITS: { text: "ias leaves no bits to translate above the granule", kind: "config" },
  ESIM_CACHE_TOO_BIG: {
    text: `is more than one cache can be: a cache is laid out in one block of simulator memory, at most ${CACHE_MAX_BYTES / 2 ** 20} MiB ` +
      `whatever the kheapMiB, and each set takes ${CACHE_SET_BYTES} bytes besides its entries; give more ways or fewer entries`,
    kind: "argument",
  },
} as const satisfies Partial<Record<LayoutName, Meaning>>;

export type ErrnoName = keyof typeof ERRNO_MEANINGS;

const byCore = new WeakMap<Core, Map<number, ErrnoName>>();

/** The errno name of a negative code the core returned (undefined for one it does not define). */
export function errnoName(core: Core, rc: number): ErrnoName | undefined {
  let names = byCore.get(core);
  if (!names) {
    names = new Map();
    for (const name of Object.keys(ERRNO_MEANINGS) as ErrnoName[]) names.set(-core.layout[name], name);
    byCore.set(core, names);
  }
  return names.get(rc);
}

/** Whether `rc` is the negative of errno `name`. */
export function isErrno(core: Core, rc: number, name: ErrnoName): boolean {
  return rc === -core.layout[name];
}

export interface DecodeOptions {
  /** The argument the failure is about (an ArgumentError names it with its value). */
  argument?: string;
  value?: unknown;
  /** More about this call: appended after the meaning. */
  detail?: string;
  /**
   * More said only for these codes: a table's size only when it is full (ESIM_SLOTS_FULL),
   * not when memory ran out — which a size would make read as a full table.
   */
  when?: Partial<Record<ErrnoName, string>>;
}

/** The error for a negative code the core returned from a call made by `ctx`. */
export function coreError(core: Core, rc: number, ctx: string, opts: DecodeOptions = {}): IommuSimError {
  const name = errnoName(core, rc);
  if (name === undefined) return new IommuSimError(`iommu-sim: ${ctx}: the core failed with code ${rc}, which it does not define`);
  const m: Meaning = ERRNO_MEANINGS[name];
  const detail = [opts.detail, opts.when?.[name]].filter((d) => d).join("; ");
  const more = detail ? ` — ${detail}` : "";
  if (m.kind === "argument" && opts.argument !== undefined) {
    return new ArgumentError(opts.argument, opts.value, `${m.text}${more} (${name})`, ctx);
  }
  const message = `iommu-sim: ${ctx}: ${m.kind === "argument" && m.text.startsWith("is ") ? `the argument ${m.text}` : m.text}${more} (${name})`;
  if (name === "ESIM_KHEAP") return new SimulatorResourceError(message);
  return m.kind === "config" ? new ConfigError(message) : new IommuSimError(message);
}

/**
 * Allocations from the simulator's own memory (the kheap: IOVA range nodes, magazines,
 * flush queues, rings) that failed since the Simulator was created: the core's count.
 */
export function kheapAllocFailures(core: Core): number {
  return core.readU32(core.layout.ZONE_KHEAP + core.layout.Z_ALLOC_FAIL);
}

/**
 * A call that failed as the kernel would (NULL, DMA_MAPPING_ERROR) while the kheap ran out
 * (its failure count moved past `before`): the failure is the simulator's, not the
 * kernel's, and is thrown as such instead of being reported as the kernel's.
 */
export function checkKheap(core: Core, before: number, ctx: string): void {
  const now = kheapAllocFailures(core);
  if (now === before) return;
  throw new SimulatorResourceError(`iommu-sim: ${ctx}: the simulator's own memory (kheap) ran out ` +
    `(${now - before} allocation${now - before === 1 ? "" : "s"} of its bookkeeping failed), so the call failed where ` +
    "the kernel would not have; create the Simulator with a larger kheapMiB");
}

/** `rc` when it is ≥ 0; otherwise throw its decoded error. */
export function checkCore(core: Core, rc: number, ctx: string, opts?: DecodeOptions): number {
  if (rc >= 0) return rc;
  throw coreError(core, rc, ctx, opts);
}
