import { afterEach, describe, expect, it } from "vitest";
import { createLlmClient } from "./create-llm-client.ts";
import { isFallbackable, LlmError } from "./errors.ts";
import type { ScriptedServer } from "./testing/http-harness.ts";
import { type Script, turn } from "./testing/script.ts";
import { startScriptedAnthropicServer } from "./testing/scripted-anthropic-server.ts";
import type { ChatRequest } from "./types.ts";

const MODEL = "claude-sonnet-4-6";
const tools = [
  {
    name: "read_file",
    description: "Read a file",
    inputSchema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
  },
];

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(script: Script) {
  server = await startScriptedAnthropicServer({ script, apiKey: "sk-ant-test" });
  const client = createLlmClient({
    kind: "anthropic",
    baseUrl: server.origin,
    apiKey: "sk-ant-test",
    options: { maxRetries: 0 },
  });
  return { server, client };
}

const signal = () => new AbortController().signal;
const ask: ChatRequest = {
  model: MODEL,
  tools,
  messages: [
    { role: "system", content: "You are terse." },
    { role: "user", content: "read /a and /b" },
  ],
};

async function failure(p: Promise<unknown>): Promise<LlmError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(LlmError);
    return err as LlmError;
  }
  throw new Error("expected the call to fail");
}

describe("Anthropic client against the scripted Messages API", () => {
  it("streams text, puts the system prompt in `system`, and reads usage", async () => {
    const { server, client } = await setup([turn.text("Both files are empty.", { chunkSize: 4 })]);
    const deltas: string[] = [];
    const res = await client.chat(ask, { signal: signal(), onTextDelta: (t) => deltas.push(t) });
    expect(res.text).toBe("Both files are empty.");
    expect(deltas.join("")).toBe(res.text);
    expect(res.finishReason).toBe("stop");
    expect(res.usage.promptTokens).toBeGreaterThan(0);
    expect(res.usage.completionTokens).toBeGreaterThan(0);
    const req = server.chatRequests()[0]!;
    expect(req.headers.authorization ?? req.headers["x-api-key"]).toMatch(/sk-ant-test$/);
    expect(req.body).toMatchObject({
      model: MODEL,
      stream: true,
      max_tokens: 4096,
      system: "You are terse.",
      messages: [{ role: "user", content: [{ type: "text", text: "read /a and /b" }] }],
      tools: [{ name: "read_file", description: "Read a file", input_schema: tools[0]!.inputSchema }],
    });
  });

  it("native structured output: a forced tool whose input is the answer, on a tool-less turn and on the corrective turn", async () => {
    const schema = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] };
    const { server, client } = await setup([
      turn.toolCalls([{ id: "toolu_09", name: "result", arguments: { ok: true } }], { argumentsChunkSize: 3 }),
      turn.toolCalls([{ id: "toolu_10", name: "result", arguments: { ok: false } }]),
      turn.text("still using tools"),
    ]);
    const tooless = { model: MODEL, messages: [{ role: "user" as const, content: "sum up" }] };
    const first = await client.chat({ ...tooless, responseSchema: { name: "result", schema } }, { signal: signal() });
    expect(first).toMatchObject({ text: '{"ok":true}', toolCalls: [], finishReason: "stop" });
    const corrective = await client.chat(
      { ...ask, responseSchema: { name: "result", schema, final: true } },
      { signal: signal() },
    );
    expect(corrective).toMatchObject({ text: '{"ok":false}', toolCalls: [], finishReason: "stop" });
    // A tool turn that need not be the answer is not forced: the model may still call read_file.
    await client.chat({ ...ask, responseSchema: { name: "result", schema } }, { signal: signal() });
    const bodies = server!.chatRequests().map((r) => r.body as Record<string, unknown>);
    expect(bodies[0]!.tool_choice).toEqual({ type: "tool", name: "result" });
    expect(bodies[0]!.tools).toEqual([expect.objectContaining({ name: "result", input_schema: schema })]);
    expect(bodies[1]!.tool_choice).toEqual({ type: "tool", name: "result" });
    expect((bodies[1]!.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(["read_file", "result"]);
    expect(bodies[2]!.tool_choice).toBeUndefined();
    expect((bodies[2]!.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(["read_file"]);
  });

  it("assembles tool_use blocks from input_json_delta pieces, several per turn", async () => {
    const { client } = await setup([
      turn.toolCalls(
        [
          { id: "toolu_01", name: "read_file", arguments: { path: "/a" } },
          { id: "toolu_02", name: "read_file", arguments: { path: "/b" } },
        ],
        { text: "Reading.", argumentsChunkSize: 2 },
      ),
    ]);
    const res = await client.chat(ask, { signal: signal() });
    expect(res.finishReason).toBe("tool_calls");
    expect(res.text).toBe("Reading.");
    expect(res.toolCalls).toEqual([
      { id: "toolu_01", name: "read_file", arguments: '{"path":"/a"}' },
      { id: "toolu_02", name: "read_file", arguments: '{"path":"/b"}' },
    ]);
  });

  it("maps tool calls and results to tool_use / tool_result blocks, merged into alternating turns", async () => {
    const { server, client } = await setup([turn.text("ok")]);
    await client.chat(
      {
        ...ask,
        messages: [
          ...ask.messages,
          {
            role: "assistant",
            content: "Reading.",
            toolCalls: [
              { id: "toolu_01", name: "read_file", arguments: '{"path":"/a"}' },
              // An id from another provider (after a fallback) is made acceptable to Anthropic.
              { id: "run:1:call.2", name: "read_file", arguments: "{oops" },
            ],
          },
          { role: "tool", toolCallId: "toolu_01", toolName: "read_file", content: "A" },
          { role: "tool", toolCallId: "run:1:call.2", toolName: "read_file", content: "bad JSON", isError: true },
        ],
      },
      { signal: signal() },
    );
    expect((server.chatRequests()[0]!.body as { messages: unknown }).messages).toEqual([
      { role: "user", content: [{ type: "text", text: "read /a and /b" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Reading." },
          { type: "tool_use", id: "toolu_01", name: "read_file", input: { path: "/a" } },
          { type: "tool_use", id: "run_1_call_2", name: "read_file", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_01", content: "A" },
          { type: "tool_result", tool_use_id: "run_1_call_2", content: "bad JSON", is_error: true },
        ],
      },
    ]);
  });

  it("classifies errors: 529 overloaded and 500 fall back, 404 model falls back, 400 does not, 401 does not", async () => {
    const { client } = await setup([
      turn.error(529, "Overloaded"),
      turn.error(500),
      turn.error(400, "messages: bad"),
      turn.text("x"),
    ]);
    const overloaded = await failure(client.chat(ask, { signal: signal() }));
    expect([overloaded.code, isFallbackable(overloaded)]).toEqual(["server_error", true]);
    const internal = await failure(client.chat(ask, { signal: signal() }));
    expect([internal.code, isFallbackable(internal)]).toEqual(["server_error", true]);
    const invalid = await failure(client.chat(ask, { signal: signal() }));
    expect([invalid.code, invalid.message, isFallbackable(invalid)]).toEqual([
      "invalid_request",
      "messages: bad",
      false,
    ]);
    const missing = await failure(client.chat({ ...ask, model: "claude-nope" }, { signal: signal() }));
    expect([missing.code, isFallbackable(missing)]).toEqual(["model_not_found", true]);
    const wrongKey = createLlmClient({
      kind: "anthropic",
      baseUrl: server!.origin,
      apiKey: "wrong",
      options: { maxRetries: 0 },
    });
    const auth = await failure(wrongKey.chat(ask, { signal: signal() }));
    expect([auth.code, isFallbackable(auth)]).toEqual(["auth_failed", false]);
  });

  it("cancel mid-stream aborts the request in flight", async () => {
    const { server, client } = await setup([turn.hang("Let me think")]);
    const controller = new AbortController();
    const err = await failure(client.chat(ask, { signal: controller.signal, onTextDelta: () => controller.abort() }));
    expect(err.code).toBe("cancelled");
    await expect.poll(() => server.chatRequests()[0]!.aborted).toBe(true);
  });

  it("lists models", async () => {
    const { client } = await setup([]);
    expect(await client.listModels()).toEqual([{ id: MODEL }]);
  });
});
