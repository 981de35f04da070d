// The SMMU v1/v2 (MMU-500) model: each TLB-maintenance register's effect on the IOTLB and
// walk caches, TLBSYNC completing what invalidateAt "sync" holds back (per context bank and
// global), stream matching through SMR/S2CR, context-bank registers and faults, and the
// arm-smmu.c driver's writes as a page table's events (add_page, flush_walk, flush_all,
// iotlb_sync) — which never touch the gather.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Prot, Simulator, type Device, type PageTable, type Smmu, type SmmuOptions, type TlbEvent } from "../dist/index.js";
import { LPAE_S1 as S1, LPAE_S2 as S2 } from "./helpers.js";

let sim: Simulator;
beforeEach(async () => { sim = await Simulator.create({ profile: "7.1" }); });
afterEach(async () => { await sim.close(); });

function setup(opts: SmmuOptions = {}, id = 5, cfg: typeof S1 | typeof S2 = S1, smmu?: Smmu, sid = 1) {
  const pt = sim.createPageTable({ ...cfg, events: 256 });
  const dom = sim.createSmmuDomain(pt, { id });
  smmu ??= sim.createSmmu({ model: "v2", microTlb: 0, ...opts });
  const dev = smmu.attachDevice(sid, dom);
  return { pt, dom, smmu, dev, cb: smmu.contextBank(0).domain === dom.id ? 0 : bankOf(smmu, dom.id) };
}

function bankOf(smmu: Smmu, domainId: number): number {
  for (let cb = 0; cb < 128; cb++) if (smmu.contextBank(cb).domain === domainId) return cb;
  throw new Error(`no bank for domain ${domainId}`);
}

const from = (dev: Device, iova: number) => {
  const r = dev.access(iova, 4, "read");
  if (!r.ok) throw new Error(`fault ${r.fault.type} at ${iova.toString(16)}`);
  return r.segments[0]!.from;
};

function mapPages(pt: PageTable, iova: number, n: number, pa = 0x8000_0000) {
  expect(pt.mapPages(iova, pa, 0x1000, n, Prot.READ | Prot.WRITE).mapped).toBe(n * 0x1000);
}

const va = (iova: number, asid: number) => BigInt(iova / 0x1000) | (BigInt(asid) << 48n);
/** The register operations in a table's events, writes with their run length (polls without: their count is the cost model's). */
const regs = (events: TlbEvent[]) => events.flatMap((e) =>
  e.kind !== "reg" ? [] : [`${e.register}${e.count > 1 && !e.register.endsWith("STATUS") ? "×" + e.count : ""}`]);
const polls = (events: TlbEvent[]) => events.reduce((n, e) => n + (e.kind === "reg" && e.register.endsWith("STATUS") ? e.count : 0), 0);

describe("SMMU v2 registers: each one's effect on the TLB", () => {
  it("TLBIVAL drops the leaf and keeps the walk cache; TLBIVA drops every level", () => {
    const { pt, smmu, dev, cb } = setup();
    mapPages(pt, 0x1000, 2);
    from(dev, 0x1000);
    const reads = () => smmu.stats().pteReads;
    expect(reads()).toBe(4);
    smmu.writeRegister("TLBIVAL", { cb, value: va(0x1000, 5) });
    expect(from(dev, 0x1000)).toBe("walk");
    expect(reads()).toBe(5); // resumed from the L2 walk-cache entry
    smmu.writeRegister("TLBIVA", { cb, value: va(0x1000, 5) });
    expect(from(dev, 0x1000)).toBe("walk");
    expect(reads()).toBe(9); // every level again
    expect(from(dev, 0x2000)).toBe("walk");
    smmu.writeRegister("TLBIVAL", { cb, value: va(0x2000, 6) }); // another ASID: nothing
    expect(from(dev, 0x2000)).toBe("iotlb");
  });

  it("TLBIVAL on a cached block entry removes the whole block", () => {
    const { pt, smmu, dev, cb } = setup();
    pt.mapPages(0x200000, 0x8000_0000, 0x200000, 1, Prot.READ);
    expect(from(dev, 0x3ff000)).toBe("walk");
    expect(from(dev, 0x200000)).toBe("iotlb");
    smmu.writeRegister("TLBIVAL", { cb, value: va(0x234000, 5) });
    expect(from(dev, 0x200000)).toBe("walk");
  });

  it("TLBIASID only that ASID; TLBIALL the bank's own context; TLBIVAA any ASID", () => {
    const a = setup({}, 5);
    const b = setup({}, 6, S1, a.smmu, 2);
    for (const x of [a, b]) { mapPages(x.pt, 0x1000, 1); from(x.dev, 0x1000); }
    expect(a.cb).not.toBe(b.cb);
    a.smmu.writeRegister("TLBIASID", { cb: a.cb, value: 5 });
    expect([a, b].map((x) => from(x.dev, 0x1000))).toEqual(["walk", "iotlb"]);
    a.smmu.writeRegister("TLBIALL", { cb: b.cb });
    expect([a, b].map((x) => from(x.dev, 0x1000))).toEqual(["iotlb", "walk"]);
    a.smmu.writeRegister("TLBIVAAL", { cb: a.cb, value: 1 });
    expect([a, b].map((x) => from(x.dev, 0x1000))).toEqual(["walk", "walk"]);
  });

  it("stage 2: TLBIIPAS2L leaf only, TLBIIPAS2 all levels, TLBIVMID the VMID, TLBIALLNSNH everything", () => {
    const s2 = setup({}, 9, S2);
    const s1 = setup({}, 5, S1, s2.smmu, 2);
    const smmu = s2.smmu;
    mapPages(s2.pt, 0x1000, 1);
    mapPages(s1.pt, 0x1000, 1);
    from(s2.dev, 0x1000); from(s1.dev, 0x1000);
    const reads = () => smmu.stats().pteReads;
    const before = reads();
    smmu.writeRegister("TLBIIPAS2L", { cb: s2.cb, value: 1n });
    expect(from(s2.dev, 0x1000)).toBe("walk");
    const leafOnly = reads() - before;
    smmu.writeRegister("TLBIIPAS2", { cb: s2.cb, value: 1n });
    expect(from(s2.dev, 0x1000)).toBe("walk");
    expect(reads() - before - leafOnly).toBeGreaterThan(leafOnly); // the walk restarted from the top
    expect(from(s1.dev, 0x1000)).toBe("iotlb"); // a stage-1 context is not touched by either
    smmu.writeRegister("TLBIVMID", { value: 9 });
    expect([s2, s1].map((x) => from(x.dev, 0x1000))).toEqual(["walk", "iotlb"]);
    smmu.writeRegister("TLBIALLNSNH");
    expect([s2, s1].map((x) => from(x.dev, 0x1000))).toEqual(["walk", "walk"]);
    expect(smmu.stats().registersByKind).toMatchObject({ TLBIIPAS2L: 1, TLBIIPAS2: 1, TLBIVMID: 1, TLBIALLNSNH: 1, TLBIVAL: 0 });
  });

  it("with invalidateAt 'sync', a TLBI completes only at its bank's TLBSYNC — not another bank's, not the global sync", () => {
    const a = setup({ invalidateAt: "sync" }, 5);
    const b = setup({}, 6, S1, a.smmu, 2);
    const smmu = a.smmu;
    mapPages(a.pt, 0x1000, 1);
    from(a.dev, 0x1000);
    smmu.writeRegister("TLBIVAL", { cb: a.cb, value: va(0x1000, 5) });
    expect(from(a.dev, 0x1000)).toBe("iotlb"); // issued, not complete
    smmu.writeRegister("TLBSYNC", { cb: b.cb });
    smmu.writeRegister("sTLBGSYNC");
    expect(from(a.dev, 0x1000)).toBe("iotlb");
    smmu.writeRegister("TLBSYNC", { cb: a.cb });
    expect(smmu.contextBank(a.cb).tlbStatus).toBe(0);
    expect(from(a.dev, 0x1000)).toBe("walk");
  });

  it("a global TLBI completes at sTLBGSYNC, not at a bank's TLBSYNC", () => {
    const s2 = setup({ invalidateAt: "sync" }, 9, S2);
    mapPages(s2.pt, 0x1000, 1);
    from(s2.dev, 0x1000);
    s2.smmu.writeRegister("TLBIVMID", { value: 9 });
    s2.smmu.writeRegister("TLBSYNC", { cb: s2.cb });
    expect(from(s2.dev, 0x1000)).toBe("iotlb");
    s2.smmu.writeRegister("sTLBGSYNC");
    expect(from(s2.dev, 0x1000)).toBe("walk");
  });

  it("refuses what a v2 SMMU does not have, with the reason", () => {
    const { smmu } = setup();
    expect(() => smmu.submit({ op: "CMD_SYNC" })).toThrow(/has no command queue/);
    expect(() => smmu.writeRegister("TLBSTATUS" as never, { cb: 0 })).toThrow(/must be a register the model writes/);
    expect(() => smmu.writeRegister("TLBIVMID", { cb: 1, value: 1 })).toThrow(/global register/);
    expect(() => smmu.writeRegister("TLBIVA", { cb: 128 })).toThrow(/cb/);
    expect(() => smmu.writeRegister("TLBIVA", { cb: 0, vlaue: 1 } as never)).toThrow(/vlaue/);
    const v3 = sim.createSmmu({});
    expect(() => v3.writeRegister("TLBIVA", { cb: 0 })).toThrow(/has no TLB-maintenance registers/);
    expect(() => sim.createSmmu({ model: "v4" as never })).toThrow(/model/);
  });
});

describe("SMMU v2 stream matching and context banks", () => {
  it("an attach programs an exact SMR, its S2CR and the bank's registers", () => {
    const { smmu, dom, cb, pt } = setup({}, 7);
    const bank = smmu.contextBank(cb);
    expect(bank.domain).toBe(dom.id);
    expect(bank.sctlr & 1).toBe(1);
    expect(bank.ttbr0).toBe(BigInt(pt.geometry.ttbr) | (7n << 48n));
    expect(bank.mair0).toBe(Number(BigInt.asUintN(32, pt.geometry.mair!)));
    expect(bank.tcr & 0x3f).toBe(pt.geometry.tcr.tsz);
  });

  it("an SMR with a mask matches the IDs it ignores the bits of; no match, two matches or an S2CR fault fault; bypass passes through", () => {
    const { smmu, pt, dom, cb } = setup({}, 5);           // stream 1: SMR 0
    mapPages(pt, 0x1000, 1, 0x9000_0000);
    const dev = smmu.attachDevice(0x21, dom);               // stream 0x21: SMR 1, the same bank
    expect(from(dev, 0x1000)).toBe("walk");
    const fault = () => {
      const r = dev.access(0x1000, 4, "read");
      return r.ok ? r.segments[0]!.from : `${r.fault.type}:${r.fault.info}`;
    };
    smmu.setStreamMatch(1, { id: 0x21, type: "translate", cb, valid: false });
    expect(fault()).toBe("bad-stream:1");                   // unmatched
    smmu.setStreamMatch(5, { id: 0x20, mask: 0x1, type: "translate", cb });
    expect(fault()).toBe("iotlb");                          // bit 0 ignored: 0x21 matches 0x20
    smmu.setStreamMatch(5, { id: 0x20, mask: 0x2, type: "translate", cb });
    expect(fault()).toBe("bad-stream:1");                   // bit 0 compared: no match
    smmu.setStreamMatch(5, { id: 0x20, mask: 0x3, type: "translate", cb });
    smmu.setStreamMatch(6, { id: 0x21, type: "bypass" });
    expect(fault()).toBe("bad-stream:3");                   // two SMRs match: a conflict
    smmu.setStreamMatch(5, { id: 0x20, mask: 0x3, type: "translate", cb, valid: false });
    const r = dev.access(0x1234, 4, "read");
    expect(r).toMatchObject({ ok: true, pa: 0x1234, segments: [{ from: "bypass" }] });
    smmu.setStreamMatch(6, { id: 0x21, type: "fault" });
    expect(fault()).toBe("bad-stream:2");                   // the S2CR says fault
    expect(() => smmu.setStreamMatch(6, { id: 0x21, type: "bypass", cb: 1 })).toThrow(/entry.cb/);
    expect(() => smmu.setStreamMatch(128, { id: 1, type: "fault" })).toThrow(/index/);
  });

  it("a context fault sets the bank's FSR and FAR", () => {
    const { smmu, dev, cb, pt } = setup();
    mapPages(pt, 0x1000, 1);
    expect(dev.access(0x5000, 4, "read")).toMatchObject({ ok: false, fault: { type: "translation" } });
    expect(smmu.contextBank(cb)).toMatchObject({ fsr: 1 << 1, far: 0x5000 });
  });
});

describe("the arm-smmu (v2) driver's writes", () => {
  it("a strict unmap writes TLBIVAL per page at once and syncs at iotlb_sync; the gather stays empty", () => {
    const { pt, smmu, dev, cb } = setup({ invalidateAt: "sync" });
    mapPages(pt, 0x1000, 2);
    from(dev, 0x1000);
    pt.takeEvents();
    const r = pt.unmapPages(0x1000, 0x1000, 2, { gather: "strict" });
    expect(r.unmapped).toBe(0x2000);
    const ev = pt.takeEvents();
    expect(regs(ev)).toEqual(["TLBIVAL", "TLBIVAL", "TLBSYNC", "TLBSTATUS"]);
    expect(ev.find((e) => e.kind === "reg")).toMatchObject({ cb, value: va(0x1000, 5) });
    expect(ev.filter((e) => e.kind === "cmd")).toEqual([]);
    expect(dev.access(0x1000, 4, "read")).toMatchObject({ ok: false, fault: { type: "translation" } });
    expect(smmu.stats()).toMatchObject({ commands: 0, syncs: 1 });
    // The sync completes tlbSync + 2 × tlbi after its write; the driver reads TLBSTATUS every statusPoll.
    const c = smmu.costs;
    expect(polls(ev)).toBe(Math.ceil((c.tlbSync + 2 * c.tlbi) / c.statusPoll));
    expect(smmu.stats().registersByKind.TLBSTATUS).toBe(polls(ev));
  });

  it("freeing a table flushes its ASID (TLBIASID + TLBSYNC); a stage-2 unmap writes TLBIIPAS2L and syncs its bank", () => {
    const a = setup({}, 5);
    a.pt.takeEvents();
    a.pt.free();
    expect(regs(a.pt.takeEvents())).toEqual(["TLBIASID", "TLBSYNC", "TLBSTATUS"]);
    const s2 = setup({}, 9, S2, a.smmu, 2);
    mapPages(s2.pt, 0x1000, 1);
    s2.pt.takeEvents();
    s2.pt.unmapPages(0x1000, 0x1000, 1, { gather: "strict" });
    expect(regs(s2.pt.takeEvents())).toEqual(["TLBIIPAS2L", "TLBSYNC", "TLBSTATUS"]);
    expect(a.smmu.stats().registersByKind).toMatchObject({ TLBIASID: 1, TLBSYNC: 2, TLBIIPAS2L: 1 });
  });
});
