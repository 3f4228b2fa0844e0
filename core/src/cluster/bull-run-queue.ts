import type { Logger } from "@fabricore/protocol";
import { Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { RunQueue } from "../runs/run-queue.ts";
import type { ClusterKeys } from "./redis.ts";

export const RUNS_QUEUE = "runs";

interface RunJobData {
  runId: string;
}

export interface BullRunQueueOptions {
  connection: Redis;
  keys: ClusterKeys;
  /** The run row's atomic queued → running for this replica; undefined: someone else has it, or it
   * was cancelled — the BullMQ job is then done without executing anything. */
  claim: (runId: string) => Promise<{ id: string } | undefined>;
  /** Execute one claimed run to a final status. Must settle; errors are logged. */
  execute: (runId: string, signal: AbortSignal) => Promise<void>;
  /** Runs still queued in the database (oldest first), re-added to BullMQ by the sweep. */
  queuedRunIds: () => Promise<string[]>;
  /** Of these runs, those a user asked to cancel (possibly through another replica). */
  cancelRequested: (runIds: string[]) => Promise<string[]>;
  concurrency: number;
  /** How often queued rows are re-offered to BullMQ (a lost enqueue, a Redis flush). Default 5 s. */
  sweepMs?: number;
  /** BullMQ's job lock and stalled-job check (defaults 30 s); tests make them short. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** How long a trigger waits for BullMQ before leaving the run to the sweep. Default 2 s. */
  enqueueTimeoutMs?: number;
  /** How often cancel requests for the runs executing here are looked for. Default 1 s. */
  cancelPollMs?: number;
  logger?: Logger;
}

/**
 * The run queue of cluster mode: a BullMQ queue worked by every replica. The database row stays the
 * source of truth; BullMQ only says "look at this run now":
 *
 * - a job's id is the run's id, so enqueueing twice while it waits is one job;
 * - the worker claims the row (`queued → running` in one UPDATE) before executing, so a job that
 *   BullMQ hands out twice (stalled and recovered, re-added by the sweep) never runs twice at once;
 * - a replica that dies after taking a job but before claiming it leaves a stalled job that BullMQ
 *   moves back to waiting for another worker; one that dies after claiming leaves a `running` row
 *   that the replica registry fails with a reason (ReplicaRegistry);
 * - the sweep re-adds rows still queued, so a run whose enqueue was lost still starts.
 */
export class BullRunQueue implements RunQueue {
  private readonly options: BullRunQueueOptions;
  private readonly queue: Queue<RunJobData>;
  private worker: Worker<RunJobData> | undefined;
  private readonly active = new Map<string, AbortController>();
  private timers: Array<ReturnType<typeof setInterval>> = [];

  constructor(options: BullRunQueueOptions) {
    this.options = options;
    this.queue = new Queue<RunJobData>(RUNS_QUEUE, {
      connection: options.connection,
      prefix: options.keys.bull,
      // Finished jobs are forgotten at once: the run row keeps the history, and a forgotten id can
      // be enqueued again by the sweep if its row is still queued.
      defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
    });
    this.queue.on("error", (error) => options.logger?.error({ err: error }, "run queue (BullMQ) error"));
  }

  get activeCount(): number {
    return this.active.size;
  }

  start(): void {
    if (this.worker) return;
    const { options } = this;
    this.worker = new Worker<RunJobData>(RUNS_QUEUE, (job) => this.process(job.data.runId), {
      connection: options.connection,
      prefix: options.keys.bull,
      concurrency: options.concurrency,
      // A replica that dies holding a job stops renewing its lock; after lockDuration the stalled
      // check (on any live worker) puts the job back in the queue for another replica.
      ...(options.lockDurationMs !== undefined && { lockDuration: options.lockDurationMs }),
      ...(options.stalledIntervalMs !== undefined && { stalledInterval: options.stalledIntervalMs }),
    });
    this.worker.on("error", (error) => options.logger?.error({ err: error }, "run worker (BullMQ) error"));
    this.timers = [
      setInterval(() => void this.sweep(), options.sweepMs ?? 5_000),
      setInterval(() => void this.pollCancels(), options.cancelPollMs ?? 1_000),
    ];
    for (const timer of this.timers) timer.unref();
    void this.sweep();
  }

  /** The row is already written (queued), so a Redis hiccup must not fail or hang the trigger:
   * after a short wait the run is left to the sweep, which offers queued rows again. */
  async enqueue(runId: string): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("Redis did not answer")), this.options.enqueueTimeoutMs ?? 2_000);
    });
    try {
      await Promise.race([this.queue.add("run", { runId }, { jobId: runId }), timeout]);
    } catch (error) {
      this.options.logger?.warn({ err: error, runId }, "enqueueing a run failed; the sweep will offer it again");
    } finally {
      clearTimeout(timer);
    }
  }

  abortLocal(runId: string, reason: string): boolean {
    const controller = this.active.get(runId);
    if (!controller) return false;
    controller.abort(reason);
    return true;
  }

  async stop(reason = "Core shutting down"): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    for (const controller of this.active.values()) controller.abort(reason);
    // close() waits for the jobs in progress, which settle promptly once aborted.
    await this.worker?.close();
    this.worker = undefined;
    await this.queue.close();
  }

  private async process(runId: string): Promise<string> {
    const claimed = await this.options.claim(runId);
    if (!claimed) return "not claimed";
    const controller = new AbortController();
    this.active.set(runId, controller);
    try {
      await this.options.execute(runId, controller.signal);
    } catch (error) {
      this.options.logger?.error({ err: error, runId }, "run execution failed");
    } finally {
      this.active.delete(runId);
    }
    return "executed";
  }

  private async sweep(): Promise<void> {
    try {
      const ids = await this.options.queuedRunIds();
      if (ids.length === 0) return;
      // Same job id as enqueue: a run whose job is still waiting or active is not added twice.
      await this.queue.addBulk(ids.map((runId) => ({ name: "run", data: { runId }, opts: { jobId: runId } })));
    } catch (error) {
      this.options.logger?.warn({ err: error }, "re-offering queued runs to BullMQ failed; will retry");
    }
  }

  private async pollCancels(): Promise<void> {
    if (this.active.size === 0) return;
    try {
      for (const runId of await this.options.cancelRequested([...this.active.keys()])) {
        this.abortLocal(runId, "cancelled by a user");
      }
    } catch (error) {
      this.options.logger?.warn({ err: error }, "checking cancel requests failed; will retry");
    }
  }
}
