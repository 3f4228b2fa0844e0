/**
 * Throughput: webhook-triggered runs over a fleet of simulated Nodes, none lost; and webhook intake
 * against a bare Fastify route measured in the same run. The Core is the real one in a child process
 * (bench/sim/core-host.ts), the model the scripted LM Studio (a system_stats call, then the answer).
 */
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import { startScriptedOpenAiServer } from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { adminApi, enrollNodes, startCoreHost, startFleet, tempDir, waitConnected } from "./lib/fleet-setup.ts";
import { httpLoad } from "./lib/http-load.ts";
import { sleep, spawnChild, until } from "./lib/proc.ts";
import { type BenchResult, machine, type Row } from "./lib/report.ts";
import { fmt } from "./lib/stats.ts";

export interface ThroughputOptions {
  runs: number;
  nodes: number;
  /** Webhook requests in flight at once. */
  concurrency?: number;
  /** FABRICORE_RUN_CONCURRENCY of the Core. */
  runConcurrency?: number;
}

const FINAL = ["succeeded", "failed", "cancelled"];

export async function throughputBench(options: ThroughputOptions): Promise<BenchResult> {
  const started = Date.now();
  const rows: Row[] = [];
  const notes: string[] = [];
  const concurrency = options.concurrency ?? 16;
  const runConcurrency = options.runConcurrency ?? 32;
  const llm = await startScriptedOpenAiServer({
    script: (request: RecordedRequest) => {
      const body = request.body as { messages: Array<{ role: string }> };
      return body.messages.some((m) => m.role === "tool")
        ? turn.text("Stats collected.")
        : turn.toolCalls([{ name: "system_stats", arguments: {} }]);
    },
  });
  const dataDir = tempDir("throughput");
  const credentials = await enrollNodes(dataDir, options.nodes);
  const core = await startCoreHost({
    dataDir,
    env: { FABRICORE_RUN_CONCURRENCY: String(runConcurrency) },
  });
  const fleet = await startFleet(core.url, credentials, { processes: Math.ceil(options.nodes / 500) });
  const raw = spawnChild("bench/sim/raw-fastify.ts");
  try {
    await waitConnected(fleet, options.nodes, 60_000);
    const api = await adminApi(core.url);
    await api("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
    const nodes = await api<Array<{ id: string; name: string }>>("GET", "/api/nodes");
    const sims = nodes.filter((n) => n.name.startsWith("sim-"));
    for (const [i, node] of sims.entries()) {
      await api("POST", "/api/jobs", {
        name: `wh-${i}`,
        prompt: "Report this server's load.",
        model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
        nodes: [node.id],
        tools: ["system_stats"],
        webhook: { slug: `wh-${i}` },
        maxSteps: 4,
      });
    }

    // Raw Fastify first (it runs nothing), then the Core, same client and concurrency.
    const { port: rawPort } = await raw.waitMessage<{ port: number }>((m) => m?.type === "ready", 30_000);
    const body = JSON.stringify({ ref: "refs/heads/main", after: "0123456789abcdef" });
    const init = { method: "POST", headers: { "content-type": "application/json" }, body };
    await httpLoad(200, concurrency, () => ({ url: `http://127.0.0.1:${rawPort}/api/webhook/x`, init }));
    const baseline = await httpLoad(options.runs, concurrency, () => ({
      url: `http://127.0.0.1:${rawPort}/api/webhook/x`,
      init,
    }));

    const t0 = Date.now();
    const intake = await httpLoad<{ runId: string }>(options.runs, concurrency, (i) => ({
      url: `${core.url}/api/webhook/wh-${i % sims.length}`,
      init,
    }));
    const runIds = intake.answers.map((a) => a.runId);
    const finished = await until(
      `${runIds.length} runs finished`,
      async () => {
        const overview = await api<{ runsLast24h: Record<string, number> }>("GET", "/api/overview");
        const done = FINAL.reduce((acc, s) => acc + (overview.runsLast24h[s] ?? 0), 0);
        return done >= runIds.length ? overview.runsLast24h : undefined;
      },
      300_000,
      100,
    );
    const allDoneMs = Date.now() - t0;
    // Every accepted run, one by one: final, succeeded, with its tool step.
    let succeeded = 0;
    let withTool = 0;
    for (const id of runIds) {
      const run = await api<{ status: string; steps: Array<{ type: string; isError?: boolean }> }>(
        "GET",
        `/api/runs/${id}`,
      );
      if (run.status === "succeeded") succeeded += 1;
      if (run.steps.some((s) => s.type === "tool" && !s.isError)) withTool += 1;
    }
    const status = await fleet.status();
    const lost = options.runs - succeeded;
    rows.push({
      metric: `runs completed (webhook → ${options.nodes} Nodes → succeeded)`,
      value: `${succeeded} of ${options.runs} succeeded, ${withTool} with their tool step; ${status.executions} tool executions, ${status.duplicates} duplicates`,
      target: "none lost",
      verdict: lost === 0 && intake.failed === 0 && status.duplicates === 0 ? "met" : "missed",
    });
    rows.push({
      metric: "runs per second (first webhook → last run finished)",
      value: fmt((succeeded / allDoneMs) * 1000),
      baseline: `${fmt(allDoneMs / 1000)} s for ${options.runs} runs, run concurrency ${runConcurrency}`,
    });
    rows.push({
      metric: "webhook intake (POST /api/webhook/:slug → 202, run row written)",
      value: `${fmt(intake.perSecond, 0)} req/s, p50 ${fmt(intake.latency.p50)} ms, p99 ${fmt(intake.latency.p99)} ms`,
      baseline: `bare Fastify route ${fmt(baseline.perSecond, 0)} req/s, p50 ${fmt(baseline.latency.p50)} ms`,
      ratio: `${fmt(intake.perSecond / baseline.perSecond)}×`,
    });
    // Intake alone: the model now hangs, so the first runs occupy every execution slot and stay there;
    // the rest wait queued. What is left on the Core per webhook is the intake itself.
    llm.setScript(() => turn.hang());
    const alone = await httpLoad<{ runId: string }>(options.runs, concurrency, (i) => ({
      url: `${core.url}/api/webhook/wh-${i % sims.length}`,
      init,
    }));
    rows.push({
      metric: "webhook intake alone (executions parked on a hanging model)",
      value: `${fmt(alone.perSecond, 0)} req/s, p50 ${fmt(alone.latency.p50)} ms, p99 ${fmt(alone.latency.p99)} ms`,
      baseline: `bare Fastify route ${fmt(baseline.perSecond, 0)} req/s, p50 ${fmt(baseline.latency.p50)} ms`,
      ratio: `${fmt(alone.perSecond / baseline.perSecond)}×`,
    });
    notes.push(
      `Final statuses: ${JSON.stringify(finished)}. Intake ran while the runs it started were executing (the Core's ` +
        `run concurrency is ${runConcurrency}), so both numbers share the same 2 cores with the model stub and the simulators.`,
    );
    if (intake.failed) notes.push(`intake errors: ${intake.errors.join("; ")}`);
  } finally {
    await raw.kill();
    await fleet.stop();
    await core.child.kill();
    await llm.close();
    await sleep(100);
  }
  return {
    id: "throughput",
    title: "Webhook throughput",
    method:
      `${options.nodes} simulated Nodes on the real Core (child process, SQLite), one job per Node with a webhook; ` +
      `${options.runs} webhook POSTs spread over the jobs, ${concurrency} in flight. The scripted LM Studio (in the bench ` +
      "process) answers each run's first turn with a system_stats call and the second with the answer, so every run is " +
      "three stored steps and one tool call on its Node. Completion is read from /api/overview, then every accepted run " +
      "is fetched and checked. Baseline: the same client and concurrency against a bare Fastify app whose POST route " +
      "only answers 202 (child process), in the same run. Intake is measured twice: while the runs it starts execute, " +
      "and alone (the scripted model switched to hanging, so executions are parked and new runs only queue).",
    rows,
    notes,
    measuredAt: new Date().toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: machine(),
  };
}
