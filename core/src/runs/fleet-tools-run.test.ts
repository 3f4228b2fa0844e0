/**
 * Issue 13, "many Nodes in ONE run": a job over twelve Nodes (not fanned out) is offered three
 * fleet tools, not thirty-odd flat ones, whatever the fleet's size; list_nodes filters by label,
 * describe_tool gives the real schema, call_tool runs the real tool on the named Node (its step
 * records that Node and tool), and a call the job's allowlist does not allow is not reachable.
 * A whole in-process Core with real Node programs on in-memory transports.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeReply, RecordingLlmClient } from "../agent/testing/recording-llm-client.ts";
import type { ChatRequest } from "../llm/types.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";

let reply: (request: ChatRequest, index: number) => FakeReply = () => ({ text: "done" });
const seen: ChatRequest[] = [];
const model = new RecordingLlmClient((request, index) => {
  seen.push(request);
  return reply(request, index);
});
let t: TestCore;
let admin: string;

beforeAll(async () => {
  t = await startTestCore({ llm: () => model });
  admin = await t.login();
  await t.api(admin, "POST", "/api/providers", {
    name: "fake",
    kind: "openai-compatible",
    baseUrl: "http://127.0.0.1:9",
  });
  for (let i = 1; i <= 12; i++) await t.connectNode(`n-${i}`, { env: "prod", role: i <= 3 ? "db" : "web" });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

async function run(body: Record<string, unknown>) {
  const job = await t.api(admin, "POST", "/api/jobs", { model: { provider: "fake", model: "m" }, ...body });
  expect(job.status, JSON.stringify(job.body)).toBe(201);
  const started = await t.api(admin, "POST", `/api/jobs/${job.body.id}/run`, {});
  const runId = started.body.runId as string;
  for (let i = 0; i < 500; i++) {
    const view = (await t.api(admin, "GET", `/api/runs/${runId}`)).body;
    if (["succeeded", "failed", "cancelled"].includes(view.status)) return view;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("the run did not finish");
}

const toolText = (request: ChatRequest) =>
  request.messages.filter((m) => m.role === "tool").map((m) => (typeof m.content === "string" ? m.content : ""));

describe("a run over many Nodes gets the fleet tools", () => {
  it("offers list_nodes, describe_tool and call_tool; the calls reach the named Node's real tool", async () => {
    seen.length = 0;
    reply = (request) => {
      const results = toolText(request);
      if (results.length === 0)
        return { text: "", toolCalls: [{ name: "list_nodes", arguments: '{"selector":"role=db"}' }] };
      if (results.length === 1)
        return { text: "", toolCalls: [{ name: "describe_tool", arguments: '{"node":"n-2","tool":"system_stats"}' }] };
      if (results.length === 2)
        return {
          text: "",
          toolCalls: [{ name: "call_tool", arguments: '{"node":"n-2","tool":"system_stats","arguments":{}}' }],
        };
      if (results.length === 3)
        return { text: "", toolCalls: [{ name: "call_tool", arguments: '{"node":"n-9","tool":"no_such_tool"}' }] };
      return { text: "checked" };
    };
    const view = await run({ name: "many-nodes", prompt: "Look at the db servers.", selector: "env=prod" });
    expect(view.status, JSON.stringify(view.error)).toBe("succeeded");
    // Twelve Nodes: the model saw three tools on every turn, not the flat list.
    for (const request of seen)
      expect(request.tools?.map((s) => s.name)).toEqual(["list_nodes", "describe_tool", "call_tool"]);
    const listed = JSON.parse(toolText(seen[1]!)[0]!) as Array<{
      node: string;
      labels: object;
      status: string;
      tools: string[];
    }>;
    expect(listed.map((n) => n.node).sort()).toEqual(["n-1", "n-2", "n-3"]);
    expect(listed[0]).toMatchObject({ labels: { role: "db" }, status: "online" });
    expect(listed[0]!.tools).toContain("system_stats");
    const described = JSON.parse(toolText(seen[2]!)[1]!) as { tool: string; inputSchema: object };
    expect(described).toMatchObject({ tool: "system_stats", inputSchema: { type: "object" } });
    const tools = view.steps.filter((s: { type: string }) => s.type === "tool");
    expect(tools.map((s: { tool: string; node: string }) => `${s.tool}@${s.node}`)).toEqual([
      "list_nodes@",
      "describe_tool@",
      "system_stats@n-2",
      "call_tool@",
    ]);
    expect(tools[2].isError).toBe(false);
    expect(tools[3].isError).toBe(true);
    expect(toolText(seen[4]!)[3]).toMatch(/Node "n-9" has no tool "no_such_tool"; it has: .*system_stats/);
  });

  it("the job's allowlist still holds: a tool it does not allow is not on any Node's list", async () => {
    seen.length = 0;
    reply = (request) =>
      toolText(request).length === 0
        ? {
            text: "",
            toolCalls: [
              {
                name: "call_tool",
                arguments: '{"node":"n-5","tool":"read_file","arguments":{"path":"/etc/hostname"}}',
              },
            ],
          }
        : { text: "done" };
    const view = await run({ name: "many-nodes-allow", prompt: "p", selector: "env=prod", tools: ["system_stats"] });
    expect(view.status, JSON.stringify(view.error)).toBe("succeeded");
    const step = view.steps.find((s: { type: string }) => s.type === "tool");
    expect(step).toMatchObject({ tool: "call_tool", isError: true });
    expect(toolText(seen[1]!)[0]).toMatch(/has no tool "read_file"; it has: system_stats/);
  });

  it("a run over a few Nodes keeps the flat list", async () => {
    seen.length = 0;
    reply = () => ({ text: "done" });
    await run({ name: "few-nodes", prompt: "p", selector: "role=db" });
    const names = seen[0]!.tools?.map((s) => s.name) ?? [];
    expect(names).not.toContain("call_tool");
    expect(names.some((n) => n.startsWith("n-1__"))).toBe(true);
  });
});
