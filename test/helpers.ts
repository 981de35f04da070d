// Shared by the test files: where the conformance traces are, and how to pair a script
// with its expected output and profile.

import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { join, resolve } from "node:path";
import { PROFILES, type Profile, type RunReport, type Simulator, type TaskContext } from "../dist/index.js";

/** The conformance folder: $IOMMU_SIM_CONFORMANCE, else ../shared/conformance beside the repo. */
export const CONFORMANCE = resolve(process.env.IOMMU_SIM_CONFORMANCE ??
  join(import.meta.dirname, "..", "..", "shared", "conformance"));

export interface TraceCase {
  name: string;
  profile: Profile;
  /** Whose SMMUv3 driver encoded the trace's CMD lines (the README: the first harness reused 5.15's). */
  commandRules: Profile;
  script: string;
  expected: string;
}

/** The profile a trace name's digits stand for: "515" → "5.15", "612" → "6.12", "71" → "7.1". */
function profileOfDigits(digits: string): Profile | undefined {
  return PROFILES.find((p) => p.replace(".", "") === digits);
}

/**
 * Every `.out` in a conformance subfolder with its `.in` and the profile it was made with:
 * the suffix of `NAME.515.out` / `NAME.612.out`, else the prefix of `iova515_…` / `pgt71_…`.
 * Traces in a profile's own folder (`612/`) carry that driver's CMD encoding; the others were
 * encoded with the v5.15 rules whatever the profile.
 */
export function traceCases(folder: string): TraceCase[] {
  const dir = join(CONFORMANCE, folder);
  if (!existsSync(dir)) return [];
  const ownFolder = profileOfDigits(folder.split("/")[0]!);
  const cases: TraceCase[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith(".out")) continue;
    const stem = f.slice(0, -4);
    const suffix = /^(.*)\.(\d+)$/.exec(stem);
    const input = suffix ? suffix[1]! : stem;
    const digits = suffix ? suffix[2]! : /^[a-z]+?(\d+)_/.exec(stem)?.[1];
    const profile = digits === undefined ? undefined : profileOfDigits(digits);
    if (profile === undefined) throw new Error(`cannot tell the profile of ${folder}/${f}`);
    cases.push({
      name: `${folder}/${stem}`, profile, commandRules: ownFolder ?? "5.15",
      script: readFileSync(join(dir, `${input}.in`), "utf8"),
      expected: readFileSync(join(dir, f), "utf8"),
    });
  }
  return cases;
}

/** A run's report without its wall-clock parts (the only ones that may differ between two runs of one seed). */
export function deterministic(r: RunReport): Omit<RunReport, "timing" | "series"> & { series: unknown[] } {
  const { timing: _t, series, ...rest } = r;
  return { ...rest, series: series.map(({ wallMs: _w, ...p }) => p) };
}

/**
 * A simulator's core, which the published types leave out (it is @internal): the tests that
 * look at the machine underneath (layout constants, test-only core calls) reach it here.
 */
export function coreOf(sim: Simulator): TaskContext["core"] {
  return (sim as unknown as { core: TaskContext["core"] }).core;
}

/** A 4K-granule stage-1 and stage-2 page table as the SMMU tests make them (no event ring). */
export const LPAE_S1 = { format: "arm-lpae-s1" as const, pgsizeBitmap: 0x40201000, ias: 48, oas: 48, events: 0 };
export const LPAE_S2 = { format: "arm-lpae-s2" as const, pgsizeBitmap: 0x40201000, ias: 40, oas: 48, events: 0 };

const CLI = join(import.meta.dirname, "..", "dist", "cli.js");

/** Run the built CLI; its exit code and everything it printed (stdout, then stderr). */
export async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [CLI, ...args], { timeout: 120_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout + x.stderr };
  }
}
