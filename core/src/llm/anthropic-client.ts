import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from "@anthropic-ai/sdk";
import type {
  ContentBlockParam,
  MessageCreateParamsBase,
  MessageParam,
  StopReason,
  Tool,
} from "@anthropic-ai/sdk/resources/messages";
import { LlmError } from "./errors.ts";
import { describeCause } from "./openai-compatible-client.ts";
import { codeForStatus, messageFromErrorBody, RequestDeadline } from "./request-deadline.ts";
import { normaliseToolCalls } from "./tool-calls.ts";
import type {
  ChatMessage,
  ChatOptions,
  ChatRequest,
  ChatResponse,
  FetchLike,
  FinishReason,
  LlmClient,
  ModelInfo,
  ResponseSchema,
  TokenUsage,
  ToolCall,
} from "./types.ts";

export interface AnthropicClientOptions {
  baseUrl?: string | null;
  apiKey?: string | null;
  fetch?: FetchLike;
  timeoutMs: number;
  firstRequestTimeoutMs: number;
  maxRetries: number;
  /** The Messages API requires a limit on the answer. */
  maxTokens: number;
  headers?: Record<string, string>;
}

/** Anthropic's Messages API through `@anthropic-ai/sdk`. */
export class AnthropicClient implements LlmClient {
  private readonly sdk: Anthropic;
  private readonly options: AnthropicClientOptions;
  private readonly baseUrl: string;
  private readonly modelsUsed = new Set<string>();

  constructor(options: AnthropicClientOptions) {
    this.options = options;
    // The SDK appends `/v1/...` itself; accept a base URL written either way.
    this.baseUrl = (options.baseUrl || "https://api.anthropic.com").replace(/\/+$/, "").replace(/\/v1$/, "");
    this.sdk = new Anthropic({
      baseURL: this.baseUrl,
      // Always a string: an absent key must not make the SDK fall back to the Core's environment
      // variables or credential files.
      apiKey: options.apiKey ?? "",
      maxRetries: options.maxRetries,
      timeout: Math.max(options.timeoutMs, options.firstRequestTimeoutMs) + 1_000,
      logLevel: "off",
      ...(options.headers ? { defaultHeaders: options.headers } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  async listModels(opts?: { signal?: AbortSignal }): Promise<ModelInfo[]> {
    const deadline = new RequestDeadline(opts?.signal ?? new AbortController().signal, this.options.timeoutMs);
    try {
      const models: ModelInfo[] = [];
      for await (const model of this.sdk.models.list({}, { signal: deadline.signal })) models.push({ id: model.id });
      return models;
    } catch (err) {
      throw toLlmError(err, deadline, this.baseUrl);
    } finally {
      deadline.dispose();
    }
  }

  async chat(request: ChatRequest, opts: ChatOptions): Promise<ChatResponse> {
    const deadline = new RequestDeadline(
      opts.signal,
      this.modelsUsed.has(request.model) ? this.options.timeoutMs : this.options.firstRequestTimeoutMs,
    );
    const system = request.messages
      .filter((m) => m.role === "system")
      .map((m) => m.content)
      .join("\n\n");
    const forced = forcedSchemaTool(request);
    const params: MessageCreateParamsBase = {
      model: request.model,
      max_tokens: request.maxTokens ?? this.options.maxTokens,
      messages: toAnthropicMessages(request.messages),
      ...(system ? { system } : {}),
      ...(request.tools?.length ? { tools: request.tools.map(toAnthropicTool) } : {}),
      ...(forced
        ? {
            tools: [
              ...(request.tools ?? []).map(toAnthropicTool),
              { name: forced.name, description: FORCED_DESCRIPTION, input_schema: forced.inputSchema },
            ],
            tool_choice: { type: "tool" as const, name: forced.name },
          }
        : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    };
    try {
      const stream = await this.sdk.messages.create({ ...params, stream: true }, { signal: deadline.signal });
      const blocks = new Map<
        number,
        { kind: "text" | "tool"; id: string; name: string; text: string; input: unknown }
      >();
      let usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
      let stop: StopReason | null = null;
      let model = request.model;
      let sawStop = false;
      for await (const event of stream) {
        deadline.touch();
        switch (event.type) {
          case "message_start":
            model = event.message.model;
            usage = {
              promptTokens: event.message.usage.input_tokens,
              completionTokens: event.message.usage.output_tokens,
            };
            break;
          case "content_block_start": {
            const block = event.content_block;
            if (block.type === "text") {
              blocks.set(event.index, { kind: "text", id: "", name: "", text: block.text, input: undefined });
              if (block.text) opts.onTextDelta?.(block.text);
            } else if (block.type === "tool_use") {
              blocks.set(event.index, { kind: "tool", id: block.id, name: block.name, text: "", input: block.input });
            }
            break;
          }
          case "content_block_delta": {
            const block = blocks.get(event.index);
            if (!block) break;
            if (event.delta.type === "text_delta") {
              block.text += event.delta.text;
              opts.onTextDelta?.(event.delta.text);
            } else if (event.delta.type === "input_json_delta") {
              block.text += event.delta.partial_json;
            }
            break;
          }
          case "message_delta":
            stop = event.delta.stop_reason ?? stop;
            // Usage in message_delta is cumulative.
            usage = {
              promptTokens: event.usage.input_tokens ?? usage.promptTokens,
              completionTokens: event.usage.output_tokens,
            };
            break;
          case "message_stop":
            sawStop = true;
            break;
          default:
            break;
        }
      }
      const stopped = deadline.abortError();
      if (stopped) throw stopped;
      if (!sawStop && stop === null) throw new LlmError("bad_response", "the stream ended before message_stop");
      let text = "";
      let answered = false;
      const calls: ToolCall[] = [];
      for (const index of [...blocks.keys()].sort((a, b) => a - b)) {
        const block = blocks.get(index)!;
        if (block.kind === "text") text += block.text;
        // The forced tool's input IS the answer: the run reads it as the final JSON, not a call.
        else if (forced && block.name === forced.name) {
          text = block.text || JSON.stringify(block.input ?? {});
          answered = true;
        }
        // With no input deltas (an empty input), the start block carries the whole input.
        else calls.push({ id: block.id, name: block.name, arguments: block.text || JSON.stringify(block.input ?? {}) });
      }
      this.modelsUsed.add(request.model);
      const toolCalls = normaliseToolCalls(calls, "toolu_");
      const finishReason = answered ? "stop" : finishReasonOf(stop, toolCalls.length > 0);
      return { text, toolCalls, finishReason, usage, model };
    } catch (err) {
      throw toLlmError(err, deadline, this.baseUrl);
    } finally {
      deadline.dispose();
    }
  }
}

const FORCED_DESCRIPTION = "Give your final answer as this tool's input. It is the answer, not an action.";

/**
 * Anthropic has no response_format: its structured output is a tool the model is made to call
 * (`tool_choice: {type: "tool"}`), whose input is the answer. Only on a turn that offers no other
 * tools, or that must be the answer (a forced call keeps the model from using the others; they stay
 * declared because the Messages API wants every tool of the conversation defined), and for an
 * object schema (a tool's input is an object).
 */
function forcedSchemaTool(request: ChatRequest): { name: string; inputSchema: Tool.InputSchema } | null {
  const schema: ResponseSchema | undefined = request.responseSchema;
  if (schema?.schema.type !== "object") return null;
  if ((request.tools?.length ?? 0) > 0 && !schema.final) return null;
  // A job tool with the same name would be shadowed; the run's tool names never are "result".
  if (request.tools?.some((t) => t.name === schema.name)) return null;
  return { name: schema.name, inputSchema: schema.schema as Tool.InputSchema };
}

function finishReasonOf(stop: StopReason | null, hasCalls: boolean): FinishReason {
  if (hasCalls) return "tool_calls";
  switch (stop) {
    case "end_turn":
    case "stop_sequence":
      return "stop";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "refusal":
      return "content_filter";
    default:
      return "other";
  }
}

/** Anthropic requires `^[a-zA-Z0-9_-]+$` ids; ids from another provider (after a fallback) may not be. */
const anthropicId = (id: string) => id.replace(/[^a-zA-Z0-9_-]/g, "_") || "id";

/**
 * The neutral conversation as Messages API turns: the system prompt goes to `system` (not here),
 * assistant tool calls become `tool_use` blocks, tool results become `tool_result` blocks in the next
 * user turn, and consecutive messages of one role merge, because the API wants strict alternation.
 */
export function toAnthropicMessages(messages: ChatMessage[]): MessageParam[] {
  const out: Array<{ role: "user" | "assistant"; content: ContentBlockParam[] }> = [];
  const push = (role: "user" | "assistant", blocks: ContentBlockParam[]) => {
    if (blocks.length === 0) return;
    const last = out[out.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  for (const m of messages) {
    switch (m.role) {
      case "system":
        break;
      case "user":
        push("user", [{ type: "text", text: m.content }]);
        break;
      case "assistant": {
        const blocks: ContentBlockParam[] = [];
        if (m.content) blocks.push({ type: "text", text: m.content });
        for (const call of m.toolCalls ?? []) {
          blocks.push({
            type: "tool_use",
            id: anthropicId(call.id),
            name: call.name || "invalid_tool_call",
            input: parseObject(call.arguments),
          });
        }
        push("assistant", blocks);
        break;
      }
      case "tool":
        push("user", [
          {
            type: "tool_result",
            tool_use_id: anthropicId(m.toolCallId),
            content: m.content,
            ...(m.isError ? { is_error: true } : {}),
          },
        ]);
        break;
    }
  }
  return out;
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    if (v !== null && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // Broken arguments are replayed as {}; the tool result already told the model what was wrong.
  }
  return {};
}

function toAnthropicTool(tool: { name: string; description: string; inputSchema: Record<string, unknown> }): Tool {
  return { name: tool.name, description: tool.description, input_schema: { ...tool.inputSchema, type: "object" } };
}

function toLlmError(err: unknown, deadline: RequestDeadline, baseUrl: string): LlmError {
  if (err instanceof LlmError) return err;
  const stopped = deadline.abortError();
  if (stopped) return stopped;
  if (err instanceof APIUserAbortError) return new LlmError("cancelled", "the request was cancelled", { cause: err });
  if (err instanceof APIConnectionTimeoutError)
    return new LlmError("timeout", `no answer from ${baseUrl} in time`, { cause: err });
  if (err instanceof APIConnectionError) {
    return new LlmError("connection_failed", `cannot reach ${baseUrl}: ${describeCause(err)}`, { cause: err });
  }
  if (err instanceof APIError) {
    const { message } = messageFromErrorBody(err.error, err.message);
    const type = (err.error as { error?: { type?: unknown } } | undefined)?.error?.type;
    if (err.status === undefined) {
      // An `event: error` inside a stream (e.g. overloaded_error mid-answer).
      return new LlmError(type === "invalid_request_error" ? "invalid_request" : "server_error", message, {
        cause: err,
      });
    }
    const code = type === "not_found_error" ? "model_not_found" : codeForStatus(err.status, message);
    return new LlmError(code, message, { status: err.status, cause: err });
  }
  if (err instanceof SyntaxError)
    return new LlmError("bad_response", `unreadable response: ${err.message}`, { cause: err });
  if (err instanceof TypeError) {
    return new LlmError("connection_failed", `connection to ${baseUrl} failed: ${describeCause(err)}`, { cause: err });
  }
  return new LlmError("bad_response", err instanceof Error ? err.message : String(err), { cause: err });
}
