import { defineConfig } from "vitest/config";

// The e2e foundation test runs a second time with every Core on PostgreSQL (a fresh database per
// run), in parallel with the rest, so production's database is proven end to end too. Included
// whenever a PostgreSQL is configured, and always under CI=true, where a missing one then FAILS.
const postgresE2e = Boolean(process.env.FABRICORE_TEST_POSTGRES_URL?.trim()) || process.env.CI === "true";
if (!postgresE2e) console.warn("skipping the e2e-postgres project: FABRICORE_TEST_POSTGRES_URL is unset");

export default defineConfig({
  test: {
    exclude: ["**/node_modules/**", "core/ui/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: {
          name: "fabricore",
          include: ["protocol/src/**/*.test.ts", "core/src/**/*.test.ts", "node/src/**/*.test.ts", "e2e/**/*.test.ts"],
        },
      },
      ...(postgresE2e
        ? [
            {
              extends: true as const,
              test: {
                name: "e2e-postgres",
                include: ["e2e/foundation.test.ts"],
                env: { FABRICORE_E2E_DATABASE: "postgres" },
                globalSetup: ["e2e/support/postgres-global-setup.ts"],
              },
            },
          ]
        : []),
    ],
  },
});
