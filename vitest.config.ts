import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["protocol/src/**/*.test.ts", "core/src/**/*.test.ts", "node/src/**/*.test.ts", "e2e/**/*.test.ts"],
    exclude: ["**/node_modules/**", "core/ui/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
