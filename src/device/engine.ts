// DmaEngine: a device's DMA engine in the Wasm core (assembly/device/engine.ts). The driver
// side posts descriptors into a ring in shared memory; run() lets the device take them and
// do the DMA through the SMMU — in batches inside Wasm, from any thread. An attacker engine
// also keeps every IOVA it was given and keeps retrying old ones.

import type { Core } from "../../bindings/core.js";
import { ArgumentError, IommuSimError } from "../errors.js";
import { checkAddress, checkInt, checkOneOf, checkOptions, isPowerOfTwo } from "../validate.js";
import { SimulatorResourceError } from "../errors.js";
import { coreError } from "../errno.js";

export interface DmaEngineOptions {
  /** Descriptors the ring holds (a power of two). Default 256. */
  capacity?: number;
  /** Make it an attacker: remember `history` IOVAs (a power of two) and retry `retries` after each DMA. */
  attacker?: { history?: number; retries?: number };
}

export interface DmaEngineStats {
  completed: number;
  faulted: number;
  bytes: number;
  /** Attacker: accesses to remembered IOVAs, and how many got through the SMMU. */
  retries: number;
  retriesThrough: number;
}

/**
 * A device's DMA engine: a ring of buffers the device reads or writes through its SMMU, as
 * a NIC or a storage controller would (or an attacker, which keeps IOVAs it was given).
 * Got from Device.engine.
 */
export class DmaEngine {
  /** Address of the ring in shared memory (for tasks on other threads: DmaEngine.attach). */
  readonly ring: number;
  readonly retries: number;
  private destroyed = false;

  /** @internal Use Device.engine, or DmaEngine.attach on another thread. */
  constructor(private readonly core: Core, readonly smmuId: number, readonly streamId: number, ring: number, retries: number) {
    this.ring = ring;
    this.retries = retries;
  }

  /** @internal */
  static create(core: Core, smmuId: number, streamId: number, granule: number, options: DmaEngineOptions | undefined): DmaEngine {
    const ctx = "Device.engine";
    const opts = checkOptions(options, ["capacity", "attacker"], ctx);
    if (opts.attacker !== undefined) checkOptions(opts.attacker, ["history", "retries"], ctx, "attacker");
    const capacity = checkInt("capacity", opts.capacity ?? 256, 2, 1 << 16, ctx);
    const history = opts.attacker ? checkInt("attacker.history", opts.attacker.history ?? 1024, 2, 1 << 20, ctx) : 0;
    const retries = opts.attacker ? checkInt("attacker.retries", opts.attacker.retries ?? 4, 0, 1 << 16, ctx) : 0;
    if (!isPowerOfTwo(capacity)) throw new ArgumentError("capacity", capacity, "must be a power of two", ctx);
    if (history && !isPowerOfTwo(history)) throw new ArgumentError("attacker.history", history, "must be a power of two", ctx);
    const ring = core.raw.dma_ring_create(capacity, history, granule);
    if (ring === 0) throw new SimulatorResourceError("iommu-sim: Device.engine: out of simulator memory (kheap) for the DMA ring; create the Simulator with a larger kheapMiB");
    return new DmaEngine(core, smmuId, streamId, ring, retries);
  }

  /** A handle on an engine another thread created (pass ring, smmu id, stream id and retries). */
  static attach(core: Core, a: { ring: number; smmuId: number; streamId: number; retries: number }): DmaEngine {
    return new DmaEngine(core, a.smmuId, a.streamId, a.ring, a.retries);
  }

  /** The driver posts a DMA of `length` bytes at `iova`; false when the ring is full. */
  post(iova: number, length: number, kind: "read" | "write"): boolean {
    this.live();
    checkAddress("iova", iova, "post");
    checkInt("length", length, 1, 2 ** 32 - 1, "post");
    checkOneOf("kind", kind, ["read", "write"] as const, "post");
    return this.core.raw.dma_ring_post(this.ring, iova, length, kind === "write" ? this.core.layout.DESC_WRITE : 0);
  }

  /** Let the device take up to `budget` posted descriptors (default: all). Returns how many it took. */
  run(options?: { budget?: number; seed?: number }): number {
    this.live();
    const opts = checkOptions(options, ["budget", "seed"], "run");
    const budget = checkInt("budget", opts.budget ?? 2 ** 32 - 1, 0, 2 ** 32 - 1, "run");
    const seed = checkInt("seed", opts.seed ?? 1, 1, 2 ** 32 - 1, "run");
    const n = this.core.raw.device_run(this.smmuId, this.streamId, this.ring, budget, this.retries, seed);
    if (n < 0) throw coreError(this.core, n, "DmaEngine.run", { detail: `SMMU ${this.smmuId}` });
    return n;
  }

  /** Descriptors posted and not yet taken. */
  get pending(): number {
    const L = this.core.layout;
    return (this.core.readU32(this.ring + L.R_PROD) - this.core.readU32(this.ring + L.R_CONS)) >>> 0;
  }

  /** The engine's counters: transfers, faults, bytes, an attacker's retries. */
  stats(): DmaEngineStats {
    const L = this.core.layout;
    const st = (k: number) => Number(this.core.readU64(this.ring + L.R_STATS + 8 * k));
    return {
      completed: st(L.RS_COMPLETED), faulted: st(L.RS_FAULTED), bytes: st(L.RS_BYTES),
      retries: st(L.RS_RETRIES), retriesThrough: st(L.RS_RETRIES_THROUGH),
    };
  }

  /** Free the engine's ring. */
  destroy(): void {
    if (this.destroyed) return;
    this.core.raw.dma_ring_destroy(this.ring);
    this.destroyed = true;
  }

  private live(): void {
    if (this.destroyed) throw new IommuSimError("iommu-sim: this DMA engine was destroyed");
  }
}
