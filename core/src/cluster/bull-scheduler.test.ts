import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { waitFor } from "../testing/test-node.ts";
import { BullScheduler, cronerRepeatStrategy } from "./bull-scheduler.ts";
import { ClusterKeys, openRedis } from "./redis.ts";
import { describeWithServices, dropPrefix, uniquePrefix } from "./testing/redis-under-test.ts";

it("computes the next fire with croner, in the schedule's timezone", () => {
  const from = Date.parse("2030-01-01T10:00:00.000Z");
  expect(cronerRepeatStrategy(from, { pattern: "*/2 * * * * *" })).toBe(from + 2_000);
  expect(new Date(cronerRepeatStrategy(from, { pattern: "0 9 * * *", tz: "Europe/Berlin" })!).toISOString()).toBe(
    "2030-01-02T08:00:00.000Z",
  );
  // croner's day-of-month OR day-of-week rule, as the single-process scheduler and the UI use it.
  expect(new Date(cronerRepeatStrategy(from, { pattern: "0 0 13 * 5", tz: "UTC" })!).toISOString()).toBe(
    "2030-01-04T00:00:00.000Z",
  );
});

describeWithServices("BullScheduler: one fire per tick across two replicas (real Redis)", {}, ({ redisUrl }) => {
  const prefix = uniquePrefix("cron");
  const keys = new ClusterKeys(prefix);
  const schedulers: BullScheduler[] = [];
  const connections: Redis[] = [];
  let admin: Redis;
  beforeAll(() => {
    admin = openRedis(redisUrl, "test-admin");
  });
  afterEach(async () => {
    for (const s of schedulers.splice(0)) await s.stop();
    for (const c of connections.splice(0)) c.disconnect();
  });
  afterAll(async () => {
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });

  function replica(name: string, fires: Array<{ replica: string; jobId: string; at: number }>) {
    const connection = openRedis(redisUrl, `test-${name}`);
    connections.push(connection);
    const scheduler = new BullScheduler({
      connection,
      keys,
      onTrigger: async (jobId, firedAt) => {
        fires.push({ replica: name, jobId, at: firedAt.getTime() });
      },
    });
    schedulers.push(scheduler);
    return scheduler;
  }

  it("every-second schedule upserted by both replicas fires once per second; remove stops it", async () => {
    const fires: Array<{ replica: string; jobId: string; at: number }> = [];
    const a = replica("A", fires);
    const b = replica("B", fires);
    const job = { jobId: "job-1", schedule: { cron: "* * * * * *", timezone: "UTC" } };
    // Both replicas start and sync the same set, as every replica does at start.
    await Promise.all([a.sync([job]), b.sync([job])]);
    a.start();
    b.start();
    await new Promise((r) => setTimeout(r, 4_200));
    const seconds = fires.map((f) => Math.floor(f.at / 1000));
    expect(fires.length).toBeGreaterThanOrEqual(3);
    expect(fires.length).toBeLessThanOrEqual(5);
    expect(new Set(seconds).size).toBe(seconds.length); // never two fires in one second
    await waitFor(() => a.state("job-1")?.lastFireAt !== null, 6_000, "lastFireAt on A");
    await b.remove("job-1");
    const count = fires.length;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(fires.length).toBeLessThanOrEqual(count + 1); // at most the tick already taken
    await a.sync([]);
  });
});
