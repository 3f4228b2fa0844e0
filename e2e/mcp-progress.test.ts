/**
 * Issue 23's MCP client details, with the real `@modelcontextprotocol/server-everything` on
 * Streamable HTTP (loopback, pass-through) and the compiled Node: every call carries a progress
 * token, so its `trigger-long-running-operation` reports progress, which reaches the run's SSE
 * stream; a call that runs three times the tool deadline but keeps reporting progress succeeds;
 * one that stalls without progress still times out; its task-required `simulate-research-query`
 * is not offered to the model and is named in the server's `skippedTools`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { readEvents } from "@fabricore/core/testing/sse.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  freePort,
  type NodeProc,
  startCore,
  startNode,
  waitFor,
} from "./support/harness.ts";

interface ChatBody {
  messages: Array<{ role: string; content?: string | null }>;
  tools?: Array<{ function: { name: string } }>;
}

/** Calls the long-running tool with the ARGS in the prompt, then answers with its result. */
function script(request: RecordedRequest) {
  const body = request.body as ChatBody;
  const user = body.messages.find((m) => m.role === "user")?.content ?? "";
  const results = body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  if (results.length > 0) return turn.text(`Answer: ${results.join(" | ")}`);
  const offered = (body.tools ?? []).map((t) => t.function.name);
  if (user.includes("LIST")) return turn.text(`OFFERED ${offered.join(",")}`);
  const name = offered.find((n) => /long.running/.test(n));
  if (!name) return turn.text(`NOT OFFERED; offered: ${offered.join(",")}`);
  const args = JSON.parse(/ARGS:(\{.*\})/.exec(user)?.[1] ?? "{}") as Record<string, unknown>;
  return turn.toolCalls([{ name, arguments: args }]);
}

/** server-everything on Streamable HTTP, pinned to loopback (as in mcp-api.test.ts). */
async function startEverything(port: number): Promise<ChildProcess> {
  const require = createRequire(import.meta.url);
  const entry = join(dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")), "dist/index.js");
  const loopbackOnly = `data:text/javascript,${encodeURIComponent(
    'import net from "node:net"; const listen = net.Server.prototype.listen; net.Server.prototype.listen = function (port, ...rest) { return typeof port === "number" || typeof port === "string" ? listen.call(this, Number(port), "127.0.0.1", ...rest.filter((a) => typeof a === "function")) : listen.call(this, port, ...rest); };',
  )}`;
  const child = spawn(process.execPath, ["--import", loopbackOnly, entry, "streamableHttp"], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`server-everything did not start:\n${output}`)), 15_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (/listening on port/i.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("exit", (code) => reject(new Error(`server-everything exited with ${code}:\n${output}`)));
  });
  return child;
}

let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
let node: NodeProc | undefined;
let everything: ChildProcess | undefined;
let nodeId = "";
let jobId = "";

async function startRun(prompt: string): Promise<string> {
  const job = await api.ok("POST", "/api/jobs", {
    name: `progress-${Math.random().toString(36).slice(2, 8)}`,
    prompt,
    model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
    nodes: [nodeId],
    maxSteps: 4,
  });
  jobId = job.id;
  const { runId } = await api.ok("POST", `/api/jobs/${jobId}/run`, {});
  return runId as string;
}

function toolStep(run: any): any {
  return (run.steps as any[]).find((s) => s.type === "tool");
}

describe("MCP progress and task-required tools, with the real server-everything", () => {
  beforeAll(async () => {
    ensureNodeBinary();
    const port = await freePort();
    [llm, everything] = await Promise.all([startScriptedOpenAiServer({ script }), startEverything(port)]);
    // A 3 s tool deadline that progress may extend to 60 s.
    core = await startCore({
      env: { FABRICORE_TOOL_TIMEOUT_SECONDS: "3", FABRICORE_TOOL_MAX_TIMEOUT_SECONDS: "60" },
    });
    api = await new ApiClient(core.url).login();
    await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
    const created = await api.ok("POST", "/api/nodes", { name: "progress-host" });
    nodeId = created.id;
    node = startNode(core.url, created.token, ["--log-level", "warn"]);
    await api.waitNodeOnline(nodeId);
    await api.ok("POST", `/api/nodes/${nodeId}/mcp`, { name: "everything", url: `http://127.0.0.1:${port}/mcp` });
    await waitFor(
      "server-everything running",
      async () => {
        const list = (await api.ok("GET", `/api/nodes/${nodeId}/mcp`)) as Array<{
          name: string;
          state: string;
          tools: unknown[];
        }>;
        return list.find((s) => s.name === "everything" && s.state === "running" && s.tools.length > 0);
      },
      30_000,
    );
  }, 120_000);

  afterAll(async () => {
    if (node) {
      console.error(`--- Node output (tail) ---\n${node.output.slice(-2000)}`);
      await node.stop();
    }
    everything?.kill("SIGTERM");
    await core?.proc.stop();
    await llm?.close();
  });

  it("leaves the task-required tool out of the model's tools and names it in skippedTools", async () => {
    const list = (await api.ok("GET", `/api/nodes/${nodeId}/mcp`)) as any[];
    const server = list.find((s) => s.name === "everything");
    expect(server.skippedTools).toEqual([
      { name: "simulate-research-query", reason: expect.stringMatching(/task-based execution/) },
    ]);
    const names = (server.tools as Array<{ name: string }>).map((t) => t.name);
    expect(names).toContain("trigger-long-running-operation");
    expect(names).not.toContain("simulate-research-query");
    const run = await api.waitRun(await startRun("LIST the tools"));
    expect(run.output).toMatch(/long.running/);
    expect(run.output).not.toMatch(/research/);
  }, 60_000);

  it("streams progress and lets a call that keeps reporting it outlive the 3 s deadline", async () => {
    // Nine seconds, a progress report every second: three times the deadline, never 3 s silent.
    const runId = await startRun('Run it. ARGS:{"duration":9,"steps":9}');
    const events = await readEvents(`${core.url}/api/runs/${runId}/events`, api.token, (e) => e === "done", 40_000);
    const progress = events.filter((e) => e.event === "progress").map((e) => e.data as any);
    expect(progress.length).toBeGreaterThanOrEqual(5);
    expect(progress.at(-1)).toMatchObject({ progress: 9, total: 9 });
    expect(progress.every((p) => typeof p.callId === "string" && p.total === 9)).toBe(true);
    const run = await api.waitRun(runId);
    const step = toolStep(run);
    expect(step.isError).toBe(false);
    expect(step.durationMs).toBeGreaterThan(8000);
    expect(run.output).toContain("Long running operation completed");
  }, 60_000);

  it("still times out a call that stalls without progress past the deadline", async () => {
    // One step of six seconds: its only progress would come at the end, after the 3 s deadline.
    const run = await api.waitRun(await startRun('Run it. ARGS:{"duration":6,"steps":1}'));
    const step = toolStep(run);
    expect(step.isError).toBe(true);
    expect(JSON.stringify(step.result)).toMatch(/deadline_exceeded/);
    expect(step.durationMs).toBeLessThan(5500);
  }, 60_000);
});
