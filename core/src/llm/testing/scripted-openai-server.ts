import { type ScriptedServer, sendJson, startHarness } from "./http-harness.ts";
import { roughTokens, type Script, sleep } from "./script.ts";
import {
  LMSTUDIO_TOKEN_INVALID,
  LMSTUDIO_TOKEN_REQUIRED,
  type ScriptedModel,
  v0Models,
  v1Models,
} from "./scripted-lmstudio.ts";
import { streamTurn, wholeTurn } from "./scripted-openai-turns.ts";

export { LMSTUDIO_TOKEN_INVALID, LMSTUDIO_TOKEN_REQUIRED, type ScriptedModel } from "./scripted-lmstudio.ts";

export interface ScriptedOpenAiServerOptions {
  script: Script;
  /** Downloaded models. A chat request for any other model gets LM Studio's 404 `model_not_found`. */
  models?: ScriptedModel[];
  /** Require `Authorization: Bearer <token>` like LM Studio with "Require API token" on. */
  apiToken?: string;
  /** Which native listing this "LM Studio" has: 0.4+ (`v1`), 0.3.x (`v0`) or none (a plain
   * OpenAI-compatible server). Default `v1`. */
  nativeApi?: "v1" | "v0" | "none";
  /** Answer a streamed request that offers tools with HTTP 500 "Cannot use tools with stream", as
   * llama.cpp's server did before mid-2025. */
  refuseStreamWithTools?: boolean;
  /** How the server treats reasoning sent back on assistant turns. `required`: DeepSeek's thinking
   * mode, 400 when an earlier tool-calling turn lacks its `reasoning_content`. `rejected`: a server
   * that validates message fields (OpenAI, Mistral), 400 on `reasoning_content` / `reasoning`. */
  reasoningReplay?: "required" | "rejected";
  /** How long loading a model takes (`POST /api/v1/models/load`, or just in time on the first chat
   * request for a model that is not loaded). Default 0. */
  loadDelayMs?: number;
  /** Answer a prompt longer than the loaded context length with LM Studio's 400, as it does (the
   * prompt's tokens estimated as characters / 4). */
  enforceContextLength?: boolean;
  /** Predictions answered at once; more requests wait silently in the server's queue, as in LM
   * Studio (0.3.x: 1; 0.4: "Max Concurrent Predictions"). Default: no limit. */
  parallel?: number;
}

export interface ScriptedOpenAiServer extends ScriptedServer {
  /** The OpenAI base URL (`<origin>/v1`), what a provider's baseUrl is set to. */
  baseUrl: string;
  /** The models as they are now (a load changes them). */
  models: ScriptedModel[];
  /** Most chat requests that were being answered at the same time. */
  maxConcurrentChats(): number;
}

const DEFAULT_MODELS: ScriptedModel[] = [
  { id: "qwen2.5-7b-instruct", loaded: true, contextLength: 8192, maxContextLength: 32768, toolUse: true },
];

/**
 * A stand-in for LM Studio's server, speaking its OpenAI-compatible dialect on loopback: the only
 * "model" this project tests against, since no weights can be downloaded here. See `script.ts`.
 */
export async function startScriptedOpenAiServer(options: ScriptedOpenAiServerOptions): Promise<ScriptedOpenAiServer> {
  const models = (options.models ?? DEFAULT_MODELS).map((m) => ({ ...m }));
  const native = options.nativeApi ?? "v1";
  let inFlight = 0;
  let maxInFlight = 0;
  const serverQueue: Array<() => void> = [];
  const takeTurnSlot = async (closed: AbortSignal) => {
    if (options.parallel === undefined || inFlight < options.parallel) return;
    await new Promise<void>((resolve) => {
      serverQueue.push(resolve);
      closed.addEventListener("abort", () => {
        const i = serverQueue.indexOf(resolve);
        if (i >= 0) serverQueue.splice(i, 1);
        resolve();
      });
    });
  };
  const loading = new Map<string, Promise<void>>();
  /** One load per model at a time, like LM Studio's model loader. */
  const load = (m: ScriptedModel, contextLength: number) => {
    let pending = loading.get(m.id);
    if (!pending) {
      pending = sleep(options.loadDelayMs ?? 0).then(() => {
        m.loaded = true;
        m.contextLength = contextLength;
        loading.delete(m.id);
      });
      loading.set(m.id, pending);
    }
    return pending;
  };
  const harness = await startHarness({
    script: options.script,
    isChat: (path) => path === "/v1/chat/completions",
    handle: async (req, res, record, nextTurn, closed) => {
      if (options.apiToken && req.headers.authorization !== `Bearer ${options.apiToken}`) {
        return sendJson(res, 401, req.headers.authorization ? LMSTUDIO_TOKEN_INVALID : LMSTUDIO_TOKEN_REQUIRED);
      }
      const route = `${record.method} ${record.path}`;
      if (route === "GET /v1/models") {
        return sendJson(res, 200, {
          object: "list",
          data: models.map((m) => ({ id: m.id, object: "model", owned_by: "organization_owner" })),
        });
      }
      if (route === "GET /api/v1/models" && native === "v1") return sendJson(res, 200, v1Models(models));
      if (route === "GET /api/v0/models" && (native === "v0" || native === "v1"))
        return sendJson(res, 200, v0Models(models));
      if (route === "POST /api/v1/models/load" && native === "v1") {
        const body = (record.body ?? {}) as { model?: string; config?: { context_length?: number } };
        const m = models.find((x) => x.id === body.model);
        if (!m)
          return sendJson(res, 404, { error: { type: "not_found", message: `Model "${body.model}" not found.` } });
        if (m.loadError) return sendJson(res, 400, { error: { type: "invalid_request", message: m.loadError } });
        const wanted = body.config?.context_length ?? 4096;
        if (wanted > (m.maxContextLength ?? 32768)) {
          return sendJson(res, 400, {
            error: { type: "invalid_request", message: `context_length ${wanted} exceeds the model's maximum` },
          });
        }
        const started = Date.now();
        await load(m, wanted);
        return sendJson(res, 200, {
          type: "llm",
          instance_id: m.id,
          model_instance_id: m.id,
          config: { context_length: m.contextLength, eval_batch_size: 512, flash_attention: false },
          load_time_seconds: (Date.now() - started) / 1000,
          status: "loaded",
        });
      }
      if (route === "POST /v1/chat/completions") {
        const body = (record.body ?? {}) as {
          model?: string;
          stream?: boolean;
          stream_options?: { include_usage?: boolean };
          tools?: unknown[];
          messages?: Array<Record<string, unknown>>;
        };
        const model = body.model ?? "";
        const listed = models.find((m) => m.id === model);
        if (!listed) {
          // LM Studio's answer to a model it does not have (as seen from 0.3.5 on).
          return sendJson(res, 404, {
            error: {
              message: `Model "${model}" not found. Please specify a valid model.`,
              type: "invalid_request_error",
              param: "model",
              code: "model_not_found",
            },
          });
        }
        // Just-in-time loading: the first request for a model that is not loaded waits for the load.
        if (!listed.loaded) await load(listed, listed.contextLength ?? 4096);
        const replayProblem = checkReasoningReplay(body, options.reasoningReplay);
        if (replayProblem) return sendJson(res, 400, replayProblem);
        const promptTokens = roughTokens(JSON.stringify(body.messages ?? []));
        const loadedContext = listed.contextLength ?? 4096;
        if (options.enforceContextLength && promptTokens > loadedContext) {
          // LM Studio's words (0.3.x and 0.4) for a prompt that does not fit the loaded context.
          return sendJson(res, 400, {
            error: `Trying to keep the first ${promptTokens} tokens when context the overflows. However, the model is loaded with context length of only ${loadedContext} tokens, which is not enough. Try to load the model with a larger context length, or provide a shorter input`,
          });
        }
        if (options.refuseStreamWithTools && body.stream && body.tools?.length) {
          // llama.cpp's utils.hpp threw this from oaicompat_completion_params_parse.
          return sendJson(res, 500, {
            error: { code: 500, message: "Cannot use tools with stream", type: "server_error" },
          });
        }
        await takeTurnSlot(closed);
        if (closed.aborted) return;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          const t = await nextTurn();
          if (t.delayMs) await sleep(t.delayMs);
          if (closed.aborted) return;
          if (body.stream) return await streamTurn(res, t, model, !!body.stream_options?.include_usage, record, closed);
          return wholeTurn(res, t, model, closed);
        } finally {
          inFlight--;
          serverQueue.shift()?.();
        }
      }
      // LM Studio's answer to an unknown route.
      return sendJson(res, 200, { error: `Unexpected endpoint or method. (${route})` });
    },
  });
  return { ...harness, baseUrl: `${harness.origin}/v1`, models, maxConcurrentChats: () => maxInFlight };
}

/** The 400s of DeepSeek (reasoning missing) and of field-checking servers (reasoning present). */
function checkReasoningReplay(
  body: { messages?: Array<Record<string, unknown>> },
  mode: ScriptedOpenAiServerOptions["reasoningReplay"],
): unknown {
  if (!mode) return undefined;
  for (const [i, m] of (body.messages ?? []).entries()) {
    if (m.role !== "assistant") continue;
    const has = typeof m.reasoning_content === "string" || typeof m.reasoning === "string";
    const calls = Array.isArray(m.tool_calls) && m.tool_calls.length > 0;
    if (mode === "required" && calls && typeof m.reasoning_content !== "string") {
      return {
        error: {
          message: "The reasoning_content in the thinking mode must be passed back to the API.",
          type: "invalid_request_error",
          param: null,
          code: "invalid_request_error",
        },
      };
    }
    if (mode === "rejected" && has) {
      const field = typeof m.reasoning_content === "string" ? "reasoning_content" : "reasoning";
      return {
        error: {
          message: `Additional properties are not allowed ('${field}' was unexpected) - 'messages.${i}'`,
          type: "invalid_request_error",
          param: null,
          code: null,
        },
      };
    }
  }
  return undefined;
}
