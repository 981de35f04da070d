// The command line's scenario commands, as a user runs them: `run` (summary, --json, --out
// with the HTML report that a headless Chromium renders with its plots), `report`, `list`,
// bad scenario files (one error line naming the field, exit 2), violations (exit 1), and a
// worker that fails mid-run (non-zero exit, its message, the process ends: nothing left).

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BUILTIN_RUN_SCENARIOS } from "../dist/index.js";
import { checkRendered, dumpDom, findChromium } from "../dist/node.js";

const CLI = new URL("../dist/cli.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "iommu-sim-run-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

/** The built-in nic scenario at `ops` per CPU, with `patch`, written to a file. */
function scenarioFile(name: string, ops: number, patch: Record<string, unknown> = {}): string {
  const sc = structuredClone(BUILTIN_RUN_SCENARIOS.nic) as Record<string, any>;
  for (const w of sc.workloads) w.ops = ops;
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ ...sc, name, ...patch }, null, 2));
  return path;
}

describe("iommu-sim run / report / list", () => {
  const file = scenarioFile("small-nic", 5_000);

  it("run prints the summary, writes the JSON and HTML reports, exits 0", () => {
    const r = cli("run", file, "--out", join(dir, "small"));
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Run: +scenario small-nic · profile 7\.1 · workers 2 · cpus 2 · seed 1 · oracle on$/m);
    expect(r.out).toMatch(/^Outcome: +ok \(expected clean: as expected\)/m);
    expect(r.out).toMatch(/switch-to-lazy +nic +ok/);
    expect(r.out).toContain(`report: ${join(dir, "small")}.html`);
    const json = JSON.parse(readFileSync(join(dir, "small.json"), "utf8"));
    expect(json).toMatchObject({ tool: "iommu-sim", totals: { ops: 10_000, violations: 0 } });
    expect(readFileSync(join(dir, "small.html"), "utf8")).toContain('<script type="application/json" id="report">');
  });

  it("--json prints the report; --workers and --seed override the scenario's", () => {
    const r = cli("run", file, "--json", "--workers", "1", "--seed", "9");
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out);
    expect(json.scenario).toMatchObject({ name: "small-nic", workers: 1, seed: 9 });
    expect(json.timing.perWorker).toHaveLength(1);
  });

  it("report re-reads a run's JSON and prints the same summary", () => {
    const r = cli("report", join(dir, "small.json"), "--out", join(dir, "again.html"));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Outcome: +ok/m);
    expect(existsSync(join(dir, "again.html"))).toBe(true);
    const bad = cli("report", file);
    expect(bad.code).toBe(2);
    expect(bad.err.trim()).toMatch(/is not an iommu-sim run report/);
  });

  it("list names the built-in scenarios; an unknown name is bad input", () => {
    const r = cli("list");
    expect(r.code).toBe(0);
    for (const name of Object.keys(BUILTIN_RUN_SCENARIOS)) expect(r.out).toMatch(new RegExp(`^  ${name} `, "m"));
    expect(r.out).toContain("seed-race");
    const bad = cli("run", "nosuch");
    expect(bad.code).toBe(2);
    expect(bad.err.trim()).toMatch(/no built-in scenario named "nosuch" \(built-in: nic, nic-tx, storage, random, attacker\)/);
  });

  it("run without --out writes no file, as its --help says; every number says which clock it is on", () => {
    const cwd = mkdtempSync(join(tmpdir(), "iommu-sim-no-out-"));
    try {
      const r = spawnSync(process.execPath, [CLI, "run", file, "--workers", "1"], { cwd, encoding: "utf8", timeout: 120_000 });
      expect(r.status).toBe(0);
      expect(readdirSync(cwd)).toEqual([]);
      expect(r.stdout).not.toMatch(/^report: /m);
      expect(r.stdout).toMatch(/modelled ns\/op +map p50\/p99 +unmap p50\/p99/);
      expect(r.stdout).toMatch(/^map\/unmap p50\/p99: modelled ns, interpolated/m);
      expect(r.stdout).toMatch(/^Lazy window: .*modelled µs: mean/m);
      expect(r.stdout).toMatch(/^Timing: +wall time [\d,.]+ ms · throughput [\d,]+ wall ops\/s$/m);
      // Command kinds by their SMMUv3 names, in opcode order (a strict-then-lazy nic run sends these three).
      expect(r.stdout).toMatch(/commands CMD_TLBI_NH_ASID [\d,]+, CMD_TLBI_NH_VA [\d,]+, CMD_SYNC [\d,]+$/m);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
    const help = cli("run", "--help").out.replace(/\s+/g, " ");
    expect(help).toMatch(/with --out, also writes the report as JSON and HTML files/);
  });

  it("every command has --help", () => {
    for (const cmd of ["run", "list", "report", "bench", "explore", "replay", "churn", "sweep"]) {
      const r = cli(cmd, "--help");
      expect(r.code, cmd).toBe(0);
      expect(r.out, cmd).toMatch(/^Usage: iommu-sim /);
    }
  });
});

describe("bad scenario files: one error line with the field path, exit 2", () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["wrong type", { cpus: "two" }, /^iommu-sim: bad scenario: .*wrong-type\.json: cpus: expected an integer 1\.\.128, found "two" \(a string\)$/],
    ["unknown field", { colour: "red" }, /^iommu-sim: bad scenario: .*unknown-field\.json: colour: unknown field \(allowed: .*\)$/],
    ["impossible value", { domains: [{ name: "nic", granule: 8192 }] },
      /^iommu-sim: bad scenario: .*impossible-value\.json: domains\[0\]\.granule: expected one of 4096, 16384, 65536, found 8192$/],
    ["missing domain", { devices: [{ name: "eth0", domain: "nic", streamId: 1 }, { name: "eth1", domain: "gpu", streamId: 2 }] },
      /^iommu-sim: bad scenario: .*missing-domain\.json: devices\[1\]\.domain: no domain named "gpu" \(domains: nic\)$/],
    // createSmmu's rule across costs, told by the field path before a worker sets the SMMU up,
    // with a machine preset's costs under the file's own, and with the defaults.
    ["sync below a machine's claim and MMIO", { machine: "kunpeng-920", smmu: { costs: { sync: 10 } } },
      /^iommu-sim: bad scenario: .*sync-below-a-machine's-claim-and-MMIO\.json: smmu\.costs\.sync: must be at least smmu\.costs\.cmdqClaim \+ smmu\.costs\.mmio \+ smmu\.costs\.syncWake \(40 \+ 60 \+ 0 ns\): .*, found 10 \(the costs the scenario does not give are machine "kunpeng-920"'s, then the defaults\)$/],
    ["a claim above the default sync", { smmu: { model: "v2", costs: { cmdqClaim: 5000 } } },
      /^iommu-sim: bad scenario: .*a-claim-above-the-default-sync\.json: smmu\.costs\.sync: must be at least .* \(5000 \+ 0 \+ 0 ns\): .*, found 1000 \(the costs the scenario does not give are the defaults\)$/],
  ];
  for (const [what, patch, message] of cases) {
    it(what, () => {
      const r = cli("run", scenarioFile(what.replace(/ /g, "-"), 100, patch));
      expect(r.code).toBe(2);
      expect(r.out).toBe("");
      const lines = r.err.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    });
  }

  it("a file that is not JSON, and one that is not there", () => {
    const path = join(dir, "broken.json");
    writeFileSync(path, "{ nope");
    const r = cli("run", path);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(/broken\.json: not JSON: /);
    const gone = cli("run", join(dir, "gone.json"));
    expect(gone.code).toBe(2);
    expect(gone.err.trim()).toMatch(/cannot read .*gone\.json: no such file or directory \(ENOENT\)$/);
  });
});

describe("failures and findings", () => {
  it("a worker that throws mid-run: the summary of what was done, exit 2, the worker's message, and the process ends", () => {
    const file = scenarioFile("throws", 50_000, { events: [{ at: { fraction: 0.3 }, cpu: 1, action: "fail-worker" }] });
    const r = cli("run", file);
    expect(r.signal).toBeNull(); // it ended by itself, not by the test's timeout
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^Outcome: +failed /m);
    expect(r.err.trim()).toMatch(/^iommu-sim: scenario throws: worker 1 failed: cpu 1 \(nic-rx "rx1"\): injected failure: the scenario's fail-worker event \(30% of cpu 1's operations\) on cpu 1 — worker 1 ran cpu 1 \(nic-rx "rx1"\); the run was stopped, every other worker at a safe point$/);
    // Worker threads live in the process: once it has exited, nothing of the run is left.
    const left = spawnSync("pgrep", ["-f", file], { encoding: "utf8" });
    expect(left.stdout.trim()).toBe("");
  });

  it("a run cut short by the scenario's timeout: the summary of what was done, exit 2 and why", () => {
    const file = scenarioFile("slow", 50_000_000, { timeoutMs: 1000 });
    const r = cli("run", file, "--workers", "1");
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^Outcome: +stopped \(expected clean: NOT AS EXPECTED\) · stopped at the timeout \(1000 ms\)/m);
    expect(r.err.trim()).toBe("iommu-sim: run slow: stopped at the timeout (1000 ms) before every operation was done");
  });

  it("violations found: exit 1, and the summary explains the first ones", () => {
    const file = scenarioFile("broken-smmu", 2_000, { events: [], smmu: { injectDroppedInvalidations: true } });
    const r = cli("run", file, "--workers", "1");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^Outcome: +violations \(expected clean: NOT AS EXPECTED\)/m);
    expect(r.out).toMatch(/use-after-free/);
  });

  it("violations a scenario expects (checks.expect \"violations\" or \"any\"): as expected, exit 0", () => {
    const broken = { events: [], smmu: { injectDroppedInvalidations: true } };
    for (const expect_ of ["violations", "any"]) {
      const file = scenarioFile(`expects-${expect_}`, 2_000, { ...broken, checks: { oracle: true, expect: expect_ } });
      const r = cli("run", file, "--workers", "1");
      expect(r.out).toMatch(new RegExp(`^Outcome: +violations \\(expected ${expect_}: as expected\\)`, "m"));
      expect(r.code, expect_).toBe(0);
    }
    // A clean run where violations were expected is not as expected.
    const clean = cli("run", scenarioFile("expects-violations-clean", 2_000, { checks: { oracle: true, expect: "violations" } }), "--workers", "1");
    expect(clean.out).toMatch(/^Outcome: +ok \(expected violations: NOT AS EXPECTED\)/m);
    expect(clean.code).toBe(1);
  });
});

// Chromium must be there in CI (.ci/run installs it); elsewhere, without it, this is skipped.
const chromium = findChromium();
describe("the HTML report of a real run in headless Chromium", () => {
  if (!chromium) {
    if (process.env.CI) it("finds Chromium (CI is set)", () => { throw new Error("Chromium not found"); });
    else it.skip("skipped: Chromium not found (install chromium or set CHROMIUM)", () => {});
    return;
  }
  it("renders with its five plots", async () => {
    const html = join(dir, "small.html");
    if (!existsSync(html)) cli("run", scenarioFile("small-nic", 5_000), "--out", join(dir, "small"));
    const marks = checkRendered(await dumpDom(html, { chromium, timeoutMs: 20_000 }), 5);
    expect(marks).toEqual({ rendered: true, plots: 5, error: null });
  }, 30_000);
});
