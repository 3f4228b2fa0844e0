/**
 * Issue 7's end-to-end proof: two real Core processes (replicas A and B) on loopback sharing one
 * fresh PostgreSQL database and one Redis (under a key prefix of this run), the compiled Node and
 * the scripted LM Studio. A Node on A is used by a run started on B; a 2-second schedule fires
 * once per tick across both; a run's events stream from the replica not executing it; A killed
 * mid-run: the Node moves to B, the run is failed with a reason, nothing is lost or duplicated.
 */
import { randomBytes } from "node:crypto";
import { describeWithServices, uniquePrefix } from "@fabricore/core/cluster/testing/redis-under-test.ts";
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type Proc,
  startCore,
  startNode,
  waitFor,
} from "./support/harness.ts";
import { createTestDatabase } from "./support/postgres.ts";

interface ChatBody {
  messages: Array<{ role: string; content?: string | null }>;
}

function script(request: RecordedRequest) {
  const body = request.body as ChatBody;
  const user = body.messages.find((m) => m.role === "user")?.content ?? "";
  const toolResults = body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  const scenario = /SCENARIO:(\w+)/.exec(user)?.[1];
  if (toolResults.length > 0) return turn.text(`Final report. ${toolResults.join(" | ")}`);
  switch (scenario) {
    case "hostname":
      return turn.toolCalls([{ name: "exec_command", arguments: { command: "echo cluster-ok-$((6*7))" } }]);
    case "steps":
      // A second of work on the Node, so a browser can attach while the run executes.
      return turn.toolCalls([{ name: "exec_command", arguments: { command: "sleep 1; echo streamed-ok" } }]);
    case "slow":
      return turn.toolCalls([{ name: "exec_command", arguments: { command: "sleep 20", timeoutMs: 60_000 } }]);
    default:
      return turn.text("done");
  }
}

describeWithServices("cluster: two Core replicas on PostgreSQL and Redis", { postgres: true }, (services) => {
  const prefix = uniquePrefix("e2e");
  const masterKey = randomBytes(32).toString("base64");
  let database: { url: string; drop(): Promise<void> };
  let llm: ScriptedOpenAiServer;
  let a: CoreHandle;
  let b: CoreHandle;
  let apiA: ApiClient;
  let apiB: ApiClient;
  let node: Proc;
  let nodeId: string;

  const replicaEnv = () => ({
    FABRICORE_DATABASE_URL: database.url,
    FABRICORE_REDIS_URL: services.redisUrl,
    FABRICORE_REDIS_PREFIX: prefix,
    // Every replica must open the same secrets.
    FABRICORE_MASTER_KEY: masterKey,
    // A killed replica is noticed within seconds (production default: 15 s).
    FABRICORE_REPLICA_TTL_SECONDS: "3",
  });

  async function createJob(name: string, prompt: string, extra: Record<string, unknown> = {}) {
    return apiB.ok("POST", "/api/jobs", {
      name,
      prompt,
      model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
      nodes: [nodeId],
      maxSteps: 4,
      ...extra,
    });
  }

  /** The replica a run executed on, from its owner (`host:pid:random`). */
  const executedOn = (run: { owner: string | null }) => {
    const pid = run.owner?.split(":")[1];
    return pid === String(a.proc.child.pid) ? "A" : pid === String(b.proc.child.pid) ? "B" : `? ${run.owner}`;
  };

  beforeAll(async () => {
    ensureNodeBinary();
    database = await createTestDatabase(services.postgresUrl!, "cluster");
    llm = await startScriptedOpenAiServer({ script });
    // A first: it migrates the database and creates the admin; B then finds both.
    a = await startCore({ env: replicaEnv() });
    b = await startCore({ env: replicaEnv() });
    apiA = await new ApiClient(a.url).login();
    apiB = await new ApiClient(b.url).login();
    await apiA.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
    const created = await apiA.ok("POST", "/api/nodes", { name: "server-a" });
    nodeId = created.id;
    // The Node knows both replicas and dials A first.
    node = startNode(a.url, created.token, ["--core", b.url, "--allow-shell"]);
    await apiA.waitNodeOnline(nodeId);
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    await a?.proc.stop();
    await b?.proc.stop();
    await llm?.close();
    await database?.drop();
  });

  it("a Node connected to A is online on B and used by a run started on B", async () => {
    const onB = await apiB.waitNodeOnline(nodeId);
    expect(onB.tools.map((t: { name: string }) => t.name)).toContain("exec_command");
    const job = await createJob("cross-replica", "SCENARIO:hostname run a command");
    // Several runs, so both replicas execute some: each one's tool call must reach the Node on A.
    const started = await Promise.all(Array.from({ length: 6 }, () => apiB.ok("POST", `/api/jobs/${job.id}/run`, {})));
    const runs = await Promise.all(started.map(({ runId }) => apiB.waitRun(runId)));
    for (const run of runs) {
      expect(run.status, JSON.stringify(run)).toBe("succeeded");
      expect(run.output).toContain("cluster-ok-42");
      const tools = run.steps.filter((s: { type: string }) => s.type === "tool");
      expect(tools).toHaveLength(1);
      expect(tools[0]).toMatchObject({ node: "server-a", isError: false });
    }
    const where = runs.map(executedOn);
    expect(
      where.every((w) => w === "A" || w === "B"),
      where.join(),
    ).toBe(true);
    console.info(`cross-replica runs executed on: ${where.join(", ")}`);
  });

  it("streams a run's events to a browser on either replica, wherever it executes", async () => {
    const job = await createJob("streamed", "SCENARIO:steps stream me");
    const { runId } = await apiA.ok("POST", `/api/jobs/${job.id}/run`, {});
    const read = async (api: ApiClient) => {
      const res = await fetch(`${api.base}/api/runs/${runId}/events`, {
        headers: { authorization: `Bearer ${api.token}` },
      });
      return res.text();
    };
    // Both subscribe; one of them is necessarily not the replica executing the run.
    const [fromA, fromB] = await Promise.all([read(apiA), read(apiB)]);
    const run = await apiA.waitRun(runId);
    expect(run.status).toBe("succeeded");
    for (const text of [fromA, fromB]) {
      expect(text).toContain("event: step");
      expect(text).toContain("streamed-ok");
      expect(text).toMatch(/event: done\ndata: \{"status":"succeeded"\}/);
    }
    console.info(`streamed run executed on ${executedOn(run)}`);
  });

  it("a 2-second schedule fires once per tick across both replicas", async () => {
    const job = await createJob("every-2s", "SCENARIO:none tick", { schedule: { cron: "*/2 * * * * *" } });
    await new Promise((r) => setTimeout(r, 7_000));
    await apiB.ok("PATCH", `/api/jobs/${job.id}`, { enabled: false });
    await new Promise((r) => setTimeout(r, 500));
    const runs: Array<{ createdAt: string; trigger: string; id: string }> = await apiA.ok(
      "GET",
      `/api/runs?jobId=${job.id}`,
    );
    const ticks = runs.map((r) => Math.floor(Date.parse(r.createdAt) / 2000));
    expect(runs.every((r) => r.trigger === "cron")).toBe(true);
    // 7 s of a 2 s schedule: 3 or 4 ticks, each once.
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(runs.length).toBeLessThanOrEqual(4);
    expect(new Set(ticks).size, JSON.stringify(runs.map((r) => r.createdAt))).toBe(ticks.length);
    for (const run of runs) expect((await apiA.waitRun(run.id)).status).toBe("succeeded");
  });

  it("A killed mid-run: the Node moves to B and the run is failed with a reason, nothing lost or duplicated", async () => {
    const job = await createJob("slow", "SCENARIO:slow take your time");
    // BullMQ gives the run to whichever replica is free; start runs until A executes one.
    let onA: { id: string } | undefined;
    const started: string[] = [];
    for (let attempt = 0; attempt < 8 && !onA; attempt += 1) {
      const { runId } = await apiB.ok("POST", `/api/jobs/${job.id}/run`, {});
      started.push(runId);
      const run = await apiB.waitRun(runId, ["running"]);
      if (executedOn(run) === "A") onA = run;
      else await apiB.ok("POST", `/api/runs/${runId}/cancel`, {});
    }
    expect(onA, "no run landed on replica A in 8 tries").toBeDefined();
    // Its first model turn is stored, so its tool call is on its way to the Node.
    await waitFor("the slow run's tool call", async () => {
      const run = await apiB.ok("GET", `/api/runs/${onA!.id}`);
      return run.steps.some((s: { type: string }) => s.type === "llm") ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 500));
    const killedAt = Date.now();
    await a.proc.stop("SIGKILL");

    const failed = await apiB.waitRun(onA!.id, ["failed", "succeeded", "cancelled"], 20_000);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/replica executing this run .* stopped/);
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    // Not executed twice: one model turn and no second tool call after the kill.
    expect(failed.steps.filter((s: { type: string }) => s.type === "tool").length).toBeLessThanOrEqual(1);

    const moved = await apiB.waitNodeOnline(nodeId, 30_000);
    expect(moved.status).toBe("online");
    // Every run started is accounted for: one failed with the reason, the rest cancelled.
    const all: Array<{ id: string; status: string }> = await apiB.ok("GET", `/api/runs?jobId=${job.id}`);
    expect(all.map((r) => r.id).sort()).toEqual([...started].sort());
    expect(all.filter((r) => r.status === "running" || r.status === "queued")).toEqual([]);

    // B alone carries on with the Node now connected to it.
    const next = await createJob("after-failover", "SCENARIO:hostname again");
    const { runId } = await apiB.ok("POST", `/api/jobs/${next.id}/run`, {});
    const run = await apiB.waitRun(runId);
    expect(run.status, JSON.stringify(run)).toBe("succeeded");
    expect(run.output).toContain("cluster-ok-42");
    expect(executedOn(run)).toBe("B");
  });
});
