import type { ServerResponse } from "node:http";
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import type { LmStudioV0Models, LmStudioV1Models } from "../lmstudio-models.ts";
import { type ScriptedServer, sendJson, startHarness, untilClosed } from "./http-harness.ts";
import {
  argumentsText,
  chunksOf,
  type RecordedRequest,
  roughTokens,
  type Script,
  type ScriptedToolCall,
  sleep,
  type Turn,
} from "./script.ts";

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

function v1Models(models: ScriptedModel[]): LmStudioV1Models {
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

function v0Models(models: ScriptedModel[]): LmStudioV0Models {
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

/** LM Studio bodies most failures as `{"error": "<text>"}` (a string, not OpenAI's object). */
function errorBody(t: Extract<Turn, { type: "error" }>): unknown {
  if (t.body !== undefined) return t.body;
  return {
    error: t.message ?? (t.status >= 500 ? "Internal server error" : `<LM Studio error> request failed (${t.status})`),
  };
}

let idCounter = 365174485;
const toolCallId = (call: ScriptedToolCall) => call.id ?? String(idCounter++);

function toolRequestContent(t: Extract<Turn, { type: "tool_request" }>): string {
  if (t.raw !== undefined) return t.raw;
  const blocks = t.calls.map(
    (c) =>
      `[TOOL_REQUEST]${JSON.stringify({ name: c.name, arguments: typeof c.arguments === "string" ? c.arguments : (c.arguments ?? {}) })}[END_TOOL_REQUEST]`,
  );
  return (t.text ? `${t.text}\n` : "") + blocks.join("\n");
}

async function streamTurn(
  res: ServerResponse,
  t: Turn,
  model: string,
  includeUsage: boolean,
  record: RecordedRequest,
  closed: AbortSignal,
): Promise<void> {
  if (t.type === "error") return sendJson(res, t.status, errorBody(t));
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const id = `chatcmpl-${Math.random().toString(36).slice(2, 23)}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (
    delta: ChatCompletionChunk.Choice.Delta,
    finish: ChatCompletionChunk.Choice["finish_reason"] = null,
  ): ChatCompletionChunk => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    system_fingerprint: model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const send = async (c: ChatCompletionChunk) => {
    if (closed.aborted) return;
    res.write(`data: ${JSON.stringify(c)}\n\n`);
    if (t.chunkDelayMs) await sleep(t.chunkDelayMs);
  };
  const sendText = async (text: string, size: number) => {
    let first = true;
    for (const piece of chunksOf(text, size)) {
      await send(chunk(first ? { role: "assistant", content: piece } : { content: piece }));
      first = false;
    }
  };
  const promptTokens = roughTokens(JSON.stringify(record.body ?? ""));
  let completionText = "";
  let finish: ChatCompletionChunk.Choice["finish_reason"] = "stop";
  let usage: { promptTokens: number; completionTokens: number } | undefined;

  switch (t.type) {
    case "raw": {
      for (const event of t.events) {
        if ("sse" in event) {
          if (!closed.aborted) res.write(`${event.sse}\n\n`);
        } else
          await send(chunk(event.delta as ChatCompletionChunk.Choice.Delta, (event.finishReason ?? null) as never));
      }
      if (includeUsage && t.usage) {
        await send({
          id,
          object: "chat.completion.chunk",
          created,
          model,
          system_fingerprint: model,
          choices: [],
          usage: usageOf(t.usage),
        });
      }
      if (!closed.aborted) res.end("data: [DONE]\n\n");
      return;
    }
    case "hang":
      if (t.text) await sendText(t.text, 8);
      return untilClosed(closed);
    case "disconnect":
      if (t.text) await sendText(t.text, 8);
      res.destroy();
      return;
    case "text":
      await sendText(t.text, t.chunkSize ?? 8);
      completionText = t.text;
      finish = t.finishReason ?? "stop";
      usage = t.usage;
      break;
    case "tool_request": {
      const content = toolRequestContent(t);
      await sendText(content, t.chunkSize ?? 8);
      completionText = content;
      break;
    }
    case "tool_calls": {
      if (t.text) await sendText(t.text, 8);
      const size = t.argumentsChunkSize ?? 5;
      const calls = t.calls.map((c, index) => ({
        index,
        id: toolCallId(c),
        name: c.name,
        pieces: chunksOf(argumentsText(c), size),
      }));
      // Each call opens with its id and name and empty arguments, as LM Studio streams them.
      const opening = (c: (typeof calls)[number]) =>
        chunk({
          tool_calls: [{ index: c.index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }],
        });
      const piece = (c: (typeof calls)[number], p: string) =>
        chunk({ tool_calls: [{ index: c.index, function: { arguments: p } }] });
      if (t.interleave) {
        for (const c of calls) await send(opening(c));
        const longest = Math.max(0, ...calls.map((c) => c.pieces.length));
        for (let i = 0; i < longest; i++)
          for (const c of calls) if (c.pieces[i] !== undefined) await send(piece(c, c.pieces[i]!));
      } else {
        for (const c of calls) {
          await send(opening(c));
          for (const p of c.pieces) await send(piece(c, p));
        }
      }
      completionText = calls.map((c) => c.name + c.pieces.join("")).join("");
      finish = "tool_calls";
      usage = t.usage;
      break;
    }
  }
  await send(chunk({}, finish));
  if (includeUsage) {
    const u = usage ?? { promptTokens, completionTokens: roughTokens(completionText) };
    await send({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      system_fingerprint: model,
      choices: [],
      usage: {
        prompt_tokens: u.promptTokens,
        completion_tokens: u.completionTokens,
        total_tokens: u.promptTokens + u.completionTokens,
      },
    });
  }
  if (!closed.aborted) res.end("data: [DONE]\n\n");
}

async function wholeTurn(res: ServerResponse, t: Turn, model: string, closed: AbortSignal): Promise<void> {
  if (t.type === "error") return sendJson(res, t.status, errorBody(t));
  if (t.type === "hang") return untilClosed(closed);
  if (t.type === "disconnect") {
    res.destroy();
    return;
  }
  if (t.type === "raw") {
    return sendJson(res, 200, {
      id: `chatcmpl-${Math.random().toString(36).slice(2, 23)}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, logprobs: null, finish_reason: t.finishReason, message: t.message }],
      usage: usageOf(t.usage ?? { promptTokens: 100, completionTokens: 20 }),
      system_fingerprint: model,
    });
  }
  let message: ChatCompletion.Choice["message"];
  let finish: ChatCompletion.Choice["finish_reason"] = "stop";
  let usage = t.type === "text" || t.type === "tool_calls" ? t.usage : undefined;
  let completionText = "";
  if (t.type === "text") {
    message = { role: "assistant", content: t.text, refusal: null };
    finish = t.finishReason ?? "stop";
    completionText = t.text;
  } else if (t.type === "tool_request") {
    completionText = toolRequestContent(t);
    message = { role: "assistant", content: completionText, refusal: null };
  } else {
    message = {
      role: "assistant",
      content: t.text ?? null,
      refusal: null,
      tool_calls: t.calls.map((c) => ({
        id: toolCallId(c),
        type: "function",
        function: { name: c.name, arguments: argumentsText(c) },
      })),
    };
    completionText = t.calls.map((c) => c.name + argumentsText(c)).join("");
    finish = "tool_calls";
  }
  usage ??= { promptTokens: 100, completionTokens: roughTokens(completionText) };
  const completion: ChatCompletion = {
    id: `chatcmpl-${Math.random().toString(36).slice(2, 23)}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, logprobs: null, finish_reason: finish, message }],
    usage: {
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      total_tokens: usage.promptTokens + usage.completionTokens,
    },
    system_fingerprint: model,
  };
  sendJson(res, 200, completion);
}

function usageOf(u: { promptTokens: number; completionTokens: number; reasoningTokens?: number }) {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    ...(u.reasoningTokens !== undefined ? { completion_tokens_details: { reasoning_tokens: u.reasoningTokens } } : {}),
  };
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
