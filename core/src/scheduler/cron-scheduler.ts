import { Cron } from "croner";
import { type CronSpec, parseCron } from "./cron.ts";

export interface ScheduledJob {
  jobId: string;
  schedule: CronSpec;
}

export interface ScheduleState {
  jobId: string;
  nextFireAt: string | null;
  lastFireAt: string | null;
}

/** What the Core needs from a scheduler: in one process croner timers (this file); in cluster
 * mode BullMQ job schedulers, so a tick fires once however many replicas run. */
export interface Scheduler {
  /** Replace the whole set (at start). */
  sync(jobs: ScheduledJob[]): Promise<void>;
  upsert(job: ScheduledJob): Promise<void>;
  remove(jobId: string): Promise<void>;
  state(jobId: string): ScheduleState | undefined;
  stop(): Promise<void>;
}

export interface CronSchedulerOptions {
  /** Called on every fire; must not throw (errors are reported to onError). */
  onTrigger: (jobId: string, firedAt: Date) => Promise<void>;
  onError?: (jobId: string, error: unknown) => void;
}

/** In-process scheduler: one croner timer per scheduled job. Runs with no browser open: it lives
 * in the Core process and is fed from the database at start and on every job change. */
export class CronScheduler implements Scheduler {
  private readonly timers = new Map<string, { cron: Cron; spec: CronSpec; lastFireAt: Date | null }>();
  private readonly options: CronSchedulerOptions;

  constructor(options: CronSchedulerOptions) {
    this.options = options;
  }

  async sync(jobs: ScheduledJob[]): Promise<void> {
    const wanted = new Set(jobs.map((j) => j.jobId));
    for (const jobId of [...this.timers.keys()]) if (!wanted.has(jobId)) await this.remove(jobId);
    for (const job of jobs) await this.upsert(job);
  }

  async upsert(job: ScheduledJob): Promise<void> {
    const existing = this.timers.get(job.jobId);
    if (existing && existing.spec.cron === job.schedule.cron && existing.spec.timezone === job.schedule.timezone)
      return;
    parseCron(job.schedule).stop(); // throws CronError before replacing a working schedule
    existing?.cron.stop();
    const entry = {
      spec: { ...job.schedule },
      lastFireAt: existing?.lastFireAt ?? null,
      cron: new Cron(job.schedule.cron, { timezone: job.schedule.timezone ?? "UTC", protect: true }, () => {
        const firedAt = new Date();
        entry.lastFireAt = firedAt;
        this.options.onTrigger(job.jobId, firedAt).catch((error) => this.options.onError?.(job.jobId, error));
      }),
    };
    this.timers.set(job.jobId, entry);
  }

  async remove(jobId: string): Promise<void> {
    this.timers.get(jobId)?.cron.stop();
    this.timers.delete(jobId);
  }

  state(jobId: string): ScheduleState | undefined {
    const entry = this.timers.get(jobId);
    if (!entry) return undefined;
    return {
      jobId,
      nextFireAt: entry.cron.nextRun()?.toISOString() ?? null,
      lastFireAt: entry.lastFireAt?.toISOString() ?? null,
    };
  }

  async stop(): Promise<void> {
    for (const entry of this.timers.values()) entry.cron.stop();
    this.timers.clear();
  }
}
