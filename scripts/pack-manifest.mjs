// The published package.json: `npm pack`/`npm publish` run this as `prepack` (strip) and
// `postpack` (restore). The repository's manifest keeps `prepare: npm run build`, so that
// `npm ci` in a clone builds the Wasm core and dist/ (.ci/run and the README's quick start
// rely on it); the packed one carries no scripts at all — none would work without the
// sources, and an install-time build script makes npm warn on every consumer's install.
//
// A pack that died between the two leaves package.json stripped and the original in
// package.json.prepack: the next strip (or restore) puts it back first.

import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

const MANIFEST = "package.json";
const SAVED = "package.json.prepack";

function restore() {
  if (existsSync(SAVED)) renameSync(SAVED, MANIFEST);
}

const step = process.argv[2];
if (step === "strip") {
  restore();
  const text = readFileSync(MANIFEST, "utf8");
  const manifest = JSON.parse(text);
  writeFileSync(SAVED, text);
  delete manifest.scripts;
  writeFileSync(MANIFEST, JSON.stringify(manifest, null, 2) + "\n");
} else if (step === "restore") {
  restore();
} else {
  console.error(`usage: node scripts/pack-manifest.mjs strip|restore (got ${JSON.stringify(step)})`);
  process.exit(2);
}
