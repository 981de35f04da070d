#!/usr/bin/env node
// The iommu-sim command line: run scenarios and write their reports, replay kernel-call
// scripts, churn a page table from workers, run the kernel's self-tests and
// dma_map_benchmark, explore the seed race (and other scenarios, and litmus tests) schedule
// by schedule, and serve the live page (web). Exit codes, for every command: 0 clean, 1 a
// violation or difference found, 2 bad input or a failure of the run itself.

import { existsSync } from "node:fs";
import { dirname, resolve as resolvePath } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { replayScript, normalizeTrace, ReplayError } from "./replay/index.js";
import { runDemo } from "./demo.js";
import { Simulator } from "./simulator.js";
import { runSelftest } from "./selftest.js";
import { SEED_VARIANTS, type SeedVariant } from "./dma.js";
import { VERDICT_EXIT_CODES, exploreScenario, replayScenario } from "./explore/run.js";
import { BUILTIN_SCENARIOS, validateScenario, type Scenario } from "./explore/scenario.js";
import { EXIT_CUT_SHORT, formatLitmus, litmusFound, parseLitmus, runLitmus, type LitmusModel } from "./explore/litmus.js";
import { exportLitmus } from "./explore/litmus-export.js";
import { parseVariant, type VariantDefinition } from "./variants/vocabulary.js";
import { DEFAULT_MAX_SCHEDULES, type MemoryModel } from "./explore/model.js";
import { runScenario, RunError } from "./run/runner.js";
import { BUILTIN_RUN_SCENARIOS, isBuiltinRunScenarioName } from "./run/builtins.js";
import { parseRunScenario, ScenarioError, type RunScenario } from "./run/scenario.js";
import { readRunScenarioJson } from "./run/load.js";
import { formatSummary } from "./report/text.js";
import { renderHtmlReport } from "./report/html.js";
import type { RunReport } from "./report/types.js";
import { progressBar } from "./progress.js";
import { VERSION } from "./version.js";
import { runBenchCommand, type BenchCliOptions } from "./bench/cli.js";
import {
  BEHAVIOURS, BEHAVIOUR_COMMITS, DEFAULT_PROFILE, PROFILES, behaviourOverrideProblems, kernelProfile, normaliseOverrides, otherOverrideEntry, profileHas,
  type Behaviour, type BehaviourOverrides, type OverrideEntry,
  type Profile,
} from "./profile.js";
import { CMDQ_VARIANTS, MACHINE_NAMES } from "./machines.js";
import { terminalLines, terminalText } from "./terminal.js";
import { JsonInputError, parseJsonStrict } from "./json-input.js";
import { parseRunReport, ReportError } from "./report/schema.js";
import { CHURN_MAX_WORKERS } from "./tasks/pgtable.js";
import { checkOutFolder, outBase, writeOutFile } from "./out-base.js";
import { readInputFile } from "./input-file.js";
import { ArgumentError, IommuSimError } from "./errors.js";
import { BUG_ZOO, findBug, runBug } from "./bugs/index.js";
import { bugInfo, formatBugList, formatBugRun } from "./bugs/format.js";
import { LiveServerError, startLiveServer } from "./web/server.js";
import { fileURLToPath } from "node:url";
import { availableParallelism } from "node:os";
import { EXIT_INTERRUPTED, mergeCommand, sweepCommand, type SweepCliOptions } from "./sweep/cli.js";
import { registerSweepReport } from "./sweep/report-cli.js";
import { SweepError } from "./sweep/spec.js";

/**
 * A number option's text as a number: empty or blank text is NaN, not the 0 that Number("")
 * makes of it (`--seed ""` would otherwise run with seed 0, `--port ""` on any port).
 */
const numberOf = (v: string): number => (v.trim() === "" ? NaN : Number(v));

/** An integer option in [min, max] (every integer option of every command goes through here). */
function int(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = numberOf(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}]${v.trim() === "" ? " (it is empty)" : ""}`);
    }
    return n;
  };
}

// A reader that stops early (`iommu-sim run nic --json | head -1`) closes the pipe: the rest of
// the output is not wanted, so it is dropped without a word, as cat and grep do, and the command
// ends with its own exit code (Node's default, an unhandled 'error' event, exits 1: a violation).
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
  });
}

/** Bad input found by a command's action (commander prints its own parse errors, not these). */
class CliInputError extends Error {}

/**
 * Everything the CLI prints goes through terminalText, line by line: names from files cannot
 * act on the terminal. (A printer's own newlines are kept; the formatters escape a newline
 * inside a name where they put it in a line: formatSummary, the explorer's text.)
 */
const say = (text: string): void => console.log(terminalLines(text));

const profileOption = () => new Option("-p, --profile <version>", "kernel profile").choices(PROFILES).default(DEFAULT_PROFILE);

const collect = (v: string, list: string[] | undefined): string[] => [...(list ?? []), v];

/** --with B / --without B, repeatable: the profile's behaviours changed by name (`profiles` lists them). */
function addBehaviourOptions(c: Command): Command {
  return c
    .option("--with <behaviour>", "add a behaviour the profile lacks (repeatable; `profiles` lists them with their commits)", collect)
    .option("--without <behaviour>", "remove a behaviour the profile has, e.g. a fix (repeatable)", collect);
}

interface BehaviourCliOptions { with?: string[]; without?: string[] }

/**
 * The command line's --with/--without on top of `base` (a scenario's or a script's), checked for
 * `profile`; a problem is named by the option that brought it (`--with NOPE`), or by the
 * scenario's own entry that the options clash with.
 */
function cliBehaviours(profile: Profile, o: BehaviourCliOptions, base?: BehaviourOverrides): BehaviourOverrides | undefined {
  if (!o.with && !o.without) return base;
  const merged = {
    with: [...(base?.with ?? []), ...(o.with ?? [])] as Behaviour[],
    without: [...(base?.without ?? []), ...(o.without ?? [])] as Behaviour[],
  };
  const [problem] = behaviourOverrideProblems(profile, merged);
  if (problem === undefined) return normaliseOverrides(merged);
  const [list, index] = problem.path as ["with" | "without", number];
  const at = { list, index };
  const fromBase = (e: OverrideEntry) => e.index < (base?.[e.list]?.length ?? 0);
  // A duplicate or a contradiction between the file's behaviours and a flag: say where the other half is.
  const other = otherOverrideEntry(merged, at);
  const also = other && fromBase(other) !== fromBase(at)
    ? `; ${fromBase(other) ? `the scenario file's behaviours.${other.list}[${other.index}]` : `--${other.list}`} names it too` : "";
  throw new ArgumentError(fromBase(at) ? `behaviours.${list}[${index}] (the scenario's, with --with/--without added)` : `--${list}`,
    merged[list][index], problem.message + also, `kernel ${profile}`);
}

/**
 * The scenario's JSON with --with/--without added to its behaviours before it is checked: a
 * field may need a behaviour the options add (fqMode "single" needs DMA_FQ_SINGLE), as it may
 * one the file's own behaviours add. A profile or behaviours the file gets wrong are left for
 * the scenario's check to report as the file's.
 */
function withCliBehaviours(raw: unknown, o: BehaviourCliOptions): unknown {
  if ((!o.with && !o.without) || typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw;
  const r = raw as { profile?: unknown; behaviours?: unknown };
  const profile = r.profile ?? DEFAULT_PROFILE;
  if (!(PROFILES as readonly unknown[]).includes(profile) || behaviourOverrideProblems(profile as Profile, r.behaviours).length > 0) return raw;
  return { ...r, behaviours: cliBehaviours(profile as Profile, o, r.behaviours as BehaviourOverrides | undefined) };
}

const program = new Command()
  .name("iommu-sim")
  .description("Simulate the Linux IOMMU DMA stack on an Arm SMMUv3")
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride(); // usage errors exit 2 (bad input), not commander's 1 (which means "found something")

addBehaviourOptions(program.command("replay"))
  .description("run a kernel-call script (the replay language: see the README) and print the trace it makes")
  .argument("<file>", "script to run ('-' for standard input)")
  .addOption(profileOption())
  .option("-c, --compare <expected>", "compare with a kernel trace (normalised) instead of printing; exit 1 on a difference")
  .option("--no-cmd", "with --compare: ignore SMMU CMD lines")
  .addOption(new Option("--cmd-rules <version>", "encode CMD lines with this kernel's SMMUv3 driver rules (default: the profile's; the kernel-code traces used 5.15's for both)").choices(PROFILES))
  .action(async (file: string, o: { profile: Profile; compare?: string; cmd: boolean; cmdRules?: Profile } & BehaviourCliOptions, cmd: Command) => {
    // --no-cmd changes only the comparison: without one it would be silently ignored (the trace is printed whole).
    if (!o.cmd && o.compare === undefined && cmd.getOptionValueSource("cmd") === "cli") {
      throw new CliInputError("--no-cmd applies only with --compare FILE (it leaves CMD lines out of the comparison; the printed trace keeps them): add --compare, or remove --no-cmd");
    }
    // Both files read before the replay runs: a missing trace must not wait for a long script.
    const script = file === "-" ? await readStdin() : readInputFile(file, "replay <file>");
    const expectedText = o.compare === undefined ? undefined : readInputFile(o.compare, "--compare");
    // Checked with the script's own `behaviours` lines, so that a clash names the line and the flag.
    const behaviours = o.with || o.without ? { with: o.with ?? [], without: o.without ?? [] } as BehaviourOverrides : undefined;
    const lines = await replayScript(script, { profile: o.profile, ...(behaviours ? { behaviours, behavioursFrom: "flags" } : {}),
                                               ...(o.cmdRules ? { commandRules: o.cmdRules } : {}) });
    if (expectedText === undefined) {
      process.stdout.write(lines.map(terminalText).join("\n") + "\n");
      return;
    }
    const expected = normalizeTrace(expectedText.split(/\r?\n/), { dropCmd: !o.cmd });
    const got = normalizeTrace(lines, { dropCmd: !o.cmd });
    const n = Math.max(expected.length, got.length);
    for (let i = 0; i < n; i++) {
      if (expected[i] !== got[i]) {
        process.stdout.write(`first difference at normalised line ${i + 1}:\n  expected: ${terminalText(expected[i] ?? "(end)")}\n` +
          `  got:      ${terminalText(got[i] ?? "(end)")}\n`);
        process.exitCode = 1;
        return;
      }
    }
    process.stdout.write(`identical: ${got.length} normalised lines\n`);
  });

// `churn` was called `demo` in 0.1, a name `npm run demo` (the main job: `run nic`) also
// had; the old name still works, hidden, and says what to type instead.
for (const name of ["churn", "demo"] as const) {
  program.command(name, { hidden: name === "demo" })
    .description("page-table churn: workers map and unmap in one page table at once, then the result is checked " +
      "against the same operations done one after another; prints what happened and the wall-clock rates")
    .addOption(profileOption())
    .option("-w, --workers <n>", `workers (1..${CHURN_MAX_WORKERS}: each owns a 64 KiB chunk of every 2 MiB region)`,
      int("workers", 1, CHURN_MAX_WORKERS), 2)
    .option("-n, --ops <n>", "operations per worker", int("ops", 1, 1e8), 50_000)
    .action(async (o: { profile: Profile; workers: number; ops: number }) => {
      if (name === "demo") {
        console.error("iommu-sim: `demo` is now called `churn` (the old name will go); " +
          "the main job of `npm run demo` is `iommu-sim run nic`");
      }
      const ok = await runDemo({ ...o, print: (l) => say(l) });
      if (!ok) process.exitCode = 1;
    });
}

program.command("selftest")
  .description("run the kernel's io-pgtable-arm self-tests for a profile")
  .addOption(profileOption())
  .action(async (o: { profile: Profile }) => {
    const sim = await Simulator.create({ profile: o.profile });
    try {
      const r = runSelftest(sim);
      for (const l of r.log) say(l);
      for (const w of r.warnings) say(`WARNING: ${w}`);
      say(`${r.pass} passed, ${r.fail} failed; ${r.leakedAllocations} table allocations leaked`);
      if (r.fail || r.leakedAllocations) process.exitCode = 1;
    } finally {
      await sim.close();
    }
  });

interface ExploreCliOptions {
  variant?: string; model?: MemoryModel | LitmusModel; maxSchedules?: number; timeLimit?: number; counts?: "all" | "verdict";
  random?: number; seed: number; oracle: boolean; replay?: string; litmus?: string; exportLitmus?: string;
  dpor: boolean; stats: boolean; smmu?: "v3" | "v2" | "v1"; with?: string[]; without?: string[];
}

addBehaviourOptions(program.command("explore"))
  .description("run every schedule of a scenario's CPUs (or random ones) under a memory model and " +
    "print the first the safety oracle objects to; partial-order reduction (DPOR) runs one schedule of each set " +
    "that only reorders commuting steps; exit 0 when every schedule was run clean (a proof for the scenario, " +
    "variant and model), 1 when one was found, 3 when the run was bounded (--max-schedules reached, or --random) " +
    "without finding one: not a proof. With --litmus FILE, judge a C litmus " +
    "test as herd7 does (default model lkmm): exit 1 if the condition's outcome is observed or herd7 would print a " +
    `flag (a data race, or RCU/SRCU/spinlock misuse), 0 if not, ${EXIT_CUT_SHORT} if a bound cut the run short before either was settled`)
  .argument("[scenario]", `a built-in scenario (${Object.keys(BUILTIN_SCENARIOS).join(", ")}) or a scenario JSON file ` +
    "(with --replay: the file of the scenario the line names by its \"name\" field)")
  .option("--variant <variant>", `switch/unmap code to run: ${SEED_VARIANTS.join(", ")}, or a variant JSON file ` +
    "(default: the scenario's, else merged)")
  .addOption(new Option("-m, --model <model>", "memory model: scenarios sc (default) or relaxed; litmus tests " +
    "lkmm (default), sc, arm, or relaxed (an alias of lkmm)").choices(["sc", "relaxed", "lkmm", "arm"]))
  .option("--max-schedules <n>", `bound on schedules enumerated (default ${DEFAULT_MAX_SCHEDULES}; a run it stops exits 3; ` +
    "with --litmus: on candidate executions)", int("max-schedules", 1, 1e9))
  .option("--time-limit <s>", "with --litmus: stop after this many seconds of wall time", int("time-limit", 1, 1e6))
  .addOption(new Option("--counts <how>", "with --litmus: all (every candidate execution checked, herd7's counts) or " +
    "verdict (stop checking executions that cannot change the verdict or the flags; negatives become a lower bound)").choices(["all", "verdict"]))
  .option("--random <n>", "run n seeded random schedules instead of enumerating", int("random", 1, 1e9))
  .option("--seed <s>", "seed for --random", int("seed", 0, 2 ** 31 - 1), 1)
  .option("--no-oracle", "do not judge device accesses (nothing will be caught: shows the oracle is what catches)")
  .option("--replay <schedule>", "re-run one schedule as explore printed it (scenario@variant@model: steps)")
  .option("--litmus <file>", "run a C litmus test (herd7's C dialect, as the kernel's tests write it) instead of a scenario")
  .option("--export-litmus <file>", "write the scenario's modelled accesses, with the variant, as a C litmus test " +
    "for herd7 (and explore nothing)")
  .addOption(new Option("--smmu <model>", "the SMMU the scenario's domain sits behind: v3 (default: arm-smmu-v3's " +
    "commands), v2 or v1 (arm-smmu: TLBIVAL registers written at unmap, TLBSYNC at iotlb_sync)").choices(["v3", "v2", "v1"]))
  .option("--no-dpor", "no partial-order reduction: run every interleaving (to cross-check; far slower)")
  .option("--stats", "also print schedules explored and pruned, and the wall time")
  .action(async (scenario: string | undefined, o: ExploreCliOptions, cmd: Command) => {
    checkExploreOptions(scenario, o, cmd);
    if (o.litmus !== undefined) {
      // Parsed with the file's name, so that an error says which file and where.
      const r = runLitmus(parseLitmus(readInputFile(o.litmus, "--litmus"), o.litmus), {
        model: o.model as LitmusModel | undefined, maxCandidates: o.maxSchedules,
        timeLimitMs: o.timeLimit === undefined ? undefined : o.timeLimit * 1000, counts: o.counts,
      });
      for (const line of formatLitmus(r)) say(line);
      const found = litmusFound(r);
      process.exitCode = found ? 1 : r.complete ? 0 : EXIT_CUT_SHORT;
      return;
    }
    if (o.model === "lkmm" || o.model === "arm") {
      throw new CliInputError(`--model ${o.model} is a litmus-test model (use it with --litmus FILE); scenarios run under sc or relaxed`);
    }
    const model: MemoryModel = o.model ?? "sc";
    if (o.replay !== undefined) {
      const given = scenario === undefined ? undefined : BUILTIN_SCENARIOS[scenario] ?? loadScenarioFile(scenario, "explore <scenario> (with --replay)");
      const r = await replayScenario(o.replay, (path) => loadScenarioFile(path, REPLAY_SCENARIO_FILE), { oracle: o.oracle, scenario: given },
                                     (path) => loadVariantFile(path, "--replay's variant file"));
      say(r.text);
      if (r.execution.violation) process.exitCode = 1;
      return;
    }
    if (!scenario) throw new CliInputError("explore needs a scenario (e.g. seed-race), --replay or --litmus");
    let sc: string | Scenario = BUILTIN_SCENARIOS[scenario] ? scenario
  : loadScenarioFile(scenario, `explore <scenario> (not a built-in: ${Object.keys(BUILTIN_SCENARIOS).join(", ")})`);
    if (o.with || o.without) {
      const base = typeof sc === "string" ? BUILTIN_SCENARIOS[sc]! : sc;
      sc = { ...base, behaviours: cliBehaviours(base.profile ?? "5.15", o, base.behaviours) };
    }
    const variant = cliVariant(o.variant);
    if (o.exportLitmus !== undefined) {
      if (o.exportLitmus === "") throw new CliInputError("--export-litmus needs a file to write, e.g. --export-litmus seed-race.litmus");
      checkOutFolder(o.exportLitmus, "--export-litmus");
      const text = exportLitmus(sc, { variant: variant?.variant });
      writeOutFile(o.exportLitmus, text);
      say(`wrote ${o.exportLitmus}: ${text.split("\n")[0]!.slice(2)} (check it with herd7 -conf linux-kernel.cfg ${o.exportLitmus})`);
      return;
    }
    // The explorer runs synchronously: the bar redraws from inside its loop (at most every 100 schedules).
    const bar = progressBar(`explore ${typeof sc === "string" ? sc : sc.name ?? scenario}`);
    let r;
    try {
      r = await exploreScenario(sc, {
        variant: variant?.variant, variantSource: variant?.source, model, maxSchedules: o.maxSchedules, oracle: o.oracle, reduction: o.dpor ? "dpor" : "none",
        smmu: o.smmu,
        random: o.random ? { seed: o.seed, count: o.random } : undefined,
        source: typeof sc === "string" ? undefined : scenario,
        onProgress: (n, bound) => { if (n % 100 === 0) bar.update(n, bound, "schedules (the bound)"); },
      });
    } finally {
      bar.stop();
    }
    say(r.text);
    if (o.stats) say(r.statsText);
    process.exitCode = VERDICT_EXIT_CODES[r.verdict];
  });

/**
 * What each of explore's modes reads (the first of --litmus, --replay, --export-litmus that is
 * given decides, as the action does; else the exploration): any other option given would be
 * silently ignored, so it is refused, naming the option and why. Keys are commander's.
 */
const EXPLORE_MODES = [
  { key: "litmus", reads: ["model", "maxSchedules", "timeLimit", "counts"],
    why: "a litmus test is judged on its own", scenario: false },
  // A scenario beside --replay is the file of the one the line names by its `name` field.
  { key: "replay", reads: ["oracle"],
    why: "the replay line names its own scenario, variant, model, SMMU and kernel", scenario: true },
  { key: "exportLitmus", reads: ["variant", "with", "without"],
    why: "the export writes the scenario's accesses with its variant and explores nothing", scenario: true },
  { key: undefined, reads: ["variant", "model", "maxSchedules", "oracle", "dpor", "smmu", "random", "seed", "stats", "with", "without"],
    why: "", scenario: true },
] as const;

/** Refuses explore options that the mode chosen would not use (see EXPLORE_MODES), and --random's own conflicts. */
function checkExploreOptions(scenario: string | undefined, o: ExploreCliOptions, cmd: Command): void {
  const flag = (key: string) => cmd.options.find((x) => x.attributeName() === key)!.long!;
  const given = cmd.options.map((x) => x.attributeName()).filter((k) => cmd.getOptionValueSource(k) === "cli");
  const mode = EXPLORE_MODES.find((m) => m.key === undefined || o[m.key] !== undefined)!;
  const reads: readonly string[] = mode.reads;
  if (mode.key !== undefined) {
    const allowed = reads.length ? `only ${reads.map(flag).join(", ")} appl${reads.length === 1 ? "ies" : "y"}` : "no other option applies";
    if (scenario !== undefined && !mode.scenario) {
      throw new CliInputError(`a scenario (${scenario}) and ${flag(mode.key)} exclude each other: ${mode.why}, and ${scenario} would be ignored`);
    }
    const extra = given.find((k) => k !== mode.key && !reads.includes(k));
    if (extra !== undefined) {
      throw new CliInputError(`${flag(extra)} does not apply with ${flag(mode.key)}: ${mode.why} (${allowed}); remove ${flag(extra)}`);
    }
    return;
  }
  const litmusOnly = given.find((k) => !reads.includes(k));
  if (litmusOnly !== undefined) throw new CliInputError(`${flag(litmusOnly)} applies only with --litmus FILE (a litmus test's run); remove it`);
  if (o.random === undefined) {
    if (given.includes("seed")) throw new CliInputError("--seed applies only with --random N (the seed of the random schedules); add --random N, or remove --seed");
    return;
  }
  // Random schedules are drawn from every interleaving, --random's N of them: neither the bound nor the reduction applies.
  for (const k of ["maxSchedules", "dpor"]) {
    if (given.includes(k)) {
      throw new CliInputError(`${flag(k)} does not apply with --random: random schedules are drawn from every interleaving, ` +
        `--random's N of them (N is the bound); remove ${flag(k)}`);
    }
  }
}

interface RunCliOptions extends BehaviourCliOptions { workers?: number; seed?: number; json: boolean; out?: string; progress: boolean }

addBehaviourOptions(program.command("run"))
  .description("run a scenario across workers: a built-in one (see `list`) or a scenario JSON file (workloads " +
    "nic-rx, nic-tx, storage, random, pairs, attacker, and switcher: the live strict → lazy switch again and again " +
    "under load); prints a summary (or, with --json, the report as JSON); with --out, also writes the report as " +
    "JSON and HTML files; exit 1 if the outcome was not the one the scenario expects (checks.expect: by default " +
    "clean, so a violation the oracle found), 2 if a worker failed (the summary of what " +
    "was done is printed first)")
  .argument("<scenario>", "built-in scenario name or scenario file")
  .option("-w, --workers <n>", "worker threads (default: the scenario's)", int("workers", 1, 63))
  .option("--seed <s>", "seed (default: the scenario's)", int("seed", 0, 2 ** 32 - 1))
  .option("--json", "print the report as JSON instead of the summary", false)
  .option("-o, --out <path>", "write the report: <path>.json and <path>.html (a .json or .html ending is dropped)")
  .option("--no-progress", "no progress bar")
  .action(async (name: string, o: RunCliOptions) => {
    if (o.out !== undefined) outBase(o.out); // before the run: a long run must not end in a refusal
    const scenario = resolveRunScenario(name, o);
    const bar = o.progress ? progressBar(scenario.name) : undefined;
    // Ctrl-C stops the run at every CPU's next operation; the report covers what was done.
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once("SIGINT", onSigint);
    let report: RunReport;
    try {
      report = await runScenario(scenario, {
        workers: o.workers, seed: o.seed, signal: abort.signal,
        onProgress: (p) => bar?.update(p.done, p.total, p.violations ? `${p.violations} violation(s)` : ""),
      });
    } catch (e) {
      bar?.stop();
      // A worker failed: what the run did until then is reported all the same, then the error.
      if (e instanceof RunError && e.failure) printReport(e.failure.report, o);
      throw e;
    } finally {
      bar?.stop();
      process.off("SIGINT", onSigint);
    }
    printReport(report, o);
    if (report.outcome.status === "stopped" && report.totals.violations === 0) {
      // Cut short by the timeout or Ctrl-C: the run itself did not complete.
      console.error(`iommu-sim: run ${report.scenario.name}: ${report.outcome.message}`);
      process.exitCode = 2;
    } else if (!report.outcome.asExpected) process.exitCode = 1; // violations a scenario expects are its success
  });

/** The summary (or the JSON) on standard output, and the report files when asked. */
function printReport(report: RunReport, o: RunCliOptions): void {
  if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  else for (const l of formatSummary(report)) say(l);
  if (o.out !== undefined) writeReportFiles(report, o.out, !o.json);
}

program.command("list")
  .description("list the built-in scenarios (for run, and for explore)")
  .action(() => {
    say("run scenarios:");
    for (const [name, sc] of Object.entries(BUILTIN_RUN_SCENARIOS)) say(`  ${name.padEnd(10)} ${sc.description ?? ""}`);
    say("explore scenarios:");
    for (const name of Object.keys(BUILTIN_SCENARIOS)) say(`  ${name}`);
  });

program.command("profiles")
  .description("list the kernel profiles and the behaviours that set them apart")
  .action(() => {
    for (const p of PROFILES) {
      const k = kernelProfile(p);
      say(`${p.padEnd(6)} ${k.kernel}${p === DEFAULT_PROFILE ? " (default)" : ""}`);
      say(`       ${k.summary}; IOVA_MAG_SIZE ${k.iovaMagazineSize}`);
    }
    say(`\n${"behaviour".padEnd(28)}${PROFILES.map((p) => p.padStart(7)).join("")}  commit`);
    for (const b of BEHAVIOURS) {
      say(`${b.padEnd(28)}${PROFILES.map((p) => (profileHas(p, b) ? "✓" : "·").padStart(7)).join("")}  ${BEHAVIOUR_COMMITS[b] ?? "—"}`);
    }
    say("\n--without B (run, explore, replay) runs a profile without a behaviour it has — a fix's buggy form; --with B adds one.");
  });

const bugs = program.command("bugs")
  .description("the bug zoo: real kernel IOMMU bugs, each named by the commit that fixed it, caught in its buggy form " +
    "and clean in its fix; `bugs` lists them, `bugs run <id>` runs both forms (exit 0 when the buggy form is caught " +
    "and the fixed one is clean, 1 otherwise, 2 for an unknown id)");

// `bugs WORD` goes to the default command, list, which would say "too many arguments for 'list'":
// a word there is a subcommand that does not exist, and is told so.
bugs.hook("preSubcommand", (self, sub) => {
  const word = self.args[0];
  if (sub.name() === "list" && word !== undefined && word !== "list" && !word.startsWith("-")) {
    throw new CliInputError(`bugs has no subcommand "${word}": its subcommands are ${self.commands.map((c) => c.name()).join(", ")} ` +
      `(list is the default; \`bugs run ID\` runs an entry)`);
  }
});

bugs.command("list", { isDefault: true })
  .description("list the entries: id, fixing commit, component, title, effect and the switch between the forms")
  .option("--json", "print the entries as JSON (each BugEntry without its run function)", false)
  .action((o: { json: boolean }) => {
    if (o.json) process.stdout.write(JSON.stringify(BUG_ZOO.map(bugInfo), null, 2) + "\n");
    else for (const l of formatBugList(BUG_ZOO)) say(l);
  });

bugs.command("run")
  .description("run an entry's buggy and fixed forms side by side: verdicts, evidence, then PASS or FAIL")
  .argument("[id]", "an entry's id, or the first 12 hex digits of its fixing commit")
  .option("--all", "run every entry", false)
  .option("--json", "print the result as JSON: a BugRunResult, or an array of them with --all", false)
  .action(async (id: string | undefined, o: { all: boolean; json: boolean }) => {
    if (o.all && id !== undefined) throw new CliInputError(`bugs run: an entry's id (${id}) and --all exclude each other: give one of them`);
    if (!o.all && id === undefined) throw new CliInputError("bugs run needs an entry's id (or a fix's 12 hex digits), or --all");
    const entries = o.all ? BUG_ZOO : [findBug(id!)];
    const results = [];
    for (const e of entries) {
      const r = await runBug(e);
      results.push(r);
      if (!o.json) {
        for (const l of formatBugRun(e, r)) say(l);
        if (o.all) say("");
      }
    }
    if (o.json) process.stdout.write(JSON.stringify(o.all ? results : results[0], null, 2) + "\n");
    else if (o.all) say(`${results.filter((r) => r.pass).length} of ${results.length} entries pass`);
    if (results.some((r) => !r.pass)) process.exitCode = 1;
  });

program.command("report")
  .description("print the summary of a run's report (the JSON that run --json or --out wrote), or turn it into HTML")
  .argument("<result>", "report JSON file")
  .option("-o, --out <path>", "write <path>.html (and a copy of the JSON as <path>.json)")
  .action(async (file: string, o: { out?: string }) => {
    if (o.out !== undefined) outBase(o.out);
    const report = readReport(file);
    for (const l of formatSummary(report)) say(l);
    if (o.out !== undefined) writeReportFiles(report, o.out, true);
  });

/** A built-in scenario or a scenario file, with the command line's --with/--without, checked. */
function resolveRunScenario(name: string, o: BehaviourCliOptions): RunScenario {
  if (isBuiltinRunScenarioName(name)) {
    return parseRunScenario(withCliBehaviours(structuredClone(BUILTIN_RUN_SCENARIOS[name]), o), `built-in scenario ${name}`);
  }
  if (!/[./\\]/.test(name)) unknownScenario(name);
  return parseRunScenario(withCliBehaviours(readRunScenarioJson(name), o), name);
}

function unknownScenario(name: string): never {
  throw new CliInputError(`no built-in scenario named "${name}" (built-in: ${Object.keys(BUILTIN_RUN_SCENARIOS).join(", ")}); ` +
    "a scenario file needs a path, e.g. ./my.json");
}

function writeReportFiles(report: RunReport, out: string, announce: boolean): void {
  const base = outBase(out);
  writeOutFile(`${base}.json`, JSON.stringify(report, null, 2) + "\n");
  writeOutFile(`${base}.html`, renderHtmlReport(report));
  if (announce) say(`report: ${base}.html (open it in a browser), ${base}.json`);
}

/** A saved report, every field checked (src/report/schema.ts) before a printer reads it. */
function readReport(file: string): RunReport {
  const text = readInputFile(file, "report <result>");
  return parseRunReport(parseJsonStrict(text, file), file);
}

program.command("web")
  .description("serve the live page from this package: run a scenario in your browser and watch the SMMU's IOTLB, " +
    "the page table and the flush queue while it runs, switch the domain to lazy, step through the seed race; " +
    "prints the page's URL and serves until Ctrl-C (cross-origin isolated: COOP same-origin, COEP require-corp, " +
    "which SharedArrayBuffer needs)")
  .option("--port <n>", "port to listen on (0: any free port)", int("port", 0, 65535), 8080)
  .option("--host <address>", "address to listen on (0.0.0.0: every interface, to open the page from another machine)", "127.0.0.1")
  .action(async (o: { port: number; host: string }) => {
    // dist/: the folder of this built file (and of every chunk of it), with the page in dist/web/.
    const root = fileURLToPath(new URL("./", import.meta.url));
    const server = await startLiveServer({ root, port: o.port, host: o.host });
    console.log(`iommu-sim live page: ${server.url}`);
    console.log("open it in a browser (served cross-origin isolated); Ctrl-C stops the server");
    // Served until interrupted: then every connection is closed and the command ends cleanly.
    await new Promise<void>((done) => {
      const stop = () => { process.off("SIGINT", stop); process.off("SIGTERM", stop); void server.close().then(done); };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
  });

program.command("worker")
  .description("take the points of sweeps submitted with `sweep … --queue URL` from that Redis, run them and store " +
    "their results there (the submitting command writes them to its results file); runs until Ctrl-C or SIGTERM " +
    "(once: finish the points being run, then exit; twice: exit now, and other workers take those points over). " +
    "Start any number, on any machines that reach the Redis; a worker that dies loses nothing (its points are run again " +
    "elsewhere). Several sweeps on one Redis are served oldest first. Needs the same iommu-sim and Node versions as the submitter")
  .requiredOption("--queue <url>", "the Redis server: redis://HOST:PORT (redis://:PASSWORD@HOST:PORT/DB; rediss:// for TLS)")
  .option("-c, --concurrency <n>", "points run at once (default: the machine's available parallelism)", int("concurrency", 1, 256))
  .addHelpText("after", "\nExamples:\n  iommu-sim worker --queue redis://10.0.0.5:6379\n" +
    "  iommu-sim worker --queue redis://:secret@queue.lab:6379/2 --concurrency 8")
  .action(async (o: { queue: string; concurrency?: number }) => {
    // Loaded only here: BullMQ and its Redis client are for the queue, not for every command.
    const { runWorkerCommand } = await import("./sweep/worker-cli.js");
    await runWorkerCommand(o, say);
  });

// Numbers go through as given: runMapBenchmark checks their ranges as the kernel does, so a bad
// value gets the one-line -EINVAL explanation, not commander's usage text. Text that is no
// number at all is refused here, as typed (it would reach the check as NaN: "got NaN").
const num = (flag: string) => (v: string): number => {
  const n = numberOf(v);
  if (Number.isNaN(n)) throw new ArgumentError(flag, v, "must be a number");
  return n;
};
/** -t: one count, or a comma-separated list of them (each checked by runMapBenchmark); a bad entry is named by its place. */
const threadList = (v: string): number | number[] => {
  if (!v.includes(",")) return num("--threads")(v);
  return v.split(",").map((entry, i) => {
    const n = numberOf(entry);
    if (Number.isNaN(n)) {
      throw new ArgumentError("--threads", v, `must be a thread count or a comma-separated list of them (entry ${i + 1}, ` +
        `${JSON.stringify(entry)}, is ${entry.trim() === "" ? "empty" : "not a number"})`);
    }
    return n;
  });
};

program.command("bench")
  .description("dma_map_benchmark, the kernel's DMA-mapping benchmark, on modelled hardware time: prints the " +
    "tool's output for a strict (DMA) and a lazy (DMA-FQ) domain")
  .option("-t, --threads <n[,n…]>", "threads mapping at once (kernel 1..1024; simulated CPUs, at most 128); " +
    "a list (1,2,4,8) runs each and prints a table against threads", threadList, 1)
  .option("-s, --seconds <n>", "modelled seconds to run (1..300)", num("--seconds"), 20)
  .option("-n, --node <n>", "NUMA node (-1: none; the simulated machine has node 0 only)", num("--node"), -1)
  .option("-b, --bits <n>", "DMA mask bits (20..64)", num("--bits"), 32)
  .option("-d, --dir <n>", "direction: 0 BIDIRECTIONAL, 1 TO_DEVICE, 2 FROM_DEVICE", num("--dir"), 0)
  .option("-x, --delay <ns>", "busy-wait between map and unmap, ns (0..10 ms)", num("--delay"), 0)
  .option("-g, --granule <n>", "pages per mapping (1..1024)", num("--granule"), 1)
  .option("-m, --map-mode <n>", "v7.1: 0 single (1, scatter-gather, is not modelled)", num("--map-mode"), 0)
  .addOption(new Option("-p, --profile <version>", "kernel profile (output format and behaviour)").choices(PROFILES).default(DEFAULT_PROFILE))
  .addOption(new Option("--mode <mode>", "domain type: strict, lazy, or both (strict's block first)").choices(["strict", "lazy", "both"]).default("both"))
  .option("--workers <n>", "worker threads the simulated CPUs are spread over (default 1: they run in modelled-time " +
    "order; more are seldom faster, as their CPUs share one domain and wait for each other every quantum)", int("workers", 1, 63))
  .option("--range-invalidation", "an SMMU with range invalidation (default: the machine's, else yes)")
  .option("--no-range-invalidation", "an SMMU without range invalidation (one TLBI per page, as SMMUv3.1 parts)")
  .addOption(new Option("--machine <name>", "a machine preset: its costs and SMMU features, calibrated on published figures").choices(MACHINE_NAMES))
  .addOption(new Option("--cmdq <variant>", "the command queue: the kernel's, or John Garry's 2020 series (never merged; machines with its figures)").choices(CMDQ_VARIANTS))
  .option("--quantum <ns>", "modelled ns per quantum keeping workers' clocks together (100..1,000,000; default 500)", num("--quantum"))
  .option("--magazine-size <n>", "IOVA_MAG_SIZE, PFNs per rcache magazine, instead of the profile's (128 on 5.15, 127 from 6.7): a what-if", num("--magazine-size"))
  .option("--out <base>", "also write BASE.html (latency against threads, modelled vs published; the time breakdown) and BASE.json")
  .option("--max-loops <n>", "stop each thread after n iterations (not a kernel option; for quick looks)", int("max-loops", 1, 2 ** 50))
  .option("--json", "print the results as JSON")
  .action(async (o: BenchCliOptions) => {
    // Interrupted (Ctrl-C): what ran is printed, and the exit says the run did not complete, as `run` does.
    if (await runBenchCommand(o, (l) => say(l)) === "interrupted") process.exitCode = 2;
  });

// ---- sweep (src/sweep/cli.ts has the actions; the report and the queue extend them there) ----
const sweepCmd = program.command("sweep")
  .description("run a sweep: a base scenario crossed with axes of scenario fields (or points given one by one), " +
    "each run repeated with its own seed; runs go side by side, each result appended to BASE.jsonl (JSON lines) as " +
    "it finishes; exit 0 when every run has a result and none failed, 2 on bad input or when a run failed, " +
    `${EXIT_INTERRUPTED} when interrupted (Ctrl-C or SIGTERM: every finished run is kept; --resume runs the rest)`)
  .argument("<sweep>", "sweep file (JSON: base, axes, points, set, repeat, seed, keep)")
  .option("-j, --jobs <n>", `runs at once, each on a worker thread (default: this machine's ${availableParallelism()})`,
    int("jobs", 1, 1024))
  .option("-o, --out <base>", "write the results to BASE.jsonl (default: the sweep's name, in this folder; a shard's " +
    "with .shard-I-of-N); an existing file is refused unless --resume. At the end (also when stopped, marked partial) " +
    "the report: BASE.html (plots, heatmaps, the sortable table) and BASE.csv (one row per run); a shard's after `sweep merge`")
  .option("--resume", "continue BASE.jsonl: run only the runs it has no result for (it must be this sweep's, by this version)")
  .option("--dry-run", "check the sweep and list its runs (index, seed, values) without running them")
  .option("--shard <i/n>", "run only shard I of N, counted from 0 (0/4 … 3/4): the runs whose index mod N is I, as " +
    "--shard $JOB_COMPLETION_INDEX/N in a Kubernetes Indexed Job or --shard $SLURM_ARRAY_TASK_ID/N in a Slurm " +
    "array --array=0-(N-1); join the shards' files with `sweep merge`")
  .option("--json", "print the outcome (or with --dry-run the runs) as JSON")
  .option("--no-progress", "no progress bar")
  .option("--queue <url>", "run the points on `iommu-sim worker` processes (any number, on any machines) through this Redis, " +
    "redis://HOST:PORT (redis://:PASSWORD@HOST:PORT/DB; rediss:// for TLS): points become BullMQ jobs, this command " +
    "follows their results into BASE.jsonl; Ctrl-C leaves the points queued for the workers, --resume follows them again")
  .addHelpText("after", "\nExamples:\n  iommu-sim sweep grid.json --out grid --jobs 4\n" +
    "  iommu-sim sweep grid.json --out grid --queue redis://10.0.0.5:6379   # then, on any machines:\n" +
    "  iommu-sim worker --queue redis://10.0.0.5:6379")
  .action(async (file: string, o: SweepCliOptions) => {
    await sweepCommand(file, o, { say, warn: (t) => console.error(terminalLines(t)) });
  });

sweepCmd.command("merge")
  .description("join results files of one sweep (the shards', or interrupted runs') into OUT, one line per run: " +
    "identical duplicates kept once; refuses files of another sweep or version, two different results for one run, " +
    "inputs that hold no results and an OUT that exists (merging never replaces a file); " +
    "says which runs are missing (exit 1 when some are); writes OUT's report beside it (.html, .csv) and prints its table")
  .argument("<out>", "the merged results file to write (JSON lines; a new file)")
  .argument("<inputs...>", "results files to join")
  .action((out: string, inputs: string[]) => {
    mergeCommand(out, inputs, { say, warn: (t) => console.error(terminalLines(t)) });
  });
registerSweepReport(sweepCmd, { say, warn: (t) => console.error(terminalLines(t)) });
// ---- end of sweep ----

/** A replay line's scenario part, when it is neither a built-in nor a file: what it may name. */
const REPLAY_SCENARIO_FILE = "--replay's scenario (a built-in, or a scenario file's path; for a scenario named by its " +
  "\"name\" field, give its file beside the line: explore FILE --replay LINE)";

/** An explore scenario file (`what`: how the user named it, for a file that cannot be read). */
function loadScenarioFile(path: string, what: string): Scenario {
  const text = readInputFile(path, what);
  const raw = parseJsonStrict(text, path);
  // "variant": "FILE.json" names a variant file beside the scenario (a path relative to it).
  if (typeof raw === "object" && raw !== null && !Array.isArray(raw)) {
    const v = (raw as { variant?: unknown }).variant;
    if (typeof v === "string" && !(SEED_VARIANTS as readonly string[]).includes(v) && v.endsWith(".json")) {
      (raw as { variant?: unknown }).variant = loadVariantFile(resolvePath(dirname(path), v), `${path}'s variant file`);
    }
  }
  return { name: path, ...validateScenario(raw, path) };
}

/** A variant file (`what`: how the user named it): its definition, checked, errors naming the file. */
function loadVariantFile(path: string, what: string): VariantDefinition {
  const text = readInputFile(path, what);
  return parseVariant(parseJsonStrict(text, path), path).definition;
}

/** --variant: a seed variant's name, or the path of a variant file (then also its source, for the replay line). */
function cliVariant(v: string | undefined): { variant: SeedVariant | VariantDefinition; source?: string } | undefined {
  if (v === undefined) return undefined;
  if ((SEED_VARIANTS as readonly string[]).includes(v)) return { variant: v as SeedVariant };
  if (!existsSync(v)) {
    throw new CliInputError(`--variant ${v}: neither a seed variant (${SEED_VARIANTS.join(", ")}) nor a variant file that exists`);
  }
  return { variant: loadVariantFile(v, "--variant"), source: v };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

// With no command, say what there is (0.1 ran `demo` here, which looked like the main job and was not).
const parsed = process.argv.length <= 2 ? Promise.resolve(program.outputHelp()) : program.parseAsync();
parsed.catch((e: unknown) => {
  if (e instanceof CommanderError) {
    // --help and --version end "successfully"; every other usage error is bad input.
    process.exitCode = e.code === "commander.helpDisplayed" || e.code === "commander.version" ? 0 : 2;
    return;
  }
  const text = (m: string) => terminalText(m.replace(/^iommu-sim: /, ""));
  // A replay error's second line is the script's line, indented: each line escaped, the break kept.
  if (e instanceof ReplayError) console.error(`iommu-sim replay: ${terminalLines(e.message.replace(/^iommu-sim: /, ""))}`);
  else if (e instanceof ScenarioError) console.error(`iommu-sim: bad scenario: ${text(e.message)}`);
  else if (e instanceof SweepError) console.error(`iommu-sim: bad sweep: ${text(e.message)}`);
  else if (e instanceof ReportError) console.error(`iommu-sim: bad report: ${text(e.message)}`);
  else if (e instanceof RunError) console.error(terminalText(e.message));
  else if (e instanceof CliInputError || e instanceof JsonInputError) console.error(`iommu-sim: ${text(e.message)}`);
  else if (e instanceof LiveServerError) console.error(terminalText(e.message));
  else if (e instanceof IommuSimError) console.error(`iommu-sim: ${text(e.message)}`);
  // Not one of the package's errors: a bug. Its stack says where, for a report.
  else console.error(`iommu-sim: internal error: ${terminalText(e instanceof Error ? e.stack ?? e.message : String(e))}`);
  process.exitCode = 2;
});
