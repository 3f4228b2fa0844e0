import { mkdirSync } from "node:fs";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { Kysely, PostgresAdapter, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import type { Database } from "./schema.ts";

export type DialectName = "sqlite" | "postgres";

export interface OpenDatabaseOptions {
  /** FABRICORE_DATABASE_URL: `postgres://` or `postgresql://` selects PostgreSQL; unset means SQLite. */
  url?: string | undefined;
  dataDir: string;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /** PostgreSQL: an idle pooled connection failed (e.g. server restart); for the logger. */
  onPoolError?: (err: Error) => void;
}

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: DialectName;
  /** For SQLite, the database file. */
  path?: string;
  close(): Promise<void>;
}

export const SQLITE_FILE = "fabricore.db";

export function isPostgresUrl(url: string | undefined): boolean {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

/** Which dialect a Kysely instance speaks; the few queries that differ (row locks) branch on it. */
export function dialectOf(db: Kysely<Database>): DialectName {
  return db.getExecutor().adapter instanceof PostgresAdapter ? "postgres" : "sqlite";
}

export function openDatabase(options: OpenDatabaseOptions): OpenedDatabase {
  const url = options.url?.trim() || undefined;
  if (url !== undefined && !isPostgresUrl(url)) {
    throw new Error(
      `FABRICORE_DATABASE_URL must start with postgres:// or postgresql:// (got ${url.split(":")[0]}:…); leave it unset for SQLite`,
    );
  }
  if (url !== undefined && isPostgresUrl(url)) {
    const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
    // An idle client losing its connection (server restart) emits 'error' on the pool; without a
    // listener that would crash the process. The next query gets a fresh client.
    pool.on("error", (err) => options.onPoolError?.(err));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: "postgres", close: () => db.destroy() };
  }

  mkdirSync(options.dataDir, { recursive: true });
  const path = join(options.dataDir, SQLITE_FILE);
  const sqlite = new SqliteDatabase(path);
  // WAL: readers do not block the writer (API reads while runs append steps). busy_timeout: a second
  // process (a CLI, a test) waits for the write lock instead of failing at once with SQLITE_BUSY.
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commits.
  sqlite.pragma("synchronous = NORMAL");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(sqlite) }) });
  return { db, dialect: "sqlite", path, close: () => db.destroy() };
}

/**
 * Kysely's SQLite driver prepares every query afresh, and preparing costs about as much as running the
 * small queries the Core issues (a CPU profile of bench/throughput.ts: `prepare` was 9% of the Core's
 * time). Statements are reused by SQL text, the least recently used dropped past `max`. Safe because
 * the driver runs one query at a time on its single connection (a streamed query holds it until done),
 * so a cached statement is never in use twice at once.
 */
function cachingStatements(sqlite: SqliteDatabase.Database, max = 500) {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string): SqliteDatabase.Statement {
      let statement = cache.get(sql);
      if (statement) cache.delete(sql);
      else statement = sqlite.prepare(sql);
      cache.set(sql, statement);
      if (cache.size > max) cache.delete(cache.keys().next().value!);
      return statement;
    },
  };
}
