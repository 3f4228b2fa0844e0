import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { SecretBox } from "../secrets/secret-box.ts";
import type { Clock } from "./clock.ts";
import { createRepositories } from "./repos/index.ts";
import { describeEachDialect } from "./testing/dialects.ts";

/** Channels and the durable delivery queue, over every dialect (CONTRACT "Results that reach people"). */

const box = new SecretBox({ current: { version: 1, key: randomBytes(32) } });

function movableClock(start = "2030-01-01T00:00:00.000Z"): Clock & { advance(ms: number): void } {
  let now = new Date(start).getTime();
  const clock = (() => new Date(now)) as Clock & { advance(ms: number): void };
  clock.advance = (ms) => {
    now += ms;
  };
  return clock;
}

describeEachDialect("channels and deliveries", (get) => {
  async function setUp(clock?: Clock) {
    const r = createRepositories(get().db, box, clock ? { clock } : {});
    const job = await r.jobs.create({ name: "j", prompt: "p", model: { provider: "lm", model: "m" } });
    const run = await r.runs.create({ jobId: job.id, trigger: "manual" });
    const channel = await r.channels.create({
      name: "ops-hook",
      kind: "webhook",
      config: { url: "https://example.com/hook" },
      secret: { secret: "whsec_c2VjcmV0LXZhbHVlLWZvci10ZXN0cw==" },
    });
    return { r, job, run, channel };
  }

  it("a channel's secret is sealed in its row, listed by field name only, opened by getSecret", async () => {
    const { r, channel } = await setUp();
    expect(channel).toMatchObject({ name: "ops-hook", kind: "webhook", config: { url: "https://example.com/hook" } });
    expect(channel.secrets).toEqual(["secret"]);
    expect(JSON.stringify(await r.channels.list())).not.toContain("whsec_");
    const raw = await get().db.selectFrom("channels").selectAll().executeTakeFirstOrThrow();
    expect(raw.secret_ciphertext).toMatch(/^v1:1:/);
    expect(JSON.stringify(raw)).not.toContain("c2VjcmV0");
    expect(await r.channels.getSecret(channel.id)).toEqual({ secret: "whsec_c2VjcmV0LXZhbHVlLWZvci10ZXN0cw==" });
    expect((await r.channels.resolve("ops-hook"))?.id).toBe(channel.id);
    expect((await r.channels.resolve(channel.id))?.name).toBe("ops-hook");
    await expect(r.channels.create({ name: "ops-hook", kind: "slack", config: {}, secret: {} })).rejects.toSatisfy(
      (e: unknown) => (e as { code?: string }).code === "conflict",
    );
  });

  it("a delivery is enqueued once per (run, channel, key), claimed under a lease by one sender", async () => {
    const clock = movableClock();
    const { r, run, channel } = await setUp(clock);
    const first = await r.deliveries.enqueue({
      runId: run.id,
      channelId: channel.id,
      event: "run.failed",
      dedupeKey: "run.failed",
      payload: { type: "run.failed" },
    });
    expect(first).toMatchObject({ status: "pending", attempts: 0, payload: { type: "run.failed" } });
    const again = await r.deliveries.enqueue({
      runId: run.id,
      channelId: channel.id,
      event: "run.failed",
      dedupeKey: "run.failed",
      payload: { type: "run.failed" },
    });
    expect(again).toBeUndefined();

    const taken = await r.deliveries.claimDue("core-a", 30_000);
    expect(taken?.id).toBe(first?.id);
    // Held: a second sender gets nothing, even a moment later.
    expect(await r.deliveries.claimDue("core-b", 30_000)).toBeUndefined();
    expect(await r.deliveries.recordAttempt(first!.id, "core-b", { status: "delivered" })).toBe(false);

    expect(
      await r.deliveries.recordAttempt(first!.id, "core-a", {
        status: "pending",
        error: "HTTP 503",
        nextAttemptAt: new Date(clock().getTime() + 2_000).toISOString(),
      }),
    ).toBe(true);
    // Not due yet.
    expect(await r.deliveries.claimDue("core-b", 30_000)).toBeUndefined();
    clock.advance(2_000);
    const retry = await r.deliveries.claimDue("core-b", 30_000);
    expect(retry).toMatchObject({ id: first!.id, attempts: 1, lastError: "HTTP 503" });
    expect(await r.deliveries.recordAttempt(first!.id, "core-b", { status: "delivered" })).toBe(true);
    const listed = await r.deliveries.listForRun(run.id);
    expect(listed).toEqual([
      expect.objectContaining({
        channel: "ops-hook",
        kind: "webhook",
        status: "delivered",
        attempts: 2,
        lastError: null,
      }),
    ]);
    expect(listed[0]?.deliveredAt).toEqual(expect.any(String));
    expect(await r.deliveries.countPending()).toBe(0);
  });

  it("an expired lease is taken again; releaseLeases frees a dead process's leases at once", async () => {
    const clock = movableClock();
    const { r, run, channel } = await setUp(clock);
    const d = await r.deliveries.enqueue({
      runId: run.id,
      channelId: channel.id,
      event: "run.succeeded",
      dedupeKey: "run.succeeded",
      payload: {},
    });
    expect((await r.deliveries.claimDue("dead", 10_000))?.id).toBe(d!.id);
    clock.advance(10_001);
    expect((await r.deliveries.claimDue("alive", 10_000))?.id).toBe(d!.id);
    expect(await r.deliveries.releaseLeases()).toBe(1);
    expect((await r.deliveries.claimDue("restarted", 10_000))?.id).toBe(d!.id);
    // The first holder's late answer is not recorded over the new holder's attempt.
    expect(await r.deliveries.recordAttempt(d!.id, "alive", { status: "failed", error: "late" })).toBe(false);
    expect(await r.deliveries.recordAttempt(d!.id, "restarted", { status: "failed", error: "HTTP 400" })).toBe(true);
    expect(await r.deliveries.get(d!.id)).toMatchObject({ status: "failed", attempts: 1, lastError: "HTTP 400" });
    expect(await r.deliveries.claimDue("any", 10_000)).toBeUndefined();
  });

  it("two senders racing over many deliveries take each exactly once", async () => {
    const { r, channel } = await setUp();
    const job = await r.jobs.create({ name: "many", prompt: "p", model: { provider: "lm", model: "m" } });
    for (let i = 0; i < 20; i++) {
      const run = await r.runs.create({ jobId: job.id, trigger: "manual" });
      await r.deliveries.enqueue({
        runId: run.id,
        channelId: channel.id,
        event: "run.succeeded",
        dedupeKey: "run.succeeded",
        payload: {},
      });
    }
    const other = createRepositories(get().openAnother().db, box);
    const takenBy = async (repo: typeof r, owner: string) => {
      const ids: string[] = [];
      for (;;) {
        const d = await repo.deliveries.claimDue(owner, 60_000);
        if (!d) return ids;
        ids.push(d.id);
      }
    };
    const [a, b] = await Promise.all([takenBy(r, "a"), takenBy(other, "b")]);
    expect(a.length + b.length).toBe(20);
    expect(new Set([...a, ...b]).size).toBe(20);
  });

  it("jobs keep notify rules; listNotifying finds the jobs that use a channel; deleting a run drops its deliveries", async () => {
    const { r, job, run, channel } = await setUp();
    const updated = await r.jobs.update(job.id, {
      notify: [{ channel: channel.id, on: ["failed", "waiting_approval"] }],
    });
    expect(updated?.notify).toEqual([{ channel: channel.id, on: ["failed", "waiting_approval"] }]);
    expect((await r.jobs.listNotifying(channel.id)).map((j) => j.name)).toEqual(["j"]);
    await r.deliveries.enqueue({
      runId: run.id,
      channelId: channel.id,
      event: "run.failed",
      dedupeKey: "k",
      payload: {},
    });
    await r.runs.deleteForJob(job.id);
    expect(await r.deliveries.countPending()).toBe(0);
  });
});
