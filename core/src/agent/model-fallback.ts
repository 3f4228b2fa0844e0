import { isFallbackable, LlmError } from "../llm/errors.ts";
import type { ChatRequest, ChatResponse, TokenUsage } from "../llm/types.ts";
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
  request: Omit<ChatRequest, "model">;
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
    try {
      const response = await m.client.chat(
        { ...args.request, model: m.model },
        { signal: args.signal, onTextDelta: (text) => sink.event?.({ type: "text_delta", step: args.step, text }) },
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
        ...(response.toolCalls.length
          ? { toolCalls: response.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })) }
          : {}),
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

const elapsed = (from: number, to: number) => Math.max(0, Math.round(to - from));
