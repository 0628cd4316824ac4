import { defineConfig } from "vitest/config";

// End-to-end: the real dev stack (wrangler dev + reference miner processes) driven by real clients.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/e2e/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
