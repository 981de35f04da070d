// Builds dist/: the library (index.js), the worker script (worker.js), the CLI (cli.js),
// their shared chunks beside them (so `new URL("./x", import.meta.url)` resolves in any of
// them), the type declarations (index.d.ts), and core.wasm copied from build/.
import typescript from "@rollup/plugin-typescript";
import { dts } from "rollup-plugin-dts";
import { copyFile, mkdir } from "node:fs/promises";

const copyCore = {
  name: "copy-core-wasm",
  async writeBundle() {
    await mkdir("dist", { recursive: true });
    await copyFile("build/core.wasm", "dist/core.wasm");
  },
};

const external = [/^node:/, "commander", "cli-progress"];

export default [
  {
    input: { index: "src/index.ts", worker: "src/worker.ts", cli: "src/cli.ts" },
    external,
    output: {
      dir: "dist",
      format: "es",
      entryFileNames: "[name].js",
      chunkFileNames: "[name].js",
      sourcemap: true,
    },
    plugins: [typescript({ tsconfig: "./tsconfig.json", noEmitOnError: true, declaration: false, outDir: "dist", rootDir: "." }), copyCore],
  },
  {
    input: "src/index.ts",
    external,
    output: { file: "dist/index.d.ts", format: "es" },
    plugins: [dts()],
  },
];
