import type { ChannelKind, DeliveryEvent, DeliveryStatus } from "./schema.ts";

/* Notification channels and their queued deliveries.
 * Imported through types.ts, which re-exports every one. */

/** A notification channel as listed: the config's secret parts are never in it. */
export interface Channel {
  id: string;
  name: string;
  kind: ChannelKind;
  /** What is not secret (a webhook's URL, an email's from/to, a Slack URL's host). */
  config: Record<string, unknown>;
  /** Names of the secret config fields that are set (their values are never returned). */
  secrets: string[];
  createdAt: string;
}

export interface NewChannel {
  name: string;
  kind: ChannelKind;
  config: Record<string, unknown>;
  /** Plain text; sealed before it reaches the database. */
  secret: Record<string, string>;
}

/** One notification of one run through one channel, and how its sending went. */
export interface Delivery {
  id: string;
  runId: string;
  channelId: string;
  event: DeliveryEvent;
  dedupeKey: string;
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  payload: Record<string, unknown>;
  nextAttemptAt: string;
  createdAt: string;
  deliveredAt: string | null;
}

export interface NewDelivery {
  runId: string;
  channelId: string;
  event: DeliveryEvent;
  dedupeKey: string;
  payload: Record<string, unknown>;
}
