// biome-ignore-all lint/suspicious/noThenProperty: jobs have a `then` field (CONTRACT "Chaining"), an array, never a function
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import { expect, it } from "vitest";
import { SecretsError } from "../secrets/errors.ts";
import { SecretBox } from "../secrets/secret-box.ts";
import { hashToken } from "../secrets/tokens.ts";
import type { Clock } from "./clock.ts";
import { DatabaseError } from "./errors.ts";
import { migrateToLatest } from "./migrate.ts";
import { createRepositories, type Repositories, RunsRepo, StepsRepo } from "./repos/index.ts";
import { describeEachDialect, type TestDatabase } from "./testing/dialects.ts";
import type { Job } from "./types.ts";

const box = new SecretBox({ current: { version: 1, key: randomBytes(32) } });

/** A clock tests can move; repositories read it for every timestamp they write. */
function manualClock(
  start = "2030-01-01T00:00:00.000Z",
): Clock & { set(iso: string): void; advance(ms: number): void } {
  let now = new Date(start).getTime();
  const clock = (() => new Date(now)) as Clock & { set(iso: string): void; advance(ms: number): void };
  clock.set = (iso) => {
    now = new Date(iso).getTime();
  };
  clock.advance = (ms) => {
    now += ms;
  };
  return clock;
}

function flipOneBit(envelope: string): string {
  // The base64 body starts after "v1:<version>:"; flip a bit in the middle of the raw bytes.
  const prefix = envelope.slice(0, envelope.lastIndexOf(":") + 1);
  const raw = Buffer.from(envelope.slice(prefix.length), "base64");
  const at = Math.floor(raw.length / 2);
  raw[at] = (raw[at] ?? 0) ^ 0x01;
  return prefix + raw.toString("base64");
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toSatisfy((err: unknown) => (err as { code?: string }).code === code);
}

function sqliteBytes(t: TestDatabase): string {
  // The value may sit in the WAL rather than the main file; read both.
  const path = t.sqlitePath ?? "";
  return [path, `${path}-wal`]
    .filter((p) => existsSync(p))
    .map((p) => readFileSync(p).toString("latin1"))
    .join("");
}

async function newJob(
  r: Repositories,
  name = "disk-report",
  extra: Partial<Parameters<Repositories["jobs"]["create"]>[0]> = {},
): Promise<Job> {
  return r.jobs.create({ name, prompt: "Check disk space.", model: { provider: "lm", model: "qwen" }, ...extra });
}

describeEachDialect("storage contract", (get) => {
  const repos = (clock?: Clock) => createRepositories(get().db, box, clock ? { clock } : {});

  it("migrates idempotently", async () => {
    expect(await migrateToLatest(get().db)).toEqual([]);
  });

  it("users: create, find, count, unique username, failed logins", async () => {
    const r = repos();
    expect(await r.users.count()).toBe(0);
    const u = await r.users.create({ username: "admin", passwordHash: "scrypt$x", role: "admin" });
    expect(u).toMatchObject({ username: "admin", role: "admin", failedLogins: 0, lockedUntil: null });
    expect(await r.users.findByUsername("admin")).toEqual(u);
    expect(await r.users.findById(u.id)).toEqual(u);
    expect(await r.users.findByUsername("nobody")).toBeUndefined();
    await expectCode(r.users.create({ username: "admin", passwordHash: "y", role: "viewer" }), "conflict");
    await r.users.create({ username: "bob", passwordHash: "z", role: "viewer" });
    expect(await r.users.count()).toBe(2);
    expect((await r.users.list()).map((x) => x.username)).toEqual(["admin", "bob"]);

    const lock = { max: 3, lockUntil: "2030-01-01T00:15:00.000Z" };
    expect(await r.users.claimLoginAttempt(u.id, lock)).toBe(1);
    expect(await r.users.claimLoginAttempt(u.id, lock)).toBe(2);
    expect(await r.users.findById(u.id)).toMatchObject({ failedLogins: 2, lockedUntil: null });
    expect(await r.users.claimLoginAttempt(u.id, lock)).toBe(3);
    expect(await r.users.findById(u.id)).toMatchObject({ failedLogins: 3, lockedUntil: lock.lockUntil });
    expect(await r.users.claimLoginAttempt(u.id, lock)).toBeUndefined();
    await r.users.resetFailedLogins(u.id);
    expect(await r.users.findById(u.id)).toMatchObject({ failedLogins: 0, lockedUntil: null });
    expect(await r.users.claimLoginAttempt("no-such-user", lock)).toBeUndefined();
  });

  it("users: of 60 parallel login attempts exactly the limit get through, and a lock expires", async () => {
    const clock = manualClock();
    const r = repos(clock);
    const u = await r.users.create({ username: "admin", passwordHash: "h", role: "admin" });
    const lock = { max: 5, lockUntil: "2030-01-01T00:05:00.000Z" };
    const claims = await Promise.all(Array.from({ length: 60 }, () => r.users.claimLoginAttempt(u.id, lock)));
    expect(claims.filter((c) => c !== undefined).sort()).toEqual([1, 2, 3, 4, 5]);
    expect((await r.users.findById(u.id))?.lockedUntil).toBe(lock.lockUntil);
    clock.set("2030-01-01T00:05:00.001Z");
    const after = await Promise.all(
      Array.from({ length: 10 }, () =>
        r.users.claimLoginAttempt(u.id, { max: 5, lockUntil: "2030-01-01T00:10:00.001Z" }),
      ),
    );
    expect(after.filter((c) => c !== undefined).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it("login attempts per address: counted atomically per window, ended windows handed out once", async () => {
    const clock = manualClock();
    const r = repos(clock);
    const claims = await Promise.all(
      Array.from({ length: 30 }, () => r.loginAttempts.claim("ip:203.0.113.9", { windowMs: 60_000, limit: 10 })),
    );
    expect(claims.map((c) => c.count.attempts).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    expect(Math.max(...claims.map((c) => c.count.refused))).toBe(20);
    const other = await r.loginAttempts.claim("ip:203.0.113.10", { windowMs: 60_000, limit: 10 });
    expect(other.count).toMatchObject({ attempts: 1, refused: 0 });
    await r.loginAttempts.release("ip:203.0.113.10", other.count.windowStart);
    clock.advance(60_000);
    const next = await r.loginAttempts.claim("ip:203.0.113.9", { windowMs: 60_000, limit: 10 });
    expect(next.count).toMatchObject({ attempts: 1, refused: 0 });
    expect(next.ended).toMatchObject({ bucket: "ip:203.0.113.9", attempts: 30, refused: 20 });
    const ended = await r.loginAttempts.takeEnded(60_000);
    expect(ended).toEqual([expect.objectContaining({ bucket: "ip:203.0.113.10", attempts: 0, refused: 0 })]);
    expect(await r.loginAttempts.takeEnded(60_000)).toEqual([]);
  });

  it("tokens: active lookup by hash, expiry, touch, list, delete", async () => {
    const clock = manualClock();
    const r = repos(clock);
    const u = await r.users.create({ username: "admin", passwordHash: "h", role: "admin" });
    const session = await r.tokens.create({
      userId: u.id,
      name: "login",
      tokenHash: hashToken("fcs_a"),
      kind: "session",
      expiresAt: "2030-01-01T01:00:00.000Z",
    });
    const api = await r.tokens.create({ userId: u.id, name: "ci", tokenHash: hashToken("fct_b"), kind: "api" });
    expect(api).toMatchObject({ kind: "api", expiresAt: null, lastUsedAt: null, userId: u.id });
    expect(Object.keys(api)).not.toContain("tokenHash");

    const found = await r.tokens.findActiveByHash(hashToken("fcs_a"));
    expect(found?.token).toEqual(session);
    expect(found?.user).toEqual(u);
    expect(await r.tokens.findActiveByHash(hashToken("unknown"))).toBeUndefined();

    clock.set("2030-01-01T01:00:00.000Z"); // expiry is exclusive: at expires_at it is gone
    expect(await r.tokens.findActiveByHash(hashToken("fcs_a"))).toBeUndefined();
    expect(await r.tokens.findActiveByHash(hashToken("fct_b"))).toBeDefined();

    await r.tokens.touch(api.id, "2030-01-02T00:00:00.000Z");
    expect((await r.tokens.findActiveByHash(hashToken("fct_b")))?.token.lastUsedAt).toBe("2030-01-02T00:00:00.000Z");
    expect((await r.tokens.listForUser(u.id)).map((t) => t.id).sort()).toEqual([session.id, api.id].sort());
    await expectCode(
      r.tokens.create({ userId: u.id, name: "dup", tokenHash: hashToken("fct_b"), kind: "api" }),
      "conflict",
    );
    await expectCode(
      r.tokens.create({ userId: "no-such-user", name: "x", tokenHash: "ff", kind: "api" }),
      "invalid_reference",
    );
    expect(await r.tokens.delete(api.id)).toBe(true);
    expect(await r.tokens.delete(api.id)).toBe(false);
    expect(await r.tokens.findActiveByHash(hashToken("fct_b"))).toBeUndefined();
    expect(await r.tokens.deleteExpired("2030-01-01T02:00:00.000Z")).toBe(1);
  });

  it("nodes: create, resolve by id or name, token hash, hello, tools, delete cascades MCP specs", async () => {
    const r = repos();
    const n = await r.nodes.create({ name: "web-1", labels: { env: "prod" }, tokenHash: hashToken("fcn_x") });
    expect(n).toMatchObject({ name: "web-1", labels: { env: "prod" }, tools: [], lastSeenAt: null, version: null });
    expect(await r.nodes.get(n.id)).toEqual(n);
    expect(await r.nodes.getByName("web-1")).toEqual(n);
    expect(await r.nodes.resolve("web-1")).toEqual(n);
    expect(await r.nodes.resolve(n.id)).toEqual(n);
    expect(await r.nodes.resolve("nope")).toBeUndefined();
    expect(await r.nodes.findByTokenHash(hashToken("fcn_x"))).toEqual(n);
    await expectCode(r.nodes.create({ name: "web-1", tokenHash: "other" }), "conflict");
    await expectCode(r.nodes.create({ name: "web-2", tokenHash: hashToken("fcn_x") }), "conflict");

    const tool = { name: "read_file", description: "", inputSchema: { type: "object" as const }, source: "builtin" };
    await r.nodes.recordHello(n.id, {
      version: "0.1.0",
      hostname: "web-1.local",
      os: "linux",
      arch: "x64",
      tools: [tool],
      at: "2030-01-01T00:00:01.000Z",
    });
    expect(await r.nodes.get(n.id)).toMatchObject({
      version: "0.1.0",
      hostname: "web-1.local",
      os: "linux",
      arch: "x64",
      tools: [tool],
      lastSeenAt: "2030-01-01T00:00:01.000Z",
    });
    await r.nodes.recordSeen(n.id, "2030-01-01T00:00:09.000Z");
    await r.nodes.updateTools(n.id, []);
    expect(await r.nodes.get(n.id)).toMatchObject({ tools: [], lastSeenAt: "2030-01-01T00:00:09.000Z" });
    expect(await r.nodes.list()).toHaveLength(1);

    await r.mcpServers.put(n.id, "fs", { preset: "filesystem" });
    expect(await r.nodes.delete(n.id)).toBe(true);
    expect(await r.nodes.delete(n.id)).toBe(false);
    expect(await r.nodes.findByTokenHash(hashToken("fcn_x"))).toBeUndefined();
    expect(await r.mcpServers.list(n.id)).toEqual([]);
  });

  it("mcp servers: put creates or replaces, list, get, delete", async () => {
    const r = repos();
    const n = await r.nodes.create({ name: "n", tokenHash: "h" });
    const a = await r.mcpServers.put(n.id, "git", { preset: "git" });
    expect(a).toMatchObject({ nodeId: n.id, name: "git", spec: { preset: "git" } });
    await r.mcpServers.put(n.id, "git", { image: "mcp/git:2", args: ["--x"] });
    await r.mcpServers.put(n.id, "brave", { url: "http://127.0.0.1:9/mcp" });
    expect((await r.mcpServers.list(n.id)).map((s) => s.name)).toEqual(["brave", "git"]);
    expect((await r.mcpServers.get(n.id, "git"))?.spec).toEqual({ image: "mcp/git:2", args: ["--x"] });
    expect(await r.mcpServers.delete(n.id, "git")).toBe(true);
    expect(await r.mcpServers.get(n.id, "git")).toBeUndefined();
    await expectCode(r.mcpServers.put("no-node", "x", {}), "invalid_reference");
  });

  it("secrets: put creates then replaces, lists names only, decrypts, deletes", async () => {
    const clock = manualClock();
    const r = repos(clock);
    const first = await r.secrets.put("github_token", "ghp_first");
    clock.advance(1000);
    const second = await r.secrets.put("github_token", "ghp_second");
    expect(second.createdAt).toBe(first.createdAt);
    expect(second.updatedAt > first.updatedAt).toBe(true);
    await r.secrets.put("another", "v");
    const listed = await r.secrets.list();
    expect(listed).toEqual([
      { name: "another", createdAt: expect.any(String), updatedAt: expect.any(String) },
      { name: "github_token", createdAt: first.createdAt, updatedAt: second.updatedAt },
    ]);
    expect(JSON.stringify(listed)).not.toContain("ghp_");
    expect(await r.secrets.getValue("github_token")).toBe("ghp_second");
    expect(await r.secrets.getValue("missing")).toBeUndefined();
    expect(await r.secrets.delete("github_token")).toBe(true);
    expect(await r.secrets.delete("github_token")).toBe(false);
  });

  it("secrets: concurrent puts of one new name end with one row", async () => {
    const r = repos();
    await Promise.all(Array.from({ length: 8 }, (_, i) => r.secrets.put("race", `v${i}`)));
    expect((await r.secrets.list()).filter((s) => s.name === "race")).toHaveLength(1);
    expect(await r.secrets.getValue("race")).toMatch(/^v\d$/);
  });

  it("secrets at rest: never plaintext in the row (nor in the SQLite file)", async () => {
    const t = get();
    const r = repos();
    const marker = `PLAINTEXT-${randomBytes(8).toString("hex")}`;
    await r.secrets.put("s", `secret-${marker}`);
    const p = await r.providers.create({ name: "openai", kind: "openai", apiKey: `key-${marker}` });
    const j = await newJob(r, "hooked", { webhook: { slug: "deploy", secret: `hook-${marker}` } });

    const rows = [
      await t.db.selectFrom("secrets").selectAll().execute(),
      await t.db.selectFrom("providers").selectAll().execute(),
      await t.db.selectFrom("jobs").selectAll().execute(),
    ];
    const raw = JSON.stringify(rows);
    expect(raw).not.toContain(marker);
    expect(raw).toMatch(/"ciphertext":"v1:1:/);
    expect(raw).toMatch(/"api_key_ciphertext":"v1:1:/);
    expect(raw).toMatch(/"webhook_secret_ciphertext":"v1:1:/);
    expect((await t.db.selectFrom("secrets").select("key_version").executeTakeFirstOrThrow()).key_version).toBe(1);
    if (t.dialect === "sqlite") expect(sqliteBytes(t)).not.toContain(marker);

    expect(await r.secrets.getValue("s")).toBe(`secret-${marker}`);
    expect(await r.providers.getApiKey(p.id)).toBe(`key-${marker}`);
    expect(await r.jobs.getWebhookSecret(j.id)).toBe(`hook-${marker}`);
  });

  it("tamper detection: a flipped bit or a ciphertext moved to another row fails with decrypt_failed", async () => {
    const t = get();
    const r = repos();
    await r.secrets.put("a", "value-a");
    await r.secrets.put("b", "value-b");
    const a = await t.db.selectFrom("secrets").selectAll().where("name", "=", "a").executeTakeFirstOrThrow();

    // Moved: b's row now holds a's (valid) ciphertext; it must not decrypt as b.
    await t.db.updateTable("secrets").set({ ciphertext: a.ciphertext }).where("name", "=", "b").execute();
    await expect(r.secrets.getValue("b")).rejects.toBeInstanceOf(SecretsError);
    await expectCode(r.secrets.getValue("b"), "decrypt_failed");

    await t.db
      .updateTable("secrets")
      .set({ ciphertext: flipOneBit(a.ciphertext) })
      .where("name", "=", "a")
      .execute();
    await expectCode(r.secrets.getValue("a"), "decrypt_failed");

    // Across tables and fields: a provider key moved into another provider or into a job's secret.
    const p1 = await r.providers.create({ name: "p1", kind: "openai", apiKey: "k1" });
    const p2 = await r.providers.create({ name: "p2", kind: "openai", apiKey: "k2" });
    const j = await newJob(r, "j", { webhook: { slug: "s", secret: "w" } });
    const k1 = (
      await t.db.selectFrom("providers").select("api_key_ciphertext").where("id", "=", p1.id).executeTakeFirstOrThrow()
    ).api_key_ciphertext;
    await t.db.updateTable("providers").set({ api_key_ciphertext: k1 }).where("id", "=", p2.id).execute();
    await t.db.updateTable("jobs").set({ webhook_secret_ciphertext: k1 }).where("id", "=", j.id).execute();
    await expectCode(r.providers.getApiKey(p2.id), "decrypt_failed");
    await expectCode(r.jobs.getWebhookSecret(j.id), "decrypt_failed");
    expect(await r.providers.getApiKey(p1.id)).toBe("k1");
  });

  it("providers: create, hasApiKey, resolve, update (key keep/replace/remove), delete", async () => {
    const r = repos();
    const p = await r.providers.create({ name: "lm", kind: "lmstudio", baseUrl: "http://127.0.0.1:1234/v1" });
    expect(p).toEqual({
      id: p.id,
      name: "lm",
      kind: "lmstudio",
      baseUrl: "http://127.0.0.1:1234/v1",
      hasApiKey: false,
      options: {},
      headers: [],
      createdAt: expect.any(String),
    });
    expect(await r.providers.getApiKey(p.id)).toBeUndefined();
    expect(await r.providers.resolve("lm")).toEqual(p);
    expect(await r.providers.resolve(p.id)).toEqual(p);
    await expectCode(r.providers.create({ name: "lm", kind: "openai" }), "conflict");

    const withKey = await r.providers.update(p.id, { apiKey: "sk-1", options: { timeoutMs: 5000 } });
    expect(withKey).toMatchObject({ hasApiKey: true, options: { timeoutMs: 5000 }, name: "lm" });
    expect(await r.providers.getApiKey(p.id)).toBe("sk-1");
    expect(await r.providers.update(p.id, { name: "lmstudio" })).toMatchObject({ name: "lmstudio", hasApiKey: true });
    expect(await r.providers.getApiKey(p.id)).toBe("sk-1");
    expect(await r.providers.update(p.id, { apiKey: null, baseUrl: null })).toMatchObject({
      hasApiKey: false,
      baseUrl: null,
    });
    expect(await r.providers.update(p.id, {})).toMatchObject({ name: "lmstudio" });
    expect(await r.providers.update("missing", { name: "x" })).toBeUndefined();
    await r.providers.create({ name: "other", kind: "openai" });
    await expectCode(r.providers.update(p.id, { name: "other" }), "conflict");
    expect((await r.providers.list()).map((x) => x.name)).toEqual(["lmstudio", "other"]);
    expect(await r.providers.delete(p.id)).toBe(true);
    expect(await r.providers.get(p.id)).toBeUndefined();
  });

  it("providers: headers sealed apart from options, listed by name, kept or replaced; legacy plain ones sealed (21.1)", async () => {
    const t = get();
    const r = repos();
    const p = await r.providers.create({
      name: "gw",
      kind: "openai-compatible",
      options: { timeoutMs: 1, headers: { "X-Ignored": "options never carry headers" } },
      headers: { "X-Api-Key": "header-value-1" },
    });
    expect(p.options).toEqual({ timeoutMs: 1 });
    expect(p.headers).toEqual([{ name: "X-Api-Key", hasValue: true }]);
    const row = await t.db.selectFrom("providers").selectAll().where("id", "=", p.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain("header-value-1");
    expect(await r.providers.getHeaders(p.id)).toEqual({ "X-Api-Key": "header-value-1" });
    expect((await r.providers.update(p.id, { options: { timeoutMs: 2 } }))?.headers).toHaveLength(1);
    expect((await r.providers.update(p.id, { headers: {} }))?.headers).toEqual([]);
    expect(await r.providers.getHeaders(p.id)).toEqual({});

    // As an older Core stored them: in plain options.
    await t.db
      .updateTable("providers")
      .set({ options: JSON.stringify({ timeoutMs: 3, headers: { Authorization: "Bearer legacy-token" } }) })
      .where("id", "=", p.id)
      .execute();
    expect((await r.providers.get(p.id))?.options).toEqual({ timeoutMs: 3 });
    expect(await r.providers.sealLegacyHeaders()).toBe(1);
    expect(await r.providers.sealLegacyHeaders()).toBe(0);
    const sealed = await t.db.selectFrom("providers").selectAll().where("id", "=", p.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(sealed)).not.toContain("legacy-token");
    expect(await r.providers.getHeaders(p.id)).toEqual({ Authorization: "Bearer legacy-token" });
    expect((await r.providers.get(p.id))?.headers).toEqual([{ name: "Authorization", hasValue: true }]);
  });

  it("jobs: create with defaults and full shape, resolve, webhook slug, patch semantics, scheduled list", async () => {
    const clock = manualClock();
    const r = repos(clock);
    const minimal = await newJob(r, "minimal");
    expect(minimal).toEqual({
      id: minimal.id,
      name: "minimal",
      prompt: "Check disk space.",
      model: { provider: "lm", model: "qwen" },
      fallbacks: [],
      nodes: [],
      notify: [],
      tools: [],
      schedule: null,
      webhook: null,
      maxSteps: 20,
      enabled: true,
      approval: null,
      budget: { maxTokens: 1_000_000, maxSeconds: 3600 },
      output: null,
      then: [],
      selector: null,
      fanOut: null,
      offlineNodes: "fail",
      waitForNodesSeconds: 600,
      createdAt: "2030-01-01T00:00:00.000Z",
      updatedAt: "2030-01-01T00:00:00.000Z",
    });
    const full = await r.jobs.create({
      name: "disk-report",
      prompt: "p",
      model: { provider: "lm", model: "qwen" },
      fallbacks: [{ provider: "openai", model: "gpt-4o-mini" }],
      nodes: ["n1", "n2"],
      tools: ["system_stats"],
      schedule: { cron: "0 8 * * *", timezone: "UTC" },
      webhook: { slug: "deploy", secret: "s3" },
      maxSteps: 7,
      budget: { maxTokens: 5000 },
    });
    expect(full).toMatchObject({
      budget: { maxTokens: 5000, maxSeconds: 3600 },
      fallbacks: [{ provider: "openai", model: "gpt-4o-mini" }],
      nodes: ["n1", "n2"],
      tools: ["system_stats"],
      schedule: { cron: "0 8 * * *", timezone: "UTC" },
      webhook: { slug: "deploy", hasSecret: true },
      maxSteps: 7,
    });
    expect(JSON.stringify(full)).not.toContain("s3");
    expect(await r.jobs.resolve("disk-report")).toEqual(full);
    expect(await r.jobs.resolve(full.id)).toEqual(full);
    expect(await r.jobs.findByWebhookSlug("deploy")).toEqual(full);
    expect(await r.jobs.findByWebhookSlug("nope")).toBeUndefined();
    await expectCode(newJob(r, "disk-report"), "conflict");
    await expectCode(newJob(r, "other", { webhook: { slug: "deploy" } }), "conflict");
    const noSecret = await newJob(r, "no-secret", { webhook: { slug: "open" } });
    expect(noSecret.webhook).toEqual({ slug: "open", hasSecret: false, public: false });
    const open = await r.jobs.update(noSecret.id, { webhook: { slug: "open", public: true } });
    expect(open?.webhook).toEqual({ slug: "open", hasSecret: false, public: true });
    expect(await r.jobs.getWebhookSecret(noSecret.id)).toBeUndefined();

    expect((await r.jobs.listScheduled()).map((j) => j.name)).toEqual(["disk-report"]);
    clock.advance(5000);
    // Secret undefined keeps it; slug changes.
    expect(await r.jobs.update(full.id, { webhook: { slug: "deploy-2" }, enabled: false })).toMatchObject({
      webhook: { slug: "deploy-2", hasSecret: true },
      enabled: false,
      updatedAt: "2030-01-01T00:00:05.000Z",
      createdAt: "2030-01-01T00:00:00.000Z",
    });
    expect(await r.jobs.getWebhookSecret(full.id)).toBe("s3");
    expect(await r.jobs.listScheduled()).toEqual([]);
    await r.jobs.update(full.id, { webhook: { slug: "deploy-2", secret: "new" } });
    expect(await r.jobs.getWebhookSecret(full.id)).toBe("new");
    expect((await r.jobs.update(full.id, { webhook: { slug: "deploy-2", secret: null } }))?.webhook).toEqual({
      slug: "deploy-2",
      hasSecret: false,
      public: false,
    });
    // Structured output and chain rules round-trip; null / [] clear them.
    const schema = { type: "object", required: ["ok"] };
    const chained = await r.jobs.update(full.id, {
      output: { schema },
      then: [{ job: noSecret.id, on: ["succeeded", "failed"] }],
    });
    expect(chained).toMatchObject({ output: { schema }, then: [{ job: noSecret.id, on: ["succeeded", "failed"] }] });
    expect(await r.jobs.get(full.id)).toEqual(chained);
    expect(await r.jobs.update(full.id, { output: null, then: [] })).toMatchObject({ output: null, then: [] });
    const cleared = await r.jobs.update(full.id, {
      webhook: null,
      schedule: null,
      enabled: true,
      prompt: "q",
      maxSteps: 3,
    });
    expect(cleared).toMatchObject({ webhook: null, schedule: null, enabled: true, prompt: "q", maxSteps: 3 });
    // A budget patch changes the fields it names and keeps the others.
    expect((await r.jobs.update(full.id, { budget: { maxSeconds: 60 } }))?.budget).toEqual({
      maxTokens: 5000,
      maxSeconds: 60,
    });
    expect(await r.jobs.findByWebhookSlug("deploy-2")).toBeUndefined();
    expect(await r.jobs.update("missing", { name: "x" })).toBeUndefined();
    await expectCode(r.jobs.update(full.id, { name: "minimal" }), "conflict");
    expect((await r.jobs.list()).map((j) => j.name)).toEqual(["disk-report", "minimal", "no-secret"]);
  });

  it("jobs: delete takes the job's runs and steps with it", async () => {
    const r = repos();
    const j = await newJob(r);
    const run = await r.runs.create({ jobId: j.id, trigger: "manual" });
    await r.steps.append(run.id, { type: "llm", data: {} });
    expect(await r.jobs.delete(j.id)).toBe(true);
    expect(await r.jobs.delete(j.id)).toBe(false);
    expect(await r.runs.get(run.id)).toBeUndefined();
    expect(await r.steps.list(run.id)).toEqual([]);
  });

  it("runs: create queued, get, list with filters, limit and before cursor", async () => {
    const clock = manualClock();
    const r = repos(clock);
    const j1 = await newJob(r, "j1");
    const j2 = await newJob(r, "j2");
    const created = [];
    for (let i = 0; i < 6; i++) {
      clock.advance(1000);
      created.push(
        await r.runs.create({ jobId: i % 2 ? j2.id : j1.id, trigger: "webhook", input: { i, nested: [true, null] } }),
      );
    }
    const first = created[0];
    if (!first) throw new Error("no run");
    expect(first).toMatchObject({
      jobId: j1.id,
      trigger: "webhook",
      status: "queued",
      input: { i: 0, nested: [true, null] },
      output: null,
      error: null,
      startedAt: null,
      finishedAt: null,
      owner: null,
      cancelRequestedAt: null,
      usage: { promptTokens: 0, completionTokens: 0 },
    });
    expect(await r.runs.get(first.id)).toEqual(first);
    expect((await r.runs.create({ jobId: j1.id, trigger: "manual" })).input).toBeNull();
    await expectCode(r.runs.create({ jobId: "no-such-job", trigger: "manual" }), "invalid_reference");
    expect(first).toMatchObject({ webhook: null, result: null, chainDepth: 0 });
    // A chosen id, the delivery, the chain depth; a structured result on finish.
    const j3 = await newJob(r, "j3");
    const chosen = await r.runs.create({
      id: "run-chosen-1",
      jobId: j3.id,
      trigger: "chain",
      webhook: { event: "push", deliveryId: "d-1" },
      chainDepth: 2,
    });
    expect(chosen).toMatchObject({ id: "run-chosen-1", webhook: { event: "push", deliveryId: "d-1" }, chainDepth: 2 });
    const done = await r.runs.finish(chosen.id, { status: "succeeded", output: "{}", result: { ok: [1, null] } });
    expect(done?.result).toEqual({ ok: [1, null] });
    expect((await r.runs.get(chosen.id))?.result).toEqual({ ok: [1, null] });
    await r.jobs.delete(j3.id);

    const all = await r.runs.list();
    expect(all).toHaveLength(7);
    expect(all.map((x) => x.createdAt)).toEqual([...all.map((x) => x.createdAt)].sort().reverse());
    expect((await r.runs.list({ jobId: j2.id })).map((x) => x.id)).toEqual(
      [created[5], created[3], created[1]].map((x) => x?.id),
    );
    expect(await r.runs.list({ limit: 2 })).toHaveLength(2);
    const page = await r.runs.list({ before: created[3]?.createdAt, limit: 10 });
    expect(page.map((x) => x.id)).toEqual([created[2], created[1], created[0]].map((x) => x?.id));
    await r.runs.claimNext("me");
    expect((await r.runs.list({ status: "running" })).map((x) => x.id)).toEqual([first.id]);
  });

  it("runs: claimNext takes the oldest queued run, sets owner and startedAt, then nothing", async () => {
    const clock = manualClock();
    const r = repos(clock);
    const j = await newJob(r);
    const a = await r.runs.create({ jobId: j.id, trigger: "manual" });
    clock.advance(10);
    const b = await r.runs.create({ jobId: j.id, trigger: "cron" });
    clock.advance(10);
    const claimed = await r.runs.claimNext("core-1");
    expect(claimed).toMatchObject({
      id: a.id,
      status: "running",
      owner: "core-1",
      startedAt: "2030-01-01T00:00:00.020Z",
    });
    expect((await r.runs.claimNext("core-2"))?.id).toBe(b.id);
    expect(await r.runs.claimNext("core-1")).toBeUndefined();
  });

  it("runs: claim starts one named run once, and never a cancelled or running one", async () => {
    const r = repos();
    const j = await newJob(r);
    const a = await r.runs.create({ jobId: j.id, trigger: "manual" });
    const b = await r.runs.create({ jobId: j.id, trigger: "manual" });
    const results = await Promise.all([r.runs.claim(a.id, "core-1"), r.runs.claim(a.id, "core-2")]);
    expect(results.filter((x) => x !== undefined)).toHaveLength(1);
    expect(results.find((x) => x)).toMatchObject({ id: a.id, status: "running" });
    expect(await r.runs.cancelQueued(b.id)).toBe(true);
    expect(await r.runs.claim(b.id, "core-1")).toBeUndefined();
    expect(await r.runs.claim("no-such-run", "core-1")).toBeUndefined();
  });

  it("runs: activeOwners and cancelRequested (cluster recovery and cross-replica cancel)", async () => {
    const r = repos();
    const j = await newJob(r);
    const a = await r.runs.create({ jobId: j.id, trigger: "manual" });
    const b = await r.runs.create({ jobId: j.id, trigger: "manual" });
    const c = await r.runs.create({ jobId: j.id, trigger: "manual" });
    await r.runs.claim(a.id, "replica-1");
    await r.runs.claim(b.id, "replica-2");
    expect((await r.runs.activeOwners()).sort()).toEqual(["replica-1", "replica-2"]);
    await r.runs.requestCancel(a.id);
    await r.runs.requestCancel(c.id); // queued: cancelled at once, not "requested"
    expect(await r.runs.cancelRequested([a.id, b.id, c.id])).toEqual([a.id]);
    expect(await r.runs.cancelRequested([])).toEqual([]);
    expect(await r.runs.failStale({ owner: "replica-2", reason: "dead" })).toEqual([b.id]);
    expect(await r.runs.activeOwners()).toEqual(["replica-1"]);
  });

  it("runs: many concurrent claimers over several connections claim each run exactly once", async () => {
    const t = get();
    const r = repos();
    const j = await newJob(r);
    const ids = new Set<string>();
    for (let i = 0; i < 40; i++) ids.add((await r.runs.create({ jobId: j.id, trigger: "manual" })).id);
    // Four independent connections (pools on PostgreSQL), each with many claimers in flight.
    const claimers = [t.db, ...Array.from({ length: 3 }, () => t.openAnother().db)].map((db) => new RunsRepo(db));
    const claimed: string[] = [];
    await Promise.all(
      claimers.flatMap((runs, c) =>
        Array.from({ length: 8 }, async () => {
          for (;;) {
            const run = await runs.claimNext(`owner-${c}`);
            if (!run) return;
            claimed.push(run.id);
          }
        }),
      ),
    );
    expect(claimed).toHaveLength(40);
    expect(new Set(claimed)).toEqual(ids);
    expect((await r.runs.list({ status: "queued" })).length).toBe(0);
  });

  it("runs: claimers in separate OS processes claim each run exactly once", async () => {
    const t = get();
    const r = repos();
    const j = await newJob(r);
    const ids = new Set<string>();
    for (let i = 0; i < 60; i++) ids.add((await r.runs.create({ jobId: j.id, trigger: "manual" })).id);
    const worker = fileURLToPath(new URL("./testing/claim-worker.ts", import.meta.url));
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) => {
        const child = spawn(process.execPath, [worker, JSON.stringify(t.target), `proc-${i}`], {
          stdio: ["pipe", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
        });
        child.stderr.on("data", (d: Buffer) => {
          err += d.toString();
        });
        return {
          child,
          done: new Promise<string[]>((resolve, reject) => {
            child.on("exit", (code) => {
              if (code === 0) resolve(JSON.parse(out) as string[]);
              else reject(new Error(`claim worker exited ${code}: ${err}`));
            });
          }),
        };
      }),
    ).then(async (workers) => {
      // Let every worker open its connection, then release them together.
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const w of workers) w.child.stdin.end("go\n");
      return Promise.all(workers.map((w) => w.done));
    });
    const claimed = results.flat();
    expect(claimed).toHaveLength(60);
    expect(new Set(claimed)).toEqual(ids);
    const owners = await t.db.selectFrom("runs").select("owner").distinct().execute();
    expect(owners.every((o) => o.owner?.startsWith("proc-"))).toBe(true);
  });

  it("runs: finish only from a non-final status, never overwriting a final one", async () => {
    const r = repos();
    const j = await newJob(r);
    const run = await r.runs.create({ jobId: j.id, trigger: "manual" });
    await r.runs.claimNext("me");
    const usage = { promptTokens: 12, completionTokens: 3 };
    const done = await r.runs.finish(run.id, { status: "succeeded", output: "all good", usage });
    expect(done).toMatchObject({ status: "succeeded", output: "all good", usage, error: null });
    expect(done?.finishedAt).not.toBeNull();
    expect(await r.runs.finish(run.id, { status: "failed", error: "late" })).toBeUndefined();
    expect(await r.runs.finish(run.id, { status: "cancelled" })).toBeUndefined();
    expect(await r.runs.get(run.id)).toMatchObject({ status: "succeeded", output: "all good", error: null });
    expect(await r.runs.setStatus(run.id, "running")).toBe(false);
    expect(await r.runs.finish("missing", { status: "failed" })).toBeUndefined();

    // Racing finishers: exactly one wins.
    const other = await r.runs.create({ jobId: j.id, trigger: "manual" });
    const outcomes = await Promise.all(
      (["succeeded", "failed", "cancelled", "failed"] as const).map((status) => r.runs.finish(other.id, { status })),
    );
    expect(outcomes.filter((o) => o !== undefined)).toHaveLength(1);
  });

  it("runs: setStatus moves between running and waiting_approval only", async () => {
    const r = repos();
    const j = await newJob(r);
    const run = await r.runs.create({ jobId: j.id, trigger: "manual" });
    expect(await r.runs.setStatus(run.id, "running")).toBe(false); // still queued: claimNext owns that move
    await r.runs.claimNext("me");
    expect(await r.runs.setStatus(run.id, "waiting_approval")).toBe(true);
    expect((await r.runs.get(run.id))?.status).toBe("waiting_approval");
    expect(await r.runs.setStatus(run.id, "running")).toBe(true);
  });

  it("runs: cancelQueued and requestCancel", async () => {
    const r = repos();
    const j = await newJob(r);
    const queued = await r.runs.create({ jobId: j.id, trigger: "manual" });
    const cancelled = await r.runs.requestCancel(queued.id);
    expect(cancelled).toMatchObject({ status: "cancelled", cancelRequestedAt: null });
    expect(cancelled?.finishedAt).not.toBeNull();
    expect(await r.runs.cancelQueued(queued.id)).toBe(false);

    const running = await r.runs.create({ jobId: j.id, trigger: "manual" });
    await r.runs.claimNext("me");
    const asked = await r.runs.requestCancel(running.id);
    expect(asked).toMatchObject({ status: "running" });
    expect(asked?.cancelRequestedAt).not.toBeNull();
    expect(await r.runs.cancelQueued(running.id)).toBe(false);
    expect(await r.runs.finish(running.id, { status: "cancelled", error: "cancelled by user" })).toMatchObject({
      status: "cancelled",
    });
    expect(await r.runs.requestCancel(running.id)).toMatchObject({ status: "cancelled" });
    expect(await r.runs.requestCancel("missing")).toBeUndefined();
  });

  it("runs: failStale fails active runs of one owner, or of all, and leaves queued and final ones", async () => {
    const r = repos();
    const j = await newJob(r);
    const mk = () => r.runs.create({ jobId: j.id, trigger: "manual" });
    const [a, b, c, d, e] = [await mk(), await mk(), await mk(), await mk(), await mk()];
    if (!a || !b || !c || !d || !e) throw new Error("runs missing");
    await r.runs.claimNext("dead"); // a
    await r.runs.claimNext("dead"); // b
    await r.runs.claimNext("alive"); // c
    await r.runs.claimNext("dead"); // d
    await r.runs.setStatus(b.id, "waiting_approval");
    await r.runs.finish(d.id, { status: "succeeded", output: "ok" });
    // e stays queued.

    const failed = await r.runs.failStale({ owner: "dead", reason: "Core restarted while the run was executing" });
    expect(failed.sort()).toEqual([a.id, b.id].sort());
    expect(await r.runs.get(a.id)).toMatchObject({
      status: "failed",
      error: "Core restarted while the run was executing",
    });
    expect((await r.runs.get(b.id))?.finishedAt).not.toBeNull();
    expect((await r.runs.get(c.id))?.status).toBe("running");
    expect(await r.runs.get(d.id)).toMatchObject({ status: "succeeded", error: null });
    expect((await r.runs.get(e.id))?.status).toBe("queued");

    expect(await r.runs.failStale({ reason: "recovery" })).toEqual([c.id]);
    expect(await r.runs.failStale({ reason: "again" })).toEqual([]);
  });

  it("runs: countByStatusSince and deleteForJob", async () => {
    const clock = manualClock();
    const r = repos(clock);
    const j = await newJob(r);
    await r.runs.create({ jobId: j.id, trigger: "manual" });
    clock.set("2030-01-02T00:00:00.000Z");
    const x = await r.runs.create({ jobId: j.id, trigger: "manual" });
    await r.runs.create({ jobId: j.id, trigger: "manual" });
    await r.runs.claimNext("me"); // the oldest, created before the window
    await r.runs.finish(x.id, { status: "failed", error: "boom" });
    expect(await r.runs.countByStatusSince("2030-01-02T00:00:00.000Z")).toEqual({
      queued: 1,
      running: 0,
      waiting_approval: 0,
      succeeded: 0,
      failed: 1,
      cancelled: 0,
      skipped: 0,
    });
    expect(await r.runs.deleteForJob(j.id)).toBe(3);
    expect(await r.runs.list({ jobId: j.id })).toEqual([]);
  });

  it("steps: seq increases per run from 1, list in order and after a seq", async () => {
    const r = repos();
    const j = await newJob(r);
    const run1 = await r.runs.create({ jobId: j.id, trigger: "manual" });
    const run2 = await r.runs.create({ jobId: j.id, trigger: "manual" });
    const s1 = await r.steps.append(run1.id, {
      type: "llm",
      data: { provider: "lm", model: "q", durationMs: 5, usage: {} },
    });
    const s2 = await r.steps.append(run1.id, {
      type: "tool",
      data: { tool: "read_file", node: "n", arguments: { path: "/x" }, result: "t", isError: false, durationMs: 1 },
    });
    const o1 = await r.steps.append(run2.id, { type: "llm", data: {} });
    expect([s1.seq, s2.seq, o1.seq]).toEqual([1, 2, 1]);
    expect(s2).toMatchObject({ runId: run1.id, type: "tool", data: { tool: "read_file", arguments: { path: "/x" } } });
    expect((await r.steps.list(run1.id)).map((s) => s.seq)).toEqual([1, 2]);
    expect(await r.steps.list(run1.id, { afterSeq: 1 })).toEqual([s2]);
    await expectCode(r.steps.append("no-such-run", { type: "llm", data: {} }), "invalid_reference");
  });

  it("steps: concurrent appends to one run over several connections get distinct, gapless seqs", async () => {
    const t = get();
    const r = repos();
    const j = await newJob(r);
    const run = await r.runs.create({ jobId: j.id, trigger: "manual" });
    const writers = [t.db, t.openAnother().db, t.openAnother().db].map((db) => new StepsRepo(db));
    const appended = await Promise.all(
      Array.from({ length: 45 }, (_, i) => writers[i % writers.length]?.append(run.id, { type: "tool", data: { i } })),
    );
    const seqs = appended.map((s) => s?.seq ?? 0).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 45 }, (_, i) => i + 1));
    const listed = await r.steps.list(run.id);
    expect(listed.map((s) => s.seq)).toEqual(seqs);
  });

  it("schema: the indexes the queries rely on exist", async () => {
    const t = get();
    const names =
      t.dialect === "sqlite"
        ? (await sql<{ name: string }>`select name from sqlite_master where type = 'index'`.execute(t.db)).rows
        : (
            await sql<{
              name: string;
            }>`select indexname as name from pg_indexes where schemaname = current_schema()`.execute(t.db)
          ).rows;
    const set = new Set(names.map((n) => n.name));
    for (const name of [
      "runs_status_created_at",
      "runs_job_id_created_at",
      "run_steps_run_id_seq",
      "api_tokens_user_id",
    ]) {
      expect(set.has(name), name).toBe(true);
    }
  });

  it("DatabaseError carries a code", () => {
    expect(new DatabaseError("conflict", "x").code).toBe("conflict");
  });
});
