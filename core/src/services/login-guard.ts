import type { LoginAttemptCount, LoginAttemptsRepo } from "../database/index.ts";
import type { Audit } from "./audit.ts";

/** Audit actors from a login form are what an anonymous client typed: kept short. */
export const MAX_LOGIN_ACTOR = 64;

export function loginActor(username: string): string {
  return username.length > MAX_LOGIN_ACTOR ? `${username.slice(0, MAX_LOGIN_ACTOR - 1)}…` : username;
}

export type LoginClaim =
  | { allowed: true; release(): Promise<void> }
  | { allowed: false; retryAfterSeconds: number; firstRefusal: boolean };

/**
 * The per-address brake on password guessing (issues 15.5 and 21.8). Each attempt is counted in
 * the database before the password is checked, so a burst of parallel attempts gets no more
 * guesses than the limit, and replicas of a cluster share the count. A successful login gives its
 * attempt back (the limit is on failures). Refusals are not written to the audit log one by one:
 * the first refusal of an address in a window is, and the rest are summed into one entry when the
 * window ends (by the next attempt from that address, or the sweep).
 */
export class LoginGuard {
  private readonly repo: LoginAttemptsRepo;
  private readonly audit: Audit;
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(deps: { repo: LoginAttemptsRepo; audit: Audit; limit: number; windowMs?: number; now?: () => number }) {
    this.repo = deps.repo;
    this.audit = deps.audit;
    this.limit = deps.limit;
    this.windowMs = deps.windowMs ?? 60_000;
    this.now = deps.now ?? Date.now;
  }

  async claim(ip: string): Promise<LoginClaim> {
    const bucket = `ip:${ip}`;
    const { count, ended } = await this.repo.claim(bucket, { windowMs: this.windowMs, limit: this.limit });
    if (ended) await this.report(ended);
    if (count.attempts > this.limit) {
      const ends = Date.parse(count.windowStart) + this.windowMs;
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, Math.ceil((ends - this.now()) / 1000)),
        firstRefusal: count.refused === 1,
      };
    }
    return { allowed: true, release: () => this.repo.release(bucket, count.windowStart) };
  }

  /** Writes the summaries of every window that has ended. */
  async sweep(): Promise<void> {
    for (const ended of await this.repo.takeEnded(this.windowMs)) await this.report(ended);
  }

  /** Sweeps once per window until `stop` (the timer does not keep the process alive). */
  start(): void {
    this.timer ??= setInterval(() => void this.sweep().catch(() => {}), this.windowMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One entry for the refusals after the first (which was recorded as it happened). */
  private async report(ended: LoginAttemptCount): Promise<void> {
    if (ended.refused < 2) return;
    await this.audit.record({
      actor: "anonymous",
      ip: ended.bucket.startsWith("ip:") ? ended.bucket.slice(3) : null,
      action: "auth.login_failed",
      target: null,
      outcome: "denied",
      detail: {
        reason: "rate_limited",
        summary: true,
        refused: ended.refused - 1,
        windowStart: ended.windowStart,
        windowEnd: new Date(Date.parse(ended.windowStart) + this.windowMs).toISOString(),
      },
    });
  }
}
