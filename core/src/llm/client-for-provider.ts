import type { LlmClient, ProviderConfig } from "./types.ts";

/** A stored provider's model client: how a run's models and the provider routes get one. */
export type ClientForProvider<P> = (provider: P) => Promise<LlmClient>;

/**
 * The one composition of the two steps every caller needs: open the provider's sealed parts into a
 * client config, then build the client for it. The Core passes services/provider-credentials.ts's
 * `providerConfig` as `open`, so llm/ never reads secrets, and `createLlmClient` (or a test's
 * scripted client) as `create`. Either step's error reaches the caller unchanged: a run fails
 * naming the provider whose key does not open (issue 21.3).
 */
export function clientForProvider<P>(
  open: (provider: P) => Promise<ProviderConfig>,
  create: (config: ProviderConfig) => LlmClient,
): ClientForProvider<P> {
  return async (provider) => create(await open(provider));
}
