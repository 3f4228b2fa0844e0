/**
 * Issue 13 in cluster mode: two real Core replicas on one fresh PostgreSQL database and one Redis,
 * three compiled Nodes split over them (each Node dials one replica), the scripted LM Studio. A
 * fan-out job over `env=prod` started on one replica runs one child per Node — every child's tool
 * call reaching its Node wherever it is connected — and the parent completes with the summary; no
 * child runs twice. A cancel sent to either replica stops the parent and every child.
 */
import { randomBytes } from "node:crypto";
import { describeWithServices, uniquePrefix } from "@fabricore/core/cluster/testing/redis-under-test.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { byName, childServer, fleetScript, waitChildren } from "./support/fleet.ts";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type NodeProc,
  startCore,
  startNode,
} from "./support/harness.ts";
import { createTestDatabase } from "./support/postgres.ts";

describeWithServices("fleet jobs in cluster mode (two replicas, PostgreSQL, Redis)", { postgres: true }, (services) => {
  const prefix = uniquePrefix("e2e-fleet");
  const masterKey = randomBytes(32).toString("base64");
  let database: { url: string; drop(): Promise<void> };
  let llm: ScriptedOpenAiServer;
  let a: CoreHandle;
  let b: CoreHandle;
  let apiA: ApiClient;
  let apiB: ApiClient;
  const procs: NodeProc[] = [];

  const replicaEnv = () => ({
    FABRICORE_DATABASE_URL: database.url,
    FABRICORE_REDIS_URL: services.redisUrl,
    FABRICORE_REDIS_PREFIX: prefix,
    FABRICORE_MASTER_KEY: masterKey,
    FABRICORE_REPLICA_TTL_SECONDS: "3",
  });

  const ownerReplica = (run: { owner: string | null }) => {
    const pid = run.owner?.split(":")[1];
    return pid === String(a.proc.child.pid) ? "A" : pid === String(b.proc.child.pid) ? "B" : `? ${run.owner}`;
  };

  beforeAll(async () => {
    ensureNodeBinary();
    database = await createTestDatabase(services.postgresUrl!, "fleet_cluster");
    llm = await startScriptedOpenAiServer({ script: fleetScript });
    a = await startCore({ env: replicaEnv() });
    b = await startCore({ env: replicaEnv() });
    apiA = await new ApiClient(a.url).login();
    apiB = await new ApiClient(b.url).login();
    await apiA.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
    // web-1 and db-1 on A, web-2 on B: whichever replica runs a child, some of its Nodes are on the other.
    for (const [name, core, labels] of [
      ["web-1", a, { env: "prod", role: "web" }],
      ["db-1", a, { env: "prod", role: "db" }],
      ["web-2", b, { env: "prod", role: "web" }],
      ["dev-1", b, { env: "dev" }],
    ] as const) {
      const created = await apiA.ok("POST", "/api/nodes", { name, labels });
      procs.push(startNode(core.url, created.token, ["--allow-shell"]));
      await apiA.waitNodeOnline(created.id);
      await apiB.waitNodeOnline(created.id);
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await a?.proc.stop();
    await b?.proc.stop();
    await llm?.close();
    await database?.drop();
  });

  const createJob = (name: string, prompt: string) =>
    apiB.ok("POST", "/api/jobs", {
      name,
      prompt,
      model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
      selector: "env=prod",
      fanOut: { mode: "each", concurrency: 3, summarize: true },
      maxSteps: 4,
    });

  it("fans out across replicas: every child ran once on its Node and the parent completed", async () => {
    const job = await createJob("cluster-fleet", "Check disk space.");
    const before = llm.chatRequests().length;
    const started = await Promise.all([
      apiB.ok("POST", `/api/jobs/${job.id}/run`, {}),
      apiA.ok("POST", `/api/jobs/${job.id}/run`, {}),
    ]);
    const runs = await Promise.all(
      started.map(({ runId }) => apiA.waitRun(runId, ["succeeded", "failed", "cancelled"], 60_000)),
    );
    for (const run of runs) {
      expect(run.status, JSON.stringify(run)).toBe("succeeded");
      expect(run.summary).toMatchObject({ total: 3, succeeded: 3, failed: 0, skipped: 0 });
      expect(run.output).toContain("FLEET ANSWER (3 servers)");
      const children = byName(run.children);
      expect(Object.keys(children).sort()).toEqual(["db-1", "web-1", "web-2"]);
      for (const [name, child] of Object.entries(children)) {
        expect(child.output).toContain(`disk-ok-on-${name}`);
        const full = await apiB.ok("GET", `/api/runs/${child.id}`);
        // Run once: one tool call, two model turns, all on its own Node.
        const tools = full.steps.filter((s: { type: string }) => s.type === "tool");
        expect(tools.map((s: { node: string }) => s.node)).toEqual([name]);
        expect(full.steps.filter((s: { type: string }) => s.type === "llm")).toHaveLength(2);
      }
    }
    // 2 runs × (3 children × 2 turns + 1 summary): no model call repeated by a second replica.
    const childCalls = llm.chatRequests().slice(before);
    expect(childCalls.filter(childServer)).toHaveLength(12);
    expect(childCalls).toHaveLength(14);
    console.info(`fan-out parents executed on: ${runs.map(ownerReplica).join(", ")}`);
  }, 90_000);

  it("a cancel sent to the other replica stops the parent and every child", async () => {
    const job = await createJob("cluster-slow", "SCENARIO:slow look closely.");
    const { runId } = await apiA.ok("POST", `/api/jobs/${job.id}/run`, {});
    await waitChildren(apiA, runId, 3, ["running"]);
    const parent = await apiA.ok("GET", `/api/runs/${runId}`);
    const other = ownerReplica(parent) === "A" ? apiB : apiA;
    const cancelledAt = Date.now();
    await other.ok("POST", `/api/runs/${runId}/cancel`, {});
    const run = await apiA.waitRun(runId, ["succeeded", "failed", "cancelled"], 20_000);
    expect(run.status).toBe("cancelled");
    const children = await waitChildren(apiB, runId, 3, ["cancelled", "failed", "succeeded", "skipped"], 20_000);
    expect(children.map((c) => c.status)).toEqual(["cancelled", "cancelled", "cancelled"]);
    expect(Date.now() - cancelledAt).toBeLessThan(15_000);
  }, 90_000);
});
