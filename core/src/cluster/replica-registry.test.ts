import type { Redis } from "ioredis";
import { afterAll, expect, it } from "vitest";
import { ClusterKeys, openRedis } from "./redis.ts";
import { ReplicaRegistry } from "./replica-registry.ts";
import { describeWithServices, dropPrefix, uniquePrefix } from "./testing/redis-under-test.ts";

describeWithServices(
  "ReplicaRegistry: the runs of a dead replica are failed by a survivor (real Redis)",
  {},
  ({ redisUrl }) => {
    const prefix = uniquePrefix("replicas");
    const keys = new ClusterKeys(prefix);
    const redis: Redis = openRedis(redisUrl, "test-registry");
    afterAll(async () => {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    });

    it("fails only the runs of owners with no live key, once, with the reason", async () => {
      const active = new Map([
        ["r1", "A"],
        ["r2", "B"],
        ["r3", "dead"],
        ["r4", "dead"],
      ]);
      const failed: Array<[string, string]> = [];
      const make = (replicaId: string) =>
        new ReplicaRegistry({
          redis,
          keys,
          replicaId,
          ttlMs: 600,
          activeRunOwners: async () => [...new Set(active.values())],
          failRunsOf: async (owner, reason) => {
            const ids = [...active].filter(([, o]) => o === owner).map(([id]) => id);
            for (const id of ids) {
              active.delete(id);
              failed.push([id, reason]);
            }
            return ids;
          },
        });
      const a = make("A");
      const b = make("B");
      await a.start();
      await b.start();
      expect([...(await a.alive())].sort()).toEqual(["A", "B"]);
      expect((await a.tick()).sort()).toEqual(["r3", "r4"]);
      expect(await b.tick()).toEqual([]);
      expect(failed.map(([id]) => id).sort()).toEqual(["r3", "r4"]);
      expect(failed[0]?.[1]).toMatch(/replica executing this run \(dead\) stopped/);
      // B stops beating without a goodbye (a kill): after the TTL, A fails B's run.
      await b.stop();
      await redis.set(keys.replica("B"), "{}", "PX", 1); // what stop() removed, about to expire as a kill would
      await new Promise((r) => setTimeout(r, 50));
      expect(await a.tick()).toEqual(["r2"]);
      expect(active).toEqual(new Map([["r1", "A"]]));
      await a.stop();
    });
  },
);
