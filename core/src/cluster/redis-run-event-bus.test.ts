import type { Redis } from "ioredis";
import { afterAll, expect, it } from "vitest";
import type { RunEvent } from "../runs/run-events.ts";
import { waitFor } from "../testing/test-node.ts";
import { ClusterKeys, openRedis } from "./redis.ts";
import { RedisRunEventBus } from "./redis-run-event-bus.ts";
import { RedisSubscriber } from "./redis-subscriber.ts";
import { describeWithServices, uniquePrefix } from "./testing/redis-under-test.ts";

describeWithServices("RedisRunEventBus: a run's events on A reach a browser on B (real Redis)", {}, ({ redisUrl }) => {
  const keys = new ClusterKeys(uniquePrefix("events"));
  const closers: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const close of closers) await close();
  });

  async function bus(name: string): Promise<RedisRunEventBus> {
    const publisher: Redis = openRedis(redisUrl, `test-pub-${name}`);
    const subscriber = new RedisSubscriber(openRedis(redisUrl, `test-sub-${name}`));
    const b = new RedisRunEventBus({ publisher, keys });
    await b.start(subscriber);
    closers.push(
      () => subscriber.close(),
      () => publisher.disconnect(),
    );
    return b;
  }

  it("delivers in order to subscribers of that run on every replica, none after unsubscribe", async () => {
    const a = await bus("a");
    const b = await bus("b");
    const onB: RunEvent[] = [];
    const onA: RunEvent[] = [];
    const other: RunEvent[] = [];
    const unsubscribe = b.subscribe("run-1", (e) => onB.push(e));
    a.subscribe("run-1", (e) => onA.push(e));
    b.subscribe("run-2", (e) => other.push(e));
    a.publish("run-1", { type: "status", status: "running" });
    for (let i = 1; i <= 20; i += 1) a.publish("run-1", { type: "step", seq: i, step: { type: "llm" } });
    a.publish("run-1", { type: "done", status: "succeeded" });
    await waitFor(() => onB.length === 22 && onA.length === 22, 3_000, "22 events on both replicas");
    expect(onB.map((e) => (e.type === "step" ? e.seq : e.type))).toEqual([
      "status",
      ...Array.from({ length: 20 }, (_, i) => i + 1),
      "done",
    ]);
    expect(other).toEqual([]);
    unsubscribe();
    a.publish("run-1", { type: "delta", text: "late" });
    await waitFor(() => onA.length === 23, 3_000, "the late event on A");
    expect(onB).toHaveLength(22);
  });
});
