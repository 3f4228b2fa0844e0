import type { RunDay } from "../api/runs.ts";

/** The window's totals under the chart: success rate of the runs that ended, their mean duration
 * (weighted by the finished runs of each day), tokens. */
export interface RunWindow {
  total: number;
  ended: number;
  succeeded: number;
  /** Succeeded out of succeeded + failed, in percent; null when none of them ended. */
  successRate: number | null;
  avgDurationMs: number | null;
  tokens: number;
}

export function summarizeRunDays(days: RunDay[]): RunWindow {
  let total = 0;
  let succeeded = 0;
  let failed = 0;
  let durationSum = 0;
  let durationDays = 0;
  let tokens = 0;
  for (const d of days) {
    total += d.total;
    succeeded += d.succeeded;
    failed += d.failed;
    tokens += d.promptTokens + d.completionTokens;
    if (d.avgDurationMs !== null) {
      const finished = d.succeeded + d.failed + d.cancelled;
      durationSum += d.avgDurationMs * Math.max(finished, 1);
      durationDays += Math.max(finished, 1);
    }
  }
  const ended = succeeded + failed;
  return {
    total,
    ended,
    succeeded,
    successRate: ended ? Math.round((succeeded / ended) * 100) : null,
    avgDurationMs: durationDays ? Math.round(durationSum / durationDays) : null,
    tokens,
  };
}

/** A day's bar as words, for its tooltip and for screen readers. */
export function describeRunDay(d: RunDay): string {
  const parts = [`${d.succeeded} succeeded`, `${d.failed} failed`];
  if (d.cancelled) parts.push(`${d.cancelled} cancelled`);
  if (d.other) parts.push(`${d.other} in progress or skipped`);
  return `${d.day}: ${d.total} run${d.total === 1 ? "" : "s"} (${parts.join(", ")})`;
}
