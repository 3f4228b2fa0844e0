/**
 * The Core's one domain error: services, nodes, channels and routes throw it with a code; only
 * the HTTP edge (api/errors.ts) knows which status a code answers with, so the inner rooms stay
 * free of HTTP.
 */
export type ErrorCode =
  | "validation_failed"
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "csrf_required"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "payload_too_large"
  | "rate_limited"
  | "locked"
  | "provider_error"
  | "node_offline"
  | "unavailable"
  | "database_busy"
  | "storage_full"
  /** A stored secret needed here does not decrypt (tampered with, or another master key). */
  | "secret_unreadable"
  | "internal";

export class CoreError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = "CoreError";
    this.code = code;
    this.details = details;
  }
}
