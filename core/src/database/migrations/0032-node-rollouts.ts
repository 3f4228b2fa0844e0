import type { Kysely } from "kysely";
import type { MigrationContext } from "./context.ts";

/**
 * Issue 18, staged Node rollout (services/node-rollout.ts): a rollout updates its Nodes a batch at
 * a time and records each Node's state with the reason; `node_update_results` keeps the last
 * update outcome each Node reported (shown on the Nodes page). Numbered 0032 to stay clear of
 * migrations written beside it; they apply in name order.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable("node_rollouts")
    .addColumn("id", "text", (c) => c.primaryKey())
    /** The Node version the rollout moves its Nodes to (what the Core serves when it started). */
    .addColumn("version", "text", (c) => c.notNull())
    /** JSON {nodeIds} or {selector}: what was asked for, as asked. */
    .addColumn("target", "text", (c) => c.notNull())
    .addColumn("batch_size", "integer", (c) => c.notNull())
    /** Failed Nodes (refused, rolled back, timed out) a batch may have before the rollout pauses. */
    .addColumn("max_failures", "integer", (c) => c.notNull())
    /** How long a Node of a batch has to come back on the new version. */
    .addColumn("deadline_ms", "integer", (c) => c.notNull())
    /** running | paused | completed | cancelled */
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("reason", "text")
    /** 1 while running or paused, NULL after: unique, so there is at most one active rollout even
     * when two replicas start one at once (NULLs never collide, on SQLite and PostgreSQL alike). */
    .addColumn("active", "integer", (c) => c.unique())
    .addColumn("current_batch", "integer", (c) => c.notNull())
    .addColumn("batch_count", "integer", (c) => c.notNull())
    .addColumn("batch_started_at", "text")
    .addColumn("created_by", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addColumn("finished_at", "text")
    .execute();
  await db.schema
    .createTable("node_rollout_nodes")
    .addColumn("rollout_id", "text", (c) => c.notNull().references("node_rollouts.id").onDelete("cascade"))
    /** No foreign key: a revoked Node stays in the record of a rollout it was part of. */
    .addColumn("node_id", "text", (c) => c.notNull())
    .addColumn("node_name", "text", (c) => c.notNull())
    .addColumn("batch", "integer", (c) => c.notNull())
    .addColumn("position", "integer", (c) => c.notNull())
    /** pending | updating | updated | refused | rolled_back | failed | timeout | offline_skipped | cancelled */
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("code", "text")
    .addColumn("reason", "text")
    .addColumn("from_version", "text")
    .addColumn("started_at", "text")
    .addColumn("finished_at", "text")
    .addPrimaryKeyConstraint("node_rollout_nodes_pk", ["rollout_id", "node_id"])
    .execute();
  await db.schema
    .createTable("node_update_results")
    .addColumn("node_id", "text", (c) => c.primaryKey().references("nodes.id").onDelete("cascade"))
    /** updated | refused | rolled_back | failed */
    .addColumn("outcome", "text", (c) => c.notNull())
    .addColumn("from_version", "text", (c) => c.notNull())
    .addColumn("to_version", "text", (c) => c.notNull())
    .addColumn("code", "text")
    .addColumn("reason", "text")
    /** When it happened on the Node, and when the Core heard of it. */
    .addColumn("at", "text", (c) => c.notNull())
    .addColumn("received_at", "text", (c) => c.notNull())
    .execute();
}
