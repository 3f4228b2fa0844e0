import type { Logger } from "@fabricore/protocol";
import type { ChannelsRepo, RunDeliveriesRepo } from "../database/index.ts";
import type { Delivery } from "../database/types.ts";
import type { Metrics } from "../metrics.ts";
import { SecretsError } from "../secrets/errors.ts";
import type { SecretRedactor } from "../secrets/redactor.ts";
import { unreadableMessage } from "../secrets/unreadable-secrets.ts";
import { joinConfig } from "./channel-config.ts";
import type { RunEventPayload } from "./run-message.ts";
import type { SendResult } from "./send-result.ts";
import { sendToChannel } from "./senders.ts";

export interface DeliveryWorkerOptions {
  /** Attempts in all before a delivery is given up as `failed` (default 8). */
  maxAttempts: number;
  /** The first retry waits about this long, each next one twice as long (default 2000 ms). */
  baseDelayMs: number;
  /** One attempt's deadline (default 10 s). */
  timeoutMs: number;
  /** How often the queue is looked at for due retries (default 1000 ms). */
  pollMs: number;
  /** Deliveries sent at once by this Core (a slow receiver does not hold up the others). */
  concurrency: number;
}

export const DEFAULT_DELIVERY_OPTIONS: DeliveryWorkerOptions = {
  maxAttempts: 8,
  baseDelayMs: 2000,
  timeoutMs: 10_000,
  pollMs: 1000,
  concurrency: 4,
};

const MAX_DELAY_MS = 15 * 60_000;

export interface DeliveryWorkerDeps {
  deliveries: RunDeliveriesRepo;
  channels: Pick<ChannelsRepo, "get" | "getSecret">;
  /** This Core's id: the lease holder's name. */
  owner: string;
  metrics: Metrics;
  logger: Pick<Logger, "warn" | "error">;
  /** Channel secrets a receiver echoed back (or a URL in an error) never reach the run's record. */
  redactor?: SecretRedactor;
  options?: Partial<DeliveryWorkerOptions>;
  fetch?: typeof fetch;
  random?: () => number;
}

/** Delay before attempt `attempts + 1`: exponential with "equal jitter" (half fixed, half random),
 * so many deliveries that failed together do not come back together; a Retry-After is honoured. */
export function retryDelayMs(
  attempts: number,
  baseDelayMs: number,
  random: () => number,
  retryAfterSeconds?: number,
): number {
  const exp = Math.min(baseDelayMs * 2 ** Math.max(0, attempts - 1), MAX_DELAY_MS);
  const jittered = exp / 2 + (random() * exp) / 2;
  return Math.min(Math.max(jittered, (retryAfterSeconds ?? 0) * 1000), 60 * 60_000);
}

/**
 * Sends queued deliveries: takes each due one under a lease (so in a cluster each is sent by one
 * replica), sends it, and records the outcome: delivered; or, for a connection error, a timeout or
 * a 5xx, pending again after a backoff; or failed (a 4xx, or the last attempt). Everything it
 * needs is in the database, so a restarted Core picks up where the last one stopped.
 */
export class DeliveryWorker {
  private readonly deps: DeliveryWorkerDeps;
  private readonly options: DeliveryWorkerOptions;
  private timer: NodeJS.Timeout | undefined;
  private active = 0;
  private claiming = false;
  private again = false;
  private stopping = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(deps: DeliveryWorkerDeps) {
    this.deps = deps;
    this.options = { ...DEFAULT_DELIVERY_OPTIONS, ...deps.options };
  }

  start(): void {
    if (this.timer) return;
    this.stopping = false;
    this.timer = setInterval(() => this.wake(), this.options.pollMs);
    this.timer.unref();
    this.wake();
  }

  /** Look at the queue now (a delivery was just enqueued). */
  wake(): void {
    if (this.stopping) return;
    void this.pump();
  }

  /** Stops taking deliveries and waits for the attempts in flight (their outcome is recorded). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
  }

  private async pump(): Promise<void> {
    if (this.claiming) {
      this.again = true;
      return;
    }
    this.claiming = true;
    try {
      while (!this.stopping && this.active < this.options.concurrency) {
        const delivery = await this.deps.deliveries.claimDue(this.deps.owner, this.options.timeoutMs + 30_000);
        if (!delivery) break;
        this.active++;
        const attempt = this.attempt(delivery).finally(() => {
          this.active--;
          this.inFlight.delete(attempt);
          this.wake();
        });
        this.inFlight.add(attempt);
      }
      this.deps.metrics.setNotificationsPending(await this.deps.deliveries.countPending());
    } catch (error) {
      this.deps.logger.error({ err: error }, "reading the delivery queue failed; trying again at the next poll");
    } finally {
      this.claiming = false;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    }
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const { metrics, redactor } = this.deps;
    const channel = await this.deps.channels.get(delivery.channelId);
    let result: SendResult;
    let kind = channel?.kind ?? "unknown";
    if (!channel) {
      result = { ok: false, retry: false, response: "", error: "the channel was deleted", durationMs: 0 };
    } else {
      kind = channel.kind;
      try {
        const config = joinConfig(channel.kind, channel.config, await this.deps.channels.getSecret(channel.id));
        result = await sendToChannel(config, delivery.payload as unknown as RunEventPayload, {
          messageId: `msg_${delivery.id}`,
          timeoutMs: this.options.timeoutMs,
          ...(this.deps.fetch ? { fetch: this.deps.fetch } : {}),
        });
      } catch (error) {
        // A channel secret that does not open will not open on a retry either (issue 21.3).
        result =
          error instanceof SecretsError
            ? {
                ok: false,
                retry: false,
                response: "",
                error: unreadableMessage("channel_secret", channel.name, error.code),
                durationMs: 0,
              }
            : {
                ok: false,
                retry: true,
                response: "",
                error: `internal: ${error instanceof Error ? error.message : String(error)}`,
                durationMs: 0,
              };
      }
    }
    const attempts = delivery.attempts + 1;
    const rawError = [result.error, result.response && `receiver said: ${result.response.slice(0, 300)}`]
      .filter(Boolean)
      .join("; ");
    const error = redactor ? redactor.redact(rawError) : rawError;
    const outcome = result.ok
      ? ({ status: "delivered" } as const)
      : result.retry && attempts < this.options.maxAttempts
        ? ({
            status: "pending",
            error,
            nextAttemptAt: new Date(
              Date.now() +
                retryDelayMs(
                  attempts,
                  this.options.baseDelayMs,
                  this.deps.random ?? Math.random,
                  result.retryAfterSeconds,
                ),
            ).toISOString(),
          } as const)
        : ({ status: "failed", error } as const);
    metrics.notificationAttempt(
      kind,
      outcome.status === "pending" ? "retry" : outcome.status,
      result.durationMs / 1000,
    );
    try {
      const recorded = await this.deps.deliveries.recordAttempt(delivery.id, this.deps.owner, outcome);
      if (!recorded) this.deps.logger.warn({ deliveryId: delivery.id }, "a delivery's lease expired while sending it");
    } catch (err) {
      this.deps.logger.error({ err, deliveryId: delivery.id }, "recording a delivery attempt failed");
    }
    if (outcome.status === "failed") {
      this.deps.logger.warn(
        { deliveryId: delivery.id, runId: delivery.runId, channel: channel?.name, attempts, error },
        "a notification could not be delivered",
      );
    }
  }
}
