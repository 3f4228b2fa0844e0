import { mkdirSync } from "node:fs";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  type QueryResult,
  SqliteDialect,
  type SqliteDialectConfig,
  type TransactionSettings,
} from "kysely";
import pg from "pg";
import { createPrivateFile, DATA_DIR_MODE } from "../data-dir.ts";
import { isDatabaseBusy } from "./errors.ts";
import type { Database } from "./schema.ts";

export type DialectName = "sqlite" | "postgres";

export interface OpenDatabaseOptions {
  /** FABRICORE_DATABASE_URL: `postgres://` or `postgresql://` selects PostgreSQL; unset means SQLite. */
  url?: string | undefined;
  dataDir: string;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /** SQLite: how long a statement waits for a lock held by another process (default SQLITE_BUSY_WAIT_MS). */
  busyWaitMs?: number;
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

  mkdirSync(options.dataDir, { recursive: true, mode: DATA_DIR_MODE });
  const path = join(options.dataDir, SQLITE_FILE);
  // Created 0600 before SQLite opens it, whatever the umask (issue 21.4): the -wal and -shm files
  // SQLite makes beside it take the database file's mode.
  createPrivateFile(path);
  const sqlite = new SqliteDatabase(path);
  // WAL: readers do not block the writer (API reads while runs append steps). A short busy_timeout
  // only: better-sqlite3 is synchronous, so SQLite's own wait for a lock held by another process (a
  // CLI, a backup) would freeze the whole Core, health checks and Node heartbeats included. The real
  // wait (SQLITE_BUSY_WAIT_MS) happens between retries in PatientSqliteDialect, off the event loop.
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("busy_timeout = 20");
  sqlite.pragma("foreign_keys = ON");
  // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commits.
  sqlite.pragma("synchronous = NORMAL");
  const db = new Kysely<Database>({
    dialect: new PatientSqliteDialect(sqlite, options.busyWaitMs ?? SQLITE_BUSY_WAIT_MS, {
      database: cachingStatements(sqlite),
    }),
  });
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

/** How long a statement waits for a lock another process holds before it fails with SQLITE_BUSY
 * (which the API answers with 503 database_busy). */
export const SQLITE_BUSY_WAIT_MS = 5_000;

/**
 * SQLite with the lock wait moved off the event loop: a statement that meets SQLITE_BUSY outside a
 * transaction was rolled back whole, so it is retried after an asynchronous pause until
 * SQLITE_BUSY_WAIT_MS has passed. Transactions begin IMMEDIATE, so they meet the lock at BEGIN (where
 * retrying is safe) rather than halfway through, where SQLite says the only way out is a rollback.
 */
class PatientSqliteDialect extends SqliteDialect {
  private readonly sqlite: SqliteDatabase.Database;
  private readonly busyWaitMs: number;
  constructor(sqlite: SqliteDatabase.Database, busyWaitMs: number, config: SqliteDialectConfig) {
    super(config);
    this.sqlite = sqlite;
    this.busyWaitMs = busyWaitMs;
  }
  override createDriver(): Driver {
    return new PatientSqliteDriver(super.createDriver(), this.sqlite, this.busyWaitMs);
  }
}

class PatientSqliteDriver implements Driver {
  private readonly inner: Driver;
  private readonly sqlite: SqliteDatabase.Database;
  private readonly busyWaitMs: number;
  private readonly connections = new WeakMap<DatabaseConnection, DatabaseConnection>();
  constructor(inner: Driver, sqlite: SqliteDatabase.Database, busyWaitMs: number) {
    this.inner = inner;
    this.sqlite = sqlite;
    this.busyWaitMs = busyWaitMs;
  }
  init(): Promise<void> {
    return this.inner.init();
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.inner.acquireConnection();
    let patient = this.connections.get(connection);
    if (!patient) {
      patient = {
        executeQuery: <R>(query: CompiledQuery) => this.patiently(() => connection.executeQuery<R>(query)),
        streamQuery: <R>(query: CompiledQuery, chunkSize: number) => connection.streamQuery<R>(query, chunkSize),
      };
      this.connections.set(connection, patient);
    }
    return patient;
  }
  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }
  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }
  savepoint: Driver["savepoint"] = (...args) => this.inner.savepoint!(...args);
  rollbackToSavepoint: Driver["rollbackToSavepoint"] = (...args) => this.inner.rollbackToSavepoint!(...args);
  releaseSavepoint: Driver["releaseSavepoint"] = (...args) => this.inner.releaseSavepoint!(...args);
  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(connection);
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }

  private async patiently<R>(run: () => Promise<QueryResult<R>>): Promise<QueryResult<R>> {
    const giveUpAt = Date.now() + this.busyWaitMs;
    for (let pauseMs = 10; ; pauseMs = Math.min(pauseMs * 2, 200)) {
      try {
        return await run();
      } catch (error) {
        if (!isDatabaseBusy(error) || this.sqlite.inTransaction || Date.now() + pauseMs > giveUpAt) throw error;
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }
  }
}
