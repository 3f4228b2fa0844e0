import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { SecretBox } from "../secrets/secret-box.ts";
import type { Clock } from "./clock.ts";
import { createRepositories } from "./repos/index.ts";
import { describeEachDialect } from "./testing/dialects.ts";

const box = new SecretBox({ current: { version: 1, key: randomBytes(32) } });

// The dashboard's runs-over-time chart (issue 22.4) on every dialect: per UTC day, counts by how
// runs ended, mean duration of the finished ones and tokens, counted in SQL.
describeEachDialect("runs over time", (get) => {
  let now = Date.parse("2026-11-01T00:00:00.000Z");
  const clock: Clock = () => new Date(now);
  const at = (iso: string) => {
    now = Date.parse(iso);
  };

  it("groups a job's top-level runs by UTC day; idle days are zeros; children are not counted", async () => {
    const r = createRepositories(get().db, box, { clock });
    const job = await r.jobs.create({
      name: `stats-${randomBytes(4).toString("hex")}`,
      prompt: "p",
      model: { provider: "lm", model: "m" },
    });
    const ran = async (start: string, end: string, status: "succeeded" | "failed", tokens: [number, number]) => {
      at(start);
      const run = await r.runs.create({ jobId: job.id, trigger: "cron" });
      await r.runs.claim(run.id, "owner-1");
      at(end);
      await r.runs.finish(run.id, {
        status,
        output: null,
        error: null,
        usage: { promptTokens: tokens[0], completionTokens: tokens[1] },
      });
      return run;
    };
    // Day 1: two runs of 2 s and 4 s; day 3: one failed 10 s run (its fan-out child is not a run
    // of its own in the chart), one still queued, one cancelled before it started.
    await ran("2026-11-01T10:00:00.000Z", "2026-11-01T10:00:02.000Z", "succeeded", [100, 10]);
    await ran("2026-11-01T23:59:00.000Z", "2026-11-01T23:59:04.000Z", "succeeded", [50, 5]);
    const parent = await ran("2026-11-03T08:00:00.000Z", "2026-11-03T08:00:10.000Z", "failed", [7, 3]);
    await r.runs.createChildren(parent, [{ nodeId: "n1", nodeName: "web-1" }]);
    at("2026-11-03T09:00:00.000Z");
    await r.runs.create({ jobId: job.id, trigger: "manual" });
    const cancelled = await r.runs.create({ jobId: job.id, trigger: "manual" });
    await r.runs.cancelQueued(cancelled.id);

    at("2026-11-04T12:00:00.000Z");
    const days = await r.runStats.daily(4, { jobId: job.id });
    expect(days.map((d) => d.day)).toEqual(["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]);
    expect(days[0]).toEqual({
      day: "2026-11-01",
      total: 2,
      succeeded: 2,
      failed: 0,
      cancelled: 0,
      other: 0,
      avgDurationMs: 3000,
      promptTokens: 150,
      completionTokens: 15,
    });
    expect(days[1]).toMatchObject({ total: 0, avgDurationMs: null, promptTokens: 0 });
    expect(days[2]).toMatchObject({ total: 3, succeeded: 0, failed: 1, cancelled: 1, other: 1 });
    // The failed run took 10 s; the cancelled one never started: 0 s from its creation.
    expect(days[2]?.avgDurationMs).toBe(5000);
    expect(days[3]?.total).toBe(0);
    // A shorter window starts later; another job's runs are not in this one's numbers.
    expect((await r.runStats.daily(2, { jobId: job.id })).map((d) => d.day)).toEqual(["2026-11-03", "2026-11-04"]);
    expect((await r.runStats.daily(4, { jobId: "no-such-job" })).every((d) => d.total === 0)).toBe(true);
  });
});
