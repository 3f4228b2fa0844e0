import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { dialectOf, isPostgresUrl, openDatabase } from "./connection.ts";
import { migrateToLatest } from "./migrate.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("openDatabase", () => {
  it("defaults to SQLite at <dataDir>/fabricore.db with WAL, busy_timeout and foreign keys on", async () => {
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
      expect(await pragma("busy_timeout")).toBe(5000);
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

  it("selects PostgreSQL by URL scheme and refuses other schemes", () => {
    expect(isPostgresUrl("postgres://u:p@h/db")).toBe(true);
    expect(isPostgresUrl("postgresql://u:p@h/db")).toBe(true);
    expect(isPostgresUrl("mysql://u:p@h/db")).toBe(false);
    expect(() => openDatabase({ dataDir: tmpdir(), url: "mysql://u:p@h/db" })).toThrow(/postgres:\/\//);
  });
});
