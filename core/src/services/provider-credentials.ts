import type { ProvidersRepo } from "../database/index.ts";
import type { Provider } from "../database/types.ts";
import type { ProviderConfig } from "../llm/index.ts";
import { type UnreadableSecrets, unreadableError } from "../secrets/unreadable-secrets.ts";

/**
 * The client config of a stored provider with its sealed parts opened for this use only: the API
 * key and the custom headers (issue 21.1: header values are credentials too). A part that does not
 * open is reported and thrown as a SecretsError naming the provider (issue 21.3).
 */
export async function providerConfig(
  providers: Pick<ProvidersRepo, "getApiKey" | "getHeaders">,
  provider: Provider,
  unreadable?: Pick<UnreadableSecrets, "report">,
): Promise<ProviderConfig> {
  let apiKey: string | undefined;
  try {
    apiKey = provider.hasApiKey ? await providers.getApiKey(provider.id) : undefined;
  } catch (error) {
    unreadable?.report("provider_api_key", provider.id, provider.name, error);
    throw unreadableError("provider_api_key", provider.name, error);
  }
  let headers: Record<string, string> = {};
  try {
    headers = provider.headers.length ? await providers.getHeaders(provider.id) : {};
  } catch (error) {
    unreadable?.report("provider_header", provider.id, provider.name, error);
    throw unreadableError("provider_header", provider.name, error);
  }
  return {
    kind: provider.kind,
    baseUrl: provider.baseUrl,
    apiKey: apiKey ?? null,
    options: Object.keys(headers).length ? { ...provider.options, headers } : provider.options,
    name: provider.name,
  };
}

/** Redactor entries for a provider's header values: the whole value, and for `Bearer x`/`Basic x`
 * the credential alone (a tool or an error text may print just that). */
export function headerRedactions(providerName: string, headers: Record<string, string>) {
  const out: Array<{ name: string; value: string }> = [];
  for (const [header, value] of Object.entries(headers)) {
    const name = `provider:${providerName}.${header}`;
    out.push({ name, value });
    const credential = /^(?:bearer|basic|token|apikey)\s+(\S+)\s*$/i.exec(value)?.[1];
    if (credential) out.push({ name, value: credential });
  }
  return out;
}
