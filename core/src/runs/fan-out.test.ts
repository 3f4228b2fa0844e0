import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../agent/testing/recording-llm-client.ts";
import type { ChatRequest } from "../llm/types.ts";
import { readEvents } from "../testing/sse.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";
import type { TestNode } from "../testing/test-node.ts";

/**
 * CONTRACT "Fleet jobs" through the HTTP API: the real Core with the real Node program on
 * in-memory transports. The scripted model calls `echo` once on whatever Node it is offered (a
 * child sees exactly one Node's tools) and then answers naming the tools it saw; the summarize
 * turn (no tools) answers with the servers it was told about.
 */

let t: TestCore;
let operator: string;
const nodes: Record<string, TestNode> = {};
const requests: ChatRequest[] = [];
/** While set, every child model request hangs until aborted (for the cancel test). */
let hang = false;

function fleetModel() {
  return new RecordingLlmClient((request) => {
    requests.push(request);
    const tools = (request.tools ?? []).map((tool) => tool.name);
    if (tools.length === 0) {
      const asked = request.messages.at(-1)?.content ?? "";
      if (asked.includes("matching this JSON Schema")) {
        const rows = [...asked.matchAll(/^### (\S+) \((\w+)\)/gm)].map((m) => ({ node: m[1], status: m[2] }));
        return { text: JSON.stringify({ servers: rows }) };
      }
      const servers = [...(request.messages.at(-1)?.content ?? "").matchAll(/^### (\S+) \((\w+)\)/gm)];
      return { text: `FLEET: ${servers.map((m) => `${m[1]}=${m[2]}`).join(", ")}` };
    }
    if (hang) return { hangAfter: "working" };
    const toolMessages = request.messages.filter((m) => m.role === "tool");
    if (toolMessages.length === 0) {
      const echo = tools.find((n) => n.endsWith("echo")) ?? "echo";
      return { text: "", toolCalls: [{ name: echo, arguments: '{"ping":1}' }] };
    }
    const system = request.messages.find((m) => m.role === "system")?.content ?? "";
    const server = /working on the server (\S+) only/.exec(system)?.[1];
    return { text: `disk ok on ${server}; tools: ${tools.join(",")}` };
  });
}

beforeAll(async () => {
  t = await startTestCore({ llm: () => fleetModel() });
  const admin = await t.login();
  operator = await t.userToken("operator");
  nodes["web-1"] = (await t.connectNode("web-1", { env: "prod", role: "web" })).node;
  nodes["web-2"] = (await t.connectNode("web-2", { env: "prod", role: "web" })).node;
  nodes.db1 = (await t.connectNode("db1", { env: "prod", role: "db" })).node;
  nodes.canary = (await t.connectNode("canary", { env: "prod", role: "web", canary: "yes" })).node;
  nodes.stage = (await t.connectNode("stage", { env: "staging", role: "web" })).node;
  await t.api(admin, "POST", "/api/providers", { name: "p1", kind: "lmstudio", baseUrl: "http://127.0.0.1:9" });
});

afterAll(async () => {
  await t?.close();
});

async function createJob(name: string, extra: Record<string, unknown>) {
  return t.api(operator, "POST", "/api/jobs", {
    name,
    prompt: "Check disk space.",
    model: { provider: "p1", model: "m" },
    ...extra,
  });
}

async function runToEnd(jobId: string, timeoutMs = 15_000) {
  const res = await t.api(operator, "POST", `/api/jobs/${jobId}/run`, {});
  expect(res.status).toBe(202);
  return waitForEnd(res.body.runId, timeoutMs);
}

async function waitForEnd(runId: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = (await t.api(operator, "GET", `/api/runs/${runId}`)).body;
    if (["succeeded", "failed", "cancelled"].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run still ${run.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("GET /api/nodes?selector=", () => {
  it("lists the Nodes a selector matches", async () => {
    const names = async (selector: string) =>
      (await t.api(operator, "GET", `/api/nodes?selector=${encodeURIComponent(selector)}`)).body
        .map((n: { name: string }) => n.name)
        .sort();
    expect(await names("env=prod,role in (web,db),!canary")).toEqual(["db1", "web-1", "web-2"]);
    expect(await names("role notin (web)")).toEqual(["db1"]);
    expect(await names("")).toHaveLength(5);
  });

  it("answers 400 naming the position of a bad selector", async () => {
    const res = await t.api(operator, "GET", `/api/nodes?selector=${encodeURIComponent("role in web")}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.message).toContain('expected "(" after "in"');
    expect(res.body.error.message).toContain("at position 8");
  });
});

describe("fleet job validation", () => {
  it.each([
    [{ selector: "env=prod," }, "at position 9"],
    [{ selector: "env=prod", fanOut: { mode: "each", concurrency: 0 } }, "concurrency"],
    [{ selector: "env=prod", fanOut: { mode: "each", concurrency: 1e9 } }, "concurrency"],
    [{ selector: "env=prod", fanOut: { mode: "all" } }, "mode"],
    [{ fanOut: { mode: "each" } }, "a fan-out job needs nodes or a selector"],
  ])("%j → 400", async (extra, message) => {
    const res = await createJob(`bad-${Math.random().toString(36).slice(2, 8)}`, extra);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(message);
  });

  it("keeps selector and fanOut with defaults, and patches them", async () => {
    const res = await createJob("kept", { selector: "env=prod", fanOut: { mode: "each" } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      selector: "env=prod",
      fanOut: { mode: "each", concurrency: 10, stopOnFailure: false, summarize: false },
    });
    const patched = await t.api(operator, "PATCH", `/api/jobs/${res.body.id}`, { selector: "role=db" });
    expect(patched.body).toMatchObject({ selector: "role=db", fanOut: { mode: "each" } });
    const bad = await t.api(operator, "PATCH", `/api/jobs/${res.body.id}`, { selector: "role=(db)" });
    expect(bad.status).toBe(400);
  });
});

describe("fan-out runs", () => {
  it("one child per matching Node with only its tools, offline one skipped, summary names every Node", async () => {
    const job = await createJob("fleet-disk", {
      selector: "env=prod,role in (web,db),!canary",
      fanOut: { mode: "each", concurrency: 2, summarize: true },
    });
    expect(job.status).toBe(201);
    await nodes["web-2"]!.manager.stop();
    await waitUntil(async () => (await t.api(operator, "GET", "/api/nodes/web-2")).body.status === "offline");

    const run = await runToEnd(job.body.id);
    expect(run.children.map((c: { nodeName: string }) => c.nodeName)).toEqual(["db1", "web-1", "web-2"]);
    const byName = Object.fromEntries(run.children.map((c: { nodeName: string }) => [c.nodeName, c]));
    expect(byName.db1).toMatchObject({
      status: "succeeded",
      output: "disk ok on db1; tools: read_file,exec_command,system_stats,hang,echo",
    });
    expect(byName["web-1"].status).toBe("succeeded");
    expect(byName["web-2"]).toMatchObject({ status: "skipped", error: "node web-2 is offline" });
    expect(run.summary).toMatchObject({ total: 3, succeeded: 2, failed: 0, skipped: 1 });
    // The parent succeeds only if every child did; its output is the summary turn's answer.
    expect(run.status).toBe("failed");
    expect(run.error).toContain("1 of 3 children did not succeed: web-2 skipped (node web-2 is offline)");
    expect(run.output).toBe("FLEET: db1=succeeded, web-1=succeeded, web-2=skipped");

    // Each child is a run of its own, with its own steps, naming its parent and Node.
    const child = (await t.api(operator, "GET", `/api/runs/${byName.db1.id}`)).body;
    expect(child).toMatchObject({ parentRunId: run.id, nodeId: byName.db1.nodeId, nodeName: "db1" });
    expect(child.steps.map((s: { type: string }) => s.type)).toEqual(["llm", "tool", "llm"]);
    expect(child.steps[1].node).toBe("db1");
    // The default run list shows the parent, not its children; ?parentRunId= lists them.
    const list = (await t.api(operator, "GET", `/api/runs?jobId=${job.body.id}`)).body;
    expect(list.map((r: { id: string }) => r.id)).toEqual([run.id]);
    expect((await t.api(operator, "GET", `/api/runs?parentRunId=${run.id}`)).body).toHaveLength(3);

    // A Node enrolled after the job was written, with matching labels, is in the next run.
    nodes.db2 = (await t.connectNode("db2", { env: "prod", role: "db" })).node;
    const again = await runToEnd(job.body.id);
    expect(again.children.map((c: { nodeName: string }) => c.nodeName)).toEqual(["db1", "db2", "web-1", "web-2"]);
    expect(again.output).toBe("FLEET: db1=succeeded, db2=succeeded, web-1=succeeded, web-2=skipped");
  });

  it("with an output schema, the summary is the structured answer (a row per Node); children are not told the schema", async () => {
    const schema = {
      type: "object",
      required: ["servers"],
      properties: { servers: { type: "array", items: { type: "object", required: ["node", "status"] } } },
    };
    const job = await createJob("fleet-table", {
      selector: "role=db",
      fanOut: { mode: "each", summarize: true },
      output: { schema },
    });
    expect(job.status).toBe(201);
    const run = await runToEnd(job.body.id);
    expect(run.status).toBe("succeeded");
    expect(run.result).toEqual({
      servers: run.children.map((c: { nodeName: string }) => ({ node: c.nodeName, status: "succeeded" })),
    });
    const child = (await t.api(operator, "GET", `/api/runs/${run.children[0].id}`)).body;
    expect(child.result ?? null).toBeNull();
    expect(
      requests.some((r) => r.tools?.length && JSON.stringify(r.messages).includes("matching this JSON Schema")),
    ).toBe(false);
  });

  it("without summarize, the output is one section per Node", async () => {
    const job = await createJob("fleet-sections", { selector: "role=db", fanOut: { mode: "each" } });
    const run = await runToEnd(job.body.id);
    expect(run.status).toBe("succeeded");
    expect(run.output).toBe(
      "## db1\ndisk ok on db1; tools: read_file,exec_command,system_stats,hang,echo\n\n## db2\ndisk ok on db2; tools: read_file,exec_command,system_stats,hang,echo",
    );
  });

  it("a non-fan-out selector job is one run over every matching Node, as before", async () => {
    const job = await createJob("one-run", { selector: "role=db" });
    const run = await runToEnd(job.body.id);
    expect(run.status).toBe("succeeded");
    expect(run.children).toBeUndefined();
    const offered = requests.at(-1)?.tools?.map((tool) => tool.name) ?? [];
    expect(offered.filter((n) => n.startsWith("db1__"))).toHaveLength(5);
    expect(offered.filter((n) => n.startsWith("db2__"))).toHaveLength(5);
    expect(offered).toHaveLength(10);
  });

  it("no Node matching at run time fails the run, saying so", async () => {
    for (const fanOut of [{ mode: "each" }, null]) {
      const job = await createJob(`nobody-${fanOut ? "fan" : "one"}`, { selector: "env=nowhere", fanOut });
      const run = await runToEnd(job.body.id);
      expect(run).toMatchObject({
        status: "failed",
        error: 'no Node matches the selector "env=nowhere": nothing to run on',
      });
    }
  });

  it("stopOnFailure: after a failed child no more start; they are skipped naming it", async () => {
    const job = await createJob("fleet-stop", {
      selector: "env=prod,!canary",
      fanOut: { mode: "each", concurrency: 1, stopOnFailure: true },
      maxSteps: 1, // one turn: the echo call ends the turn, so every child fails on max steps
    });
    const run = await runToEnd(job.body.id);
    // db1, db2, web-1 (web-2 is offline, canary excluded): the first fails, the rest never start.
    expect(run.children.map((c: { status: string }) => c.status)).toEqual(["failed", "skipped", "skipped", "skipped"]);
    expect(run.children[1].error).toBe("not started: the child on db1 failed (stopOnFailure)");
  });

  it("cancelling the parent cancels every child, running or not started", async () => {
    const job = await createJob("fleet-cancel", { selector: "env=prod", fanOut: { mode: "each", concurrency: 2 } });
    hang = true;
    try {
      const started = await t.api(operator, "POST", `/api/jobs/${job.body.id}/run`, {});
      const runId = started.body.runId;
      await waitUntil(async () => (await t.api(operator, "GET", `/api/runs/${runId}`)).body.summary?.running === 2);
      const cancel = await t.api(operator, "POST", `/api/runs/${runId}/cancel`, {});
      expect(cancel.status).toBe(200);
      const run = await waitForEnd(runId);
      expect(run.status).toBe("cancelled");
      await waitUntil(async () => {
        const now = (await t.api(operator, "GET", `/api/runs/${runId}`)).body;
        return now.summary.cancelled === now.summary.total;
      });
      expect((await t.api(operator, "GET", `/api/runs/${runId}`)).body.summary).toMatchObject({
        total: 5,
        cancelled: 5,
      }); // db1, db2, web-1, web-2, canary
    } finally {
      hang = false;
    }
  });
});

describe("the parent's event stream", () => {
  it("says `children` when a child ends and the next starts, so a page re-reads the table", async () => {
    const base = (await t.core.listen()).replace("0.0.0.0", "127.0.0.1");
    const job = await createJob("fleet-events", {
      selector: "env=prod,role=web",
      fanOut: { mode: "each", concurrency: 1 },
    });
    hang = true;
    try {
      const runId = (await t.api(operator, "POST", `/api/jobs/${job.body.id}/run`, {})).body.runId as string;
      const parent = async () => (await t.api(operator, "GET", `/api/runs/${runId}`)).body;
      await waitUntil(async () => (await parent()).summary?.running === 1);
      const first = (await parent()).children.find((c: { status: string }) => c.status === "running");
      // The stream is open before the child ends: ending it (and the next one starting) is news.
      const events = readEvents(`${base}/api/runs/${runId}/events`, operator, (event) => event === "children");
      await new Promise((r) => setTimeout(r, 200));
      expect((await t.api(operator, "POST", `/api/runs/${first.id}/cancel`, {})).status).toBe(200);
      expect((await events).map((e) => e.event)).toContain("children");
      expect((await t.api(operator, "POST", `/api/runs/${runId}/cancel`, {})).status).toBe(200);
      await waitForEnd(runId);
    } finally {
      hang = false;
    }
  });
});

async function waitUntil(predicate: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}
