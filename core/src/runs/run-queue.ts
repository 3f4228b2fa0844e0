import type { Logger } from "@fabricore/protocol";

/** The run queue as the Core sees it. In one process: the database is the queue (this file); in
 * cluster mode: BullMQ on Redis. Either way a run row is written first, with status `queued`. */
export interface RunQueue {
  /** A queued run row exists; make it start soon. */
  enqueue(runId: string): Promise<void>;
  /** Abort a run executing in this process; false when it is not running here. */
  abortLocal(runId: string, reason: string): boolean;
  start(): void;
  /** Stop claiming; abort what runs here and wait for it to settle. */
  stop(reason?: string): Promise<void>;
  readonly activeCount: number;
}

export interface DbRunQueueOptions {
  /** Atomically move the oldest queued run to running for this owner; undefined when none. */
  claim: () => Promise<{ id: string } | undefined>;
  /** Execute one claimed run to a final status. Must settle; errors are logged. */
  execute: (runId: string, signal: AbortSignal) => Promise<void>;
  concurrency: number;
  /** How often to look for runs queued by someone else (another replica, a restart). */
  pollMs?: number;
  /** Of these runs, those with a stored cancel request: a cancel asked through another process on
   * the same database (it cannot abort them itself, so it stores the request; Runs.cancel). */
  cancelRequested: (runIds: string[]) => Promise<string[]>;
  /** How often cancel requests for the runs executing here are looked for. Default 1 s. */
  cancelPollMs?: number;
  logger?: Logger;
}

/**
 * The durable in-process queue: queued runs live in the database, this loop claims them up to a
 * concurrency limit. `enqueue` only wakes the loop; the claim is the database's atomic update, so
 * two loops (or two processes on one PostgreSQL) never run the same run. A cancel asked through the
 * other process is a stored request (`cancel_requested_at`) that this owner polls for and acts on.
 */
export class DbRunQueue implements RunQueue {
  private readonly options: DbRunQueueOptions;
  private readonly active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private running = false;
  private pumping = false;
  private pumpAgain = false;
  private timers: Array<ReturnType<typeof setInterval>> = [];
  private pollingCancels = false;

  constructor(options: DbRunQueueOptions) {
    this.options = options;
  }

  get activeCount(): number {
    return this.active.size;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.timers = [
      setInterval(() => this.pump(), this.options.pollMs ?? 1000),
      setInterval(() => void this.pollCancels(), this.options.cancelPollMs ?? 1000),
    ];
    for (const timer of this.timers) timer.unref?.();
    this.pump();
  }

  async enqueue(_runId: string): Promise<void> {
    this.pump();
  }

  abortLocal(runId: string, reason: string): boolean {
    const entry = this.active.get(runId);
    if (!entry) return false;
    entry.controller.abort(reason);
    return true;
  }

  async stop(reason = "Core shutting down"): Promise<void> {
    this.running = false;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    for (const entry of this.active.values()) entry.controller.abort(reason);
    await Promise.allSettled([...this.active.values()].map((e) => e.done));
  }

  /** Claims until the slots are full or nothing is queued. Re-entrant calls coalesce. */
  private pump(): void {
    if (!this.running) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.pumpAgain = false;
          while (this.running && this.active.size < this.options.concurrency) {
            const claimed = await this.options.claim();
            if (!claimed) break;
            this.launch(claimed.id);
          }
        } while (this.pumpAgain && this.running);
      } catch (error) {
        this.options.logger?.error({ err: error }, "claiming a queued run failed");
      } finally {
        this.pumping = false;
      }
    })();
  }

  private launch(runId: string): void {
    const controller = new AbortController();
    const done = this.options
      .execute(runId, controller.signal)
      .catch((error) => this.options.logger?.error({ err: error, runId }, "run execution failed"))
      .finally(() => {
        this.active.delete(runId);
        this.pump();
      });
    this.active.set(runId, { controller, done });
  }

  /** Aborts the runs executing here that someone asked to cancel elsewhere. One poll at a time: a
   * slow database must not stack them up. */
  private async pollCancels(): Promise<void> {
    if (this.active.size === 0 || this.pollingCancels) return;
    this.pollingCancels = true;
    try {
      for (const runId of await this.options.cancelRequested([...this.active.keys()])) {
        this.abortLocal(runId, "cancelled by a user");
      }
    } catch (error) {
      this.options.logger?.warn({ err: error }, "checking cancel requests failed; will retry");
    } finally {
      this.pollingCancels = false;
    }
  }
}
