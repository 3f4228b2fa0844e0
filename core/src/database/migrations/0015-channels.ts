import type { Kysely } from "kysely";
import type { MigrationContext } from "./context.ts";

/**
 * Results that reach people (issue 14): notification channels, a job's `notify` rules, and the
 * outbound deliveries of a run (`run_deliveries`, not to be confused with `webhook_deliveries`,
 * which remembers inbound webhook ids). A delivery is a row before it is a request, so a Core that
 * stops with one pending sends it after its restart; `lease_until` lets one replica of a cluster
 * hold a delivery while it sends it, so each is sent once.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable("channels")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("kind", "text", (c) => c.notNull())
    /** JSON: the parts of the config that are not secret (shown by GET /api/channels). */
    .addColumn("config", "text", (c) => c.notNull().defaultTo("{}"))
    /** AES-256-GCM envelope of the JSON of the secret parts (URLs that are credentials, tokens). */
    .addColumn("secret_ciphertext", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("run_deliveries")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("run_id", "text", (c) => c.notNull().references("runs.id").onDelete("cascade"))
    .addColumn("channel_id", "text", (c) => c.notNull().references("channels.id").onDelete("cascade"))
    /** run.succeeded | run.failed | run.waiting_approval */
    .addColumn("event", "text", (c) => c.notNull())
    /** The event plus what makes it unique in its run (an approval id): one delivery per key. */
    .addColumn("dedupe_key", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("last_error", "text")
    /** JSON body as built when the event happened; every attempt sends the same one. */
    .addColumn("payload", "text", (c) => c.notNull())
    .addColumn("next_attempt_at", "text", (c) => c.notNull())
    .addColumn("lease_owner", "text")
    .addColumn("lease_until", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("delivered_at", "text")
    .addUniqueConstraint("run_deliveries_once", ["run_id", "channel_id", "dedupe_key"])
    .execute();
  await db.schema
    .createIndex("run_deliveries_due")
    .on("run_deliveries")
    .columns(["status", "next_attempt_at"])
    .execute();
  await db.schema.createIndex("run_deliveries_run").on("run_deliveries").column("run_id").execute();

  await db.schema
    .alterTable("jobs")
    .addColumn("notify", "text", (c) => c.notNull().defaultTo("[]"))
    .execute();
}

export async function down(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable("jobs").dropColumn("notify").execute();
  await db.schema.dropTable("run_deliveries").ifExists().execute();
  await db.schema.dropTable("channels").ifExists().execute();
}
