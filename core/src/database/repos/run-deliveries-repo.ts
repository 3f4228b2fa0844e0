import type { Kysely, Selectable } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { dialectOf } from "../connection.ts";
import { isUniqueViolation } from "../errors.ts";
import { newId } from "../ids.ts";
import { parseJsonOr, toJson } from "../json.ts";
import type { Database, RunDeliveriesTable } from "../schema.ts";
import type { Delivery, NewDelivery } from "../types.ts";

function toDelivery(row: Selectable<RunDeliveriesTable>): Delivery {
  return {
    id: row.id,
    runId: row.run_id,
    channelId: row.channel_id,
    event: row.event,
    dedupeKey: row.dedupe_key,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    payload: parseJsonOr<Record<string, unknown>>(row.payload, "run_deliveries.payload", {}),
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
  };
}

/** What one attempt came to: delivered, try again at `nextAttemptAt`, or given up. */
export type DeliveryOutcome =
  | { status: "delivered" }
  | { status: "pending"; error: string; nextAttemptAt: string }
  | { status: "failed"; error: string };

/**
 * Outbound deliveries of runs, as a durable queue: a row is written before anything is sent, a
 * sender takes one with a lease (one conditional UPDATE, `FOR UPDATE SKIP LOCKED` on PostgreSQL,
 * as RunsRepo.claimNext does), and only the lease holder may record the attempt. A sender that
 * dies mid-attempt leaves a lease that expires, and the delivery is taken again.
 */
export class RunDeliveriesRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  /** A pending delivery, due now; undefined when this (run, channel, dedupe key) was enqueued
   * already (the unique constraint arbitrates between replicas that both saw the event). */
  async enqueue(input: NewDelivery): Promise<Delivery | undefined> {
    const now = isoNow(this.clock);
    try {
      const row = await this.db
        .insertInto("run_deliveries")
        .values({
          id: newId(),
          run_id: input.runId,
          channel_id: input.channelId,
          event: input.event,
          dedupe_key: input.dedupeKey,
          status: "pending",
          attempts: 0,
          last_error: null,
          payload: toJson(input.payload),
          next_attempt_at: now,
          lease_owner: null,
          lease_until: null,
          created_at: now,
          delivered_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toDelivery(row);
    } catch (error) {
      if (isUniqueViolation(error)) return undefined;
      throw error;
    }
  }

  /** Takes the most overdue pending delivery whose lease is free or expired, for `leaseMs`. */
  async claimDue(owner: string, leaseMs: number): Promise<Delivery | undefined> {
    const now = this.clock();
    const nowIso = now.toISOString();
    const due = this.db
      .selectFrom("run_deliveries")
      .select("id")
      .where("status", "=", "pending")
      .where("next_attempt_at", "<=", nowIso)
      .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", nowIso)]))
      .orderBy("next_attempt_at")
      .orderBy("id")
      .limit(1);
    const pick = dialectOf(this.db) === "postgres" ? due.forUpdate().skipLocked() : due;
    const row = await this.db
      .updateTable("run_deliveries")
      .set({ lease_owner: owner, lease_until: new Date(now.getTime() + leaseMs).toISOString() })
      .where("id", "=", pick)
      .where("status", "=", "pending")
      .returningAll()
      .executeTakeFirst();
    return row && toDelivery(row);
  }

  /** Records one attempt; false when `owner` no longer holds the lease (it expired and another
   * sender took the delivery), in which case nothing is written. */
  async recordAttempt(id: string, owner: string, outcome: DeliveryOutcome): Promise<boolean> {
    const now = isoNow(this.clock);
    const r = await this.db
      .updateTable("run_deliveries")
      .set((eb) => ({
        attempts: eb("attempts", "+", 1),
        status: outcome.status,
        last_error: outcome.status === "delivered" ? null : outcome.error,
        next_attempt_at: outcome.status === "pending" ? outcome.nextAttemptAt : now,
        delivered_at: outcome.status === "delivered" ? now : null,
        lease_owner: null,
        lease_until: null,
      }))
      .where("id", "=", id)
      .where("lease_owner", "=", owner)
      .where("status", "=", "pending")
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /** At the start of a single Core (no other process can be sending): leases of a previous
   * process are released so its pending deliveries go out now, not when the lease expires. */
  async releaseLeases(): Promise<number> {
    const r = await this.db
      .updateTable("run_deliveries")
      .set({ lease_owner: null, lease_until: null })
      .where("status", "=", "pending")
      .where("lease_owner", "is not", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** A run's deliveries, oldest first, with the channel's name. */
  async listForRun(runId: string): Promise<Array<Delivery & { channel: string; kind: string }>> {
    const rows = await this.db
      .selectFrom("run_deliveries")
      .innerJoin("channels", "channels.id", "run_deliveries.channel_id")
      .selectAll("run_deliveries")
      .select(["channels.name as channel_name", "channels.kind as channel_kind"])
      .where("run_deliveries.run_id", "=", runId)
      .orderBy("run_deliveries.created_at")
      .orderBy("run_deliveries.id")
      .execute();
    return rows.map((row) => ({ ...toDelivery(row), channel: row.channel_name, kind: row.channel_kind }));
  }

  async get(id: string): Promise<Delivery | undefined> {
    const row = await this.db.selectFrom("run_deliveries").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toDelivery(row);
  }

  /** How many are waiting to be sent (the /metrics gauge). */
  async countPending(): Promise<number> {
    const row = await this.db
      .selectFrom("run_deliveries")
      .select((eb) => eb.fn.countAll<string | number>().as("n"))
      .where("status", "=", "pending")
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
