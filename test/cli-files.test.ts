// Files named on the command line: an --out whose folder is missing, is a file or cannot be
// written, and `--out ""`, are refused before any work (a long run must not end in a Node
// stack trace, nor end writing nothing); an input file that is missing or a directory is one
// line naming the option and the path. Exit 2, as for all bad input.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const CLI = new URL("../dist/cli.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "iommu-sim-cli-files-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (f: string) => join(dir, f);

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000, cwd: dir });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** One clean line on stderr, nothing on stdout, exit 2. */
function refused(r: ReturnType<typeof cli>, re: RegExp): void {
  expect(r.code, r.err).toBe(2);
  expect(r.out).toBe("");
  expect(r.err.trim().split("\n"), r.err).toHaveLength(1);
  expect(r.err).not.toMatch(/internal error|ENOENT|    at /);
  expect(r.err).toMatch(re);
}

writeFileSync(at("file.json"), "{}");
mkdirSync(at("folder"));
writeFileSync(at("grid.json"), JSON.stringify({ name: "g", base: "nic-tx", set: { "workloads[0].ops": 50 }, axes: { "domains[0].type": ["DMA"] } }));

describe("--out is checked before any work", () => {
  const missing = /--out must be in a folder that exists \(\/nonexistent does not: create it first\), got "\/nonexistent\/x"/;
  it("run, report, bench, sweep, sweep report: a folder that does not exist", () => {
    refused(cli("run", "nic", "--no-progress", "--out", "/nonexistent/x"), missing);
    refused(cli("bench", "-s", "1", "--max-loops", "50", "--out", "/nonexistent/x"), missing);
    refused(cli("sweep", at("grid.json"), "--out", "/nonexistent/x"), missing);
    // The --out is checked before the input is read: a missing report is not what it says.
    refused(cli("report", at("nope.json"), "--out", "/nonexistent/x"), missing);
    refused(cli("sweep", "report", at("nope.jsonl"), "--out", "/nonexistent/x"), missing);
    refused(cli("explore", "seed-race", "--export-litmus", "/nonexistent/x"),
      /--export-litmus must be in a folder that exists \(\/nonexistent does not: create it first\)/);
  });

  it("a folder that is a file, and an empty --out", () => {
    refused(cli("run", "nic", "--no-progress", "--out", "file.json/x"), /--out must be in a folder \(file\.json is a file, not a folder\), got "file\.json\/x"/);
    refused(cli("run", "nic", "--no-progress", "--out", ""), /--out must name the base of the report's two files, e\.g\. --out report, got ""/);
    refused(cli("bench", "-s", "1", "--max-loops", "50", "--out", ""), /--out must name the base/);
    refused(cli("sweep", at("grid.json"), "--out", ""), /--out must name the base of the sweep's files/);
    refused(cli("explore", "seed-race", "--export-litmus", ""), /--export-litmus needs a file to write/);
  });

  it("a report file that cannot be written (a directory of its name) is named, not a stack", () => {
    mkdirSync(at("taken.json"));
    writeFileSync(at("rep.json"), "{}");
    const r = cli("run", "nic", "--no-progress", "--json", "--out", "taken");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^iommu-sim: cannot write taken\.json: illegal operation on a directory \(EISDIR\)$/m);
    expect(r.err).not.toMatch(/internal error/);
  });
});

describe("input files: missing or a directory, named with the option", () => {
  it("replay, replay --compare, explore --litmus, report, explore's scenario", () => {
    writeFileSync(at("ok.in"), "cfg s1 0x40201000 48 48 1\n");
    refused(cli("replay", "nope.in"), /^iommu-sim: replay <file> must name a file that exists, got "nope\.in"$/m);
    refused(cli("replay", "folder"), /^iommu-sim: replay <file> must name a file, not a directory, got "folder"$/m);
    refused(cli("replay", "ok.in", "--compare", "nope.out"), /^iommu-sim: --compare must name a file that exists, got "nope\.out"$/m);
    refused(cli("explore", "--litmus", "nofile.litmus"), /^iommu-sim: --litmus must name a file that exists, got "nofile\.litmus"$/m);
    refused(cli("explore", "--litmus", "folder"), /^iommu-sim: --litmus must name a file, not a directory, got "folder"$/m);
    refused(cli("report", "nope.json"), /^iommu-sim: report <result> must name a file that exists, got "nope\.json"$/m);
    refused(cli("explore", "nope.json"), /^iommu-sim: explore <scenario> \(not a built-in: seed-race.*\) must name a file that exists, got "nope\.json"$/m);
    refused(cli("explore", "seed-race", "--variant", "folder"), /^iommu-sim: --variant must name a file, not a directory, got "folder"$/m);
    writeFileSync(at("sv.json"), JSON.stringify({ profile: "5.15", variant: "nov.json", threads: {} }));
    refused(cli("explore", "./sv.json"), /^iommu-sim: \.\/sv\.json's variant file must name a file that exists, got ".*nov\.json"$/m);
    expect(existsSync(at("nope.out"))).toBe(false);
  });
});
