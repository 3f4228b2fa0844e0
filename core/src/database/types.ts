/**
 * Domain objects the repositories return: camelCase, JSON columns parsed, 0/1 as booleans, and
 * secret material never present (only `hasApiKey` / `hasSecret`). Timestamps stay ISO-8601 text,
 * as stored, so they round-trip through JSON unchanged.
 */

export type {
  ChannelKind,
  DeliveryEvent,
  DeliveryStatus,
  ProviderKind,
  Role,
  RunStatus,
  RunTrigger,
} from "./schema.ts";

export * from "./types-accounts.ts";
export * from "./types-audit.ts";
export * from "./types-channels.ts";
export * from "./types-jobs.ts";
export * from "./types-nodes.ts";
export * from "./types-providers.ts";
export * from "./types-runs.ts";
