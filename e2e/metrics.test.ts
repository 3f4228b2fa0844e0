/**
 * /metrics of a real Core after real work (issue 23): the Core process, the compiled Node, a
 * scripted LM Studio on loopback. A signed webhook starts a run whose job model is not loaded (the
 * run falls back to the next model) and which calls a tool on the Node; the run notifies a webhook
 * channel; the Node reconnects. Then the scrape must hold every series that work makes, pass
 * `promtool check metrics`, and serve every metric the Grafana dashboard (deploy/grafana) graphs.
 */
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type NodeProc,
  ROOT,
  startCore,
  startNode,
  waitFor,
} from "./support/harness.ts";
import { findPromtool, promqlMetricNames, promtoolCheck, sampleNames } from "./support/promtool.ts";

interface ChatBody {
  model: string;
  messages: Array<{ role: string; content?: string | null }>;
}

const promtool = findPromtool();
const secret = "metrics-webhook-secret";
let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
let node: NodeProc;
let nodeToken: string;
let receiver: Server;
const received: string[] = [];
let scrape = "";

beforeAll(async () => {
  ensureNodeBinary();
  llm = await startScriptedOpenAiServer({
    script: (request) => {
      const body = request.body as ChatBody;
      if (body.messages.some((m) => m.role === "tool"))
        return turn.text("All good: the stats came back.", { usage: { promptTokens: 200, completionTokens: 12 } });
      return turn.toolCalls([{ name: "system_stats", arguments: {} }], {
        usage: { promptTokens: 150, completionTokens: 9 },
      });
    },
  });
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      received.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  const receiverPort = (receiver.address() as { port: number }).port;

  core = await startCore({ env: { FABRICORE_DELIVERY_RETRY_BASE_MS: "200" } });
  api = await new ApiClient(core.url).login();
  await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
  const created = await api.ok("POST", "/api/nodes", { name: "metrics-node", labels: {} });
  nodeToken = created.token;
  node = startNode(core.url, nodeToken);
  await api.waitNodeOnline(created.id);
  await api.ok("POST", "/api/channels", {
    name: "ops-hook",
    kind: "webhook",
    config: { url: `http://127.0.0.1:${receiverPort}/hook` },
  });
  await api.ok("POST", "/api/jobs", {
    name: "metrics-job",
    prompt: "Check the server.",
    // Not a downloaded model: LM Studio answers 404 model_not_found, and the run falls back.
    model: { provider: "LM Studio", model: "not-downloaded-7b" },
    fallbacks: [{ provider: "LM Studio", model: "qwen2.5-7b-instruct" }],
    nodes: [created.id],
    maxSteps: 4,
    webhook: { slug: "metrics", secret },
    notify: [{ channel: "ops-hook", on: ["succeeded"] }],
  });

  // A webhook for no job, then the signed one that runs.
  expect((await fetch(`${core.url}/api/webhook/nobody`, { method: "POST", body: "{}" })).status).toBe(404);
  const body = JSON.stringify({ event: "check" });
  const signed = await fetch(`${core.url}/api/webhook/metrics`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
    },
    body,
  });
  expect(signed.status).toBe(202);
  const { runId } = (await signed.json()) as { runId: string };
  const run = await api.waitRun(runId);
  expect(run.status, JSON.stringify(run)).toBe("succeeded");
  await waitFor("the notification", () => received.length > 0, 20_000);

  // The Node goes away and comes back with its key: a reconnect.
  await node.stop();
  await waitFor("the Node offline", async () => (await api.ok("GET", `/api/nodes/${created.id}`)).status !== "online");
  node = startNode(core.url, nodeToken, [], {}, node.dataDir);
  await api.waitNodeOnline(created.id);

  scrape = await waitFor("a scrape with the delivery counted", async () => {
    const res = await fetch(`${core.url}/metrics`);
    const text = await res.text();
    return text.includes('fabricore_notification_deliveries_total{kind="webhook",outcome="delivered"} 1')
      ? text
      : undefined;
  });
}, 120_000);

afterAll(async () => {
  await node?.stop();
  await core?.proc.stop();
  await llm?.close();
  await new Promise((r) => receiver?.close(r));
});

describe("/metrics of a real Core after a real run", () => {
  it("holds the run, model, tool, Node, webhook and notification series that work made", () => {
    const expected = [
      'fabricore_runs_finished_total{status="succeeded",trigger="webhook"} 1',
      'fabricore_run_duration_seconds_count{trigger="webhook"} 1',
      'fabricore_llm_requests_total{provider="LM Studio",model="not-downloaded-7b",outcome="fallback"} 1',
      'fabricore_llm_requests_total{provider="LM Studio",model="qwen2.5-7b-instruct",outcome="ok"} 2',
      'fabricore_llm_tokens_total{provider="LM Studio",model="qwen2.5-7b-instruct",kind="prompt"} 350',
      'fabricore_llm_tokens_total{provider="LM Studio",model="qwen2.5-7b-instruct",kind="completion"} 21',
      'fabricore_tool_calls_total{tool="system_stats",outcome="ok"} 1',
      'fabricore_tool_call_duration_seconds_count{tool="system_stats"} 1',
      'fabricore_webhook_deliveries_total{outcome="unknown"} 1',
      'fabricore_webhook_deliveries_total{outcome="accepted"} 1',
      'fabricore_notification_deliveries_total{kind="webhook",outcome="delivered"} 1',
      'fabricore_node_reconnects_total{node="metrics-node"} 1',
      "fabricore_nodes_online 1",
      'fabricore_runs{status="queued"} 0',
      'fabricore_runs{status="running"} 0',
      "fabricore_run_queue_depth 0",
      "fabricore_runs_executing 0",
      "fabricore_notification_deliveries_pending 0",
    ];
    for (const line of expected) expect(scrape, line).toContain(`${line}\n`);
    expect(scrape).toMatch(/^process_cpu_seconds_total /m);
    // Bounded labels: no run id anywhere in the text.
    expect(scrape).not.toMatch(/run_id|runId|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-/);
  });

  it.skipIf(!promtool)("passes `promtool check metrics`", () => {
    const { status, problems } = promtoolCheck(promtool!, scrape);
    expect(problems).toBe("");
    expect(status).toBe(0);
  });

  it("serves every metric the Grafana dashboard graphs", () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, "deploy/grafana/fabricore.json"), "utf8"));
    const served = sampleNames(scrape);
    const exprs: string[] = [];
    const walk = (value: unknown) => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === "object") {
        for (const [key, v] of Object.entries(value)) {
          if (key === "expr" && typeof v === "string") exprs.push(v);
          else walk(v);
        }
      }
    };
    walk(dashboard.panels);
    // The query variables' label_values(...) reads a metric too.
    for (const variable of dashboard.templating.list)
      if (variable.type === "query") exprs.push(variable.query.query ?? variable.query);
    expect(exprs.length).toBeGreaterThan(10);
    const missing = exprs.flatMap((expr) =>
      promqlMetricNames(expr)
        .filter((n) => !served.has(n))
        .map((n) => `${n} in ${expr}`),
    );
    expect(missing).toEqual([]);
  });
});
