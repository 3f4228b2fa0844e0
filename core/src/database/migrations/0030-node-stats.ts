import type { Kysely } from "kysely";
import type { MigrationContext } from "./context.ts";

/**
 * Issue 22.5: a Node's CPU, memory, disk and load over the last 24 h (the Node page's sparklines).
 * One row per Node per 5-minute bucket, the bucket's mean of the heartbeats' stats; rows older
 * than a day are pruned. 200 Nodes keep ~58k rows. Numbered 0030 to stay clear of migrations
 * being written beside it; they apply in name order.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable("node_stats")
    .addColumn("node_id", "text", (c) => c.notNull().references("nodes.id").onDelete("cascade"))
    /** ISO start of the 5-minute bucket (UTC). */
    .addColumn("bucket", "text", (c) => c.notNull())
    .addColumn("cpu_percent", "real")
    .addColumn("memory_percent", "real")
    /** The fullest disk's use. */
    .addColumn("disk_percent", "real")
    .addColumn("load1", "real")
    .addColumn("samples", "integer", (c) => c.notNull().defaultTo(1))
    .addPrimaryKeyConstraint("node_stats_pk", ["node_id", "bucket"])
    .execute();
  await db.schema.createIndex("node_stats_bucket").on("node_stats").column("bucket").execute();
}
