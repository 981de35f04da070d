// Shared by the test files: where the conformance traces are, and how to pair a script
// with its expected output and profile.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Profile, RunReport } from "../dist/index.js";

/** The conformance folder: $IOMMU_SIM_CONFORMANCE, else ../shared/conformance beside the repo. */
export const CONFORMANCE = resolve(process.env.IOMMU_SIM_CONFORMANCE ??
  join(import.meta.dirname, "..", "..", "shared", "conformance"));

export interface TraceCase {
  name: string;
  profile: Profile;
  script: string;
  expected: string;
}

/** Every `.out` in a conformance subfolder with its `.in` and the profile it was made with. */
export function traceCases(folder: string): TraceCase[] {
  const dir = join(CONFORMANCE, folder);
  if (!existsSync(dir)) return [];
  const cases: TraceCase[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith(".out")) continue;
    const stem = f.slice(0, -4);
    let profile: Profile;
    let input: string;
    const suffix = /^(.*)\.(515|71)$/.exec(stem);
    if (suffix) {
      input = suffix[1]!;
      profile = suffix[2] === "515" ? "5.15" : "7.1";
    } else {
      input = stem;
      if (/^[a-z]+515_/.test(stem)) profile = "5.15";
      else if (/^[a-z]+71_/.test(stem)) profile = "7.1";
      else throw new Error(`cannot tell the profile of ${f}`);
    }
    cases.push({
      name: `${folder}/${stem}`, profile,
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
