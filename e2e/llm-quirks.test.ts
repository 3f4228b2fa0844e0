/**
 * Issue 19's wire quirks end to end: the real Core, one compiled Node and the scripted
 * OpenAI-compatible server speaking each server's own bytes (core/src/llm/testing/server-dialects.ts:
 * SSE `data:` lines, llama.cpp's `error:` line, its 500 "Cannot use tools with stream"). One job per
 * quirk whose model reads a file on the Node; checked through the HTTP API, as the UI sees it:
 * - the tool ran on the Node with the right arguments;
 * - neither the run's output nor any step's text holds reasoning or markup (`<think>`,
 *   `<tool_call>`, `<function=`, `[TOOL_REQUEST]`, `[object Object]`);
 * - the reasoning is on the model's step (`reasoning`), and DeepSeek got it back on the next turn;
 * - llama.cpp's mid-stream error is the run's error; a refused streamed tool turn is retried
 *   unstreamed and remembered for the next run;
 * - the Core logs one structured line per run outcome.
 * Each quirk runs streamed and, where the server can answer whole, with `streamToolTurns: false`.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RecordedRequest, type Turn, turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
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
} from "@fabricore/core/llm/testing/server-dialects.ts";
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

const MODEL = "qwen3-coder-30b-a3b-instruct";
const readRoot = tempDir("quirks-files");
const FILE = join(readRoot, "hostname");
writeFileSync(FILE, "web1\n");
const READ = { name: "read_file", arguments: { path: FILE } };
const ANSWER = "The host is web1.";
const THOUGHT = "The user wants the host name; it is in the hostname file.";
const SECOND_THOUGHT = "The file says web1, so that is the answer.";
const MARKUP = ["<think>", "</think>", "<tool_call>", "<function=", "[TOOL_REQUEST]", "[object Object]"];

type ServerName = "local" | "deepseek" | "old-llama" | "strict";

interface Quirk {
  name: string;
  server?: ServerName;
  /** The model's first turn (it reads FILE) and its answer once it has the result. */
  first: Turn;
  final: Turn;
  /** Reasoning expected on the first and the second model step. */
  reasoning?: [string, string];
  /** Extra checks on the finished run and this run's chat requests. */
  check?: (run: any, chats: RecordedRequest[]) => void;
}

const assistantTurns = (chat: RecordedRequest) =>
  ((chat.body as { messages: Array<Record<string, unknown>> }).messages ?? []).filter((m) => m.role === "assistant");

const quirks: Quirk[] = [
  {
    name: "Hermes <tool_call> JSON in the content",
    first: hermesToolCallTurn([READ], "Let me look."),
    final: turn.text(ANSWER),
  },
  { name: "Qwen3-Coder <function=> XML in the content", first: qwenCoderXmlTurn([READ]), final: turn.text(ANSWER) },
  { name: "LM Studio [TOOL_REQUEST] in the content", first: turn.toolRequest([READ]), final: turn.text(ANSWER) },
  {
    name: "<think> tags in the content (R1 distill: the last one opened in the prompt)",
    first: thinkTagsTurn({ reasoning: THOUGHT, calls: [READ] }),
    final: thinkTagsTurn({ reasoning: SECOND_THOUGHT, text: ANSWER, openedInPrompt: true }),
    reasoning: [THOUGHT, SECOND_THOUGHT],
  },
  {
    name: "reasoning_content deltas (LM Studio, vLLM, Qwen)",
    first: reasoningContentTurn({ reasoning: THOUGHT, calls: [READ] }),
    final: reasoningContentTurn({ reasoning: SECOND_THOUGHT, text: ANSWER }),
    reasoning: [THOUGHT, SECOND_THOUGHT],
    check: (run) => expect(llmSteps(run)[0].usage.reasoningTokens).toBe(50),
  },
  {
    name: "reasoning deltas (gpt-oss, Ollama, xAI)",
    first: reasoningTurn({ reasoning: THOUGHT, calls: [READ] }),
    final: reasoningTurn({ reasoning: SECOND_THOUGHT, text: ANSWER }),
    reasoning: [THOUGHT, SECOND_THOUGHT],
  },
  {
    name: "Mistral content as an array of text and thinking parts",
    first: mistralThinkingTurn({ reasoning: THOUGHT, calls: [READ] }),
    final: mistralThinkingTurn({ reasoning: SECOND_THOUGHT, text: ANSWER }),
    reasoning: [THOUGHT, SECOND_THOUGHT],
  },
  {
    name: "an empty nameless call after the answer (LM Studio #830)",
    first: turn.toolCalls([READ]),
    final: phantomCallTurn(ANSWER),
    check: (run) => {
      expect(llmSteps(run)[1]).toMatchObject({ finishReason: "stop", text: ANSWER });
      expect(llmSteps(run)[1].toolCalls).toBeUndefined();
    },
  },
  {
    name: "a half-written <tool_call> before the real call (llama.cpp + Qwen3-Coder)",
    first: leakedCallFragmentTurn([READ], "Checking the file."),
    final: turn.text(ANSWER),
    check: (run, chats) => {
      expect(llmSteps(run)[0].text).toBe("Checking the file.");
      // What went back to the server as the model's own turn has no fragment either.
      expect(assistantTurns(chats[1]!)[0]!.content).toBe("Checking the file.");
    },
  },
  {
    name: "DeepSeek thinking mode: reasoning_content sent back on the next turn",
    server: "deepseek",
    first: reasoningContentTurn({ reasoning: THOUGHT, calls: [READ] }),
    final: reasoningContentTurn({ reasoning: SECOND_THOUGHT, text: ANSWER }),
    reasoning: [THOUGHT, SECOND_THOUGHT],
    check: (_run, chats) => {
      expect(chats).toHaveLength(2);
      expect(assistantTurns(chats[1]!)).toMatchObject([{ reasoning_content: THOUGHT }]);
    },
  },
];

let core: CoreHandle;
let api: ApiClient;
let node: NodeProc;
let nodeId: string;
const servers = {} as Record<ServerName, ScriptedOpenAiServer>;
interface Planned {
  first: Turn;
  final: Turn;
  /** The answer on a given server instead of `final` (a fallback model's). */
  finalOn?: Partial<Record<ServerName, Turn>>;
}
/** What each task's model does: keyed by the `TASK:` tag in the prompt. */
const scripts = new Map<string, Planned>();
const runIds: string[] = [];

function script(request: RecordedRequest): Turn {
  const messages = (request.body as { messages: Array<{ role: string; content?: unknown }> }).messages;
  const user = String(messages.find((m) => m.role === "user")?.content ?? "");
  const task = /TASK:(\S+)/.exec(user)?.[1] ?? "";
  const planned = scripts.get(task);
  if (!planned) return turn.error(500, `no script for task ${task}`);
  if (!messages.some((m) => m.role === "tool")) return planned.first;
  const server = (Object.keys(servers) as ServerName[]).find(
    (n) => request.headers.host === `127.0.0.1:${servers[n].port}`,
  );
  return (server && planned.finalOn?.[server]) || planned.final;
}

const llmSteps = (run: { steps: Array<{ type: string }> }) => run.steps.filter((s) => s.type === "llm") as any[];
const toolSteps = (run: { steps: Array<{ type: string }> }) => run.steps.filter((s) => s.type === "tool") as any[];
const chatsOf = (server: ServerName, task: string) =>
  servers[server].chatRequests().filter((r) => JSON.stringify(r.body).includes(`TASK:${task} `));

async function runTask(provider: string, task: string, planned: Planned, fallback?: string) {
  scripts.set(task, planned);
  const job = await api.ok("POST", "/api/jobs", {
    name: `quirk-${task}`,
    prompt: `TASK:${task} What is this server's host name?`,
    model: { provider, model: MODEL },
    ...(fallback ? { fallbacks: [{ provider: fallback, model: MODEL }] } : {}),
    nodes: [nodeId],
    tools: ["read_file"],
    maxSteps: 4,
  });
  const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
  runIds.push(runId);
  return api.waitRun(runId);
}

/** The tool ran once on the Node with the model's arguments, and nothing shown holds markup. */
function expectClean(run: any) {
  expect(run, run.error).toMatchObject({ status: "succeeded", output: ANSWER });
  expect(toolSteps(run)).toHaveLength(1);
  expect(toolSteps(run)[0]).toMatchObject({
    tool: "read_file",
    nodeId,
    node: "web1",
    isError: false,
    arguments: { path: FILE },
  });
  expect(toolSteps(run)[0].result.content[0].text).toBe("web1\n");
  const shown = [run.output, ...llmSteps(run).map((s) => s.text ?? "")].join("\n");
  for (const markup of MARKUP) expect(shown).not.toContain(markup);
}

beforeAll(async () => {
  ensureNodeBinary();
  const models = [{ id: MODEL, loaded: true, contextLength: 32768, toolUse: true }];
  servers.local = await startScriptedOpenAiServer({ script, models, nativeApi: "none" });
  servers.deepseek = await startScriptedOpenAiServer({
    script,
    models,
    nativeApi: "none",
    reasoningReplay: "required",
  });
  servers["old-llama"] = await startScriptedOpenAiServer({
    script,
    models,
    nativeApi: "none",
    refuseStreamWithTools: true,
  });
  // OpenAI and Mistral validate message fields: a reasoning field on a turn is a 400.
  servers.strict = await startScriptedOpenAiServer({ script, models, nativeApi: "none", reasoningReplay: "rejected" });
  core = await startCore({ env: { FABRICORE_LOG_LEVEL: "info" } });
  api = await new ApiClient(core.url).login();
  for (const name of Object.keys(servers) as ServerName[]) {
    const base = { kind: "openai-compatible", baseUrl: servers[name].baseUrl };
    await api.ok("POST", "/api/providers", { name, ...base });
    await api.ok("POST", "/api/providers", { name: `${name} whole`, ...base, options: { streamToolTurns: false } });
  }
  const created = await api.ok("POST", "/api/nodes", { name: "web1" });
  node = startNode(core.url, created.token, ["--read-root", readRoot, "--log-level", "warn"]);
  nodeId = created.id;
  await api.waitNodeOnline(nodeId);
}, 90_000);

afterEach((context) => {
  if (context.task.result?.state !== "fail") return;
  console.error(`--- Node output (tail) ---\n${node?.output.slice(-3000) ?? ""}`);
  console.error(`--- Core output (tail) ---\n${core?.proc.output.slice(-5000) ?? ""}`);
});

afterAll(async () => {
  await node?.stop();
  await core?.proc.stop();
  for (const server of Object.values(servers)) await server?.close();
  rmSync(readRoot, { recursive: true, force: true });
});

const cases = quirks.flatMap((q, i) =>
  [true, false].map((streamed) => {
    const mode = streamed ? "streamed" : "whole";
    return { ...q, streamed, mode, task: `${i}-${mode}` };
  }),
);

describe("what real servers send, through the Core and a compiled Node", () => {
  it.each(cases)("$name ($mode): the tool ran, the answer is clean", async (q) => {
    const server = q.server ?? "local";
    const run = await runTask(q.streamed ? server : `${server} whole`, q.task, q);
    expectClean(run);
    const chats = chatsOf(server, q.task);
    // Streamed or whole as the provider says, on every turn (each offers the tool).
    expect(chats.map((c) => (c.body as { stream?: boolean }).stream ?? false)).toEqual(chats.map(() => q.streamed));
    if (q.reasoning) expect(llmSteps(run).map((s) => s.reasoning)).toEqual(q.reasoning);
    else for (const step of llmSteps(run)) expect(step.reasoning).toBeUndefined();
    q.check?.(run, chats);
  });

  it("llama.cpp's mid-stream `error:` line: the run fails with the server's own reason", async () => {
    const run = await runTask("local", "llamacpp-error", {
      first: llamaCppStreamErrorTurn(),
      final: turn.text(ANSWER),
    });
    expect(run.status).toBe("failed");
    expect(run.error).toContain("the request exceeds the available context size, try increasing it");
    expect(run.error).not.toContain("without any content");
    expect(llmSteps(run)[0].error).toContain("exceeds the available context size");
    expect(toolSteps(run)).toEqual([]);
  });

  it("a server refusing to stream with tools: the turn is retried unstreamed, and the next run remembers", async () => {
    const planned = { first: turn.toolCalls([READ]), final: turn.text(ANSWER) };
    expectClean(await runTask("old-llama", "refused-1", planned));
    const streamed = (task: string) =>
      chatsOf("old-llama", task).map((c) => (c.body as { stream?: boolean }).stream ?? false);
    // The refused streamed request, the same turn unstreamed, then the answer unstreamed at once.
    expect(streamed("refused-1")).toEqual([true, false, false]);
    expectClean(await runTask("old-llama", "refused-2", planned));
    expect(streamed("refused-2")).toEqual([false, false]);
  });

  it("reasoning goes back only to the server that produced it: a fallback that rejects the field gets none", async () => {
    const run = await runTask(
      "local",
      "fallback",
      {
        first: reasoningContentTurn({ reasoning: THOUGHT, calls: [READ] }),
        final: turn.error(503, "Model is overloaded"),
        finalOn: { strict: turn.text(ANSWER) },
      },
      "strict",
    );
    expectClean(run);
    expect(llmSteps(run).map((s) => [s.provider, s.reasoning, s.fallback?.provider])).toEqual([
      ["local", THOUGHT, undefined],
      ["local", undefined, "strict"],
      ["strict", undefined, undefined],
    ]);
    const [toStrict] = chatsOf("strict", "fallback");
    expect(assistantTurns(toStrict!)).toHaveLength(1);
    expect(assistantTurns(toStrict!)[0]).not.toHaveProperty("reasoning_content");
    expect(assistantTurns(toStrict!)[0]).not.toHaveProperty("reasoning");
  });

  it("the Core logged one structured line per run outcome", async () => {
    const lines = core.proc.output
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg?: string; runId?: string; status?: string; error?: string; level?: number });
    const outcomes = lines.filter((l) => /^run (succeeded|failed|cancelled)$/.test(l.msg ?? ""));
    expect(outcomes.map((l) => l.runId).sort()).toEqual([...runIds].sort());
    const failed = outcomes.filter((l) => l.status === "failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]!.error).toContain("exceeds the available context size");
    // pino's level 40 is warn: a failure stands out from the successes (30, info).
    expect(failed[0]!.level).toBe(40);
    expect(outcomes.filter((l) => l.status === "succeeded").every((l) => l.level === 30)).toBe(true);
  });
});
