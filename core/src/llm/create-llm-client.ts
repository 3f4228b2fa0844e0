import { AnthropicClient } from "./anthropic-client.ts";
import { ConcurrencyLimitedClient } from "./concurrency-limited-client.ts";
import { LmStudioClient } from "./lmstudio-client.ts";
import { OpenAiCompatibleClient } from "./openai-compatible-client.ts";
import { type ProviderSlots, providerSlots } from "./provider-slots.ts";
import { type StreamRefusals, streamRefusals } from "./stream-refusals.ts";
import type { FetchLike, LlmClient, ProviderConfig } from "./types.ts";

export const LMSTUDIO_DEFAULT_BASE_URL = "http://localhost:1234/v1";
export const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";

const DEFAULT_TIMEOUT_MS = 120_000;
/** LM Studio loads a model on its first request (just-in-time loading); large models take minutes. */
const LMSTUDIO_FIRST_REQUEST_TIMEOUT_MS = 600_000;

/** One LlmClient for a stored provider. `fetch` is injectable for tests and proxies. */
export function createLlmClient(
  provider: ProviderConfig,
  deps: { fetch?: FetchLike; streamRefusals?: StreamRefusals; slots?: ProviderSlots } = {},
): LlmClient {
  const client = createUnlimited(provider, deps);
  const options = provider.options ?? {};
  const slots = deps.slots ?? providerSlots;
  // Keyed by the server, not the provider: two providers pointing at one LM Studio share its slots.
  const key = `${provider.kind}\u0000${(provider.baseUrl || (provider.kind === "lmstudio" ? LMSTUDIO_DEFAULT_BASE_URL : "")).replace(/\/+$/, "")}`;
  if (client instanceof LmStudioClient) {
    return new ConcurrencyLimitedClient(client, {
      slots,
      key,
      limit: () => options.maxConcurrent ?? client.defaultConcurrency(),
    });
  }
  if (options.maxConcurrent !== undefined) {
    const limit = options.maxConcurrent;
    return new ConcurrencyLimitedClient(client, { slots, key, limit: () => limit });
  }
  return client;
}

function createUnlimited(
  provider: ProviderConfig,
  deps: { fetch?: FetchLike; streamRefusals?: StreamRefusals },
): LlmClient {
  const options = provider.options ?? {};
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const common = {
    timeoutMs,
    headers: options.headers,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  };
  switch (provider.kind) {
    case "lmstudio": {
      const baseUrl = provider.baseUrl || LMSTUDIO_DEFAULT_BASE_URL;
      const firstRequestTimeoutMs =
        options.firstRequestTimeoutMs ?? Math.max(LMSTUDIO_FIRST_REQUEST_TIMEOUT_MS, timeoutMs);
      const chat = new OpenAiCompatibleClient({
        ...common,
        baseUrl,
        apiKey: provider.apiKey,
        streamToolTurns: options.streamToolTurns ?? true,
        streamRefusals: deps.streamRefusals ?? streamRefusals,
        firstRequestTimeoutMs,
        // A local server that refuses a connection will not accept it a second later; fall back now.
        maxRetries: options.maxRetries ?? 0,
        ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
      });
      return new LmStudioClient({
        chat,
        api: { baseUrl, apiKey: provider.apiKey, fetch: deps.fetch, headers: options.headers },
        timeoutMs,
        loadTimeoutMs: firstRequestTimeoutMs,
        loadContextLength: options.contextTokens,
      });
    }
    case "openai":
    case "openai-compatible":
      if (provider.kind === "openai-compatible" && !provider.baseUrl) {
        throw new TypeError("an openai-compatible provider needs a baseUrl");
      }
      return new OpenAiCompatibleClient({
        ...common,
        baseUrl: provider.baseUrl || OPENAI_DEFAULT_BASE_URL,
        apiKey: provider.apiKey,
        streamToolTurns: options.streamToolTurns ?? true,
        streamRefusals: deps.streamRefusals ?? streamRefusals,
        firstRequestTimeoutMs: options.firstRequestTimeoutMs ?? timeoutMs,
        maxRetries: options.maxRetries ?? (provider.kind === "openai" ? 2 : 0),
        schemaWithTools: provider.kind === "openai",
        ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
      });
    case "anthropic":
      return new AnthropicClient({
        ...common,
        baseUrl: provider.baseUrl,
        apiKey: provider.apiKey,
        firstRequestTimeoutMs: options.firstRequestTimeoutMs ?? timeoutMs,
        maxRetries: options.maxRetries ?? 2,
        maxTokens: options.maxTokens ?? 4096,
      });
  }
}
