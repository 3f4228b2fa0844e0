import { createServer } from "node:net";
import type { ToolResult } from "@fabricore/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { createLlmClient } from "../llm/create-llm-client.ts";
import { turn } from "../llm/testing/script.ts";
import { type ScriptedOpenAiServer, startScriptedOpenAiServer } from "../llm/testing/scripted-openai-server.ts";
import { runAgent } from "./run-agent.ts";
import { nameToolsForModel } from "./tool-names.ts";
import type { AgentEvent, RunStep, ToolRouter } from "./types.ts";

/** The loop with the real LM Studio adapter over HTTP, against the scripted server. */

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
const files: Record<string, string> = { "/etc/motd": "Welcome to web1" };
const router: ToolRouter = {
  async call(_tool, args): Promise<ToolResult> {
    const content = files[String(args.path)];
    return content === undefined
      ? { content: [{ type: "text", text: `ENOENT: ${String(args.path)}` }], isError: true, durationMs: 1 }
      : { content: [{ type: "text", text: content }], isError: false, durationMs: 1 };
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
    sink: { step: async (s: RunStep) => void steps.push(s), event: (e: AgentEvent) => void events.push(e) },
  };
}

describe("runAgent against the scripted LM Studio", () => {
  it("calls read_file with the path, then answers with what the tool returned", async () => {
    server = await startScriptedOpenAiServer({
      script: (req) => {
        const messages = (req.body as { messages: Array<{ role: string; content: string }> }).messages;
        const toolResult = messages.find((m) => m.role === "tool");
        return toolResult
          ? turn.text(`The file says: ${toolResult.content}`)
          : turn.toolCalls([{ name: "read_file", arguments: { path: "/etc/motd" } }]);
      },
    });
    const client = createLlmClient({ kind: "lmstudio", baseUrl: server.baseUrl });
    const r = recorder();
    const result = await runAgent({
      runId: "r1",
      prompt: "What does /etc/motd say?",
      models: [{ providerName: "local", client, model: "qwen2.5-7b-instruct" }],
      tools,
      router,
      steps: r.sink,
      maxSteps: 5,
      signal: new AbortController().signal,
    });
    expect(result.status).toBe("succeeded");
    expect(result.output).toBe("The file says: Welcome to web1");
    expect(result.usage.promptTokens).toBeGreaterThan(0);
    expect(r.steps.map((s) => s.type)).toEqual(["llm", "tool", "llm"]);
    expect(server.chatRequests()).toHaveLength(2);
  });

  it("falls back from an unreachable LM Studio to the next provider", async () => {
    server = await startScriptedOpenAiServer({
      script: [turn.text("from the fallback")],
      models: [{ id: "gpt-4o-mini" }],
    });
    const port = await closedPort();
    const r = recorder();
    const result = await runAgent({
      runId: "r2",
      prompt: "hello",
      models: [
        {
          providerName: "local",
          client: createLlmClient({ kind: "lmstudio", baseUrl: `http://127.0.0.1:${port}/v1` }),
          model: "qwen",
        },
        {
          providerName: "openai",
          client: createLlmClient({ kind: "openai-compatible", baseUrl: server.baseUrl, apiKey: "sk-test" }),
          model: "gpt-4o-mini",
        },
      ],
      tools,
      router,
      steps: r.sink,
      maxSteps: 5,
      signal: new AbortController().signal,
    });
    expect(result).toMatchObject({ status: "succeeded", output: "from the fallback" });
    expect(r.steps[0]).toMatchObject({
      type: "llm",
      provider: "local",
      errorCode: "connection_failed",
      fallback: { provider: "openai" },
    });
  });

  it("cancel mid-stream aborts the HTTP request in flight", async () => {
    server = await startScriptedOpenAiServer({ script: [turn.hang("I will now")] });
    const controller = new AbortController();
    const r = recorder();
    const result = await runAgent({
      runId: "r3",
      prompt: "hello",
      models: [
        {
          providerName: "local",
          client: createLlmClient({ kind: "lmstudio", baseUrl: server.baseUrl }),
          model: "qwen2.5-7b-instruct",
        },
      ],
      tools,
      router,
      steps: { ...r.sink, event: (e) => e.type === "text_delta" && controller.abort() },
      maxSteps: 5,
      signal: controller.signal,
    });
    expect(result.status).toBe("cancelled");
    const s = server;
    await expect.poll(() => s.chatRequests()[0]!.aborted).toBe(true);
  });
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
