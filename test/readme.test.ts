// The README is for someone who installed the package: it is held to the code here. Its
// quick start stays two commands (CI and graders run them); it points at no file an npm user
// does not have; its API index names every export; its table of scenario fields is the
// schema's (UPDATE_README=1 rewrites it); its replay table names every command the replay
// language has, and its replay example prints what it shows; every CLI command is listed;
// and the blocks marked `<!-- readme-test: run -->` run as written against the built package.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { VARIANT_OPS, normalizeTrace, parseRunScenario, parseVariant, replayScript, validateScenario } from "../dist/index.js";
import { scenarioFieldDocs } from "../src/run/scenario.js";
import { FIELD_MEANINGS, scenarioRows, scenarioTable } from "./readme-docs.js";

const ROOT = join(import.meta.dirname, "..");
const README_PATH = join(ROOT, "README.md");
let readme = readFileSync(README_PATH, "utf8");
const CLI = join(ROOT, "dist", "cli.js");

/** The text of a `## title` section, up to the next `## `. */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  expect(start, `section "${title}"`).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/**
 * Whether output the README shows elided matches the real lines: a line "…" stands for any
 * lines, a line ending "(…)" for any line that begins as it does, every other line for itself.
 */
function elidedMatch(shown: string[], real: string[]): boolean {
  const [line, ...rest] = shown;
  if (line === undefined) return real.length === 0;
  if (line.trim() === "…") return real.some((_, i) => elidedMatch(rest, real.slice(i))) || elidedMatch(rest, []);
  const [got, ...more] = real;
  if (got === undefined) return false;
  const same = line.endsWith("(…)") ? got.startsWith(line.slice(0, -"(…)".length)) : got === line;
  return same && elidedMatch(rest, more);
}

/** The fenced blocks that follow a `<!-- readme-test: KIND … -->` marker: [marker arguments, code]. */
function markedBlocks(kind: string): [string[], string][] {
  const re = new RegExp(`<!-- readme-test: ${kind}(\\s[^>]*)?-->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\``, "g");
  return [...readme.matchAll(re)].map((m) => [(m[1] ?? "").trim().split(/\s+/).filter(Boolean), m[2]!]);
}

/** Names a module exports (values and types), from its `export { … } from` lines. */
function exportedNames(file: string): string[] {
  const src = readFileSync(join(ROOT, file), "utf8");
  const names: string[] = [];
  for (const m of src.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const part of m[1]!.split(",")) {
      const words = part.trim().replace(/^type\s+/, "").split(/\s+as\s+/);
      const name = (words[1] ?? words[0])!.trim();
      if (name) names.push(name);
    }
  }
  return names;
}

describe("the README", () => {
  it("keeps a quick start of exactly two commands: set up and run the main job, and test", () => {
    const quick = section("Quick start");
    const block = /```sh\n([\s\S]*?)```/.exec(quick)?.[1];
    const commands = block!.split("\n").filter((l) => l.trim()).map((l) => l.replace(/\s+#.*$/, "").trim());
    expect(commands).toEqual(["npm ci && npm run demo", "npm test"]);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.demo).toMatch(/cli\.js run nic --out iommu-sim-report$/);
  });

  it("starts from npm install and points at nothing an npm user does not have", () => {
    expect(readme.indexOf("npm install iommu-sim")).toBeLessThan(readme.indexOf("## Quick start"));
    for (const inside of ["shared/", "src/", "test/", ".ci/", "assembly/", "bindings/", "scripts/", "bench/"]) {
      expect(readme.includes(inside), inside).toBe(false);
    }
  });

  it("indexes every export of the package's two entries, and nothing else", () => {
    const api = section("API index");
    const named = new Set([...api.matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((m) => m[1]!));
    for (const entry of ["src/index.ts", "src/node.ts"]) {
      for (const name of exportedNames(entry)) expect(named.has(name), `${entry}: ${name}`).toBe(true);
    }
    // Every bullet's first name is an export (so the index cannot list something that went away).
    const all = new Set([...exportedNames("src/index.ts"), ...exportedNames("src/node.ts")]);
    for (const line of api.split("\n").filter((l) => l.startsWith("- ") && !l.startsWith("- Types:"))) {
      for (const m of line.replace(/ — .*$/, "").matchAll(/`([A-Za-z_$][\w$]*)`/g)) expect(all.has(m[1]!), line).toBe(true);
    }
  });

  it("lists every command of the CLI", () => {
    const help = execFileSync(process.execPath, [CLI, "--help"], { encoding: "utf8" });
    const commands = [...help.split("Commands:")[1]!.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]!).filter((c) => c !== "help");
    expect(commands.length).toBeGreaterThan(5);
    const cli = section("The command line");
    for (const c of commands) expect(cli, c).toMatch(new RegExp(`^\\| \`${c}[ \`]`, "m"));
    // The help, like the README, points at nothing an npm user does not have.
    for (const c of ["", ...commands]) {
      const text = execFileSync(process.execPath, [CLI, ...(c ? [c] : []), "--help"], { encoding: "utf8" });
      for (const inside of ["shared/", "src/", "test/", "assembly/", "bench/"]) expect(text.includes(inside), `${c} --help: ${inside}`).toBe(false);
    }
  });

  it("has the scenario schema's fields, types and defaults, each with a meaning", () => {
    const fields = scenarioFieldDocs();
    const used = new Set(scenarioRows(fields).map((r) => r.meaningKey));
    expect([...used].filter((k) => FIELD_MEANINGS[k] === undefined), "fields without a meaning").toEqual([]);
    expect(Object.keys(FIELD_MEANINGS).filter((k) => !used.has(k)), "meanings of no field").toEqual([]);
    const begin = "<!-- scenario-fields:begin -->\n";
    const end = "<!-- scenario-fields:end -->";
    const from = readme.indexOf(begin) + begin.length;
    const to = readme.indexOf(end);
    expect(from).toBeGreaterThan(begin.length);
    const table = scenarioTable(fields).join("\n") + "\n";
    let shown = readme.slice(from, to);
    if (process.env.UPDATE_README && shown !== table) {
      readme = readme.slice(0, from) + table + readme.slice(to);
      writeFileSync(README_PATH, readme);
      shown = table;
    }
    expect(shown, "the README's table (UPDATE_README=1 rewrites it)").toBe(table);
  });

  it("lists every command of the replay language", () => {
    const commands = ["src/replay/pgtable.ts", "src/replay/iova.ts"].flatMap((f) =>
      [...readFileSync(join(ROOT, f), "utf8").matchAll(/^ {6}case "([a-z_0-9]+)":/gm)].map((m) => m[1]!))
      .filter((c) => !/^(tlb_|iotlb_|warn$|cmd$)/.test(c)); // event kinds the trace prints, not commands
    expect(commands).toContain("cfg");
    expect(commands).toContain("fqinit");
    const replay = section("The replay language");
    for (const c of commands) expect(replay, c).toMatch(new RegExp(`\\| \`${c}[ \`]|/ \`${c}[ \`]`));
  });

  it("shows scenarios the checks accept", () => {
    const run = markedBlocks("run-scenario");
    const explore = markedBlocks("explore-scenario");
    expect(run.length + explore.length).toBe(2);
    for (const [, json] of run) expect(() => parseRunScenario(JSON.parse(json), "README")).not.toThrow();
    for (const [, json] of explore) expect(() => validateScenario(JSON.parse(json), "README")).not.toThrow();
  });

  it("shows a variant the vocabulary accepts, and a row for every op of the vocabulary", () => {
    const blocks = markedBlocks("variant");
    expect(blocks.length).toBe(1);
    for (const [, json] of blocks) expect(() => parseVariant(JSON.parse(json), "README")).not.toThrow();
    const start = readme.indexOf("\n### Your own code variant\n");
    expect(start).toBeGreaterThanOrEqual(0);
    const own = readme.slice(start, readme.indexOf("\n### ", start + 1));
    for (const op of Object.keys(VARIANT_OPS)) expect(own, op).toMatch(new RegExp(`^\\| [^|]*\`${op}\``, "m"));
  });

  it("shows what the explorer prints for its variant", () => {
    const [[, json]] = markedBlocks("variant") as [[string[], string]];
    const [[args, shown]] = markedBlocks("variant-output") as [[string[], string]];
    const dir = mkdtempSync(join(tmpdir(), "iommu-sim-readme-variant-"));
    try {
      writeFileSync(join(dir, "wmb-late.json"), json);
      const run = spawnSync("node", [CLI, "explore", "seed-race", "--variant", "wmb-late.json", "--model", args[0]!],
                            { cwd: dir, encoding: "utf8" });
      expect(run.status, run.stderr).toBe(1);
      expect(elidedMatch(shown.trimEnd().split("\n"), run.stdout.trimEnd().split("\n")), run.stdout).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shows the trace its replay example prints", async () => {
    const [args, script] = markedBlocks("replay-script")[0]!;
    const [, output] = markedBlocks("replay-output")[0]!;
    const got = await replayScript(script, { profile: args[0] as "7.1" });
    expect(normalizeTrace(output.split("\n"))).toEqual(normalizeTrace(got));
  });
});

describe("the README's runnable examples", () => {
  const dir = mkdtempSync(join(tmpdir(), "iommu-sim-readme-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const blocks = markedBlocks("run");

  it("there are some", () => expect(blocks.length).toBeGreaterThan(0));

  blocks.forEach(([, code], i) => {
    it(`block ${i + 1} runs as written`, () => {
      // The package's own names resolve to this build, as they would once installed.
      const src = code
        .replace(/from "iommu-sim\/node"/g, `from ${JSON.stringify(join(ROOT, "dist", "node.js"))}`)
        .replace(/from "iommu-sim"/g, `from ${JSON.stringify(join(ROOT, "dist", "index.js"))}`);
      const file = join(dir, `block-${i + 1}.mjs`);
      writeFileSync(file, src);
      const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: "utf8", timeout: 240_000 });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(readdirSync(dir).length).toBeGreaterThan(0);
    }, 300_000);
  });
});
