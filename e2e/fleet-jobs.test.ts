/**
 * Issue 13's end-to-end proof on one Core: four real compiled Nodes with different labels, the
 * scripted LM Studio as the model. A job selecting `env=prod` fans out one child per prod Node,
 * each offered only its own Node's tools; a prod Node stopped mid-test is `skipped` with its name;
 * the summarize turn names every Node; a Node enrolled after the job was saved is in the next run;
 * cancelling the parent stops every child.
 */

import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byName, childServer, fleetScript, offeredTools, waitChildren } from "./support/fleet.ts";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type NodeProc,
  startCore,
  startNode,
} from "./support/harness.ts";

let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
const procs: NodeProc[] = [];
const ids: Record<string, string> = {};
const nodeProcs: Record<string, NodeProc> = {};

async function enroll(name: string, labels: Record<string, string>, args: string[]) {
  const created = await api.ok("POST", "/api/nodes", { name, labels });
  ids[name] = created.id;
  const proc = startNode(core.url, created.token, args);
  procs.push(proc);
  nodeProcs[name] = proc;
  await api.waitNodeOnline(created.id).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${proc.output}`);
  });
}

const job = (name: string, prompt: string, extra: Record<string, unknown> = {}) =>
  api.ok("POST", "/api/jobs", {
    name,
    prompt,
    model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
    selector: "env=prod",
    fanOut: { mode: "each", concurrency: 2, stopOnFailure: false, summarize: true },
    maxSteps: 4,
    ...extra,
  });

beforeAll(async () => {
  ensureNodeBinary();
  llm = await startScriptedOpenAiServer({ script: fleetScript });
  core = await startCore();
  api = await new ApiClient(core.url).login();
  await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
  // Different tools per Node (exec only where allowed), so "only its own tools" is visible.
  await enroll("web-1", { env: "prod", role: "web" }, ["--allow-shell"]);
  await enroll("db-1", { env: "prod", role: "db" }, []);
  await enroll("cache-1", { env: "prod", role: "cache" }, ["--allow-shell"]);
  await enroll("dev-1", { env: "dev", role: "web" }, ["--allow-shell"]);
}, 120_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await core?.proc.stop();
  await llm?.close();
});

describe("fleet jobs end to end (one Core, real Nodes)", () => {
  it("lists what a selector matches, and refuses bad fleet input with 400s", async () => {
    const prod: Array<{ name: string }> = await api.ok("GET", "/api/nodes?selector=env%3Dprod");
    expect(prod.map((n) => n.name).sort()).toEqual(["cache-1", "db-1", "web-1"]);
    const notWeb: Array<{ name: string }> = await api.ok(
      "GET",
      `/api/nodes?selector=${encodeURIComponent("role notin (web),env")}`,
    );
    expect(notWeb.map((n) => n.name).sort()).toEqual(["cache-1", "db-1"]);
    const bad = await api.request("GET", `/api/nodes?selector=${encodeURIComponent("env in (prod")}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/position|column|at \d+/i);
    const base = { name: "bad", prompt: "x", model: { provider: "LM Studio", model: "m" } };
    for (const body of [
      { ...base, selector: "role in (web" },
      { ...base, selector: "=prod" },
      { ...base, selector: "env=prod", fanOut: { mode: "each", concurrency: 0 } },
      { ...base, selector: "env=prod", fanOut: { mode: "each", concurrency: 1e9 } },
      { ...base, fanOut: { mode: "each", concurrency: 2 } },
    ]) {
      const res = await api.request("POST", "/api/jobs", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBeTruthy();
    }
  });

  it("fans out over env=prod: one child per Node with only its tools, the stopped one skipped, one answer", async () => {
    const saved = await job("prod-disks", "Check disk space and say if this server is in trouble.");
    // Stopped mid-test: enrolled, seen online, then gone before the run.
    await nodeProcs["cache-1"]!.stop();
    const before = llm.chatRequests().length;
    const { runId } = await api.ok("POST", `/api/jobs/${saved.id}/run`, {});
    const run = await api.waitRun(runId, ["succeeded", "failed", "cancelled"], 60_000);

    const children = byName(run.children);
    expect(Object.keys(children).sort()).toEqual(["cache-1", "db-1", "web-1"]);
    expect(children["web-1"]).toMatchObject({ status: "succeeded", nodeId: ids["web-1"] });
    expect(children["web-1"]!.output).toContain("disk-ok-on-web-1");
    expect(children["db-1"]!.status).toBe("succeeded");
    expect(children["db-1"]!.output).toContain("Report from db-1");
    expect(children["cache-1"]!.status).toBe("skipped");
    expect(children["cache-1"]!.error).toContain("cache-1");
    expect(run.summary).toMatchObject({ total: 3, succeeded: 2, failed: 0, skipped: 1 });
    // Not every child succeeded, so the parent failed, saying which; its output is still the answer.
    expect(run.status).toBe("failed");
    expect(run.error).toContain("cache-1 skipped");
    expect(run.output).toContain("FLEET ANSWER (3 servers)");
    for (const name of ["web-1", "db-1", "cache-1"]) expect(run.output).toContain(name);

    // Each child's model saw only its own Node's tools, unprefixed: exec only where allowed.
    const asked = llm.chatRequests().slice(before);
    const toolsBy = new Map(asked.filter(childServer).map((r) => [childServer(r)!, offeredTools(r)]));
    expect([...toolsBy.keys()].sort()).toEqual(["db-1", "web-1"]);
    expect(toolsBy.get("web-1")).toEqual(["exec_command", "read_file", "system_stats"]);
    expect(toolsBy.get("db-1")).toEqual(["read_file", "system_stats"]);
    // Every tool call of a child went to its own Node.
    for (const name of ["web-1", "db-1"]) {
      const child = await api.ok("GET", `/api/runs/${children[name]!.id}`);
      expect(child.parentRunId).toBe(runId);
      const calls = child.steps.filter((s: { type: string }) => s.type === "tool");
      expect(calls.length).toBeGreaterThan(0);
      expect(calls.every((s: { node: string }) => s.node === name)).toBe(true);
    }
  }, 90_000);

  it("includes a Node enrolled with the label after the job was saved in its next run", async () => {
    const saved = await job("prod-later", "Check disk space.", {
      fanOut: { mode: "each", concurrency: 4, summarize: true },
    });
    await enroll("web-2", { env: "prod", role: "web" }, ["--allow-shell"]);
    const { runId } = await api.ok("POST", `/api/jobs/${saved.id}/run`, {});
    const run = await api.waitRun(runId, ["succeeded", "failed", "cancelled"], 60_000);
    const children = byName(run.children);
    expect(Object.keys(children).sort()).toEqual(["cache-1", "db-1", "web-1", "web-2"]);
    expect(children["web-2"]!.status).toBe("succeeded");
    expect(children["web-2"]!.output).toContain("disk-ok-on-web-2");
    expect(run.output).toContain("web-2");
    expect(Object.keys(children)).not.toContain("dev-1");
  }, 90_000);

  it("cancelling the parent stops every child", async () => {
    const saved = await job("prod-slow", "SCENARIO:slow take a long look.", {
      selector: "env=prod,role in (web,db)",
      fanOut: { mode: "each", concurrency: 5, summarize: true },
    });
    const { runId } = await api.ok("POST", `/api/jobs/${saved.id}/run`, {});
    // web-1, web-2 (a 60 s command on the Node) and db-1 (a model that never answers) all running.
    await waitChildren(api, runId, 3, ["running"]);
    const cancelledAt = Date.now();
    await api.ok("POST", `/api/runs/${runId}/cancel`, {});
    const run = await api.waitRun(runId, ["succeeded", "failed", "cancelled"], 20_000);
    expect(run.status).toBe("cancelled");
    const children = await waitChildren(api, runId, 3, ["cancelled", "failed", "succeeded", "skipped"], 20_000);
    expect(children.map((c) => c.status)).toEqual(["cancelled", "cancelled", "cancelled"]);
    expect(Date.now() - cancelledAt).toBeLessThan(15_000);
    expect(run.summary).toMatchObject({ total: 3, succeeded: 0 });
  }, 90_000);
});
