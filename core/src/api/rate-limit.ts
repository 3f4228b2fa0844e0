/**
 * A fixed-window counter per key (an IP, a webhook), in memory. Deliberately simple: it bounds
 * brute force and floods from one source per Core process; it is not a global quota (in cluster
 * mode each replica counts on its own, so the effective limit is per replica).
 */
export class RateLimiter {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly maxKeys: number;
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(options: { limit: number; windowMs: number; now?: () => number; maxKeys?: number }) {
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.now = options.now ?? Date.now;
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  /** Counts one event for `key`; false when the key is over its limit in the current window. */
  hit(key: string): boolean {
    const window = this.current(key);
    window.count += 1;
    return window.count <= this.limit;
  }

  /** Whether `key` is already over its limit, without counting. */
  blocked(key: string): boolean {
    return this.current(key).count >= this.limit;
  }

  /** Seconds until `key`'s window ends (for Retry-After). */
  retryAfterSeconds(key: string): number {
    const window = this.windows.get(key);
    if (!window) return 0;
    return Math.max(1, Math.ceil((window.start + this.windowMs - this.now()) / 1000));
  }

  private current(key: string): { start: number; count: number } {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || now - window.start >= this.windowMs) {
      if (!window && this.windows.size >= this.maxKeys) this.sweep(now);
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    return window;
  }

  /** Drops expired windows; if every window is live, the oldest half (memory stays bounded under a
   * flood of distinct keys, at the price of forgetting some counts). */
  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (now - window.start >= this.windowMs) this.windows.delete(key);
    if (this.windows.size < this.maxKeys) return;
    let drop = Math.ceil(this.windows.size / 2);
    for (const key of this.windows.keys()) {
      if (drop-- <= 0) break;
      this.windows.delete(key);
    }
  }
}
