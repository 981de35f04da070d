import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Two cores: a couple of files at a time; the pool's workers are threads on top of these.
    maxWorkers: 2,
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
