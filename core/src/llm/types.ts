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

export type ChatMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; toolCalls?: ToolCall[] }
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
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export type FinishReason = "stop" | "tool_calls" | "length" | "content_filter" | "other";

export interface ChatResponse {
  text: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: TokenUsage;
  /** The model that answered, as the server names it. */
  model: string;
}

export interface ChatOptions {
  signal: AbortSignal;
  /** Streamed text as it arrives; adapters that answer in one piece call it once. */
  onTextDelta?: (text: string) => void;
}

export interface ModelInfo {
  id: string;
  /** LM Studio only: whether an instance is in memory (the first call to an unloaded model is slow). */
  loaded?: boolean;
  /** The loaded instance's context length, else the model's maximum. */
  contextLength?: number;
  /** LM Studio 0.4+ only: `capabilities.trained_for_tool_use`, so the UI can warn before a job gives
   * tools to a model that will only follow LM Studio's generic `[TOOL_REQUEST]` prompt. */
  toolUse?: boolean;
}

export interface LlmClient {
  chat(request: ChatRequest, opts: ChatOptions): Promise<ChatResponse>;
  listModels(opts?: { signal?: AbortSignal }): Promise<ModelInfo[]>;
}

export type ProviderKind = "lmstudio" | "openai" | "anthropic" | "openai-compatible";

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
