// The command line's side of issue 14's "input that gets past unchecked": each bad input
// gets one clear line on stderr and exit 2, where it used to run, print "clean" or "ok", or
// crash: a misspelt explore field, a duplicate key, a damaged saved report, a directory as
// --out, `demo -w 33`, a deeply nested litmus file, an ANSI escape in a name, and `bench`
// interrupted (exit 2, as `run` interrupted).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const CLI = new URL("../dist/cli.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "iommu-sim-valid-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** A one-CPU run scenario (pairs), as JSON text, with `name`. */
function tiny(name: string, ops = 200): string {
  return JSON.stringify({
    name, workers: 1, cpus: 1, domains: [{ name: "d" }], devices: [{ name: "e", domain: "d", streamId: 1 }],
    workloads: [{ kind: "pairs", device: "e", cpus: [0], ops }],
  });
}

describe("bad input on the command line: one line, exit 2", () => {
  it("explore: a misspelt field, a setup that is not a list, a duplicate key", () => {
    const threads = { B: [{ unmap: "old" }], dev: [{ access: "old" }] };
    const cases: [string, RegExp][] = [
      [JSON.stringify({ varient: "v2-hoisted", profile: "5.15", setup: [{ map: "old", cpu: "B" }], threads }),
       /varient is not a known field \(did you mean 'variant'\?\)/],
      [JSON.stringify({ profile: "5.15", setup: { map: "old" }, threads }), /setup must be a list of operations, got an object/],
      ['{ "profile": "5.15", "profile": "7.1", "threads": {} }', /line 1: the key "profile" appears twice in the top-level object/],
    ];
    cases.forEach(([text, re], i) => {
      const r = cli("explore", file(`explore${i}.json`, text));
      expect(r.code, text).toBe(2);
      expect(r.out, text).toBe("");
      expect(r.err.trim().split("\n"), text).toHaveLength(1);
      expect(r.err, text).toMatch(re);
    });
  });

  it("run: a duplicate key in a scenario file is refused, naming the key", () => {
    const text = tiny("dup").replace('"workers":1', '"workers":1,"workers":2');
    const r = cli("run", file("dup.json", text), "--no-progress");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/dup\.json: line 1: the key "workers" appears twice in the top-level object/);
  });

  it("run --out with a directory writes no hidden files/.json, and says what to write", () => {
    mkdirSync(join(dir, "files"));
    for (const out of [join(dir, "files") + "/", join(dir, "files")]) {
      const r = cli("run", file("ok.json", tiny("ok")), "--no-progress", "--out", out);
      expect(r.code).toBe(2);
      expect(r.out).toBe("");
      expect(r.err).toMatch(/--out must be the base of the report's two files, not a directory: e\.g\. --out .*files\/report/);
    }
    expect(existsSync(join(dir, "files", ".json"))).toBe(false);
  });

  it("bench --out with a directory is refused before the benchmark runs", () => {
    const r = cli("bench", "-s", "1", "--out", join(dir, "files") + "/");
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/--out must be the base of the report's two files, not a directory/);
    expect(existsSync(join(dir, "files", ".html"))).toBe(false);
  });

  it("bench --out whose file cannot be written after all: the results printed first, then the failure, exit 2", () => {
    // The folder passes the check up front, but BASE.html is a directory (as /sys refuses root
    // a file): the write fails only after the run, which must not take its results with it.
    mkdirSync(join(dir, "blocked.html"));
    const base = join(dir, "blocked");
    for (const json of [[], ["--json"]]) {
      const r = cli("bench", "-s", "1", "--max-loops", "50", "--mode", "strict", "-t", "1,2", ...json, "--out", base);
      expect(r.code, json.join()).toBe(2);
      if (json.length) expect(JSON.parse(r.out).points).toHaveLength(2);
      else expect(r.out).toMatch(/^modelled latency against threads[^]*^ +2 +strict /m);
      expect(r.err.trim().split("\n").at(-1)).toMatch(/^iommu-sim: cannot write .*blocked\.html: .*\(EISDIR\)$/);
    }
  });

  it("run: a misspelt field in a scenario file is named, with the nearest allowed one", () => {
    const text = tiny("typo").replace('"workers":1', '"worker":1');
    const r = cli("run", file("typo.json", text), "--no-progress");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/typo\.json: worker: unknown field \(did you mean "workers"\? allowed: /);
  });

  it("report: a damaged file names the field; it neither crashes nor prints undefined", () => {
    const good = join(dir, "good");
    expect(cli("run", file("good.json", tiny("good")), "--no-progress", "--out", good).code).toBe(0);
    const report = JSON.parse(readFileSync(`${good}.json`, "utf8"));
    const damaged: [string, (r: any) => void, RegExp][] = [
      ["huge", (r) => { r.totals.maps = 1e308; }, /totals\.maps: /],
      ["gone", (r) => { delete r.perCpu[0].mapLatency; }, /perCpu\[0\]\.mapLatency: required field missing/],
      ["type", (r) => { r.outcome = "ok"; }, /outcome: expected an object, found "ok"/],
    ];
    for (const [what, f, re] of damaged) {
      const r2 = structuredClone(report);
      f(r2);
      const r = cli("report", file(`${what}.json`, JSON.stringify(r2)));
      expect(r.code, what).toBe(2);
      expect(r.out, what).toBe("");
      expect(r.err, what).toMatch(/^iommu-sim: bad report: /);
      expect(r.err, what).toMatch(re);
      expect(r.err, what).not.toMatch(/TypeError|undefined/);
    }
    expect(cli("report", `${good}.json`).code).toBe(0);
  });

  it("demo -w 33: refused (chunks would overlap above 32 workers)", () => {
    const r = cli("demo", "-w", "33");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/workers must be an integer in \[1, 32\]/);
  });

  it("a litmus file nested 100,000 deep: a parse error with file, line and column", () => {
    const deep = "C deep\n{ x=0; }\nP0(int *x) { WRITE_ONCE(*x, 1); }\nexists (" + "(".repeat(100_000) + "x=1" + ")".repeat(100_000) + ")\n";
    const r = cli("explore", "--litmus", file("deep.litmus", deep));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/deep\.litmus:4:\d+: nested deeper than \d+ levels/);
  });
});

describe("text from files reaches the terminal escaped", () => {
  it("an ANSI escape and a newline in a scenario name neither clear the screen nor forge a line", () => {
    const r = cli("run", file("evil.json", tiny("evil\u001b[2J\nOutcome:     ok")), "--no-progress");
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/\u001b/);
    expect(r.out.split("\n").filter((l) => l.startsWith("Outcome:"))).toHaveLength(1);
    expect(r.out).toContain("scenario evil\\x1b[2J\\nOutcome:");
  });
});

describe("interrupted commands exit 2", () => {
  it("bench stopped by SIGINT prints what ran and exits 2, as run does", async () => {
    const child = spawn(process.execPath, [CLI, "bench", "-s", "300", "--mode", "strict"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => { out += d; });
    child.stderr.on("data", (d) => { err += d; });
    // The handler is installed once the command starts: wait for the simulator to be running.
    await new Promise((r) => setTimeout(r, 5000));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    expect(err).toMatch(/interrupted; the results cover the modelled time run so far/);
    expect(code).toBe(2);
    expect(out).toMatch(/^dma mapping benchmark\(SINGLE_MODE\)/m);
  }, 60_000);
});

describe("a reader that stops early (| head -1)", () => {
  /** The command with its standard output's reader closed at once: every write meets EPIPE. */
  async function closedPipe(...args: string[]): Promise<{ code: number | null; err: string }> {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let err = "";
    child.stderr.on("data", (d) => { err += String(d); });
    const code = await new Promise<number | null>((r) => child.on("close", (c) => r(c)));
    return { code, err };
  }

  it("ends quietly with the command's own exit code, not an unhandled EPIPE (exit 1, a violation's)", async () => {
    const run = await closedPipe("run", file("pipe.json", tiny("pipe")), "--no-progress", "--json");
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    const list = await closedPipe("bugs", "list", "--json");
    expect(list.err).toBe("");
    expect(list.code).toBe(0);
  }, 60_000);
});

describe("explore: an option the chosen mode would ignore is refused, naming it and why", () => {
  const MP = "C mp\n{}\nP0(int *x, int *y)\n{\n  WRITE_ONCE(*x, 1);\n  WRITE_ONCE(*y, 1);\n}\n" +
    "P1(int *x, int *y)\n{\n  int r0 = READ_ONCE(*y);\n  int r1 = READ_ONCE(*x);\n}\nexists (1:r0=1 /\\ 1:r1=0)\n";

  it("--litmus with a scenario's options, or a scenario", () => {
    const mp = file("modes-mp.litmus", MP);
    for (const extra of [["--variant", "merged"], ["--smmu", "v2"], ["--random", "3"], ["--no-dpor"], ["--stats"], ["--no-oracle"],
                         ["--with", "DMA_FQ_SINGLE"], ["--without", "DMA_FQ_SINGLE"], ["--export-litmus", join(dir, "x.litmus")],
                         ["--seed", "2"], ["--replay", "seed-race@merged@sc: A:1"]]) {
      const r = cli("explore", "--litmus", mp, ...extra);
      expect(r.code, extra.join(" ")).toBe(2);
      expect(r.err.trim(), extra.join(" ")).toBe(`iommu-sim: ${extra[0]} does not apply with --litmus: a litmus test is judged on its own ` +
        `(only --model, --max-schedules, --time-limit, --counts apply); remove ${extra[0]}`);
    }
    const sc = cli("explore", "seed-race", "--litmus", mp);
    expect(sc.code).toBe(2);
    expect(sc.err).toMatch(/a scenario \(seed-race\) and --litmus exclude each other: .* seed-race would be ignored/);
    // What --litmus does read still works.
    expect(cli("explore", "--litmus", mp, "--model", "sc", "--max-schedules", "100", "--time-limit", "5", "--counts", "all").code).toBe(0);
  });

  it("--replay with what its line names; --seed without --random; litmus options without --litmus; --random's own", () => {
    const line = "seed-race@merged@sc: A:1";
    for (const extra of [["--variant", "merged"], ["--model", "relaxed"], ["--smmu", "v2"], ["--random", "3"]]) {
      const r = cli("explore", "--replay", line, ...extra);
      expect(r.code, extra.join(" ")).toBe(2);
      expect(r.err, extra.join(" ")).toMatch(new RegExp(`^iommu-sim: ${extra[0]} does not apply with --replay: the replay line names its own ` +
        "scenario, variant, model, SMMU and kernel \\(only --no-oracle applies\\)"));
    }
    // A scenario beside --replay is the one the line names (a file named by its "name" field): another is refused.
    expect(cli("explore", "two-unmappers", "--replay", line).err).toMatch(/schedule must name the scenario given, two-unmappers/);
    expect(cli("explore", "seed-race", "--seed", "3").err).toMatch(/^iommu-sim: --seed applies only with --random N/);
    expect(cli("explore", "seed-race", "--time-limit", "3").err).toMatch(/^iommu-sim: --time-limit applies only with --litmus FILE/);
    expect(cli("explore", "seed-race", "--counts", "all").err).toMatch(/^iommu-sim: --counts applies only with --litmus FILE/);
    expect(cli("explore", "seed-race", "--random", "3", "--max-schedules", "9").err).toMatch(/^iommu-sim: --max-schedules does not apply with --random/);
    expect(cli("explore", "seed-race", "--random", "3", "--no-dpor").err).toMatch(/^iommu-sim: --no-dpor does not apply with --random/);
    expect(cli("explore", "seed-race", "--export-litmus", join(dir, "e.litmus"), "--model", "sc").err)
      .toMatch(/^iommu-sim: --model does not apply with --export-litmus: .*\(only --variant, --with, --without apply\)/);
    // Combinations that are used still run.
    expect(cli("explore", "seed-race", "--random", "3", "--seed", "2", "--stats").code).toBe(3);
    const full = "seed-race@v2-hoisted@sc: B:1 B:2 B:3 A:1 A:2 B:4 B:5 B:6 B:7 B:8 A:3 A:4 A:5 C:1 dev:1";
    expect(cli("explore", "--replay", full).code).toBe(1);
    expect(cli("explore", "--replay", full, "--no-oracle").code).toBe(0);
  });
});

describe("an empty value for a number option", () => {
  // Number("") is 0: `run --seed ""` ran with seed 0, `web --port ""` served on any port. Every
  // option whose value is a number, found in each command's --help, is tried empty and blank;
  // each command's other arguments would fail on their own without naming the option.
  const rest: Record<string, string[]> = {
    run: ["nosuch"], explore: ["nosuch"], churn: ["extra"], web: ["extra"], worker: ["--queue", "nope"],
    bench: ["-s", "1", "--max-loops", "5"], sweep: [join(dir, "no-such-sweep.json")],
  };
  const numberOptions = (command: string): string[] =>
    [...cli(command, "--help").out.matchAll(/^ +(?:-\w, )?(--[\w-]+) <(?:n|s|ns|n\[,n…\])>/gm)].map((m) => m[1]!);

  it("every command with one is tried", () => {
    const commands = cli("--help").out.split("Commands:")[1]!.match(/^ {2}[a-z-]+/gm)!.map((c) => c.trim());
    expect(commands.filter((c) => c !== "help" && numberOptions(c).length > 0).sort()).toEqual(Object.keys(rest).sort());
  });

  it.each(Object.keys(rest))("%s: refused, naming the option, exit 2", (command) => {
    for (const option of numberOptions(command)) {
      for (const value of ["", "  "]) {
        const r = cli(command, ...rest[command]!, option, value);
        expect(r.code, `${command} ${option} ${JSON.stringify(value)}`).toBe(2);
        expect(r.err, `${command} ${option} ${JSON.stringify(value)}`).toContain(option);
        expect(r.err, `${command} ${option} ${JSON.stringify(value)}`).toMatch(/\(it is empty\)|must be a number, got "\s*"/);
      }
    }
  });
});

describe("messages say what was typed", () => {
  it("bench: a number that is not one is shown as typed (a list's entry by its place), not as NaN", () => {
    const cases: [string[], string][] = [
      [["-t", "1abc"], '--threads must be a number, got "1abc"'],
      [["-t", "1,,2"], '--threads must be a thread count or a comma-separated list of them (entry 2, "", is empty), got "1,,2"'],
      [["-t", "1,2,"], '--threads must be a thread count or a comma-separated list of them (entry 3, "", is empty), got "1,2,"'],
      [["-t", "1,x,2"], '--threads must be a thread count or a comma-separated list of them (entry 2, "x", is not a number), got "1,x,2"'],
      [["-g", "2abc"], '--granule must be a number, got "2abc"'],
      [["--magazine-size", "abc"], '--magazine-size must be a number, got "abc"'],
    ];
    for (const [args, message] of cases) {
      const r = cli("bench", "-s", "1", "--max-loops", "5", ...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err.trim(), args.join(" ")).toBe(`iommu-sim: ${message}`);
    }
  });

  it("bugs: an id with --all, and a subcommand that does not exist", () => {
    const both = cli("bugs", "run", "ttl-nonleaf", "--all");
    expect(both.code).toBe(2);
    expect(both.err.trim()).toBe("iommu-sim: bugs run: an entry's id (ttl-nonleaf) and --all exclude each other: give one of them");
    const none = cli("bugs", "run");
    expect(none.err.trim()).toBe("iommu-sim: bugs run needs an entry's id (or a fix's 12 hex digits), or --all");
    const nope = cli("bugs", "nope");
    expect(nope.code).toBe(2);
    expect(nope.err.trim()).toBe('iommu-sim: bugs has no subcommand "nope": its subcommands are list, run (list is the default; `bugs run ID` runs an entry)');
    expect(cli("bugs", "--json").code).toBe(0);
  });
});
