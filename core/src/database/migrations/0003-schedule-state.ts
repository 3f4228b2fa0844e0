import type { Kysely } from "kysely";
import type { MigrationContext } from "./context.ts";

/** Schedule state per job (issue 8): the last fire and the last missed fire with its reason, so a
 * schedule never silently stops firing and a restart knows what it missed. */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable("schedule_state")
    .addColumn("job_id", "text", (c) => c.primaryKey().references("jobs.id").onDelete("cascade"))
    .addColumn("last_fire_at", "text")
    .addColumn("last_misfire_at", "text")
    .addColumn("last_misfire_reason", "text")
    .addColumn("missed_count", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("schedule_state").execute();
}
