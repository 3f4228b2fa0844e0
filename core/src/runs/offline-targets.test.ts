import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../agent/testing/recording-llm-client.ts";
import type { ChatRequest } from "../llm/types.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";
import type { TestNode } from "../testing/test-node.ts";

/** Issue 22.1: a run whose target Nodes are all offline fails with `nodes_offline` instead of
 * asking a model with zero tools (which invents its report); one offline Node of two is noted. */

const seen: ChatRequest[] = [];
const model = new RecordingLlmClient((request) => {
  seen.push(request);
  return { text: "report from what the tools said" };
});

let t: TestCore;
let admin: string;
const nodes: Record<string, { id: string; node: TestNode }> = {};

async function until(predicate: () => Promise<boolean>, timeoutMs: number, what: string) {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  t = await startTestCore({ llm: () => model });
  admin = await t.login();
  await t.api(admin, "POST", "/api/providers", {
    name: "fake",
    kind: "openai-compatible",
    baseUrl: "http://127.0.0.1:9",
  });
  for (const name of ["up-1", "down-1", "down-2"])
    nodes[name] = await t.connectNode(name, { tier: name.split("-")[0]! });
  for (const name of ["down-1", "down-2"]) {
    await nodes[name]!.node.manager.stop();
    await until(
      async () => (await t.api(admin, "GET", `/api/nodes/${nodes[name]!.id}`)).body.status === "offline",
      5_000,
      `${name} offline`,
    );
  }
});

afterAll(async () => {
  await t?.close();
});

async function runToEnd(body: Record<string, unknown>) {
  const job = await t.api(admin, "POST", "/api/jobs", {
    prompt: "Check disk space and summarise.",
    model: { provider: "fake", model: "m" },
    ...body,
  });
  expect(job.status, JSON.stringify(job.body)).toBe(201);
  const started = await t.api(admin, "POST", `/api/jobs/${job.body.id}/run`, {});
  expect(started.status).toBe(202);
  const runId = started.body.runId as string;
  await until(
    async () =>
      ["succeeded", "failed", "cancelled"].includes((await t.api(admin, "GET", `/api/runs/${runId}`)).body.status),
    10_000,
    "the run to end",
  );
  return (await t.api(admin, "GET", `/api/runs/${runId}`)).body;
}

describe("runs whose Nodes are offline", () => {
  it("fails with nodes_offline naming the Node when the job's only Node is offline; no model is asked", async () => {
    const before = seen.length;
    const run = await runToEnd({ name: "only-offline", nodes: [nodes["down-1"]!.id] });
    expect(run.status).toBe("failed");
    expect(run.errorCode).toBe("nodes_offline");
    expect(run.error).toContain("every target Node is offline (down-1)");
    expect(run.steps).toEqual([]);
    expect(seen.length).toBe(before);
    const listed = await t.api(admin, "GET", `/api/runs?jobId=${run.jobId}`);
    expect(listed.body[0]).toMatchObject({ id: run.id, errorCode: "nodes_offline" });
  });

  it("fails the same way when a selector matches only offline Nodes, naming each", async () => {
    const run = await runToEnd({ name: "selector-offline", selector: "tier=down" });
    expect(run).toMatchObject({ status: "failed", errorCode: "nodes_offline" });
    expect(run.error).toContain("(down-1, down-2)");
  });

  it("runs with the online Node when one of two is offline, and tells the model which is missing", async () => {
    const before = seen.length;
    const run = await runToEnd({ name: "half-offline", nodes: [nodes["up-1"]!.id, nodes["down-1"]!.id] });
    expect(run).toMatchObject({ status: "succeeded", errorCode: null });
    const system = seen[before]?.messages.find((m) => m.role === "system")?.content ?? "";
    expect(system).toContain("offline and their tools are unavailable: down-1");
    expect(seen[before]?.tools?.length ?? 0).toBeGreaterThan(0);
  });

  it("a selector matching nothing is no_targets, not nodes_offline", async () => {
    const run = await runToEnd({ name: "selector-none", selector: "tier=nowhere" });
    expect(run).toMatchObject({ status: "failed", errorCode: "no_targets" });
  });
});
