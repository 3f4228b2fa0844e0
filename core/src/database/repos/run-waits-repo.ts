import { type Kysely, sql } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { toJson } from "../json.ts";
import type { Database } from "../schema.ts";
import type { RunWaiting } from "../types.ts";

/**
 * Runs waiting for their offline Nodes (a job's `offlineNodes: "wait"`, issue 22.1). A waiting run
 * is a `queued` row with `waiting` and `not_before`, so it is as durable as any queued run: the
 * single-process queue claims it again from the database after a restart, the cluster sweep offers
 * it to BullMQ again, and cancel is the queued run's cancel. `claim`/`claimNext` pass it over
 * until `not_before`; a Node coming online clears that for the runs waiting on it.
 */
export class RunWaitsRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * running → queued again (the claim that found its Nodes offline is undone), waiting until
   * `notBefore` at the latest. False when the run is not running any more, or a cancel was asked
   * for meanwhile (the caller then ends it instead).
   */
  async park(id: string, waiting: RunWaiting, notBefore: string): Promise<boolean> {
    const r = await this.db
      .updateTable("runs")
      .set({ status: "queued", owner: null, started_at: null, waiting: toJson(waiting), not_before: notBefore })
      .where("id", "=", id)
      .where("status", "=", "running")
      .where("cancel_requested_at", "is", null)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /** A fan-out child, still queued, waits for its Node inside its running parent (FanOutRunner):
   * shown on the parent's table; its parent claims it when the Node is back. */
  async markWaiting(id: string, waiting: RunWaiting): Promise<void> {
    await this.db
      .updateTable("runs")
      .set({ waiting: toJson(waiting) })
      .where("id", "=", id)
      .where("status", "=", "queued")
      .execute();
  }

  /** The wait is over (a Node is online, or the time ran out): the run proceeds as claimed. */
  async clear(id: string): Promise<void> {
    await this.db.updateTable("runs").set({ waiting: null, not_before: null }).where("id", "=", id).execute();
  }

  /**
   * `nodeId` came online: the queued runs waiting on it are due now; their ids (to enqueue). The
   * ids in `waiting` are UUIDs, so a LIKE on the JSON text finds exactly the runs naming it.
   */
  async wake(nodeId: string): Promise<string[]> {
    const needle = `%${toJson(nodeId).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const rows = await this.db
      .updateTable("runs")
      .set({ not_before: isoNow(this.clock) })
      .where("status", "=", "queued")
      .where("waiting", "is not", null)
      .where(sql<boolean>`waiting like ${needle} escape '\\'`)
      .returning("id")
      .execute();
    return rows.map((r) => r.id);
  }

  /** Queued top-level runs that may start now, oldest first (what the cluster sweep re-offers). */
  async dueQueuedIds(limit = 500): Promise<string[]> {
    const now = isoNow(this.clock);
    const rows = await this.db
      .selectFrom("runs")
      .select("id")
      .where("status", "=", "queued")
      .where("parent_run_id", "is", null)
      .where((eb) => eb.or([eb("not_before", "is", null), eb("not_before", "<=", now)]))
      .orderBy("created_at")
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }
}
