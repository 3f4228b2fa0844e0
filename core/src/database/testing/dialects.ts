import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, it } from "vitest";
import { type DialectName, type OpenedDatabase, openDatabase } from "../connection.ts";
import { migrateToLatest } from "../migrate.ts";
import type { Database } from "../schema.ts";

/**
 * The storage contract suite runs once per dialect named in DIALECTS (default `sqlite,postgres`),
 * always against a real database: SQLite in a temp dir, PostgreSQL in a fresh database created
 * under FABRICORE_TEST_POSTGRES_URL for this run and dropped after it, so parallel runs never meet.
 */

export interface TestDatabase {
  dialect: DialectName;
  db: Kysely<Database>;
  /** What `openDatabase` needs to reach this database (also from a child process). */
  target: { url?: string; dataDir: string };
  /** SQLite only: the database file. */
  sqlitePath?: string;
  /** Another independent connection (pool) to the same database, as a second process would have. */
  openAnother(): OpenedDatabase;
  /** Empties every table (children first) so each test starts clean. */
  reset(): Promise<void>;
  destroy(): Promise<void>;
}

export type DialectUnderTest =
  | { name: DialectName; available: true; create(): Promise<TestDatabase> }
  | { name: DialectName; available: false; reason: string; mustFail: boolean };

const ALL_TABLES = [
  "node_rollout_nodes",
  "node_rollouts",
  "node_update_results",
  "run_deliveries",
  "run_steps",
  "runs",
  "mcp_servers",
  "jobs",
  "api_tokens",
  "users",
  "nodes",
  "providers",
  "secrets",
  "login_attempts",
  "channels",
] as const;

async function wrap(
  opened: OpenedDatabase,
  target: TestDatabase["target"],
  cleanup: () => Promise<void>,
): Promise<TestDatabase> {
  await migrateToLatest(opened.db);
  const others: OpenedDatabase[] = [];
  return {
    dialect: opened.dialect,
    db: opened.db,
    target,
    ...(opened.path !== undefined ? { sqlitePath: opened.path } : {}),
    openAnother() {
      const another = openDatabase(target);
      others.push(another);
      return another;
    },
    async reset() {
      for (const table of ALL_TABLES) await opened.db.deleteFrom(table).execute();
    },
    async destroy() {
      for (const o of others) await o.close();
      await opened.close();
      await cleanup();
    },
  };
}

async function createSqlite(): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), "fabricore-db-test-"));
  const opened = openDatabase({ dataDir });
  return wrap(opened, { dataDir }, async () => rmSync(dataDir, { recursive: true, force: true }));
}

async function createPostgres(adminUrl: string): Promise<TestDatabase> {
  const name = `fabricore_test_${Date.now()}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const dataDir = mkdtempSync(join(tmpdir(), "fabricore-db-test-"));
  const opened = openDatabase({ url: url.toString(), dataDir });
  return wrap(opened, { url: url.toString(), dataDir }, async () => {
    rmSync(dataDir, { recursive: true, force: true });
    const dropper = new pg.Client({ connectionString: adminUrl });
    await dropper.connect();
    try {
      // FORCE (PostgreSQL 13+): a connection a failed test leaked must not keep the database alive.
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await dropper.end();
    }
  });
}

export function dialectsUnderTest(env: NodeJS.ProcessEnv = process.env): DialectUnderTest[] {
  const names = (env.DIALECTS ?? "sqlite,postgres")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return names.map((name): DialectUnderTest => {
    if (name === "sqlite") return { name, available: true, create: createSqlite };
    if (name === "postgres") {
      const url = env.FABRICORE_TEST_POSTGRES_URL?.trim();
      if (url) return { name, available: true, create: () => createPostgres(url) };
      return {
        name,
        available: false,
        reason: "FABRICORE_TEST_POSTGRES_URL is unset (start one with `bash scripts/start-postgres.sh`)",
        // CI must never pass by silently skipping the dialect production clusters run on.
        mustFail: env.CI === "true",
      };
    }
    throw new Error(`DIALECTS names unknown dialect "${name}" (known: sqlite, postgres)`);
  });
}

/**
 * `describe` once per dialect; `body` receives a getter for that dialect's database (created before
 * the first test, emptied before each, dropped after the last).
 */
export function describeEachDialect(title: string, body: (get: () => TestDatabase) => void): void {
  for (const dialect of dialectsUnderTest()) {
    if (!dialect.available) {
      if (dialect.mustFail) {
        describe(`${title} [${dialect.name}]`, () => {
          it("has its database (CI=true: a missing service fails, it does not skip)", () => {
            throw new Error(dialect.reason);
          });
        });
      } else {
        console.warn(`skipping ${title} [${dialect.name}]: ${dialect.reason}`);
        describe.skip(`${title} [${dialect.name}] — skipped: ${dialect.reason}`, () => {
          it("needs its database", () => {});
        });
      }
      continue;
    }
    describe(`${title} [${dialect.name}]`, () => {
      let current: TestDatabase | undefined;
      beforeAll(async () => {
        current = await dialect.create();
      });
      afterAll(async () => {
        await current?.destroy();
      });
      beforeEach(async () => {
        await current?.reset();
      });
      body(() => {
        if (!current) throw new Error(`${dialect.name} test database was not created (see the beforeAll error)`);
        return current;
      });
    });
  }
}
