import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../agent/testing/recording-llm-client.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";
import type { TestNode } from "../testing/test-node.ts";

/**
 * SECURITY.md "Run budgets": through the HTTP API, the real Core with the real Node program
 * (in-memory transport). The scripted model never stops on its own: every answer asks for another
 * tool call, like a model looping on a prompt injection. Only the job's budget ends the run.
 */

let t: TestCore;
let operator: string;
let node: TestNode;
let modelCalls = 0;

/** Calls the tool the prompt names (`TOOL:<name>`) forever, 600 tokens a turn. */
function loopingModel() {
  return new RecordingLlmClient((request) => {
    modelCalls += 1;
    const user = request.messages.find((m) => m.role === "user")?.content ?? "";
    const tool = /TOOL:(\w+)/.exec(user)?.[1] ?? "echo";
    return {
      text: `calling ${tool} again`,
      toolCalls: [{ name: tool, arguments: '{"n":1}' }],
      usage: { promptTokens: 500, completionTokens: 100 },
    };
  });
}

beforeAll(async () => {
  t = await startTestCore({ llm: () => loopingModel() });
  const admin = await t.login();
  operator = await t.userToken("operator");
  node = (await t.connectNode("web-1")).node;
  await t.api(admin, "POST", "/api/providers", { name: "p1", kind: "lmstudio", baseUrl: "http://127.0.0.1:9" });
});

afterAll(async () => {
  await t?.close();
});

async function createJob(name: string, extra: Record<string, unknown>): Promise<{ status: number; body: any }> {
  return t.api(operator, "POST", "/api/jobs", {
    name,
    prompt: "TOOL:echo keep going",
    model: { provider: "p1", model: "m" },
    nodes: ["web-1"],
    maxSteps: 50,
    ...extra,
  });
}

async function runToEnd(jobId: string, timeoutMs = 10_000): Promise<any> {
  const res = await t.api(operator, "POST", `/api/jobs/${jobId}/run`, {});
  expect(res.status).toBe(202);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = (await t.api(operator, "GET", `/api/runs/${res.body.runId}`)).body;
    if (["succeeded", "failed", "cancelled"].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run is still ${run.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("run budgets (SECURITY.md: Run budgets)", () => {
  it("a job has a token and a time budget by default; PATCH changes one field and keeps the other; bad values are 400", async () => {
    const created = await createJob("budget-defaults", {});
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.budget).toEqual({ maxTokens: 1_000_000, maxSeconds: 3600 });
    const patched = await t.api(operator, "PATCH", `/api/jobs/${created.body.id}`, { budget: { maxSeconds: 30 } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.budget).toEqual({ maxTokens: 1_000_000, maxSeconds: 30 });
    expect((await t.api(operator, "GET", `/api/jobs/${created.body.id}`)).body.budget).toEqual({
      maxTokens: 1_000_000,
      maxSeconds: 30,
    });
    for (const budget of [
      { maxSeconds: 0 },
      { maxTokens: -1 },
      { maxTokens: 1.5 },
      { maxSeconds: 8 * 86400 },
      { steps: 3 },
    ]) {
      const res = await createJob(`budget-bad-${Math.random().toString(36).slice(2, 8)}`, { budget });
      expect(res.status, JSON.stringify(budget)).toBe(400);
    }
  });

  it("budget.maxTokens: the run fails with the reason once over, and no further model call is made", async () => {
    const job = await createJob("token-budget", { budget: { maxTokens: 1000 } });
    expect(job.status, JSON.stringify(job.body)).toBe(201);
    const before = modelCalls;
    const run = await runToEnd(job.body.id);
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(
      /token budget exceeded: the run used 1200 tokens .* over the job's budget\.maxTokens of 1000/,
    );
    expect(run.usage).toEqual({ promptTokens: 1000, completionTokens: 200 });
    // 600 + 600 > 1000: two model calls, then nothing; the second turn's tool call is not run.
    expect(modelCalls - before).toBe(2);
    const types = run.steps.map((s: { type: string }) => s.type);
    expect(types).toEqual(["llm", "tool", "llm"]);
  });

  it("budget.maxSeconds: a tool call in flight is aborted on the Node and the run fails with the reason", async () => {
    const job = await createJob("time-budget", { prompt: "TOOL:hang wait", budget: { maxSeconds: 1 } });
    expect(job.status, JSON.stringify(job.body)).toBe(201);
    const abortedBefore = node.provider.aborted;
    const started = Date.now();
    const run = await runToEnd(job.body.id);
    const took = Date.now() - started;
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/time budget exceeded: .*budget\.maxSeconds of 1 s/);
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(5_000);
    // The Node saw the abort: its `hang` tool was cancelled, not left running.
    await expect.poll(() => node.provider.aborted - abortedBefore).toBe(1);
    const toolStep = run.steps.find((s: { type: string }) => s.type === "tool");
    expect(toolStep).toMatchObject({ isError: true });
    expect(JSON.stringify(toolStep.result)).toMatch(/time budget \(budget\.maxSeconds\) ran out/);
  });
});
