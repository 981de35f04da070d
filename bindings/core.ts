// The typed facade over the core's raw exports (`asc --bindings raw`): one instance per
// thread, over the one shared memory. It knows the boundary's conventions — addresses as
// f64, booleans as i32, 64-bit results in the thread's slot — and nothing of the models.

import { instantiate } from "../build/core.js";
import { createSharedMemory } from "./loader.js";
import { checkCore } from "../src/errno.js";
import { readLayout, rememberLayout, type CoreModule, type Layout } from "./layout.js";
import { CORE_EXPORTS } from "../build/exports.js";
import { IommuSimError } from "../src/errors.js";

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

/** One instance of the core on this thread. */
export class Core {
  readonly raw: CoreFunctions;
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
    this.raw = exports;
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
    for (const k of ["u8", "u32", "u64", "dv", "memory", "raw", "module"]) {
      Object.defineProperty(this, k, { enumerable: false });
    }
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
