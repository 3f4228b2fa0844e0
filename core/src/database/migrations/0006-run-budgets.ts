import type { Kysely } from "kysely";
import type { MigrationContext } from "./context.ts";

/**
 * Per-run budgets (issue 6, OWASP LLM10 "unbounded consumption"): the model is not trusted to
 * stop, so besides `max_steps` a job caps the tokens a run may spend (prompt + completion, across
 * every model call) and its wall-clock time. Existing jobs get the defaults, so no run is
 * unbounded after the upgrade. The literals match DEFAULT_MAX_TOKENS / DEFAULT_MAX_SECONDS in
 * types.ts, written out because a shipped migration must not change when those do.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .alterTable("jobs")
    .addColumn("max_tokens", "integer", (c) => c.notNull().defaultTo(1_000_000))
    .execute();
  await db.schema
    .alterTable("jobs")
    .addColumn("max_seconds", "integer", (c) => c.notNull().defaultTo(3600))
    .execute();
}

export async function down(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable("jobs").dropColumn("max_seconds").execute();
  await db.schema.alterTable("jobs").dropColumn("max_tokens").execute();
}
