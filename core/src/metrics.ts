import { toolLabel } from "@fabricore/protocol";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { LlmStep } from "./agent/types.ts";
import { LIVE_RUN_STATUSES, type LiveRunStatus } from "./database/types.ts";
import { LabelCap } from "./metric-label-cap.ts";

/** Label caps (docs/METRICS.md "Label cardinality"). Nodes are configurable: a fleet is the one
 * thing here that legitimately grows into the thousands. */
export interface MetricsOptions {
  maxNodeLabels?: number;
  maxToolLabels?: number;
  maxModelLabels?: number;
}

/** What the scrape-time gauges read: the database (cluster-wide numbers) and this process. */
export interface MetricsSources {
  liveRuns(): Promise<Record<LiveRunStatus, number>>;
  deliveriesPending(): Promise<number>;
  executing(): number;
  nodesOnline(): number;
  /** A source that throws leaves its gauge at the last value; the scrape still answers. */
  onError(what: string, error: unknown): void;
}

export type ToolCallOutcome = "ok" | "tool_error" | "failed";

/** prom-client's default collectors export three gauges named `*_total` (promtool: "non-counter
 * metrics should not have _total suffix"); their per-type siblings (`nodejs_active_handles{type}`
 * …) stay, and sum() over them gives the same number. */
const MISNAMED_DEFAULTS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/** Prometheus metrics of one Core, served at GET /metrics (names and labels: docs/METRICS.md).
 * A registry per Core (not the global one) so tests can start several Cores in one process. */
export function createMetrics(options: MetricsOptions = {}) {
  const registry = new Registry();
  // Unprefixed, as every Node.js exporter names them (process_cpu_seconds_total, nodejs_heap_…):
  // the dashboards people already have work unchanged.
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);

  const nodes = new LabelCap(options.maxNodeLabels ?? 100);
  const tools = new LabelCap(options.maxToolLabels ?? 200);
  const models = new LabelCap(options.maxModelLabels ?? 50);
  // Providers are what an admin configured; capped all the same, with the model's cap.
  const providers = new LabelCap(options.maxModelLabels ?? 50);
  let sources: MetricsSources | undefined;
  /** Runs a source; a failure is reported and the gauge keeps its last value. */
  const read = async <T>(what: string, fn: (s: MetricsSources) => Promise<T> | T): Promise<T | undefined> => {
    if (!sources) return undefined;
    try {
      return await fn(sources);
    } catch (error) {
      sources.onError(what, error);
      return undefined;
    }
  };
  const registers = [registry];

  // Runs. Only the statuses a run is in *now*: final ones are counted by
  // fabricore_runs_finished_total, and a gauge of every run ever stored is nothing to graph.
  const runs = new Gauge({
    name: "fabricore_runs",
    help: "Runs now queued, running or waiting for approval (every replica's: read from the database)",
    labelNames: ["status"] as const,
    registers,
    async collect() {
      const counts = await read("runs by status", (s) => s.liveRuns());
      if (counts) for (const status of LIVE_RUN_STATUSES) this.set({ status }, counts[status]);
    },
  });
  const queueDepth = new Gauge({
    name: "fabricore_run_queue_depth",
    help: "Runs queued and not yet claimed by an executor (every replica's: read from the database)",
    registers,
    async collect() {
      const counts = await read("queue depth", (s) => s.liveRuns());
      if (counts) this.set(counts.queued);
    },
  });
  const executing = new Gauge({
    name: "fabricore_runs_executing",
    help: "Runs this Core process is executing now (its executor slots in use)",
    registers,
    async collect() {
      const n = await read("executing", (s) => s.executing());
      if (n !== undefined) this.set(n);
    },
  });
  const runsStarted = new Counter({
    name: "fabricore_runs_started_total",
    help: "Runs that began executing in this process",
    registers,
  });
  const runsFinished = new Counter({
    name: "fabricore_runs_finished_total",
    help: "Runs this process finished, by final status and trigger",
    labelNames: ["status", "trigger"] as const,
    registers,
  });
  const runSeconds = new Histogram({
    name: "fabricore_run_duration_seconds",
    help: "Run duration from the start of execution to its final status, by trigger",
    labelNames: ["trigger"] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800, 7200],
    registers,
  });
  const steps = new Counter({
    name: "fabricore_steps_total",
    help: "Run steps stored, by type",
    labelNames: ["type"] as const,
    registers,
  });

  // Models.
  const llmRequests = new Counter({
    name: "fabricore_llm_requests_total",
    help: "Model requests by provider, model and outcome (ok, error, fallback: failed and the next model was tried, cancelled)",
    labelNames: ["provider", "model", "outcome"] as const,
    registers,
  });
  const llmSeconds = new Histogram({
    name: "fabricore_llm_request_duration_seconds",
    help: "One model request, answered or failed, by provider and model",
    labelNames: ["provider", "model"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 120],
    registers,
  });
  const llmTokens = new Counter({
    name: "fabricore_llm_tokens_total",
    help: "Tokens the providers reported, by provider, model and kind (prompt, completion)",
    labelNames: ["provider", "model", "kind"] as const,
    registers,
  });

  // Tools.
  const toolCalls = new Counter({
    name: "fabricore_tool_calls_total",
    help: "Tool calls routed to Nodes (runs and /mcp), by tool and outcome (ok, tool_error, failed)",
    labelNames: ["tool", "outcome"] as const,
    registers,
  });
  const toolCallSeconds = new Histogram({
    name: "fabricore_tool_call_duration_seconds",
    help: "Round trip of a tool call Core -> Node -> Core, by tool",
    labelNames: ["tool"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers,
  });

  // Nodes.
  const nodesOnline = new Gauge({
    name: "fabricore_nodes_online",
    help: "Nodes with a live connection to this Core process",
    registers,
    async collect() {
      const n = await read("nodes online", (s) => s.nodesOnline());
      if (n !== undefined) this.set(n);
    },
  });
  const nodeReconnects = new Counter({
    name: "fabricore_node_reconnects_total",
    help: "Connections of a Node that had been connected to this process before, by Node name (capped)",
    labelNames: ["node"] as const,
    registers,
  });
  const heartbeats = new Counter({
    name: "fabricore_node_heartbeats_total",
    help: "Heartbeats received from Nodes (each Node sends one per heartbeat interval)",
    registers,
  });

  // Input and output.
  const webhookDeliveries = new Counter({
    name: "fabricore_webhook_deliveries_total",
    help: "Webhook deliveries received, by outcome (accepted, duplicate, ping, unknown, disabled, rate_limited, …)",
    labelNames: ["outcome"] as const,
    registers,
  });
  const notifications = new Counter({
    name: "fabricore_notification_deliveries_total",
    help: "Notification delivery attempts, by channel kind and outcome (delivered, retry, failed)",
    labelNames: ["kind", "outcome"] as const,
    registers,
  });
  const notificationSeconds = new Histogram({
    name: "fabricore_notification_delivery_duration_seconds",
    help: "One notification delivery attempt, by channel kind",
    labelNames: ["kind"] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
    registers,
  });
  const notificationsPending = new Gauge({
    name: "fabricore_notification_deliveries_pending",
    help: "Notifications queued or waiting for a retry (every replica's: read from the database)",
    registers,
    async collect() {
      const n = await read("deliveries pending", (s) => s.deliveriesPending());
      if (n !== undefined) this.set(n);
    },
  });
  // Read at every scrape from whoever holds the counts (UnreadableSecrets, wired in core-secrets.ts).
  let unreadableCounts: () => Record<string, number> = () => ({});
  new Gauge({
    name: "fabricore_secrets_unreadable",
    help: "Stored sealed values this Core cannot decrypt (tampered with, or another master key), by kind",
    labelNames: ["kind"] as const,
    registers,
    collect() {
      this.reset();
      for (const [kind, count] of Object.entries(unreadableCounts())) this.set({ kind }, count);
    },
  });

  const seenNodes = new Set<string>();
  return {
    registry,
    secretsUnreadable: {
      collect(read: () => Record<string, number>) {
        unreadableCounts = read;
      },
    },
    /** Connects the scrape-time gauges to what they read (the Core does it once it has them). */
    bindSources(bound: MetricsSources) {
      sources = bound;
    },
    runsStarted,
    steps,
    heartbeats,
    webhookDeliveries,
    /** A run reached its final status after `seconds` of execution. */
    runFinished(run: { status: string; trigger: string }, seconds: number) {
      runsFinished.inc({ status: run.status, trigger: run.trigger });
      runSeconds.observe({ trigger: run.trigger }, seconds);
    },
    /** One model attempt, as the agent loop stores it (every attempt is one `llm` step). */
    llmAttempt(step: LlmStep) {
      const labels = { provider: providers.value(step.provider), model: models.value(step.model) };
      const outcome =
        step.error === undefined
          ? "ok"
          : step.errorCode === "cancelled"
            ? "cancelled"
            : step.fallback
              ? "fallback"
              : "error";
      llmRequests.inc({ ...labels, outcome });
      llmSeconds.observe(labels, step.durationMs / 1000);
      if (step.usage.promptTokens > 0) llmTokens.inc({ ...labels, kind: "prompt" }, step.usage.promptTokens);
      if (step.usage.completionTokens > 0)
        llmTokens.inc({ ...labels, kind: "completion" }, step.usage.completionTokens);
    },
    toolCall(tool: { name: string; source: string }, outcome: ToolCallOutcome, seconds: number) {
      const label = tools.value(toolLabel(tool));
      toolCalls.inc({ tool: label, outcome });
      toolCallSeconds.observe({ tool: label }, seconds);
    },
    /** A Node said hello on a new connection. */
    nodeConnected(nodeId: string, name: string) {
      if (seenNodes.has(nodeId)) nodeReconnects.inc({ node: nodes.value(name) });
      else seenNodes.add(nodeId);
    },
    notificationAttempt(kind: string, outcome: string, seconds: number) {
      notifications.inc({ kind, outcome });
      notificationSeconds.observe({ kind }, seconds);
    },
    /** Set now rather than at the next scrape (the delivery worker reads it anyway). */
    setNotificationsPending(n: number) {
      notificationsPending.set(n);
    },
    /** For tests: the gauges read at scrape time. */
    gauges: { runs, queueDepth, executing, nodesOnline },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
