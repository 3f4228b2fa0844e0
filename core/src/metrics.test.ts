import { describe, expect, it } from "vitest";
import type { LlmStep } from "./agent/types.ts";
import { createMetrics, type MetricsSources } from "./metrics.ts";

const llm = (over: Partial<LlmStep>): LlmStep => ({
  type: "llm",
  provider: "LM Studio",
  model: "qwen",
  durationMs: 250,
  usage: { promptTokens: 0, completionTokens: 0 },
  ...over,
});

function sources(over: Partial<MetricsSources> = {}): MetricsSources & { errors: string[] } {
  const errors: string[] = [];
  return {
    errors,
    liveRuns: async () => ({ queued: 3, running: 2, waiting_approval: 1 }),
    deliveriesPending: async () => 4,
    executing: () => 2,
    nodesOnline: () => 5,
    onError: (what) => errors.push(what),
    ...over,
  };
}

describe("createMetrics", () => {
  it("names the default process metrics as every Node.js exporter does, and no gauge ends in _total", async () => {
    const metrics = createMetrics();
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).not.toMatch(/fabricore_process_/);
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      if (m[2] !== "counter") expect(m[1], `${m[1]} is a ${m[2]}`).not.toMatch(/_total$/);
    }
  });

  it("counts model attempts by outcome: ok, fallback, error, cancelled; tokens by kind", async () => {
    const metrics = createMetrics();
    metrics.llmAttempt(llm({ usage: { promptTokens: 120, completionTokens: 30 } }));
    metrics.llmAttempt(llm({ error: "down", errorCode: "connection_failed", fallback: { provider: "B", model: "m" } }));
    metrics.llmAttempt(llm({ error: "down", errorCode: "connection_failed" }));
    metrics.llmAttempt(llm({ error: "stop", errorCode: "cancelled" }));
    const text = await metrics.registry.metrics();
    for (const outcome of ["ok", "fallback", "error", "cancelled"])
      expect(text).toContain(`fabricore_llm_requests_total{provider="LM Studio",model="qwen",outcome="${outcome}"} 1`);
    expect(text).toContain('fabricore_llm_tokens_total{provider="LM Studio",model="qwen",kind="prompt"} 120');
    expect(text).toContain('fabricore_llm_tokens_total{provider="LM Studio",model="qwen",kind="completion"} 30');
    expect(text).toContain('fabricore_llm_request_duration_seconds_count{provider="LM Studio",model="qwen"} 4');
  });

  it("caps Node names on the reconnect counter and counts only a Node's second connection", async () => {
    const metrics = createMetrics({ maxNodeLabels: 1 });
    metrics.nodeConnected("n1", "alpha");
    metrics.nodeConnected("n2", "beta");
    let text = await metrics.registry.metrics();
    expect(text).not.toMatch(/^fabricore_node_reconnects_total\{/m);
    metrics.nodeConnected("n1", "alpha");
    metrics.nodeConnected("n2", "beta");
    metrics.nodeConnected("n2", "beta");
    text = await metrics.registry.metrics();
    expect(text).toContain('fabricore_node_reconnects_total{node="alpha"} 1');
    expect(text).toContain('fabricore_node_reconnects_total{node="_other"} 2');
  });

  it("labels tool calls <server>/<tool> for MCP tools and caps them", async () => {
    const metrics = createMetrics({ maxToolLabels: 2 });
    metrics.toolCall({ name: "read_file", source: "builtin" }, "ok", 0.01);
    metrics.toolCall({ name: "query", source: "mcp:postgres" }, "tool_error", 0.02);
    metrics.toolCall({ name: "third", source: "builtin" }, "failed", 0.03);
    const text = await metrics.registry.metrics();
    expect(text).toContain('fabricore_tool_calls_total{tool="read_file",outcome="ok"} 1');
    expect(text).toContain('fabricore_tool_calls_total{tool="postgres/query",outcome="tool_error"} 1');
    expect(text).toContain('fabricore_tool_calls_total{tool="_other",outcome="failed"} 1');
    expect(text).toContain('fabricore_tool_call_duration_seconds_count{tool="read_file"} 1');
  });

  it("reads the live gauges at scrape time from its sources", async () => {
    const metrics = createMetrics();
    metrics.bindSources(sources());
    const text = await metrics.registry.metrics();
    expect(text).toContain('fabricore_runs{status="queued"} 3');
    expect(text).toContain('fabricore_runs{status="running"} 2');
    expect(text).toContain('fabricore_runs{status="waiting_approval"} 1');
    expect(text).toContain("fabricore_run_queue_depth 3");
    expect(text).toContain("fabricore_runs_executing 2");
    expect(text).toContain("fabricore_nodes_online 5");
    expect(text).toContain("fabricore_notification_deliveries_pending 4");
  });

  it("keeps a gauge's last value and still answers when its source fails", async () => {
    const metrics = createMetrics();
    let fail = false;
    const bound = sources({
      liveRuns: async () => {
        if (fail) throw new Error("database gone");
        return { queued: 7, running: 0, waiting_approval: 0 };
      },
    });
    metrics.bindSources(bound);
    expect(await metrics.registry.metrics()).toContain("fabricore_run_queue_depth 7");
    fail = true;
    const text = await metrics.registry.metrics();
    expect(text).toContain("fabricore_run_queue_depth 7");
    expect(text).toContain("fabricore_nodes_online 5");
    expect(bound.errors).toEqual(["runs by status", "queue depth"]);
  });

  it("records a finished run's status, trigger and duration", async () => {
    const metrics = createMetrics();
    metrics.runFinished({ status: "succeeded", trigger: "webhook" }, 2.5);
    const text = await metrics.registry.metrics();
    expect(text).toContain('fabricore_runs_finished_total{status="succeeded",trigger="webhook"} 1');
    expect(text).toContain('fabricore_run_duration_seconds_bucket{le="5",trigger="webhook"} 1');
  });
});
