import { z } from "zod";
import { LlmError } from "./errors.ts";
import { type LmStudioApiOptions, lmStudioOrigin, lmStudioRequest } from "./lmstudio-api.ts";
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
        /** 0.3.x: `["tool_use"]` for models trained for tool calls; absent when LM Studio does not know. */
        capabilities: z.array(z.string()).optional(),
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
 * context length, and whether the model was trained for tool use), else v0 (0.3.x: loaded state,
 * loaded context length, `capabilities: ["tool_use"]`), else the OpenAI-compatible list (ids only).
 * `baseUrl` is the OpenAI base (`…/v1`). `api` says which listing answered.
 */
export async function listLmStudioModelsWithApi(options: {
  baseUrl: string;
  apiKey?: string | null;
  fetch?: FetchLike;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  timeoutMs: number;
}): Promise<{ api: "v1" | "v0" | "openai"; models: ModelInfo[] }> {
  const api: LmStudioApiOptions = {
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    fetch: options.fetch,
    headers: options.headers,
  };
  const get = (path: string) => lmStudioRequest(api, path, { signal: options.signal, timeoutMs: options.timeoutMs });

  const v1 = LmStudioV1Models.safeParse(await get("/api/v1/models"));
  if (v1.success) {
    const models = v1.data.models
      .filter((m) => !isEmbedding(m.type))
      .map((m) => {
        const loaded = m.loaded_instances?.[0]?.config?.context_length;
        const contextLength = loaded ?? m.max_context_length;
        const toolUse = m.capabilities?.trained_for_tool_use;
        return {
          id: m.key,
          loaded: (m.loaded_instances?.length ?? 0) > 0,
          ...(contextLength !== undefined ? { contextLength } : {}),
          ...(loaded !== undefined ? { loadedContextLength: loaded } : {}),
          ...(m.max_context_length !== undefined ? { maxContextLength: m.max_context_length } : {}),
          ...(toolUse !== undefined ? { toolUse } : {}),
        };
      });
    return { api: "v1", models };
  }
  const v0 = LmStudioV0Models.safeParse(await get("/api/v0/models"));
  if (v0.success) {
    const models = v0.data.data
      .filter((m) => !isEmbedding(m.type))
      .map((m) => {
        const loaded = m.state === "loaded" ? m.loaded_context_length : undefined;
        const contextLength = loaded ?? m.max_context_length;
        return {
          id: m.id,
          ...(m.state !== undefined ? { loaded: m.state === "loaded" } : {}),
          ...(contextLength !== undefined ? { contextLength } : {}),
          ...(loaded !== undefined ? { loadedContextLength: loaded } : {}),
          ...(m.max_context_length !== undefined ? { maxContextLength: m.max_context_length } : {}),
          // Absent capabilities say nothing (older 0.3.x); present without "tool_use" says no.
          ...(m.capabilities !== undefined ? { toolUse: m.capabilities.includes("tool_use") } : {}),
        };
      });
    return { api: "v0", models };
  }
  const plain = OpenAiModelList.safeParse(await get("/v1/models"));
  if (plain.success) return { api: "openai", models: plain.data.data.map((m) => ({ id: m.id })) };
  throw new LlmError(
    "bad_response",
    `${lmStudioOrigin(options.baseUrl)} answered none of /api/v1/models, /api/v0/models, /v1/models with a model list`,
  );
}

/** The models alone (the provider's model list and connection test). */
export async function listLmStudioModels(
  options: Parameters<typeof listLmStudioModelsWithApi>[0],
): Promise<ModelInfo[]> {
  return (await listLmStudioModelsWithApi(options)).models;
}
