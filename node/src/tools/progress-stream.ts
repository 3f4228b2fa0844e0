import { TOOL_PROGRESS_MESSAGE_MAX } from "@fabricore/protocol";

export interface ToolProgress {
  progress: number;
  total?: number | undefined;
  message?: string | undefined;
}

export type ProgressSink = (progress: ToolProgress) => void;

/** At most one progress message per call in this long: a server reporting every millisecond
 * costs the Core and the browsers four updates a second. */
export const PROGRESS_INTERVAL_MS = 250;

/**
 * Coalesces one call's progress (MCP `notifications/progress`) for the Core: the first goes out at
 * once, later ones at most every PROGRESS_INTERVAL_MS, and only the latest of a burst is sent — a
 * progress bar needs the newest value, not every step. Nothing goes out after close().
 */
export class ProgressCoalescer {
  private readonly sink: ProgressSink;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private pending: ToolProgress | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(sink: ProgressSink, options: { intervalMs?: number; now?: () => number } = {}) {
    this.sink = sink;
    this.intervalMs = options.intervalMs ?? PROGRESS_INTERVAL_MS;
    this.now = options.now ?? Date.now;
  }

  push(progress: ToolProgress): void {
    if (this.closed || !Number.isFinite(progress.progress)) return;
    this.pending = {
      progress: progress.progress,
      ...(progress.total !== undefined && Number.isFinite(progress.total) && { total: progress.total }),
      ...(progress.message && { message: progress.message.slice(0, TOOL_PROGRESS_MESSAGE_MAX) }),
    };
    if (this.timer) return;
    const wait = this.lastSentAt + this.intervalMs - this.now();
    if (wait <= 0) this.flush();
    else {
      this.timer = setTimeout(() => this.flush(), wait);
      this.timer.unref?.();
    }
  }

  /** The call ended: progress still pending is dropped (its result says more). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    const pending = this.pending;
    this.pending = undefined;
    if (!pending || this.closed) return;
    this.lastSentAt = this.now();
    this.sink(pending);
  }
}
