import type { Kysely } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { isUniqueViolation } from "../errors.ts";
import type { Database } from "../schema.ts";

/** Delivery ids a webhook has seen (X-GitHub-Delivery, webhook-id), so a replay is refused. */
export class WebhookDeliveriesRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  /** True when this is the first time; false when the id was already remembered (a replay). The
   * primary key arbitrates, so two concurrent copies of one delivery cannot both pass. */
  async remember(jobId: string, deliveryId: string): Promise<boolean> {
    try {
      await this.db
        .insertInto("webhook_deliveries")
        .values({ job_id: jobId, delivery_id: deliveryId, received_at: isoNow(this.clock) })
        .execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** Housekeeping: forgets deliveries received before `before`; returns how many. */
  async forgetBefore(before: string): Promise<number> {
    const r = await this.db.deleteFrom("webhook_deliveries").where("received_at", "<", before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
