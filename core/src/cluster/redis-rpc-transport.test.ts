import type { JsonRpcMessage, Transport } from "@fabricore/protocol";
import { expect, it } from "vitest";
import { waitFor } from "../testing/test-node.ts";
import { openRedis } from "./redis.ts";
import { RedisRpcLink } from "./redis-rpc-transport.ts";
import { RedisSubscriber } from "./redis-subscriber.ts";
import { describeWithServices, useRedisUnderTest } from "./testing/redis-under-test.ts";

/** What one replica's link saw from each other replica. */
interface Seen {
  transport: Transport;
  messages: JsonRpcMessage[];
  invalid: Array<{ error: string; id: string | number | null }>;
  closed: number;
}

describeWithServices(
  "RedisRpcLink: JSON-RPC transports between replicas over pub/sub (real Redis)",
  {},
  ({ redisUrl }) => {
    const { keys, admin, cleanups } = useRedisUnderTest(redisUrl, "rpc-link");

    async function replica(id: string) {
      const redis = openRedis(redisUrl, `test-${id}`);
      const subscriber = new RedisSubscriber(openRedis(redisUrl, `test-sub-${id}`));
      const warnings: string[] = [];
      const made: string[] = [];
      const logger = {
        debug() {},
        info() {},
        error() {},
        warn: (_: unknown, message?: string) => warnings.push(message ?? ""),
      };
      const link = new RedisRpcLink<Seen>({
        redis,
        replicaId: id,
        channel: (replicaId) => keys.rpc(replicaId),
        logger,
        makePeer: (transport, remoteId) => {
          made.push(remoteId);
          const seen: Seen = { transport, messages: [], invalid: [], closed: 0 };
          transport.onmessage = (message) => seen.messages.push(message);
          transport.oninvalid = (error, requestId) => seen.invalid.push({ error, id: requestId });
          transport.onclose = () => {
            seen.closed += 1;
          };
          return seen;
        },
      });
      await link.start(subscriber);
      cleanups.push(async () => {
        await link.close(1001, "test over");
        await subscriber.close();
        redis.disconnect();
      });
      return { link, warnings, made };
    }

    it("delivers messages both ways, each to the transport of the replica that sent it", async () => {
      const a = await replica("A");
      const b = await replica("B");
      const c = await replica("C");
      await a.link.peer("B").transport.send({ jsonrpc: "2.0", id: 1, method: "replica/ping", params: { n: 1 } });
      await c.link.peer("B").transport.send({ jsonrpc: "2.0", method: "notifications/x", params: {} });
      await waitFor(() => b.link.peers().length === 2, 3_000, "B to hear from A and C");
      expect(b.link.peer("A").messages).toEqual([{ jsonrpc: "2.0", id: 1, method: "replica/ping", params: { n: 1 } }]);
      expect(b.link.peer("C").messages).toEqual([{ jsonrpc: "2.0", method: "notifications/x", params: {} }]);
      await b.link.peer("A").transport.send({ jsonrpc: "2.0", id: 1, result: { pong: true } });
      await waitFor(() => a.link.peer("B").messages.length === 1, 3_000, "A to get the answer");
      expect(a.link.peer("B").messages[0]).toEqual({ jsonrpc: "2.0", id: 1, result: { pong: true } });
      // One peer per other replica, made once.
      expect(b.made.sort()).toEqual(["A", "C"]);
      expect(a.made).toEqual(["B"]);
    });

    it("send fails when nobody listens on the other replica's channel", async () => {
      const a = await replica("A");
      await expect(
        a.link.peer("gone").transport.send({ jsonrpc: "2.0", id: 1, method: "replica/ping", params: {} }),
      ).rejects.toThrow(/replica gone is unreachable/);
    });

    it("close: the transport reports it once, refuses to send, and the next use makes a new peer", async () => {
      const a = await replica("A");
      await replica("B");
      const first = a.link.peer("B");
      await first.transport.close(1000, "done");
      await first.transport.close(1000, "again");
      expect(first.closed).toBe(1);
      await expect(first.transport.send({ jsonrpc: "2.0", method: "notifications/x", params: {} })).rejects.toThrow(
        /closed/,
      );
      const second = a.link.peer("B");
      expect(second).not.toBe(first);
      await second.transport.send({ jsonrpc: "2.0", method: "notifications/x", params: {} });
      expect(a.made).toEqual(["B", "B"]);
    });

    it("drops malformed messages with a log, answers an invalid JSON-RPC message, and keeps working", async () => {
      const b = await replica("B");
      const channel = keys.rpc("B");
      await admin().publish(channel, "not json {");
      await admin().publish(channel, JSON.stringify({ message: { jsonrpc: "2.0", method: "x" } }));
      // What a replica of an older release (its own request format) sends: no JSON-RPC message.
      await admin().publish(channel, JSON.stringify({ op: "callTool", id: "1", from: "old", nodeId: "n1", call: {} }));
      await admin().publish(channel, JSON.stringify({ from: "X", message: { jsonrpc: "1.0", id: 7, method: "x" } }));
      // Its own messages (a replica never talks to itself) are ignored.
      await admin().publish(channel, JSON.stringify({ from: "B", message: { jsonrpc: "2.0", method: "x" } }));
      await admin().publish(channel, JSON.stringify({ from: "X", message: { jsonrpc: "2.0", method: "after" } }));
      await waitFor(() => b.link.peers().length === 1 && b.link.peer("X").messages.length === 1, 3_000, "the good one");
      expect(b.warnings).toEqual(Array(3).fill("dropped a malformed message from another replica"));
      expect(b.link.peer("X").invalid).toEqual([{ error: expect.stringContaining("jsonrpc"), id: 7 }]);
      expect(b.link.peer("X").messages).toEqual([{ jsonrpc: "2.0", method: "after" }]);
      expect(b.made).toEqual(["X"]);
    });
  },
);
