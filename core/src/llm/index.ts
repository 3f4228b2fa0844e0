export { AnthropicClient, toAnthropicMessages } from "./anthropic-client.ts";
export { type ClientForProvider, clientForProvider } from "./client-for-provider.ts";
export { createLlmClient, LMSTUDIO_DEFAULT_BASE_URL, OPENAI_DEFAULT_BASE_URL } from "./create-llm-client.ts";
export { isFallbackable, LlmError, type LlmErrorCode } from "./errors.ts";
export { listLmStudioModels } from "./lmstudio-models.ts";
export { OpenAiCompatibleClient, toOpenAiMessages } from "./openai-compatible-client.ts";
export { canonicalArguments, normaliseToolCalls, ToolCallAssembler } from "./tool-calls.ts";
export { parseToolRequests, ToolRequestTextFilter } from "./tool-request.ts";
export type * from "./types.ts";
