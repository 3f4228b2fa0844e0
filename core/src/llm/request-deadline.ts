import { LlmError } from "./errors.ts";

/**
 * The abort signal handed to an SDK for one request: it fires when the caller cancels, or when the
 * server stays silent too long — before the response starts, and between streamed chunks (a
 * generation may legitimately run for minutes, so there is no cap on the total).
 */
export class RequestDeadline {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly parent: AbortSignal;
  private readonly timeoutMs: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private expired = false;
  private readonly onParentAbort = () => this.controller.abort(this.parent.reason);

  constructor(parent: AbortSignal, timeoutMs: number) {
    this.parent = parent;
    this.timeoutMs = timeoutMs;
    this.signal = this.controller.signal;
    if (parent.aborted) this.controller.abort(parent.reason);
    else parent.addEventListener("abort", this.onParentAbort, { once: true });
    this.touch();
  }

  /** Something arrived from the server: restart the silence timer. */
  touch(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.controller.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort(new Error(`no answer within ${this.timeoutMs} ms`));
    }, this.timeoutMs);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.parent.removeEventListener("abort", this.onParentAbort);
  }

  /** Why the request stopped, if it was stopped by us rather than by the server. */
  abortError(): LlmError | undefined {
    if (this.parent.aborted) return new LlmError("cancelled", "the request was cancelled");
    if (this.expired) return new LlmError("timeout", `the model server sent nothing for ${this.timeoutMs} ms`);
    return undefined;
  }
}

/**
 * The code for an HTTP error status. `model_not_found` is recognised by status 404 and also by the
 * body, because LM Studio and some gateways answer an unknown model with 400 and a message instead.
 */
export function codeForStatus(status: number, message: string, bodyCode?: unknown) {
  if (bodyCode === "model_not_found" || /model.{0,80}(not found|does not exist|not loaded|no such)/i.test(message)) {
    return "model_not_found" as const;
  }
  if (status === 401 || status === 403) return "auth_failed" as const;
  if (status === 404) return "model_not_found" as const;
  if (status === 408) return "timeout" as const;
  // Rate limiting and overload are the provider's state, not the request's fault: another provider
  // can take the turn, so they count as server errors.
  if (status === 429 || status === 529 || status >= 500) return "server_error" as const;
  return "invalid_request" as const;
}

/** The human part of an SDK error: LM Studio answers `{"error": "text"}`, OpenAI-style servers
 * `{"error": {"message": ...}}`, Anthropic `{"type":"error","error":{"message":...}}`. */
export function messageFromErrorBody(body: unknown, fallback: string): { message: string; code?: unknown } {
  if (typeof body === "string" && body) return { message: body };
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    if (typeof b.message === "string") return { message: b.message, code: b.code };
    const inner = b.error;
    if (typeof inner === "string") return { message: inner };
    if (inner && typeof inner === "object") {
      const e = inner as Record<string, unknown>;
      if (typeof e.message === "string") return { message: e.message, code: e.code };
    }
  }
  return { message: fallback };
}
