import type { Kysely } from "kysely";
import type { Database } from "../schema.ts";

export interface ScheduleStateRow {
  jobId: string;
  lastFireAt: string | null;
  lastMisfireAt: string | null;
  lastMisfireReason: string | null;
  missedCount: number;
}

/** When each schedule last fired and last missed (see migration 0003). */
export class ScheduleStateRepo {
  private readonly db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  async get(jobId: string): Promise<ScheduleStateRow | undefined> {
    const row = await this.db.selectFrom("schedule_state").selectAll().where("job_id", "=", jobId).executeTakeFirst();
    return row ? toState(row) : undefined;
  }

  async all(): Promise<Map<string, ScheduleStateRow>> {
    const rows = await this.db.selectFrom("schedule_state").selectAll().execute();
    return new Map(rows.map((r) => [r.job_id, toState(r)]));
  }

  async recordFire(jobId: string, at: string): Promise<void> {
    await this.db
      .insertInto("schedule_state")
      .values({ job_id: jobId, last_fire_at: at, missed_count: 0 })
      .onConflict((oc) => oc.column("job_id").doUpdateSet({ last_fire_at: at }))
      .execute();
  }

  async recordMisfire(jobId: string, at: string, reason: string, missed: number): Promise<void> {
    await this.db
      .insertInto("schedule_state")
      .values({ job_id: jobId, last_misfire_at: at, last_misfire_reason: reason, missed_count: missed })
      .onConflict((oc) =>
        oc.column("job_id").doUpdateSet({ last_misfire_at: at, last_misfire_reason: reason, missed_count: missed }),
      )
      .execute();
  }
}

function toState(row: {
  job_id: string;
  last_fire_at: string | null;
  last_misfire_at: string | null;
  last_misfire_reason: string | null;
  missed_count: number;
}): ScheduleStateRow {
  return {
    jobId: row.job_id,
    lastFireAt: row.last_fire_at,
    lastMisfireAt: row.last_misfire_at,
    lastMisfireReason: row.last_misfire_reason,
    missedCount: Number(row.missed_count),
  };
}
