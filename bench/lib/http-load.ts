/** A bounded HTTP load loop: exactly `count` requests, at most `concurrency` in flight, each with a
 * timeout. Returns per-request latency and the wall time, for requests per second. */
import { performance } from "node:perf_hooks";
import { summarize } from "./stats.ts";

export interface LoadResult<T> {
  count: number;
  ok: number;
  failed: number;
  errors: string[];
  wallMs: number;
  perSecond: number;
  latency: ReturnType<typeof summarize>;
  answers: T[];
}

export async function httpLoad<T = unknown>(
  count: number,
  concurrency: number,
  request: (i: number) => { url: string; init: RequestInit },
  timeoutMs = 30_000,
): Promise<LoadResult<T>> {
  const latencies: number[] = [];
  const errors: string[] = [];
  const answers: T[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const { url, init } = request(i);
      const t0 = performance.now();
      try {
        const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
        const text = await res.text();
        if (res.status >= 200 && res.status < 300) {
          latencies.push(performance.now() - t0);
          answers.push((text ? JSON.parse(text) : undefined) as T);
        } else errors.push(`HTTP ${res.status} ${text.slice(0, 120)}`);
      } catch (error) {
        errors.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const wallMs = performance.now() - started;
  return {
    count,
    ok: latencies.length,
    failed: errors.length,
    errors: [...new Set(errors)].slice(0, 5),
    wallMs,
    perSecond: (latencies.length / wallMs) * 1000,
    latency: summarize(latencies),
    answers,
  };
}
