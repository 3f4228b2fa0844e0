import { LlmError } from "../../llm/errors.ts";
import type {
  ChatOptions,
  ChatRequest,
  ChatResponse,
  LlmClient,
  ModelInfo,
  Reasoning,
  ToolCall,
} from "../../llm/types.ts";

/** What the fake model does on one request. */
export type FakeReply =
  | {
      text: string;
      toolCalls?: Array<Partial<ToolCall> & { name: string }>;
      usage?: { promptTokens: number; completionTokens: number; reasoningTokens?: number };
      /** What the model thought, as an adapter hands it over (apart from `text`). */
      reasoning?: Reasoning;
    }
  | { error: LlmError | Error }
  /** Stream `text`, then wait until the request is aborted (and fail with `cancelled`). */
  | { hangAfter: string };

/**
 * A model for loop tests: answers from a script (a list, or a function of the request), streams
 * text deltas, and records a copy of every request it got.
 */
export class RecordingLlmClient implements LlmClient {
  readonly requests: ChatRequest[] = [];
  private readonly script: FakeReply[] | ((request: ChatRequest, index: number) => FakeReply);

  constructor(script: FakeReply[] | ((request: ChatRequest, index: number) => FakeReply)) {
    this.script = script;
  }

  async listModels(): Promise<ModelInfo[]> {
    return [{ id: "fake" }];
  }

  async chat(request: ChatRequest, opts: ChatOptions): Promise<ChatResponse> {
    const index = this.requests.length;
    this.requests.push(structuredClone(request));
    const reply = typeof this.script === "function" ? this.script(request, index) : this.script[index];
    if (!reply) throw new Error(`the fake model has no reply ${index + 1}`);
    if (opts.signal.aborted) throw new LlmError("cancelled", "the request was cancelled");
    if ("error" in reply) throw reply.error;
    if ("hangAfter" in reply) {
      opts.onTextDelta?.(reply.hangAfter);
      await new Promise<void>((resolve) => {
        if (opts.signal.aborted) resolve();
        else opts.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      throw new LlmError("cancelled", "the request was cancelled");
    }
    // Stream in two pieces so consumers see more than one delta.
    const half = Math.ceil(reply.text.length / 2);
    if (reply.text) {
      opts.onTextDelta?.(reply.text.slice(0, half));
      if (reply.text.length > half) opts.onTextDelta?.(reply.text.slice(half));
    }
    const toolCalls: ToolCall[] = (reply.toolCalls ?? []).map((c, i) => ({
      id: c.id ?? `fc_${index}_${i}`,
      name: c.name,
      arguments: c.arguments ?? "{}",
      ...(c.parseError ? { parseError: c.parseError } : {}),
    }));
    return {
      text: reply.text,
      toolCalls,
      finishReason: toolCalls.length ? "tool_calls" : "stop",
      usage: reply.usage ?? { promptTokens: 10, completionTokens: 5 },
      model: request.model,
      ...(reply.reasoning ? { reasoning: reply.reasoning } : {}),
    };
  }
}
