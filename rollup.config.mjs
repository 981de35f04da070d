// Builds dist/: the library (index.js), the worker script (worker.js), the CLI (cli.js),
// their shared chunks beside them (so `new URL("./x", import.meta.url)` resolves in any of
// them), node.js (the Node-only helpers: scenario files, the HTML report, the headless-Chromium
// driver that scripts/screenshot-report.mjs uses), the type declarations (index.d.ts,
// node.d.ts, and the types-*.d.ts chunk that declares what they share) and core.wasm copied
// from build/. Then dist/browser/: the library and the worker again, each one self-contained
// file with src/host.browser.ts in place of src/host.ts, so that no `node:` import reaches a
// browser bundler (package.json's "browser" export condition), and core.wasm beside them.
//
// No source maps: the output is not minified (a stack trace reads as the TypeScript did,
// less the types), and maps would point at src/, which the package does not ship — or
// embed it, nearly doubling the package.
import typescript from "@rollup/plugin-typescript";
import { nodeResolve } from "@rollup/plugin-node-resolve";
import { dts } from "rollup-plugin-dts";
import { copyFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { sep } from "node:path";
import { copyWebPage } from "./scripts/web-dist.mjs";

// The live page goes into dist/web/ (scripts/web-dist.mjs), for `iommu-sim web`.
const copyWeb = { name: "copy-web-page", writeBundle: () => copyWebPage() };

/** Copy build/core.wasm into `dir` once the bundle is written. */
const copyCore = (dir) => ({
  name: "copy-core-wasm",
  async writeBundle() {
    await mkdir(dir, { recursive: true });
    await copyFile("build/core.wasm", `${dir}/core.wasm`);
  },
});

const HOST = fileURLToPath(new URL("./src/host.ts", import.meta.url));
const BROWSER_HOST = fileURLToPath(new URL("./src/host.browser.ts", import.meta.url));

/** For the browser build: every import of src/host.ts gets src/host.browser.ts instead. */
const browserHost = {
  name: "browser-host",
  async resolveId(source, importer, options) {
    if (!/(^|\/)host\.js$/.test(source)) return null;
    const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
    return resolved?.id === HOST ? BROWSER_HOST : resolved;
  },
};

// The Node-only dependencies stay imports (resolved from node_modules): the CLI's commander
// and cli-progress, and uPlot, which is never imported (the HTML report reads its files at
// render time to inline them). zod is bundled in: the library validates scenarios in
// browsers too, where a bare "zod" import would need an import map.
const external = [/^node:/, "commander", "uplot", /^uplot\//, "cli-progress", "bullmq", "ioredis"];
const dtsExternal = [...external, "zod"];

/** Warnings from bundled third-party code (zod's comments, its circular imports) are not ours to fix. */
function onwarn(warning, warn) {
  const where = warning.ids?.join(" ") ?? warning.id ?? warning.loc?.file ?? "";
  if (where.includes("node_modules")) return;
  warn(warning);
}

/**
 * Rollup makes a chunk of the code each set of entries shares and names it after one of its
 * modules, often a minor one (a chunk once called map-benchmark2.js held the Simulator, and
 * stack traces named it). Name each chunk for the first of these it holds instead.
 */
const CHUNK_NAMES = [
  ["src/simulator.ts", "simulator"], //         the library's API, shared by index.js and cli.js
  ["bindings/core.ts", "core"], //              the Wasm core's bindings, the page table, the pool and its tasks
  ["src/dma.ts", "dma-iova"], //                DMA and IOVA domains, errors, profiles
  ["src/run/scenario.ts", "scenario-schema"], // the scenario schema (zod) and the report's formatting
  ["src/report/html.ts", "report-html"], //     Node only: the HTML report, scenario files, sweeps
  ["src/explore/run.ts", "explore-replay-bench"], //        the library's tools the CLI shares (explorer, replay, selftests, bench)
  ["src/sweep/queue-worker.ts", "queue-worker"], // Node only, loaded on demand: a sweep through Redis
  ["src/sweep/queue.ts", "queue"],
  ["src/sweep/queue-record.ts", "queue-record"],
  ["src/sweep/worker-cli.ts", "worker-cli"],
];
function chunkFileNames(chunk) {
  const ids = chunk.moduleIds.map((id) => id.split(sep).join("/"));
  const hit = CHUNK_NAMES.find(([path]) => ids.some((id) => id.endsWith(`/${path}`)));
  return `${hit ? hit[1] : `shared-${chunk.name}`}.js`;
}

const ts = () => typescript({ tsconfig: "./tsconfig.json", noEmitOnError: true, declaration: false, outDir: "dist", rootDir: "." });
// The declarations of both entries in one build, so that what both export (the Simulator,
// the errors, ...) is declared once, in a chunk they share: two builds gave node.d.ts a second
// copy of every class, and a class with a private member is not assignable to its copy (a
// Simulator from iommu-sim/node's PointSimulators was not iommu-sim's Simulator).
// @internal members (constructors' factories, the core handle) are not the user's API.
const declarations = (input) => ({
  input, external: dtsExternal,
  output: {
    dir: "dist", format: "es", entryFileNames: "[name].d.ts",
    chunkFileNames: (chunk) => `types-${chunkFileNames(chunk).replace(/\.js$/, ".d.ts")}`,
  },
  plugins: [dts({ compilerOptions: { stripInternal: true } })],
});
/** One self-contained browser file from `input`. */
const browserFile = (input, file) => ({
  input, onwarn,
  output: { file, format: "es", inlineDynamicImports: true },
  plugins: [browserHost, nodeResolve({ browser: true, exportConditions: ["browser", "import", "default"] }), ts(), copyCore("dist/browser")],
});

export default [
  {
    input: { index: "src/index.ts", worker: "src/worker.ts", cli: "src/cli.ts", node: "src/node.ts" },
    external,
    onwarn,
    output: { dir: "dist", format: "es", entryFileNames: "[name].js", chunkFileNames },
    plugins: [nodeResolve({ browser: false, exportConditions: ["import", "default"] }), ts(), copyCore("dist"), copyWeb],
  },
  declarations({ index: "src/index.ts", node: "src/node.ts" }),
  browserFile("src/index.ts", "dist/browser/index.js"),
  browserFile("src/worker.ts", "dist/browser/worker.js"),
];
