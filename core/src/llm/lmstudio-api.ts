import { z } from "zod";
import { LlmError } from "./errors.ts";
import { describeLmStudioAuth } from "./lmstudio-errors.ts";
import { codeForStatus, messageFromErrorBody, RequestDeadline } from "./request-deadline.ts";
import type { FetchLike } from "./types.ts";

export interface LmStudioApiOptions {
  /** The OpenAI base (`…/v1`); LM Studio's own routes live beside it. */
  baseUrl: string;
  apiKey?: string | null | undefined;
  fetch?: FetchLike | undefined;
  headers?: Record<string, string> | undefined;
}

/** The server's origin, from the OpenAI base URL the provider is configured with. */
export const lmStudioOrigin = (baseUrl: string) => baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "");

/**
 * One request to LM Studio's native API, the token on it like on every other request. Undefined
 * when the route does not exist on this server (404, or LM Studio's 200 "Unexpected endpoint"
 * body, or a body that is not JSON), so a caller can try an older route.
 */
export async function lmStudioRequest(
  api: LmStudioApiOptions,
  path: string,
  init: { method?: "GET" | "POST"; body?: unknown; signal?: AbortSignal | undefined; timeoutMs: number },
): Promise<unknown | undefined> {
  const origin = lmStudioOrigin(api.baseUrl);
  const deadline = new RequestDeadline(init.signal ?? new AbortController().signal, init.timeoutMs);
  try {
    const res = await (api.fetch ?? fetch)(`${origin}${path}`, {
      method: init.method ?? "GET",
      headers: {
        ...api.headers,
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
        ...(api.apiKey ? { Authorization: `Bearer ${api.apiKey}` } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      signal: deadline.signal,
    });
    if (res.status === 404) return undefined;
    const text = await res.text();
    if (!res.ok) {
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {}
      const { message, code: bodyCode } = messageFromErrorBody(body, text.slice(0, 300));
      const code = codeForStatus(res.status, message, bodyCode);
      // A listing route's 4xx is about the route, not about a model the job names.
      const error = new LlmError(
        code === "model_not_found" && init.method !== "POST" ? "server_error" : code,
        `${path}: HTTP ${res.status} ${message}`,
        { status: res.status },
      );
      throw describeLmStudioAuth(error, !!api.apiKey);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      const routeError = UnknownRoute.safeParse(parsed);
      return routeError.success ? undefined : parsed;
    } catch {
      return undefined;
    }
  } catch (err) {
    if (err instanceof LlmError) throw err;
    throw (
      deadline.abortError() ??
      new LlmError("connection_failed", `cannot reach ${origin}: ${causeOf(err)}`, { cause: err })
    );
  } finally {
    deadline.dispose();
  }
}

/** LM Studio answers a route it does not have with 200 and `{"error": "Unexpected endpoint or method. (…)"}`. */
const UnknownRoute = z.object({ error: z.string().regex(/^Unexpected endpoint/) });

/** `POST /api/v1/models/load`'s answer (LM Studio 0.4+). */
export const LmStudioLoadResult = z
  .object({
    model_instance_id: z.string().optional(),
    config: z.object({ context_length: z.number().optional() }).loose().optional(),
    load_time_seconds: z.number().optional(),
  })
  .loose();
export type LmStudioLoadResult = z.infer<typeof LmStudioLoadResult>;

/**
 * Loads `model` with the context length the job needs (LM Studio's own default when unset).
 * Undefined when the server has no load endpoint (0.3.x): it then loads just in time.
 */
export async function loadLmStudioModel(
  api: LmStudioApiOptions,
  model: string,
  options: { contextLength?: number | undefined; signal: AbortSignal; timeoutMs: number },
): Promise<LmStudioLoadResult | undefined> {
  const body = {
    model,
    ...(options.contextLength !== undefined ? { config: { context_length: options.contextLength } } : {}),
  };
  const answer = await lmStudioRequest(api, "/api/v1/models/load", {
    method: "POST",
    body,
    signal: options.signal,
    timeoutMs: options.timeoutMs,
  });
  if (answer === undefined) return undefined;
  const parsed = LmStudioLoadResult.safeParse(answer);
  if (!parsed.success)
    throw new LlmError(
      "bad_response",
      `/api/v1/models/load: unexpected answer ${JSON.stringify(answer).slice(0, 200)}`,
    );
  return parsed.data;
}

export function causeOf(err: unknown): string {
  const cause = err instanceof Error ? err.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === "string" ? `${code} (${message})` : message;
}
