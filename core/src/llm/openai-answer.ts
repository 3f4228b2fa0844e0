import { readContent, readReasoningField } from "./content-parts.ts";
import { MarkupStreamFilter } from "./markup-stream-filter.ts";
import { dropTrailingCallMarkup, parseTextToolCalls } from "./text-tool-calls.ts";
import { splitThinkTags } from "./think-tags.ts";
import { normaliseToolCalls, ToolCallAssembler, type ToolCallDelta } from "./tool-calls.ts";
import type { ChatResponse, FinishReason, Reasoning, SpeedStats, TokenUsage, ToolCall, ToolSpec } from "./types.ts";

/**
 * One Chat Completions answer put together from what the server sent — streamed deltas or a whole
 * message — whatever dialect the server speaks: content as a string or as parts, reasoning in
 * `reasoning_content` / `reasoning` / `thinking` parts / `<think>` tags, tool calls native or
 * written as text, empty phantom calls. The adapter feeds it; `finish` decides what the answer was.
 */
export class OpenAiAnswer {
  private content = "";
  private reasoningFromField = "";
  private reasoningField: Reasoning["field"];
  private reasoningFromParts = "";
  private readonly assembler = new ToolCallAssembler();
  private readonly nativeCalls: ToolCall[] = [];
  private readonly filter: MarkupStreamFilter | undefined;
  private firstTokenAt: number | undefined;
  private lastTokenAt: number | undefined;
  private readonly options: AnswerOptions;

  constructor(options: AnswerOptions) {
    this.options = options;
    const { onTextDelta, onReasoningDelta } = options;
    this.filter =
      onTextDelta || onReasoningDelta
        ? new MarkupStreamFilter({
            hideToolMarkup: options.tools.length > 0,
            onText: (t) => onTextDelta?.(t),
            onReasoning: (t) => onReasoningDelta?.(t),
          })
        : undefined;
  }

  /** A streamed `delta`, or a whole answer's `message` (then tool calls come whole). */
  add(message: unknown, whole = false): void {
    if (!message || typeof message !== "object") return;
    const m = message as { content?: unknown; tool_calls?: unknown };
    const field = readReasoningField(m);
    if (field) {
      this.tick();
      this.reasoningField ??= field.field;
      this.reasoningFromField += field.text;
      this.options.onReasoningDelta?.(field.text);
    }
    const { text, reasoning } = readContent(m.content);
    if (reasoning) {
      this.tick();
      this.reasoningFromParts += reasoning;
      this.options.onReasoningDelta?.(reasoning);
    }
    if (text) {
      this.tick();
      this.content += text;
      this.filter?.push(text);
    }
    if (Array.isArray(m.tool_calls)) {
      if (m.tool_calls.length) this.tick();
      for (const call of m.tool_calls as Array<Record<string, unknown>>) {
        if (whole) {
          const fn = (call.function ?? {}) as { name?: unknown; arguments?: unknown };
          this.nativeCalls.push({
            id: typeof call.id === "string" ? call.id : "",
            name: typeof fn.name === "string" ? fn.name : "",
            arguments: typeof fn.arguments === "string" ? fn.arguments : JSON.stringify(fn.arguments ?? {}),
          });
        } else this.assembler.add(call as unknown as ToolCallDelta);
      }
    }
  }

  /** Nothing at all arrived (no content, no reasoning, no call). */
  isEmpty(): boolean {
    return this.firstTokenAt === undefined;
  }

  finish(finish: string | null | undefined, usage: TokenUsage, model: string, reported?: SpeedStats): ChatResponse {
    this.filter?.end();
    const think = splitThinkTags(this.content);
    let text = think.text;
    let calls = [...this.nativeCalls, ...this.assembler.finish()].filter((c) => !isEmptyCall(c));
    let textToolCalls: ChatResponse["textToolCalls"];
    if (this.options.tools.length > 0) {
      if (calls.length === 0) {
        const parsed = parseTextToolCalls(text, this.options.tools, "txtcall_");
        if (parsed.toolCalls.length > 0) {
          text = parsed.text;
          calls = parsed.toolCalls;
          textToolCalls = parsed.format;
        }
      } else {
        // Real calls came: markup in the content is a leaked duplicate or a half-written fragment.
        text = dropTrailingCallMarkup(text);
      }
    }
    calls = normaliseToolCalls(calls, "call_");
    const reasoningText = [this.reasoningFromField, this.reasoningFromParts, think.reasoning]
      .map((r) => r.trim())
      .filter(Boolean)
      .join("\n\n");
    const reasoning: Reasoning | undefined = reasoningText
      ? {
          text: reasoningText,
          // Only reasoning that came in a field of its own goes back (in that field, to this server).
          ...(this.reasoningField && this.reasoningFromField.trim()
            ? { field: this.reasoningField, origin: this.options.origin }
            : {}),
        }
      : undefined;
    const speed = reported ?? this.measuredSpeed(usage);
    return {
      text,
      toolCalls: calls,
      finishReason: finishReasonOf(finish, calls.length > 0),
      usage,
      model,
      ...(reasoning ? { reasoning } : {}),
      ...(speed ? { speed } : {}),
      ...(textToolCalls ? { textToolCalls } : {}),
    };
  }

  private tick(): void {
    const t = this.options.now();
    this.firstTokenAt ??= t;
    this.lastTokenAt = t;
  }

  private measuredSpeed(usage: TokenUsage): SpeedStats | undefined {
    if (!this.options.streamed || this.firstTokenAt === undefined) return undefined;
    const speed: SpeedStats = {
      timeToFirstTokenMs: Math.max(0, Math.round(this.firstTokenAt - this.options.startedAt)),
    };
    // The first token opens the window, so it is not counted in it; a window of a few milliseconds
    // (a call arriving in one burst) says nothing about speed.
    const generating = (this.lastTokenAt ?? this.firstTokenAt) - this.firstTokenAt;
    if (generating >= MIN_SPEED_WINDOW_MS && usage.completionTokens > 1) {
      speed.tokensPerSecond = Math.round(((usage.completionTokens - 1) / (generating / 1000)) * 10) / 10;
    }
    return speed;
  }
}

/** Shorter generation windows give no tokens-per-second figure. */
const MIN_SPEED_WINDOW_MS = 50;

export interface AnswerOptions {
  tools: readonly ToolSpec[];
  /** The server's base URL: where reasoning may be sent back to. */
  origin: string;
  streamed: boolean;
  startedAt: number;
  now: () => number;
  onTextDelta?: ((text: string) => void) | undefined;
  onReasoningDelta?: ((text: string) => void) | undefined;
}

/** LM Studio #830: after a finished answer, a call with no name and no arguments (and no id). Run as
 * a call it costs a step and tells the model "There is no tool named """. */
function isEmptyCall(call: ToolCall): boolean {
  const args = call.arguments.trim();
  return call.name.trim() === "" && (args === "" || args === "{}");
}

/** Tool calls decide the finish reason whatever the server said: LM Studio reports "stop" for calls
 * it left in the content, and "tool_calls" for the phantom calls dropped above. */
function finishReasonOf(finish: string | null | undefined, hasCalls: boolean): FinishReason {
  if (hasCalls) return "tool_calls";
  if (finish === "stop" || finish === "length" || finish === "content_filter") return finish;
  if (finish === "tool_calls" || finish === "eos" || finish === "end_turn") return "stop";
  return "other";
}

/** `usage` as Chat Completions servers send it, reasoning tokens included when reported. */
export function readUsage(usage: unknown): TokenUsage | undefined {
  if (!usage || typeof usage !== "object") return undefined;
  const u = usage as {
    prompt_tokens?: unknown;
    completion_tokens?: unknown;
    completion_tokens_details?: { reasoning_tokens?: unknown } | null;
  };
  if (typeof u.prompt_tokens !== "number" && typeof u.completion_tokens !== "number") return undefined;
  const reasoningTokens = u.completion_tokens_details?.reasoning_tokens;
  return {
    promptTokens: typeof u.prompt_tokens === "number" ? u.prompt_tokens : 0,
    completionTokens: typeof u.completion_tokens === "number" ? u.completion_tokens : 0,
    ...(typeof reasoningTokens === "number" && reasoningTokens > 0 ? { reasoningTokens } : {}),
  };
}

/** LM Studio's native endpoints add `stats: {tokens_per_second, time_to_first_token (s)}`. */
export function readReportedSpeed(body: unknown): SpeedStats | undefined {
  const stats = (body as { stats?: { tokens_per_second?: unknown; time_to_first_token?: unknown } } | null)?.stats;
  if (!stats || typeof stats !== "object") return undefined;
  const speed: SpeedStats = {};
  if (typeof stats.tokens_per_second === "number")
    speed.tokensPerSecond = Math.round(stats.tokens_per_second * 10) / 10;
  if (typeof stats.time_to_first_token === "number")
    speed.timeToFirstTokenMs = Math.round(stats.time_to_first_token * 1000);
  return Object.keys(speed).length ? speed : undefined;
}
