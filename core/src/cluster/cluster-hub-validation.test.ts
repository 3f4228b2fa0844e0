import { RpcHandlers, RpcPeer, type Transport } from "@fabricore/protocol";
import { expect, it } from "vitest";
import { NodeHub } from "../nodes/node-hub.ts";
import { waitFor } from "../testing/test-node.ts";
import { ClusterHub } from "./cluster-hub.ts";
import { openRedis } from "./redis.ts";
import { RedisRpcLink } from "./redis-rpc-transport.ts";
import { RedisSubscriber } from "./redis-subscriber.ts";
import { type ReplicaCatalog, replicaCatalog } from "./replica-catalog.ts";
import { describeWithServices, useRedisUnderTest } from "./testing/redis-under-test.ts";

/**
 * Another replica's answers are held to the catalog as a Node's are: here the "holder" is a rogue
 * replica (an RpcPeer over the same Redis transport, with handlers that answer nonsense), and the
 * real ClusterHub on B must refuse what it says instead of handing it to its callers.
 */
describeWithServices("ClusterHub: answers from another replica are validated (real Redis)", {}, ({ redisUrl }) => {
  const { keys, admin, cleanups } = useRedisUnderTest(redisUrl, "hub-validation");

  async function realReplica(id: string, idlePeerMs?: number): Promise<ClusterHub> {
    const local = new NodeHub({ authenticate: async () => null, desiredMcpServers: async () => [] });
    const redis = openRedis(redisUrl, `test-${id}`);
    const subscriber = new RedisSubscriber(openRedis(redisUrl, `test-sub-${id}`));
    const cluster = new ClusterHub({
      local,
      redis,
      keys,
      replicaId: id,
      ttlMs: 600,
      ...(idlePeerMs && { idlePeerMs }),
    });
    await cluster.start(subscriber);
    cleanups.push(async () => {
      await cluster.close();
      await local.close();
      await subscriber.close();
      redis.disconnect();
    });
    return cluster;
  }

  /** A replica "R" that claims to hold Node n9 and answers with whatever `answers` says. */
  async function rogueReplica(answers: RpcHandlers<ReplicaCatalog, string>) {
    const redis = openRedis(redisUrl, "test-rogue");
    const subscriber = new RedisSubscriber(openRedis(redisUrl, "test-sub-rogue"));
    const options = { incoming: replicaCatalog, outgoing: replicaCatalog, handlers: answers };
    const link = new RedisRpcLink({
      redis,
      replicaId: "R",
      channel: (replicaId) => keys.rpc(replicaId),
      makePeer: (transport: Transport, remoteId: string) => new RpcPeer(transport, options, remoteId),
    });
    await link.start(subscriber);
    const node = { nodeId: "n9", name: "rogue-node", tools: [], connectedAt: Date.now() };
    await redis.set(keys.node("n9"), JSON.stringify({ replicaId: "R", node }), "PX", 60_000);
    await redis.publish(keys.presence, JSON.stringify({ replicaId: "R", nodeId: "n9", node }));
    cleanups.push(async () => {
      await redis.del(keys.node("n9"));
      await link.close(1001, "test over");
      await subscriber.close();
      redis.disconnect();
    });
    return link;
  }

  const call = { name: "echo", source: "mcp:test", arguments: {}, deadlineMs: 1_000, callId: "c-v" };

  it("refuses a result that does not fit the catalog, and a restart answered with logs", async () => {
    const b = await realReplica("B");
    await rogueReplica(
      new RpcHandlers<ReplicaCatalog, string>()
        .onRequest("replica/callTool", async () => ({ content: "not a list" }) as never)
        .onRequest("replica/syncMcp", async () => [{ name: 5 }] as never)
        .onRequest("replica/mcpServerOp", async ({ op }) => ({
          kind: "logs" as const,
          name: op.name,
          source: "node" as const,
          lines: [],
          truncated: false,
        })),
    );
    await waitFor(() => b.isOnline("n9"), 3_000, "B to see the rogue's Node");
    await expect(b.callTool("n9", call)).rejects.toMatchObject({
      code: "invalid_message",
      message: expect.stringContaining("invalid result for replica/callTool"),
    });
    await expect(b.syncMcp("n9", [])).rejects.toMatchObject({ code: "invalid_message" });
    await expect(b.mcpServerOp("n9", { kind: "restart", name: "web" })).rejects.toMatchObject({
      code: "invalid_message",
      message: "replica R answered a restart with logs",
    });
    // The same answer to the op it fits is taken.
    await expect(b.mcpServerOp("n9", { kind: "logs", name: "web", tail: 5 })).resolves.toMatchObject({
      kind: "logs",
      name: "web",
    });
  });

  it("refuses a request whose params do not fit the catalog (the holder side checks too)", async () => {
    await realReplica("B");
    const rogue = await rogueReplica(new RpcHandlers<ReplicaCatalog, string>());
    const toB = rogue.peer("B");
    await expect(
      toB.request("replica/callTool", { nodeId: "", call: { name: "x" } } as never, { timeoutMs: 3_000 }),
    ).rejects.toMatchObject({ code: "invalid_params" });
    // A valid request for a Node B does not have: B's NodeHub answers, with its own code.
    await expect(
      toB.request("replica/callTool", { nodeId: "nobody", call }, { timeoutMs: 3_000 }),
    ).rejects.toMatchObject({ code: "node_offline" });
  });

  it("a holder nobody listens for (gone, its entry not yet expired): node_offline at once", async () => {
    const b = await realReplica("B");
    const node = { nodeId: "n8", name: "orphan", tools: [], connectedAt: Date.now() };
    await admin().set(keys.node("n8"), JSON.stringify({ replicaId: "Z", node }), "PX", 60_000);
    await admin().publish(keys.presence, JSON.stringify({ replicaId: "Z", nodeId: "n8", node }));
    await waitFor(() => b.isOnline("n8"), 3_000, "B to see n8 on Z");
    const started = Date.now();
    await expect(b.callTool("n8", { ...call, deadlineMs: 20_000 })).rejects.toMatchObject({
      code: "node_offline",
      message: expect.stringContaining("replica Z is unreachable"),
    });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("drops a peer left idle and makes a new one for the next call", async () => {
    const b = await realReplica("B", 1);
    const seenIds: Array<string | number> = [];
    await rogueReplica(
      new RpcHandlers<ReplicaCatalog, string>().onRequest("replica/callTool", async (_, { requestId }) => {
        seenIds.push(requestId);
        return { content: [{ type: "text" as const, text: "ok" }], durationMs: 1 };
      }),
    );
    await waitFor(() => b.isOnline("n9"), 3_000, "B to see the rogue's Node");
    // Two at once on one peer: ids 1 and 2.
    await Promise.all([b.callTool("n9", call), b.callTool("n9", call)]);
    // Refreshes run every 200 ms (ttl 600): after one, the idle peer is gone and ids start again
    // (a second is five of them, room for a loaded machine).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await b.callTool("n9", call);
    expect(seenIds).toEqual([1, 2, 1]);
  });
});
