// The flush queue and dma_map's rules, through the DMA layer (DmaDomain / DmaDevice), single
// threaded, for every profile wherever the rule exists (reference §2.2–2.13, §4.11–4.13):
// the counter rule (an entry queued while a flush is in flight waits for the next one), the
// full ring's synchronous flush, v7.1's single queue, the timeout's drain into the timer
// CPU's caches, deferred table freeing against the Arm path's synchronous walk flush,
// IOVA sizes and the 32-bit-first attempt, protection from direction, a map failing in
// the page table, and the live DMA → DMA-FQ switch with its refusals.
//
// Every expected value follows from those rules: IOVAs come top-down below the limit
// (the 32-bit space first for PCI devices), size-aligned, so a fresh domain's first
// 4 KiB mapping is at 0xfffff000, the next at 0xffffe000, and so on.

import { afterEach, describe, expect, it } from "vitest";
import {
  ConfigError, DmaMappingError, PROFILES, Simulator, profileHas, type DmaDevice, type DmaDomain, type DmaDomainOptions, type Profile, type Smmu,
} from "../dist/index.js";
import { coreOf } from "./helpers.js";

const PAGE = 0x1000;
const SZ_2M = 0x20_0000;
const PA = 0x1_0000_0000; // buffers above 4 GiB, far from page-table RAM
const TOP32 = 0xfffff; //    the highest 32-bit PFN
const TOP48 = 2 ** 36 - 1; // the highest PFN of the 48-bit aperture

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

interface Rig { sim: Simulator; smmu: Smmu; dom: DmaDomain; dev: DmaDevice }

async function rig(profile: Profile, opts: Omit<DmaDomainOptions, "smmu"> = {},
                   simOpts: { ramMiB?: number; oracle?: boolean } = {}): Promise<Rig> {
  sim = await Simulator.create({ profile, ...(simOpts.ramMiB ? { ramMiB: simOpts.ramMiB } : {}) });
  const smmu = sim.createSmmu({ oracle: simOpts.oracle ?? true });
  const dom = sim.createDmaDomain({ smmu, cpus: 2, ...opts });
  return { sim, smmu, dom, dev: dom.attachDevice({ streamId: 1 }) };
}

/** map + unmap of one page at PA + i pages on `cpu`; returns the DMA address. */
function pair(dev: DmaDevice, i: number, cpu = 0): number {
  const a = dev.map(PA + i * PAGE, PAGE, { cpu });
  dev.unmap(a, PAGE, { cpu });
  return a;
}

/** Every PFN cached for `cpu` in a bin (loaded, then prev), and the bin's depot. */
function cached(dom: DmaDomain, cpu: number, bin = 0): number[] {
  const b = dom.iova.rcacheState().bins[bin]!;
  return [...b.cpus[cpu]!.loaded, ...b.cpus[cpu]!.prev];
}

/** The level-3 table (its physical address) that maps the 2 MiB region at `iova`. */
function l3Table(dom: DmaDomain, iova: number): number {
  const e = dom.pageTable.dump().find((x) => x.level === 2 && x.kind === "table" && x.va === iova);
  if (!e) throw new Error(`no level-3 table for 0x${iova.toString(16)}`);
  return Number(e.pte & 0xffff_ffff_f000n);
}

for (const profile of PROFILES) {
  describe(`flush queue through the DMA layer [${profile}]`, () => {
    it("an entry queued while a flush is in flight waits for the next flush (counter rule)", async () => {
      const { sim, dom, dev } = await rig(profile, { type: "DMA-FQ" });
      const step = (s: 0 | 1) => expect(coreOf(sim).raw.dma_fq_flush_step_for_testing(dom.id, s)).toBe(0);
      const a = pair(dev, 0); //                      stamped start_cnt 0
      expect(a).toBe(TOP32 * PAGE);
      step(0); //                                      a flush starts (another CPU's, still running)
      const b = pair(dev, 1); //                      stamped start_cnt 1: that flush may not cover it
      expect(b).toBe((TOP32 - 1) * PAGE);
      expect(dom.iova.fqCounters()).toEqual({ startCnt: 1, finishCnt: 0, ringFullFlushes: 0, timerFlushes: 0 });
      expect(dom.fqPending()).toBe(2);
      step(1); //                                      it finishes: finish_cnt 1
      expect(dom.iova.fqCounters()).toEqual({ startCnt: 1, finishCnt: 1, ringFullFlushes: 0, timerFlushes: 0 });
      // The next queue_iova's release scan: a (counter 0 < 1) goes into this CPU's cache,
      // b (counter 1 ≥ 1) stays, and stops the scan.
      const c = pair(dev, 2);
      expect(c).toBe((TOP32 - 2) * PAGE);
      expect(dom.fqPending()).toBe(2);
      expect(cached(dom, 0)).toEqual([TOP32]);
      // A flush that starts after b was queued releases it: the 10 ms timer, on CPU 1.
      sim.tick(3, { cpu: 1 });
      expect(dom.iova.fqCounters()).toEqual({ startCnt: 2, finishCnt: 2, ringFullFlushes: 0, timerFlushes: 1 });
      expect(dom.fqPending()).toBe(0);
      expect(cached(dom, 1).sort()).toEqual([TOP32 - 2, TOP32 - 1]);
    });

    it("a full ring (255 usable entries) flushes synchronously on the 256th unmap and releases all 255", async () => {
      const { smmu, dom, dev } = await rig(profile, { type: "DMA-FQ" });
      for (let i = 0; i < 255; i++) expect(pair(dev, i)).toBe((TOP32 - i) * PAGE);
      expect(dom.fqPending()).toBe(255);
      expect(dom.iova.fqCounters()).toEqual({ startCnt: 0, finishCnt: 0, ringFullFlushes: 0, timerFlushes: 0 });
      expect(smmu.stats().tlbi.context).toBe(0);
      expect(pair(dev, 255)).toBe((TOP32 - 255) * PAGE);
      // queue_iova found next(tail) == head: one flush (TLBI by ASID + CMD_SYNC), the scan
      // released the 255, then the 256th went in.
      expect(dom.fqPending()).toBe(1);
      expect(dom.iova.fqCounters()).toEqual({ startCnt: 1, finishCnt: 1, ringFullFlushes: 1, timerFlushes: 0 });
      expect(smmu.stats()).toMatchObject({ tlbi: { va: 0, context: 1, all: 0 }, syncs: 1 });
      const bin0 = dom.iova.rcacheState().bins[0]!;
      const all = [...cached(dom, 0), ...bin0.depot.flat()].sort((x, y) => x - y);
      expect(all).toEqual(Array.from({ length: 255 }, (_, i) => TOP32 - 254 + i));
      expect(dom.stats()).toMatchObject({ lazyUnmaps: 256, strictUnmaps: 0, syncs: 0 });
    });

    it("the 10 ms timeout (3 jiffies at HZ 250) drains every CPU's ring into the timer CPU's caches", async () => {
      const { sim, dom, dev } = await rig(profile, { type: "DMA-FQ", cpus: 3 });
      const a = pair(dev, 0, 0);
      const b = pair(dev, 1, 1);
      expect([a, b]).toEqual([TOP32 * PAGE, (TOP32 - 1) * PAGE]);
      sim.tick(2, { cpu: 2 });
      expect(dom.fqPending()).toBe(2); //              8 ms: not yet
      sim.tick(1, { cpu: 2 });
      expect(dom.fqPending()).toBe(0);
      expect(dom.iova.fqCounters()).toEqual({ startCnt: 1, finishCnt: 1, ringFullFlushes: 0, timerFlushes: 1 });
      expect(cached(dom, 2).sort()).toEqual([TOP32 - 1, TOP32]);
      expect(cached(dom, 0)).toEqual([]);
      expect(cached(dom, 1)).toEqual([]);
    });

    it("time cannot advance on a CPU the lazy domain lacks while IOVAs wait: the timeout would have no caches to release into", async () => {
      const { sim, dom, dev } = await rig(profile, { type: "DMA-FQ", cpus: 2 });
      sim.tick(3, { cpu: 5 }); //                      nothing queued: nothing to release
      pair(dev, 0, 1);
      expect(() => sim.tick(3, { cpu: 2 })).toThrow(/cpu .*not one of the 2 CPUs of DMA domain \d+, whose flush queue holds 1 IOVA/);
      expect(() => sim.advance(12, { cpu: 2 })).toThrow(/not one of the 2 CPUs/);
      expect(dom.fqPending()).toBe(1); //              refused before any time passed
      sim.tick(3, { cpu: 1 });
      expect(dom.fqPending()).toBe(0);
      expect(cached(dom, 1)).toEqual([TOP32]);
    });

    it("deferTableFree, lazy: a removed table page stays allocated until its entry is released", async () => {
      const { sim, smmu, dom, dev } = await rig(profile, { type: "DMA-FQ", deferTableFree: true });
      const base = sim.memoryStats().tablePages; // the PGD
      // 2 MiB at a PA that is not 2M-aligned: the IOVA is (size-aligned) 2M-aligned, so the
      // region is mapped with 512 4K pages in a level-3 table.
      const a = dev.map(0x4000_1000, SZ_2M);
      expect(a).toBe(0x1_0000_0000 - SZ_2M);
      expect(sim.memoryStats().tablePages).toBe(base + 3); // levels 1, 2, 3
      const table = l3Table(dom, a);
      // The unmap takes the whole 2M at level 2: the table entry is cleared and its page goes
      // on the gather's freelist, into the flush-queue entry — no walk flush now.
      dev.unmap(a, SZ_2M);
      expect(dom.pageTable.iovaToPhys(a)).toBe(0);
      expect(sim.memoryStats().tablePages).toBe(base + 3);
      expect(smmu.stats()).toMatchObject({ tlbi: { va: 0, context: 0 }, syncs: 0 });
      // A new mapping elsewhere needs a table of its own and does not get that frame.
      const b = dev.map(0x5000_1000, SZ_2M);
      expect(b).toBe(a - SZ_2M);
      expect(l3Table(dom, b)).not.toBe(table);
      expect(sim.memoryStats().tablePages).toBe(base + 4);
      // The timeout: flush-all (TLBI by ASID + sync), then the entry's release frees the page.
      sim.tick(3);
      expect(dom.fqPending()).toBe(0);
      expect(smmu.stats().tlbi.context).toBe(1);
      expect(sim.memoryStats().tablePages).toBe(base + 3);
      expect(sim.memoryStats().badFrees).toBe(0);
    });

    it("deferTableFree, strict: the table page is freed at the unmap's sync", async () => {
      const { sim, smmu, dom, dev } = await rig(profile, { type: "DMA", deferTableFree: true });
      const base = sim.memoryStats().tablePages;
      const a = dev.map(0x4000_1000, SZ_2M);
      expect(sim.memoryStats().tablePages).toBe(base + 3);
      dev.unmap(a, SZ_2M);
      // One gathered range (the table, as a non-leaf invalidation; v7.1's leaf add_page of the
      // same 2M merges into it), one sync, then the freelist goes.
      expect(smmu.stats()).toMatchObject({ tlbi: { va: 1, context: 0 }, syncs: 1 });
      expect(sim.memoryStats().tablePages).toBe(base + 2);
      expect(dom.stats()).toMatchObject({ strictUnmaps: 1, syncs: 1 });
    });

    for (const type of ["DMA", "DMA-FQ"] as const) {
      it(`the Arm path (no deferTableFree) frees the table at the unmap, after a synchronous walk flush [${type}]`, async () => {
        const { sim, smmu, dom, dev } = await rig(profile, { type });
        const base = sim.memoryStats().tablePages;
        const a = dev.map(0x4000_1000, SZ_2M);
        expect(sim.memoryStats().tablePages).toBe(base + 3);
        dev.unmap(a, SZ_2M);
        expect(sim.memoryStats().tablePages).toBe(base + 2);
        // The walk flush (non-leaf range TLBI + sync) in both modes; a kernel that clears tables
        // first (6.12, 7.1) strict also gathers a leaf add_page for the table entry and syncs it (§4.11, §4.13).
        const extra = profileHas(profile, "PGT_UNMAP_TABLES_FIRST") && type === "DMA" ? 1 : 0;
        expect(smmu.stats()).toMatchObject({ tlbi: { va: 1 + extra, context: 0 }, syncs: 1 + extra });
        expect(dom.fqPending()).toBe(type === "DMA-FQ" ? 1 : 0);
      });
    }

    it("dma_map sizes: a 3-page mapping owns a 4-page range and is freed as 3 pages into bin 2", async () => {
      const { dom, dev } = await rig(profile, { type: "DMA" });
      const a = dev.map(PA, 3 * PAGE);
      expect(a).toBe((TOP32 - 3) * PAGE); // 4 pages, 4-aligned, at the top of the 32-bit space
      expect(dom.iova.find(TOP32 - 3)).toEqual({ lo: TOP32 - 3, hi: TOP32 });
      dev.unmap(a, 3 * PAGE);
      const bins = dom.iova.rcacheState().bins;
      expect(cached(dom, 0, 2)).toEqual([TOP32 - 3]); // order_base_2(3) = 2
      expect(bins.filter((b, i) => i !== 2 && b.cpus.some((c) => c.loaded.length + c.prev.length > 0))).toEqual([]);
      expect(dom.iova.find(TOP32)).toEqual({ lo: TOP32 - 3, hi: TOP32 }); // still allocated while cached
      // A 4-page mapping takes it straight from bin 2.
      expect(dev.map(PA, 4 * PAGE)).toBe((TOP32 - 3) * PAGE);
      // A buffer that starts inside a page spans two granules and keeps its offset.
      const b = dev.map(PA + 0x800, PAGE);
      expect(b).toBe((TOP32 - 5) * PAGE + 0x800);
      expect(dom.iova.find(TOP32 - 5)).toEqual({ lo: TOP32 - 5, hi: TOP32 - 4 });
      // 32 pages and more are not rounded: exactly 33, aligned to 64.
      const c = dev.map(PA, 33 * PAGE) / PAGE;
      const r = dom.iova.find(c)!;
      expect(r.hi - r.lo + 1).toBe(33);
      expect(r.lo % 64).toBe(0);
    });

    const sacPerDevice = profileHas(profile, "DMA_SAC_PER_DEVICE");
    it(`a 64-bit PCI device tries 32-bit IOVAs first and falls back when they run out (${sacPerDevice ? "once per device" : "every time"})`, async () => {
      const { dom, dev } = await rig(profile, { type: "DMA" });
      expect(dev.map(PA, PAGE)).toBe(TOP32 * PAGE);
      expect(dom.stats()).toMatchObject({ sacAttempts: 1, sacFallbacks: 0 });
      dom.iova.reserve(1, TOP32 - 1); // the rest of the 32-bit space is taken
      expect(dev.map(PA, PAGE)).toBe(TOP48 * PAGE);
      expect(dom.stats()).toMatchObject({ sacAttempts: 2, sacFallbacks: 1 });
      expect(dev.map(PA, PAGE)).toBe((TOP48 - 1) * PAGE);
      // 5.15 tries the 32-bit space on every map; later kernels clear the device's
      // pci_32bit_workaround at the first failure ("Using N-bit DMA addresses").
      expect(dom.stats()).toMatchObject(sacPerDevice ? { sacAttempts: 2, sacFallbacks: 1 } : { sacAttempts: 3, sacFallbacks: 2 });
      // The flag is per device: another PCI device tries once itself.
      const other = dom.attachDevice({ streamId: 2 });
      expect(other.map(PA, PAGE)).toBe((TOP48 - 2) * PAGE);
      expect(dom.stats()).toMatchObject(sacPerDevice ? { sacAttempts: 3, sacFallbacks: 2 } : { sacAttempts: 4, sacFallbacks: 3 });
    });

    it("platform devices never try SAC; a 32-bit mask never goes above 4 GiB; forcedac skips the attempt", async () => {
      const { dom } = await rig(profile, { type: "DMA" });
      const plat = dom.attachDevice({ streamId: 2, bus: "platform" });
      expect(plat.map(PA, PAGE)).toBe(TOP48 * PAGE);
      const d32 = dom.attachDevice({ streamId: 3, dmaMask: 32 });
      dom.iova.reserve(1, TOP32 - 1);
      expect(d32.map(PA, PAGE)).toBe(TOP32 * PAGE);
      expect(() => d32.map(PA, PAGE)).toThrow(DmaMappingError);
      expect(dom.stats()).toMatchObject({ maps: 2, mapFailures: 1, sacAttempts: 0, sacFallbacks: 0 });
      expect(dom.iova.ranges().filter((r) => r.hi > TOP32)).toEqual([{ lo: TOP48, hi: TOP48 }]); // only the platform one
      await sim!.close();

      sim = await Simulator.create({ profile });
      const fdom = sim.createDmaDomain({ smmu: sim.createSmmu(), forcedac: true });
      expect(fdom.attachDevice({ streamId: 1 }).map(PA, PAGE)).toBe(TOP48 * PAGE);
      expect(fdom.stats().sacAttempts).toBe(0);
    });

    it("protection follows the direction: a to-device mapping is read-only; privileged needs a privileged access", async () => {
      const { dom, dev } = await rig(profile, { type: "DMA" });
      const rd = dev.map(PA, PAGE, { dir: "to-device" });
      expect(dev.access(rd, 8, "read")).toMatchObject({ ok: true, pa: PA });
      expect(dev.access(rd, 8, "write")).toMatchObject({ ok: false, fault: { type: "permission", iova: rd } });
      const bi = dev.map(PA + PAGE, PAGE, { dir: "bidirectional" });
      expect(dev.access(bi, 8, "write")).toMatchObject({ ok: true, pa: PA + PAGE });
      // FROM_DEVICE is IOMMU_WRITE alone; stage-1 AP[2] is set only for read-without-write,
      // so the page is readable too.
      const wr = dev.map(PA + 2 * PAGE, PAGE, { dir: "from-device" });
      expect(dev.access(wr, 8, "write")).toMatchObject({ ok: true });
      expect(dev.access(wr, 8, "read")).toMatchObject({ ok: true });
      // DMA_ATTR_PRIVILEGED: AP[1] clear, so an unprivileged access faults.
      const pr = dev.map(PA + 3 * PAGE, PAGE, { privileged: true });
      expect(dev.access(pr, 8, "read")).toMatchObject({ ok: false, fault: { type: "permission" } });
      expect(dev.smmuDevice.access(pr, 8, "read", { privileged: true })).toMatchObject({ ok: true, pa: PA + 3 * PAGE });
      // The leaf bits: AP[2] (bit 7) only on the to-device page; AP[1] (bit 6) on all but the
      // privileged one; a coherent device's pages are cacheable (AttrIndx 1) inner-shareable.
      const leaf = (iova: number) => dom.pageTable.dump().find((e) => e.kind === "page" && e.va === iova)!.pte;
      expect([rd, bi, wr, pr].map((a) => Number(leaf(a) & 0xc0n))).toEqual([0xc0, 0x40, 0x40, 0x00]);
      expect(Number(leaf(rd) & 0x31cn)).toBe(0x304);
    });

    it("a map the page table refuses frees its IOVA at once (and undoes what it mapped)", async () => {
      // 1 MiB of table RAM (256 frames) cannot hold the 600 level-3 tables a 1200 MiB buffer
      // at a PA that is not 2M-aligned needs. (No oracle: its shadow would have to record
      // 307,200 pages for a mapping that never completes.)
      const { sim, dom, dev } = await rig(profile, { type: "DMA" }, { ramMiB: 1, oracle: false });
      expect(() => dev.map(0x4000_1000, 600 * SZ_2M)).toThrow(DmaMappingError);
      expect(dom.stats()).toMatchObject({ maps: 0, mapFailures: 1, sacAttempts: 1, sacFallbacks: 0 });
      expect(sim.memoryStats().allocFailures).toBe(1);
      // Its IOVA was 0x80000000 (size-aligned below 4 GiB); nothing of it is left.
      expect(dom.iova.ranges()).toEqual([]);
      expect(dom.pageTable.iovaToPhys(0x8000_0000)).toBe(0);
      expect(dev.map(PA, PAGE)).toBe(TOP32 * PAGE);
    });

    it("DMA_MAPPING_ERROR says which step failed: the IOVA allocator below the device's limit, or the page table's errno", async () => {
      const { dom } = await rig(profile, { type: "DMA" }, { ramMiB: 1, oracle: false });
      const fail = (f: () => unknown): DmaMappingError => {
        try { f(); } catch (e) { if (e instanceof DmaMappingError) return e; throw e; }
        throw new Error("the map did not fail");
      };
      // bus_dma_limit 0xfff leaves no PFN at or above start_pfn 1: the allocator fails.
      const bus = dom.attachDevice({ streamId: 2, busDmaLimit: 0xfff });
      const e1 = fail(() => bus.map(PA + 0x10, 2 * PAGE));
      expect(e1.reason).toBe("iova");
      expect(e1.message).toMatch(/no IOVA range of 3 granule\(s\) \(0x3000 bytes.*at or below 0xfff, the device's DMA limit.*bus_dma_limit 0xfff/);
      // A PA at 2^48 is beyond the table's 48-bit output: map_pages' -ERANGE, and its WARN.
      const dev = dom.attachDevice({ streamId: 3 });
      const e2 = fail(() => dev.map(2 ** 48, PAGE));
      expect([e2.reason, e2.errno]).toEqual(["pgtable", "ERANGE"]);
      expect(e2.message).toMatch(/page table refused the mapping: .*2\^oas.*-ERANGE/);
      expect(dom.pageTable.warnings).toBe(1);
      // 1 MiB of table RAM cannot hold 600 level-3 tables: -ENOMEM.
      const e3 = fail(() => dev.map(0x4000_1000, 600 * SZ_2M));
      expect([e3.reason, e3.errno]).toEqual(["pgtable", "ENOMEM"]);
      expect(e3.message).toMatch(/simulated RAM has none free \(-ENOMEM\)/);
      expect(dom.stats()).toMatchObject({ maps: 0, mapFailures: 3 });
    });

    it("the live switch keeps mappings; the reverse is refused; the test hook makes the domain strict again", async () => {
      const { smmu, dom, dev } = await rig(profile, { type: "DMA" });
      const a = dev.map(PA, PAGE, { cpu: 0 });
      expect(dev.access(a, 8, "write")).toMatchObject({ ok: true, pa: PA });
      dom.setType("DMA-FQ");
      expect(dom.type).toBe("DMA-FQ");
      expect(dom.fqPublished).toBe(true);
      expect(dom.stats().switches).toBe(1);
      // Page table, IOVA domain and mappings are kept: the device still reaches the same page.
      expect(dev.access(a, 8, "read")).toMatchObject({ ok: true, pa: PA, segments: [{ check: "ok" }] });
      expect(dom.pageTable.iovaToPhys(a)).toBe(PA);
      dev.unmap(a, PAGE, { cpu: 0 });
      expect(dom.stats()).toMatchObject({ lazyUnmaps: 1, strictUnmaps: 0, syncs: 0 });
      expect(dom.fqPending()).toBe(1);
      // With a driver bound the kernel changes a live type only from DMA to DMA-FQ: the type it
      // already has is refused too (5.15 -EBUSY; -EPERM where a group with an owner is refused).
      const bound = profileHas(profile, "DMA_SWITCH_OWNED_GROUPS") ? /\(-EPERM\)/ : /\(-EBUSY\)/;
      expect(() => dom.setType("DMA-FQ")).toThrow(/DMA-FQ → DMA-FQ on a domain with 1 device\(s\) attached is refused/);
      expect(() => dom.setType("DMA-FQ")).toThrow(bound);
      expect(dom.stats().switches).toBe(1);
      // Lazy → strict on a live domain is a new domain in the kernel, refused with a device bound.
      expect(() => dom.setType("DMA")).toThrow(bound);
      expect(dom.type).toBe("DMA-FQ");
      // The test hook: one flush, every queued IOVA released into CPU 1's caches, strict again.
      const b = pair(dev, 1, 0);
      expect(dom.fqPending()).toBe(2);
      dom.rebuildStrictForTesting(1);
      expect(dom.type).toBe("DMA");
      expect(dom.fqPublished).toBe(false);
      expect(dom.fqPending()).toBe(0);
      expect(smmu.stats().tlbi.context).toBe(1);
      expect(cached(dom, 1).sort()).toEqual([b / PAGE, a / PAGE]);
      pair(dev, 2, 0);
      expect(dom.stats()).toMatchObject({ strictUnmaps: 1, syncs: 1, lazyUnmaps: 2 });
      expect(smmu.oracle!.counts()).toMatchObject({ afterStrictUnmap: 0, afterFlush: 0, useAfterFree: 0 });
      // With no device attached, the reverse is allowed, and the type it has does nothing.
      dom.setType("DMA-FQ");
      dev.detach();
      dom.setType("DMA-FQ");
      expect(dom.stats().switches).toBe(2);
      dom.setType("DMA");
      expect(dom.type).toBe("DMA");
      dom.setType("DMA");
      expect(dom.stats().switches).toBe(2);
    });

    it("a domain created as DMA-FQ is lazy from the start and counts no live switch", async () => {
      const { dom } = await rig(profile, { type: "DMA-FQ" });
      expect(dom.type).toBe("DMA-FQ");
      expect(dom.stats().switches).toBe(0);
    });

    const ownedGroups = profileHas(profile, "DMA_SWITCH_OWNED_GROUPS");
    it(`a group with two devices: ${ownedGroups ? "the switch goes ahead" : "the switch is refused (-EINVAL)"}`, async () => {
      const { dom } = await rig(profile, { type: "DMA" });
      dom.attachDevice({ streamId: 2 });
      if (!ownedGroups) {
        expect(() => dom.setType("DMA-FQ")).toThrow(/exactly one device; this domain has 2 \(-EINVAL\)/);
        // The group rule comes first for every change, the type it has included.
        expect(() => dom.setType("DMA")).toThrow(/exactly one device; this domain has 2 \(-EINVAL\)/);
        expect(dom.type).toBe("DMA");
        expect(dom.fqPublished).toBe(false);
      } else {
        dom.setType("DMA-FQ");
        expect(dom.type).toBe("DMA-FQ");
      }
    });
  });
}

describe.each(PROFILES.filter((p) => profileHas(p, "DMA_FQ_SINGLE")))("the single flush queue (shadow_on_flush) of %s: 32768 slots shared by every CPU, 1000 ms", (profile) => {
  it("holds 32767 entries from all CPUs; the 32768th unmap flushes synchronously and releases them", async () => {
    const { smmu, dom, dev } = await rig(profile, { type: "DMA-FQ", fqMode: "single" });
    for (let i = 0; i < 32767; i++) pair(dev, i, i & 1); // CPUs 0 and 1 alternately, one ring
    expect(dom.fqPending()).toBe(32767);
    expect(dom.iova.fqCounters()).toEqual({ startCnt: 0, finishCnt: 0, ringFullFlushes: 0, timerFlushes: 0 });
    expect(smmu.stats().tlbi.context).toBe(0);
    pair(dev, 32767, 1);
    expect(dom.fqPending()).toBe(1);
    expect(dom.iova.fqCounters()).toEqual({ startCnt: 1, finishCnt: 1, ringFullFlushes: 1, timerFlushes: 0 });
    expect(smmu.stats().tlbi.context).toBe(1);
    // All released into the caches of CPU 1, which ran the scan.
    const b0 = dom.iova.rcacheState().bins[0]!;
    expect(b0.cpus[1]!.loaded.length + b0.cpus[1]!.prev.length + b0.depot.flat().length).toBe(32767);
    expect(cached(dom, 0)).toEqual([]);
  });

  it("its timeout is 1000 ms = 250 jiffies: a tick of 249 does not flush, 250 does", async () => {
    const { sim, dom, dev } = await rig(profile, { type: "DMA-FQ", fqMode: "single" });
    pair(dev, 0);
    sim.tick(249);
    expect(dom.fqPending()).toBe(1);
    expect(dom.iova.fqCounters()).toEqual({ startCnt: 0, finishCnt: 0, ringFullFlushes: 0, timerFlushes: 0 });
    sim.tick(1);
    expect(dom.fqPending()).toBe(0);
    expect(dom.iova.fqCounters()).toEqual({ startCnt: 1, finishCnt: 1, ringFullFlushes: 0, timerFlushes: 1 });
  });

});

describe.each(PROFILES.filter((p) => !profileHas(p, "DMA_FQ_SINGLE")))("no single flush queue in %s", (profile) => {
  it("is refused", async () => {
    sim = await Simulator.create({ profile });
    expect(() => sim!.createDmaDomain({ smmu: sim!.createSmmu(), fqMode: "single" })).toThrow(ConfigError);
    expect(() => sim!.createDmaDomain({ smmu: sim!.createSmmu(), fqMode: "single" })).toThrow(/since v6.7/);
  });
});
