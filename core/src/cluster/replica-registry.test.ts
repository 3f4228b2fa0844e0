import type { Redis } from "ioredis";
import { afterAll, expect, it } from "vitest";
import { ClusterKeys, openRedis } from "./redis.ts";
import { ReplicaRegistry } from "./replica-registry.ts";
import { describeWithServices, dropPrefix, uniquePrefix } from "./testing/redis-under-test.ts";

const TTL = 600;

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
      let clock = 1_000_000;
      const make = (replicaId: string) =>
        new ReplicaRegistry({
          redis,
          keys,
          replicaId,
          ttlMs: TTL,
          now: () => clock,
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
      // Just started: it judges no one before it has been beating for a whole TTL.
      expect(await a.tick()).toEqual([]);
      clock += TTL;
      expect((await a.tick()).sort()).toEqual(["r3", "r4"]);
      expect(await b.tick()).toEqual([]);
      expect(failed.map(([id]) => id).sort()).toEqual(["r3", "r4"]);
      expect(failed[0]?.[1]).toMatch(/replica executing this run \(dead\) stopped/);
      // B stops beating without a goodbye (a kill): once its key is gone, A fails B's run.
      await b.stop();
      expect(await a.tick()).toEqual(["r2"]);
      expect(active).toEqual(new Map([["r1", "A"]]));
      await a.stop();
    });

    it("after losing Redis, waits a whole TTL of beats before failing anyone's runs", async () => {
      let clock = 5_000_000;
      let redisUp = true;
      const failedOwners: string[] = [];
      // The same connection, with SET failing while "Redis is away".
      const flaky = new Proxy(redis, {
        get(target, prop) {
          if (prop === "set" && !redisUp) return async () => Promise.reject(new Error("Redis unreachable"));
          const value = Reflect.get(target, prop, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const c = new ReplicaRegistry({
        redis: flaky,
        keys,
        replicaId: "C",
        ttlMs: TTL,
        now: () => clock,
        // D is alive but, like C, could not beat while Redis was away: its key expired.
        activeRunOwners: async () => ["D"],
        failRunsOf: async (owner) => {
          failedOwners.push(owner);
          return [];
        },
      });
      await c.start();
      clock += TTL;
      redisUp = false;
      expect(await c.tick()).toEqual([]);
      redisUp = true;
      await c.tick(); // back, but D has had no chance to beat again yet
      clock += TTL / 2;
      await c.tick();
      expect(failedOwners).toEqual([]);
      clock += TTL / 2;
      await c.tick(); // a whole TTL of beats later D would have beaten; it did not, so it is dead
      expect(failedOwners).toEqual(["D"]);
      await c.stop();
    });
  },
);
