import type { ToolResult } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../llm/types.ts";
import { runAgent } from "./run-agent.ts";
import { RecordingLlmClient } from "./testing/recording-llm-client.ts";
import { nameToolsForModel } from "./tool-names.ts";
import type { LlmStep, RunStep } from "./types.ts";

/**
 * Issue 19: the reasoning an adapter hands over is kept on the model's step (the transcript) and on
 * the assistant turn (the adapter sends it back to the server that produced it: DeepSeek's thinking
 * mode refuses a tool loop without it), and never becomes the run's output. Found by
 * e2e/llm-quirks.test.ts: the loop used to drop it.
 */
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
const web1: ToolResult = { content: [{ type: "text", text: "web1\n" }], isError: false, durationMs: 1 };
const ORIGIN = "http://127.0.0.1:8000/v1";

describe("runAgent with a reasoning model", () => {
  it("keeps reasoning on the step and the assistant turn, out of the output", async () => {
    const client = new RecordingLlmClient([
      {
        text: "",
        toolCalls: [{ id: "c1", name: "read_file", arguments: '{"path":"/etc/hostname"}' }],
        reasoning: { text: "The host name is in /etc/hostname.", field: "reasoning_content", origin: ORIGIN },
        usage: { promptTokens: 20, completionTokens: 30, reasoningTokens: 25 },
      },
      { text: "The host is web1.", reasoning: { text: "It says web1." } },
    ]);
    const steps: RunStep[] = [];
    const result = await runAgent({
      runId: "r1",
      prompt: "What is the host name?",
      models: [{ providerName: "deepseek", client, model: "deepseek-reasoner" }],
      tools,
      router: { call: async () => web1 },
      steps: { step: async (s) => void steps.push(s) },
      maxSteps: 4,
      signal: new AbortController().signal,
    });
    expect(result).toMatchObject({ status: "succeeded", output: "The host is web1." });
    const llm = steps.filter((s): s is LlmStep => s.type === "llm");
    expect(llm.map((s) => s.reasoning)).toEqual(["The host name is in /etc/hostname.", "It says web1."]);
    expect(llm[0]!.usage).toEqual({ promptTokens: 20, completionTokens: 30, reasoningTokens: 25 });
    expect(llm[1]!.text).toBe("The host is web1.");
    // The second request carries the first turn's reasoning, with the field and server it came from.
    const assistant = client.requests[1]!.messages.filter(
      (m): m is Extract<ChatMessage, { role: "assistant" }> => m.role === "assistant",
    );
    expect(assistant).toEqual([
      {
        role: "assistant",
        content: "",
        toolCalls: [{ id: "c1", name: "read_file", arguments: '{"path":"/etc/hostname"}' }],
        reasoning: { text: "The host name is in /etc/hostname.", field: "reasoning_content", origin: ORIGIN },
      },
    ]);
  });

  it("a model without reasoning: no reasoning field on its steps or turns", async () => {
    const client = new RecordingLlmClient([
      { text: "", toolCalls: [{ id: "c1", name: "read_file", arguments: '{"path":"/etc/hostname"}' }] },
      { text: "web1" },
    ]);
    const steps: RunStep[] = [];
    await runAgent({
      runId: "r2",
      prompt: "Host?",
      models: [{ providerName: "local", client, model: "m" }],
      tools,
      router: { call: async () => web1 },
      steps: { step: async (s) => void steps.push(s) },
      maxSteps: 4,
      signal: new AbortController().signal,
    });
    for (const step of steps) expect("reasoning" in step).toBe(false);
    expect(client.requests[1]!.messages.some((m) => "reasoning" in m)).toBe(false);
  });
});
