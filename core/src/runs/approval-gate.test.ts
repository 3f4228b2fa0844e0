import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../agent/testing/recording-llm-client.ts";
import type { ChatRequest } from "../llm/types.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";

/**
 * SECURITY.md "Approval gate": the real Core with the real Node program (in-memory transport) and
 * a scripted model that calls the `echo` tool once, then answers with what the tool said.
 */

let t: TestCore;
let admin: string;
let operator: string;
const requests: ChatRequest[][] = [];

function scripted() {
  const seen: ChatRequest[] = [];
  requests.push(seen);
  return new RecordingLlmClient((request, index) => {
    seen.push(structuredClone(request));
    if (index === 0) return { text: "", toolCalls: [{ name: "echo", arguments: '{"msg":"restart nginx"}' }] };
    const last = request.messages.at(-1);
    return { text: `tool said: ${last?.role === "tool" ? last.content : "?"}` };
  });
}

beforeAll(async () => {
  t = await startTestCore({ llm: () => scripted() });
  admin = await t.login();
  operator = await t.userToken("operator");
  await t.connectNode("web-1");
  await t.api(admin, "POST", "/api/providers", { name: "p1", kind: "lmstudio", baseUrl: "http://127.0.0.1:9" });
});

afterAll(async () => {
  await t?.close();
});

async function job(name: string, approval: unknown): Promise<string> {
  const res = await t.api(operator, "POST", "/api/jobs", {
    name,
    prompt: "do it",
    model: { provider: "p1", model: "m" },
    nodes: ["web-1"],
    tools: ["echo"],
    approval,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

async function waitRun(runId: string, statuses: string[], timeoutMs = 10_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = (await t.api(admin, "GET", `/api/runs/${runId}`)).body;
    if (statuses.includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} is ${run.status}, not ${statuses.join("/")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function start(jobId: string): Promise<string> {
  const res = await t.api(operator, "POST", `/api/jobs/${jobId}/run`, {});
  expect(res.status).toBe(202);
  return res.body.runId;
}

describe("approval gate (SECURITY.md: Approval gate)", () => {
  it("a listed tool waits in waiting_approval showing the exact call; approve runs it", async () => {
    const runId = await start(await job("gated-tools", { tools: ["echo"], timeoutSeconds: 60 }));
    const waiting = await waitRun(runId, ["waiting_approval"]);
    expect(waiting.pendingApproval).toMatchObject({
      tool: "echo",
      source: "mcp:test",
      node: "web-1",
      arguments: { msg: "restart nginx" },
      id: expect.any(String),
      deadline: expect.any(String),
    });
    expect(waiting.steps.filter((s: { type: string }) => s.type === "tool")).toEqual([]);
    const viewer = await t.userToken("viewer");
    expect((await t.api(viewer, "POST", `/api/runs/${runId}/approve`, {})).status).toBe(403);
    const stale = await t.api(operator, "POST", `/api/runs/${runId}/approve`, { approvalId: "not-the-pending-one" });
    expect(stale.status).toBe(409);
    const approved = await t.api(operator, "POST", `/api/runs/${runId}/approve`, {
      approvalId: waiting.pendingApproval.id,
    });
    expect(approved.status).toBe(200);
    const done = await waitRun(runId, ["succeeded", "failed"]);
    expect(done.status).toBe("succeeded");
    expect(done.pendingApproval).toBeNull();
    const tool = done.steps.find((s: { type: string }) => s.type === "tool");
    expect(tool).toMatchObject({ tool: "echo", isError: false });
    expect(done.output).toContain("restart nginx");
    expect((await t.api(operator, "POST", `/api/runs/${runId}/approve`, {})).status).toBe(409);
  });

  it("deny fails that tool step with the reason, and the model is told", async () => {
    const runId = await start(await job("gated-deny", { required: true }));
    await waitRun(runId, ["waiting_approval"]);
    expect((await t.api(operator, "POST", `/api/runs/${runId}/deny`, {})).status).toBe(400); // reason required
    const denied = await t.api(operator, "POST", `/api/runs/${runId}/deny`, { reason: "not during business hours" });
    expect(denied.status).toBe(200);
    const done = await waitRun(runId, ["succeeded", "failed"]);
    const tool = done.steps.find((s: { type: string }) => s.type === "tool");
    expect(tool.isError).toBe(true);
    expect(JSON.stringify(tool.result)).toContain("not during business hours");
    expect(done.output).toContain("not during business hours");
    expect(done.output).toContain("denied by operator");
    const model = requests.at(-1)!;
    expect(JSON.stringify(model.at(-1)!.messages.at(-1))).toContain("not during business hours");
  });

  it("no decision before the deadline fails the tool step with a timeout reason", async () => {
    const runId = await start(await job("gated-timeout", { tools: ["echo"], timeoutSeconds: 1 }));
    await waitRun(runId, ["waiting_approval"]);
    const done = await waitRun(runId, ["succeeded", "failed"], 10_000);
    const tool = done.steps.find((s: { type: string }) => s.type === "tool");
    expect(tool.isError).toBe(true);
    expect(JSON.stringify(tool.result)).toMatch(/approval timed out/);
    expect(done.output).toMatch(/approval timed out/);
  });

  it("a tool not in the list runs without waiting", async () => {
    const runId = await start(await job("gated-other", { tools: ["exec_command"] }));
    const done = await waitRun(runId, ["succeeded", "failed"]);
    expect(done.status).toBe("succeeded");
    expect(done.steps.find((s: { type: string }) => s.type === "tool").isError).toBe(false);
  });

  it("cancelling a waiting run cancels it; approve and deny are audited", async () => {
    const runId = await start(await job("gated-cancel", { required: true }));
    await waitRun(runId, ["waiting_approval"]);
    expect((await t.api(operator, "POST", `/api/runs/${runId}/cancel`)).status).toBe(200);
    const done = await waitRun(runId, ["cancelled"]);
    expect(done.pendingApproval).toBeNull();
    const audit = (await t.api(admin, "GET", "/api/audit?limit=1000")).body as Array<{ action: string }>;
    const actions = audit.map((e) => e.action);
    expect(actions).toContain("run.approve");
    expect(actions).toContain("run.deny");
    expect(actions).toContain("run.cancel");
  });
});
