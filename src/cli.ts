#!/usr/bin/env node
// The iommu-sim command line: replay kernel-call scripts, run the demo and the kernel's
// self-tests. (Scenario runs and dma_map_benchmark come with later issues.)

import { readFile } from "node:fs/promises";
import { Command, InvalidArgumentError, Option } from "commander";
import { replayScript, normalizeTrace, ReplayError } from "./replay/index.js";
import { runDemo } from "./demo.js";
import { Simulator } from "./simulator.js";
import { runSelftest } from "./selftest.js";
import { PROFILES, type Profile } from "./pgtable.js";

function int(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}]`);
    return n;
  };
}

const profileOption = () => new Option("-p, --profile <version>", "kernel profile").choices(PROFILES).default("7.1");

const program = new Command()
  .name("iommu-sim")
  .description("Simulate the Linux IOMMU DMA stack on an Arm SMMUv3")
  .showHelpAfterError();

program.command("replay")
  .description("run a kernel-call script (shared/conformance language) and print the trace")
  .argument("<file>", "script to run ('-' for standard input)")
  .addOption(profileOption())
  .option("-c, --compare <expected>", "compare with a kernel trace (normalised) instead of printing; exit 1 on a difference")
  .option("--no-cmd", "with --compare: ignore SMMU CMD lines")
  .addOption(new Option("--cmd-rules <version>", "encode CMD lines with this kernel's SMMUv3 driver rules (default: the profile's; the kernel-code traces used 5.15's for both)").choices(PROFILES))
  .action(async (file: string, o: { profile: Profile; compare?: string; cmd: boolean; cmdRules?: Profile }) => {
    const script = file === "-" ? await readStdin() : await readFile(file, "utf8");
    const lines = await replayScript(script, { profile: o.profile, ...(o.cmdRules ? { commandRules: o.cmdRules } : {}) });
    if (!o.compare) {
      process.stdout.write(lines.join("\n") + "\n");
      return;
    }
    const expected = normalizeTrace((await readFile(o.compare, "utf8")).split(/\r?\n/), { dropCmd: !o.cmd });
    const got = normalizeTrace(lines, { dropCmd: !o.cmd });
    const n = Math.max(expected.length, got.length);
    for (let i = 0; i < n; i++) {
      if (expected[i] !== got[i]) {
        process.stdout.write(`first difference at normalised line ${i + 1}:\n  expected: ${expected[i] ?? "(end)"}\n  got:      ${got[i] ?? "(end)"}\n`);
        process.exitCode = 1;
        return;
      }
    }
    process.stdout.write(`identical: ${got.length} normalised lines\n`);
  });

program.command("demo", { isDefault: true })
  .description("two workers map and unmap in one page table at once; prints what happened and how fast")
  .addOption(profileOption())
  .option("-w, --workers <n>", "workers", int("workers", 1, 63), 2)
  .option("-n, --ops <n>", "operations per worker", int("ops", 1, 1e8), 50_000)
  .action(async (o: { profile: Profile; workers: number; ops: number }) => {
    const ok = await runDemo({ ...o, print: (l) => console.log(l) });
    if (!ok) process.exitCode = 1;
  });

program.command("selftest")
  .description("run the kernel's io-pgtable-arm self-tests for a profile")
  .addOption(profileOption())
  .action(async (o: { profile: Profile }) => {
    const sim = await Simulator.create({ profile: o.profile });
    try {
      const r = runSelftest(sim);
      for (const l of r.log) console.log(l);
      for (const w of r.warnings) console.log(`WARNING: ${w}`);
      console.log(`${r.pass} passed, ${r.fail} failed; ${r.leakedAllocations} table allocations leaked`);
      if (r.fail || r.leakedAllocations) process.exitCode = 1;
    } finally {
      await sim.close();
    }
  });

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

program.parseAsync().catch((e: unknown) => {
  if (e instanceof ReplayError) console.error(`iommu-sim replay: ${e.message}`);
  else console.error(e instanceof Error ? `iommu-sim: ${e.message}` : e);
  process.exitCode = 2;
});
