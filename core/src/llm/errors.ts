export type LlmErrorCode =
  | "connection_failed"
  | "timeout"
  | "server_error"
  | "model_not_found"
  | "invalid_request"
  | "auth_failed"
  /** The server wants credentials and none were set (LM Studio's "Require Authentication"). */
  | "auth_required"
  | "cancelled"
  | "bad_response";

/** The one error every adapter throws, whatever the SDK underneath threw. */
export class LlmError extends Error {
  readonly code: LlmErrorCode;
  /** HTTP status when the server answered with one. */
  readonly status: number | undefined;
  constructor(code: LlmErrorCode, message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LlmError";
    this.code = code;
    this.status = options?.status;
  }
}

/**
 * Whether the next model in a job's chain should be tried. Yes when this provider is unreachable,
 * slow, broken or lacks the model: another provider may well answer. No when the request itself is
 * wrong (another provider would reject it too, and falling back would hide the bug), when the
 * credentials are wrong (a configuration error the user must see), or when the run was cancelled.
 */
export function isFallbackable(err: unknown): boolean {
  if (!(err instanceof LlmError)) return false;
  switch (err.code) {
    case "connection_failed":
    case "timeout":
    case "server_error":
    case "model_not_found":
    case "bad_response":
      return true;
    case "invalid_request":
    case "auth_failed":
    case "auth_required":
    case "cancelled":
      return false;
  }
}
