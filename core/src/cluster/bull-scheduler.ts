import type { Logger } from "@fabricore/protocol";
import { Queue, type RepeatOptions, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { nextFireTime, parseCron } from "../scheduler/cron.ts";
import type { Misfire, MisfirePolicy, ScheduledJob, Scheduler, ScheduleState } from "../scheduler/cron-scheduler.ts";
import type { ClusterKeys } from "./redis.ts";

export const CRON_QUEUE = "cron";

interface CronJobData {
  jobId: string;
  misfire?: MisfirePolicy | undefined;
}

/** A tick taken this much after its time was missed (every replica down, Redis down), not late. */
const LATE_AFTER_MS = 60_000;

/**
 * Next fire time by croner, the library the single-process scheduler and the API's "next runs" use,
 * instead of BullMQ's cron-parser: the two differ at the edges (day-of-month/day-of-week rules,
 * `L`, `#`), and a schedule must not fire at other times in cluster mode than the UI shows.
 */
export function cronerRepeatStrategy(millis: number, opts: RepeatOptions): number | undefined {
  if (!opts.pattern) return undefined;
  return nextFireTime({ cron: opts.pattern, timezone: opts.tz ?? "UTC" }, new Date(millis))?.getTime();
}

export interface BullSchedulerOptions {
  connection: Redis;
  keys: ClusterKeys;
  onTrigger: (jobId: string, firedAt: Date, info: { catchUp: boolean }) => Promise<void>;
  onMisfire?: (jobId: string, misfire: Misfire) => void;
  onError?: (jobId: string, error: unknown) => void;
  logger?: Logger;
}

/**
 * Cron schedules as BullMQ job schedulers: one scheduler per FabriCore job, id = the job's id. Every
 * replica upserts the same schedulers (idempotent), and each tick is one BullMQ job whose id is
 * derived from the scheduler and the tick's time, so however many replicas run, a tick is added
 * once and processed by exactly one worker.
 */
export class BullScheduler implements Scheduler {
  private readonly options: BullSchedulerOptions;
  private readonly queue: Queue<CronJobData>;
  private worker: Worker<CronJobData> | undefined;
  /** Last fire and last misfire per job, cluster-wide (Redis hashes), cached for state(). */
  private lastFire = new Map<string, string>();
  private lastMisfire = new Map<string, { at: string; reason: string }>();
  private refreshTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: BullSchedulerOptions) {
    this.options = options;
    const settings = { repeatStrategy: cronerRepeatStrategy };
    this.queue = new Queue<CronJobData>(CRON_QUEUE, {
      connection: options.connection,
      prefix: options.keys.bull,
      settings,
      defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
    });
    this.queue.on("error", (error) => options.logger?.error({ err: error }, "cron queue (BullMQ) error"));
  }

  /** Starts working ticks. Separate from the constructor so a replica can sync before it fires. */
  start(): void {
    if (this.worker) return;
    const { options } = this;
    this.worker = new Worker<CronJobData>(
      CRON_QUEUE,
      async (job) => {
        const firedAt = new Date();
        const { jobId } = job.data;
        // BullMQ keeps one pending tick per scheduler: after an outage it arrives once, late, and
        // the next tick is computed from now — at most one catch-up, as the job's misfire policy
        // "run_once" wants; "skip" records the miss instead.
        const scheduledAt = new Date(job.timestamp + (job.opts.delay ?? 0));
        const catchUp = firedAt.getTime() - scheduledAt.getTime() > LATE_AFTER_MS;
        if (catchUp) {
          const policy = job.data.misfire ?? "run_once";
          const reason = `the fire of ${scheduledAt.toISOString()} was missed because no Core replica was running; ${
            policy === "run_once" ? "ran once to catch up" : "skipped by the job's misfire policy"
          }`;
          const misfire = { at: firedAt.toISOString(), reason };
          this.lastMisfire.set(jobId, misfire);
          await options.connection.hset(options.keys.cronLastMisfire, jobId, JSON.stringify(misfire));
          options.onMisfire?.(jobId, { scheduledAt, missed: 1, policy, reason });
          if (policy === "skip") return;
        }
        this.lastFire.set(jobId, firedAt.toISOString());
        await options.connection.hset(options.keys.cronLastFire, jobId, firedAt.toISOString());
        try {
          await options.onTrigger(jobId, firedAt, { catchUp });
        } catch (error) {
          options.onError?.(jobId, error);
        }
      },
      {
        connection: options.connection,
        prefix: options.keys.bull,
        // The worker computes the next tick when it takes one; it must agree with the queue.
        settings: { repeatStrategy: cronerRepeatStrategy },
        concurrency: 4,
      },
    );
    this.worker.on("error", (error) => options.logger?.error({ err: error }, "cron worker (BullMQ) error"));
    this.refreshTimer = setInterval(() => void this.refreshLastFire(), 5_000);
    this.refreshTimer.unref();
    void this.refreshLastFire();
  }

  async sync(jobs: ScheduledJob[]): Promise<void> {
    const wanted = new Set(jobs.map((j) => j.jobId));
    for (const existing of await this.queue.getJobSchedulers()) {
      if (existing.key && !wanted.has(existing.key)) await this.queue.removeJobScheduler(existing.key);
    }
    for (const job of jobs) await this.upsert(job);
  }

  async upsert(job: ScheduledJob): Promise<void> {
    parseCron(job.schedule); // throws CronError before replacing a working schedule
    await this.queue.upsertJobScheduler(
      job.jobId,
      { pattern: job.schedule.cron, tz: job.schedule.timezone ?? "UTC" },
      { name: "tick", data: { jobId: job.jobId, misfire: job.schedule.misfire } },
    );
  }

  async remove(jobId: string): Promise<void> {
    await this.queue.removeJobScheduler(jobId);
    await this.options.connection.hdel(this.options.keys.cronLastFire, jobId);
    await this.options.connection.hdel(this.options.keys.cronLastMisfire, jobId);
    this.lastFire.delete(jobId);
    this.lastMisfire.delete(jobId);
  }

  state(jobId: string): ScheduleState | undefined {
    const misfire = this.lastMisfire.get(jobId);
    // nextFireAt is computed by the API from the job's schedule (same croner math).
    return {
      jobId,
      nextFireAt: null,
      lastFireAt: this.lastFire.get(jobId) ?? null,
      lastMisfireAt: misfire?.at ?? null,
      lastMisfireReason: misfire?.reason ?? null,
    };
  }

  async stop(): Promise<void> {
    clearInterval(this.refreshTimer);
    await this.worker?.close();
    this.worker = undefined;
    await this.queue.close();
  }

  private async refreshLastFire(): Promise<void> {
    try {
      const { connection, keys } = this.options;
      this.lastFire = new Map(Object.entries(await connection.hgetall(keys.cronLastFire)));
      const misfires = new Map<string, { at: string; reason: string }>();
      for (const [jobId, value] of Object.entries(await connection.hgetall(keys.cronLastMisfire))) {
        try {
          misfires.set(jobId, JSON.parse(value) as { at: string; reason: string });
        } catch {
          // Written by this class only; a damaged entry is dropped from the view.
        }
      }
      this.lastMisfire = misfires;
    } catch (error) {
      this.options.logger?.warn({ err: error }, "reading last cron fires failed");
    }
  }
}
