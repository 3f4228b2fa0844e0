/**
 * Issue 15.5: a burst of parallel login attempts gets no more guesses than the limits allow, per
 * user (5, then locked) and per address (FABRICORE_LOGIN_FAILURES_PER_MINUTE, then 429), on one
 * real Core and across two replicas sharing PostgreSQL and Redis. Before the fix the lockout was
 * read before the (slow, asynchronous) password check and written after it, so all 60 attempts
 * were evaluated and the right password among them logged in.
 */
import { randomBytes } from "node:crypto";
import { describeWithServices, uniquePrefix } from "@fabricore/core/cluster/testing/redis-under-test.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, type CoreHandle, startCore } from "./support/harness.ts";
import { createTestDatabase } from "./support/postgres.ts";

const PER_ADDRESS = 10;
const PER_USER = 5;

/** One login from `address` (the Core trusts X-Forwarded-For from loopback, its default proxy). */
async function attempt(core: CoreHandle, username: string, password: string, address: string): Promise<number> {
  const res = await fetch(`${core.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": address },
    body: JSON.stringify({ username, password }),
  });
  await res.arrayBuffer();
  return res.status;
}

function tally(statuses: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const s of statuses) out[s] = (out[s] ?? 0) + 1;
  return out;
}

/** 60 attempts at once for one user from 60 addresses: 59 wrong, the right one in the middle. */
async function userBurst(cores: CoreHandle[], username: string, password: string, net: number) {
  return Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      attempt(cores[i % cores.length]!, username, i === 30 ? password : `wrong-${i}`, `198.51.${net}.${i + 1}`),
    ),
  );
}

/** 60 attempts at once from one address, each for another (unknown) user. */
async function addressBurst(cores: CoreHandle[], address: string) {
  return Promise.all(
    Array.from({ length: 60 }, (_, i) => attempt(cores[i % cores.length]!, `nobody-${i}`, "guess", address)),
  );
}

describe("login burst on one Core", () => {
  let core: CoreHandle;
  let admin: ApiClient;

  beforeAll(async () => {
    core = await startCore({ env: { FABRICORE_LOGIN_FAILURES_PER_MINUTE: String(PER_ADDRESS) } });
    admin = await new ApiClient(core.url).login();
    await admin.ok("POST", "/api/users", { username: "burst", password: "burst-password-1", role: "viewer" });
  }, 60_000);

  afterAll(async () => {
    await core?.proc.stop();
  });

  it(`60 parallel attempts for one user: at most ${PER_USER} are evaluated, the rest are 423`, async () => {
    const counts = tally(await userBurst([core], "burst", "burst-password-1", 10));
    console.info("one user, one Core:", JSON.stringify(counts));
    expect((counts[401] ?? 0) + (counts[200] ?? 0)).toBeLessThanOrEqual(PER_USER);
    expect(counts[423]).toBeGreaterThanOrEqual(60 - PER_USER);
    // Locked now, whatever the password.
    expect(await attempt(core, "burst", "burst-password-1", "198.51.100.200")).toBe(423);
  });

  it(`60 parallel attempts from one address: at most ${PER_ADDRESS} are evaluated, one audit entry for the refusals`, async () => {
    const counts = tally(await addressBurst([core], "203.0.113.50"));
    console.info("one address, one Core:", JSON.stringify(counts));
    expect(counts[401]).toBe(PER_ADDRESS);
    expect(counts[429]).toBe(60 - PER_ADDRESS);
    const audit = await admin.ok("GET", "/api/audit?action=auth.login_failed&limit=1000");
    const fromThere = audit.filter((e: { ip: string }) => e.ip === "203.0.113.50");
    expect(fromThere.filter((e: { outcome: string }) => e.outcome === "failed")).toHaveLength(PER_ADDRESS);
    // The 50 refusals: one entry now, the rest summed when the window ends (not 50 rows).
    expect(fromThere.filter((e: { outcome: string }) => e.outcome === "denied")).toHaveLength(1);
  });
});

describeWithServices("login burst across two replicas (PostgreSQL + Redis)", { postgres: true }, (services) => {
  let database: { url: string; drop(): Promise<void> };
  let a: CoreHandle;
  let b: CoreHandle;

  beforeAll(async () => {
    database = await createTestDatabase(services.postgresUrl!, "login_burst");
    const env = {
      FABRICORE_DATABASE_URL: database.url,
      FABRICORE_REDIS_URL: services.redisUrl,
      FABRICORE_REDIS_PREFIX: uniquePrefix("login-burst"),
      FABRICORE_MASTER_KEY: randomBytes(32).toString("base64"),
      FABRICORE_LOGIN_FAILURES_PER_MINUTE: String(PER_ADDRESS),
    };
    a = await startCore({ env });
    b = await startCore({ env });
    const admin = await new ApiClient(a.url).login();
    await admin.ok("POST", "/api/users", { username: "burst", password: "burst-password-1", role: "viewer" });
  }, 120_000);

  afterAll(async () => {
    await a?.proc.stop();
    await b?.proc.stop();
    await database?.drop();
  });

  it(`one user, attempts split over both replicas: at most ${PER_USER} evaluated in all`, async () => {
    const counts = tally(await userBurst([a, b], "burst", "burst-password-1", 20));
    console.info("one user, two replicas:", JSON.stringify(counts));
    expect((counts[401] ?? 0) + (counts[200] ?? 0)).toBeLessThanOrEqual(PER_USER);
    expect(counts[423]).toBeGreaterThanOrEqual(60 - PER_USER);
  });

  it(`one address, attempts split over both replicas: ${PER_ADDRESS} evaluated in all, not per replica`, async () => {
    const counts = tally(await addressBurst([a, b], "203.0.113.60"));
    console.info("one address, two replicas:", JSON.stringify(counts));
    expect(counts[401]).toBe(PER_ADDRESS);
    expect(counts[429]).toBe(60 - PER_ADDRESS);
  });
});
