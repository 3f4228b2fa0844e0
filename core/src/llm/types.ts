import type { ProviderKind } from "@fabricore/protocol";

/**
 * The provider-neutral shape of a chat with tools. Every adapter (OpenAI-compatible, Anthropic)
 * translates to and from exactly this, so the agent loop never sees a provider's wire format.
 */

/** A tool call as the model made it. `arguments` stays the raw JSON text the model produced, because
 * models do emit broken JSON and the agent loop must be able to tell the model so. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
  /** Set by an adapter when it saw a tool request it could not make sense of (e.g. a
   * `[TOOL_REQUEST]` block whose JSON does not parse); the loop sends this back as the tool's error. */
  parseError?: string;
}

/**
 * What a model thought before answering, kept apart from its answer: shown collapsed in the
 * transcript, never part of a run's output.
 */
export interface Reasoning {
  text: string;
  /** The wire field it arrived in when the server sent it apart from the content
   * (`reasoning_content`: DeepSeek, LM Studio, vLLM, Qwen; `reasoning`: gpt-oss servers, Ollama,
   * OpenRouter). The adapter sends it back in that field, to the server that sent it only: DeepSeek's
   * thinking mode requires it on every earlier tool-calling turn, servers that check fields reject it. */
  field?: "reasoning_content" | "reasoning";
  /** The server that produced it (the adapter's base URL), so it is never replayed to another. */
  origin?: string;
  /** Anthropic's signature of a thinking block (replayed with the block, as the API requires). */
  signature?: string;
}

export type ChatMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; toolCalls?: ToolCall[]; reasoning?: Reasoning }
  | { role: "tool"; toolCallId: string; toolName: string; content: string; isError?: boolean };

/** A tool as offered to the model (its model-facing name). */
export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  maxTokens?: number;
  temperature?: number;
  /** A job's output schema, for the provider's native structured output: OpenAI and LM Studio's
   * `response_format: {type: "json_schema"}`, Anthropic's forced tool. Clients use it where the
   * server honours it together with this request's tools (see each client); the run checks the
   * answer against the schema either way. */
  responseSchema?: ResponseSchema;
}

export interface ResponseSchema {
  name: string;
  schema: Record<string, unknown>;
  /** This turn must be the answer (the run's corrective turn): tools stay declared, for the
   * conversation that used them, but no call is wanted, so the schema binds even with tools. */
  final?: boolean;
}

export interface TokenUsage {
  promptTokens: number;
  /** Everything the model generated, reasoning included (as every provider counts it). */
  completionTokens: number;
  /** The part of `completionTokens` spent on reasoning, when the server reports it. */
  reasoningTokens?: number;
}

/** How fast the model answered, measured by the adapter (or as the server reports it). */
export interface SpeedStats {
  /** From sending the request to the first generated token (text, reasoning or tool call). */
  timeToFirstTokenMs?: number;
  /** Completion tokens over the time from the first token to the last. */
  tokensPerSecond?: number;
}

export type FinishReason = "stop" | "tool_calls" | "length" | "content_filter" | "other";

export interface ChatResponse {
  text: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: TokenUsage;
  /** The model that answered, as the server names it. */
  model: string;
  /** Present when the model reasoned (in a field of its own, a `thinking` part or `<think>` tags). */
  reasoning?: Reasoning;
  speed?: SpeedStats;
  /** Set when the adapter turned text in the content into tool calls (`[TOOL_REQUEST]`, Hermes
   * `<tool_call>` JSON, Qwen3-Coder `<function=…>` XML) because no native call came. */
  textToolCalls?: "tool_request" | "hermes" | "qwen_xml";
}

export interface ChatOptions {
  signal: AbortSignal;
  /** Streamed text as it arrives; adapters that answer in one piece call it once. */
  onTextDelta?: (text: string) => void;
  /** Streamed reasoning as it arrives (never mixed into `onTextDelta`). */
  onReasoningDelta?: (text: string) => void;
  /** What holds the request up before the model starts (queued for the server, model loading). */
  onStatus?: (status: ModelStatus) => void;
}

/** Why a model request has not started yet, for the run's live view ("waiting for model"). */
export type ModelStatus =
  /** Waiting for one of the provider's `maxConcurrent` slots; `ahead` requests go first. */
  | { state: "queued"; ahead: number; limit: number }
  /** The server is loading the model: through LM Studio's load endpoint, or just in time on the
   * first request (0.3.x, or when the load endpoint is missing). */
  | { state: "loading"; how: "load_endpoint" | "jit"; contextLength?: number }
  /** The load finished (load endpoint only: a JIT load ends when the answer starts). */
  | { state: "loaded"; loadMs: number; contextLength?: number };

export interface ModelInfo {
  id: string;
  /** LM Studio only: whether an instance is in memory (the first call to an unloaded model is slow). */
  loaded?: boolean;
  /** The loaded instance's context length, else the model's maximum. */
  contextLength?: number;
  /** LM Studio only: the context length the model is loaded with (absent when not loaded): what
   * bounds a run's prompt. */
  loadedContextLength?: number;
  /** LM Studio only: the longest context the model supports. */
  maxContextLength?: number;
  /** LM Studio 0.4+ only: `capabilities.trained_for_tool_use`, so the UI can warn before a job gives
   * tools to a model that will only follow LM Studio's generic `[TOOL_REQUEST]` prompt. */
  toolUse?: boolean;
}

export interface LlmClient {
  chat(request: ChatRequest, opts: ChatOptions): Promise<ChatResponse>;
  listModels(opts?: { signal?: AbortSignal }): Promise<ModelInfo[]>;
  /**
   * Gets `model` ready before a run's turn and says what it is (LM Studio: loads it when it is not
   * loaded, reports its loaded context length and tool-use capability). Undefined: nothing known.
   * Adapters without such an API leave it out.
   */
  prepare?(
    model: string,
    opts: { signal: AbortSignal; onStatus?: (status: ModelStatus) => void },
  ): Promise<ModelInfo | undefined>;
}

export type { ProviderKind };

/** Per-provider switches, stored as the provider's `options` JSON. */
export interface ProviderOptions {
  /** Stream turns that offer tools (default true). Some servers garble streamed tool calls; false
   * makes those turns non-streaming while plain text turns still stream. */
  streamToolTurns?: boolean;
  /** Longest wait for a response to start, and longest silence between streamed chunks. */
  timeoutMs?: number;
  /** The same for the first request to each model (LM Studio loads a model just in time on first use,
   * which can take minutes) and for non-streamed turns (silent until the whole answer is ready). */
  firstRequestTimeoutMs?: number;
  /** SDK-level retries of connection errors and 5xx before the error surfaces (and fallback starts). */
  maxRetries?: number;
  /** Anthropic requires `max_tokens`; also sent to OpenAI-compatible servers when set. */
  maxTokens?: number;
  /** Extra headers on every request (e.g. a gateway's routing header). */
  headers?: Record<string, string>;
  /** The model's context length when the server does not report it; LM Studio also loads a model
   * that is not loaded with this context length. */
  contextTokens?: number;
  /** Most model requests in flight at once to this server (the rest wait in the run, shown as
   * "waiting for model"). LM Studio default: 4 on 0.4+ (its default parallel predictions), 1 on
   * older servers; other kinds: unlimited. */
  maxConcurrent?: number;
}

export interface ProviderConfig {
  kind: ProviderKind;
  baseUrl?: string | null;
  apiKey?: string | null;
  options?: ProviderOptions | null;
  /** Used in error messages only. */
  name?: string;
}

export type FetchLike = typeof fetch;
