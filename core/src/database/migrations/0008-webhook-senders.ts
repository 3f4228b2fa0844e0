import type { Kysely } from "kysely";
import type { MigrationContext } from "./context.ts";

/**
 * Webhooks as senders make them, structured output, chaining (issues 14 and 21):
 * - `runs.webhook`: JSON {event, deliveryId} of the delivery that started a webhook run;
 *   `runs.result`: JSON of a structured answer that matched the job's output schema;
 *   `runs.chain_depth`: 0 for a run started by a person, cron or webhook, +1 per `then` hop.
 * - `jobs.webhook_public`: 1 when a webhook without a secret was explicitly made public;
 *   `jobs.output_schema`: JSON Schema of the job's structured output; `jobs.then_jobs`: JSON
 *   [{job, on}] of the jobs to start after a run.
 * - `webhook_deliveries.run_id`: a redelivery is answered with the first run's id.
 * - `webhook_signatures`: SHA-256 of accepted GitHub-style signatures (which carry no timestamp)
 *   for 24 h, so a captured body re-sent under a new delivery id is recognised as a redelivery.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable("runs").addColumn("webhook", "text").execute();
  await db.schema.alterTable("runs").addColumn("result", "text").execute();
  await db.schema
    .alterTable("runs")
    .addColumn("chain_depth", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable("jobs")
    .addColumn("webhook_public", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable("jobs").addColumn("output_schema", "text").execute();
  await db.schema.alterTable("jobs").addColumn("then_jobs", "text").execute();
  await db.schema.alterTable("webhook_deliveries").addColumn("run_id", "text").execute();
  await db.schema
    .createTable("webhook_signatures")
    .addColumn("job_id", "text", (c) => c.notNull().references("jobs.id").onDelete("cascade"))
    .addColumn("signature_hash", "text", (c) => c.notNull())
    .addColumn("run_id", "text")
    .addColumn("received_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("webhook_signatures_pk", ["job_id", "signature_hash"])
    .execute();
  await db.schema
    .createIndex("webhook_signatures_received_at")
    .on("webhook_signatures")
    .column("received_at")
    .execute();
}

export async function down(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.dropTable("webhook_signatures").ifExists().execute();
  await db.schema.alterTable("webhook_deliveries").dropColumn("run_id").execute();
  await db.schema.alterTable("jobs").dropColumn("then_jobs").execute();
  await db.schema.alterTable("jobs").dropColumn("output_schema").execute();
  await db.schema.alterTable("jobs").dropColumn("webhook_public").execute();
  await db.schema.alterTable("runs").dropColumn("chain_depth").execute();
  await db.schema.alterTable("runs").dropColumn("result").execute();
  await db.schema.alterTable("runs").dropColumn("webhook").execute();
}
