/**
 * Issue 8's reliability proofs, with real processes on loopback, each bounded in time:
 * - the Core SIGKILLed while a tool runs, then restarted: the run ends with a reason, the tool ran
 *   once, the database passes PRAGMA integrity_check, and the Core takes new work;
 * - a reconnect storm of 500 simulated Nodes (the real ConnectionManager, bench/sim/fleet-sim.ts)
 *   after a Core restart: the API keeps answering and every Node comes back;
 * - a stuck model: the step deadline fires, the fallback model answers, and a run waiting on a
 *   stuck model can be cancelled.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import Database from "better-sqlite3";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { enrollNodes, type Fleet, probeHealth, startFleet } from "../bench/lib/fleet-setup.ts";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type Proc,
  startCore,
  startNode,
  tempDir,
  waitFor,
} from "./support/harness.ts";

const MODEL = "qwen2.5-7b-instruct";
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

function integrityCheck(dataDir: string): string {
  const db = new Database(join(dataDir, "fabricore.db"), { readonly: true, fileMustExist: true });
  try {
    return String(db.pragma("integrity_check", { simple: true }));
  } finally {
    db.close();
  }
}

async function restart(core: CoreHandle): Promise<CoreHandle> {
  await core.proc.stop("SIGKILL");
  return startCore({ dataDir: core.dataDir, port: core.port });
}

describe("reliability", () => {
  it("a Core killed with SIGKILL mid-run: the run ends with a reason, the tool ran once, the database is intact", async () => {
    ensureNodeBinary();
    const ranFile = join(tempDir("ran"), "ran.txt");
    const llm: ScriptedOpenAiServer = await startScriptedOpenAiServer({
      script: (request: RecordedRequest) => {
        const body = request.body as { messages: Array<{ role: string; content?: string | null }> };
        const user = body.messages.find((m) => m.role === "user")?.content ?? "";
        if (user.includes("AFTER") || body.messages.some((m) => m.role === "tool")) return turn.text("done");
        return turn.toolCalls([{ name: "exec_command", arguments: { command: `echo ran >> ${ranFile}; sleep 3` } }]);
      },
    });
    cleanups.push(() => llm.close());
    let core = await startCore();
    cleanups.push(() => core.proc.stop());
    const api = await new ApiClient(core.url).login();
    await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
    const created = await api.ok("POST", "/api/nodes", { name: "victim" });
    const node: Proc = startNode(core.url, created.token, ["--allow-shell"]);
    cleanups.push(() => node.stop());
    await api.waitNodeOnline(created.id);
    const job = await api.ok("POST", "/api/jobs", {
      name: "kill-me",
      prompt: "Run the command.",
      model: { provider: "LM Studio", model: MODEL },
      nodes: [created.id],
      maxSteps: 4,
    });
    const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
    // The tool is running on the Node (its first line is written) when the Core dies.
    await waitFor("the command to start", () => existsSync(ranFile), 15_000, 20);
    core = await restart(core);
    const api2 = await new ApiClient(core.url).login();
    const run = await api2.waitRun(runId, ["failed", "succeeded", "cancelled"], 10_000);
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/Core stopped/);
    // The Node comes back by itself; the command it was running finishes once and is not run again.
    await api2.waitNodeOnline(created.id, 20_000);
    await new Promise((r) => setTimeout(r, 3_500));
    expect(readFileSync(ranFile, "utf8").trim().split("\n")).toEqual(["ran"]);
    // And the restarted Core takes new work.
    const after = await api2.ok("POST", "/api/jobs", {
      name: "after",
      prompt: "AFTER the restart: just answer.",
      model: { provider: "LM Studio", model: MODEL },
      nodes: [created.id],
    });
    const next = await api2.ok("POST", `/api/jobs/${after.id}/run`, {});
    expect((await api2.waitRun(next.runId, undefined, 10_000)).status).toBe("succeeded");
    await core.proc.stop();
    expect(integrityCheck(core.dataDir)).toBe("ok");
  }, 60_000);

  it("a reconnect storm of 500 Nodes after a Core restart: the API answers throughout and all come back", async () => {
    const count = 500;
    const dataDir = tempDir("storm");
    const credentials = await enrollNodes(dataDir, count);
    let core = await startCore({ dataDir, env: { FABRICORE_LOG_LEVEL: "error", FABRICORE_HEARTBEAT_SECONDS: "10" } });
    cleanups.push(() => core.proc.stop());
    const fleet: Fleet = await startFleet(core.url, credentials, { processes: 2, rampMs: 2_000 });
    cleanups.push(() => fleet.stop());
    const online = async (c: CoreHandle) => ((await (await fetch(`${c.url}/healthz`)).json()) as any).nodesOnline;
    await waitFor("500 Nodes online", async () => (await online(core)) === count, 40_000, 200);

    core = await restart(core);
    const api = await new ApiClient(core.url).login();
    const health = probeHealth(core.url, 50, 2_000, 2_000);
    const listLatencies: number[] = [];
    const backAt = Date.now();
    await waitFor(
      "500 Nodes back",
      async () => {
        const t0 = performance.now();
        const nodes = await api.ok("GET", "/api/nodes");
        listLatencies.push(performance.now() - t0);
        expect(nodes).toHaveLength(count);
        return (await online(core)) === count;
      },
      45_000,
      250,
    );
    const backMs = Date.now() - backAt;
    await health.stop();
    expect(health.failures).toEqual([]);
    expect(health.latencies.length).toBeGreaterThan(5);
    // Answering means answering promptly: no probe waited a whole second.
    expect(Math.max(...health.latencies)).toBeLessThan(1_000);
    expect(Math.max(...listLatencies)).toBeLessThan(2_000);
    expect(backMs).toBeLessThan(45_000);
    const status = await fleet.status();
    expect(status.connected).toBe(count);
  }, 90_000);

  it("a stuck model: the step deadline fires, the fallback answers, and a stuck run can be cancelled", async () => {
    const stuck = await startScriptedOpenAiServer({ script: () => turn.hang() });
    cleanups.push(() => stuck.close());
    const good = await startScriptedOpenAiServer({ script: () => turn.text("answered by the fallback") });
    cleanups.push(() => good.close());
    const core = await startCore();
    cleanups.push(() => core.proc.stop());
    const api = await new ApiClient(core.url).login();
    const deadline = { timeoutMs: 1_000, firstRequestTimeoutMs: 1_000 };
    await api.ok("POST", "/api/providers", {
      name: "stuck",
      kind: "lmstudio",
      baseUrl: stuck.baseUrl,
      options: deadline,
    });
    await api.ok("POST", "/api/providers", { name: "stuck-long", kind: "lmstudio", baseUrl: stuck.baseUrl });
    await api.ok("POST", "/api/providers", { name: "good", kind: "lmstudio", baseUrl: good.baseUrl });

    const job = await api.ok("POST", "/api/jobs", {
      name: "fallback",
      prompt: "Answer.",
      model: { provider: "stuck", model: MODEL },
      fallbacks: [{ provider: "good", model: MODEL }],
    });
    const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
    const run = await api.waitRun(runId, undefined, 15_000);
    expect(run.status, JSON.stringify(run)).toBe("succeeded");
    expect(run.output).toBe("answered by the fallback");
    const [first, second] = run.steps.filter((s: { type: string }) => s.type === "llm");
    expect(first).toMatchObject({ provider: "stuck", fallback: { provider: "good" } });
    expect(first.error).toBeTruthy();
    expect(first.durationMs).toBeGreaterThanOrEqual(900);
    expect(first.durationMs).toBeLessThan(5_000);
    expect(second).toMatchObject({ provider: "good" });

    const hanging = await api.ok("POST", "/api/jobs", {
      name: "cancel-me",
      prompt: "Answer eventually.",
      model: { provider: "stuck-long", model: MODEL },
    });
    const started = await api.ok("POST", `/api/jobs/${hanging.id}/run`, {});
    await waitFor("the model request", () => stuck.chatRequests().length >= 2, 10_000, 20);
    const t0 = Date.now();
    await api.ok("POST", `/api/runs/${started.runId}/cancel`, {});
    const cancelled = await api.waitRun(started.runId, ["cancelled", "failed", "succeeded"], 5_000);
    expect(cancelled.status).toBe("cancelled");
    expect(Date.now() - t0).toBeLessThan(5_000);
    // The Core let go of the model request too.
    await waitFor("the model request to be dropped", () => stuck.chatRequests().every((r) => r.finished), 5_000, 20);
  }, 60_000);
});
