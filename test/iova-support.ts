// Shared by the IOVA test files: the conformance traces of shared/conformance/iova, each
// paired with its expected output and the profile it was made with.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Profile } from "../dist/index.js";

/** The conformance folder: $IOMMU_SIM_CONFORMANCE, else ../shared/conformance beside the repo. */
export const CONFORMANCE_DIR = resolve(process.env.IOMMU_SIM_CONFORMANCE ??
  join(import.meta.dirname, "..", "..", "shared", "conformance"));

export interface IovaTrace {
  name: string;
  profile: Profile;
  script: string;
  expected: string;
}

/** Every `.out` of a folder with its `.in`: `x.515.out`/`x.71.out` or a `…515_`/`…71_` prefix. */
export function iovaTraces(folder = "iova"): IovaTrace[] {
  const dir = join(CONFORMANCE_DIR, folder);
  if (!existsSync(dir)) return [];
  const out: IovaTrace[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith(".out")) continue;
    const stem = f.slice(0, -4);
    const suffix = /^(.*)\.(515|71)$/.exec(stem);
    let input = stem;
    let profile: Profile;
    if (suffix) {
      input = suffix[1]!;
      profile = suffix[2] === "515" ? "5.15" : "7.1";
    } else if (/^[a-z]+515_/.test(stem)) profile = "5.15";
    else if (/^[a-z]+71_/.test(stem)) profile = "7.1";
    else throw new Error(`cannot tell the profile of ${f}`);
    out.push({ name: stem, profile, script: readFileSync(join(dir, `${input}.in`), "utf8"),
               expected: readFileSync(join(dir, f), "utf8") });
  }
  return out;
}
