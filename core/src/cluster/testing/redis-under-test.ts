import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, it } from "vitest";
import { ClusterKeys, openRedis } from "../redis.ts";

/**
 * Cluster suites run against a real Redis at FABRICORE_TEST_REDIS_URL, each under its own key
 * prefix so parallel test files (and runs) never see each other's queues or channels. Without
 * Redis they skip locally and FAIL under CI=true (a missing service must not pass silently).
 */
export function redisUrlUnderTest(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.FABRICORE_TEST_REDIS_URL?.trim() || undefined;
}

export function uniquePrefix(what: string): string {
  return `fctest-${what}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

/** `describe` that needs Redis (and, with `postgres`, PostgreSQL too). */
export function describeWithServices(
  title: string,
  needs: { postgres?: boolean },
  body: (services: { redisUrl: string; postgresUrl: string | undefined }) => void,
): void {
  const redisUrl = redisUrlUnderTest();
  const postgresUrl = process.env.FABRICORE_TEST_POSTGRES_URL?.trim() || undefined;
  const missing = [
    ...(redisUrl ? [] : ["FABRICORE_TEST_REDIS_URL (Redis)"]),
    ...(needs.postgres && !postgresUrl ? ["FABRICORE_TEST_POSTGRES_URL (PostgreSQL)"] : []),
  ];
  if (missing.length === 0) {
    describe(title, () => body({ redisUrl: redisUrl!, postgresUrl }));
    return;
  }
  const reason = `${missing.join(" and ")} unset; start them with \`bash scripts/start-services.sh\``;
  if (process.env.CI === "true") {
    describe(title, () => {
      it("has its services (CI=true: a missing service fails, it does not skip)", () => {
        throw new Error(reason);
      });
    });
  } else {
    console.warn(`skipping ${title}: ${reason}`);
    describe.skip(`${title} — skipped: ${reason}`, () => {
      it("needs its services", () => {});
    });
  }
}

/** Deletes every key under a test prefix (SCAN, so a shared Redis is not blocked). */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
}

/** The usual frame of a Redis suite, called inside its describe: its own key prefix, an admin
 * connection (`admin()`, open from beforeAll), cleanups run after each test (the last pushed first),
 * and the prefix's keys dropped at the end. */
export function useRedisUnderTest(
  redisUrl: string,
  what: string,
): { keys: ClusterKeys; admin: () => Redis; cleanups: Array<() => Promise<void>> } {
  const prefix = uniquePrefix(what);
  const cleanups: Array<() => Promise<void>> = [];
  let admin: Redis | undefined;
  beforeAll(() => {
    admin = openRedis(redisUrl, "test-admin");
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });
  afterAll(async () => {
    if (!admin) return;
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });
  return {
    keys: new ClusterKeys(prefix),
    admin: () => {
      if (!admin) throw new Error("admin() is open from beforeAll on");
      return admin;
    },
    cleanups,
  };
}
