import { afterEach, describe, expect, it } from "vitest";
import { createLlmClient } from "./create-llm-client.ts";
import { isFallbackable, LlmError } from "./errors.ts";
import { StreamRefusals } from "./stream-refusals.ts";
import type { Script } from "./testing/script.ts";
import { type ScriptedOpenAiServerOptions, startScriptedOpenAiServer } from "./testing/scripted-openai-server.ts";
import {
  hermesToolCallTurn,
  leakedCallFragmentTurn,
  llamaCppStreamErrorTurn,
  mistralThinkingTurn,
  phantomCallTurn,
  qwenCoderXmlTurn,
  reasoningContentTurn,
  reasoningTurn,
  thinkTagsTurn,
} from "./testing/server-dialects.ts";
import type { ChatMessage, ChatRequest } from "./types.ts";

/**
 * Issue 19: what real servers send that the adapter used to get wrong, replayed by the scripted
 * server in each server's own shape, streamed and as a whole answer, through the real adapter.
 */
const MODEL = "qwen2.5-7b-instruct";
const tools = [
  {
    name: "read_file",
    description: "Read a file",
    inputSchema: {
      type: "object",
      properties: { path: { type: "string" }, maxBytes: { type: "integer" } },
      required: ["path"],
    },
  },
];
const ask = (messages: ChatMessage[] = [{ role: "user", content: "read /etc/hosts" }]): ChatRequest => ({
  model: MODEL,
  messages,
  tools,
});

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function setup(script: Script, streamed: boolean, extra: Partial<ScriptedOpenAiServerOptions> = {}) {
  const server = await startScriptedOpenAiServer({ script, ...extra });
  closers.push(() => server.close());
  const client = createLlmClient(
    { kind: "lmstudio", baseUrl: server.baseUrl, options: { streamToolTurns: streamed } },
    { streamRefusals: new StreamRefusals() },
  );
  const text: string[] = [];
  const reasoning: string[] = [];
  const chat = (request = ask()) =>
    client.chat(request, {
      signal: new AbortController().signal,
      onTextDelta: (t) => text.push(t),
      onReasoningDelta: (t) => reasoning.push(t),
    });
  return { server, client, chat, text, reasoning };
}

const modes = [
  ["streamed", true],
  ["whole", false],
] as const;

describe.each(modes)("server dialects (%s)", (_mode, streamed) => {
  it("DeepSeek reasoning_content: its own part of the answer, streamed apart, counted in usage", async () => {
    const { chat, text, reasoning, server } = await setup(
      [reasoningContentTurn({ reasoning: "The user wants the hosts file.", text: "Here it is.", reasoningTokens: 9 })],
      streamed,
    );
    const res = await chat();
    expect(res.text).toBe("Here it is.");
    expect(res.reasoning).toEqual({
      text: "The user wants the hosts file.",
      field: "reasoning_content",
      origin: server.baseUrl,
    });
    expect(text.join("")).toBe("Here it is.");
    expect(reasoning.join("")).toBe("The user wants the hosts file.");
    expect(res.usage.reasoningTokens).toBe(9);
  });

  it("gpt-oss `reasoning` with a native call", async () => {
    const { chat } = await setup(
      [
        reasoningTurn({
          reasoning: "Need to read it.",
          calls: [{ name: "read_file", arguments: { path: "/etc/hosts" } }],
        }),
      ],
      streamed,
    );
    const res = await chat();
    expect(res.reasoning?.field).toBe("reasoning");
    expect(res.toolCalls.map((c) => [c.name, c.arguments])).toEqual([["read_file", '{"path":"/etc/hosts"}']]);
    expect(res.finishReason).toBe("tool_calls");
  });

  it("<think> tags: out of the text, with the opening tag and with only the closing one (R1 templates)", async () => {
    const { chat, text } = await setup(
      [
        thinkTagsTurn({ reasoning: "Hmm, hosts.", text: "Done." }),
        thinkTagsTurn({ reasoning: "Opened by the template.", text: "Done again.", openedInPrompt: true }),
      ],
      streamed,
    );
    const first = await chat();
    expect(first.text).toBe("Done.");
    expect(first.reasoning).toEqual({ text: "Hmm, hosts." });
    expect(text.join("")).not.toContain("think");
    const second = await chat();
    expect(second.text).toBe("Done again.");
    expect(second.reasoning?.text).toBe("Opened by the template.");
  });

  it("Mistral content as an array of parts: text and thinking, never [object Object]", async () => {
    const { chat, text } = await setup(
      [
        mistralThinkingTurn({
          reasoning: "Let me think about which file.",
          text: "Reading it now.",
          calls: [{ name: "read_file", arguments: { path: "/etc/hosts" } }],
        }),
      ],
      streamed,
    );
    const res = await chat();
    expect(res.text).toBe("Reading it now.");
    expect(res.reasoning?.text).toBe("Let me think about which file.");
    expect(text.join("")).toBe("Reading it now.");
    expect(res.toolCalls[0]).toMatchObject({ name: "read_file", arguments: '{"path":"/etc/hosts"}' });
  });

  it("Qwen3-Coder XML in the content with finish `stop` is a call, typed by the tool's schema, hidden", async () => {
    const { chat, text } = await setup(
      [qwenCoderXmlTurn([{ name: "read_file", arguments: { path: "/etc/hosts", maxBytes: 200 } }], "I'll read it.")],
      streamed,
    );
    const res = await chat();
    expect(res.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)])).toEqual([
      ["read_file", { path: "/etc/hosts", maxBytes: 200 }],
    ]);
    expect(res.finishReason).toBe("tool_calls");
    expect(res.textToolCalls).toBe("qwen_xml");
    expect(res.text).toBe("I'll read it.");
    expect(text.join("")).not.toMatch(/<|parameter|function/);
  });

  it("Hermes <tool_call> JSON in the content is a call", async () => {
    const { chat, text } = await setup(
      [hermesToolCallTurn([{ name: "read_file", arguments: { path: "/a" } }])],
      streamed,
    );
    const res = await chat();
    expect(res.toolCalls.map((c) => [c.name, c.arguments])).toEqual([["read_file", '{"path":"/a"}']]);
    expect(res.textToolCalls).toBe("hermes");
    expect(res.text).toBe("");
    expect(text.join("")).toBe("");
  });

  it("a nameless, id-less call after a finished answer (LM Studio #830) is dropped: the answer stands", async () => {
    const { chat } = await setup([phantomCallTurn("The disk is 42% full.")], streamed);
    const res = await chat();
    expect(res.toolCalls).toEqual([]);
    expect(res.finishReason).toBe("stop");
    expect(res.text).toBe("The disk is 42% full.");
  });

  it("a half-written <tool_call> leaked before real calls (llama.cpp + Qwen3-Coder) is not kept", async () => {
    const { chat } = await setup(
      [leakedCallFragmentTurn([{ name: "read_file", arguments: { path: "/b" } }], "Checking. ")],
      streamed,
    );
    const res = await chat();
    expect(res.text).toBe("Checking.");
    expect(res.toolCalls.map((c) => c.arguments)).toEqual(['{"path":"/b"}']);
  });
});

describe("server dialects (stream only)", () => {
  it("llama.cpp's `error:` SSE line surfaces its reason as a fallbackable server error", async () => {
    const { chat } = await setup([llamaCppStreamErrorTurn()], true);
    const err = await chat().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err).toMatchObject({
      code: "server_error",
      message: expect.stringContaining("exceeds the available context size"),
    });
    expect(isFallbackable(err)).toBe(true);
  });

  it("a server refusing to stream tools gets the turn unstreamed, remembered for that model", async () => {
    const { chat, server, text } = await setup(
      [
        reasoningContentTurn({ reasoning: "r", calls: [{ name: "read_file", arguments: { path: "/c" } }] }),
        qwenCoderXmlTurn([{ name: "read_file", arguments: { path: "/d" } }]),
        { type: "text", text: "plain turns still stream" },
      ],
      true,
      { refuseStreamWithTools: true },
    );
    expect((await chat()).toolCalls[0]?.arguments).toBe('{"path":"/c"}');
    expect((await chat()).toolCalls[0]?.arguments).toBe('{"path":"/d"}');
    const streamedFlags = server.chatRequests().map((r) => (r.body as { stream?: boolean }).stream ?? false);
    // The refused streamed request, then its unstreamed retry, then straight to unstreamed.
    expect(streamedFlags).toEqual([true, false, false]);
    await chat({ model: MODEL, messages: [{ role: "user", content: "hi" }] });
    expect((server.chatRequests()[3]!.body as { stream?: boolean }).stream).toBe(true);
    expect(text.join("")).toContain("plain turns still stream");
  });
});

describe("reasoning sent back", () => {
  const loop = (origin: string): ChatMessage[] => [
    { role: "user", content: "read /etc/hosts" },
    {
      role: "assistant",
      content: "",
      toolCalls: [{ id: "call_00_0", name: "read_file", arguments: '{"path":"/etc/hosts"}' }],
      reasoning: { text: "Need the file.", field: "reasoning_content", origin },
    },
    { role: "tool", toolCallId: "call_00_0", toolName: "read_file", content: "127.0.0.1 localhost" },
  ];

  it("to DeepSeek, which requires it on earlier tool-calling turns", async () => {
    const { chat, server } = await setup([reasoningContentTurn({ reasoning: "ok", text: "localhost only" })], true, {
      reasoningReplay: "required",
    });
    const res = await chat(ask(loop(server.baseUrl)));
    expect(res.text).toBe("localhost only");
    const sent = (server.chatRequests()[0]!.body as { messages: Array<Record<string, unknown>> }).messages[1]!;
    expect(sent.reasoning_content).toBe("Need the file.");
  });

  it("never to another server (after a fallback), which may reject the field", async () => {
    const { chat, server } = await setup([{ type: "text", text: "fine" }], true, { reasoningReplay: "rejected" });
    expect((await chat(ask(loop("https://api.deepseek.com/v1")))).text).toBe("fine");
    const sent = (server.chatRequests()[0]!.body as { messages: Array<Record<string, unknown>> }).messages[1]!;
    expect(sent.reasoning_content).toBeUndefined();
  });

  it("the scripted DeepSeek does refuse a loop without it (the test above can fail)", async () => {
    const { chat, server } = await setup([{ type: "text", text: "never" }], true, { reasoningReplay: "required" });
    const messages = loop("elsewhere");
    const err = await chat(ask(messages)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "invalid_request", message: expect.stringContaining("must be passed back") });
    expect(server.chatRequests()).toHaveLength(1);
  });
});
