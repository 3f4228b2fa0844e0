import { Cron } from "croner";
import { type CronSpec, parseCron } from "./cron.ts";

export type MisfirePolicy = "run_once" | "skip";

export interface ScheduledJob {
  jobId: string;
  schedule: CronSpec & { misfire?: MisfirePolicy | undefined };
  /** When it last fired (from the store), so missed fires can be found at start. */
  lastFireAt?: string | null | undefined;
}

export interface ScheduleState {
  jobId: string;
  nextFireAt: string | null;
  lastFireAt: string | null;
  lastMisfireAt: string | null;
  lastMisfireReason: string | null;
}

export interface Misfire {
  /** The first fire time that was missed. */
  scheduledAt: Date;
  missed: number;
  policy: MisfirePolicy;
  reason: string;
}

/** What the Core needs from a scheduler: in one process croner timers (this file); in cluster
 * mode BullMQ job schedulers, so a tick fires once however many replicas run. */
export interface Scheduler {
  /** Replace the whole set (at start); fires missed since each job's lastFireAt are handled by
   * the job's misfire policy. */
  sync(jobs: ScheduledJob[]): Promise<void>;
  upsert(job: ScheduledJob): Promise<void>;
  remove(jobId: string): Promise<void>;
  state(jobId: string): ScheduleState | undefined;
  stop(): Promise<void>;
}

export interface CronSchedulerOptions {
  /** Called on every fire (and once for a catch-up); must not throw (errors go to onError). */
  onTrigger: (jobId: string, firedAt: Date, info: { catchUp: boolean }) => Promise<void>;
  onMisfire?: (jobId: string, misfire: Misfire) => void;
  onError?: (jobId: string, error: unknown) => void;
  /** How often the watchdog checks that no fire was silently lost (suspend, clock jump). */
  watchdogMs?: number;
  now?: () => Date;
}

interface Entry {
  cron: Cron;
  spec: ScheduledJob["schedule"];
  lastFireAt: Date | null;
  /** The fire the timer is armed for; the watchdog compares it with the clock. */
  expected: Date | null;
  lastMisfireAt: Date | null;
  lastMisfireReason: string | null;
}

/** A fire is late, not lost, until this long after its time. */
const LATE_TOLERANCE_MS = 2000;
const MAX_COUNTED_MISSES = 1000;

/**
 * In-process scheduler: one croner timer per scheduled job, in the Core process, fed from the
 * database at start and on every job change — it runs with no browser open. It never silently
 * stops firing: fires missed while the Core was down are found at start from the stored last fire,
 * and a watchdog notices a timer that did not fire (process suspended, clock jumped) and re-arms
 * it; either way the job's misfire policy decides between one catch-up run and a recorded skip.
 */
export class CronScheduler implements Scheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly options: CronSchedulerOptions;
  private readonly now: () => Date;
  private readonly watchdog: ReturnType<typeof setInterval>;

  constructor(options: CronSchedulerOptions) {
    this.options = options;
    this.now = options.now ?? (() => new Date());
    this.watchdog = setInterval(() => this.check(), options.watchdogMs ?? 10_000);
    this.watchdog.unref?.();
  }

  async sync(jobs: ScheduledJob[]): Promise<void> {
    const wanted = new Set(jobs.map((j) => j.jobId));
    for (const jobId of [...this.entries.keys()]) if (!wanted.has(jobId)) await this.remove(jobId);
    for (const job of jobs) {
      const isNew = !this.entries.has(job.jobId);
      await this.upsert(job);
      if (isNew && job.lastFireAt) this.catchUp(job.jobId, new Date(job.lastFireAt), "the Core was not running");
    }
  }

  async upsert(job: ScheduledJob): Promise<void> {
    const existing = this.entries.get(job.jobId);
    const same =
      existing &&
      existing.spec.cron === job.schedule.cron &&
      existing.spec.timezone === job.schedule.timezone &&
      existing.spec.misfire === job.schedule.misfire;
    if (same) return;
    parseCron(job.schedule).stop(); // throws CronError before replacing a working schedule
    existing?.cron.stop();
    const entry: Entry = {
      spec: { ...job.schedule },
      lastFireAt: existing?.lastFireAt ?? (job.lastFireAt ? new Date(job.lastFireAt) : null),
      expected: null,
      lastMisfireAt: existing?.lastMisfireAt ?? null,
      lastMisfireReason: existing?.lastMisfireReason ?? null,
      cron: this.arm(job.jobId, job.schedule),
    };
    entry.expected = this.nextAfterNow(entry.spec);
    this.entries.set(job.jobId, entry);
  }

  async remove(jobId: string): Promise<void> {
    this.entries.get(jobId)?.cron.stop();
    this.entries.delete(jobId);
  }

  state(jobId: string): ScheduleState | undefined {
    const entry = this.entries.get(jobId);
    if (!entry) return undefined;
    return {
      jobId,
      nextFireAt: entry.cron.nextRun()?.toISOString() ?? null,
      lastFireAt: entry.lastFireAt?.toISOString() ?? null,
      lastMisfireAt: entry.lastMisfireAt?.toISOString() ?? null,
      lastMisfireReason: entry.lastMisfireReason,
    };
  }

  async stop(): Promise<void> {
    clearInterval(this.watchdog);
    for (const entry of this.entries.values()) entry.cron.stop();
    this.entries.clear();
  }

  /** The watchdog: a timer whose fire time passed without firing lost it. Public for tests. */
  check(): void {
    const now = this.now().getTime();
    for (const [jobId, entry] of this.entries) {
      if (!entry.expected || now <= entry.expected.getTime() + LATE_TOLERANCE_MS) continue;
      const since = new Date(entry.expected.getTime() - 1);
      entry.cron.stop();
      entry.cron = this.arm(jobId, entry.spec);
      entry.expected = this.nextAfterNow(entry.spec);
      this.catchUp(jobId, since, "the timer did not fire (process suspended or clock jumped)");
    }
  }

  private arm(jobId: string, spec: CronSpec): Cron {
    const cron: Cron = new Cron(spec.cron, { timezone: spec.timezone ?? "UTC", protect: true }, () => {
      const entry = this.entries.get(jobId);
      const firedAt = this.now();
      if (entry) {
        entry.lastFireAt = firedAt;
        entry.expected = this.nextAfterNow(spec);
      }
      this.fire(jobId, firedAt, false);
    });
    return cron;
  }

  /** The next fire by this scheduler's clock (croner's own timer uses the system clock). */
  private nextAfterNow(spec: CronSpec): Date | null {
    const probe = parseCron(spec);
    try {
      return probe.nextRun(this.now());
    } finally {
      probe.stop();
    }
  }

  /** Fires due strictly after `since` and before now (minus the lateness tolerance) were missed. */
  private catchUp(jobId: string, since: Date, cause: string): void {
    const entry = this.entries.get(jobId);
    if (!entry) return;
    const now = this.now();
    const probe = parseCron(entry.spec);
    let missed = 0;
    let first: Date | null = null;
    try {
      let cursor = since;
      while (missed < MAX_COUNTED_MISSES) {
        const next = probe.nextRun(cursor);
        if (!next || next.getTime() > now.getTime() - LATE_TOLERANCE_MS) break;
        first ??= next;
        missed++;
        cursor = next;
      }
    } finally {
      probe.stop();
    }
    if (missed === 0 || !first) return;
    const policy = entry.spec.misfire ?? "run_once";
    const count = missed >= MAX_COUNTED_MISSES ? `${MAX_COUNTED_MISSES}+` : String(missed);
    const reason = `${count} fire(s) missed from ${first.toISOString()} because ${cause}; ${
      policy === "run_once" ? "ran once to catch up" : "skipped by the job's misfire policy"
    }`;
    entry.lastMisfireAt = now;
    entry.lastMisfireReason = reason;
    this.options.onMisfire?.(jobId, { scheduledAt: first, missed, policy, reason });
    if (policy === "run_once") {
      entry.lastFireAt = now;
      this.fire(jobId, now, true);
    }
  }

  private fire(jobId: string, firedAt: Date, catchUp: boolean): void {
    this.options.onTrigger(jobId, firedAt, { catchUp }).catch((error) => this.options.onError?.(jobId, error));
  }
}
