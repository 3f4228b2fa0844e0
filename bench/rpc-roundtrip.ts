/**
 * Tool-call round trip Core → Node → Core for a no-op tool, against a bare `ws` echo round trip
 * measured in the same run. Core side: the real NodeHub on a real node:http server in this process.
 * Node side: the real ConnectionManager + ToolDispatcher (bench/sim/fleet-sim.ts with one Node) in a
 * child process.
 */

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { NodeHub } from "@fabricore/core/nodes/node-hub.ts";
import WebSocket from "ws";
import { startFleet } from "./lib/fleet-setup.ts";
import { type Child, sleep, spawnChild, until } from "./lib/proc.ts";
import { type BenchResult, machine, type Row } from "./lib/report.ts";
import { fmt, summarize } from "./lib/stats.ts";

export interface RpcOptions {
  calls: number;
  warmup?: number;
}

/** Sequential round trips over one raw ws connection to an echo server in a child process. The
 * client stringifies and parses a message shaped like a tools/call, as the hub does. */
async function rawEcho(url: string, calls: number, warmup: number): Promise<number[]> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let pending: (() => void) | undefined;
  ws.on("message", (data) => {
    JSON.parse(data.toString());
    pending?.();
  });
  const samples: number[] = [];
  for (let i = 0; i < warmup + calls; i++) {
    const message = {
      jsonrpc: "2.0",
      id: i,
      method: "tools/call",
      params: { name: "noop", source: "builtin", arguments: {}, deadlineMs: 10_000, callId: `raw-${i}` },
    };
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      pending = resolve;
      ws.send(JSON.stringify(message));
    });
    if (i >= warmup) samples.push(performance.now() - t0);
  }
  ws.close();
  return samples;
}

async function hubCalls(hub: NodeHub, nodeId: string, tool: string, calls: number, warmup: number, tag: string) {
  const samples: number[] = [];
  for (let i = 0; i < warmup + calls; i++) {
    const t0 = performance.now();
    await hub.callTool(nodeId, {
      name: tool,
      source: "builtin",
      arguments: {},
      deadlineMs: 10_000,
      callId: `${tag}-${i}`,
    });
    if (i >= warmup) samples.push(performance.now() - t0);
  }
  return samples;
}

export async function rpcBench(options: RpcOptions): Promise<BenchResult> {
  const started = Date.now();
  const warmup = options.warmup ?? 1_000;
  const calls = options.calls;
  const rows: Row[] = [];
  const notes: string[] = [];

  const identities = new Map([["fcn_bench_sim", { nodeId: "sim", name: "sim" }]]);
  const hub = new NodeHub({
    authenticate: async (credentials) =>
      (credentials.kind === "bearer" ? identities.get(credentials.token) : undefined) ?? null,
    desiredMcpServers: async () => [],
  });
  const server = createServer((_req, res) => {
    res.writeHead(404);
    res.end();
  });
  server.on("upgrade", (req, socket, head) => {
    if (!hub.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const coreUrl = `http://127.0.0.1:${port}`;

  const echo: Child = spawnChild("bench/sim/ws-baseline.ts", { args: ["server"] });
  const fleet = await startFleet(coreUrl, [{ token: "fcn_bench_sim" }], { processes: 1 });
  try {
    const { port: echoPort } = await echo.waitMessage<{ port: number }>((m) => m?.type === "ready", 30_000);
    await until("the simulated Node online", () => hub.isOnline("sim"), 20_000);

    // Alternate baseline and FabriCore in rounds so drift (CPU frequency, other load) hits both alike.
    const raw: number[] = [];
    const fab: number[] = [];
    const rounds = 4;
    for (let r = 0; r < rounds; r++) {
      raw.push(...(await rawEcho(`ws://127.0.0.1:${echoPort}/`, calls / rounds, r === 0 ? warmup : 200)));
      fab.push(...(await hubCalls(hub, "sim", "noop", calls / rounds, r === 0 ? warmup : 200, `r${r}`)));
    }
    const rs = summarize(raw);
    const fs = summarize(fab);
    const ratio = fs.p50 / rs.p50;
    rows.push({
      metric: "noop tools/call round trip p50",
      value: `${fmt(fs.p50 * 1000)} µs`,
      baseline: `raw ws echo p50 ${fmt(rs.p50 * 1000)} µs`,
      ratio: `${fmt(ratio)}×`,
      target: "≤ 2× raw ws",
      verdict: ratio <= 2 ? "met" : "missed",
    });
    rows.push({
      metric: "noop tools/call round trip p90 / p99 / max",
      value: `${fmt(fs.p90 * 1000)} / ${fmt(fs.p99 * 1000)} / ${fmt(fs.max * 1000)} µs`,
      baseline: `raw ws ${fmt(rs.p90 * 1000)} / ${fmt(rs.p99 * 1000)} / ${fmt(rs.max * 1000)} µs`,
      ratio: `p99 ${fmt(fs.p99 / rs.p99)}×`,
    });
    rows.push({
      metric: "sequential calls per second (one connection)",
      value: fmt(1000 / fs.mean, 0),
      baseline: `raw ws ${fmt(1000 / rs.mean, 0)}`,
    });
  } finally {
    await fleet.stop();
    await echo.kill();
    await hub.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await sleep(100);
  }
  notes.push(
    "The FabriCore round trip includes what the raw echo does not: zod validation of the request params on the Node " +
      "and of the result on the Core, the dispatcher's callId bookkeeping and deadline timer, and two JSON-RPC envelopes.",
  );
  return {
    id: "rpc",
    title: "Tool-call round trip",
    method:
      `${calls} sequential noop \`tools/call\`s (after ${warmup} warm-up calls) from NodeHub.callTool in the bench ` +
      "process over a real loopback WebSocket to one simulated Node in a child process (the real node/src " +
      "ConnectionManager, RpcPeer and ToolDispatcher; only the tool is a stub). Baseline: the same number of sequential " +
      "round trips of a same-sized JSON message over one bare `ws` connection to an echo server in a child process. " +
      "The two alternate in 4 rounds so that drift affects both.",
    rows,
    notes,
    measuredAt: new Date().toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: machine(),
  };
}
