import type { LmStudioV0Models, LmStudioV1Models } from "../lmstudio-models.ts";

/* What the scripted server says as LM Studio itself: its model listings (0.4's /api/v1/models, 0.3.x's
 * /api/v0/models) and its answers to a missing or unknown API token. */

export interface ScriptedModel {
  id: string;
  type?: "llm" | "embedding";
  loaded?: boolean;
  /** The loaded instance's context length. */
  contextLength?: number;
  maxContextLength?: number;
  toolUse?: boolean;
  /** The load endpoint refuses this model with this message (as when memory runs short). */
  loadError?: string;
}

/** LM Studio 0.4's answer to a request without the token "Require Authentication" asks for. */
export const LMSTUDIO_TOKEN_REQUIRED = {
  error: {
    type: "invalid_request",
    code: "invalid_api_key",
    message:
      "An LM Studio API token is required to make requests to this server, but none was provided using the Authorization header using the 'Bearer' scheme (i.e., 'Authorization: Bearer $LM_API_TOKEN'). Learn more at: https://lmstudio.ai/docs/developer/core/authentication.",
  },
};

/** Its answer to a token it does not know. */
export const LMSTUDIO_TOKEN_INVALID = {
  error: {
    type: "invalid_request",
    code: "invalid_api_key",
    message:
      "The provided API token is invalid. Learn more at: https://lmstudio.ai/docs/developer/core/authentication.",
  },
};

/** LM Studio 0.4's listing of the downloaded models. */
export function v1Models(models: ScriptedModel[]): LmStudioV1Models {
  return {
    models: models.map((m) => ({
      type: m.type ?? "llm",
      publisher: "lmstudio-community",
      key: m.id,
      display_name: m.id,
      architecture: "qwen2",
      quantization: { name: "Q4_K_M", bits_per_weight: 4 },
      size_bytes: 4_683_073_184,
      params_string: "7B",
      loaded_instances: m.loaded
        ? [
            {
              id: m.id,
              config: { context_length: m.contextLength ?? 4096, eval_batch_size: 512, flash_attention: false },
            },
          ]
        : [],
      max_context_length: m.maxContextLength ?? 32768,
      format: "gguf",
      capabilities: { vision: false, trained_for_tool_use: m.toolUse ?? false },
      description: null,
    })),
  };
}

/** LM Studio 0.3.x's listing. */
export function v0Models(models: ScriptedModel[]): LmStudioV0Models {
  return {
    data: models.map((m) => ({
      id: m.id,
      object: "model",
      type: m.type === "embedding" ? "embeddings" : "llm",
      publisher: "lmstudio-community",
      arch: "qwen2",
      compatibility_type: "gguf",
      quantization: "Q4_K_M",
      state: m.loaded ? "loaded" : "not-loaded",
      max_context_length: m.maxContextLength ?? 32768,
      ...(m.loaded ? { loaded_context_length: m.contextLength ?? 4096 } : {}),
      // 0.3.x lists "tool_use" for models trained for it, and nothing for the others.
      capabilities: m.toolUse ? ["tool_use"] : [],
    })),
  };
}
