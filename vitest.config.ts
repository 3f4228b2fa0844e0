import { defineConfig } from "vitest/config";

// The API tests and the e2e foundation test run a second time on PostgreSQL (project `postgres`:
// each in-process test Core on a fresh database of its own, the e2e Cores on one fresh database
// for the run), in parallel with the rest, so production's database is proven end to end too.
// Included whenever a PostgreSQL is configured, and always under CI=true, where a missing one
// then FAILS.
const postgres = Boolean(process.env.FABRICORE_TEST_POSTGRES_URL?.trim()) || process.env.CI === "true";
if (!postgres) console.warn("skipping the postgres project: FABRICORE_TEST_POSTGRES_URL is unset");

export default defineConfig({
  test: {
    // The UI's pure logic (no DOM) is tested here too; its pages are proven in Chromium (e2e/ui).
    exclude: ["**/node_modules/**", "core/ui/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: {
          name: "fabricore",
          include: [
            "protocol/src/**/*.test.ts",
            "core/src/**/*.test.ts",
            "core/ui/src/**/*.test.ts",
            "node/src/**/*.test.ts",
            "cli/src/**/*.test.ts",
            "e2e/**/*.test.ts",
          ],
        },
      },
      ...(postgres
        ? [
            {
              extends: true as const,
              test: {
                name: "postgres",
                include: ["e2e/foundation.test.ts", "core/src/api/**/*.test.ts"],
                // Reads the SQLite file itself to prove reads write nothing.
                exclude: ["**/node_modules/**", "core/src/api/roles.test.ts"],
                env: { FABRICORE_TEST_DATABASE: "postgres" },
                globalSetup: ["e2e/support/postgres-global-setup.ts"],
              },
            },
          ]
        : []),
    ],
  },
});
