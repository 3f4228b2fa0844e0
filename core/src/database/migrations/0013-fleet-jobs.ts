import type { Kysely } from "kysely";
import type { MigrationContext } from "./context.ts";

/**
 * Fleet jobs (issue 13): a job selects its Nodes by label (`selector`, resolved when a run starts)
 * and may fan out (`fan_out`, JSON FanOut: one child run per target Node). A child run points at
 * its parent and names the one Node it works on; the name is kept too, so the parent's table still
 * reads right after that Node is revoked. A child whose Node was offline gets status `skipped`
 * (status is plain text, so no schema change for that).
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable("jobs").addColumn("selector", "text").execute();
  await db.schema.alterTable("jobs").addColumn("fan_out", "text").execute();
  await db.schema.alterTable("runs").addColumn("parent_run_id", "text").execute();
  await db.schema.alterTable("runs").addColumn("node_id", "text").execute();
  await db.schema.alterTable("runs").addColumn("node_name", "text").execute();
  // GET /api/runs/:id of a parent lists its children; the default run list leaves children out.
  await db.schema.createIndex("runs_parent_run_id").on("runs").columns(["parent_run_id", "created_at"]).execute();
}

export async function down(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.dropIndex("runs_parent_run_id").execute();
  await db.schema.alterTable("runs").dropColumn("node_name").execute();
  await db.schema.alterTable("runs").dropColumn("node_id").execute();
  await db.schema.alterTable("runs").dropColumn("parent_run_id").execute();
  await db.schema.alterTable("jobs").dropColumn("fan_out").execute();
  await db.schema.alterTable("jobs").dropColumn("selector").execute();
}
