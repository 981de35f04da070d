// A sweep as it is stored in Redis for its workers (src/sweep/redis.ts names the key): the
// validated sweep (SweepSpec, its base scenario resolved, so a worker needs no file) and the
// versions of the iommu-sim that submitted it — a worker of another version does not serve it,
// since results of different versions are never merged.

import type { Redis } from "ioredis";
import { QueueError, KEEP_SECONDS, specKey } from "./redis.js";
import type { SweepSpec, SweepVersions } from "./types.js";

export interface SweepRecord {
  spec: SweepSpec;
  versions: SweepVersions;
}

/** Store (or refresh) the sweep's record; it is dropped KEEP_SECONDS after the last submission. */
export async function writeSweepRecord(redis: Redis, record: SweepRecord): Promise<void> {
  await redis.set(specKey(record.spec.id), JSON.stringify(record), "EX", KEEP_SECONDS);
}

/** The sweep's record, or undefined when there is none (finished and removed, or expired). */
export async function readSweepRecord(redis: Redis, id: string): Promise<SweepRecord | undefined> {
  const text = await redis.get(specKey(id));
  if (text === null) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (e) {
    throw new QueueError(`${specKey(id)} in Redis is not JSON (${(e as Error).message}): not written by iommu-sim`);
  }
  const r = record as Partial<SweepRecord> | null;
  if (typeof r !== "object" || r === null || typeof r.spec !== "object" || r.spec === null || r.spec.id !== id ||
      typeof r.versions?.iommuSim !== "string") {
    throw new QueueError(`${specKey(id)} in Redis is not a sweep record of sweep ${id} (expected { spec: SweepSpec with id "${id}", versions })`);
  }
  return r as SweepRecord;
}
