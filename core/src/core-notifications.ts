import type { Logger as PinoLogger } from "pino";
import { Channels } from "./channels/channels.ts";
import { DeliveryWorker } from "./channels/delivery-worker.ts";
import { RunNotifier } from "./channels/notifier.ts";
import type { Repositories } from "./database/index.ts";
import type { CoreEnv } from "./env.ts";
import type { Metrics } from "./metrics.ts";
import type { SecretRedactor } from "./secrets/redactor.ts";

export interface CoreNotificationsOptions {
  env: CoreEnv;
  repos: Repositories;
  /** This process's id on the delivery leases. */
  owner: string;
  /** In a cluster the other replicas' leases are live: they are not released at start. */
  clustered: boolean;
  publicUrl: string;
  metrics: Metrics;
  redactor: SecretRedactor;
  refreshRedactor: () => Promise<void>;
  logger: PinoLogger;
}

/** Notification channels, the worker that sends their deliveries and the hook that queues them when a
 * run's status changes (CONTRACT "Results that reach people"). */
export async function wireNotifications(options: CoreNotificationsOptions) {
  const { env, repos, publicUrl, logger } = options;
  const channels = new Channels({
    channels: repos.channels,
    jobs: repos.jobs,
    publicUrl,
    timeoutMs: env.FABRICORE_DELIVERY_TIMEOUT_SECONDS * 1000,
    secretsChanged: () => options.refreshRedactor(),
  });
  // A status change queues deliveries in the database; the worker sends them (in a cluster every
  // replica runs one, and the lease on each row means one of them sends it).
  if (!options.clustered) await repos.deliveries.releaseLeases();
  const deliveryWorker = new DeliveryWorker({
    deliveries: repos.deliveries,
    channels: repos.channels,
    owner: options.owner,
    metrics: options.metrics,
    logger: logger.child({ room: "channels" }),
    redactor: options.redactor,
    options: {
      maxAttempts: env.FABRICORE_DELIVERY_MAX_ATTEMPTS,
      baseDelayMs: env.FABRICORE_DELIVERY_RETRY_BASE_MS,
      timeoutMs: env.FABRICORE_DELIVERY_TIMEOUT_SECONDS * 1000,
    },
  });
  const notifier = new RunNotifier({
    runs: repos.runs,
    jobs: repos.jobs,
    nodes: repos.nodes,
    channels: repos.channels,
    deliveries: repos.deliveries,
    publicUrl,
    wake: () => deliveryWorker.wake(),
    logger,
  });
  return { channels, deliveryWorker, notifier };
}
