import type { Kysely } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { isUniqueViolation } from "../errors.ts";
import type { Database } from "../schema.ts";

/** First time: `{first: true}`; seen before: the run the first copy started (null for rows kept
 * from before runs were recorded, or when that copy's run could not be created). */
export type Claim = { first: true } | { first: false; runId: string | null };

/** How long accepted deliveries and signatures are remembered, and how many per job at most. */
export const DELIVERY_MEMORY_MS = 24 * 3600 * 1000;
export const DELIVERY_MEMORY_PER_JOB = 10_000;

/**
 * What a webhook has accepted, so a redelivery or a replay starts nothing:
 * - delivery ids (X-GitHub-Delivery, webhook-id) with the run each started;
 * - SHA-256 of accepted GitHub-style signatures (X-Hub-Signature-256 carries no timestamp, so a
 *   captured body and signature re-sent under a new delivery id is otherwise indistinguishable).
 * The primary keys arbitrate, so two concurrent copies of one delivery cannot both pass.
 */
export class WebhookDeliveriesRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  /** Remembers `deliveryId` as starting `runId`, unless it was already remembered. */
  async claimDelivery(jobId: string, deliveryId: string, runId: string): Promise<Claim> {
    try {
      await this.db
        .insertInto("webhook_deliveries")
        .values({ job_id: jobId, delivery_id: deliveryId, received_at: isoNow(this.clock), run_id: runId })
        .execute();
      return { first: true };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const row = await this.db
        .selectFrom("webhook_deliveries")
        .select("run_id")
        .where("job_id", "=", jobId)
        .where("delivery_id", "=", deliveryId)
        .executeTakeFirst();
      return { first: false, runId: row?.run_id ?? null };
    }
  }

  /** Remembers a signature's hash as starting `runId`, unless it was already remembered. */
  async claimSignature(jobId: string, signatureHash: string, runId: string): Promise<Claim> {
    try {
      await this.db
        .insertInto("webhook_signatures")
        .values({ job_id: jobId, signature_hash: signatureHash, received_at: isoNow(this.clock), run_id: runId })
        .execute();
      return { first: true };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const row = await this.db
        .selectFrom("webhook_signatures")
        .select("run_id")
        .where("job_id", "=", jobId)
        .where("signature_hash", "=", signatureHash)
        .executeTakeFirst();
      return { first: false, runId: row?.run_id ?? null };
    }
  }

  /** A delivery id re-sent with a known signature points at the run that signature started. */
  async pointDelivery(jobId: string, deliveryId: string, runId: string | null): Promise<void> {
    await this.db
      .updateTable("webhook_deliveries")
      .set({ run_id: runId })
      .where("job_id", "=", jobId)
      .where("delivery_id", "=", deliveryId)
      .execute();
  }

  /** Undoes claims whose run could not be created, so the sender's retry can run. */
  async release(jobId: string, claims: { deliveryId?: string | undefined; signatureHash?: string | undefined }) {
    if (claims.deliveryId !== undefined) {
      await this.db
        .deleteFrom("webhook_deliveries")
        .where("job_id", "=", jobId)
        .where("delivery_id", "=", claims.deliveryId)
        .execute();
    }
    if (claims.signatureHash !== undefined) {
      await this.db
        .deleteFrom("webhook_signatures")
        .where("job_id", "=", jobId)
        .where("signature_hash", "=", claims.signatureHash)
        .execute();
    }
  }

  /** Housekeeping: forgets what was received before `before`; returns how many rows went. */
  async forgetBefore(before: string): Promise<number> {
    const a = await this.db.deleteFrom("webhook_deliveries").where("received_at", "<", before).executeTakeFirst();
    const b = await this.db.deleteFrom("webhook_signatures").where("received_at", "<", before).executeTakeFirst();
    return Number(a.numDeletedRows) + Number(b.numDeletedRows);
  }

  /** Housekeeping: keeps at most `keep` signatures per job (the newest), whatever their age, so a
   * flood inside the window cannot grow the table without bound. Returns how many went. */
  async trimSignatures(keep: number = DELIVERY_MEMORY_PER_JOB): Promise<number> {
    const crowded = await this.db
      .selectFrom("webhook_signatures")
      .select(["job_id", (eb) => eb.fn.countAll<number>().as("n")])
      .groupBy("job_id")
      .having((eb) => eb.fn.countAll(), ">", keep)
      .execute();
    let removed = 0;
    for (const { job_id: jobId } of crowded) {
      const cutoff = await this.db
        .selectFrom("webhook_signatures")
        .select("received_at")
        .where("job_id", "=", jobId)
        .orderBy("received_at", "desc")
        .offset(keep - 1)
        .limit(1)
        .executeTakeFirst();
      if (!cutoff) continue;
      const r = await this.db
        .deleteFrom("webhook_signatures")
        .where("job_id", "=", jobId)
        .where("received_at", "<", cutoff.received_at)
        .executeTakeFirst();
      removed += Number(r.numDeletedRows);
    }
    return removed;
  }
}
