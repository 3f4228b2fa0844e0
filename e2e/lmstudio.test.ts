/**
 * LM Studio the way its users run it (issue 19), end to end: the real Core, the compiled Node and
 * the scripted LM Studio on loopback with "Require Authentication" on, a model loaded with a 4k
 * context, a cold model that takes a while to load, a model not trained for tool use, and one
 * request at a time. Checked through the HTTP API and the run's live event stream, as the UI sees it:
 * - no token: the provider test and the run say "LM Studio requires an API token";
 * - the token is on every request the Core sent (model lists, the load, every chat);
 * - the 4k model's prompt is fitted to 4k (the server refuses anything longer, as LM Studio does);
 * - a cold model is loaded before the turn, "loading" then "loaded" in the live stream;
 * - parallel runs queue for the one slot ("queued" in the stream) and all succeed; so do a fleet
 *   job's children, though each waits longer than the provider's timeout;
 * - a model without tool use warns on its step, and its [TOOL_REQUEST] text still runs the tool;
 * - every model step carries its speed (time to first token, tokens per second).
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type NodeProc,
  startCore,
  startNode,
  tempDir,
} from "./support/harness.ts";

const TOKEN = "sk-lm-e2eQ4x:7Hq2ZpW0cT9vLm3N";
const SMALL = "qwen2.5-7b-instruct";
const COLD = "qwen3-coder-30b";
const LEGACY = "gemma-2-2b-it";

const readRoot = tempDir("lmstudio-files");
const logOf = (name: string, chars: number) =>
  Array.from({ length: 1000 }, (_, i) => `Dec 7 01:${String(i % 60).padStart(2, "0")} web1 ${name}[42]: GET /${i}`)
    .join("\n")
    .slice(0, chars);
/** LM Studio counts ~5,000 tokens in it: more than the 4k model holds. */
const nginxLog = logOf("nginx", 20_000);
const syslog = logOf("cron", 5_000);
writeFileSync(join(readRoot, "nginx.log"), nginxLog);
writeFileSync(join(readRoot, "syslog"), syslog);
writeFileSync(join(readRoot, "hostname"), "web1\n");

interface ChatBody {
  model: string;
  messages: Array<{ role: string; content?: string | null }>;
}

/** The model: what it does depends on the task named in the prompt and on the results so far. */
function script(request: RecordedRequest) {
  const body = request.body as ChatBody;
  const user = body.messages.find((m) => m.role === "user")?.content ?? "";
  const results = body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  const task = /TASK:(\S+)/.exec(user)?.[1];
  if (task === "logs") {
    if (results.length === 0)
      return turn.toolCalls([{ name: "read_file", arguments: { path: join(readRoot, "nginx.log") } }]);
    if (results.length === 1)
      return turn.toolCalls([{ name: "read_file", arguments: { path: join(readRoot, "syslog") } }]);
    return turn.text("web1 served 1000 requests; cron ran on time.", { chunkSize: 4, chunkDelayMs: 10 });
  }
  if (task === "legacy") {
    if (results.length === 0)
      return turn.toolRequest([{ name: "read_file", arguments: { path: join(readRoot, "hostname") } }]);
    return turn.text(`The host is ${results[0]!.trim()}.`);
  }
  // "fleet": one child per Node, each answer ~1.3 s to write.
  if (task === "fleet") return turn.text("Fine here, nothing to report.", { chunkSize: 3, chunkDelayMs: 120 });
  // "hello": a short answer that takes a while to write (so parallel runs overlap).
  return turn.text("Hello from the local model, written slowly.", { chunkSize: 4, chunkDelayMs: 80 });
}

let llm: ScriptedOpenAiServer;
let locked: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
const nodes: NodeProc[] = [];
let nodeId: string;

async function enroll(name: string): Promise<string> {
  const created = await api.ok("POST", "/api/nodes", { name, labels: { fleet: "lm" } });
  nodes.push(startNode(core.url, created.token, ["--read-root", readRoot, "--log-level", "warn"]));
  await api.waitNodeOnline(created.id);
  return created.id;
}

async function run(name: string, model: string, task: string, provider = "LM Studio"): Promise<string> {
  const job = await api.ok("POST", "/api/jobs", {
    name,
    prompt: `TASK:${task} Look at this server.`,
    model: { provider, model },
    nodes: [nodeId],
    tools: ["read_file"],
    maxSteps: 5,
  });
  const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
  return runId as string;
}

/** The run's live events, as the browser gets them, until `done`. */
async function liveEvents(runId: string): Promise<Array<{ event: string; data: any }>> {
  const res = await fetch(`${core.url}/api/runs/${runId}/events`, {
    headers: { authorization: `Bearer ${api.token}` },
  });
  expect(res.status).toBe(200);
  const events: Array<{ event: string; data: any }> = [];
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.+)$/m.exec(frame)?.[1];
      const data = /^data: (.+)$/m.exec(frame)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
      if (event === "done") return events;
      end = buffer.indexOf("\n\n");
    }
  }
  return events;
}

const llmSteps = (run: { steps: Array<{ type: string }> }) => run.steps.filter((s) => s.type === "llm") as any[];

beforeAll(async () => {
  ensureNodeBinary();
  const models = [
    { id: SMALL, loaded: true, contextLength: 4096, maxContextLength: 32768, toolUse: true },
    { id: COLD, loaded: false, contextLength: 4096, maxContextLength: 16384, toolUse: true },
    { id: LEGACY, loaded: true, contextLength: 8192, maxContextLength: 8192, toolUse: false },
  ];
  llm = await startScriptedOpenAiServer({
    script,
    models,
    apiToken: TOKEN,
    enforceContextLength: true,
    loadDelayMs: 1_500,
    // LM Studio 0.3.x: one prediction at a time, the others wait silently in its queue.
    parallel: 1,
  });
  locked = await startScriptedOpenAiServer({ script, models, apiToken: TOKEN });
  core = await startCore();
  api = await new ApiClient(core.url).login();
  await api.ok("POST", "/api/providers", {
    name: "LM Studio",
    kind: "lmstudio",
    baseUrl: llm.baseUrl,
    apiKey: TOKEN,
    // A timeout shorter than a queued request waits: only the Core's own queue keeps them alive.
    options: { contextTokens: 8192, maxConcurrent: 1, timeoutMs: 1_500 },
  });
  await api.ok("POST", "/api/providers", {
    name: "LM Studio without token",
    kind: "lmstudio",
    baseUrl: locked.baseUrl,
  });
  nodeId = await enroll("web1");
}, 90_000);

afterEach((context) => {
  if (context.task.result?.state !== "fail") return;
  for (const node of nodes) console.error(`--- Node output (tail) ---\n${node.output.slice(-3000)}`);
  console.error(`--- Core output (tail) ---\n${core?.proc.output.slice(-3000) ?? ""}`);
});

afterAll(async () => {
  for (const node of nodes) await node.stop();
  await core?.proc.stop();
  await llm?.close();
  await locked?.close();
  rmSync(readRoot, { recursive: true, force: true });
});

describe("LM Studio with Require Authentication, a 4k model, a cold model, one slot", () => {
  it("without a token: the provider test and the run say LM Studio requires an API token", async () => {
    const providers = await api.ok("GET", "/api/providers");
    const bare = providers.find((p: { name: string }) => p.name === "LM Studio without token");
    const test = await api.ok("POST", `/api/providers/${bare.id}/test`);
    expect(test).toMatchObject({ ok: false, error: { code: "auth_required" } });
    expect(test.error.message).toMatch(/^LM Studio requires an API token: create one in LM Studio/);
    const models = await api.request("GET", `/api/providers/${bare.id}/models`);
    expect(models.body.error.message).toContain("LM Studio requires an API token");

    const failed = await api.waitRun(await run("no-token", SMALL, "hello", "LM Studio without token"));
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain("LM Studio requires an API token");
    expect(llmSteps(failed)[0]).toMatchObject({ errorCode: "auth_required" });
    expect(locked.chatRequests()).toHaveLength(0);
  });

  it("a model loaded with 4k: the prompt fits 4k on every turn, the tool ran with the right paths", async () => {
    const finished = await api.waitRun(await run("logs-4k", SMALL, "logs"));
    expect(finished).toMatchObject({ status: "succeeded", output: "web1 served 1000 requests; cron ran on time." });
    const tools = finished.steps.filter((s: { type: string }) => s.type === "tool");
    expect(tools.map((s: any) => s.arguments.path)).toEqual([join(readRoot, "nginx.log"), join(readRoot, "syslog")]);
    const steps = llmSteps(finished);
    // The provider declares 8k; LM Studio says the model is loaded with 4k: the smaller bounds the prompt.
    expect(steps.map((s) => s.contextTokens)).toEqual([4096, 4096, 4096]);
    expect(steps[2].removedToolOutputs).toBe(1);
    for (const step of steps) expect(step.speed.timeToFirstTokenMs).toBeGreaterThanOrEqual(0);
    // The calls arrive in one burst (no rate to tell); the answer is written at a measurable pace.
    expect(steps[2].speed.tokensPerSecond).toBeGreaterThan(0);
    // The scripted LM Studio answered every turn: none overflowed its 4k.
    const chats = llm.chatRequests().filter((r) => JSON.stringify(r.body).includes("TASK:logs"));
    expect(chats).toHaveLength(3);
  });

  it("a cold model: loaded with the provider's context length before the turn, shown as loading then loaded", async () => {
    const runId = await run("cold", COLD, "hello");
    const events = await liveEvents(runId);
    const statuses = events.filter((e) => e.event === "model_status").map((e) => e.data);
    expect(statuses).toEqual([
      { provider: "LM Studio", model: COLD, state: "loading", how: "load_endpoint", contextLength: 8192 },
      { provider: "LM Studio", model: COLD, state: "loaded", loadMs: expect.any(Number), contextLength: 8192 },
    ]);
    expect(statuses[1].loadMs).toBeGreaterThanOrEqual(1_400);
    // The wait comes before the model's step and its text.
    const order = events.map((e) => e.event);
    expect(order.indexOf("model_status")).toBeLessThan(order.indexOf("step"));
    const finished = await api.waitRun(runId);
    expect(finished.status).toBe("succeeded");
    expect(llmSteps(finished)[0]).toMatchObject({ contextTokens: 8192, loadMs: statuses[1].loadMs });
    expect(llm.requests.filter((r) => r.path === "/api/v1/models/load").map((r) => r.body)).toEqual([
      { model: COLD, config: { context_length: 8192 } },
    ]);
  });

  it("three runs at once with one slot: one request at a time, the others shown as queued, all succeed", async () => {
    const ids = await Promise.all([1, 2, 3].map((i) => run(`parallel-${i}`, SMALL, "hello")));
    const streams = await Promise.all(ids.map((id) => liveEvents(id)));
    const finished = await Promise.all(ids.map((id) => api.waitRun(id)));
    expect(finished.map((r) => r.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(llm.maxConcurrentChats()).toBe(1);
    const queued = streams.flatMap((events) =>
      events.filter((e) => e.event === "model_status" && e.data.state === "queued").map((e) => e.data),
    );
    expect(queued.length).toBeGreaterThanOrEqual(2);
    expect(queued[0]).toMatchObject({ provider: "LM Studio", model: SMALL, limit: 1, ahead: expect.any(Number) });
  });

  it("a fleet job over three Nodes, one slot: the children wait their turn past the timeout and all succeed", async () => {
    await Promise.all([enroll("web2"), enroll("web3")]);
    const before = llm.chatRequests().length;
    const job = await api.ok("POST", "/api/jobs", {
      name: "fleet-check",
      prompt: "TASK:fleet How is this server?",
      model: { provider: "LM Studio", model: SMALL },
      selector: "fleet=lm",
      fanOut: { mode: "each", concurrency: 3, stopOnFailure: false, summarize: false },
      maxSteps: 3,
    });
    const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
    const parent = await api.waitRun(runId, ["succeeded", "failed", "cancelled"], 60_000);
    expect(parent.summary).toMatchObject({ total: 3, succeeded: 3, failed: 0, skipped: 0 });
    expect(parent.children.map((c: { nodeName: string }) => c.nodeName).sort()).toEqual(["web1", "web2", "web3"]);
    expect(llm.chatRequests().length - before).toBe(3);
    expect(llm.maxConcurrentChats()).toBe(1);
    // The last child waited ~2.6 s for the slot, longer than the provider's 1.5 s timeout.
    const children = await Promise.all(parent.children.map((c: { id: string }) => api.ok("GET", `/api/runs/${c.id}`)));
    const started = children.map((c) => Date.parse(c.startedAt));
    const finished = children.map((c) => Date.parse(c.finishedAt));
    expect(Math.max(...finished) - Math.min(...started)).toBeGreaterThan(3_000);
  }, 60_000);

  it("a model not trained for tool use: its step warns, and its [TOOL_REQUEST] still runs the tool", async () => {
    const finished = await api.waitRun(await run("legacy", LEGACY, "legacy"));
    expect(finished).toMatchObject({ status: "succeeded", output: "The host is web1." });
    const tool = finished.steps.find((s: { type: string }) => s.type === "tool");
    expect(tool).toMatchObject({ tool: "read_file", isError: false, arguments: { path: join(readRoot, "hostname") } });
    expect(llmSteps(finished)[0].warning).toMatch(/not trained for tool use/);
    expect(llmSteps(finished)[0].text ?? "").not.toContain("TOOL_REQUEST");
  });

  it("every request the Core sent LM Studio carried the token", () => {
    const paths = new Set(llm.requests.map((r) => r.path));
    expect([...paths].sort()).toEqual(["/api/v1/models", "/api/v1/models/load", "/v1/chat/completions"]);
    expect(llm.requests.length).toBeGreaterThan(10);
    expect(llm.requests.filter((r) => r.headers.authorization !== `Bearer ${TOKEN}`)).toEqual([]);
  });
});
