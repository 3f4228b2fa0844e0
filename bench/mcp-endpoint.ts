/**
 * The fleet as an MCP server (issue 16), measured through the real pieces in one run: the Core
 * (createCore, the composition root main.ts uses) in this process and the compiled Node binary on
 * loopback, the Node's built-in `read_file` of a 201-byte file.
 *
 * 1. Raw Node call: NodeHub.callTool, Core → WebSocket → Node and back (what every path below
 *    ends in).
 * 2. Through `/mcp`: the MCP SDK's client over Streamable HTTP calling `<node>__read_file` with an
 *    API token — HTTP, bearer check, the token's catalog, rate limit, audit record, then (1).
 *    Alternating rounds with (1), so drift hits both alike.
 * 3. As a REST job's tool step: a job run through the API with a scripted LM Studio model that
 *    calls read_file once per turn; the step duration the Core records, and for one-call jobs the
 *    whole run from `POST /api/jobs/:id/run` to `succeeded`.
 *
 *   node bench/mcp-endpoint.ts [--calls N]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { createCore } from "@fabricore/core/core.ts";
import type { FleetNode, TokenScopes } from "@fabricore/core/database/types.ts";
import { loadCoreEnv } from "@fabricore/core/env.ts";
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import { startScriptedOpenAiServer } from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { FleetCatalog } from "@fabricore/core/mcp-server/fleet-catalog.ts";
import { selectorMatches } from "@fabricore/core/services/token-scopes.ts";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import pino from "pino";
import { ADMIN_PASSWORD, adminApi, tempDir } from "./lib/fleet-setup.ts";
import { freePort, NODE_BINARY, sleep, until } from "./lib/proc.ts";
import { type BenchResult, machine, printResult, type Row } from "./lib/report.ts";
import { fmt, type Summary, summarize } from "./lib/stats.ts";

export interface McpEndpointBenchOptions {
  /** Round trips per side (after the warm-up). */
  calls?: number;
  warmup?: number;
  /** Tool steps in the reference run. */
  runSteps?: number;
  /** One-call runs timed end to end. */
  runs?: number;
}

type RunView = { status: string; steps: Array<{ type: string; durationMs: number; isError?: boolean }> };

export async function mcpEndpointBench(options: McpEndpointBenchOptions = {}): Promise<BenchResult> {
  const started = Date.now();
  const calls = options.calls ?? 1_000;
  const warmup = options.warmup ?? 100;
  const runSteps = options.runSteps ?? 30;
  const runs = options.runs ?? 20;
  const rows: Row[] = [];
  const loadAtStart = loadavg()[0] ?? 0;

  const readRoot = tempDir("mcp-endpoint-bench-read");
  const file = join(readRoot, "marker.txt");
  const content = `${"x".repeat(200)}\n`;
  writeFileSync(file, content);
  const coreDir = tempDir("mcp-endpoint-bench-core");
  const nodeDir = tempDir("mcp-endpoint-bench-node");
  const port = await freePort();
  const core = await createCore(
    loadCoreEnv({
      FABRICORE_DATA_DIR: coreDir,
      FABRICORE_PORT: String(port),
      FABRICORE_HOST: "127.0.0.1",
      FABRICORE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      FABRICORE_LOG_LEVEL: "error",
      // The default (120 a minute per token) is for people's clients; the bench makes thousands.
      FABRICORE_MCP_CALLS_PER_MINUTE: "1000000",
    }),
    { logger: pino({ level: "error" }) },
  );
  await core.listen();
  const url = `http://127.0.0.1:${port}`;
  const api = await adminApi(url);
  const hub = core.ctx.hub;
  const llm = await startScriptedOpenAiServer({ script: (request) => referenceScript(request, file) });
  let node: ChildProcess | undefined;
  let client: Client | undefined;
  try {
    const created = await api<{ id: string; token: string }>("POST", "/api/nodes", { name: "bench" });
    const nodeId = created.id;
    node = spawn(NODE_BINARY, ["--core", url, "--data-dir", nodeDir, "--read-root", readRoot, "--log-level", "error"], {
      env: { ...process.env, FABRICORE_NODE_TOKEN: created.token },
      stdio: "ignore",
    });
    await until("the Node online", () => hub.isOnline(nodeId), 30_000);

    const expected = JSON.stringify([{ type: "text", text: content }]);
    let seq = 0;
    const raw = async (n: number) => {
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const result = await hub.callTool(nodeId, {
          name: "read_file",
          source: "builtin",
          arguments: { path: file },
          deadlineMs: 10_000,
          callId: `bench-${seq++}`,
        });
        samples.push(performance.now() - t0);
        if (result.isError || JSON.stringify(result.content) !== expected)
          throw new Error(`unexpected raw result: ${JSON.stringify(result).slice(0, 300)}`);
      }
      return samples;
    };
    const { token } = await api<{ token: string }>("POST", "/api/tokens", { name: "bench-client" });
    client = new Client({ name: "fabricore-bench", version: "0.1.0" });
    const connectStart = performance.now();
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    const connectMs = performance.now() - connectStart;
    const mcpClient = client;
    const viaMcp = async (n: number) => {
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const result = await mcpClient.callTool({ name: "bench__read_file", arguments: { path: file } });
        samples.push(performance.now() - t0);
        if (result.isError || JSON.stringify(result.content) !== expected)
          throw new Error(`unexpected /mcp result: ${JSON.stringify(result).slice(0, 300)}`);
      }
      return samples;
    };
    const listSamples: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      const { tools } = await mcpClient.listTools();
      listSamples.push(performance.now() - t0);
      if (!tools.some((t) => t.name === "bench__read_file")) throw new Error("bench__read_file not listed");
    }

    await raw(warmup);
    await viaMcp(warmup);
    const rawSamples: number[] = [];
    const mcpSamples: number[] = [];
    const rounds = 4;
    for (let r = 0; r < rounds; r++) {
      rawSamples.push(...(await raw(Math.ceil(calls / rounds))));
      mcpSamples.push(...(await viaMcp(Math.ceil(calls / rounds))));
    }
    const rs = summarize(rawSamples);
    const ms = summarize(mcpSamples);
    rows.push({
      metric: "read_file round trip through /mcp (MCP SDK client, Streamable HTTP), p50",
      value: `${fmt(ms.p50)} ms`,
      baseline: `raw Node call (NodeHub.callTool) p50 ${fmt(rs.p50)} ms`,
      ratio: `${fmt(ms.p50 / rs.p50)}×`,
    });
    rows.push({
      metric: "read_file round trip through /mcp, p90 / p99 / max",
      value: ms3(ms),
      baseline: `raw ${ms3(rs)}`,
      ratio: `p99 ${fmt(ms.p99 / rs.p99)}×`,
    });
    rows.push({ metric: "added by /mcp (HTTP, auth, catalog, audit), p50", value: `${fmt(ms.p50 - rs.p50)} ms` });
    const ls = summarize(listSamples);
    rows.push({ metric: "tools/list through /mcp, p50 (1 Node, 50 lists)", value: `${fmt(ls.p50)} ms` });
    rows.push({ metric: "MCP session set-up (initialize + initialized)", value: `${fmt(connectMs)} ms` });
    rows.push(...(await catalogAtScale(10_000)));

    // 3. The same call as a REST job's tool step, then one-call runs end to end.
    await api("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
    const model = { provider: "LM Studio", model: "qwen2.5-7b-instruct" };
    const many = await api<{ id: string }>("POST", "/api/jobs", {
      name: "bench-steps",
      prompt: `STEPS:${runSteps}`,
      model,
      nodes: [nodeId],
      tools: ["read_file"],
      maxSteps: runSteps + 2,
    });
    const stepRun = await runToEnd(api, many.id);
    const toolSteps = stepRun.steps.filter((s) => s.type === "tool");
    if (stepRun.status !== "succeeded" || toolSteps.length !== runSteps || toolSteps.some((s) => s.isError))
      throw new Error(`the reference run went wrong: ${JSON.stringify(stepRun).slice(0, 500)}`);
    const ts = summarize(toolSteps.map((s) => s.durationMs));
    rows.push({
      metric: `the call as a REST job's tool step (durationMs recorded by the Core), p50 (${runSteps} steps)`,
      value: `${fmt(ts.p50)} ms`,
      baseline: `raw p50 ${fmt(rs.p50)} ms; /mcp p50 ${fmt(ms.p50)} ms`,
      ratio: `${fmt(ts.p50 / rs.p50)}× raw`,
    });
    const one = await api<{ id: string }>("POST", "/api/jobs", {
      name: "bench-one",
      prompt: "STEPS:1",
      model,
      nodes: [nodeId],
      tools: ["read_file"],
      maxSteps: 3,
    });
    const whole: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const r = await runToEnd(api, one.id, 2);
      whole.push(performance.now() - t0);
      if (r.status !== "succeeded") throw new Error(`a one-call run ${r.status}`);
    }
    const ws = summarize(whole);
    rows.push({
      metric: `a one-call job via REST, POST /api/jobs/:id/run → succeeded (polled every 2 ms), p50 (${runs} runs)`,
      value: `${fmt(ws.p50)} ms`,
      baseline: `/mcp call p50 ${fmt(ms.p50)} ms`,
      ratio: `${fmt(ws.p50 / ms.p50)}×`,
    });
  } finally {
    await client?.close().catch(() => {});
    if (node && node.exitCode === null) {
      const exited = new Promise((resolve) => node?.once("exit", resolve));
      node.kill("SIGTERM");
      await Promise.race([exited, sleep(5_000)]);
    }
    await core.close();
    await llm.close();
    for (const dir of [readRoot, coreDir, nodeDir]) rmSync(dir, { recursive: true, force: true });
  }

  return {
    id: "mcp-endpoint",
    title: "The fleet as an MCP server",
    method:
      "The real Core (createCore) in the bench process and the compiled Node binary (dist/fabricore-node) on " +
      `loopback; the Node's built-in read_file of a 201-byte file. ${calls} sequential calls per side after ${warmup} ` +
      "warm-up calls, alternating in 4 rounds: through /mcp with the MCP SDK's Client and " +
      "StreamableHTTPClientTransport (one session, an admin's API token, the rate limit raised for the bench), and " +
      "the raw Core → Node call (NodeHub.callTool) that /mcp and a job both end in. Then the same call as a REST " +
      `job's tool step (scripted LM Studio model, ${runSteps} steps in one run) and ${runs} one-call runs timed from ` +
      "POST /api/jobs/:id/run to status succeeded.",
    rows,
    notes: [
      "/mcp adds to the raw call: an HTTP request with JSON-RPC (the SDK answers each POST as a short SSE " +
        "stream, so progress can be sent), the bearer token looked up by its hash in the database (its last use " +
        "written at most once a minute), the token's tool catalog built from " +
        "storage and the hub on every call (so a revoked token or a Node gone counts at once), the rate limiter, " +
        "and one audit record written to the database before the answer.",
      "The catalog rows time FleetCatalog.build, which every tools/list, tools/call and list-changed check runs, " +
        "over 10,000 stand-in Nodes with one shared tool list; before it reused the naming of an unchanged fleet " +
        "and grouped tools per Node in one pass it took seconds per build at this size (core/src/mcp-server/" +
        "fleet-catalog.test.ts keeps it under a second).",
      "A job's tool step also includes the agent loop and the step written to the database (its durationMs is " +
        "whole milliseconds, so its p50 is coarse); a whole run adds the queue, two model turns (scripted, on " +
        "loopback) and the client's polling.",
      `Load average (1 min) at the start: ${fmt(loadAtStart)} on ${availableParallelism()} cores; tails follow ` +
        "other load on the machine, the p50s much less.",
    ],
    measuredAt: new Date().toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: machine(),
  };
}

/**
 * What every /mcp list and call builds first, at fleet size: the real FleetCatalog over `count`
 * Nodes with three tools each (the hub's shared tool list), in this process. Only the storage and
 * the hub are stand-ins: the fleet bench's thousands of simulated Nodes would measure the same
 * code with the machine's other work on top.
 */
async function catalogAtScale(count: number): Promise<Row[]> {
  const schema = { type: "object", properties: { path: { type: "string" } } };
  const tools = ["read_file", "system_stats", "exec_command"].map((name) => ({
    name,
    source: "builtin",
    description: `${name} on this server`,
    inputSchema: schema,
  }));
  const nodes = Array.from(
    { length: count },
    (_, i) =>
      ({ id: `node-${i}`, name: `web-${i}`, labels: { env: i % 2 ? "prod" : "staging" } }) as unknown as FleetNode,
  );
  const catalog = new FleetCatalog({
    listNodes: async () => nodes,
    hub: { get: () => ({ tools }) as never },
    selectorMatches,
  });
  const rows: Row[] = [];
  const cases: Array<[TokenScopes | undefined, string]> = [
    [undefined, "every Node"],
    [{ selector: "env=prod", tools: ["read_file"] }, "a scoped token (half the Nodes, one tool)"],
  ];
  for (const [scopes, what] of cases) {
    const t0 = performance.now();
    await catalog.build(scopes);
    const first = performance.now() - t0;
    const samples: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t1 = performance.now();
      await catalog.build(scopes);
      samples.push(performance.now() - t1);
    }
    rows.push({
      metric: `the tool catalog of ${count.toLocaleString("en-US")} Nodes × 3 tools for ${what}, p50 of 20 builds`,
      value: `${fmt(summarize(samples).p50)} ms`,
      baseline: `first build (names the fleet) ${fmt(first)} ms`,
    });
  }
  return rows;
}

function ms3(s: Summary): string {
  return `${fmt(s.p90)} / ${fmt(s.p99)} / ${fmt(s.max)} ms`;
}

async function runToEnd(api: Awaited<ReturnType<typeof adminApi>>, jobId: string, everyMs = 50): Promise<RunView> {
  const { runId } = await api<{ runId: string }>("POST", `/api/jobs/${jobId}/run`, {});
  return until(
    `run ${runId} to finish`,
    async () => {
      const r = await api<RunView>("GET", `/api/runs/${runId}`);
      return ["succeeded", "failed", "cancelled"].includes(r.status) ? r : undefined;
    },
    120_000,
    everyMs,
  );
}

/** The scripted model: `STEPS:n` in the prompt, it calls read_file once per turn n times, then answers. */
function referenceScript(request: RecordedRequest, path: string) {
  const body = request.body as {
    messages: Array<{ role: string; content?: string | null }>;
    tools?: Array<{ function: { name: string } }>;
  };
  const offered = (body.tools ?? []).map((t) => t.function.name);
  if (offered.join() !== "read_file") return turn.text(`unexpected tools offered: ${offered.join(", ")}`);
  const steps = Number(/STEPS:(\d+)/.exec(body.messages.find((m) => m.role === "user")?.content ?? "")?.[1] ?? 1);
  const done = body.messages.filter((m) => m.role === "tool").length;
  if (done >= steps) return turn.text("done");
  return turn.toolCalls([{ name: "read_file", arguments: { path } }]);
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { calls: { type: "string" } } });
  printResult(await mcpEndpointBench(values.calls !== undefined ? { calls: Number(values.calls) } : {}));
}
