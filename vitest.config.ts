import { defineConfig } from "vitest/config";

// Two projects. "node" is most of the suite, a couple of files at a time (two cores; the
// pool's workers are threads on top of these). "browser" is the Chromium tests, one file
// at a time and only after "node" has finished: they measure the page's main thread, which
// other test files competing for the two cores would slow down, not the package. The
// packed-package test goes with them: its npm and a full TypeScript check of the package
// take both cores for seconds, which slowed the lockstep workers of a map-benchmark test
// running beside it six-fold.
const BROWSER_TESTS = ["test/browser-*.test.ts", "test/web-page.test.ts", "test/bundlers.test.ts", "test/package.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ["default", "./test/summary-reporter.ts"],
    projects: [
      {
        extends: true,
        test: { name: "node", include: ["test/**/*.test.ts"], exclude: BROWSER_TESTS, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: "browser", include: BROWSER_TESTS, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
