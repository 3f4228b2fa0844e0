import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { waitFor } from "../testing/test-node.ts";
import { BullRunQueue } from "./bull-run-queue.ts";
import { ClusterKeys, openRedis } from "./redis.ts";
import { describeWithServices, dropPrefix, uniquePrefix } from "./testing/redis-under-test.ts";

/** The run rows as the queue sees them: the conditional queued → running is the database's job
 * (RunsRepo.claim, tested on both dialects by the storage contract suite). */
class Rows {
  status = new Map<string, "queued" | "running" | "done" | "cancelled">();
  owner = new Map<string, string>();
  cancelRequested = new Set<string>();
  queue(id: string) {
    this.status.set(id, "queued");
  }
  claim(id: string, owner: string) {
    if (this.status.get(id) !== "queued") return undefined;
    this.status.set(id, "running");
    this.owner.set(id, owner);
    return { id };
  }
}

describeWithServices("BullRunQueue: runs through BullMQ, worked by two replicas (real Redis)", {}, ({ redisUrl }) => {
  const prefix = uniquePrefix("queue");
  const keys = new ClusterKeys(prefix);
  const queues: BullRunQueue[] = [];
  const connections: Redis[] = [];
  let admin: Redis;

  beforeAll(() => {
    admin = openRedis(redisUrl, "test-admin");
  });
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.stop();
    for (const c of connections.splice(0)) c.disconnect();
    await dropPrefix(admin, prefix);
  });
  afterAll(() => admin.disconnect());

  function replica(rows: Rows, id: string, executed: string[], runMs = 20, concurrency = 4) {
    const connection = openRedis(redisUrl, `test-${id}`);
    connections.push(connection);
    const queue = new BullRunQueue({
      connection,
      keys,
      claim: async (runId) => rows.claim(runId, id),
      execute: async (runId, signal) => {
        executed.push(`${id}:${runId}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, runMs);
          signal.addEventListener("abort", () => {
            clearTimeout(timer);
            rows.status.set(runId, "cancelled");
            resolve();
          });
        });
        if (rows.status.get(runId) === "running") rows.status.set(runId, "done");
      },
      queuedRunIds: async () => [...rows.status].filter(([, s]) => s === "queued").map(([runId]) => runId),
      cancelRequested: async (ids) => ids.filter((runId) => rows.cancelRequested.has(runId)),
      concurrency,
      sweepMs: 300,
      cancelPollMs: 100,
      lockDurationMs: 1_000,
      stalledIntervalMs: 500,
    });
    queues.push(queue);
    return queue;
  }

  it("each run executes exactly once across two replicas, however often it is enqueued", async () => {
    const rows = new Rows();
    const executed: string[] = [];
    const a = replica(rows, "A", executed);
    const b = replica(rows, "B", executed);
    a.start();
    b.start();
    const ids = Array.from({ length: 40 }, (_, i) => `run-${i}`);
    for (const id of ids) {
      rows.queue(id);
      await (Number(id.slice(4)) % 2 ? a : b).enqueue(id);
      await a.enqueue(id); // a duplicate enqueue (a retried request) is one job
    }
    await waitFor(() => ids.every((id) => rows.status.get(id) === "done"), 15_000, "every run done");
    expect(executed).toHaveLength(40);
    expect(new Set(executed.map((e) => e.split(":")[1])).size).toBe(40);
    // Both replicas worked.
    expect(new Set(executed.map((e) => e.split(":")[0]))).toEqual(new Set(["A", "B"]));
  });

  it("a run whose enqueue was lost is found by the sweep; a cancelled row is never executed", async () => {
    const rows = new Rows();
    const executed: string[] = [];
    const a = replica(rows, "A", executed);
    rows.queue("lost");
    rows.status.set("gone", "cancelled");
    await a.enqueue("gone");
    a.start();
    await waitFor(() => rows.status.get("lost") === "done", 5_000, "the lost run to run");
    expect(executed).toEqual(["A:lost"]);
  });

  it("a replica that dies between taking a job and claiming its row: BullMQ gives the job to another", async () => {
    const rows = new Rows();
    const executed: string[] = [];
    let taken = 0;
    // A takes the job and then hangs before claiming, as a process frozen or killed right there.
    const connection = openRedis(redisUrl, "test-doomed");
    const doomed = new BullRunQueue({
      connection,
      keys,
      claim: () => {
        taken += 1;
        return new Promise(() => {});
      },
      execute: async () => {},
      queuedRunIds: async () => [],
      cancelRequested: async () => [],
      concurrency: 1,
      lockDurationMs: 1_000,
      stalledIntervalMs: 500,
    });
    doomed.start();
    rows.queue("orphan");
    await doomed.enqueue("orphan");
    await waitFor(() => taken === 1, 5_000, "A to take the job");
    // A dies: its connections drop, its lock is no longer renewed.
    connection.disconnect();
    const b = replica(rows, "B", executed);
    b.start();
    await waitFor(() => rows.status.get("orphan") === "done", 10_000, "B to run the stalled job");
    expect(executed).toEqual(["B:orphan"]);
  });

  it("a cancel requested through another replica aborts the run where it executes", async () => {
    const rows = new Rows();
    const executed: string[] = [];
    const a = replica(rows, "A", executed, 60_000);
    a.start();
    rows.queue("long");
    await a.enqueue("long");
    await waitFor(() => a.activeCount === 1, 5_000, "the run to start");
    expect(a.abortLocal("other", "x")).toBe(false);
    rows.cancelRequested.add("long");
    await waitFor(() => rows.status.get("long") === "cancelled", 3_000, "the run to be aborted");
  });
});
