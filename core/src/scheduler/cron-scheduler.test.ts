import { afterEach, describe, expect, it } from "vitest";
import { CronScheduler, type Misfire } from "./cron-scheduler.ts";

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
    expect(scheduler.state("a")?.lastFireAt).not.toBeNull();
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

  it("runs once to catch up on fires missed while the Core was down (run_once)", async () => {
    const triggers: Array<{ jobId: string; catchUp: boolean }> = [];
    const misfires: Misfire[] = [];
    // A fixed clock: from the wall clock, a test run in the first minute of an hour counted 4.
    const now = new Date("2026-11-24T12:30:00Z");
    scheduler = new CronScheduler({
      now: () => now,
      onTrigger: async (jobId, _at, info) => {
        triggers.push({ jobId, catchUp: info.catchUp });
      },
      onMisfire: (_jobId, m) => misfires.push(m),
    });
    // Last fired at 09:00: 10:00, 11:00 and 12:00 were missed.
    await scheduler.sync([
      { jobId: "hourly", schedule: { cron: "0 * * * *" }, lastFireAt: "2026-11-24T09:00:00.000Z" },
    ]);
    expect(triggers).toEqual([{ jobId: "hourly", catchUp: true }]);
    expect(misfires).toHaveLength(1);
    expect(misfires[0]!.missed).toBe(3);
    expect(misfires[0]!.reason).toMatch(/3 fire\(s\) missed .* the Core was not running; ran once/);
    expect(scheduler.state("hourly")?.lastMisfireReason).toBe(misfires[0]!.reason);
  });

  it("records but does not run missed fires with the skip policy, and nothing when none was missed", async () => {
    const triggers: string[] = [];
    const misfires: Misfire[] = [];
    scheduler = new CronScheduler({
      onTrigger: async (jobId) => {
        triggers.push(jobId);
      },
      onMisfire: (_jobId, m) => misfires.push(m),
    });
    const yesterday = new Date(Date.now() - 86_400_000 - 3600_000).toISOString();
    await scheduler.sync([
      { jobId: "daily-skip", schedule: { cron: "30 2 * * *", misfire: "skip" }, lastFireAt: yesterday },
      { jobId: "fresh", schedule: { cron: "0 0 1 1 *" }, lastFireAt: new Date().toISOString() },
    ]);
    expect(triggers).toEqual([]);
    expect(misfires).toHaveLength(1);
    expect(misfires[0]!.policy).toBe("skip");
    expect(misfires[0]!.reason).toMatch(/skipped by the job's misfire policy/);
  });

  it("notices a timer that never fired (suspend, clock jump) and re-arms it", async () => {
    let now = new Date("2026-11-24T12:30:00Z");
    const triggers: boolean[] = [];
    const misfires: Misfire[] = [];
    scheduler = new CronScheduler({
      now: () => now,
      watchdogMs: 3_600_000,
      onTrigger: async (_jobId, _at, info) => {
        triggers.push(info.catchUp);
      },
      onMisfire: (_jobId, m) => misfires.push(m),
    });
    await scheduler.upsert({ jobId: "m", schedule: { cron: "0 * * * *" } });
    now = new Date("2026-11-24T14:30:05Z"); // the clock jumped two hours: 13:00 and 14:00 never fired
    scheduler.check();
    expect(triggers).toEqual([true]);
    expect(misfires[0]!.missed).toBe(2);
    expect(misfires[0]!.reason).toMatch(/did not fire/);
    scheduler.check(); // re-armed: nothing more
    expect(triggers).toHaveLength(1);
  });
});
