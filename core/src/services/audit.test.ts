import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../agent/testing/recording-llm-client.ts";
import { startTestCore, TEST_ADMIN_PASSWORD, type TestCore } from "../testing/test-core.ts";

/** SECURITY.md "Audit log": each audited action leaves an entry, found through GET /api/audit. */

let t: TestCore;
let admin: string;

beforeAll(async () => {
  t = await startTestCore({
    llm: () =>
      new RecordingLlmClient((request, index) => {
        // A "hang" prompt keeps the run going until it is cancelled.
        if (JSON.stringify(request.messages).includes("hang")) return { hangAfter: "working" };
        return index === 0 ? { text: "", toolCalls: [{ name: "echo", arguments: '{"x":1}' }] } : { text: "ok" };
      }),
  });
  admin = await t.login();
});

afterAll(async () => {
  await t?.close();
});

async function audit(query: string): Promise<any[]> {
  const res = await t.api(admin, "GET", `/api/audit?${query}`);
  expect(res.status).toBe(200);
  return res.body;
}

describe("audit log (SECURITY.md: Audit log)", () => {
  it("logins, ok and failed, with who and from where", async () => {
    await t.api(undefined, "POST", "/api/auth/login", { username: "admin", password: "wrong-password" });
    await t.api(undefined, "POST", "/api/auth/login", { username: "nobody", password: "whatever" });
    await t.login("admin", TEST_ADMIN_PASSWORD);
    const failed = await audit("action=auth.login_failed");
    expect(failed.map((e) => e.actor)).toEqual(expect.arrayContaining(["admin", "nobody"]));
    expect(failed[0]).toMatchObject({ outcome: "failed", ip: expect.any(String), at: expect.any(String) });
    const ok = await audit("action=auth.login&actor=admin");
    expect(ok.length).toBeGreaterThanOrEqual(2);
    expect(ok[0].outcome).toBe("ok");
    expect(JSON.stringify(await audit("limit=1000"))).not.toContain("wrong-password");
  });

  it("token use: once per token per minute, not once per request", async () => {
    const created = await t.api(admin, "POST", "/api/tokens", { name: "ci" });
    for (let i = 0; i < 5; i++) expect((await t.api(created.body.token, "GET", "/api/auth/me")).status).toBe(200);
    const uses = (await audit("action=token.use&limit=1000")).filter((e) => e.target === created.body.id);
    expect(uses.length).toBe(1);
    expect(uses[0]).toMatchObject({ actor: "admin", detail: { kind: "api", via: "bearer" } });
  });

  it("job changes, node enroll/revoke, secret changes (never the value), run start and cancel", async () => {
    const node = await t.api(admin, "POST", "/api/nodes", { name: "db-1" });
    await t.api(admin, "POST", "/api/providers", { name: "p1", kind: "lmstudio", baseUrl: "http://127.0.0.1:9" });
    const job = await t.api(admin, "POST", "/api/jobs", {
      name: "nightly",
      prompt: "hang",
      model: { provider: "p1", model: "m" },
      webhook: { slug: "nightly", secret: "the-webhook-secret" },
    });
    await t.api(admin, "PATCH", `/api/jobs/${job.body.id}`, { maxSteps: 3 });
    await t.api(admin, "POST", "/api/secrets", { name: "API_KEY", value: "value-that-must-not-be-logged" });
    await t.api(admin, "POST", "/api/secrets", { name: "API_KEY", value: "second-value-not-logged" });
    await t.api(admin, "DELETE", "/api/secrets/API_KEY");
    const run = await t.api(admin, "POST", `/api/jobs/${job.body.id}/run`, {});
    for (let i = 0; i < 100; i++) {
      if ((await t.api(admin, "GET", `/api/runs/${run.body.runId}`)).body.status === "running") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await t.api(admin, "POST", `/api/runs/${run.body.runId}/cancel`)).status).toBe(200);
    // The run names who cancelled it (issue 22.6), read back from this entry.
    let cancelled: any;
    for (let i = 0; i < 100; i++) {
      cancelled = (await t.api(admin, "GET", `/api/runs/${run.body.runId}`)).body;
      if (cancelled.status === "cancelled") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(cancelled).toMatchObject({ status: "cancelled", cancelledBy: "admin" });
    const byTarget = await audit(`action=run.cancel&target=${run.body.runId}`);
    expect(byTarget).toEqual([expect.objectContaining({ actor: "admin", target: run.body.runId })]);
    await t.api(admin, "DELETE", `/api/nodes/${node.body.id}`);
    await t.api(admin, "DELETE", `/api/jobs/${job.body.id}`);

    const all = await audit("limit=1000");
    const has = (action: string, target?: string) =>
      expect(
        all.some((e) => e.action === action && (target === undefined || e.target === target)),
        action,
      ).toBe(true);
    has("node.enroll", node.body.id);
    has("node.revoke", node.body.id);
    has("job.create", job.body.id);
    has("job.update", job.body.id);
    has("job.delete", job.body.id);
    has("secret.create", "API_KEY");
    has("secret.update", "API_KEY");
    has("secret.delete", "API_KEY");
    has("run.start", run.body.runId);
    has("run.cancel", run.body.runId);
    expect(all.find((e) => e.action === "job.update").detail.change).toEqual({ maxSteps: 3 });
    expect(all.find((e) => e.action === "run.start").actor).toBe("admin");
    const text = JSON.stringify(all);
    for (const value of ["the-webhook-secret", "value-that-must-not-be-logged", "second-value-not-logged"]) {
      expect(text).not.toContain(value);
    }
  });

  it("tool calls: who, what, where, when and the sha256 of the result text", async () => {
    await t.connectNode("web-1");
    const job = await t.api(admin, "POST", "/api/jobs", {
      name: "tool-job",
      prompt: "p",
      model: { provider: "p1", model: "m" },
      nodes: ["web-1"],
      tools: ["echo"],
    });
    const { runId } = (await t.api(admin, "POST", `/api/jobs/${job.body.id}/run`, {})).body;
    let run: any;
    for (let i = 0; i < 200; i++) {
      run = (await t.api(admin, "GET", `/api/runs/${runId}`)).body;
      if (run.status === "succeeded" || run.status === "failed") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(run.status).toBe("succeeded");
    const step = run.steps.find((s: { type: string }) => s.type === "tool");
    const text = step.result.content.map((c: { text: string }) => c.text).join("\n");
    const [entry] = (await audit("action=tool.call")).filter((e) => e.detail.runId === runId);
    expect(entry).toMatchObject({
      actor: "job:tool-job",
      target: "web-1/mcp:test/echo",
      outcome: "ok",
      detail: { tool: "echo", source: "mcp:test", arguments: { x: 1 }, jobId: job.body.id, trigger: "manual" },
      resultHash: createHash("sha256").update(text).digest("hex"),
    });
    expect(Date.parse(entry.at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("filters by action, actor and since; limit caps the answer", async () => {
    const since = new Date(Date.now() + 60_000).toISOString();
    expect(await audit(`since=${encodeURIComponent(since)}`)).toEqual([]);
    expect((await audit("limit=2")).length).toBe(2);
    expect((await audit("actor=nobody")).every((e) => e.actor === "nobody")).toBe(true);
    expect((await t.api(admin, "GET", "/api/audit?since=yesterday")).status).toBe(400);
  });
});
