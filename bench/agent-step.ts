/**
 * Orchestration per agent step: everything the Core does for one step of a run except the model
 * and the tool — the agent loop, the model adapter's request building, storing every step in SQLite,
 * live events, routing the tool call — against the scripted LM Studio's bare HTTP round trip measured
 * in the same run. The Core runs in this process (createCore) so that the model client and the
 * hub's callTool can be timed from inside; the Node is a simulated one in a child process.
 */
import { performance } from "node:perf_hooks";
import { createCore } from "@fabricore/core/core.ts";
import { loadCoreEnv } from "@fabricore/core/env.ts";
import { createLlmClient, type LlmClient, type ProviderConfig } from "@fabricore/core/llm/index.ts";
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import { startScriptedOpenAiServer } from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import pino from "pino";
import { ADMIN_PASSWORD, adminApi, enrollViaApi, startFleet, tempDir } from "./lib/fleet-setup.ts";
import { until } from "./lib/proc.ts";
import { type BenchResult, machine, type Row } from "./lib/report.ts";
import { fmt, summarize } from "./lib/stats.ts";

export interface AgentStepOptions {
  runs: number;
  /** Tool-calling turns per run (plus one final answer). */
  toolTurns: number;
}

const MODEL = "qwen2.5-7b-instruct";

/** The scripted model: a noop tool call until the run has `toolTurns` tool results, then the answer. */
function script(toolTurns: number) {
  return (request: RecordedRequest) => {
    const body = request.body as { messages: Array<{ role: string }> };
    const results = body.messages.filter((m) => m.role === "tool").length;
    return results < toolTurns
      ? turn.toolCalls([{ name: "noop", arguments: {} }])
      : turn.text("All done: nothing to report.");
  };
}

export async function agentStepBench(options: AgentStepOptions): Promise<BenchResult> {
  const started = Date.now();
  const rows: Row[] = [];
  const notes: string[] = [];
  const llm = await startScriptedOpenAiServer({ script: script(options.toolTurns) });

  // Time every model call and every tool call from inside the Core.
  let chatMs = 0;
  let toolMs = 0;
  const chatSamples: number[] = [];
  const timedFactory = (provider: ProviderConfig): LlmClient => {
    const client = createLlmClient(provider);
    return {
      listModels: (opts) => client.listModels(opts),
      async chat(request, opts) {
        const t0 = performance.now();
        try {
          return await client.chat(request, opts);
        } finally {
          const d = performance.now() - t0;
          chatMs += d;
          chatSamples.push(d);
        }
      },
    };
  };
  const env = loadCoreEnv({
    FABRICORE_DATA_DIR: tempDir("agent-step"),
    FABRICORE_PORT: "0",
    FABRICORE_HOST: "127.0.0.1",
    FABRICORE_ADMIN_PASSWORD: ADMIN_PASSWORD,
  });
  const core = await createCore(env, { logger: pino({ level: "error" }), llmFactory: timedFactory });
  const address = await core.listen();
  const url = address.replace("[::1]", "127.0.0.1");
  const hub = core.ctx.hub;
  const callTool = hub.callTool.bind(hub);
  hub.callTool = async (...args: Parameters<typeof callTool>) => {
    const t0 = performance.now();
    try {
      return await callTool(...args);
    } finally {
      toolMs += performance.now() - t0;
    }
  };

  const api = await adminApi(url);
  const credential = await enrollViaApi(url, api, "step-node");
  const fleet = await startFleet(url, [credential], { processes: 1 });
  try {
    await until("the simulated Node online", () => hub.isOnline(credential.nodeId), 20_000);
    await api("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
    const job = await api<{ id: string }>("POST", "/api/jobs", {
      name: "step-bench",
      prompt: "Call noop until told otherwise, then report.",
      model: { provider: "LM Studio", model: MODEL },
      nodes: [credential.nodeId],
      tools: ["noop"],
      maxSteps: options.toolTurns + 2,
    });
    const jobRow = await core.ctx.repos.jobs.get(job.id);
    if (!jobRow) throw new Error("job not stored");

    const runOnce = async () => {
      chatMs = 0;
      toolMs = 0;
      chatSamples.length = 0;
      const t0 = performance.now();
      const run = await core.ctx.runs.start(jobRow, "manual");
      const done = await new Promise<string>((resolve) => {
        const off = core.ctx.events.subscribe(run.id, (event) => {
          if (event.type === "done") {
            off();
            resolve(event.status);
          }
        });
      });
      const total = performance.now() - t0;
      const steps = await core.ctx.repos.steps.list(run.id);
      return { runId: run.id, status: done, total, chatMs, toolMs, chats: [...chatSamples], steps: steps.length };
    };

    for (let i = 0; i < 3; i++) await runOnce(); // warm-up
    const perStep: number[] = [];
    const clientOverhead: number[] = [];
    const chatAll: number[] = [];
    let failed = 0;
    let stepsStored = 0;
    const turns = options.toolTurns + 1;
    for (let i = 0; i < options.runs; i++) {
      const r = await runOnce();
      if (r.status !== "succeeded") failed += 1;
      stepsStored += r.steps;
      perStep.push((r.total - r.chatMs - r.toolMs) / turns);
      chatAll.push(...r.chats);
    }

    // The floor: the scripted server's bare HTTP round trip for the same two kinds of turn, read to the end.
    const bare: number[] = [];
    const ask = async (withToolResult: boolean) => {
      const messages: Array<Record<string, unknown>> = [{ role: "user", content: "Call noop." }];
      if (withToolResult) {
        for (let k = 0; k < options.toolTurns; k++) {
          messages.push({
            role: "assistant",
            content: null,
            tool_calls: [{ id: `c${k}`, type: "function", function: { name: "noop", arguments: "{}" } }],
          });
          messages.push({ role: "tool", tool_call_id: `c${k}`, content: "ok" });
        }
      }
      const t0 = performance.now();
      const res = await fetch(`${llm.baseUrl}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: MODEL, stream: true, messages }),
      });
      await res.text();
      return performance.now() - t0;
    };
    for (let i = 0; i < 20; i++) await ask(i % 2 === 0);
    for (let i = 0; i < options.runs * turns; i++) bare.push(await ask(i % turns === turns - 1));
    const bs = summarize(bare);
    const cs = summarize(chatAll);
    for (const c of chatAll) clientOverhead.push(c - bs.p50);
    const ps = summarize(perStep);
    rows.push({
      metric: "Core orchestration per agent step, p50 (loop + step stored in SQLite + events + tool routing)",
      value: `${fmt(ps.p50)} ms`,
      baseline: `scripted model bare HTTP round trip p50 ${fmt(bs.p50)} ms`,
      ratio: `${fmt(ps.p50 / bs.p50)}×`,
      target: "< 2 ms",
      verdict: ps.p50 < 2 ? "met" : "missed",
    });
    rows.push({
      metric: "orchestration per step p90 / p99 (over runs)",
      value: `${fmt(ps.p90)} / ${fmt(ps.p99)} ms`,
    });
    rows.push({
      metric: "model call through the Core's LM Studio client (SDK, streaming parse), p50 / p99",
      value: `${fmt(cs.p50)} / ${fmt(cs.p99)} ms`,
      baseline: `bare HTTP p50 ${fmt(bs.p50)} / p99 ${fmt(bs.p99)} ms`,
      ratio: `+${fmt(cs.p50 - bs.p50)} ms`,
    });
    const share = ps.p50 + Math.max(0, cs.p50 - bs.p50);
    rows.push({
      metric: "Core's whole share of a step (orchestration + model-client overhead) vs a 2 s local 8B model step",
      value: `${fmt(share)} ms = ${fmt((share / 2000) * 100, 3)}%`,
      target: "≈ 0.1%",
      verdict: share / 2000 <= 0.0015 ? "met" : "missed",
    });
    rows.push({
      metric: "runs / steps stored",
      value: `${options.runs} runs (${failed} not succeeded), ${stepsStored} steps stored`,
    });
    if (failed) notes.push(`${failed} runs did not succeed; the numbers above include them`);
  } finally {
    await fleet.stop();
    await core.close();
    await llm.close();
  }
  return {
    id: "agent-step",
    title: "Orchestration per agent step",
    method:
      `${options.runs} runs (after 3 warm-up runs), one at a time, of a job whose scripted LM Studio answers at once with a ` +
      `noop tool call ${options.toolTurns} times and then a final answer (${options.toolTurns + 1} model turns per run). ` +
      "The Core runs in the bench process (createCore, SQLite in a temp dir, every step stored); the Node is a simulated " +
      "one in a child process. Each run is timed from runs.start to its `done` event; the time inside the model client's " +
      "chat() and inside NodeHub.callTool is measured by wrapping them and subtracted; what is left, divided by the model " +
      "turns, is the orchestration per step. Baseline: the scripted server's bare HTTP round trip (fetch, streamed answer read " +
      "to the end) for the same turns, in the same run.",
    rows,
    notes,
    measuredAt: new Date().toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: machine(),
  };
}
