import { InMemoryTransport, ProtocolError } from "@fabricore/protocol";
import type { Redis } from "ioredis";
import { expect, it } from "vitest";
import { NodeHub } from "../nodes/node-hub.ts";
import { createTestNode, type TestNode, waitFor } from "../testing/test-node.ts";
import { ClusterHub } from "./cluster-hub.ts";
import { openRedis } from "./redis.ts";
import { RedisSubscriber } from "./redis-subscriber.ts";
import { describeWithServices, useRedisUnderTest } from "./testing/redis-under-test.ts";

interface Replica {
  id: string;
  local: NodeHub;
  cluster: ClusterHub;
  subscriber: RedisSubscriber;
  redis: Redis;
  /** Stops it as a crash would: no goodbye, its Redis connections just drop. */
  crash(): Promise<void>;
}

describeWithServices("ClusterHub: a Node on replica A used from replica B (real Redis)", {}, ({ redisUrl }) => {
  const { keys, admin, cleanups } = useRedisUnderTest(redisUrl, "hub");

  async function replica(id: string, ttlMs = 1_500): Promise<Replica> {
    let cluster: ClusterHub | undefined;
    const local = new NodeHub({
      authenticate: async () => null,
      desiredMcpServers: async () => [],
      heartbeatIntervalMs: 1_000,
      deadlineGraceMs: 300,
      onOnline: (nodeId) => cluster?.nodeChanged(nodeId),
      onOffline: (nodeId) => cluster?.nodeChanged(nodeId),
      onToolsChanged: (nodeId) => cluster?.nodeChanged(nodeId),
    });
    const redis = openRedis(redisUrl, `test-${id}`);
    const subscriberConnection = openRedis(redisUrl, `test-sub-${id}`);
    const subscriber = new RedisSubscriber(subscriberConnection);
    cluster = new ClusterHub({ local, redis, keys, replicaId: id, ttlMs, deadlineGraceMs: 300, remoteGraceMs: 500 });
    await cluster.start(subscriber);
    let down = false;
    const stop = async () => {
      if (down) return;
      down = true;
      await cluster.close();
      await local.close();
      await subscriber.close();
      redis.disconnect();
    };
    cleanups.push(stop);
    return {
      id,
      local,
      cluster,
      subscriber,
      redis,
      async crash() {
        down = true;
        // Timers stop and sockets drop, but nothing is released in Redis: entries must expire.
        await cluster.close();
        subscriberConnection.disconnect();
        redis.disconnect();
        await local.close();
      },
    };
  }

  /** `once`: later dials fail, as if that replica became unreachable to this Node. */
  function connectNode(to: Replica, nodeId = "n1", once = false): TestNode {
    let dials = 0;
    const node = createTestNode(async () => {
      dials += 1;
      if (once && dials > 1) throw new Error("unreachable");
      const [coreSide, nodeSide] = InMemoryTransport.createLinkedPair();
      to.local.accept(coreSide, { nodeId, name: `node-${nodeId}` });
      return nodeSide;
    });
    node.manager.start();
    cleanups.push(() => node.manager.stop());
    return node;
  }

  it("B sees the Node held by A, with its tools, and its calls run on the Node through A", async () => {
    const a = await replica("A");
    const b = await replica("B");
    const node = connectNode(a);
    await waitFor(() => b.cluster.isOnline("n1"), 3_000, "B to see n1");
    expect(b.local.isOnline("n1")).toBe(false);
    expect(b.cluster.get("n1")?.tools.map((t) => t.name)).toContain("echo");
    expect(b.cluster.onlineCount()).toBe(1);
    const result = await b.cluster.callTool("n1", {
      name: "echo",
      source: "mcp:test",
      arguments: { hello: "from B" },
      deadlineMs: 2_000,
      callId: "c-1",
    });
    expect(result.structuredContent).toMatchObject({ args: { hello: "from B" } });
    expect(node.provider.executions).toBe(1);
    // A tools change on A reaches B's view.
    node.provider.setTools([{ name: "only", description: "d", inputSchema: { type: "object" }, source: "mcp:test" }]);
    await waitFor(() => b.cluster.get("n1")?.tools.some((t) => t.name === "only") === true, 3_000, "new tools on B");
  });

  it("keeps one process's errors: cancelled, deadline_exceeded, node_offline (at once)", async () => {
    const a = await replica("A");
    const b = await replica("B");
    const node = connectNode(a);
    await waitFor(() => b.cluster.isOnline("n1"), 3_000, "B to see n1");

    const controller = new AbortController();
    const cancelled = b.cluster.callTool(
      "n1",
      { name: "hang", source: "mcp:test", arguments: {}, deadlineMs: 10_000, callId: "c-cancel" },
      { signal: controller.signal },
    );
    await waitFor(() => node.provider.executions === 1, 3_000, "the hang to start");
    controller.abort("stop");
    await expect(cancelled).rejects.toMatchObject({ code: "cancelled" });
    await waitFor(() => node.provider.aborted === 1, 3_000, "the Node to abort the tool");

    const started = Date.now();
    await expect(
      b.cluster.callTool("n1", { name: "hang", source: "mcp:test", arguments: {}, deadlineMs: 400, callId: "c-late" }),
    ).rejects.toMatchObject({ code: "deadline_exceeded" });
    expect(Date.now() - started).toBeLessThan(3_000);

    await expect(
      b.cluster.callTool("nobody", { name: "echo", source: "mcp:test", arguments: {}, deadlineMs: 1_000, callId: "x" }),
    ).rejects.toBeInstanceOf(ProtocolError);

    // The Node goes away mid-call: B's caller hears node_offline when A does, not at the deadline.
    const dropped = b.cluster.callTool("n1", {
      name: "hang",
      source: "mcp:test",
      arguments: {},
      deadlineMs: 20_000,
      callId: "c-drop",
    });
    await waitFor(() => node.provider.executions === 3, 3_000, "the third hang to start");
    const t0 = Date.now();
    await node.manager.stop();
    await expect(dropped).rejects.toMatchObject({ code: "node_offline" });
    expect(Date.now() - t0).toBeLessThan(3_000);
    await waitFor(() => !b.cluster.isOnline("n1"), 3_000, "B to see n1 offline");
  });

  it("a crashed holder: its entries expire, B's waiting call fails node_offline, the Node moves to B", async () => {
    const a = await replica("A", 900);
    const b = await replica("B", 900);
    const onA = connectNode(a, "n2", true);
    await waitFor(() => b.cluster.isOnline("n2"), 3_000, "B to see n2");
    const waiting = b.cluster.callTool("n2", {
      name: "hang",
      source: "mcp:test",
      arguments: {},
      deadlineMs: 30_000,
      callId: "c-crash",
    });
    await waitFor(() => onA.provider.executions === 1, 3_000, "the hang to start");
    const t0 = Date.now();
    await a.crash();
    // Nothing was released: only expiry can tell B.
    expect(await admin().exists(keys.node("n2"))).toBe(1);
    await expect(waiting).rejects.toMatchObject({ code: "node_offline" });
    expect(Date.now() - t0).toBeLessThan(3_000);
    await waitFor(() => !b.cluster.isOnline("n2"), 3_000, "A's entry to expire");
    await onA.manager.stop();
    connectNode(b, "n2");
    await waitFor(() => b.cluster.isOnline("n2") && b.local.isOnline("n2"), 3_000, "n2 on B");
  });

  it("a Node that reconnects to B replaces its stale connection on A", async () => {
    const a = await replica("A");
    const b = await replica("B");
    connectNode(a, "n3", true);
    await waitFor(() => a.local.isOnline("n3") && b.cluster.isOnline("n3"), 3_000, "n3 on A");
    // Same Node identity dialling B (a failover while A still holds a half-open socket).
    const onB = connectNode(b, "n3");
    await waitFor(() => b.local.isOnline("n3"), 3_000, "n3 on B");
    await waitFor(() => !a.local.isOnline("n3") || a.local.get("n3") === undefined, 3_000, "A to drop its stale one");
    expect(a.cluster.get("n3")).toBeDefined();
    const result = await a.cluster.callTool("n3", {
      name: "echo",
      source: "mcp:test",
      arguments: { via: "A" },
      deadlineMs: 2_000,
      callId: "c-3",
    });
    expect(result.isError ?? false).toBe(false);
    expect(onB.provider.executions).toBeGreaterThanOrEqual(1);
  });
});
