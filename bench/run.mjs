// npm run bench: every benchmark under bench/, one after another, in one process, so the
// ratios between figures come from the same run on the same (noisy) machine.
import { readdir } from "node:fs/promises";
import { PROFILES } from "../dist/index.js";

const only = process.argv.slice(2);
const dir = new URL(".", import.meta.url);
const files = (await readdir(dir)).filter((f) => f.endsWith(".mjs") && f !== "run.mjs").sort();
for (const f of files) {
  const name = f.replace(/\.mjs$/, "");
  if (only.length && !only.includes(name)) continue;
  const mod = await import(new URL(f, dir).href);
  console.log(`\n## ${name}`);
  for (const profile of PROFILES) {
    await mod.run({ print: (l) => console.log(l), profile });
  }
}
