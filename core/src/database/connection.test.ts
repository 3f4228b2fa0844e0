import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { dialectOf, isPostgresUrl, openDatabase } from "./connection.ts";
import { isDatabaseBusy } from "./errors.ts";
import { migrateToLatest } from "./migrate.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("openDatabase", () => {
  it("defaults to SQLite at <dataDir>/fabricore.db with WAL, a short busy_timeout and foreign keys on", async () => {
    const root = mkdtempSync(join(tmpdir(), "fabricore-conn-"));
    dirs.push(root);
    const dataDir = join(root, "data");
    const opened = openDatabase({ dataDir });
    try {
      expect(opened.dialect).toBe("sqlite");
      expect(opened.path).toBe(join(dataDir, "fabricore.db"));
      expect(dialectOf(opened.db)).toBe("sqlite");
      const pragma = async (name: string) =>
        Object.values((await sql.raw<Record<string, unknown>>(`pragma ${name}`).execute(opened.db)).rows[0] ?? {})[0];
      expect(await pragma("journal_mode")).toBe("wal");
      expect(await pragma("foreign_keys")).toBe(1);
      // The long wait for a lock is asynchronous (below); SQLite's own would block the event loop.
      expect(await pragma("busy_timeout")).toBe(20);
      await migrateToLatest(opened.db);
    } finally {
      await opened.close();
    }
    // Reopening finds the migrated schema: nothing left to run.
    const again = openDatabase({ dataDir, url: "" });
    try {
      expect(await migrateToLatest(again.db)).toEqual([]);
    } finally {
      await again.close();
    }
  });

  it("SQLite: waits for another process's lock without blocking the event loop, then gives up with SQLITE_BUSY", async () => {
    const root = mkdtempSync(join(tmpdir(), "fabricore-conn-"));
    dirs.push(root);
    const opened = openDatabase({ dataDir: root, busyWaitMs: 600 });
    await sql`create table t (v integer)`.execute(opened.db);
    const other = new SqliteDatabase(opened.path!);
    try {
      const insert = (v: number) => sql`insert into t (v) values (${v})`.execute(opened.db);
      // Released in time: the statement waited and then went through; timers kept firing meanwhile.
      other.exec("BEGIN EXCLUSIVE");
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 10);
      setTimeout(() => other.exec("COMMIT"), 250);
      await insert(1);
      clearInterval(ticker);
      expect(ticks).toBeGreaterThan(10);
      // A transaction meets the lock at BEGIN (IMMEDIATE), where waiting is safe, and waits too.
      other.exec("BEGIN EXCLUSIVE");
      setTimeout(() => other.exec("COMMIT"), 250);
      await opened.db.transaction().execute((trx) => sql`insert into t (v) values (2)`.execute(trx));
      // Held past the wait: SQLITE_BUSY, after about busyWaitMs, and nothing written.
      other.exec("BEGIN EXCLUSIVE");
      const started = Date.now();
      const error = await insert(3).catch((e: unknown) => e);
      expect(isDatabaseBusy(error)).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
      expect(Date.now() - started).toBeLessThan(2_000);
      other.exec("COMMIT");
      const rows = (await sql<{ v: number }>`select v from t order by v`.execute(opened.db)).rows;
      expect(rows.map((r) => r.v)).toEqual([1, 2]);
    } finally {
      other.close();
      await opened.close();
    }
  });

  it("selects PostgreSQL by URL scheme and refuses other schemes", () => {
    expect(isPostgresUrl("postgres://u:p@h/db")).toBe(true);
    expect(isPostgresUrl("postgresql://u:p@h/db")).toBe(true);
    expect(isPostgresUrl("mysql://u:p@h/db")).toBe(false);
    expect(() => openDatabase({ dataDir: tmpdir(), url: "mysql://u:p@h/db" })).toThrow(/postgres:\/\//);
  });
});
