import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type OpenedDatabase, openDatabase } from "../database/connection.ts";
import { AuditRepo, LoginAttemptsRepo, migrateToLatest } from "../database/index.ts";
import { Audit } from "./audit.ts";
import { LoginGuard, loginActor } from "./login-guard.ts";

/** Issue 21.8: refused logins are one audit entry per address and window, not one per attempt. */
let dir: string;
let opened: OpenedDatabase;
let now: number;
let guard: LoginGuard;
let audit: AuditRepo;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "fc-login-guard-"));
  opened = openDatabase({ dataDir: dir });
  await migrateToLatest(opened.db);
  now = Date.parse("2030-01-01T00:00:10.000Z");
  const clock = () => new Date(now);
  audit = new AuditRepo(opened.db, { clock });
  guard = new LoginGuard({
    repo: new LoginAttemptsRepo(opened.db, { clock }),
    audit: new Audit(audit, { error: () => {} }),
    limit: 3,
    now: () => now,
  });
});

afterEach(async () => {
  await opened.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("LoginGuard", () => {
  it("refuses over the limit with Retry-After, flags only the first refusal, and a success gives its attempt back", async () => {
    const ok = await guard.claim("192.0.2.1");
    expect(ok.allowed).toBe(true);
    if (ok.allowed) await ok.release();
    for (let i = 0; i < 3; i++) expect((await guard.claim("192.0.2.1")).allowed).toBe(true);
    const refused = await Promise.all(Array.from({ length: 5 }, () => guard.claim("192.0.2.1")));
    expect(refused.every((r) => !r.allowed)).toBe(true);
    expect(refused.filter((r) => !r.allowed && r.firstRefusal)).toHaveLength(1);
    expect(refused[0]).toMatchObject({ retryAfterSeconds: 60 });
    expect((await guard.claim("192.0.2.2")).allowed).toBe(true);
  });

  it("writes one summary entry per address when the window ends (next attempt or sweep), none for quiet windows", async () => {
    for (let i = 0; i < 3 + 40; i++) await guard.claim("192.0.2.1");
    for (let i = 0; i < 3 + 1; i++) await guard.claim("192.0.2.9"); // one refusal: already logged by the route
    for (let i = 0; i < 3 + 7; i++) await guard.claim("192.0.2.2");
    expect(await audit.list({})).toEqual([]);
    now += 60_000;
    expect((await guard.claim("192.0.2.1")).allowed).toBe(true); // a new window; closes the old one
    await guard.sweep();
    await guard.sweep();
    const entries = await audit.list({});
    expect(entries.map((e) => [e.ip, e.detail.refused]).sort()).toEqual([
      ["192.0.2.1", 39],
      ["192.0.2.2", 6],
    ]);
    expect(entries[0]).toMatchObject({
      action: "auth.login_failed",
      outcome: "denied",
      actor: "anonymous",
      detail: { reason: "rate_limited", summary: true, windowStart: "2030-01-01T00:00:10.000Z" },
    });
  });

  it("truncates the actor a client typed", () => {
    expect(loginActor("admin")).toBe("admin");
    expect(loginActor("x".repeat(200))).toHaveLength(64);
  });
});
