import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createLlmClient } from "./create-llm-client.ts";
import { isFallbackable, LlmError } from "./errors.ts";
import type { FetchLike } from "./types.ts";

/**
 * SSE transcripts replayed byte for byte through the real adapter (the `openai` SDK's own stream
 * parser included), via the injectable fetch. The transcripts are written from LM Studio's and
 * OpenAI's documented chunk shapes (the first is the example in LM Studio's tool-use docs).
 */
const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), "utf8");

function replay(body: string): { fetch: FetchLike; bodies: unknown[] } {
  const bodies: unknown[] = [];
  const fake: FetchLike = async (_input, init) => {
    bodies.push(JSON.parse(String(init?.body)));
    return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
  };
  return { fetch: fake, bodies };
}

const request = {
  model: "qwen2.5-7b-instruct",
  messages: [{ role: "user" as const, content: "weather?" }],
  tools: [{ name: "get_current_weather", description: "", inputSchema: { type: "object" } }],
};

describe("recorded SSE transcripts", () => {
  it("LM Studio's documented split tool call", async () => {
    const { fetch } = replay(fixture("lmstudio-docs-tool-call.sse"));
    const client = createLlmClient({ kind: "lmstudio", baseUrl: "http://lmstudio.test/v1" }, { fetch });
    const res = await client.chat(request, { signal: new AbortController().signal });
    expect(res.toolCalls).toEqual([
      { id: "814890118", name: "get_current_weather", arguments: '{"location":"San Francisco"}' },
    ]);
    expect(res.finishReason).toBe("tool_calls");
  });

  it("parallel OpenAI calls with CRLF lines, a keep-alive comment and a usage chunk", async () => {
    const { fetch } = replay(fixture("openai-parallel-tool-calls.sse"));
    const client = createLlmClient({ kind: "openai", apiKey: "sk-test", options: { maxRetries: 0 } }, { fetch });
    const res = await client.chat({ ...request, model: "gpt-4o-mini" }, { signal: new AbortController().signal });
    expect(res.toolCalls).toEqual([
      { id: "call_A", name: "read_file", arguments: '{"path": "/a"}' },
      { id: "call_B", name: "system_stats", arguments: "{}" },
    ]);
    expect(res.usage).toEqual({ promptTokens: 120, completionTokens: 31 });
  });

  it("a call restarting an index with a new id is a new call; a verbatim repeat is dropped", async () => {
    const { fetch } = replay(fixture("lmstudio-restarted-and-repeated-calls.sse"));
    const client = createLlmClient({ kind: "lmstudio", baseUrl: "http://lmstudio.test/v1" }, { fetch });
    const res = await client.chat(request, { signal: new AbortController().signal });
    expect(res.toolCalls.map((c) => [c.id, c.arguments])).toEqual([
      ["1001", '{"path":"/a"}'],
      ["1002", '{"path":"/b"}'],
    ]);
  });

  it("an error inside a started stream is a fallbackable server error", async () => {
    const { fetch } = replay(fixture("lmstudio-error-mid-stream.sse"));
    const client = createLlmClient({ kind: "lmstudio", baseUrl: "http://lmstudio.test/v1" }, { fetch });
    const err = await client.chat(request, { signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err).toMatchObject({ code: "server_error", message: expect.stringContaining("Model has crashed") });
    expect(isFallbackable(err)).toBe(true);
  });
});
