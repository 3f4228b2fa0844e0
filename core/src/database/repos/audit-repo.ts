import type { Kysely } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { parseJsonOr, toJson } from "../json.ts";
import type { AuditLogRow, Database } from "../schema.ts";
import type { AuditEntry, AuditQuery, NewAuditEntry } from "../types.ts";

function toEntry(row: AuditLogRow): AuditEntry {
  return {
    id: Number(row.id),
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    ip: row.ip,
    outcome: row.outcome,
    detail: parseJsonOr<Record<string, unknown>>(row.detail, "audit_log.detail", {}),
    resultHash: row.result_hash,
  };
}

/**
 * The audit log. Only `append` and `list`: there is deliberately no update or delete here, and the
 * table's triggers refuse both, so an entry once written stays as written.
 */
export class AuditRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  async append(entry: NewAuditEntry): Promise<void> {
    await this.db
      .insertInto("audit_log")
      .values({
        at: isoNow(this.clock),
        actor: entry.actor.slice(0, 200),
        action: entry.action,
        target: entry.target ?? null,
        ip: entry.ip ?? null,
        outcome: entry.outcome ?? "ok",
        detail: toJson(entry.detail ?? {}),
        result_hash: entry.resultHash ?? null,
      })
      .execute();
  }

  /** Newest first. */
  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? 100), 1), 1000);
    let q = this.db.selectFrom("audit_log").selectAll();
    if (query.action !== undefined) q = q.where("action", "=", query.action);
    if (query.actor !== undefined) q = q.where("actor", "=", query.actor);
    if (query.target !== undefined) q = q.where("target", "=", query.target);
    if (query.since !== undefined) q = q.where("at", ">=", query.since);
    // detail is the compact JSON the Core wrote (JSON.stringify), so the kind reads the same on both
    // dialects without their different JSON operators.
    if (query.hideSessionTokenUse)
      q = q.where((eb) => eb.not(eb.and([eb("action", "=", "token.use"), eb("detail", "like", '%"kind":"session"%')])));
    const rows = await q.orderBy("id", "desc").limit(limit).execute();
    return rows.map(toEntry);
  }
}
