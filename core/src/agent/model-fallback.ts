import { isFallbackable, LlmError } from "../llm/errors.ts";
import type { ChatRequest, ChatResponse, ModelInfo, ModelStatus, TokenUsage } from "../llm/types.ts";
import type { AgentModel, LlmStep, StepSink } from "./types.ts";

export type TurnOutcome =
  | { kind: "answered"; response: ChatResponse; modelIndex: number }
  | { kind: "failed"; error: string }
  | { kind: "cancelled" };

/**
 * One model turn with the job's fallback rules: starting at `startIndex`, try each model until one
 * answers. A fallbackable error (unreachable, timeout, 5xx, unknown model) moves to the next model;
 * any other error ends the run with the provider's message. Every attempt is recorded as an `llm`
 * step, failed ones with their error and the model tried next.
 */
export async function callWithFallback(args: {
  models: readonly AgentModel[];
  startIndex: number;
  /** The request, or how to build it for a model once it is known (its context length). */
  request: Omit<ChatRequest, "model"> | ((model: ModelInfo | undefined) => TurnRequest);
  /** What `prepare` said of each model (by index), kept for the run: a loaded model stays loaded. */
  prepared?: Map<number, ModelInfo | undefined>;
  signal: AbortSignal;
  step: number;
  sink: StepSink;
  now: () => number;
  usage: TokenUsage;
}): Promise<TurnOutcome> {
  const { models, sink, now } = args;
  let lastError = "no model configured";
  for (let i = args.startIndex; i < models.length; i++) {
    const m = models[i]!;
    if (args.signal.aborted) return { kind: "cancelled" };
    sink.event?.({
      type: "model_attempt_started",
      step: args.step,
      attempt: i - args.startIndex + 1,
      provider: m.providerName,
      model: m.model,
    });
    const started = now();
    let loadMs: number | undefined;
    const onStatus = (status: ModelStatus) => {
      if (status.state === "loaded") loadMs = status.loadMs;
      sink.event?.({ type: "model_status", step: args.step, provider: m.providerName, model: m.model, status });
    };
    let built: TurnRequest | undefined;
    try {
      const prepared = args.prepared ?? new Map<number, ModelInfo | undefined>();
      if (!prepared.has(i) || prepared.get(i)?.loaded === false) {
        const info = m.client.prepare ? await m.client.prepare(m.model, { signal: args.signal, onStatus }) : undefined;
        prepared.set(i, info);
      }
      built = typeof args.request === "function" ? args.request(prepared.get(i)) : { request: args.request };
      const response = await m.client.chat(
        { ...built.request, model: m.model },
        {
          signal: args.signal,
          onTextDelta: (text) => sink.event?.({ type: "text_delta", step: args.step, text }),
          onStatus,
        },
      );
      args.usage.promptTokens += response.usage.promptTokens;
      args.usage.completionTokens += response.usage.completionTokens;
      const step: LlmStep = {
        type: "llm",
        provider: m.providerName,
        model: m.model,
        durationMs: elapsed(started, now()),
        usage: response.usage,
        finishReason: response.finishReason,
        ...(response.text ? { text: response.text } : {}),
        // Apart from `text`: shown folded in the transcript, never part of the run's output.
        ...(response.reasoning?.text ? { reasoning: response.reasoning.text } : {}),
        ...(response.toolCalls.length
          ? { toolCalls: response.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })) }
          : {}),
        ...(response.speed ? { speed: response.speed } : {}),
        ...(loadMs !== undefined ? { loadMs } : {}),
        ...context(built),
      };
      await sink.step(step);
      return { kind: "answered", response, modelIndex: i };
    } catch (err) {
      const cancelled = args.signal.aborted || (err instanceof LlmError && err.code === "cancelled");
      const message = err instanceof Error ? err.message : String(err);
      const next = !cancelled && isFallbackable(err) ? models[i + 1] : undefined;
      await sink.step({
        type: "llm",
        provider: m.providerName,
        model: m.model,
        durationMs: elapsed(started, now()),
        usage: { promptTokens: 0, completionTokens: 0 },
        error: message,
        ...(err instanceof LlmError ? { errorCode: err.code } : {}),
        ...(next ? { fallback: { provider: next.providerName, model: next.model } } : {}),
        ...context(built),
      });
      if (cancelled) return { kind: "cancelled" };
      lastError = `${m.providerName}/${m.model}: ${message}`;
      if (!isFallbackable(err)) return { kind: "failed", error: lastError };
    }
  }
  return {
    kind: "failed",
    error: models.length - args.startIndex > 1 ? `every model failed; the last one said ${lastError}` : lastError,
  };
}

/** A turn's request and how it was fitted to the model. */
export interface TurnRequest {
  request: Omit<ChatRequest, "model">;
  contextTokens?: number | undefined;
  removedToolOutputs?: number | undefined;
  warning?: string | undefined;
}

function context(built: TurnRequest | undefined): Partial<LlmStep> {
  if (!built) return {};
  return {
    ...(built.contextTokens ? { contextTokens: built.contextTokens } : {}),
    ...(built.removedToolOutputs ? { removedToolOutputs: built.removedToolOutputs } : {}),
    ...(built.warning ? { warning: built.warning } : {}),
  };
}

const elapsed = (from: number, to: number) => Math.max(0, Math.round(to - from));
