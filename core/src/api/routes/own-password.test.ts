import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCore, type TestCore } from "../../testing/test-core.ts";

/** Issue 22.7: a non-admin changes their own password; wrong current password at its field, every
 * old session and token ended, this session replaced; an API token cannot do it. */

let t: TestCore;

beforeAll(async () => {
  t = await startTestCore();
});

afterAll(async () => {
  await t?.close();
});

describe("POST /api/auth/password", () => {
  it("a viewer changes their password: old sessions and tokens end, the answer is a new session", async () => {
    const session = await t.userToken("viewer", "vera");
    const other = await t.login("vera", "vera-password-123");
    const apiToken = (await t.api(session, "POST", "/api/tokens", { name: "script" })).body.token as string;
    const res = await t.api(session, "POST", "/api/auth/password", {
      currentPassword: "vera-password-123",
      newPassword: "a-much-better-passphrase",
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.user).toMatchObject({ username: "vera", role: "viewer" });
    expect(String(res.headers["set-cookie"])).toContain("HttpOnly");
    for (const old of [session, other, apiToken]) expect((await t.api(old, "GET", "/api/auth/me")).status).toBe(401);
    expect((await t.api(res.body.token, "GET", "/api/auth/me")).body.username).toBe("vera");
    expect(
      (await t.api(undefined, "POST", "/api/auth/login", { username: "vera", password: "vera-password-123" })).status,
    ).toBe(401);
    expect(
      (await t.api(undefined, "POST", "/api/auth/login", { username: "vera", password: "a-much-better-passphrase" }))
        .status,
    ).toBe(200);
    const admin = await t.login();
    const audit = await t.api(admin, "GET", "/api/audit?action=user.password");
    expect(JSON.stringify(audit.body)).toContain("vera");
  });

  it("a wrong current password is a 400 naming that field, and changes nothing", async () => {
    const session = await t.userToken("operator", "otto");
    const res = await t.api(session, "POST", "/api/auth/password", {
      currentPassword: "not-it",
      newPassword: "another-long-password",
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: "validation_failed",
      details: { fields: { currentPassword: "not your current password" } },
    });
    expect((await t.api(session, "GET", "/api/auth/me")).status).toBe(200);
    const same = await t.api(session, "POST", "/api/auth/password", {
      currentPassword: "otto-password-123",
      newPassword: "otto-password-123",
    });
    expect(same.status).toBe(400);
    expect(same.body.error.details.fields).toHaveProperty("newPassword");
  });

  it("a short new password is refused by the body schema; an API token may not change it", async () => {
    const session = await t.userToken("viewer", "wim");
    const short = await t.api(session, "POST", "/api/auth/password", {
      currentPassword: "wim-password-123",
      newPassword: "short",
    });
    expect(short.status).toBe(400);
    expect(short.body.error.message).toContain("12");
    const apiToken = (await t.api(session, "POST", "/api/tokens", { name: "ci" })).body.token as string;
    const byToken = await t.api(apiToken, "POST", "/api/auth/password", {
      currentPassword: "wim-password-123",
      newPassword: "a-much-better-passphrase",
    });
    expect(byToken.status).toBe(403);
  });
});
