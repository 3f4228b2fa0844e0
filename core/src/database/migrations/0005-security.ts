import { type Kysely, sql } from "kysely";
import type { MigrationContext } from "./context.ts";

/**
 * Security (issue 6): the append-only audit log, remembered webhook deliveries (replay → 409),
 * the master-key ring (which key version a key is, found by fingerprint), per-job approval
 * policies and a run's pending approval.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable("audit_log")
    .addColumn("id", ctx.dialect === "postgres" ? "serial" : "integer", (c) =>
      ctx.dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn("at", "text", (c) => c.notNull())
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("target", "text")
    .addColumn("ip", "text")
    .addColumn("outcome", "text", (c) => c.notNull())
    .addColumn("detail", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("result_hash", "text")
    .execute();
  await db.schema.createIndex("audit_log_at").on("audit_log").column("at").execute();
  await db.schema.createIndex("audit_log_action_at").on("audit_log").columns(["action", "at"]).execute();
  await db.schema.createIndex("audit_log_actor_at").on("audit_log").columns(["actor", "at"]).execute();

  // Append-only in the database itself, not only in the repository: an UPDATE or DELETE fails.
  if (ctx.dialect === "postgres") {
    await sql`CREATE FUNCTION fabricore_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$`.execute(db);
    await sql`CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION fabricore_audit_append_only()`.execute(db);
  } else {
    await sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
    await sql`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
  }

  await db.schema
    .createTable("webhook_deliveries")
    .addColumn("job_id", "text", (c) => c.notNull().references("jobs.id").onDelete("cascade"))
    .addColumn("delivery_id", "text", (c) => c.notNull())
    .addColumn("received_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("webhook_deliveries_pk", ["job_id", "delivery_id"])
    .execute();
  await db.schema
    .createIndex("webhook_deliveries_received_at")
    .on("webhook_deliveries")
    .column("received_at")
    .execute();

  await db.schema
    .createTable("master_keys")
    .addColumn("version", "integer", (c) => c.primaryKey())
    /** HMAC-SHA256(key, constant): identifies a key without revealing it. */
    .addColumn("fingerprint", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("retired_at", "text")
    .execute();

  await db.schema.alterTable("jobs").addColumn("approval", "text").execute();
  await db.schema.alterTable("runs").addColumn("pending_approval", "text").execute();
  await db.schema.alterTable("runs").addColumn("approval_decision", "text").execute();
}

export async function down(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable("runs").dropColumn("approval_decision").execute();
  await db.schema.alterTable("runs").dropColumn("pending_approval").execute();
  await db.schema.alterTable("jobs").dropColumn("approval").execute();
  await db.schema.dropTable("master_keys").ifExists().execute();
  await db.schema.dropTable("webhook_deliveries").ifExists().execute();
  await db.schema.dropTable("audit_log").ifExists().execute();
  if (ctx.dialect === "postgres") await sql`DROP FUNCTION IF EXISTS fabricore_audit_append_only`.execute(db);
}
