// Reading the core's record rings — a page table's events, an SMMU's fault queue, the
// oracle's violation log, an IOVA domain's WARNs. Each is a ring of fixed-size records in
// shared memory with a u32 sequence counter that writers advance atomically; a reader keeps
// its own cursor and must not fall more than a ring behind.

import type { Core } from "../bindings/core.js";
import { IommuSimError } from "./errors.js";

export interface RingSpec {
  /** Address of the u32 sequence counter. */
  head: number;
  /** Address of record 0, and the ring's size in records (a power of two). */
  base: number;
  capacity: number;
  recordSize: number;
  /** What the records are, for the error when some were lost ("page table 3 events"). */
  what: string;
}

export class RingReader<T> {
  private cursor: number;

  /** `fromNow`: skip what is already in the ring (records written before this reader). */
  constructor(private readonly core: Core, private readonly spec: RingSpec,
              private readonly decode: (record: number) => T, fromNow = false) {
    this.cursor = fromNow ? this.headNow() : 0;
  }

  private headNow(): number {
    return Atomics.load(this.core.u32, this.spec.head >>> 2);
  }

  /**
   * Continue from the ring's current head, forgetting what was unread: for a memory that
   * was just restored from a snapshot (the explorer), where the head may have gone back.
   */
  rewind(): void {
    this.cursor = this.headNow();
  }

  /**
   * The records written since the last call that are still in the ring, oldest first, and
   * how many were overwritten before they could be read (for a reader that looks once, at
   * the end, and would rather have the latest than nothing). Writers must be quiet.
   */
  takeLatest(): { records: T[]; lost: number } {
    const { capacity } = this.spec;
    const behind = (this.headNow() - this.cursor) >>> 0;
    const lost = Math.max(0, behind - capacity);
    this.cursor = (this.cursor + lost) >>> 0;
    return { records: this.take(), lost };
  }

  /** Every record written since the last call, oldest first. Throws if some were overwritten. */
  take(): T[] {
    const { base, capacity, recordSize, what } = this.spec;
    const head = this.headNow();
    const behind = (head - this.cursor) >>> 0;
    if (behind > capacity) {
      this.cursor = head;
      throw new IommuSimError(`iommu-sim: ${what}: lost ${behind - capacity} records (the ring holds ${capacity}); read them more often or make the ring larger`);
    }
    const out: T[] = [];
    for (let seq = this.cursor; seq !== head; seq = (seq + 1) >>> 0) {
      out.push(this.decode(base + (seq & (capacity - 1)) * recordSize));
    }
    this.cursor = head;
    return out;
  }
}
