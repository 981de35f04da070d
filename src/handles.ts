// Ids of objects in the shared memory (a page table, an IOVA or DMA domain, a device, an
// SMMU): each is a slot of a fixed table in the core's memory map, whose first word is the
// slot's state (assembly/slots.ts). A thread handed an id — a worker, or a caller attaching
// to an object another thread made — reads that word to know whether the id names a live
// object, with the layout the core exports, so that no table's place or state value is
// written down twice.

import type { Core } from "../bindings/core.js";
import type { LayoutName } from "../bindings/layout.js";
import { ArgumentError } from "./errors.js";

/** The slot tables whose objects are handed around by id, and what each object is called. */
export const HANDLES = {
  table: { what: "page table", from: "PageTable.id", base: "PGT_BASE", size: "PGT_DESC_SIZE", count: "MAX_PGTABLES" },
  iovaDomain: { what: "IOVA domain", from: "IovaDomain.id", base: "IOVA_SLOTS_BASE", size: "IOVA_SLOT_SIZE", count: "MAX_IOVA_DOMAINS" },
  smmu: { what: "SMMU", from: "Smmu.id", base: "SMMUS_BASE", size: "SMMU_DESC_SIZE", count: "MAX_SMMUS" },
  dmaDomain: { what: "DMA domain", from: "DmaDomain.id", base: "DMA_DOMAINS_BASE", size: "DMA_DOMAIN_SIZE", count: "MAX_DMA_DOMAINS" },
  dmaDevice: { what: "DMA device", from: "DmaDevice.id", base: "DMA_DEVICES_BASE", size: "DMA_DEVICE_SIZE", count: "MAX_DMA_DEVICES" },
} as const satisfies Record<string, { what: string; from: string; base: LayoutName; size: LayoutName; count: LayoutName }>;

export type HandleKind = keyof typeof HANDLES;

/** The address of the record of live object `id` of table `kind`, or 0 (the core's slotLive, read from here). */
export function liveRecord(core: Core, kind: HandleKind, id: unknown): number {
  const t = HANDLES[kind];
  const L = core.layout;
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= L[t.count]) return 0;
  const record = L[t.base] + id * L[t.size];
  return core.readU32(record + L.SLOT_STATE) === L.SLOT_LIVE ? record : 0;
}

/**
 * liveRecord, refused when there is none: argument `name` (in `context`) must be the id of a
 * live object of table `kind` — one not destroyed, released or detached.
 */
export function requireLive(core: Core, kind: HandleKind, name: string, id: unknown, context: string): number {
  const record = liveRecord(core, kind, id);
  if (record === 0) {
    const t = HANDLES[kind];
    throw new ArgumentError(name, id, `must be the id of a live ${t.what} (${t.from})`, context);
  }
  return record;
}
