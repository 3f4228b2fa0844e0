import type { Logger } from "@fabricore/protocol";
import type { RunsRepo } from "../database/index.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
const SWEEP_EVERY_MS = 60 * 60 * 1000;

/**
 * FABRICORE_RUN_RETENTION_DAYS (issue 22.4): finished runs that ended more than `days` ago are
 * deleted with their steps and deliveries, once at start and hourly, in batches until none is
 * left. 0 keeps every run. On every replica at once it is still right: a delete of rows another
 * replica deleted first deletes nothing.
 */
export class RunRetention {
  private readonly deps: {
    runs: Pick<RunsRepo, "pruneFinishedBefore">;
    days: number;
    logger: Logger;
    now?: () => number;
  };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(deps: RunRetention["deps"]) {
    this.deps = deps;
  }

  start(): void {
    if (this.deps.days <= 0) return;
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Deletes what is due now; returns how many runs went (one sweep at a time). */
  sweep(): Promise<number> {
    this.running ??= this.prune().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async prune(): Promise<number> {
    const { runs, days, logger } = this.deps;
    if (days <= 0) return 0;
    const before = new Date((this.deps.now ?? Date.now)() - days * DAY_MS).toISOString();
    let total = 0;
    try {
      for (;;) {
        const deleted = await runs.pruneFinishedBefore(before);
        total += deleted;
        if (deleted === 0) break;
      }
      if (total) logger.info({ deleted: total, before }, "deleted runs past the retention period");
    } catch (error) {
      logger.warn({ err: error }, "deleting old runs failed; retrying in an hour");
    }
    return total;
  }
}
