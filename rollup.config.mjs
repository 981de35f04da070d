// Builds dist/: the library (index.js), the worker script (worker.js), the CLI (cli.js),
// their shared chunks beside them (so `new URL("./x", import.meta.url)` resolves in any of
// them), node.js (the Node-only helpers: scenario files, the HTML report, the headless-Chromium
// driver that scripts/screenshot-report.mjs uses), the type declarations (index.d.ts,
// node.d.ts) and core.wasm copied from build/.
import typescript from "@rollup/plugin-typescript";
import { nodeResolve } from "@rollup/plugin-node-resolve";
import { dts } from "rollup-plugin-dts";
import { copyFile, mkdir } from "node:fs/promises";
import { copyWebPage } from "./scripts/web-dist.mjs";

// The live page goes into dist/web/ (scripts/web-dist.mjs), for `iommu-sim web`.
const copyWeb = { name: "copy-web-page", writeBundle: () => copyWebPage() };

const copyCore = {
  name: "copy-core-wasm",
  async writeBundle() {
    await mkdir("dist", { recursive: true });
    await copyFile("build/core.wasm", "dist/core.wasm");
  },
};

// The Node-only dependencies stay imports (resolved from node_modules): the CLI's commander
// and cli-progress, and uPlot, which is never imported (the HTML report reads its files at
// render time to inline them). zod is bundled in: the library validates scenarios in
// browsers too, where a bare "zod" import would need an import map.
const external = [/^node:/, "commander", "uplot", /^uplot\//, "cli-progress"];
const dtsExternal = [...external, "zod"];

/** Warnings from bundled third-party code (zod's comments, its circular imports) are not ours to fix. */
function onwarn(warning, warn) {
  const where = warning.ids?.join(" ") ?? warning.id ?? warning.loc?.file ?? "";
  if (where.includes("node_modules")) return;
  warn(warning);
}

export default [
  {
    input: { index: "src/index.ts", worker: "src/worker.ts", cli: "src/cli.ts", node: "src/node.ts" },
    external,
    onwarn,
    output: {
      dir: "dist",
      format: "es",
      entryFileNames: "[name].js",
      chunkFileNames: "[name].js",
      sourcemap: true,
    },
    plugins: [
      nodeResolve({ browser: false, exportConditions: ["import", "default"] }),
      typescript({ tsconfig: "./tsconfig.json", noEmitOnError: true, declaration: false, outDir: "dist", rootDir: "." }),
      copyCore,
      copyWeb,
    ],
  },
  {
    input: "src/index.ts",
    external: dtsExternal,
    output: { file: "dist/index.d.ts", format: "es" },
    plugins: [dts()],
  },
  {
    input: "src/node.ts",
    external: dtsExternal,
    output: { file: "dist/node.d.ts", format: "es" },
    plugins: [dts()],
  },
];
