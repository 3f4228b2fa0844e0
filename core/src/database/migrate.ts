import type { Kysely } from "kysely";
import { type MigrationResult, Migrator } from "kysely/migration";
import { dialectOf } from "./connection.ts";
import { DatabaseError } from "./errors.ts";
import { migrationsFor } from "./migrations/index.ts";
import type { Database } from "./schema.ts";

/**
 * Brings the schema to the newest migration. Kysely's Migrator takes a lock (an advisory lock on
 * PostgreSQL), so several Core replicas starting together migrate once. Throws on failure: the
 * Core must not serve on a half-migrated schema.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<MigrationResult[]> {
  const ctx = { dialect: dialectOf(db) };
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrationsFor(ctx) } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    const reason = error instanceof Error ? error.message : String(error);
    throw new DatabaseError("migration_failed", `database migration ${failed} failed: ${reason}`, { cause: error });
  }
  return results ?? [];
}
