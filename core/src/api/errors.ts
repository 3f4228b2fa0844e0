import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from "fastify-type-provider-zod";
import { DatabaseError, isDatabaseBusy, isStorageFull, isUnstorableText } from "../database/errors.ts";
import { CoreError, type ErrorCode } from "../errors.ts";
import { SecretsError } from "../secrets/errors.ts";

/** The HTTP status each domain error code answers with: the one place that knows. */
const statusFor: Record<ErrorCode, number> = {
  validation_failed: 400,
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  csrf_required: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  locked: 423,
  provider_error: 502,
  node_offline: 503,
  unavailable: 503,
  database_busy: 503,
  storage_full: 507,
  secret_unreadable: 503,
  internal: 500,
};

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}
const errorBodyOf = errorBody;

/** The request's id in the error body too, so a pasted error names its log line. */
function withRequestId<T extends { error: object }>(body: T, request: FastifyRequest): T {
  return { ...body, error: { ...body.error, requestId: request.id } };
}

export interface ErrorHandlerOptions {
  /** Answers GET requests for client-side routes (anything but /api and files) with the UI. */
  spa?: (request: FastifyRequest, reply: FastifyReply) => unknown;
  /** The methods a concrete path answers (empty: unknown path), for 405 and OPTIONS. */
  allowedMethods?: (path: string) => string[];
}

export function installErrorHandler(app: FastifyInstance, options: ErrorHandlerOptions = {}): void {
  const { spa, allowedMethods } = options;
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0] ?? "";
    const allowed = allowedMethods?.(path) ?? [];
    if (allowed.length > 0 && request.method === "OPTIONS") {
      return reply.code(204).header("allow", allowed.join(", ")).send();
    }
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header("allow", allowed.join(", "))
        .send(withRequestId(errorBody("method_not_allowed", `${request.method} is not allowed on ${path}`), request));
    }
    if (spa && request.method === "GET" && !path.startsWith("/api/") && !path.includes(".")) return spa(request, reply);
    return reply.code(404).send(withRequestId(errorBody("not_found", `no route ${request.method} ${path}`), request));
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const errorBody = (code: string, message: string, details?: unknown) =>
      withRequestId(errorBodyOf(code, message, details), request);
    if (error instanceof CoreError) {
      return reply.code(statusFor[error.code]).send(errorBody(error.code, error.message, error.details));
    }
    if (error instanceof DatabaseError) {
      if (error.code === "conflict") return reply.code(409).send(errorBody("conflict", error.message));
      if (error.code === "invalid_reference") return reply.code(400).send(errorBody("bad_request", error.message));
    }
    if (isUnstorableText(error)) {
      return reply.code(400).send(errorBody("bad_request", "text with a NUL character (\\u0000) is not accepted"));
    }
    if (error instanceof SecretsError) {
      // Not a 500 (issue 21.3): the Core works; one stored value does not open. The message names
      // the row when the code that met it knew which (unreadableError); it never holds a value.
      request.log.error({ code: error.code, message: error.message }, "a stored secret could not be opened");
      const named = error.cause instanceof SecretsError;
      return reply
        .code(statusFor.secret_unreadable)
        .send(
          errorBody(
            "secret_unreadable",
            named
              ? error.message
              : "a stored secret could not be decrypted (wrong master key, or the data was tampered with)",
          ),
        );
    }
    // Operational states, not bugs: the client is told what is wrong and that retrying later helps.
    if (isStorageFull(error)) {
      request.log.error({ err: error }, "the disk under the data directory is full");
      return reply
        .code(statusFor.storage_full)
        .send(errorBody("storage_full", "the disk is full: nothing was saved; free space on the Core's data volume"));
    }
    if (isDatabaseBusy(error)) {
      request.log.warn({ err: error }, "the database stayed locked past busy_timeout");
      return reply
        .code(statusFor.database_busy)
        .header("retry-after", "5")
        .send(errorBody("database_busy", "the database is locked, try again: nothing was saved"));
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map((v) => ({
        path: `${error.validationContext ?? "body"}${v.instancePath.replaceAll("/", ".")}`,
        message: v.message ?? "invalid",
      }));
      const message = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
      return reply.code(400).send(errorBody("validation_failed", message, issues));
    }
    if (isResponseSerializationError(error)) {
      request.log.error({ err: error, issues: error.cause.issues }, "response did not match its schema");
      return reply.code(500).send(errorBody("internal", "internal error"));
    }
    const status = error.statusCode ?? 500;
    if (status === 413) return reply.code(413).send(errorBody("payload_too_large", error.message));
    if (status === 429) return reply.code(429).send(errorBody("rate_limited", error.message));
    if (status >= 400 && status < 500) return reply.code(status).send(errorBody("bad_request", error.message));
    request.log.error({ err: error }, "unhandled error");
    return reply.code(500).send(errorBody("internal", "internal error"));
  });
}
