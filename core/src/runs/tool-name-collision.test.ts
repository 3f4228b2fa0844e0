import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../agent/testing/recording-llm-client.ts";
import type { ChatRequest } from "../llm/types.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";

/**
 * Issue 21 finding 9: Nodes `dup.x` and `dup_x` in one job both sanitise to `dup_x`, so both
 * Nodes' `system_stats` wanted the model-facing name `dup_x__system_stats`, and the model's call
 * ran on whichever Node was listed first. Through the real Core and the real Node program: every
 * colliding name carries a hash, no name is ambiguous, and a call runs on the Node its tool
 * description names.
 */

let t: TestCore;
let operator: string;
const ids: Record<string, string> = {};
/** Which tool the scripted model calls first: a function of the tools it is offered. */
let pick: (request: ChatRequest) => string = () => "system_stats";

beforeAll(async () => {
  t = await startTestCore({
    llm: () =>
      new RecordingLlmClient((request) => {
        if (request.messages.some((m) => m.role === "tool")) return { text: "done" };
        return { text: "", toolCalls: [{ name: pick(request), arguments: "{}" }] };
      }),
  });
  const admin = await t.login();
  operator = await t.userToken("operator");
  ids["dup.x"] = (await t.connectNode("dup.x")).id;
  ids.dup_x = (await t.connectNode("dup_x")).id;
  await t.api(admin, "POST", "/api/providers", { name: "p1", kind: "lmstudio", baseUrl: "http://127.0.0.1:9" });
});

afterAll(async () => {
  await t?.close();
});

async function runJob(name: string): Promise<{
  status: string;
  steps: Array<{ type: string; tool?: string; node?: string; nodeId?: string; isError?: boolean; result?: unknown }>;
}> {
  const job = await t.api(operator, "POST", "/api/jobs", {
    name,
    prompt: "stats",
    model: { provider: "p1", model: "m" },
    nodes: ["dup.x", "dup_x"],
    tools: ["system_stats"],
  });
  expect(job.status).toBe(201);
  const started = await t.api(operator, "POST", `/api/jobs/${job.body.id}/run`, {});
  expect(started.status).toBe(202);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const run = (await t.api(operator, "GET", `/api/runs/${started.body.runId}`)).body;
    if (["succeeded", "failed", "cancelled"].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run still ${run.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("tool names that collide across Nodes (issue 21.9)", () => {
  it("gives every colliding name a hash and routes each call to the Node its description names", async () => {
    let offered: Array<{ name: string; description: string }> = [];
    for (const target of ["dup.x", "dup_x"]) {
      pick = (request) => {
        offered = (request.tools ?? []).map((tool) => ({ name: tool.name, description: tool.description ?? "" }));
        const mine = offered.find((tool) => tool.description.startsWith(`[node "${target}"]`));
        if (!mine) throw new Error(`no tool described as on ${target}: ${JSON.stringify(offered)}`);
        return mine.name;
      };
      const run = await runJob(`collide-${target.replace(".", "-")}`);
      const step = run.steps.find((s) => s.type === "tool");
      expect(step?.isError, JSON.stringify(step)).toBe(false);
      expect(step?.node).toBe(target);
    }
    const names = offered.map((tool) => tool.name);
    expect(new Set(names).size).toBe(2);
    // Neither Node keeps the plain name: it would be a guess which one the model meant.
    expect(names).not.toContain("dup_x__system_stats");
    for (const name of names) expect(name).toMatch(/^dup_x__system_stats_[0-9a-f]{6}$/);
  });

  it("a call by the ambiguous plain name runs nowhere and tells the model the real names", async () => {
    pick = () => "dup_x__system_stats";
    const run = await runJob("collide-plain");
    const step = run.steps.find((s) => s.type === "tool");
    expect(step?.isError).toBe(true);
    expect(step?.node ?? "").toBe("");
    expect(step?.nodeId ?? "").toBe("");
    expect(JSON.stringify(step?.result)).toContain('There is no tool named \\"dup_x__system_stats\\"');
  });
});
