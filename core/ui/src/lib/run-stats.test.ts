import { describe, expect, it } from "vitest";
import type { RunDay } from "../api/runs.ts";
import { describeRunDay, summarizeRunDays } from "./run-stats.ts";

const day = (over: Partial<RunDay>): RunDay => ({
  day: "2026-12-01",
  total: 0,
  succeeded: 0,
  failed: 0,
  cancelled: 0,
  other: 0,
  avgDurationMs: null,
  promptTokens: 0,
  completionTokens: 0,
  ...over,
});

describe("summarizeRunDays", () => {
  it("rates success over runs that ended, weights durations by finished runs, sums tokens", () => {
    const w = summarizeRunDays([
      day({ total: 4, succeeded: 3, failed: 1, avgDurationMs: 1000, promptTokens: 10, completionTokens: 5 }),
      day({ day: "2026-12-02" }),
      day({ day: "2026-12-03", total: 2, failed: 1, other: 1, avgDurationMs: 6000, promptTokens: 1 }),
    ]);
    expect(w).toEqual({ total: 6, ended: 5, succeeded: 3, successRate: 60, avgDurationMs: 2000, tokens: 16 });
  });

  it("has no rate and no duration when nothing ended", () => {
    expect(summarizeRunDays([day({ total: 1, other: 1 })])).toMatchObject({ successRate: null, avgDurationMs: null });
  });

  it("says a day in words", () => {
    expect(describeRunDay(day({ total: 3, succeeded: 1, failed: 1, other: 1 }))).toBe(
      "2026-12-01: 3 runs (1 succeeded, 1 failed, 1 in progress or skipped)",
    );
  });
});
