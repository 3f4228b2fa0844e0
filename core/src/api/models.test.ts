/**
 * Issue 4 through the API, in process (Fastify inject, a real Core on a temp SQLite file) against
 * the scripted LM Studio and Anthropic servers over loopback: per-job models, fallbacks recorded
 * as steps, invalid requests not falling back, provider routes, cancel mid-stream.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Core, createCore } from "../core.ts";
import { loadCoreEnv } from "../env.ts";
import type { ScriptedServer } from "../llm/testing/http-harness.ts";
import type { RecordedRequest } from "../llm/testing/script.ts";
import { turn } from "../llm/testing/script.ts";
import { startScriptedAnthropicServer } from "../llm/testing/scripted-anthropic-server.ts";
import { type ScriptedOpenAiServer, startScriptedOpenAiServer } from "../llm/testing/scripted-openai-server.ts";

let core: Core;
let token: string;
let lmstudio: ScriptedOpenAiServer;
let anthropic: ScriptedServer;

const userText = (r: RecordedRequest) => JSON.stringify(r.body);

function lmScript(request: RecordedRequest) {
  const body = request.body as { model: string };
  const text = userText(request);
  if (text.includes("BADREQUEST")) return turn.error(400, "'messages' is malformed: unsupported role");
  if (text.includes("HANG")) return turn.hang("thinking...");
  if (text.includes("BROKEN5XX")) return turn.error(500, "model crashed");
  return turn.text(`answer from ${body.model}`);
}

async function call(method: string, url: string, payload?: unknown) {
  const res = await core.app.inject({
    method: method as "GET",
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
}

async function waitRun(runId: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { body } = await call("GET", `/api/runs/${runId}`);
    if (["succeeded", "failed", "cancelled"].includes(body.status)) return body;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`run ${runId} did not finish`);
}

async function runJob(job: Record<string, unknown>) {
  const created = await call("POST", "/api/jobs", { maxSteps: 3, ...job });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const started = await call("POST", `/api/jobs/${created.body.id}/run`, {});
  expect(started.status).toBe(202);
  return waitRun(started.body.runId);
}

beforeAll(async () => {
  lmstudio = await startScriptedOpenAiServer({
    script: lmScript,
    models: [
      { id: "qwen2.5-coder-7b", loaded: true, contextLength: 8192, toolUse: true },
      { id: "llama-3-8b", loaded: false, contextLength: 8192, toolUse: false },
      // No run uses it, so it stays unloaded (a run's turn loads the model it needs).
      { id: "gemma-2-2b-it", loaded: false, contextLength: 8192, toolUse: false },
    ],
  });
  anthropic = await startScriptedAnthropicServer({
    script: () => turn.text("answer from claude"),
    models: ["claude-sonnet-4-6"],
  });
  const env = loadCoreEnv({
    FABRICORE_DATA_DIR: mkdtempSync(join(tmpdir(), "fc-models-")),
    FABRICORE_ADMIN_PASSWORD: "models-admin-pw",
  });
  core = await createCore(env, { logger: pino({ level: "silent" }) });
  core.ctx.queue.start();
  const login = await core.app.inject({
    method: "POST",
    url: "/api/auth/login",
    payload: { username: "admin", password: "models-admin-pw" },
  });
  token = JSON.parse(login.body).token;
  expect(
    (await call("POST", "/api/providers", { name: "lms", kind: "lmstudio", baseUrl: lmstudio.baseUrl })).status,
  ).toBe(201);
  const claude = await call("POST", "/api/providers", {
    name: "claude",
    kind: "anthropic",
    baseUrl: anthropic.origin,
    apiKey: "sk-ant-test-key-123",
  });
  expect(claude.status).toBe(201);
  expect(claude.body.hasApiKey).toBe(true);
  expect(JSON.stringify(claude.body)).not.toContain("sk-ant-test-key-123");
  // A provider nobody listens on: connection refused.
  expect(
    (await call("POST", "/api/providers", { name: "down", kind: "lmstudio", baseUrl: "http://127.0.0.1:9/v1" })).status,
  ).toBe(201);
}, 60_000);

afterAll(async () => {
  await core?.close();
  await lmstudio?.close();
  await anthropic?.close();
});

describe("models per job", () => {
  it("runs two jobs on two different models", async () => {
    const a = await runJob({ name: "logs", prompt: "summarise logs", model: { provider: "lms", model: "llama-3-8b" } });
    const b = await runJob({
      name: "scripts",
      prompt: "write a script",
      model: { provider: "lms", model: "qwen2.5-coder-7b" },
    });
    expect(a.output).toBe("answer from llama-3-8b");
    expect(b.output).toBe("answer from qwen2.5-coder-7b");
    expect(a.steps[0]).toMatchObject({ type: "llm", provider: "lms", model: "llama-3-8b" });
  });

  it("falls back past a refused connection and a missing model, recording every attempt", async () => {
    const run = await runJob({
      name: "fallback",
      prompt: "hello",
      model: { provider: "down", model: "qwen2.5-coder-7b" },
      fallbacks: [
        { provider: "lms", model: "no-such-model" },
        { provider: "claude", model: "claude-sonnet-4-6" },
      ],
    });
    expect(run.status, JSON.stringify(run)).toBe("succeeded");
    expect(run.output).toBe("answer from claude");
    const attempts = run.steps.filter((s: { type: string }) => s.type === "llm");
    expect(attempts.map((s: { provider: string; error?: string }) => [s.provider, Boolean(s.error)])).toEqual([
      ["down", true],
      ["lms", true],
      ["claude", false],
    ]);
    expect(attempts[0].errorCode).toBe("connection_failed");
    expect(attempts[1].errorCode).toBe("model_not_found");
    // The Anthropic request carried the decrypted key and the system prompt in its own field.
    const req = anthropic.chatRequests().at(-1)!;
    expect(String(req.headers.authorization ?? req.headers["x-api-key"])).toContain("sk-ant-test-key-123");
    expect((req.body as { system?: unknown }).system).toBeTruthy();
  });

  it("falls back on a 5xx but not on a request the provider rejects as invalid", async () => {
    const fivexx = await runJob({
      name: "fivexx",
      prompt: "BROKEN5XX",
      model: { provider: "lms", model: "qwen2.5-coder-7b" },
      fallbacks: [{ provider: "claude", model: "claude-sonnet-4-6" }],
    });
    expect(fivexx.status, JSON.stringify(fivexx)).toBe("succeeded");
    const invalid = await runJob({
      name: "invalid",
      prompt: "BADREQUEST",
      model: { provider: "lms", model: "qwen2.5-coder-7b" },
      fallbacks: [{ provider: "claude", model: "claude-sonnet-4-6" }],
    });
    expect(invalid.status).toBe("failed");
    expect(invalid.error).toContain("malformed");
    expect(invalid.steps.filter((s: { type: string }) => s.type === "llm")).toHaveLength(1);
  });

  it("cancels a run mid-stream and aborts the request in flight", async () => {
    const created = await call("POST", "/api/jobs", {
      name: "hang",
      prompt: "HANG",
      model: { provider: "lms", model: "qwen2.5-coder-7b" },
    });
    const before = lmstudio.chatRequests().length;
    const { body } = await call("POST", `/api/jobs/${created.body.id}/run`, {});
    const request = await lmstudio.waitForChatRequest(before + 1);
    const cancelled = await call("POST", `/api/runs/${body.runId}/cancel`);
    expect(cancelled.status).toBe(200);
    const run = await waitRun(body.runId, 5000);
    expect(run.status).toBe("cancelled");
    const deadline = Date.now() + 3000;
    while (!request.aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(request.aborted).toBe(true);
  });
});

describe("provider routes", () => {
  it("lists a provider's live models with LM Studio's load state and tool-use flag", async () => {
    const providers = (await call("GET", "/api/providers")).body;
    const lms = providers.find((p: { name: string }) => p.name === "lms");
    const models = await call("GET", `/api/providers/${lms.id}/models`);
    expect(models.status).toBe(200);
    expect(models.body).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: "qwen2.5-coder-7b", loaded: true, toolUse: true }),
        expect.objectContaining({ id: "gemma-2-2b-it", loaded: false, toolUse: false }),
      ]),
    );
    expect(providers.every((p: Record<string, unknown>) => !("apiKey" in p))).toBe(true);
  });

  it("reports an unreachable provider as a clear error, and the connection test says why", async () => {
    const down = (await call("GET", "/api/providers")).body.find((p: { name: string }) => p.name === "down");
    const models = await call("GET", `/api/providers/${down.id}/models`);
    expect(models.status).toBe(502);
    expect(models.body.error.code).toBe("provider_error");
    const test = await call("POST", `/api/providers/${down.id}/test`);
    expect(test.body).toMatchObject({ ok: false, error: { code: "connection_failed" } });
  });

  it("refuses a bad provider body with every problem named", async () => {
    const bad = await call("POST", "/api/providers", { name: "", kind: "gpt", baseUrl: "not a url" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("validation_failed");
    expect(bad.body.error.message).toMatch(/kind/);
    expect(bad.body.error.message).toMatch(/baseUrl/);
  });
});
