import { type CronSpec, nextFireTime, parseCron } from "./cron.ts";

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

/** What the Core needs from a scheduler: in one process timers in the Core (this file); in cluster
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
  /** The one timer of this job: armed for `expected`, or for MAX_TIMER_MS when that is further. */
  timer: ReturnType<typeof setTimeout> | undefined;
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
/** A timer further out than this wakes up and re-arms (setTimeout holds at most ~24.8 days). */
const MAX_TIMER_MS = 3_600_000;

/**
 * In-process scheduler: one timer per scheduled job, in the Core process, fed from the
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
    parseCron(job.schedule); // throws CronError before replacing a working schedule
    if (existing) clearTimeout(existing.timer);
    const entry: Entry = {
      timer: undefined,
      spec: { ...job.schedule },
      lastFireAt: existing?.lastFireAt ?? (job.lastFireAt ? new Date(job.lastFireAt) : null),
      expected: null,
      lastMisfireAt: existing?.lastMisfireAt ?? null,
      lastMisfireReason: existing?.lastMisfireReason ?? null,
    };
    this.entries.set(job.jobId, entry);
    this.arm(job.jobId, entry);
  }

  async remove(jobId: string): Promise<void> {
    clearTimeout(this.entries.get(jobId)?.timer);
    this.entries.delete(jobId);
  }

  state(jobId: string): ScheduleState | undefined {
    const entry = this.entries.get(jobId);
    if (!entry) return undefined;
    return {
      jobId,
      nextFireAt: entry.expected?.toISOString() ?? null,
      lastFireAt: entry.lastFireAt?.toISOString() ?? null,
      lastMisfireAt: entry.lastMisfireAt?.toISOString() ?? null,
      lastMisfireReason: entry.lastMisfireReason,
    };
  }

  async stop(): Promise<void> {
    clearInterval(this.watchdog);
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    this.entries.clear();
  }

  /** The watchdog: a timer whose fire time passed without firing lost it. Public for tests. */
  check(): void {
    const now = this.now().getTime();
    for (const [jobId, entry] of this.entries) {
      if (!entry.expected || now <= entry.expected.getTime() + LATE_TOLERANCE_MS) continue;
      const since = new Date(entry.expected.getTime() - 1);
      this.arm(jobId, entry);
      this.catchUp(jobId, since, "the timer did not fire (process suspended or clock jumped)");
    }
  }

  /**
   * Arms the job's one timer for its next fire after now (by this scheduler's clock). A plain
   * setTimeout per job, the fire times from the shared croner pattern (cron.ts): a croner timer per
   * job would carry its own ~80 KB pattern.
   */
  private arm(jobId: string, entry: Entry): void {
    clearTimeout(entry.timer);
    const now = this.now();
    entry.expected = nextFireTime(entry.spec, now);
    entry.timer = undefined;
    if (!entry.expected) return;
    const delay = Math.min(Math.max(0, entry.expected.getTime() - now.getTime()), MAX_TIMER_MS);
    entry.timer = setTimeout(() => this.wake(jobId, entry), delay);
  }

  private wake(jobId: string, entry: Entry): void {
    if (this.entries.get(jobId) !== entry) return; // replaced or removed meanwhile
    const now = this.now();
    // Woken before the fire time: a long wait in steps, or the clock went back. Wait on.
    if (!entry.expected || now.getTime() < entry.expected.getTime()) {
      this.arm(jobId, entry);
      return;
    }
    entry.lastFireAt = now;
    this.arm(jobId, entry);
    this.fire(jobId, now, false);
  }

  /** Fires due strictly after `since` and before now (minus the lateness tolerance) were missed. */
  private catchUp(jobId: string, since: Date, cause: string): void {
    const entry = this.entries.get(jobId);
    if (!entry) return;
    const now = this.now();
    let missed = 0;
    let first: Date | null = null;
    let cursor = since;
    while (missed < MAX_COUNTED_MISSES) {
      const next = nextFireTime(entry.spec, cursor);
      if (!next || next.getTime() > now.getTime() - LATE_TOLERANCE_MS) break;
      first ??= next;
      missed++;
      cursor = next;
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
