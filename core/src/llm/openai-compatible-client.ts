import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import type {
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from "openai/resources/chat/completions";
import { LlmError } from "./errors.ts";
import { OpenAiAnswer, readReportedSpeed, readUsage } from "./openai-answer.ts";
import { codeForStatus, messageFromErrorBody, RequestDeadline } from "./request-deadline.ts";
import { surfaceSseErrorLines } from "./sse-error-lines.ts";
import { isStreamWithToolsRefusal, type StreamRefusals } from "./stream-refusals.ts";
import type {
  ChatMessage,
  ChatOptions,
  ChatRequest,
  ChatResponse,
  FetchLike,
  LlmClient,
  ModelInfo,
  ResponseSchema,
  SpeedStats,
  TokenUsage,
} from "./types.ts";

export interface OpenAiCompatibleClientOptions {
  baseUrl: string;
  apiKey?: string | null;
  fetch?: FetchLike;
  streamToolTurns?: boolean;
  timeoutMs: number;
  firstRequestTimeoutMs: number;
  maxRetries: number;
  maxTokens?: number;
  headers?: Record<string, string>;
  /** The server honours `response_format` on a turn that also offers tools (OpenAI does; LM Studio
   * constrains the whole reply to the schema, which leaves the model no way to call a tool). */
  schemaWithTools?: boolean;
  /** Where servers that refuse to stream tool turns are remembered (unset: never retried unstreamed). */
  streamRefusals?: StreamRefusals;
  /** How to list models; LM Studio's native listing is richer than `/v1/models`. */
  listModels?: (signal: AbortSignal | undefined) => Promise<ModelInfo[]>;
}

/** OpenAI, LM Studio and any server speaking the Chat Completions API, through the `openai` SDK. */
export class OpenAiCompatibleClient implements LlmClient {
  private readonly sdk: OpenAI;
  private readonly options: OpenAiCompatibleClientOptions;
  private readonly modelsUsed = new Set<string>();

  constructor(options: OpenAiCompatibleClientOptions) {
    this.options = options;
    const hasKey = !!options.apiKey;
    this.sdk = new OpenAI({
      baseURL: options.baseUrl,
      // The SDK insists on a key. LM Studio without auth needs none, so a placeholder satisfies the
      // SDK and the Authorization header is then removed below: no token is sent where none is set.
      apiKey: hasKey ? options.apiKey : "unused",
      // Explicit nulls keep the SDK from reading OPENAI_* variables of the Core's environment.
      adminAPIKey: null,
      organization: null,
      project: null,
      defaultHeaders: { ...options.headers, ...(hasKey ? {} : { Authorization: null }) },
      maxRetries: options.maxRetries,
      // Our own deadline (RequestDeadline) decides; the SDK's timer only backs it up.
      timeout: Math.max(options.timeoutMs, options.firstRequestTimeoutMs) + 1_000,
      fetch: surfaceSseErrorLines(options.fetch ?? ((input, init) => fetch(input, init))),
    });
  }

  /** The model is known to be in memory: its first request needs no load allowance. */
  markLoaded(model: string): void {
    this.modelsUsed.add(model);
  }

  async listModels(opts?: { signal?: AbortSignal }): Promise<ModelInfo[]> {
    if (this.options.listModels) return this.options.listModels(opts?.signal);
    const deadline = new RequestDeadline(opts?.signal ?? new AbortController().signal, this.options.timeoutMs);
    try {
      const models: ModelInfo[] = [];
      for await (const model of this.sdk.models.list({ signal: deadline.signal })) models.push({ id: model.id });
      return models;
    } catch (err) {
      throw toLlmError(err, deadline, this.options.baseUrl);
    } finally {
      deadline.dispose();
    }
  }

  async chat(request: ChatRequest, opts: ChatOptions): Promise<ChatResponse> {
    const hasTools = (request.tools?.length ?? 0) > 0;
    const refusals = this.options.streamRefusals;
    const stream =
      !(hasTools && this.options.streamToolTurns === false) &&
      !(hasTools && refusals?.has(this.options.baseUrl, request.model));
    try {
      return await this.attempt(request, opts, stream);
    } catch (err) {
      // llama.cpp (before mid-2025) refuses to stream a turn with tools; the same turn unstreamed works.
      if (stream && hasTools && refusals && err instanceof LlmError && isStreamWithToolsRefusal(err)) {
        refusals.add(this.options.baseUrl, request.model);
        return this.attempt(request, opts, false);
      }
      throw err;
    }
  }

  private async attempt(request: ChatRequest, opts: ChatOptions, stream: boolean): Promise<ChatResponse> {
    const firstUse = !this.modelsUsed.has(request.model);
    const hasTools = (request.tools?.length ?? 0) > 0;
    // A non-streamed answer is silent until the whole generation is done, so it gets the longer
    // deadline; a streamed one only has to start within it and then keep talking.
    const deadline = new RequestDeadline(
      opts.signal,
      firstUse || !stream
        ? Math.max(this.options.firstRequestTimeoutMs, this.options.timeoutMs)
        : this.options.timeoutMs,
    );
    const params: ChatCompletionCreateParamsBase = {
      model: request.model,
      messages: toOpenAiMessages(request.messages, this.options.baseUrl),
      ...(hasTools ? { tools: request.tools!.map(toOpenAiTool) } : {}),
      ...(request.responseSchema && (!hasTools || this.options.schemaWithTools || request.responseSchema.final)
        ? { response_format: toResponseFormat(request.responseSchema) }
        : {}),
      ...(hasTools && request.responseSchema?.final ? { tool_choice: "none" as const } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...((request.maxTokens ?? this.options.maxTokens) !== undefined
        ? { max_tokens: request.maxTokens ?? this.options.maxTokens }
        : {}),
    };
    const answer = new OpenAiAnswer({
      tools: request.tools ?? [],
      origin: this.options.baseUrl,
      streamed: stream,
      startedAt: performance.now(),
      now: () => performance.now(),
      // A whole answer is announced once, after parsing, so markup never reaches the live view.
      ...(stream ? { onTextDelta: opts.onTextDelta, onReasoningDelta: opts.onReasoningDelta } : {}),
    });
    try {
      const raw = stream
        ? await this.streamed(params, deadline, answer)
        : await this.whole(params, deadline, answer, opts);
      this.modelsUsed.add(request.model);
      return raw;
    } catch (err) {
      throw toLlmError(err, deadline, this.options.baseUrl);
    } finally {
      deadline.dispose();
    }
  }

  private async streamed(
    params: ChatCompletionCreateParamsBase,
    deadline: RequestDeadline,
    answer: OpenAiAnswer,
  ): Promise<ChatResponse> {
    const stream = await this.sdk.chat.completions.create(
      { ...params, stream: true, stream_options: { include_usage: true } },
      { signal: deadline.signal },
    );
    let finish: string | null = null;
    let usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
    let model = params.model;
    let reported: SpeedStats | undefined;
    for await (const chunk of stream) {
      deadline.touch();
      if (chunk.model) model = chunk.model;
      usage = readUsage(chunk.usage) ?? usage;
      reported = readReportedSpeed(chunk) ?? reported;
      const choice = chunk.choices?.find((c) => c.index === 0) ?? chunk.choices?.[0];
      if (!choice) continue;
      answer.add(choice.delta);
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    // The SDK ends the iteration quietly when the request is aborted; say why it stopped.
    const stopped = deadline.abortError();
    if (stopped) throw stopped;
    if (finish === null && answer.isEmpty()) {
      throw new LlmError("bad_response", "the stream ended without any content or finish reason");
    }
    return answer.finish(finish, usage, model, reported);
  }

  private async whole(
    params: ChatCompletionCreateParamsBase,
    deadline: RequestDeadline,
    answer: OpenAiAnswer,
    opts: ChatOptions,
  ): Promise<ChatResponse> {
    const completion = await this.sdk.chat.completions.create(
      { ...params, stream: false },
      { signal: deadline.signal },
    );
    const choice = completion.choices[0];
    if (!choice) throw new LlmError("bad_response", "the completion has no choices");
    answer.add(choice.message, true);
    const response = answer.finish(
      choice.finish_reason,
      readUsage(completion.usage) ?? { promptTokens: 0, completionTokens: 0 },
      completion.model || params.model,
      readReportedSpeed(completion),
    );
    if (response.reasoning) opts.onReasoningDelta?.(response.reasoning.text);
    if (response.text) opts.onTextDelta?.(response.text);
    return response;
  }
}

/** `origin` is the receiving server's base URL: reasoning it produced itself goes back to it. */
export function toOpenAiMessages(messages: ChatMessage[], origin?: string): ChatCompletionMessageParam[] {
  return messages.map((m) => toOpenAiMessage(m, origin));
}

function toOpenAiMessage(m: ChatMessage, origin: string | undefined): ChatCompletionMessageParam {
  switch (m.role) {
    case "system":
    case "user":
      return { role: m.role, content: m.content };
    case "assistant": {
      // DeepSeek's thinking mode requires the reasoning of every earlier tool-calling turn back, in
      // the field it came in; other servers never see it (some reject fields they do not know).
      const r = m.reasoning;
      const reasoning =
        r?.field && origin !== undefined && r.origin === origin && m.toolCalls?.length ? { [r.field]: r.text } : {};
      if (!m.toolCalls?.length) return { role: "assistant", content: m.content };
      return {
        role: "assistant",
        content: m.content || null,
        ...reasoning,
        tool_calls: m.toolCalls.map((c) => ({
          id: c.id,
          type: "function" as const,
          // Chat templates re-parse the arguments of earlier calls; a call whose arguments were
          // broken is replayed with `{}` (the tool's error message tells the model what was wrong).
          function: {
            name: c.name || "invalid_tool_call",
            arguments: isJsonObjectText(c.arguments) ? c.arguments : "{}",
          },
        })),
      } as ChatCompletionMessageParam;
    }
    case "tool":
      return { role: "tool", tool_call_id: m.toolCallId, content: m.content };
  }
}

function toOpenAiTool(tool: {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}): ChatCompletionTool {
  return {
    type: "function",
    function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
  };
}

function isJsonObjectText(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v);
  } catch {
    return false;
  }
}

function toLlmError(err: unknown, deadline: RequestDeadline, baseUrl: string): LlmError {
  if (err instanceof LlmError) return err;
  const stopped = deadline.abortError();
  if (stopped) return stopped;
  if (err instanceof APIUserAbortError) return new LlmError("cancelled", "the request was cancelled", { cause: err });
  if (err instanceof APIConnectionTimeoutError) {
    return new LlmError("timeout", `no answer from ${baseUrl} in time`, { cause: err });
  }
  if (err instanceof APIConnectionError) {
    return new LlmError("connection_failed", `cannot reach ${baseUrl}: ${describeCause(err)}`, { cause: err });
  }
  if (err instanceof APIError) {
    const { message, code } = messageFromErrorBody(err.error, err.message);
    // A status-less APIError is an error event inside a stream that had started fine: the server
    // failed while generating, which is its problem, not the request's.
    if (err.status === undefined) {
      const c = codeForStatus(500, message, code);
      return new LlmError(c, message, { cause: err });
    }
    return new LlmError(codeForStatus(err.status, message, code), message, { status: err.status, cause: err });
  }
  if (err instanceof SyntaxError)
    return new LlmError("bad_response", `unreadable response: ${err.message}`, { cause: err });
  // Undici reports a connection dropped mid-body as a TypeError ("terminated").
  if (err instanceof TypeError) {
    return new LlmError("connection_failed", `connection to ${baseUrl} failed: ${describeCause(err)}`, { cause: err });
  }
  return new LlmError("bad_response", err instanceof Error ? err.message : String(err), { cause: err });
}

/** The innermost cause's message (undici nests ECONNREFUSED two levels down). */
export function describeCause(err: unknown): string {
  let current: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  for (let depth = 0; depth < 5 && current instanceof Error && current.cause !== undefined; depth++) {
    current = current.cause;
    if (current instanceof Error && current.message) message = current.message;
    const code = (current as { code?: unknown } | undefined)?.code;
    if (typeof code === "string" && !message.includes(code)) message = `${code} ${message}`;
  }
  return message;
}

/** OpenAI's structured output, which LM Studio speaks too (its grammar enforces the schema).
 * Not `strict`: strict mode demands every property be required and no additionalProperties, a
 * stricter dialect than the JSON Schema a job may hold; the run validates with ajv regardless. */
export function toResponseFormat(schema: ResponseSchema): {
  type: "json_schema";
  json_schema: { name: string; schema: Record<string, unknown>; strict: false };
} {
  return { type: "json_schema", json_schema: { name: schema.name, schema: schema.schema, strict: false } };
}
