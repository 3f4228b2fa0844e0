import { ProtocolError, type ToolResult } from "@fabricore/protocol";
import { describe, expect, it, vi } from "vitest";
import { LlmError } from "../llm/errors.ts";
import type { ChatMessage } from "../llm/types.ts";
import { runAgent } from "./run-agent.ts";
import { type FakeReply, RecordingLlmClient } from "./testing/recording-llm-client.ts";
import { nameToolsForModel } from "./tool-names.ts";
import type { AgentEvent, AgentTool, RunAgentOptions, RunStep, ToolRouter } from "./types.ts";

const { tools } = nameToolsForModel([
  {
    nodeId: "n1",
    nodeName: "web1",
    name: "read_file",
    source: "builtin",
    description: "Read a file",
    inputSchema: {
      type: "object",
      properties: { path: { type: "string" }, maxBytes: { type: "integer" } },
      required: ["path"],
      additionalProperties: false,
    },
  },
  {
    nodeId: "n1",
    nodeName: "web1",
    name: "system_stats",
    source: "builtin",
    description: "Stats",
    inputSchema: { type: "object", properties: {} },
  },
]);

const text = (t: string): ToolResult => ({ content: [{ type: "text", text: t }], isError: false, durationMs: 1 });

class FakeRouter implements ToolRouter {
  readonly calls: Array<{ tool: string; args: Record<string, unknown>; callId: string; deadlineMs: number }> = [];
  running = 0;
  maxRunning = 0;
  private readonly impl: (tool: AgentTool, args: Record<string, unknown>, signal: AbortSignal) => Promise<ToolResult>;
  constructor(impl?: (tool: AgentTool, args: Record<string, unknown>, signal: AbortSignal) => Promise<ToolResult>) {
    this.impl = impl ?? (async (tool, args) => text(`${tool.name}(${JSON.stringify(args)}) ok`));
  }
  async call(
    tool: AgentTool,
    args: Record<string, unknown>,
    opts: { signal: AbortSignal; deadlineMs: number; callId: string },
  ) {
    this.calls.push({ tool: tool.name, args, callId: opts.callId, deadlineMs: opts.deadlineMs });
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      return await this.impl(tool, args, opts.signal);
    } finally {
      this.running--;
    }
  }
}

function sink() {
  const steps: RunStep[] = [];
  const events: AgentEvent[] = [];
  return {
    steps,
    events,
    sink: { step: async (s: RunStep) => void steps.push(s), event: (e: AgentEvent) => void events.push(e) },
  };
}

function options(
  over: Partial<RunAgentOptions> & Pick<RunAgentOptions, "models">,
): RunAgentOptions & { recorded: ReturnType<typeof sink> } {
  const recorded = sink();
  let clock = 0;
  return {
    runId: "run1",
    prompt: "Check the server.",
    tools,
    router: new FakeRouter(),
    steps: recorded.sink,
    maxSteps: 10,
    signal: new AbortController().signal,
    now: () => (clock += 5),
    ...over,
    recorded,
  };
}

const model = (
  name: string,
  script: FakeReply[] | ((r: import("../llm/types.ts").ChatRequest, i: number) => FakeReply),
) => {
  const client = new RecordingLlmClient(script);
  return { client, entry: { providerName: name, client, model: `${name}-model` } };
};

const toolMessages = (messages: ChatMessage[]) =>
  messages.filter((m): m is Extract<ChatMessage, { role: "tool" }> => m.role === "tool");

describe("runAgent", () => {
  it("calls a tool through the router, returns the result to the model, and finishes with its answer", async () => {
    const m = model("lmstudio", [
      { text: "Reading.", toolCalls: [{ id: "c1", name: "read_file", arguments: '{"path":"/etc/hostname"}' }] },
      { text: "The hostname is web1.", usage: { promptTokens: 30, completionTokens: 7 } },
    ]);
    const router = new FakeRouter(async () => text("web1\n"));
    const o = options({ models: [m.entry], router, input: { ticket: 42 }, system: "Be brief." });
    const result = await runAgent(o);
    expect(result).toEqual({
      status: "succeeded",
      output: "The hostname is web1.",
      usage: { promptTokens: 40, completionTokens: 12 },
      turns: 2,
    });
    expect(router.calls).toEqual([
      { tool: "read_file", args: { path: "/etc/hostname" }, callId: "run1:1:c1", deadlineMs: 120_000 },
    ]);
    const first = m.client.requests[0]!;
    expect(first.messages[0]).toEqual({ role: "system", content: "Be brief." });
    expect(first.messages[1]!.content).toContain('"ticket": 42');
    expect(first.tools!.map((t) => t.name)).toEqual(["read_file", "system_stats"]);
    expect(toolMessages(m.client.requests[1]!.messages)).toEqual([
      { role: "tool", toolCallId: "c1", toolName: "read_file", content: "web1\n" },
    ]);
    expect(o.recorded.steps.map((s) => s.type)).toEqual(["llm", "tool", "llm"]);
    expect(o.recorded.steps[1]).toMatchObject({
      type: "tool",
      tool: "read_file",
      node: "web1",
      arguments: { path: "/etc/hostname" },
      isError: false,
      callId: "run1:1:c1",
      durationMs: 5,
    });
    expect(o.recorded.steps[0]).toMatchObject({
      type: "llm",
      provider: "lmstudio",
      model: "lmstudio-model",
      usage: { promptTokens: 10, completionTokens: 5 },
      finishReason: "tool_calls",
    });
    expect(
      o.recorded.events
        .filter((e) => e.type === "text_delta")
        .map((e) => (e as { text: string }).text)
        .join(""),
    ).toBe("Reading.The hostname is web1.");
    expect(o.recorded.events.some((e) => e.type === "tool_call_started" && e.callId === "run1:1:c1")).toBe(true);
  });

  it("falls back to the next model on a fallbackable error, records the attempt, and stays on the fallback", async () => {
    const primary = model("lmstudio", [
      { error: new LlmError("connection_failed", "cannot reach http://127.0.0.1:1234/v1: ECONNREFUSED") },
    ]);
    const backup = model("openai", [{ text: "", toolCalls: [{ name: "system_stats" }] }, { text: "All good." }]);
    const o = options({ models: [primary.entry, backup.entry] });
    const result = await runAgent(o);
    expect(result.status).toBe("succeeded");
    expect(result.output).toBe("All good.");
    expect(primary.client.requests).toHaveLength(1);
    expect(backup.client.requests).toHaveLength(2);
    expect(o.recorded.steps[0]).toMatchObject({
      type: "llm",
      provider: "lmstudio",
      errorCode: "connection_failed",
      error: expect.stringContaining("ECONNREFUSED"),
      fallback: { provider: "openai", model: "openai-model" },
    });
    expect(o.recorded.steps[1]).toMatchObject({ type: "llm", provider: "openai" });
    expect(
      o.recorded.events
        .filter((e) => e.type === "model_attempt_started")
        .map((e) => (e as { provider: string }).provider),
    ).toEqual(["lmstudio", "openai", "openai"]);
  });

  it("fails on an invalid request without trying the fallback, with the provider's message", async () => {
    const primary = model("lmstudio", [
      { error: new LlmError("invalid_request", "<LM Studio error> context overflow", { status: 400 }) },
    ]);
    const backup = model("openai", [{ text: "never" }]);
    const o = options({ models: [primary.entry, backup.entry] });
    const result = await runAgent(o);
    expect(result).toMatchObject({
      status: "failed",
      error: "lmstudio/lmstudio-model: <LM Studio error> context overflow",
    });
    expect(backup.client.requests).toHaveLength(0);
    expect(o.recorded.steps).toHaveLength(1);
    expect(o.recorded.steps[0]).not.toHaveProperty("fallback");
  });

  it("fails with the last error when every model fails", async () => {
    const a = model("a", [{ error: new LlmError("server_error", "boom", { status: 500 }) }]);
    const b = model("b", [{ error: new LlmError("timeout", "silent for 120000 ms") }]);
    const result = await runAgent(options({ models: [a.entry, b.entry] }));
    expect(result.status).toBe("failed");
    expect(result.error).toBe("every model failed; the last one said b/b-model: silent for 120000 ms");
  });

  it("returns bad arguments, unknown tools and unreadable requests to the model, which recovers", async () => {
    const m = model("lmstudio", [
      {
        text: "",
        toolCalls: [
          { id: "a", name: "read_file", arguments: '{"path": "/etc/hostname"' },
          { id: "b", name: "read_file", arguments: '{"maxBytes": "ten"}' },
          { id: "c", name: "delete_everything", arguments: "{}" },
          { id: "d", name: "read_file", arguments: '{"path":"/x","mode":"rw"}' },
          { id: "e", name: "", arguments: "[TOOL_REQUEST]{", parseError: "could not parse the tool request as JSON" },
        ],
      },
      { text: "", toolCalls: [{ id: "f", name: "read_file", arguments: '"{\\"path\\": \\"/etc/hostname\\"}"' }] },
      { text: "web1" },
    ]);
    const router = new FakeRouter(async () => text("web1"));
    const o = options({ models: [m.entry], router });
    const result = await runAgent(o);
    expect(result).toMatchObject({ status: "succeeded", output: "web1" });
    // Only the corrected call reached a Node (its double-encoded arguments were accepted).
    expect(router.calls.map((c) => c.args)).toEqual([{ path: "/etc/hostname" }]);
    const errors = toolMessages(m.client.requests[1]!.messages);
    expect(errors.map((e) => e.isError)).toEqual([true, true, true, true, true]);
    expect(errors[0]!.content).toMatch(/^Error: The arguments are not valid JSON/);
    expect(errors[1]!.content).toContain('missing required "path"');
    expect(errors[1]!.content).toContain('"maxBytes" must be integer, got a string');
    expect(errors[2]!.content).toContain(
      'There is no tool named "delete_everything". Available tools: read_file, system_stats',
    );
    expect(errors[3]!.content).toContain('unknown argument "mode"');
    expect(errors[4]!.content).toContain("could not be understood");
    const toolSteps = o.recorded.steps.filter((s) => s.type === "tool");
    expect(toolSteps.map((s) => s.isError)).toEqual([true, true, true, true, true, false]);
  });

  it("runs parallel calls concurrently (bounded) and returns the results in call order", async () => {
    const delays: Record<string, number> = { "/a": 60, "/b": 10, "/c": 30, "/d": 5 };
    const router = new FakeRouter(async (_t, args) => {
      await new Promise((r) => setTimeout(r, delays[String(args.path)]));
      return text(`content of ${String(args.path)}`);
    });
    const m = model("lmstudio", [
      {
        text: "",
        toolCalls: ["/a", "/b", "/c", "/d"].map((p, i) => ({
          id: `p${i}`,
          name: "read_file",
          arguments: JSON.stringify({ path: p }),
        })),
      },
      { text: "done" },
    ]);
    const o = options({ models: [m.entry], router, toolConcurrency: 2 });
    await runAgent(o);
    expect(router.maxRunning).toBe(2);
    expect(toolMessages(m.client.requests[1]!.messages).map((t) => [t.toolCallId, t.content])).toEqual([
      ["p0", "content of /a"],
      ["p1", "content of /b"],
      ["p2", "content of /c"],
      ["p3", "content of /d"],
    ]);
    expect(o.recorded.steps.filter((s) => s.type === "tool").map((s) => (s as { callId: string }).callId)).toEqual([
      "run1:1:p0",
      "run1:1:p1",
      "run1:1:p2",
      "run1:1:p3",
    ]);
  });

  it("cuts a huge tool output to the cap, saying so, in the message and the stored step", async () => {
    const huge = `BEGIN${"x".repeat(200_000)}END`;
    const m = model("lmstudio", [
      { text: "", toolCalls: [{ name: "read_file", arguments: '{"path":"/big"}' }] },
      { text: "it is big" },
    ]);
    const o = options({ models: [m.entry], router: new FakeRouter(async () => text(huge)), maxToolOutputChars: 5_000 });
    await runAgent(o);
    const shown = toolMessages(m.client.requests[1]!.messages)[0]!.content;
    expect(shown.length).toBeLessThanOrEqual(5_000);
    expect(shown.startsWith("BEGIN")).toBe(true);
    expect(shown.endsWith("END")).toBe(true);
    expect(shown).toMatch(/characters cut here: the tool output exceeded the 5000-character limit/);
    const step = o.recorded.steps.find((s) => s.type === "tool")!;
    expect(step).toMatchObject({ truncated: true });
  });

  it("tells the model when a Node is offline, and carries on", async () => {
    const m = model("lmstudio", [
      { text: "", toolCalls: [{ name: "system_stats" }] },
      { text: "The node is offline." },
    ]);
    const router = new FakeRouter(async () => {
      throw new ProtocolError("node_offline", "node web1 is offline");
    });
    const result = await runAgent(options({ models: [m.entry], router }));
    expect(result.status).toBe("succeeded");
    expect(toolMessages(m.client.requests[1]!.messages)[0]!.content).toBe("Error: node_offline: node web1 is offline");
  });

  it("stops at maxSteps with a clear reason and the last text", async () => {
    const m = model("lmstudio", (_r, i) => ({
      text: `checking ${i}`,
      toolCalls: [{ name: "read_file", arguments: `{"path":"/log${i}"}` }],
    }));
    const result = await runAgent(options({ models: [m.entry], maxSteps: 3 }));
    expect(result).toMatchObject({ status: "failed", output: "checking 2", turns: 3 });
    expect(result.error).toMatch(/stopped after 3 steps \(the job's maxSteps\)/);
    expect(m.client.requests).toHaveLength(3);
  });

  it("cancel mid-stream aborts the model request and ends cancelled", async () => {
    const controller = new AbortController();
    const m = model("lmstudio", [{ hangAfter: "Let me" }]);
    const backup = model("openai", [{ text: "never" }]);
    const o = options({ models: [m.entry, backup.entry], signal: controller.signal });
    o.steps = { ...o.steps, event: (e) => e.type === "text_delta" && controller.abort() };
    const result = await runAgent(o);
    expect(result.status).toBe("cancelled");
    expect(backup.client.requests).toHaveLength(0);
    expect(o.recorded.steps[0]).toMatchObject({ type: "llm", errorCode: "cancelled" });
  });

  it("cancel during a tool call ends cancelled without another model turn", async () => {
    const controller = new AbortController();
    const m = model("lmstudio", [{ text: "", toolCalls: [{ name: "system_stats" }] }, { text: "never" }]);
    const router = new FakeRouter(
      (_t, _a, signal) =>
        new Promise((_resolve, reject) => {
          setTimeout(() => controller.abort(), 10);
          signal.addEventListener("abort", () => reject(new ProtocolError("cancelled", "cancelled")));
        }),
    );
    const result = await runAgent(options({ models: [m.entry], router, signal: controller.signal }));
    expect(result.status).toBe("cancelled");
    expect(m.client.requests).toHaveLength(1);
  });

  it("keeps the conversation within the context budget by removing the oldest tool outputs", async () => {
    const m = model("lmstudio", (_r, i) =>
      i < 4
        ? { text: "", toolCalls: [{ id: `k${i}`, name: "read_file", arguments: `{"path":"/f${i}"}` }] }
        : { text: "summary" },
    );
    const router = new FakeRouter(async (_t, args) => text(`${String(args.path)}:${"y".repeat(3_000)}`));
    await runAgent(options({ models: [m.entry], router, contextTokens: 4_000 }));
    const last = toolMessages(m.client.requests[4]!.messages);
    expect(last).toHaveLength(4);
    expect(last[0]!.content).toMatch(
      /^\[tool output removed to keep the conversation within the model's context length/,
    );
    // The newest output, the one the model is about to read, is intact.
    expect(last[3]!.content.startsWith("/f3:")).toBe(true);
    expect(last[3]!.content.length).toBe(3_004);
  });

  it("fails clearly on an empty answer", async () => {
    const m = model("lmstudio", [{ text: "" }]);
    const result = await runAgent(options({ models: [m.entry] }));
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(/empty answer/);
  });

  it("turns a throwing step store into a failed run instead of an exception", async () => {
    const m = model("lmstudio", [{ text: "hi" }]);
    const o = options({ models: [m.entry] });
    o.steps = { step: async () => Promise.reject(new Error("disk full")) };
    await expect(runAgent(o)).resolves.toMatchObject({ status: "failed", error: "internal error: disk full" });
  });
});

describe("runAgent budgets (the model is not trusted to stop)", () => {
  it("maxTokens: over the budget the run fails with the reason, no further model call, no tool run", async () => {
    // 60 tokens a turn: the second answer brings the total to 120, over 100.
    const m = model("lmstudio", (_r, i) => ({
      text: `looking ${i}`,
      toolCalls: [{ name: "read_file", arguments: `{"path":"/log${i}"}` }],
      usage: { promptTokens: 50, completionTokens: 10 },
    }));
    const router = new FakeRouter();
    const result = await runAgent(options({ models: [m.entry], router, maxTokens: 100 }));
    expect(result).toMatchObject({
      status: "failed",
      output: "looking 1",
      usage: { promptTokens: 100, completionTokens: 20 },
      turns: 2,
    });
    expect(result.error).toMatch(/token budget exceeded: the run used 120 tokens/);
    expect(result.error).toMatch(/budget\.maxTokens of 100; no further model call was made/);
    expect(result.error).toMatch(/1 tool call\(s\) of the last turn were not run/);
    expect(m.client.requests).toHaveLength(2);
    // Only the first turn's call ran; the turn that crossed the budget ran none.
    expect(router.calls.map((c) => c.args.path)).toEqual(["/log0"]);
  });

  it("maxTokens: a final answer in the turn that crosses the budget is kept as output, the run fails", async () => {
    const m = model("lmstudio", [{ text: "Done: disk 40% full.", usage: { promptTokens: 90, completionTokens: 20 } }]);
    const result = await runAgent(options({ models: [m.entry], maxTokens: 100 }));
    expect(result).toMatchObject({ status: "failed", output: "Done: disk 40% full." });
    expect(result.error).toMatch(/token budget exceeded/);
  });

  it("maxTokens: a run within the budget is unaffected", async () => {
    const m = model("lmstudio", [{ text: "ok", usage: { promptTokens: 90, completionTokens: 10 } }]);
    expect(await runAgent(options({ models: [m.entry], maxTokens: 100 }))).toMatchObject({ status: "succeeded" });
  });

  it("maxSeconds: a hanging model request is aborted and the run fails with the reason (not cancelled)", async () => {
    const m = model("lmstudio", [{ hangAfter: "Thinking" }]);
    const backup = model("openai", [{ text: "never" }]);
    const started = Date.now();
    const result = await runAgent(options({ models: [m.entry, backup.entry], maxSeconds: 0.1 }));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(/time budget exceeded: .*budget\.maxSeconds of 0\.1 s/);
    // Aborted, not failed over: the budget covers the whole run, not one model.
    expect(backup.client.requests).toHaveLength(0);
    expect(m.client.requests).toHaveLength(1);
  });

  it("maxSeconds: a tool call in flight is aborted, its step says why, and the model is not asked again", async () => {
    const m = model("lmstudio", [{ text: "", toolCalls: [{ name: "system_stats" }] }, { text: "never" }]);
    let aborted = false;
    const router = new FakeRouter(
      (_t, _a, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener("abort", () => {
            aborted = true;
            reject(new ProtocolError("cancelled", "cancelled"));
          });
        }),
    );
    const o = options({ models: [m.entry], router, maxSeconds: 0.1 });
    const result = await runAgent(o);
    expect(aborted).toBe(true);
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(/time budget exceeded/);
    expect(m.client.requests).toHaveLength(1);
    const toolStep = o.recorded.steps.find((s) => s.type === "tool");
    expect(toolStep).toMatchObject({ isError: true });
    expect(JSON.stringify(toolStep)).toMatch(
      /the call was aborted: the run's time budget \(budget\.maxSeconds\) ran out/,
    );
  });

  it("maxSeconds: the budget's timer lives as long as the run, not as long as the budget", async () => {
    // An hour's budget on a run that takes a moment must not leave an hour's timer (and the
    // signals tied to it) behind: at 1,000 runs a minute that was 45 MiB of heap in the soak.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      let armedDuringRun = -1;
      const router = new FakeRouter(async (tool) => {
        armedDuringRun = vi.getTimerCount();
        return text(`${tool.name} ok`);
      });
      const m = model("lmstudio", [{ text: "", toolCalls: [{ name: "system_stats" }] }, { text: "done" }]);
      expect(await runAgent(options({ models: [m.entry], router, maxSeconds: 3600 }))).toMatchObject({
        status: "succeeded",
      });
      expect(armedDuringRun).toBe(1);
      expect(vi.getTimerCount()).toBe(0);
      // A run that ends by throwing inside the loop clears it too.
      const broken = options({ models: [model("lmstudio", [{ text: "done" }]).entry], maxSeconds: 3600 });
      broken.steps = { ...broken.steps, step: async () => Promise.reject(new Error("disk full")) };
      expect(await runAgent(broken)).toMatchObject({ status: "failed" });
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("maxSeconds: a cancel before the budget runs out is still a cancel", async () => {
    const controller = new AbortController();
    const m = model("lmstudio", [{ hangAfter: "x" }]);
    const o = options({ models: [m.entry], signal: controller.signal, maxSeconds: 60 });
    o.steps = { ...o.steps, event: (e) => e.type === "text_delta" && controller.abort("cancelled by a user") };
    expect(await runAgent(o)).toMatchObject({ status: "cancelled" });
  });
});
