import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCore, TEST_ADMIN_PASSWORD, type TestCore } from "../testing/test-core.ts";
import { SESSION_COOKIE } from "./auth.ts";

/** SECURITY.md "HTTP": headers, the UI's CSP, login limits, token last-use, proxy trust, CSRF. */

const LIMIT = 4;
let t: TestCore;
let uiDir: string;

beforeAll(async () => {
  uiDir = mkdtempSync(join(tmpdir(), "fabricore-ui-"));
  writeFileSync(join(uiDir, "index.html"), "<!doctype html><title>FabriCore</title>");
  t = await startTestCore({ env: { FABRICORE_UI_DIR: uiDir, FABRICORE_LOGIN_FAILURES_PER_MINUTE: String(LIMIT) } });
});

afterAll(async () => {
  await t?.close();
  rmSync(uiDir, { recursive: true, force: true });
});

const login = (password: string, remoteAddress = "203.0.113.7", headers: Record<string, string> = {}) =>
  t.core.app.inject({
    method: "POST",
    url: "/api/auth/login",
    remoteAddress,
    headers: { "content-type": "application/json", ...headers },
    payload: JSON.stringify({ username: "admin", password }),
  });

describe("HTTP hardening (SECURITY.md: HTTP)", () => {
  it("every answer carries nosniff, no framing, no referrer, and API answers a deny-all CSP and no-store", async () => {
    const token = await t.login();
    for (const url of ["/api/auth/me", "/healthz", "/api/nope"]) {
      const res = await t.core.app.inject({ url, headers: { authorization: `Bearer ${token}` } });
      expect(res.headers["x-content-type-options"], url).toBe("nosniff");
      expect(res.headers["x-frame-options"], url).toBe("DENY");
      expect(res.headers["referrer-policy"], url).toBe("no-referrer");
      expect(res.headers["cross-origin-opener-policy"], url).toBe("same-origin");
      expect(res.headers["cross-origin-resource-policy"], url).toBe("same-origin");
      expect(res.headers["permissions-policy"], url).toMatch(/camera=\(\)/);
      expect(res.headers["content-security-policy"], url).toMatch(/^default-src 'none'/);
      expect(res.headers["strict-transport-security"], url).toBeUndefined(); // no TLS here
    }
    const me = await t.core.app.inject({ url: "/api/auth/me", headers: { authorization: `Bearer ${token}` } });
    expect(me.headers["cache-control"]).toBe("no-store");
  });

  it("the UI is served with a strict CSP: own scripts only, no inline script or eval, no framing", async () => {
    for (const url of ["/", "/runs/123"]) {
      const res = await t.core.app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      const csp = String(res.headers["content-security-policy"]);
      const directives = Object.fromEntries(csp.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1)]));
      expect(directives["script-src"]).toEqual(["'self'"]);
      expect(directives["default-src"]).toEqual(["'self'"]);
      expect(directives["object-src"]).toEqual(["'none'"]);
      expect(directives["frame-ancestors"]).toEqual(["'none'"]);
      expect(directives["base-uri"]).toEqual(["'none'"]);
      expect(directives["connect-src"]).toEqual(["'self'"]);
      expect(csp).not.toMatch(/unsafe-eval/);
    }
  });

  it(`after ${LIMIT} failed logins from one IP, that IP gets 429 — even with the right password`, async () => {
    for (let i = 0; i < LIMIT; i++) expect((await login("wrong")).statusCode).toBe(401);
    const limited = await login(TEST_ADMIN_PASSWORD);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe("rate_limited");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    // Another address is not affected (and the per-user lockout has not triggered: 4 < 5).
    expect((await login(TEST_ADMIN_PASSWORD, "203.0.113.8")).statusCode).toBe(200);
  });

  it("X-Forwarded-For is believed from a loopback proxy only, so a client cannot pick its own IP", async () => {
    // From a remote client, a forged header does not move it out of its own (limited) bucket.
    const forged = await login(TEST_ADMIN_PASSWORD, "203.0.113.7", { "x-forwarded-for": "198.51.100.1" });
    expect(forged.statusCode).toBe(429);
    // A proxy on this host may name the client.
    const proxied = await login(TEST_ADMIN_PASSWORD, "127.0.0.1", { "x-forwarded-for": "198.51.100.2" });
    expect(proxied.statusCode).toBe(200);
    const entries = (await t.api(await t.login(), "GET", "/api/audit?action=auth.login&limit=100")).body;
    expect(entries.some((e: { ip: string }) => e.ip === "198.51.100.2")).toBe(true);
  });

  it("the per-user lockout (5 failures) stands beside the per-IP limit: 423 from any address", async () => {
    await t.core.ctx.accounts.createUser("locky", "locky-password-123", "viewer");
    for (let i = 0; i < 5; i++) {
      const res = await t.core.app.inject({
        method: "POST",
        url: "/api/auth/login",
        remoteAddress: `192.0.2.${i + 10}`,
        headers: { "content-type": "application/json" },
        payload: JSON.stringify({ username: "locky", password: "nope" }),
      });
      expect(res.statusCode).toBe(401);
    }
    const locked = await t.core.app.inject({
      method: "POST",
      url: "/api/auth/login",
      remoteAddress: "192.0.2.99",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ username: "locky", password: "locky-password-123" }),
    });
    expect(locked.statusCode).toBe(423);
  });

  it("GET /api/tokens lists API tokens with their last-used time, never the token", async () => {
    const admin = await t.login();
    const created = await t.api(admin, "POST", "/api/tokens", { name: "ci" });
    expect(created.body.token).toMatch(/^fct_/);
    let listed = (await t.api(admin, "GET", "/api/tokens")).body.find((x: { id: string }) => x.id === created.body.id);
    expect(listed.lastUsedAt).toBeNull();
    await t.api(created.body.token, "GET", "/api/auth/me");
    listed = (await t.api(admin, "GET", "/api/tokens")).body.find((x: { id: string }) => x.id === created.body.id);
    expect(Date.parse(listed.lastUsedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(JSON.stringify(listed)).not.toContain(created.body.token);
    expect(Object.keys(listed).sort()).toEqual([
      "createdAt",
      "id",
      "lastUsedAt",
      "mcpApproval",
      "name",
      "role",
      "scopes",
    ]);
  });

  it("a session cookie is HttpOnly and SameSite=Strict, and writes with it need the CSRF header", async () => {
    const res = await login(TEST_ADMIN_PASSWORD, "192.0.2.200");
    const cookie = String(res.headers["set-cookie"]);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const session = /fabricore_session=([^;]+)/.exec(cookie)![1]!;
    const write = (headers: Record<string, string>) =>
      t.core.app.inject({
        method: "POST",
        url: "/api/tokens",
        headers: { cookie: `${SESSION_COOKIE}=${session}`, "content-type": "application/json", ...headers },
        payload: JSON.stringify({ name: "x" }),
      });
    expect((await write({})).statusCode).toBe(403);
    expect((await write({ "x-fabricore-csrf": "1" })).statusCode).toBe(201);
  });
});
