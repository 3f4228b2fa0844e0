import { createHmac } from "node:crypto";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SQLITE_FILE } from "../database/index.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";

/**
 * Issue 21.3: flipping one bit in one stored secret made an UNRELATED job's run fail ("cannot
 * decrypt secret …"), because the redactor opened every secret before each run. Here one secret,
 * one provider key and one webhook secret are damaged in the SQLite file itself; only what uses
 * each fails, naming it, and each is reported once (audit, /metrics, GET /api/secrets…).
 */

let t: TestCore;
let admin: string;
const jobs: Record<string, string> = {};
const HOOK_SECRET = "hook-secret-0123456789";

function flipOneBit(envelope: string): string {
  const prefix = envelope.slice(0, envelope.lastIndexOf(":") + 1);
  const raw = Buffer.from(envelope.slice(prefix.length), "base64");
  const at = Math.floor(raw.length / 2);
  raw[at] = (raw[at] ?? 0) ^ 0x01;
  return prefix + raw.toString("base64");
}

function tamper(table: string, column: string, where: string, value: string): void {
  const db = new SqliteDatabase(join(t.dataDir, SQLITE_FILE));
  try {
    const row = db.prepare(`SELECT ${column} AS c FROM ${table} WHERE ${where} = ?`).get(value) as { c: string };
    db.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${where} = ?`).run(flipOneBit(row.c), value);
  } finally {
    db.close();
  }
}

async function run(job: string): Promise<{ status: string; error?: string }> {
  const started = await t.api(admin, "POST", `/api/jobs/${jobs[job]}/run`, {});
  expect(started.status).toBe(202);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = (await t.api(admin, "GET", `/api/runs/${started.body.runId}`)).body;
    if (["succeeded", "failed", "cancelled"].includes(r.status)) return r;
    if (Date.now() > deadline) throw new Error(`run still ${r.status}`);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}

function deliver(slug: string, body = '{"ok":1}') {
  return t.core.app.inject({
    method: "POST",
    url: `/api/webhook/${slug}`,
    headers: {
      "content-type": "application/json",
      "x-hub-signature-256": `sha256=${createHmac("sha256", HOOK_SECRET).update(body).digest("hex")}`,
    },
    payload: body,
  });
}

beforeAll(async () => {
  t = await startTestCore();
  admin = await t.login();
  await t.api(admin, "POST", "/api/secrets", { name: "a_secret", value: "alpha-value-123456" });
  await t.api(admin, "POST", "/api/secrets", { name: "b_secret", value: "bravo-value-123456" });
  await t.api(admin, "POST", "/api/providers", { name: "p1", kind: "lmstudio", baseUrl: "http://127.0.0.1:9" });
  await t.api(admin, "POST", "/api/providers", {
    name: "p2",
    kind: "openai-compatible",
    baseUrl: "http://127.0.0.1:9/v1",
    apiKey: "sk-provider-key-123456",
  });
  const job = async (name: string, extra: Record<string, unknown> = {}) => {
    const res = await t.api(admin, "POST", "/api/jobs", {
      name,
      prompt: "go",
      model: { provider: "p1", model: "m" },
      ...extra,
    });
    expect(res.status).toBe(201);
    jobs[name] = res.body.id;
  };
  await job("plain");
  await job("keyed", { model: { provider: "p2", model: "m" } });
  await job("hooked", { webhook: { slug: "hooked", secret: HOOK_SECRET } });
  await job("hooked2", { webhook: { slug: "hooked2", secret: HOOK_SECRET } });
  expect((await run("plain")).status).toBe("succeeded");

  tamper("secrets", "ciphertext", "name", "a_secret");
  tamper("providers", "api_key_ciphertext", "name", "p2");
  tamper("jobs", "webhook_secret_ciphertext", "name", "hooked");
});

afterAll(async () => {
  await t?.close();
});

describe("one damaged secret (issue 21.3)", () => {
  it("an unrelated job still runs, and the intact secrets are still redacted", async () => {
    const result = await run("plain");
    expect(result.error ?? null).toBeNull();
    expect(result.status).toBe("succeeded");
    expect(t.core.ctx.redactor.redact("say bravo-value-123456")).toBe("say [secret:b_secret]");
    expect((await run("plain")).status).toBe("succeeded");
  });

  it("a job whose provider key is damaged fails, naming the provider", async () => {
    const result = await run("keyed");
    expect(result.status).toBe("failed");
    expect(result.error).toContain('the API key of provider "p2" cannot be decrypted');
    expect(result.error).toContain("set it again");
  });

  it("a damaged webhook secret answers 503 secret_unreadable (not 500 internal); another webhook works", async () => {
    const res = await deliver("hooked");
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body).error.code).toBe("secret_unreadable");
    expect((await deliver("hooked2")).statusCode).toBe(202);
  });

  it("the provider's connection test names the key instead of answering 500", async () => {
    const p2 = (await t.api(admin, "GET", "/api/providers")).body.find((p: { name: string }) => p.name === "p2");
    const res = await t.api(admin, "GET", `/api/providers/${p2.id}/models`);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("secret_unreadable");
    expect(res.body.error.message).toContain('provider "p2"');
  });

  it("is reported: GET /api/secrets marks it, /api/secrets/unreadable lists each row, /metrics counts, audit once per row", async () => {
    const viewer = await t.userToken("viewer");
    const secrets = (await t.api(viewer, "GET", "/api/secrets")).body;
    expect(secrets.find((s: { name: string }) => s.name === "a_secret").unreadable).toBe(true);
    expect(secrets.find((s: { name: string }) => s.name === "b_secret").unreadable).toBeUndefined();

    const listed = (await t.api(viewer, "GET", "/api/secrets/unreadable")).body;
    expect(listed.map((u: { kind: string; name: string }) => `${u.kind}:${u.name}`).sort()).toEqual([
      "provider_api_key:p2",
      "secret:a_secret",
      "webhook_secret:hooked",
    ]);
    expect(JSON.stringify(listed)).not.toContain("value-123456");

    const metrics = await t.core.app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.body).toContain('fabricore_secrets_unreadable{kind="secret"} 1');
    expect(metrics.body).toContain('fabricore_secrets_unreadable{kind="provider_api_key"} 1');
    expect(metrics.body).toContain('fabricore_secrets_unreadable{kind="webhook_secret"} 1');

    const audit = (await t.api(admin, "GET", "/api/audit?action=secret.unreadable&limit=100")).body;
    expect(audit.map((e: { target: string }) => e.target).sort()).toEqual([
      "provider_api_key:p2",
      "secret:a_secret",
      "webhook_secret:hooked",
    ]);
  });

  it("setting the secret again clears the report", async () => {
    await t.api(admin, "POST", "/api/secrets", { name: "a_secret", value: "alpha-value-654321" });
    const secrets = (await t.api(admin, "GET", "/api/secrets")).body;
    expect(secrets.find((s: { name: string }) => s.name === "a_secret").unreadable).toBeUndefined();
    const listed = (await t.api(admin, "GET", "/api/secrets/unreadable")).body;
    expect(listed.map((u: { name: string }) => u.name)).not.toContain("a_secret");
  });
});
