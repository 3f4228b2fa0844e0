import type { Kysely } from "kysely";
import type { MigrationContext } from "./context.ts";

/**
 * Login attempts per client address and fixed window (issue 15.5), in the database so that the
 * count is taken atomically (one upsert per attempt, before the password is checked) and shared
 * by every replica of a cluster. `refused` counts the attempts answered 429 in the window, so the
 * audit log gets one summary row per address and window instead of a row per refusal (21.8).
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable("login_attempts")
    .addColumn("bucket", "text", (c) => c.primaryKey())
    .addColumn("window_start", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("refused", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex("login_attempts_window_start").on("login_attempts").column("window_start").execute();
}

export async function down(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.dropTable("login_attempts").ifExists().execute();
}
