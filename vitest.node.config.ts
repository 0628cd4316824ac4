import { defineConfig } from "vitest/config";

// Node-side tests: the reference miner, the protocol, pure decoders.
export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
