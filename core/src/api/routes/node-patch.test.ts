import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../../agent/testing/recording-llm-client.ts";
import { startTestCore, type TestCore } from "../../testing/test-core.ts";

/** Issue 22.5: rename a Node and edit its labels after enrollment — the next run's selector and
 * tool steps see the change while the Node stays connected; names stay unique; admins only. */

let t: TestCore;
let admin: string;
let nodeId: string;

beforeAll(async () => {
  const model = new RecordingLlmClient((request) =>
    request.messages.some((m) => m.role === "tool")
      ? { text: "done" }
      : { text: "", toolCalls: [{ name: "echo", arguments: '{"ping":1}' }] },
  );
  t = await startTestCore({ llm: () => model });
  admin = await t.login();
  await t.api(admin, "POST", "/api/providers", {
    name: "fake",
    kind: "openai-compatible",
    baseUrl: "http://127.0.0.1:9",
  });
  nodeId = (await t.connectNode("old-name", { tier: "old" })).id;
  await t.connectNode("taken");
});

afterAll(async () => {
  await t?.close();
});

describe("PATCH /api/nodes/:id", () => {
  it("renames and relabels a connected Node; the next run's selector and steps see it", async () => {
    const res = await t.api(admin, "PATCH", `/api/nodes/${nodeId}`, { name: "new-name", labels: { tier: "new" } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ id: nodeId, name: "new-name", labels: { tier: "new" }, status: "online" });
    expect(
      (await t.api(admin, "GET", "/api/nodes?selector=tier=new")).body.map((n: { name: string }) => n.name),
    ).toEqual(["new-name"]);
    expect((await t.api(admin, "GET", "/api/nodes?selector=tier=old")).body).toEqual([]);
    expect((await t.api(admin, "GET", "/api/nodes/new-name")).body.id).toBe(nodeId);

    const job = await t.api(admin, "POST", "/api/jobs", {
      name: "by-new-label",
      prompt: "Ping.",
      model: { provider: "fake", model: "m" },
      selector: "tier=new",
    });
    const runId = (await t.api(admin, "POST", `/api/jobs/${job.body.id}/run`, {})).body.runId as string;
    const end = Date.now() + 10_000;
    let run = (await t.api(admin, "GET", `/api/runs/${runId}`)).body;
    while (!["succeeded", "failed"].includes(run.status)) {
      if (Date.now() > end) throw new Error("run did not end");
      await new Promise((r) => setTimeout(r, 20));
      run = (await t.api(admin, "GET", `/api/runs/${runId}`)).body;
    }
    expect(run.status, run.error).toBe("succeeded");
    expect(run.steps.find((s: { type: string }) => s.type === "tool")).toMatchObject({ node: "new-name", nodeId });

    const audit = await t.api(admin, "GET", "/api/audit?action=node.update");
    expect(JSON.stringify(audit.body)).toContain('"renamedFrom":"old-name"');
  });

  it("labels alone are replaced whole; a taken name is 409; an empty patch or a bad name 400", async () => {
    const res = await t.api(admin, "PATCH", `/api/nodes/${nodeId}`, { labels: { env: "prod" } });
    expect(res.body).toMatchObject({ name: "new-name", labels: { env: "prod" } });
    expect((await t.api(admin, "PATCH", `/api/nodes/${nodeId}`, { name: "taken" })).status).toBe(409);
    expect((await t.api(admin, "PATCH", `/api/nodes/${nodeId}`, {})).status).toBe(400);
    expect((await t.api(admin, "PATCH", `/api/nodes/${nodeId}`, { name: "no spaces" })).status).toBe(400);
    expect((await t.api(admin, "PATCH", "/api/nodes/no-such-node", { name: "x1" })).status).toBe(404);
  });

  it("an operator may not (admin only)", async () => {
    const operator = await t.userToken("operator");
    expect((await t.api(operator, "PATCH", `/api/nodes/${nodeId}`, { name: "mine" })).status).toBe(403);
  });
});
