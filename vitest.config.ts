import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: keep files in parallel but few at a time; workers spawned by the pool are
    // separate threads on top of these.
    maxWorkers: 2,
  },
});
