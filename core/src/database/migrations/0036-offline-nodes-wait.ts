import type { Kysely } from "kysely";
import type { MigrationContext } from "./context.ts";

/**
 * Issue 22.1, "fails (or waits, by a job setting)": a job may wait for its offline Nodes instead
 * of failing at once. `offline_nodes` is "wait" or NULL (fail, as before); the wait is capped by
 * `wait_for_nodes_seconds`. A waiting run stays `queued` (so cancel, crash recovery and the
 * cluster sweep treat it as any queued run) with `waiting` (JSON RunWaiting: which Nodes, since,
 * until) and `not_before`: no queue claims it before then, and a Node coming online clears it.
 * Numbered 0036 to stay clear of migrations written beside it; they apply in name order.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable("jobs").addColumn("offline_nodes", "text").execute();
  await db.schema.alterTable("jobs").addColumn("wait_for_nodes_seconds", "integer").execute();
  await db.schema.alterTable("runs").addColumn("waiting", "text").execute();
  await db.schema.alterTable("runs").addColumn("not_before", "text").execute();
}

export async function down(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable("runs").dropColumn("not_before").execute();
  await db.schema.alterTable("runs").dropColumn("waiting").execute();
  await db.schema.alterTable("jobs").dropColumn("wait_for_nodes_seconds").execute();
  await db.schema.alterTable("jobs").dropColumn("offline_nodes").execute();
}
