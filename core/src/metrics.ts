import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Prometheus metrics of one Core, served at GET /metrics. A registry per Core (not the global
 * one) so tests can start several Cores in one process. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "fabricore_process_" });
  const runs = new Counter({
    name: "fabricore_runs_total",
    help: "Runs finished, by final status and trigger",
    labelNames: ["status", "trigger"] as const,
    registers: [registry],
  });
  const runsStarted = new Counter({
    name: "fabricore_runs_started_total",
    help: "Runs that began executing",
    registers: [registry],
  });
  const steps = new Counter({
    name: "fabricore_steps_total",
    help: "Run steps stored, by type",
    labelNames: ["type"] as const,
    registers: [registry],
  });
  const toolCalls = new Counter({
    name: "fabricore_tool_calls_total",
    help: "Tool calls routed to Nodes, by outcome (ok, tool_error, failed)",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const toolCallSeconds = new Histogram({
    name: "fabricore_tool_call_duration_seconds",
    help: "Round trip of a tool call Core -> Node -> Core",
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
    registers: [registry],
  });
  const llmSeconds = new Histogram({
    name: "fabricore_llm_request_duration_seconds",
    help: "One model request (one agent step's model time)",
    labelNames: ["provider"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 120],
    registers: [registry],
  });
  const runSeconds = new Histogram({
    name: "fabricore_run_duration_seconds",
    help: "Run duration from start to final status",
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [registry],
  });
  const nodesOnline = new Gauge({
    name: "fabricore_nodes_online",
    help: "Nodes with a live connection to this Core",
    registers: [registry],
  });
  const heartbeats = new Counter({
    name: "fabricore_node_heartbeats_total",
    help: "Heartbeats received from Nodes (each Node sends one per heartbeat interval)",
    registers: [registry],
  });
  const webhooks = new Counter({
    name: "fabricore_webhooks_total",
    help: "Webhook deliveries, by outcome",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const deliveries = new Counter({
    name: "fabricore_deliveries_total",
    help: "Notification delivery attempts, by channel kind and outcome (delivered, retry, failed)",
    labelNames: ["kind", "outcome"] as const,
    registers: [registry],
  });
  const deliverySeconds = new Histogram({
    name: "fabricore_delivery_duration_seconds",
    help: "One notification delivery attempt, by channel kind",
    labelNames: ["kind"] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  const deliveriesPending = new Gauge({
    name: "fabricore_deliveries_pending",
    help: "Notifications queued or waiting for a retry (cluster-wide: read from the database)",
    registers: [registry],
  });
  // Read at every scrape from whoever holds the counts (UnreadableSecrets, wired in core.ts).
  let unreadableCounts: () => Record<string, number> = () => ({});
  new Gauge({
    name: "fabricore_secrets_unreadable",
    help: "Stored sealed values this Core cannot decrypt (tampered with, or another master key), by kind",
    labelNames: ["kind"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, count] of Object.entries(unreadableCounts())) this.set({ kind }, count);
    },
  });
  return {
    registry,
    secretsUnreadable: {
      collect(read: () => Record<string, number>) {
        unreadableCounts = read;
      },
    },
    deliveries,
    deliverySeconds,
    deliveriesPending,
    runs,
    runsStarted,
    steps,
    toolCalls,
    toolCallSeconds,
    llmSeconds,
    runSeconds,
    nodesOnline,
    heartbeats,
    webhooks,
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
