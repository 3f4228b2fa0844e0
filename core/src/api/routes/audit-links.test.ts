import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../../agent/testing/recording-llm-client.ts";
import { startTestCore, type TestCore } from "../../testing/test-core.ts";

/** Issue 22.7: GET /api/audit names what each entry is about, and can leave out sign-in sessions' token use. */

let t: TestCore;
let admin: string;

beforeAll(async () => {
  t = await startTestCore({
    llm: () =>
      new RecordingLlmClient((_request, index) =>
        index === 0 ? { text: "", toolCalls: [{ name: "echo", arguments: '{"x":1}' }] } : { text: "ok" },
      ),
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

async function finished(runId: string): Promise<any> {
  for (let i = 0; i < 300; i++) {
    const run = (await t.api(admin, "GET", `/api/runs/${runId}`)).body;
    if (["succeeded", "failed", "cancelled"].includes(run.status)) return run;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`run ${runId} did not finish`);
}

describe("GET /api/audit: names and links (issue 22.7)", () => {
  it("links a run's start, its tool call, the job, the Node and the actor by their current names", async () => {
    const { id: nodeId } = await t.connectNode("web-1");
    await t.api(admin, "POST", "/api/providers", { name: "p1", kind: "lmstudio", baseUrl: "http://127.0.0.1:9" });
    const job = (
      await t.api(admin, "POST", "/api/jobs", {
        name: "nightly-disk",
        prompt: "p",
        model: { provider: "p1", model: "m" },
        nodes: ["web-1"],
        tools: ["echo"],
      })
    ).body;
    const { runId } = (await t.api(admin, "POST", `/api/jobs/${job.id}/run`, {})).body;
    expect((await finished(runId)).status).toBe("succeeded");

    const [start] = await audit(`action=run.start&target=${runId}`);
    expect(start.targetName).toBe("nightly-disk");
    expect(start.links).toEqual(
      expect.arrayContaining([
        { role: "actor", kind: "user", id: expect.any(String), name: "admin" },
        { role: "target", kind: "run", id: runId, name: "nightly-disk" },
        { role: "job", kind: "job", id: job.id, name: "nightly-disk" },
      ]),
    );
    const [call] = (await audit("action=tool.call")).filter((e) => e.detail.runId === runId);
    expect(call.links).toEqual(
      expect.arrayContaining([
        { role: "actor", kind: "job", id: job.id, name: "nightly-disk" },
        { role: "run", kind: "run", id: runId, name: "nightly-disk" },
        { role: "node", kind: "node", id: nodeId, name: "web-1" },
      ]),
    );
    const [created] = await audit(`action=job.create&target=${job.id}`);
    expect(created).toMatchObject({ targetName: "nightly-disk" });

    // Renamed: the log shows the name it has now; deleted: no link, the stored detail stays.
    await t.api(admin, "PATCH", `/api/jobs/${job.id}`, { name: "disk-report" });
    expect((await audit(`action=job.create&target=${job.id}`))[0].targetName).toBe("disk-report");
    await t.api(admin, "DELETE", `/api/jobs/${job.id}`);
    const [deleted] = await audit(`action=job.delete&target=${job.id}`);
    expect(deleted).toMatchObject({ targetName: null, detail: { name: "disk-report" } });
    expect(deleted.links.filter((l: { kind: string }) => l.kind === "job")).toEqual([]);
  });

  it("names users, API tokens, providers, Nodes, secrets and channels", async () => {
    const user = (
      await t.api(admin, "POST", "/api/users", { username: "bob", password: "bob-password-1", role: "viewer" })
    ).body;
    const token = (await t.api(admin, "POST", "/api/tokens", { name: "ci-bot" })).body;
    await t.api(token.token, "GET", "/api/auth/me");
    const node = (await t.api(admin, "POST", "/api/nodes", { name: "db-1" })).body;
    const provider = (await t.api(admin, "GET", "/api/providers")).body.find((p: { name: string }) => p.name === "p1");
    await t.api(admin, "PATCH", `/api/providers/${provider.id}`, { baseUrl: "http://127.0.0.1:10" });
    await t.api(admin, "POST", "/api/secrets", { name: "DB_PASSWORD", value: "s3cret-value" });
    const channel = (
      await t.api(admin, "POST", "/api/channels", {
        name: "ops-hook",
        kind: "webhook",
        config: { url: "http://127.0.0.1:9/x" },
      })
    ).body;

    const name = async (action: string, target: string) =>
      (await audit(`action=${action}&target=${target}`))[0]?.targetName;
    expect(await name("user.create", user.id)).toBe("bob");
    expect(await name("token.create", token.id)).toBe("ci-bot");
    expect(await name("token.use", token.id)).toBe("ci-bot");
    expect(await name("node.enroll", node.id)).toBe("db-1");
    expect(await name("provider.update", provider.id)).toBe("p1");
    expect(await name("secret.create", "DB_PASSWORD")).toBe("DB_PASSWORD");
    expect(channel.id).toEqual(expect.any(String));
    expect(await name("channel.create", channel.id)).toBe("ops-hook");
    const [login] = await audit("action=auth.login&actor=admin");
    expect(login.links).toEqual([
      expect.objectContaining({ role: "actor", kind: "user", name: "admin" }),
      expect.objectContaining({ role: "target", kind: "user", name: "admin" }),
    ]);
  });

  it("hideSessionTokenUse leaves out sign-in sessions' token.use and keeps API tokens' and everything else", async () => {
    const token = (await t.api(admin, "POST", "/api/tokens", { name: "deploy" })).body;
    await t.api(token.token, "GET", "/api/auth/me");
    // A fresh sign-in: its session's first request is a token.use of kind "session".
    const session = await t.login();
    await t.api(session, "GET", "/api/auth/me");

    const all = await audit("action=token.use&limit=1000");
    expect(all.some((e) => e.detail.kind === "session")).toBe(true);
    expect(all.some((e) => e.target === token.id && e.detail.kind === "api")).toBe(true);

    const hidden = await audit("action=token.use&hideSessionTokenUse=true&limit=1000");
    expect(hidden.length).toBeGreaterThan(0);
    expect(hidden.every((e) => e.detail.kind === "api")).toBe(true);
    expect(hidden.some((e) => e.target === token.id)).toBe(true);

    const everything = await audit("limit=1000");
    const without = await audit("hideSessionTokenUse=true&limit=1000");
    const sessionUses = everything.filter((e) => e.action === "token.use" && e.detail.kind === "session").length;
    expect(sessionUses).toBeGreaterThan(0);
    expect(without.length).toBe(everything.length - sessionUses);
    // The other filters still apply alongside it.
    const logins = await audit("action=auth.login&actor=admin&hideSessionTokenUse=true");
    expect(logins.length).toBeGreaterThanOrEqual(2);
    expect(logins.every((e) => e.action === "auth.login" && e.actor === "admin")).toBe(true);
    expect((await t.api(admin, "GET", "/api/audit?hideSessionTokenUse=yes")).status).toBe(400);
  });
});
