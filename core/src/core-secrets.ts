import type { Logger as PinoLogger } from "pino";
import type { Channels } from "./channels/channels.ts";
import type { Repositories } from "./database/index.ts";
import type { Provider } from "./database/types.ts";
import { clientForProvider, type LlmClient, type ProviderConfig } from "./llm/index.ts";
import type { Metrics } from "./metrics.ts";
import { SecretsError } from "./secrets/errors.ts";
import type { SecretRedactor } from "./secrets/redactor.ts";
import { type SealedKind, UnreadableSecrets, unreadableMessage } from "./secrets/unreadable-secrets.ts";
import type { Audit } from "./services/audit.ts";
import { headerRedactions, providerConfig } from "./services/provider-credentials.ts";

export interface CoreSecretsOptions {
  repos: Repositories;
  audit: Audit;
  metrics: Metrics;
  redactor: SecretRedactor;
  llmFactory: (provider: ProviderConfig) => LlmClient;
  logger: PinoLogger;
  /** The channels service, made after this (its secrets refresh the redactor); undefined until then. */
  channels: () => Channels | undefined;
}

export interface CoreSecrets {
  unreadableSecrets: UnreadableSecrets;
  /** One way from a stored provider to its model client, for runs and the provider routes alike. */
  clientFor: (provider: Provider) => Promise<LlmClient>;
  /** Re-reads every sealed value into the redactor, noting the ones that do not open. */
  refreshRedactor: () => Promise<void>;
}

/** The redactor's sources and the report of sealed values that do not open (issue 21.3). */
export function wireSecrets(options: CoreSecretsOptions): CoreSecrets {
  const { repos, audit, logger, redactor } = options;
  // A sealed value that does not open is reported (log, audit, /metrics, GET /api/secrets/unreadable)
  // and skipped, so only what uses it fails (issue 21.3).
  const unreadableSecrets = new UnreadableSecrets({
    onNew: (row) => {
      logger.error(
        { kind: row.kind, name: row.name, id: row.id, code: row.code },
        unreadableMessage(row.kind, row.name, row.code),
      );
      void audit.record({
        actor: "core",
        action: "secret.unreadable",
        target: `${row.kind}:${row.name}`,
        outcome: "failed",
        detail: { id: row.id, code: row.code },
      });
    },
  });
  options.metrics.secretsUnreadable.collect(() => unreadableSecrets.countByKind());
  const clientFor = clientForProvider(
    (provider: Provider) => providerConfig(repos.providers, provider, unreadableSecrets),
    options.llmFactory,
  );
  const refreshRedactor = async () => {
    const found: Array<{ kind: SealedKind; id: string; name: string; code: SecretsError["code"] }> = [];
    const note = (kind: SealedKind) => (row: { id: string; name: string }, error: unknown) => {
      if (!(error instanceof SecretsError)) throw error;
      found.push({ kind, id: row.id, name: row.name, code: error.code });
    };
    const values = await repos.secrets.listValues(note("secret"));
    const channels = options.channels();
    if (channels) values.push(...(await channels.secretValues(note("channel_secret"))));
    for (const provider of await repos.providers.list()) {
      let apiKey: string | undefined;
      try {
        apiKey = provider.hasApiKey ? await repos.providers.getApiKey(provider.id) : undefined;
      } catch (error) {
        note("provider_api_key")({ id: provider.id, name: provider.name }, error);
      }
      if (apiKey) values.push({ name: `provider:${provider.name}`, value: apiKey });
      if (!provider.headers.length) continue;
      try {
        values.push(...headerRedactions(provider.name, await repos.providers.getHeaders(provider.id)));
      } catch (error) {
        note("provider_header")({ id: provider.id, name: provider.name }, error);
      }
    }
    unreadableSecrets.replaceScan(["secret", "channel_secret", "provider_api_key", "provider_header"], found);
    redactor.set(values);
  };
  return { unreadableSecrets, clientFor, refreshRedactor };
}
