import type { ToolResult } from "@fabricore/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { createLlmClient } from "../llm/create-llm-client.ts";
import { ProviderSlots } from "../llm/provider-slots.ts";
import { type RecordedRequest, turn } from "../llm/testing/script.ts";
import {
  type ScriptedModel,
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "../llm/testing/scripted-openai-server.ts";
import type { ProviderConfig } from "../llm/types.ts";
import { runAgent } from "./run-agent.ts";
import { nameToolsForModel } from "./tool-names.ts";
import type { AgentEvent, LlmStep, RunStep, ToolRouter } from "./types.ts";

/** The loop with LM Studio's own API (loaded context, tool-use capability, loading, speed), over
 * HTTP against the scripted LM Studio. */

const { tools } = nameToolsForModel([
  {
    nodeId: "n1",
    nodeName: "web1",
    name: "read_file",
    source: "builtin",
    description: "Read a file",
    inputSchema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
  },
]);
const logOf = (name: string, chars: number) =>
  Array.from({ length: 1000 }, (_, i) => `Dec 7 01:${String(i % 60).padStart(2, "0")} web1 ${name}[42]: GET /${i}`)
    .join("\n")
    .slice(0, chars);
/** 20,000 characters: more than a 4k-token context holds (LM Studio counts ~5,000 tokens), and
 * far more than the 3,072 tokens (~9,000 characters) FabriCore leaves for the prompt. */
const nginxLog = logOf("nginx", 20_000);
const syslog = logOf("cron", 5_000);
const files: Record<string, string> = { "/var/log/nginx.log": nginxLog, "/var/log/syslog": syslog };
const router: ToolRouter = {
  async call(_tool, args): Promise<ToolResult> {
    return { content: [{ type: "text", text: files[String(args.path)] ?? "ENOENT" }], isError: false, durationMs: 1 };
  },
};

let server: ScriptedOpenAiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function recorder() {
  const steps: RunStep[] = [];
  const events: AgentEvent[] = [];
  return {
    steps,
    events,
    llmSteps: () => steps.filter((s): s is LlmStep => s.type === "llm"),
    sink: { step: async (s: RunStep) => void steps.push(s), event: (e: AgentEvent) => void events.push(e) },
  };
}

const toolMessages = (req: RecordedRequest) =>
  (req.body as { messages: Array<{ role: string; content: string }> }).messages.filter((m) => m.role === "tool");

/** Reads the big log, then the syslog, then answers: three turns, each prompt longer than the last. */
const readTwiceScript = (req: RecordedRequest) => {
  const done = toolMessages(req).length;
  if (done === 0) return turn.toolCalls([{ name: "read_file", arguments: { path: "/var/log/nginx.log" } }]);
  if (done === 1) return turn.toolCalls([{ name: "read_file", arguments: { path: "/var/log/syslog" } }]);
  return turn.text("web1 served 300 requests.");
};

function run(
  provider: ProviderConfig,
  model: string,
  r: ReturnType<typeof recorder>,
  withTools = true,
  contextTokens?: number,
) {
  return runAgent({
    ...(contextTokens ? { contextTokens } : {}),
    runId: "r1",
    prompt: "Summarise the nginx log of this host.",
    models: [{ providerName: "local", client: createLlmClient(provider, { slots: new ProviderSlots() }), model }],
    tools: withTools ? tools : [],
    router,
    steps: r.sink,
    maxSteps: 6,
    signal: new AbortController().signal,
  });
}

const small: ScriptedModel = { id: "qwen2.5-7b-instruct", loaded: true, contextLength: 4096, toolUse: true };

describe("runAgent and LM Studio's loaded context length", () => {
  it("a model loaded with 4k gets a prompt fitted to 4k: the big output cut, then replaced by a note", async () => {
    server = await startScriptedOpenAiServer({ script: readTwiceScript, models: [small], enforceContextLength: true });
    const r = recorder();
    const result = await run({ kind: "lmstudio", baseUrl: server.baseUrl }, small.id, r);
    expect(result).toMatchObject({ status: "succeeded", output: "web1 served 300 requests." });
    const [, second, third] = server.chatRequests();
    // Turn 2: the log is the latest result, so it is cut, not dropped.
    expect(toolMessages(second!)[0]!.content.length).toBeLessThan(9_000);
    expect(toolMessages(second!)[0]!.content).toContain("Dec 7 01:00 web1 nginx");
    // Turn 3: older now, it is replaced by the note and the syslog is kept whole.
    expect(toolMessages(third!).map((m) => m.content)).toEqual([
      expect.stringMatching(/^\[tool output removed to keep the conversation within the model's context length/),
      syslog,
    ]);
    expect(r.llmSteps().map((s) => s.contextTokens)).toEqual([4096, 4096, 4096]);
    expect(r.llmSteps()[2]!.removedToolOutputs).toBe(1);
  });

  it("without the loaded context length (a plain OpenAI-compatible provider) the same run overflows it", async () => {
    server = await startScriptedOpenAiServer({ script: readTwiceScript, models: [small], enforceContextLength: true });
    const r = recorder();
    const result = await run({ kind: "openai-compatible", baseUrl: server.baseUrl }, small.id, r);
    expect(result.status).toBe("failed");
    expect(result.error).toContain("the model is loaded with context length of only 4096 tokens");
  });

  it("the provider's declared context length still bounds it when it is the smaller", async () => {
    server = await startScriptedOpenAiServer({
      script: readTwiceScript,
      models: [{ ...small, contextLength: 32768 }],
      enforceContextLength: true,
    });
    const r = recorder();
    // The executor hands the provider's `contextTokens` to the loop.
    const result = await run({ kind: "lmstudio", baseUrl: server.baseUrl }, small.id, r, true, 4096);
    expect(result.status).toBe("succeeded");
    expect(r.llmSteps().map((s) => s.contextTokens)).toEqual([4096, 4096, 4096]);
  });
});

describe("runAgent and LM Studio's model state", () => {
  it("a cold model is loaded before the first turn, the wait reported as model_status events", async () => {
    server = await startScriptedOpenAiServer({
      script: [turn.text("hello")],
      models: [{ ...small, loaded: false, maxContextLength: 32768 }],
      loadDelayMs: 200,
    });
    const r = recorder();
    const result = await run(
      { kind: "lmstudio", baseUrl: server.baseUrl, options: { contextTokens: 8192 } },
      small.id,
      r,
    );
    expect(result.status).toBe("succeeded");
    expect(r.events.filter((e) => e.type === "model_status").map((e) => e.status)).toEqual([
      { state: "loading", how: "load_endpoint", contextLength: 8192 },
      { state: "loaded", loadMs: expect.any(Number), contextLength: 8192 },
    ]);
    expect(r.llmSteps()[0]!.contextTokens).toBe(8192);
    // The load came first, then the chat.
    expect(server.requests.map((r) => r.path)).toEqual([
      "/api/v1/models",
      "/api/v1/models/load",
      "/v1/chat/completions",
    ]);
  });

  it("a model not trained for tool use: its [TOOL_REQUEST] text runs as calls, and the first step warns", async () => {
    server = await startScriptedOpenAiServer({
      script: (req) =>
        toolMessages(req).length === 0
          ? turn.toolRequest([{ name: "read_file", arguments: { path: "/etc/hostname" } }])
          : turn.text("The host is web1."),
      models: [{ ...small, toolUse: false }],
    });
    const r = recorder();
    const result = await run({ kind: "lmstudio", baseUrl: server.baseUrl }, small.id, r);
    expect(result).toMatchObject({ status: "succeeded", output: "The host is web1." });
    expect(r.steps.map((s) => s.type)).toEqual(["llm", "tool", "llm"]);
    expect(r.llmSteps()[0]!.warning).toMatch(/not trained for tool use/);
    expect(r.llmSteps()[1]!.warning).toBeUndefined();
  });

  it("each model step carries its speed: time to first token and tokens per second", async () => {
    server = await startScriptedOpenAiServer({
      script: [
        turn.text("The quick brown fox jumps over the lazy dog, twice over.", {
          chunkSize: 4,
          chunkDelayMs: 15,
          delayMs: 60,
          usage: { promptTokens: 30, completionTokens: 14 },
        }),
      ],
      models: [small],
    });
    const r = recorder();
    await run({ kind: "lmstudio", baseUrl: server.baseUrl }, small.id, r, false);
    const speed = r.llmSteps()[0]!.speed!;
    expect(speed.timeToFirstTokenMs).toBeGreaterThanOrEqual(55);
    // 14 tokens over ~14 chunk gaps of 15 ms: tens of tokens a second, not thousands.
    expect(speed.tokensPerSecond).toBeGreaterThan(20);
    expect(speed.tokensPerSecond).toBeLessThan(200);
  });
});
