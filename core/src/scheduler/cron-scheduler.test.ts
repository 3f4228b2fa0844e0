import { afterEach, describe, expect, it } from "vitest";
import { CronScheduler } from "./cron-scheduler.ts";

describe("CronScheduler", () => {
  let scheduler: CronScheduler | undefined;
  afterEach(async () => scheduler?.stop());

  it("fires a 6-field schedule every second and stops when removed", async () => {
    const fired: string[] = [];
    scheduler = new CronScheduler({
      onTrigger: async (jobId) => {
        fired.push(jobId);
      },
    });
    await scheduler.sync([{ jobId: "a", schedule: { cron: "* * * * * *" } }]);
    expect(scheduler.state("a")?.nextFireAt).not.toBeNull();
    await new Promise((r) => setTimeout(r, 2300));
    expect(fired.length).toBeGreaterThanOrEqual(2);
    await scheduler.remove("a");
    const count = fired.length;
    await new Promise((r) => setTimeout(r, 1200));
    expect(fired.length).toBe(count);
    expect(scheduler.state("a")).toBeUndefined();
  });

  it("keeps the old schedule when the new expression is invalid", async () => {
    scheduler = new CronScheduler({ onTrigger: async () => {} });
    await scheduler.upsert({ jobId: "a", schedule: { cron: "0 8 * * *" } });
    await expect(scheduler.upsert({ jobId: "a", schedule: { cron: "bad" } })).rejects.toThrow(/fields/);
    expect(scheduler.state("a")?.nextFireAt).toMatch(/T08:00:00/);
  });
});
