import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createLlmClient } from "./create-llm-client.ts";
import { isFallbackable, LlmError } from "./errors.ts";
import { type Script, turn } from "./testing/script.ts";
import { type ScriptedOpenAiServer, startScriptedOpenAiServer } from "./testing/scripted-openai-server.ts";
import type { ChatRequest, ProviderOptions } from "./types.ts";

const MODEL = "qwen2.5-7b-instruct";
const tools = [
  {
    name: "read_file",
    description: "Read a file",
    inputSchema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
  },
  { name: "system_stats", description: "Stats", inputSchema: { type: "object", properties: {} } },
];
const ask = (content = "hi", withTools = true): ChatRequest => ({
  model: MODEL,
  messages: [{ role: "user", content }],
  ...(withTools ? { tools } : {}),
});

let server: ScriptedOpenAiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(
  script: Script,
  options: ProviderOptions = {},
  extra: { apiToken?: string; apiKey?: string } = {},
) {
  server = await startScriptedOpenAiServer({ script, ...(extra.apiToken ? { apiToken: extra.apiToken } : {}) });
  const client = createLlmClient({ kind: "lmstudio", baseUrl: server.baseUrl, apiKey: extra.apiKey ?? null, options });
  return { server, client };
}

const signal = () => new AbortController().signal;

async function failure(p: Promise<unknown>): Promise<LlmError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(LlmError);
    return err as LlmError;
  }
  throw new Error("expected the call to fail");
}

describe("OpenAI-compatible client against the scripted LM Studio", () => {
  it("streams text, reports usage, and sends no Authorization header without a token", async () => {
    const { server, client } = await setup([turn.text("Disk / is 42% full.", { chunkSize: 3 })]);
    const deltas: string[] = [];
    const res = await client.chat(ask("how full?", false), { signal: signal(), onTextDelta: (t) => deltas.push(t) });
    expect(res.text).toBe("Disk / is 42% full.");
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join("")).toBe(res.text);
    expect(res.finishReason).toBe("stop");
    expect(res.toolCalls).toEqual([]);
    expect(res.usage.promptTokens).toBeGreaterThan(0);
    expect(res.usage.completionTokens).toBeGreaterThan(0);
    const req = server.chatRequests()[0]!;
    expect(req.headers.authorization).toBeUndefined();
    expect(req.body).toMatchObject({ model: MODEL, stream: true, stream_options: { include_usage: true } });
    expect((req.body as Record<string, unknown>).tools).toBeUndefined();
  });

  it("native structured output: response_format json_schema on a turn without tools, and on the corrective turn with tool_choice none; LM Studio's tool turns go without it", async () => {
    const { server, client } = await setup([turn.text('{"ok":true}'), turn.text("x"), turn.text('{"ok":true}')]);
    const responseSchema = { name: "result", schema: { type: "object", properties: { ok: { type: "boolean" } } } };
    await client.chat({ ...ask("summarise", false), responseSchema }, { signal: signal() });
    await client.chat({ ...ask("check", true), responseSchema }, { signal: signal() });
    await client.chat(
      { ...ask("again", true), responseSchema: { ...responseSchema, final: true } },
      { signal: signal() },
    );
    const bodies = server.chatRequests().map((r) => r.body as Record<string, unknown>);
    const format = {
      type: "json_schema",
      json_schema: { name: "result", schema: responseSchema.schema, strict: false },
    };
    expect(bodies[0]!.response_format).toEqual(format);
    // LM Studio's grammar would bind the whole reply to the schema, leaving no way to call a tool.
    expect(bodies[1]!.response_format).toBeUndefined();
    expect(bodies[1]!.tool_choice).toBeUndefined();
    expect(bodies[2]!.response_format).toEqual(format);
    expect(bodies[2]!.tool_choice).toBe("none");
    expect(bodies[2]!.tools).toHaveLength(2);
  });

  it("OpenAI itself gets response_format on tool turns too (it honours both)", async () => {
    server = await startScriptedOpenAiServer({ script: [turn.text('{"ok":true}')] });
    const client = createLlmClient({
      kind: "openai",
      baseUrl: server.baseUrl,
      apiKey: "sk-test",
      options: { maxRetries: 0 },
    });
    const responseSchema = { name: "result", schema: { type: "object" } };
    await client.chat({ ...ask("check", true), responseSchema }, { signal: signal() });
    const body = server.chatRequests()[0]!.body as Record<string, unknown>;
    expect(body.response_format).toMatchObject({ type: "json_schema", json_schema: { name: "result" } });
    expect(body.tool_choice).toBeUndefined();
  });

  it("sends LM Studio's bearer token when one is set; none is auth_required, a wrong one auth_failed, neither fallbackable", async () => {
    const ok = await setup([turn.text("ok")], {}, { apiToken: "sk-lm-secret", apiKey: "sk-lm-secret" });
    expect((await ok.client.chat(ask("x", false), { signal: signal() })).text).toBe("ok");
    expect(ok.server.chatRequests()[0]!.headers.authorization).toBe("Bearer sk-lm-secret");
    await ok.server.close();
    const none = await setup([turn.text("never")], {}, { apiToken: "sk-lm-secret" });
    const missing = await failure(none.client.chat(ask("x", false), { signal: signal() }));
    expect(missing.code).toBe("auth_required");
    expect(missing.message).toMatch(/^LM Studio requires an API token: create one in LM Studio/);
    expect(isFallbackable(missing)).toBe(false);
    await none.server.close();
    const bad = await setup([turn.text("never")], {}, { apiToken: "sk-lm-secret", apiKey: "sk-lm-old" });
    const wrong = await failure(bad.client.chat(ask("x", false), { signal: signal() }));
    expect(wrong.code).toBe("auth_failed");
    expect(wrong.message).toMatch(/^LM Studio refused this provider's API token/);
    expect(isFallbackable(wrong)).toBe(false);
  });

  it("assembles tool calls whose arguments arrive split, several per turn, interleaved", async () => {
    const { server, client } = await setup([
      turn.toolCalls(
        [
          { id: "111", name: "read_file", arguments: { path: "/var/log/syslog" } },
          { id: "222", name: "system_stats", arguments: {} },
          { id: "333", name: "read_file", arguments: { path: "/etc/hostname" } },
        ],
        { argumentsChunkSize: 3, interleave: true, text: "Let me look." },
      ),
    ]);
    const res = await client.chat(ask(), { signal: signal() });
    expect(res.finishReason).toBe("tool_calls");
    expect(res.text).toBe("Let me look.");
    expect(res.toolCalls).toEqual([
      { id: "111", name: "read_file", arguments: '{"path":"/var/log/syslog"}' },
      { id: "222", name: "system_stats", arguments: "{}" },
      { id: "333", name: "read_file", arguments: '{"path":"/etc/hostname"}' },
    ]);
    const body = server.chatRequests()[0]!.body as { tools: unknown[] };
    expect(body.tools[0]).toEqual({
      type: "function",
      function: { name: "read_file", description: "Read a file", parameters: tools[0]!.inputSchema },
    });
  });

  it("drops a call repeated in the same turn", async () => {
    const { client } = await setup([
      turn.toolCalls([
        { id: "1", name: "read_file", arguments: '{"path": "/a"}' },
        { id: "2", name: "read_file", arguments: '{"path":"/a"}' },
        { id: "3", name: "read_file", arguments: '{"path":"/b"}' },
      ]),
    ]);
    const res = await client.chat(ask(), { signal: signal() });
    expect(res.toolCalls.map((c) => c.id)).toEqual(["1", "3"]);
  });

  it("parses [TOOL_REQUEST] blocks left in the content, and keeps them out of the streamed text", async () => {
    const { client } = await setup([
      turn.toolRequest(
        [
          { name: "read_file", arguments: { path: "/etc/os-release" } },
          { name: "system_stats", arguments: {} },
        ],
        { text: "Checking.", chunkSize: 4 },
      ),
    ]);
    const deltas: string[] = [];
    const res = await client.chat(ask(), { signal: signal(), onTextDelta: (t) => deltas.push(t) });
    expect(res.text).toBe("Checking.");
    expect(res.finishReason).toBe("tool_calls");
    expect(res.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)])).toEqual([
      ["read_file", { path: "/etc/os-release" }],
      ["system_stats", {}],
    ]);
    expect(new Set(res.toolCalls.map((c) => c.id)).size).toBe(2);
    expect(deltas.join("")).not.toContain("TOOL_REQUEST");
    expect(deltas.join("").trim()).toBe("Checking.");
  });

  it("turns an unreadable [TOOL_REQUEST] into a call with a parse error (for the loop to report)", async () => {
    const { client } = await setup([
      turn.toolRequest([], { raw: '[TOOL_REQUEST]{"name": "read_file", "arguments": {"path": "/x"[END_TOOL_REQUEST]' }),
    ]);
    const res = await client.chat(ask(), { signal: signal() });
    expect(res.toolCalls).toHaveLength(1);
    expect(res.toolCalls[0]!.name).toBe("read_file");
    expect(res.toolCalls[0]!.parseError).toMatch(/could not parse/);
  });

  it("uses non-streaming requests for tool turns when the provider says so, and still streams text turns", async () => {
    const { server, client } = await setup(
      [
        turn.toolCalls([{ id: "9", name: "read_file", arguments: { path: "/a" } }], { text: "Sure." }),
        turn.text("done"),
      ],
      { streamToolTurns: false },
    );
    const deltas: string[] = [];
    const res = await client.chat(ask(), { signal: signal(), onTextDelta: (t) => deltas.push(t) });
    expect(res.toolCalls).toEqual([{ id: "9", name: "read_file", arguments: '{"path":"/a"}' }]);
    expect(res.text).toBe("Sure.");
    expect(deltas).toEqual(["Sure."]);
    expect(res.usage.completionTokens).toBeGreaterThan(0);
    await client.chat(ask("plain", false), { signal: signal() });
    expect(server.chatRequests().map((r) => (r.body as { stream?: boolean }).stream)).toEqual([false, true]);
  });

  it("replays the conversation in OpenAI form: assistant tool_calls, then tool messages", async () => {
    const { server, client } = await setup([turn.text("fine")]);
    await client.chat(
      {
        model: MODEL,
        tools,
        messages: [
          { role: "system", content: "be brief" },
          { role: "user", content: "check" },
          {
            role: "assistant",
            content: "",
            toolCalls: [
              { id: "a1", name: "read_file", arguments: '{"path":"/a"}' },
              { id: "a2", name: "read_file", arguments: "{not json" },
            ],
          },
          { role: "tool", toolCallId: "a1", toolName: "read_file", content: "hello" },
          { role: "tool", toolCallId: "a2", toolName: "read_file", content: "bad arguments", isError: true },
        ],
      },
      { signal: signal() },
    );
    expect((server.chatRequests()[0]!.body as { messages: unknown[] }).messages).toEqual([
      { role: "system", content: "be brief" },
      { role: "user", content: "check" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "a1", type: "function", function: { name: "read_file", arguments: '{"path":"/a"}' } },
          { id: "a2", type: "function", function: { name: "read_file", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "a1", content: "hello" },
      { role: "tool", tool_call_id: "a2", content: "bad arguments" },
    ]);
  });
});

describe("OpenAI-compatible client errors", () => {
  it("5xx is server_error and fallbackable", async () => {
    const { client } = await setup([turn.error(500, "model crashed")]);
    const err = await failure(client.chat(ask(), { signal: signal() }));
    expect(err.code).toBe("server_error");
    expect(err.status).toBe(500);
    expect(err.message).toContain("model crashed");
    expect(isFallbackable(err)).toBe(true);
  });

  it("a model the server does not have is model_not_found and fallbackable", async () => {
    const { client } = await setup([turn.text("never")]);
    const err = await failure(client.chat({ ...ask(), model: "llama-99b" }, { signal: signal() }));
    expect(err.code).toBe("model_not_found");
    expect(err.message).toContain('Model "llama-99b" not found');
    expect(isFallbackable(err)).toBe(true);
  });

  it("400 is invalid_request with LM Studio's message, not fallbackable", async () => {
    const msg = "<LM Studio error> Trying to keep the first 15857 tokens when context the overflows.";
    const { client } = await setup([turn.error(400, msg)]);
    const err = await failure(client.chat(ask(), { signal: signal() }));
    expect(err.code).toBe("invalid_request");
    expect(err.message).toBe(msg);
    expect(isFallbackable(err)).toBe(false);
  });

  it("connection refused is connection_failed and fallbackable", async () => {
    const port = await closedPort();
    const client = createLlmClient({ kind: "lmstudio", baseUrl: `http://127.0.0.1:${port}/v1` });
    const err = await failure(client.chat(ask(), { signal: signal() }));
    expect(err.code).toBe("connection_failed");
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(isFallbackable(err)).toBe(true);
  });

  it("a connection dropped mid-stream is connection_failed", async () => {
    const { client } = await setup([turn.disconnect("partial answ")]);
    const err = await failure(client.chat(ask(), { signal: signal() }));
    expect(err.code).toBe("connection_failed");
    expect(isFallbackable(err)).toBe(true);
  });

  it("cancel mid-stream aborts the request in flight", async () => {
    const { server, client } = await setup([turn.hang("Thinking about it")]);
    const controller = new AbortController();
    const deltas: string[] = [];
    const pending = client.chat(ask(), {
      signal: controller.signal,
      onTextDelta: (t) => {
        deltas.push(t);
        controller.abort();
      },
    });
    const err = await failure(pending);
    expect(err.code).toBe("cancelled");
    expect(isFallbackable(err)).toBe(false);
    expect(deltas.length).toBeGreaterThan(0);
    await expect.poll(() => server.chatRequests()[0]!.aborted).toBe(true);
  });

  it("silence longer than the timeout is a timeout (fallbackable); the first request gets a longer deadline", async () => {
    const { client } = await setup(
      [
        { type: "text", text: "loaded", delayMs: 400 },
        { type: "text", text: "slow", delayMs: 400 },
      ],
      {
        timeoutMs: 150,
        firstRequestTimeoutMs: 3_000,
      },
    );
    expect((await client.chat(ask(), { signal: signal() })).text).toBe("loaded");
    const err = await failure(client.chat(ask(), { signal: signal() }));
    expect(err.code).toBe("timeout");
    expect(isFallbackable(err)).toBe(true);
  });
});

describe("LM Studio model list", () => {
  const models = [
    { id: "qwen2.5-7b-instruct", loaded: true, contextLength: 8192, maxContextLength: 32768, toolUse: true },
    { id: "gemma-2-2b-it", loaded: false, maxContextLength: 8192, toolUse: false },
    { id: "text-embedding-nomic-embed-text-v1.5", type: "embedding" as const, maxContextLength: 2048 },
  ];

  it("reads the native v1 API: loaded instances, context length, tool-use training; no embeddings", async () => {
    server = await startScriptedOpenAiServer({ script: [], models, apiToken: "tok" });
    const client = createLlmClient({ kind: "lmstudio", baseUrl: server.baseUrl, apiKey: "tok" });
    expect(await client.listModels()).toEqual([
      {
        id: "qwen2.5-7b-instruct",
        loaded: true,
        contextLength: 8192,
        loadedContextLength: 8192,
        maxContextLength: 32768,
        toolUse: true,
      },
      { id: "gemma-2-2b-it", loaded: false, contextLength: 8192, maxContextLength: 8192, toolUse: false },
    ]);
    expect(server.requests.map((r) => r.path)).toEqual(["/api/v1/models"]);
    expect(server.requests[0]!.headers.authorization).toBe("Bearer tok");
  });

  it("falls back to v0 on LM Studio 0.3, then to /v1/models on a plain server", async () => {
    server = await startScriptedOpenAiServer({ script: [], models, nativeApi: "v0" });
    let client = createLlmClient({ kind: "lmstudio", baseUrl: server.baseUrl });
    // 0.3.x's `capabilities: ["tool_use"]` (an empty list says no).
    expect(await client.listModels()).toEqual([
      {
        id: "qwen2.5-7b-instruct",
        loaded: true,
        contextLength: 8192,
        loadedContextLength: 8192,
        maxContextLength: 32768,
        toolUse: true,
      },
      { id: "gemma-2-2b-it", loaded: false, contextLength: 8192, maxContextLength: 8192, toolUse: false },
    ]);
    await server.close();
    server = await startScriptedOpenAiServer({ script: [], models, nativeApi: "none" });
    client = createLlmClient({ kind: "lmstudio", baseUrl: server.baseUrl });
    expect((await client.listModels()).map((m) => m.id)).toEqual(models.map((m) => m.id));
    expect(server.requests.map((r) => r.path)).toEqual(["/api/v1/models", "/api/v0/models", "/v1/models"]);
  });

  it("openai kind lists /v1/models through the SDK", async () => {
    server = await startScriptedOpenAiServer({ script: [], models });
    const client = createLlmClient({ kind: "openai-compatible", baseUrl: server.baseUrl, apiKey: "k" });
    expect((await client.listModels()).map((m) => m.id)).toContain("gemma-2-2b-it");
  });

  it("an unreachable LM Studio is connection_failed", async () => {
    const port = await closedPort();
    const client = createLlmClient({ kind: "lmstudio", baseUrl: `http://127.0.0.1:${port}/v1` });
    await expect(client.listModels()).rejects.toMatchObject({ code: "connection_failed" });
  });
});

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
