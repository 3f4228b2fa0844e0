import { LlmError } from "./errors.ts";
import { type LmStudioApiOptions, type LmStudioLoadResult, lmStudioOrigin, loadLmStudioModel } from "./lmstudio-api.ts";
import { describeLmStudioAuth } from "./lmstudio-errors.ts";
import { listLmStudioModelsWithApi } from "./lmstudio-models.ts";
import type { OpenAiCompatibleClient } from "./openai-compatible-client.ts";
import type { ChatOptions, ChatRequest, ChatResponse, LlmClient, ModelInfo, ModelStatus } from "./types.ts";

export interface LmStudioClientOptions {
  /** Speaks LM Studio's OpenAI-compatible chat endpoint. */
  chat: OpenAiCompatibleClient;
  api: LmStudioApiOptions;
  timeoutMs: number;
  /** The longest a model load may take. */
  loadTimeoutMs: number;
  /** The context length to load a model with (the provider's `contextTokens`); LM Studio's own
   * default for the model when unset. */
  loadContextLength?: number | undefined;
  /** Loads in flight, shared by every client of the process (clients are created per run). */
  loads?: Map<string, Promise<LmStudioLoadResult | undefined>>;
}

/** Loads under way, by server and model, so parallel runs that need the same unloaded model ask LM
 * Studio to load it once (each load request makes another instance in memory). */
const loadsInFlight = new Map<string, Promise<LmStudioLoadResult | undefined>>();

/**
 * LM Studio as its users run it: the token on every request (and a 401 that says so), the native
 * model list for what is loaded, with which context and whether it was trained for tool use, and a
 * model that is not loaded loaded before the run's turn (`POST /api/v1/models/load` on 0.4+, else
 * LM Studio's just-in-time load on the first request), reported as it happens.
 */
export class LmStudioClient implements LlmClient {
  private readonly options: LmStudioClientOptions;
  /** Models known loaded, with what the server said about them (per run: clients are per run). */
  private readonly ready = new Map<string, ModelInfo>();
  private nativeApi: "v1" | "v0" | "openai" | undefined;

  constructor(options: LmStudioClientOptions) {
    this.options = options;
  }

  /** LM Studio 0.4 predicts 4 requests at once by default ("Max Concurrent Predictions"); 0.3.x
   * and unknown servers one. */
  defaultConcurrency(): number {
    return this.nativeApi === "v1" ? 4 : 1;
  }

  async listModels(opts?: { signal?: AbortSignal }): Promise<ModelInfo[]> {
    const { api, models } = await this.list(opts?.signal);
    this.nativeApi = api;
    return models;
  }

  async prepare(
    model: string,
    opts: { signal: AbortSignal; onStatus?: (status: ModelStatus) => void },
  ): Promise<ModelInfo | undefined> {
    const known = this.ready.get(model);
    if (known) return known;
    let models: ModelInfo[];
    try {
      models = await this.listModels({ signal: opts.signal });
    } catch (err) {
      // A server without any model list may still chat; a refused token or a dead server may not.
      if (err instanceof LlmError && err.code === "bad_response") return undefined;
      throw err;
    }
    const info = models.find((m) => m.id === model);
    // Not downloaded: the chat request gets LM Studio's own "model not found" (and the fallback).
    if (!info) return undefined;
    if (info.loaded !== false) return this.markReady(model, info);
    if (this.nativeApi === "v1") {
      opts.onStatus?.({
        state: "loading",
        how: "load_endpoint",
        ...(this.options.loadContextLength ? { contextLength: this.options.loadContextLength } : {}),
      });
      const started = performance.now();
      const result = await this.load(model, info, opts.signal);
      if (result) {
        const contextLength = result.config?.context_length ?? this.options.loadContextLength;
        opts.onStatus?.({
          state: "loaded",
          loadMs: Math.round(performance.now() - started),
          ...(contextLength ? { contextLength } : {}),
        });
        return this.markReady(model, {
          ...info,
          loaded: true,
          ...(contextLength ? { contextLength, loadedContextLength: contextLength } : {}),
        });
      }
    }
    // 0.3.x: the first request loads it (just in time) under the first-request timeout. Not kept
    // as ready, so the next turn reads the context length it was loaded with.
    opts.onStatus?.({ state: "loading", how: "jit" });
    return info;
  }

  async chat(request: ChatRequest, opts: ChatOptions): Promise<ChatResponse> {
    try {
      return await this.options.chat.chat(request, opts);
    } catch (err) {
      throw err instanceof LlmError ? describeLmStudioAuth(err, !!this.options.api.apiKey) : err;
    }
  }

  private markReady(model: string, info: ModelInfo): ModelInfo {
    this.ready.set(model, info);
    // Loaded: the chat request's first-request deadline (meant for a load) no longer applies.
    this.options.chat.markLoaded(model);
    return info;
  }

  private list(signal: AbortSignal | undefined) {
    const { api } = this.options;
    return listLmStudioModelsWithApi({
      baseUrl: api.baseUrl,
      apiKey: api.apiKey ?? null,
      timeoutMs: this.options.timeoutMs,
      ...(api.fetch ? { fetch: api.fetch } : {}),
      ...(api.headers ? { headers: api.headers } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  /** One load per server and model at a time; each caller may stop waiting on its own signal. */
  private async load(model: string, info: ModelInfo, signal: AbortSignal): Promise<LmStudioLoadResult | undefined> {
    const loads = this.options.loads ?? loadsInFlight;
    const key = `${lmStudioOrigin(this.options.api.baseUrl)}\u0000${model}`;
    let pending = loads.get(key);
    if (!pending) {
      const wanted = this.options.loadContextLength;
      // More than the model supports is refused by LM Studio; the model's maximum is the closest.
      const contextLength =
        wanted !== undefined && info.maxContextLength !== undefined ? Math.min(wanted, info.maxContextLength) : wanted;
      pending = loadLmStudioModel(this.options.api, model, {
        contextLength,
        // Not the run's signal: another run may be waiting for the same load.
        signal: new AbortController().signal,
        timeoutMs: this.options.loadTimeoutMs,
      })
        .catch((err: unknown) => {
          throw couldNotLoad(model, err);
        })
        .finally(() => loads.delete(key));
      loads.set(key, pending);
    }
    return untilAborted(pending, signal);
  }
}

/**
 * A refused load (not enough memory, a context the model cannot take) is this server's problem,
 * not the job's: another provider in the job's chain may well run it, so it falls back. A refused
 * token stays what it is.
 */
function couldNotLoad(model: string, err: unknown): LlmError {
  if (!(err instanceof LlmError))
    return new LlmError("server_error", `LM Studio could not load ${model}: ${String(err)}`);
  if (err.code === "auth_required" || err.code === "auth_failed" || err.code === "timeout") return err;
  return new LlmError("server_error", `LM Studio could not load ${model}: ${err.message}`, {
    ...(err.status !== undefined ? { status: err.status } : {}),
    cause: err,
  });
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new LlmError("cancelled", "the request was cancelled"));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new LlmError("cancelled", "the request was cancelled"));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
