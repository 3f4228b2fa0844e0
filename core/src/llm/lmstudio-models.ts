import { z } from "zod";
import { LlmError } from "./errors.ts";
import { codeForStatus, RequestDeadline } from "./request-deadline.ts";
import type { FetchLike, ModelInfo } from "./types.ts";

/** `GET /api/v1/models` (LM Studio 0.4+). Only the fields FabriCore reads; the rest pass. */
export const LmStudioV1Models = z.object({
  models: z.array(
    z
      .object({
        type: z.string().optional(),
        key: z.string(),
        display_name: z.string().optional(),
        max_context_length: z.number().optional(),
        loaded_instances: z
          .array(
            z
              .object({
                id: z.string().optional(),
                config: z.object({ context_length: z.number().optional() }).loose().nullish(),
              })
              .loose(),
          )
          .optional(),
        capabilities: z
          .object({ trained_for_tool_use: z.boolean().optional(), vision: z.boolean().optional() })
          .loose()
          .nullish(),
      })
      .loose(),
  ),
});
export type LmStudioV1Models = z.infer<typeof LmStudioV1Models>;

/** `GET /api/v0/models` (LM Studio 0.3.x). */
export const LmStudioV0Models = z.object({
  data: z.array(
    z
      .object({
        id: z.string(),
        type: z.string().optional(),
        state: z.string().optional(),
        max_context_length: z.number().optional(),
        loaded_context_length: z.number().optional(),
      })
      .loose(),
  ),
});
export type LmStudioV0Models = z.infer<typeof LmStudioV0Models>;

/** `GET /v1/models`, the OpenAI-compatible list every version has. */
export const OpenAiModelList = z.object({ data: z.array(z.object({ id: z.string() }).loose()) });

/** Embedding models cannot chat, so a job must not be able to pick them. */
const isEmbedding = (type: string | undefined) => type === "embedding" || type === "embeddings";

/**
 * LM Studio's models, richest source first: the native v1 API (0.4+: loaded instances with their
 * context length, and whether the model was trained for tool use), else v0 (0.3.x: loaded state and
 * context), else the OpenAI-compatible list (ids only). `baseUrl` is the OpenAI base (`…/v1`).
 */
export async function listLmStudioModels(options: {
  baseUrl: string;
  apiKey?: string | null;
  fetch?: FetchLike;
  signal?: AbortSignal;
  timeoutMs: number;
}): Promise<ModelInfo[]> {
  const origin = options.baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "");
  const get = async (path: string): Promise<unknown | undefined> => {
    const deadline = new RequestDeadline(options.signal ?? new AbortController().signal, options.timeoutMs);
    try {
      const res = await (options.fetch ?? fetch)(`${origin}${path}`, {
        headers: options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {},
        signal: deadline.signal,
      });
      // An older LM Studio answers an unknown route with 404 (or 200 and an error body): try the next.
      if (res.status === 404) return undefined;
      const text = await res.text();
      if (!res.ok) {
        const code = codeForStatus(res.status, text);
        throw new LlmError(
          code === "model_not_found" ? "server_error" : code,
          `${path}: HTTP ${res.status} ${text.slice(0, 300)}`,
          {
            status: res.status,
          },
        );
      }
      try {
        return JSON.parse(text);
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
  };

  const v1 = LmStudioV1Models.safeParse(await get("/api/v1/models"));
  if (v1.success) {
    return v1.data.models
      .filter((m) => !isEmbedding(m.type))
      .map((m) => {
        const instance = m.loaded_instances?.[0];
        const contextLength = instance?.config?.context_length ?? m.max_context_length;
        const toolUse = m.capabilities?.trained_for_tool_use;
        return {
          id: m.key,
          loaded: (m.loaded_instances?.length ?? 0) > 0,
          ...(contextLength !== undefined ? { contextLength } : {}),
          ...(toolUse !== undefined ? { toolUse } : {}),
        };
      });
  }
  const v0 = LmStudioV0Models.safeParse(await get("/api/v0/models"));
  if (v0.success) {
    return v0.data.data
      .filter((m) => !isEmbedding(m.type))
      .map((m) => {
        const contextLength = m.loaded_context_length ?? m.max_context_length;
        return {
          id: m.id,
          ...(m.state !== undefined ? { loaded: m.state === "loaded" } : {}),
          ...(contextLength !== undefined ? { contextLength } : {}),
        };
      });
  }
  const plain = OpenAiModelList.safeParse(await get("/v1/models"));
  if (plain.success) return plain.data.data.map((m) => ({ id: m.id }));
  throw new LlmError(
    "bad_response",
    `${origin} answered none of /api/v1/models, /api/v0/models, /v1/models with a model list`,
  );
}

function causeOf(err: unknown): string {
  const cause = err instanceof Error ? err.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === "string" ? `${code} (${message})` : message;
}
