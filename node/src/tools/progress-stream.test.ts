import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ProgressCoalescer, type ToolProgress } from "./progress-stream.ts";

describe("ProgressCoalescer", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("sends the first at once, then only the latest of each burst, at most once per interval", () => {
    const sent: ToolProgress[] = [];
    const coalescer = new ProgressCoalescer((p) => sent.push(p), { intervalMs: 250, now: () => Date.now() });
    coalescer.push({ progress: 1, total: 100 });
    expect(sent).toEqual([{ progress: 1, total: 100 }]);
    for (let i = 2; i <= 50; i++) coalescer.push({ progress: i, total: 100, message: `step ${i}` });
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(249);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([
      { progress: 1, total: 100 },
      { progress: 50, total: 100, message: "step 50" },
    ]);
    // A thousand updates over two seconds: about eight messages, never more than one per interval.
    for (let t = 0; t < 2000; t += 2) {
      coalescer.push({ progress: 100 + t });
      vi.advanceTimersByTime(2);
    }
    expect(sent.length).toBeGreaterThanOrEqual(8);
    expect(sent.length).toBeLessThanOrEqual(11);
  });

  it("sends at once again after a quiet interval", () => {
    const sent: ToolProgress[] = [];
    const coalescer = new ProgressCoalescer((p) => sent.push(p), { intervalMs: 250, now: () => Date.now() });
    coalescer.push({ progress: 1 });
    vi.advanceTimersByTime(1000);
    coalescer.push({ progress: 2 });
    expect(sent.map((p) => p.progress)).toEqual([1, 2]);
  });

  it("drops what is pending at close, cuts long messages and ignores non-numbers", () => {
    const sent: ToolProgress[] = [];
    const coalescer = new ProgressCoalescer((p) => sent.push(p), { intervalMs: 250, now: () => Date.now() });
    coalescer.push({ progress: Number.NaN });
    coalescer.push({ progress: 1, total: Number.POSITIVE_INFINITY, message: "x".repeat(5000) });
    expect(sent).toEqual([{ progress: 1, message: "x".repeat(512) }]);
    coalescer.push({ progress: 2 });
    coalescer.close();
    vi.advanceTimersByTime(1000);
    coalescer.push({ progress: 3 });
    expect(sent).toHaveLength(1);
  });
});
