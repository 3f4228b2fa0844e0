import type { Kysely } from "kysely";
import type { MigrationContext } from "./context.ts";

/**
 * The initial schema (see ../schema.ts). Only types both dialects share: text, integer. The one
 * difference is the auto-increment key of run_steps.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable("users")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("username", "text", (c) => c.notNull().unique())
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("failed_logins", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("locked_until", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("api_tokens")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text")
    .addColumn("last_used_at", "text")
    .execute();
  await db.schema.createIndex("api_tokens_user_id").on("api_tokens").column("user_id").execute();

  await db.schema
    .createTable("nodes")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("labels", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_seen_at", "text")
    .addColumn("version", "text")
    .addColumn("hostname", "text")
    .addColumn("os", "text")
    .addColumn("arch", "text")
    .addColumn("tools", "text", (c) => c.notNull().defaultTo("[]"))
    .execute();

  await db.schema
    .createTable("secrets")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("ciphertext", "text", (c) => c.notNull())
    .addColumn("key_version", "integer", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("providers")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("base_url", "text")
    .addColumn("api_key_ciphertext", "text")
    .addColumn("options", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("jobs")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("prompt", "text", (c) => c.notNull())
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("fallbacks", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("nodes", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("tools", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("schedule", "text")
    // NULLs never collide in a unique index on either dialect, so jobs without a webhook are fine.
    .addColumn("webhook_slug", "text", (c) => c.unique())
    .addColumn("webhook_secret_ciphertext", "text")
    .addColumn("max_steps", "integer", (c) => c.notNull())
    .addColumn("enabled", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("runs")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("job_id", "text", (c) => c.notNull().references("jobs.id").onDelete("cascade"))
    .addColumn("trigger", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("input", "text")
    .addColumn("output", "text")
    .addColumn("error", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("started_at", "text")
    .addColumn("finished_at", "text")
    .addColumn("owner", "text")
    .addColumn("usage", "text", (c) => c.notNull().defaultTo('{"promptTokens":0,"completionTokens":0}'))
    .addColumn("cancel_requested_at", "text")
    .execute();
  // The queue (claimNext: oldest queued), crash recovery and the metrics count all filter by status.
  await db.schema.createIndex("runs_status_created_at").on("runs").columns(["status", "created_at"]).execute();
  // A job's run history, newest first; also serves the cascade on job delete.
  await db.schema.createIndex("runs_job_id_created_at").on("runs").columns(["job_id", "created_at"]).execute();
  await db.schema.createIndex("runs_created_at").on("runs").column("created_at").execute();

  await db.schema
    .createTable("run_steps")
    .addColumn("id", ctx.dialect === "postgres" ? "serial" : "integer", (c) =>
      ctx.dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn("run_id", "text", (c) => c.notNull().references("runs.id").onDelete("cascade"))
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  // Unique: two concurrent appends that computed the same next seq cannot both land (one retries).
  await db.schema.createIndex("run_steps_run_id_seq").on("run_steps").columns(["run_id", "seq"]).unique().execute();

  await db.schema
    .createTable("mcp_servers")
    .addColumn("node_id", "text", (c) => c.notNull().references("nodes.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("spec", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("mcp_servers_pk", ["node_id", "name"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    "mcp_servers",
    "run_steps",
    "runs",
    "jobs",
    "providers",
    "secrets",
    "nodes",
    "api_tokens",
    "users",
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
