import { type Kysely, sql } from "kysely";
import type { Clock } from "../clock.ts";
import { dialectOf } from "../connection.ts";
import type { Database } from "../schema.ts";

/** One UTC day of runs: how many ended how, how long the finished ones took, what they spent. */
export interface RunDay {
  /** `YYYY-MM-DD`, UTC (run times are stored as UTC ISO strings). */
  day: string;
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Queued, running, waiting for approval or skipped. */
  other: number;
  /** Mean of finished runs' `finished_at - started_at` (created_at when it never started). */
  avgDurationMs: number | null;
  promptTokens: number;
  completionTokens: number;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * Runs over time for the dashboard's chart (issue 22.4): counted in the database, grouped by UTC
 * day and status, so the answer's size depends on the days asked for, not on how many runs there
 * were. Top-level runs only: a fan-out's children are parts of their parent's one run.
 */
export class RunStatsRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? (() => new Date());
  }

  /** The last `days` UTC days up to today, oldest first, every day present (zeros when idle). */
  async daily(days: number, filter: { jobId?: string } = {}): Promise<RunDay[]> {
    const today = Date.parse(this.clock().toISOString().slice(0, 10));
    const first = new Date(today - (days - 1) * DAY_MS).toISOString();
    const pg = dialectOf(this.db) === "postgres";
    // Duration and token sums are dialect-specific expressions; the grouping is the same text
    // prefix on both (ISO strings sort and slice the same everywhere).
    const durationMs = pg
      ? sql<number>`extract(epoch from (finished_at::timestamptz - coalesce(started_at, created_at)::timestamptz)) * 1000`
      : sql<number>`(julianday(finished_at) - julianday(coalesce(started_at, created_at))) * 86400000`;
    const token = (key: "promptTokens" | "completionTokens") =>
      pg
        ? sql<number>`coalesce((usage::json->>${key})::bigint, 0)`
        : sql<number>`coalesce(json_extract(usage, ${`$.${key}`}), 0)`;
    let query = this.db
      .selectFrom("runs")
      .select((eb) => [
        sql<string>`substr(created_at, 1, 10)`.as("day"),
        "status",
        eb.fn.countAll<number | string | bigint>().as("n"),
        sql<number | string | null>`sum(case when finished_at is not null then ${durationMs} end)`.as("duration"),
        sql<number | string>`count(finished_at)`.as("finished"),
        sql<number | string>`sum(${token("promptTokens")})`.as("prompt"),
        sql<number | string>`sum(${token("completionTokens")})`.as("completion"),
      ])
      .where("created_at", ">=", first)
      .where("parent_run_id", "is", null);
    if (filter.jobId) query = query.where("job_id", "=", filter.jobId);
    const rows = await query.groupBy([sql`substr(created_at, 1, 10)`, "status"]).execute();

    const out = new Map<string, RunDay & { durationSum: number; finished: number }>();
    for (let i = 0; i < days; i++) {
      const day = new Date(today - (days - 1 - i) * DAY_MS).toISOString().slice(0, 10);
      out.set(day, { ...emptyDay(day), durationSum: 0, finished: 0 });
    }
    for (const r of rows) {
      const d = out.get(r.day);
      if (!d) continue; // a run stamped in the future (clock skew between replicas)
      // PostgreSQL's count/sum of bigint arrive from pg as strings.
      const n = Number(r.n);
      d.total += n;
      if (r.status === "succeeded" || r.status === "failed" || r.status === "cancelled") d[r.status] += n;
      else d.other += n;
      d.durationSum += Number(r.duration ?? 0);
      d.finished += Number(r.finished);
      d.promptTokens += Number(r.prompt ?? 0);
      d.completionTokens += Number(r.completion ?? 0);
    }
    return [...out.values()].map(({ durationSum, finished, ...day }) => ({
      ...day,
      avgDurationMs: finished > 0 ? Math.round(durationSum / finished) : null,
    }));
  }
}

function emptyDay(day: string): RunDay {
  return {
    day,
    total: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    other: 0,
    avgDurationMs: null,
    promptTokens: 0,
    completionTokens: 0,
  };
}
