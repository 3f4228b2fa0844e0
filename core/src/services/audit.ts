import { createHash } from "node:crypto";
import type { Logger } from "@fabricore/protocol";
import type { AuditRepo } from "../database/index.ts";
import type { AuditOutcome, NewAuditEntry } from "../database/types.ts";

/** What an audit entry says about who asked: the principal's username, or what triggered it. */
export interface AuditActor {
  actor: string;
  ip?: string | null;
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * Writes the audit log. A failed write is logged, never thrown: an audit hiccup (database busy)
 * must not turn into a failed login or a lost tool result, and the error log shows the gap.
 */
export class Audit {
  private readonly repo: AuditRepo;
  private readonly logger: Pick<Logger, "error">;

  constructor(repo: AuditRepo, logger: Pick<Logger, "error">) {
    this.repo = repo;
    this.logger = logger;
  }

  async record(entry: NewAuditEntry): Promise<void> {
    try {
      await this.repo.append(entry);
    } catch (err) {
      this.logger.error({ err, action: entry.action, actor: entry.actor }, "writing the audit log failed");
    }
  }

  /** An entry for what an actor did (a route passes `actorOf(request)`). */
  recordBy(
    who: AuditActor,
    action: string,
    target: string | null,
    detail: Record<string, unknown> = {},
    outcome: AuditOutcome = "ok",
  ): Promise<void> {
    return this.record({ actor: who.actor, ip: who.ip ?? null, action, target, detail, outcome });
  }
}
