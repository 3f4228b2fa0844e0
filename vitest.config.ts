import { join } from "node:path";
import { defineConfig } from "vitest/config";

// Node's compile cache (the V8 code cache and the TypeScript with its types stripped) for every
// process a run starts: vitest's forks, and through them each e2e Core (`node core/src/main.ts`,
// spawned with this environment), which otherwise re-strips and re-compiles some 2 s of CPU worth
// of modules at every start; with the cache a Core starts on about 30% less CPU. Entries are
// checked against the source's hash, so an edited file is compiled afresh.
process.env.NODE_COMPILE_CACHE ??= join(import.meta.dirname, ".tmp/node-compile-cache");

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
    // Two test files at a time. Vitest's default in a run is one fewer worker than CPUs, which on
    // the 2-core machines this suite runs on is ONE: every file waited for the last, although an
    // e2e file spends most of its time waiting on its child processes (Core, compiled Node, Docker,
    // Chromium) and the fork + import of the next file could overlap it. Each file keeps its own
    // fork (isolate), its own Core, data dir, ports (freePort), netns names (pid-tagged) and Docker
    // containers (labelled by Node), as it already must when several checkouts test at once. Three
    // measured worse on a loaded 2-core machine (Cores missed their 30 s start). VITEST_MAX_WORKERS
    // overrides it.
    maxWorkers: 2,
    // expect.poll waits on something a page or a Core does by itself; its 1 s default was met on
    // one CPU per file, not with two browser suites sharing two cores (audit-jobs-ui's target filter
    // took longer). A later deadline only lets a slow machine pass; a wrong value still fails.
    expect: { poll: { timeout: 10_000 } },
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
