// One vocabulary for SMMUv3 commands: every kind is named as the architecture names it
// (CMD_TLBI_NH_ASID, CMD_SYNC, ...), counted by the SMMU under that name, and listed in one
// order (the opcodes'), whichever commands a run happened to send most.

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMAND_KINDS, Prot, Simulator, decodeCommand, type SmmuCommandInput } from "../dist/index.js";

let sim: Simulator;
beforeAll(async () => { sim = await Simulator.create({ ramMiB: 8 }); });
afterAll(async () => { await sim.close(); });

/** A command of each kind, with what that kind needs. */
const ONE_OF_EACH: Record<(typeof COMMAND_KINDS)[number], SmmuCommandInput> = {
  CMD_CFGI_STE: { op: "CMD_CFGI_STE", streamId: 1 }, CMD_CFGI_ALL: { op: "CMD_CFGI_ALL" },
  CMD_CFGI_CD: { op: "CMD_CFGI_CD", streamId: 1 }, CMD_CFGI_CD_ALL: { op: "CMD_CFGI_CD_ALL", streamId: 1 },
  CMD_TLBI_NH_ALL: { op: "CMD_TLBI_NH_ALL", vmid: 0 }, CMD_TLBI_NH_ASID: { op: "CMD_TLBI_NH_ASID", asid: 5 },
  CMD_TLBI_NH_VA: { op: "CMD_TLBI_NH_VA", asid: 5, addr: 0x1000 }, CMD_TLBI_NH_VAA: { op: "CMD_TLBI_NH_VAA", addr: 0x1000 },
  CMD_TLBI_EL2_ALL: { op: "CMD_TLBI_EL2_ALL" }, CMD_TLBI_EL2_ASID: { op: "CMD_TLBI_EL2_ASID", asid: 5 },
  CMD_TLBI_EL2_VA: { op: "CMD_TLBI_EL2_VA", asid: 5, addr: 0x1000 }, CMD_TLBI_S12_VMALL: { op: "CMD_TLBI_S12_VMALL", vmid: 5 },
  CMD_TLBI_S2_IPA: { op: "CMD_TLBI_S2_IPA", vmid: 5, addr: 0x1000 }, CMD_TLBI_NSNH_ALL: { op: "CMD_TLBI_NSNH_ALL" },
  CMD_SYNC: { op: "CMD_SYNC" },
};

describe("SMMUv3 command kinds", () => {
  it("are the architecture's names, CMD_SYNC last (opcode order)", () => {
    expect(COMMAND_KINDS[0]).toBe("CMD_CFGI_STE");
    expect(COMMAND_KINDS.at(-1)).toBe("CMD_SYNC");
    expect(COMMAND_KINDS.indexOf("CMD_TLBI_NH_ASID")).toBeLessThan(COMMAND_KINDS.indexOf("CMD_TLBI_NH_VA"));
    for (const k of COMMAND_KINDS) expect(k).toMatch(/^CMD_/);
  });

  it("each kind submitted is counted under its own name, and the stats list every kind in that order", () => {
    const smmu = sim.createSmmu();
    try {
      COMMAND_KINDS.forEach((k, i) => {
        for (let n = 0; n <= i; n++) smmu.submit(ONE_OF_EACH[k]);
      });
      const byKind = smmu.stats().commandsByKind;
      expect(Object.keys(byKind)).toEqual([...COMMAND_KINDS]);
      expect(Object.values(byKind)).toEqual(COMMAND_KINDS.map((_, i) => i + 1));
    } finally {
      smmu.destroy();
    }
  });

  it("0.1's names (the driver's CMDQ_OP_ suffixes) are still accepted, and counted under the new ones", () => {
    const smmu = sim.createSmmu();
    try {
      smmu.submit({ op: "TLBI_NH_ASID", asid: 5 });
      smmu.submit({ op: "TLBI_NH_VA", asid: 5, addr: 0x2000 });
      smmu.submit({ op: "CMD_SYNC" });
      expect(smmu.stats().commandsByKind).toMatchObject({ CMD_TLBI_NH_ASID: 1, CMD_TLBI_NH_VA: 1, CMD_SYNC: 1 });
      expect(() => smmu.submit({ op: "SYNC" } as never)).toThrow(/op must be an SMMUv3 command name/);
    } finally {
      smmu.destroy();
    }
  });

  it("commands the driver sends are decoded under the same names", () => {
    const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48 });
    const dom = sim.createSmmuDomain(pt, { id: 5 });
    try {
      pt.mapPages(0x400000, 0x400000, 0x1000, 1, Prot.READ);
      pt.takeEvents();
      pt.unmapPages(0x400000, 0x1000, 1);
      const ops = pt.takeEvents().flatMap((e) => (e.kind === "cmd" ? [e.command.op] : []));
      expect(ops).toEqual(["CMD_TLBI_NH_VA", "CMD_SYNC"]);
      expect(decodeCommand(0x11n | (5n << 48n), 0n)).toEqual({ op: "CMD_TLBI_NH_ASID", asid: 5, vmid: 0 });
    } finally {
      dom.destroy();
      pt.release();
    }
  });
});

describe("no other names for a command kind", () => {
  // 0.1 showed one command as "TLBI by context" (CLI), "by ASID" (live page) and TLBI_NH_ASID
  // (API). What a user reads — the CLI and reports, the live page — may only use the SMMUv3 names.
  const ROOT = join(import.meta.dirname, "..");
  const files = [
    "src/cli.ts", "src/run/runner.ts", ...readdirSync(join(ROOT, "src/report")).map((f) => `src/report/${f}`),
    ...readdirSync(join(ROOT, "web")).filter((f) => /\.(html|js)$/.test(f)).map((f) => `web/${f}`),
  ];
  it.each(files)("%s", (file) => {
    const shown = readFileSync(join(ROOT, file), "utf8").split("\n")
      .filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l)) // comments may explain in words
      .filter((l) => /TLBI (by|all)\b|\(by (VA|ASID|context)\b|\bby context\b/.test(l));
    expect(shown).toEqual([]);
  });
});
