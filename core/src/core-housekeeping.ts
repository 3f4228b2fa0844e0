import type { Logger as PinoLogger } from "pino";
import { DELIVERY_MEMORY_MS, type WebhookDeliveriesRepo } from "./database/repos/webhook-deliveries-repo.ts";

/** Accepted webhook deliveries and signatures are remembered DELIVERY_MEMORY_MS (24 h) and at most
 * DELIVERY_MEMORY_PER_JOB per job: forgotten hourly, and once at start. */
export function deliveryHousekeeping(repo: WebhookDeliveriesRepo, logger: PinoLogger) {
  let timer: NodeJS.Timeout | undefined;
  const sweep = async () => {
    try {
      const before = new Date(Date.now() - DELIVERY_MEMORY_MS).toISOString();
      const forgotten = (await repo.forgetBefore(before)) + (await repo.trimSignatures());
      if (forgotten) logger.info({ forgotten }, "forgot old webhook deliveries");
    } catch (error) {
      logger.warn({ err: error }, "forgetting old webhook deliveries failed; retrying in an hour");
    }
  };
  return {
    start() {
      void sweep();
      timer = setInterval(() => void sweep(), 3600_000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
