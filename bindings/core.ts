// The typed facade over the core's raw exports (`asc --bindings raw`): one instance per
// thread, over the one shared memory. It knows the boundary's conventions — addresses as
// f64, booleans as i32, 64-bit results in the thread's slot — and nothing of the models.

import { instantiate } from "../build/core.js";
import { createSharedMemory } from "./loader.js";
import { checkCore } from "../src/errno.js";
import { readLayout, rememberLayout, type CoreModule, type Layout } from "./layout.js";
import { CORE_EXPORTS } from "../build/exports.js";
import { IommuSimError, MachineStoppedError } from "../src/errors.js";

/**
 * The core's functions with the signatures asc declares for them (build/core.d.ts, made
 * from assembly/index.ts): booleans as booleans, u32 results unsigned.
 */
export type CoreFunctions = {
  [K in keyof CoreModule as CoreModule[K] extends (...args: never[]) => unknown ? K : never]: CoreModule[K];
};

/**
 * Refuse a module that is not this package's core: every export the build produced
 * (build/exports.js, listed from core.wasm when it was built) must be there, of its kind.
 */
function checkExports(module: WebAssembly.Module): void {
  const have = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  for (const [name, kind] of CORE_EXPORTS) {
    if (have.get(name) !== kind) {
      throw new IommuSimError(`iommu-sim: core.wasm lacks the export ${name} (a ${kind}); the module and this package are from different builds`);
    }
  }
}

/** A scratch instance's memory: one Wasm page, the least the module imports (asconfig.json initialMemory). */
const SCRATCH_BYTES = 65536;
const sizers = new WeakMap<WebAssembly.Module, Promise<(ram: number, kheap: number) => number>>();

async function instantiateCore(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<CoreModule> {
  checkExports(module);
  return instantiate(module, { env: { memory } });
}

/**
 * `exports` with every function guarded: the trap a wait in the core gives up with once a
 * worker was stopped mid-task (assembly/sync.ts giveUpWait: `unreachable`) is thrown as a
 * MachineStoppedError that says why (`why`: which workers); any other error passes as it is.
 * Engines word that trap differently ("unreachable" in V8, "unreachable executed" in
 * SpiderMonkey, "Unreachable code should not be executed" in JavaScriptCore).
 */
function guardWaits(exports: CoreModule, why: () => string): CoreModule {
  const guarded = Object.create(exports) as Record<string, unknown>;
  for (const name in exports) {
    const f = (exports as unknown as Record<string, unknown>)[name];
    if (typeof f !== "function") continue;
    const call = (...args: unknown[]) => {
      try {
        return (f as (...a: unknown[]) => unknown)(...args);
      } catch (e) {
        if (!(e instanceof WebAssembly.RuntimeError) || !/unreachable/i.test(e.message)) throw e;
        throw new MachineStoppedError(`iommu-sim: the core's ${name} met what ${why()} left behind: one of the ` +
          "machine's locks it held, or a domain it was mapping in, which it will never let go of; close this " +
          "Simulator and use a new one", { cause: e });
      }
    };
    // Defined, not assigned: the exports' own properties are read-only, and would refuse it.
    Object.defineProperty(guarded, name, { value: call, enumerable: true });
  }
  return guarded as unknown as CoreModule;
}

/** How a worker comes to be stopped mid-run, as every message about one says it. */
export const STOPPED_HOW = "its pool was closed, timed out or failed during a run";

/** "the worker in thread slot 1 (stopped mid-run: …)", or "the workers in thread slots 1, 2 (…)". */
function stoppedText(slots: readonly number[]): string {
  return (slots.length === 1 ? `the worker in thread slot ${slots[0]}` : `the workers in thread slots ${slots.join(", ")}`) +
    ` (stopped mid-run: ${STOPPED_HOW})`;
}

/** One instance of the core on this thread. */
export class Core {
  /** The core's functions (guarded once a worker was stopped mid-run: markStoppedSlots). */
  get raw(): CoreFunctions {
    return this.calls;
  }

  private calls: CoreFunctions;
  private readonly exports: CoreModule;
  readonly layout: Layout;
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly slot: number;
  /** Views over the shared memory (fixed size: they never go stale). */
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly u64: BigUint64Array;
  readonly dv: DataView;
  private readonly slotBase: number;

  private constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, exports: CoreModule, slot: number) {
    this.module = module;
    this.memory = memory;
    this.exports = exports;
    this.calls = exports;
    this.layout = readLayout(exports);
    rememberLayout(this.layout);
    this.slot = slot;
    const buf = memory.buffer;
    this.u8 = new Uint8Array(buf);
    this.u32 = new Uint32Array(buf);
    this.u64 = new BigUint64Array(buf);
    this.dv = new DataView(buf);
    this.slotBase = this.layout.THREAD_SLOTS_BASE + slot * this.layout.THREAD_SLOT_SIZE;
    // Keep hundreds of MiB of views out of inspection and test-failure printing.
    for (const k of ["u8", "u32", "u64", "dv", "memory", "calls", "exports", "module"]) {
      Object.defineProperty(this, k, { enumerable: false });
    }
  }

  /**
   * The thread slots whose workers the orchestrator stopped in the middle of a task
   * (ControlBlock.stoppedSlots, in slot order): no new worker takes one (src/stopped-workers.ts poolSlots).
   */
  stoppedSlots(): number[] {
    const bits = Atomics.load(this.u64, this.stoppedSlotsIndex());
    const out: number[] = [];
    for (let s = 0; s < this.layout.MAX_THREADS; s++) if ((bits >> BigInt(s)) & 1n) out.push(s);
    return out;
  }

  /**
   * The workers in `slots` were stopped in the middle of a task. From now on a thread that
   * waits in the core for one of them — a lock it held, a domain it never left — gives up,
   * and on this thread the call throws a MachineStoppedError.
   */
  markStoppedSlots(slots: readonly number[]): void {
    if (slots.length === 0) return;
    let bits = 0n;
    for (const s of slots) bits |= 1n << BigInt(s);
    Atomics.or(this.u64, this.stoppedSlotsIndex(), bits);
    this.guardWaits();
  }

  private stoppedSlotsIndex(): number {
    return (this.layout.CONTROL_BASE + this.layout.CTL_STOPPED_SLOTS) >>> 3;
  }

  /** Calls from now on through guardWaits (once). */
  private guardWaits(): void {
    if (this.calls === this.exports) this.calls = guardWaits(this.exports, () => stoppedText(this.stoppedSlots()));
  }

  /** A short JSON form (this thread's slot and the memory's size), not the memory itself. */
  toJSON(): object {
    return { slot: this.slot, memoryBytes: this.memory.buffer.byteLength };
  }

  /**
   * Bytes of shared memory the core needs for `ramBytes` of simulated RAM and `kheapBytes`
   * of simulator-private memory: asked of the core itself (an instance over a small scratch
   * memory, kept per module), never re-derived here.
   */
  static async memoryBytes(module: WebAssembly.Module, ramBytes: number, kheapBytes: number): Promise<number> {
    let sizer = sizers.get(module);
    if (!sizer) {
      sizer = instantiateCore(module, createSharedMemory(SCRATCH_BYTES)).then((e) => e.core_memory_bytes);
      sizers.set(module, sizer);
    }
    return (await sizer)(ramBytes, kheapBytes);
  }

  /**
   * Create the shared memory for `ramBytes` of RAM and `kheapBytes` of kheap, lay it out,
   * and attach this thread as slot 0.
   */
  static async create(opts: { module: WebAssembly.Module; ramBytes: number; kheapBytes: number;
                              pageShift: number; canBlock: boolean }): Promise<Core> {
    const bytes = await Core.memoryBytes(opts.module, opts.ramBytes, opts.kheapBytes);
    const memory = createSharedMemory(bytes);
    const exports = await instantiateCore(opts.module, memory);
    const core = new Core(opts.module, memory, exports, 0);
    checkCore(core, core.raw.core_init(memory.buffer.byteLength, opts.ramBytes, opts.kheapBytes, opts.pageShift),
      "Core.create", { detail: `${opts.ramBytes} bytes of RAM and ${opts.kheapBytes} of kheap in ${bytes} bytes` });
    core.attach(opts.canBlock);
    return core;
  }

  /** Instantiate over memory another thread created and initialised (a worker). */
  static async attach(module: WebAssembly.Module, memory: WebAssembly.Memory, slot: number,
                      canBlock: boolean): Promise<Core> {
    const exports = await instantiateCore(module, memory);
    const core = new Core(module, memory, exports, slot);
    core.attach(canBlock);
    return core;
  }

  private attach(canBlock: boolean): void {
    checkCore(this, this.raw.core_attach(this.slot, canBlock), "Core.attach",
      { detail: `thread slot ${this.slot} (0..${this.layout.MAX_THREADS - 1})` });
    // A worker attached after others were stopped mid-task may meet what they left behind.
    if (Atomics.load(this.u64, this.stoppedSlotsIndex()) !== 0n) this.guardWaits();
  }

  /** A u64 result the last call left in this thread's slot (RESULT0 + 8·index). */
  result64(index: 0 | 1 | 2 | 3): bigint {
    return this.u64[((this.slotBase + this.layout.TS_RESULT0) >>> 3) + index]!;
  }

  /** The u64 at byte `offset` of the slot's result area (8-byte aligned). */
  resultU64(offset: number): bigint {
    return this.u64[(this.slotBase + this.layout.TS_RESULT0 + offset) >>> 3]!;
  }

  /** The u32 at byte `offset` of the slot's result area. */
  result32(offset: number): number {
    return this.u32[(this.slotBase + this.layout.TS_RESULT0 + offset) >>> 2]!;
  }

  /** The unsigned 32-bit word at byte address `addr` of the shared memory. */
  readU32(addr: number): number {
    return this.u32[addr >>> 2]!;
  }

  /** The unsigned 64-bit word at byte address `addr` of the shared memory. */
  readU64(addr: number): bigint {
    return this.u64[addr >>> 3]!;
  }

  /** A u64 known to be below 2^53, as a number. */
  readU64Number(addr: number): number {
    return this.u32[(addr >>> 2) + 1]! * 2 ** 32 + this.u32[addr >>> 2]!;
  }
}
