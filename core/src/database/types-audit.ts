/* The audit log's entries and queries.
 * Imported through types.ts, which re-exports every one. */

export type AuditOutcome = "ok" | "failed" | "denied";

export interface NewAuditEntry {
  actor: string;
  action: string;
  target?: string | null;
  ip?: string | null;
  outcome?: AuditOutcome;
  detail?: Record<string, unknown>;
  resultHash?: string | null;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  outcome: AuditOutcome;
  detail: Record<string, unknown>;
  resultHash: string | null;
}

export interface AuditQuery {
  action?: string;
  actor?: string;
  /** What the entry is about: a run, job or Node id, a user name. */
  target?: string;
  /** ISO timestamp: entries at or after it. */
  since?: string;
  /** Leaves out `token.use` entries of sign-in sessions (each follows an `auth.login`); API tokens' uses stay. */
  hideSessionTokenUse?: boolean;
  /** Default 100, at most 1000. Newest first. */
  limit?: number;
}
