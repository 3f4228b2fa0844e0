import { type Kysely, sql } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import type { Database } from "../schema.ts";

/** One address's attempts in the current window, as counted by `claim`. */
export interface LoginAttemptCount {
  bucket: string;
  windowStart: string;
  /** Attempts in this window, this one included. */
  attempts: number;
  /** Attempts in this window that were over the limit (refused), this one included. */
  refused: number;
}

/**
 * Login attempts per bucket (a client address) and fixed window, counted in the database
 * (issue 15.5): each attempt is one atomic upsert taken BEFORE the password is checked, so a burst
 * of parallel attempts is counted exactly, on every replica of a cluster alike. A window that has
 * ended is deleted with RETURNING, so exactly one caller gets its totals (for the audit summary).
 */
export class LoginAttemptsRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Counts one attempt for `bucket`. The caller compares `attempts` with its limit; a count over
   * `limit` is also added to `refused`. `ended` is the bucket's previous window when this call was
   * the one that closed it.
   */
  async claim(
    bucket: string,
    options: { windowMs: number; limit: number },
  ): Promise<{ count: LoginAttemptCount; ended: LoginAttemptCount | undefined }> {
    const now = isoNow(this.clock);
    const cutoff = new Date(this.clock().getTime() - options.windowMs).toISOString();
    const ended = await this.db
      .deleteFrom("login_attempts")
      .where("bucket", "=", bucket)
      .where("window_start", "<=", cutoff)
      .returningAll()
      .executeTakeFirst();
    // All SET expressions read the row as it was (SQL semantics on both dialects); the CASEs also
    // restart a window a concurrent caller found ended between the DELETE and this statement.
    const result = await sql<{ window_start: string; attempts: number | string; refused: number | string }>`
      INSERT INTO login_attempts (bucket, window_start, attempts, refused)
      VALUES (${bucket}, ${now}, 1, 0)
      ON CONFLICT (bucket) DO UPDATE SET
        attempts = CASE WHEN login_attempts.window_start <= ${cutoff} THEN 1 ELSE login_attempts.attempts + 1 END,
        refused = CASE
          WHEN login_attempts.window_start <= ${cutoff} THEN 0
          WHEN login_attempts.attempts >= ${options.limit} THEN login_attempts.refused + 1
          ELSE login_attempts.refused END,
        window_start = CASE WHEN login_attempts.window_start <= ${cutoff} THEN ${now} ELSE login_attempts.window_start END
      RETURNING window_start, attempts, refused`.execute(this.db);
    const row = result.rows[0];
    if (!row) throw new Error("login_attempts upsert returned no row");
    return {
      count: { bucket, windowStart: row.window_start, attempts: Number(row.attempts), refused: Number(row.refused) },
      ended: ended && toCount(ended),
    };
  }

  /** A successful login gives its attempt back (the limit counts failures, not logins). */
  async release(bucket: string, windowStart: string): Promise<void> {
    await this.db
      .updateTable("login_attempts")
      .set((eb) => ({ attempts: eb("attempts", "-", 1) }))
      .where("bucket", "=", bucket)
      .where("window_start", "=", windowStart)
      .where("attempts", ">", 0)
      .execute();
  }

  /** Deletes every window that ended and returns them (each to exactly one caller). */
  async takeEnded(windowMs: number): Promise<LoginAttemptCount[]> {
    const cutoff = new Date(this.clock().getTime() - windowMs).toISOString();
    const rows = await this.db
      .deleteFrom("login_attempts")
      .where("window_start", "<=", cutoff)
      .returningAll()
      .execute();
    return rows.map(toCount);
  }
}

function toCount(row: { bucket: string; window_start: string; attempts: number; refused: number }): LoginAttemptCount {
  return {
    bucket: row.bucket,
    windowStart: row.window_start,
    attempts: Number(row.attempts),
    refused: Number(row.refused),
  };
}
