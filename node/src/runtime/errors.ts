/** Why the runtime refused or failed to run an MCP server; the manager reports the message in the
 * server's status, and `permanent` codes stop the restart loop (retrying cannot fix them). */
export type RuntimeErrorCode =
  | "docker_unavailable"
  | "mount_refused"
  | "image_unavailable"
  | "container_failed"
  | "remote_refused"
  | "connect_failed"
  | "invalid_spec";

const PERMANENT: ReadonlySet<RuntimeErrorCode> = new Set([
  "mount_refused",
  "image_unavailable",
  "remote_refused",
  "invalid_spec",
]);

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  constructor(code: RuntimeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RuntimeError";
    this.code = code;
  }

  /** A configuration problem: the same spec will fail the same way, so do not retry it. */
  get permanent(): boolean {
    return PERMANENT.has(this.code);
  }
}

/** The useful sentence out of a Docker error (docker-engine.ts's EngineError, or dockerode's in tests: `(HTTP code 404) … No such image: x` → the daemon's message). */
export function dockerMessage(error: unknown): string {
  if (error && typeof error === "object") {
    const json = (error as { json?: unknown }).json;
    if (json && typeof json === "object" && typeof (json as { message?: unknown }).message === "string") {
      return (json as { message: string }).message;
    }
    if (typeof json === "string" && json.trim()) return json.trim();
    if (error instanceof Error) return error.message;
  }
  return String(error);
}

/** Whether a Docker error is the daemon's 404 (no such image / container). */
export function isNotFound(error: unknown): boolean {
  return !!error && typeof error === "object" && (error as { statusCode?: unknown }).statusCode === 404;
}
