// The replay language's error handling, and the command line end to end.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROFILES, ReplayError, profileHas, replayScript } from "../dist/index.js";
import { CONFORMANCE } from "./helpers.js";

const run = promisify(execFile);
const CLI = join(import.meta.dirname, "..", "dist", "cli.js");

describe("replay errors say which line and what was wrong", () => {
  const cases: [string, RegExp][] = [
    ["cfg s1 0x40201000 48 48\nfrobnicate 1", /line 2: unknown command 'frobnicate'/],
    ["cfg s1 0x40201000 48 48\nmap 0x1000 0x1000 0x1000 1", /line 2: missing argument 5 \(PROT\)/],
    ["cfg s1 0x40201000 48 48\nmap 0x1000 zz 0x1000 1 3", /line 2: PADDR must be a decimal or 0x-hex number, got 'zz'/],
    ["cfg s1 0x40201000 48 48\nphys 0xffffffffffffffff", /line 2: IOVA 0xffffffffffffffff is above 2\^53/],
    ["map 0x1000 0x1000 0x1000 1 3", /line 1: no page table/],
    ["cfg s3 0x40201000 48 48", /line 1: FMT must be one of s1, s2, s1_32, s2_32, got 's3'/],
    ["cfg s1 0x40201000 48 48 1 0 7", /line 1: too many arguments/],
    // 0/1 flags take 0 or 1, as failatomic's does, not any number as 1.
    ["cfg s1 0x40201000 48 48 5", /line 1: COHERENT must be 0 or 1, got '5'/],
    ["cfg s1 0x40201000 48 48\nsmmu 2 1 5", /line 2: RIL must be 0 or 1, got '2'/],
    ["cfg s1 0x40201000 48 48\nsmmu 0 1 5 3", /line 2: COMPACT must be 0 or 1, got '3'/],
    ["cfg s1 0x40201000 48 48\nunmap 0x1000 0x1000 1 7", /line 2: QUEUED must be 0 or 1, got '7'/],
    ["init 4096 1\nalloc 1 0xfffff 7", /line 2: ALIGNED must be 0 or 1, got '7'/],
    ["init 4096 1\nfast 1 0xffff 2", /line 2: FLUSH must be 0 or 1, got '2'/],
    ["init 4096 1\nfailatomic 2", /line 2: FAIL must be 0 or 1, got '2'/],
    // The arguments are read in the line's order: a bare smmu lacks RIL first (it said STAGE, argument 2).
    ["cfg s1 0x40201000 48 48\nsmmu", /line 2: missing argument 1 \(RIL\)$/m],
    ["cfg s1 0x40201000 48 48\nsmmu v2", /line 2: missing argument 2 \(STAGE\)$/m],
    ["cfg s1 0x40201000 48 48\nsmmu v2 2", /line 2: missing argument 3 \(ID\)$/m],
    ["cfg s1 0x40201000 48 48\nsmmu 1 2 70000", /line 2: ID must be a VMID in \[0, 65535\], got 70000/],
    ["cfg s1 0x40201000 48 48\nsmmu v2 1 70000", /line 2: ID must be an ASID in \[0, 65535\] on an SMMU v2, got 70000/],
    // An error the library words for itself loses its "iommu-sim: " after the line number (it was doubled on the command line).
    ["init 4096 1\nfqinit", /^line 2: fqInit: in 7\.1 the flush queue belongs to dma-iommu/],
    // Two behaviours lines: the second is the one that repeats, and the message speaks the script's words.
    ["behaviours without SMMU_NONLEAF_TTL0\nbehaviours without SMMU_NONLEAF_TTL0",
      /^line 2: 'without SMMU_NONLEAF_TTL0' names SMMU_NONLEAF_TTL0 twice; line 1's 'without SMMU_NONLEAF_TTL0' names it too\n/],
    ["behaviours with SMMU_NONLEAF_TTL0", /^line 1: 'with SMMU_NONLEAF_TTL0' adds SMMU_NONLEAF_TTL0, which kernel 7\.1 already has/],
  ];
  for (const [script, message] of cases) {
    it(message.source, async () => {
      const err = await replayScript(script, { profile: "7.1" }).catch((e) => e);
      expect(err).toBeInstanceOf(ReplayError);
      expect(err.message).toMatch(message);
    });
  }

  it("a behaviour the script and the options both name: the script's line, and the options' entry named", async () => {
    const script = "# a\nbehaviours without SMMU_NONLEAF_TTL0\n";
    const err = await replayScript(script, { profile: "7.1", behaviours: { without: ["SMMU_NONLEAF_TTL0"] } }).catch((e) => e);
    expect(err).toBeInstanceOf(ReplayError);
    expect(err.message).toMatch(/^line 2: 'without SMMU_NONLEAF_TTL0' names SMMU_NONLEAF_TTL0 twice; behaviours\.without\[0\] of the options names it too/);
    const flags = await replayScript(script, { profile: "7.1", behaviours: { with: ["SMMU_NONLEAF_TTL0"] }, behavioursFrom: "flags" }).catch((e) => e);
    expect(flags.message).toMatch(/^line 2: --with SMMU_NONLEAF_TTL0 adds SMMU_NONLEAF_TTL0, which kernel 7\.1 already has .*; this line's 'without SMMU_NONLEAF_TTL0' names it too/);
  });

  it("a failed cfg prints the kernel's NULL", async () => {
    const out = await replayScript("cfg s2 0x40201000 44 40 1", { profile: "7.1" });
    expect(out.slice(1)).toEqual([expect.stringMatching(/^WARNING: /), "alloc_io_pgtable_ops -> NULL", "# warnings=1"]);
  });
});

describe("command line", () => {
  it("replay --compare reports identical traces", async () => {
    const dir = join(CONFORMANCE, "pgtable");
    const { stdout } = await run("node", [CLI, "replay", join(dir, "basic.in"), "--profile", "5.15",
      "--compare", join(dir, "basic.515.out"), "--no-cmd"]);
    expect(stdout).toMatch(/^identical: \d+ normalised lines/);
  });

  it("replay --no-cmd without --compare is refused (it was ignored: the CMD lines were printed)", async () => {
    const err = await run("node", [CLI, "replay", join(CONFORMANCE, "pgtable", "basic.in"), "--profile", "5.15", "--no-cmd"]).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toMatch(/^iommu-sim: --no-cmd applies only with --compare FILE/);
  });

  it("replay --compare finds a difference and exits 1", async () => {
    const dir = join(CONFORMANCE, "pgtable");
    const err = await run("node", [CLI, "replay", join(dir, "basic.in"), "--profile", "7.1",
      "--compare", join(dir, "basic.515.out"), "--no-cmd"]).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stdout).toMatch(/first difference at normalised line \d+/);
  });

  it("bad options and scripts exit 2 with a message", async () => {
    const err = await run("node", [CLI, "replay", "/nonexistent.in"]).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toMatch(/^iommu-sim: replay <file> must name a file that exists, got "\/nonexistent\.in"$/m);
    // The script's line on a line of its own, not after a literal "\n".
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const script = join(mkdtempSync(join(tmpdir(), "iommu-sim-replay-")), "f.in");
    writeFileSync(script, "cfg s1 0x40201000 48 48 1\nfrobnicate 1 2\n");
    const unknown = await run("node", [CLI, "replay", script]).catch((e) => e);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("iommu-sim replay: line 2: unknown command 'frobnicate'\n  frobnicate 1 2\n");
    const bad = await run("node", [CLI, "replay", "x", "--profile", "6.1"]).catch((e) => e);
    expect(bad.stderr).toMatch(/Allowed choices are 5.15, 6.12, 7.1/);
  });

  it("churn runs two workers, checks itself, and says its rates are wall-clock", async () => {
    const { stdout, stderr } = await run("node", [CLI, "churn", "--ops", "5000"]);
    expect(stdout).toMatch(/^iommu-sim churn — kernel profile 7\.1/);
    expect(stdout).toMatch(/2 workers/);
    expect(stdout).toMatch(/tables EQUAL to the sequential run/);
    expect(stdout).toMatch(/after free: 0 table pages live/);
    expect(stdout).toMatch(/ms wall \([\d.]+ [kM]? ?wall ops\/s\)/);
    expect(stderr).toBe("");
  });

  it("demo, churn's 0.1 name, still runs it and says what to type instead", async () => {
    const { stdout, stderr } = await run("node", [CLI, "demo", "--ops", "2000", "--workers", "1"]);
    expect(stdout).toMatch(/tables EQUAL to the sequential run/);
    expect(stderr).toMatch(/`demo` is now called `churn`.*`iommu-sim run nic`/);
  });

  it("with no command, prints the commands (and runs nothing)", async () => {
    const { stdout } = await run("node", [CLI]);
    expect(stdout).toMatch(/^Usage: iommu-sim/);
    expect(stdout).toMatch(/^ {2}run /m);
    expect(stdout).toMatch(/^ {2}churn /m);
    expect(stdout).not.toMatch(/^ {2}demo /m);
  });

  it("selftest passes for every profile", async () => {
    for (const p of PROFILES) {
      const { stdout } = await run("node", [CLI, "selftest", "--profile", p]);
      expect(stdout).toMatch(profileHas(p, "PGT_SELFTEST_KUNIT") ? /63 passed, 0 failed/ : /18 passed, 0 failed; 0 table allocations leaked/);
    }
  });
});
