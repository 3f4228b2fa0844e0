/**
 * The Node executable (dist/fabricore-node, `bun build --compile`): size on disk, start time (spawn →
 * connected and greeted by a real Core) and idle RSS, against a bare `bun build --compile` hello world
 * that keeps one WebSocket open (bench/fixtures/hello-socket.ts), compiled and measured in the same run.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createCore } from "@fabricore/core/core.ts";
import { loadCoreEnv } from "@fabricore/core/env.ts";
import pino from "pino";
import { WebSocketServer } from "ws";
import { ADMIN_PASSWORD, adminApi, tempDir } from "./lib/fleet-setup.ts";
import { NODE_BINARY, ROOT, rssBytes, sleep } from "./lib/proc.ts";
import { type BenchResult, machine, type Row } from "./lib/report.ts";
import { fmt, fmtBytes, summarize } from "./lib/stats.ts";

export interface NodeBinaryOptions {
  starts: number;
  idleSeconds: number;
  /** The executable to measure; default dist/fabricore-node (another build, to compare two side by side). */
  binary?: string | undefined;
}

async function waitUntil(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}

export async function nodeBinaryBench(options: NodeBinaryOptions): Promise<BenchResult> {
  const started = Date.now();
  const binary = options.binary ?? NODE_BINARY;
  const rows: Row[] = [];
  const notes: string[] = [];

  // The baseline, compiled now with the same Bun and flags as `make build-node` (Makefile BUN_BYTECODE,
  // BUN_JIT, BUN_NO_AUTOLOAD; the sourcemap and externals do not apply to it).
  const helloBin = join(tempDir("hello"), "hello-socket");
  const buildStart = performance.now();
  execFileSync(
    join(ROOT, "node_modules/.bin/bun"),
    [
      "build",
      "--compile",
      "--minify",
      "--bytecode",
      "--format=esm",
      "--compile-jit-policy=100",
      "--no-compile-autoload-dotenv",
      "--no-compile-autoload-bunfig",
      join(ROOT, "bench/fixtures/hello-socket.ts"),
      "--outfile",
      helloBin,
    ],
    { stdio: "ignore" },
  );
  const helloBuildMs = performance.now() - buildStart;

  // Baseline server: a bare ws server that timestamps each connection.
  let lastConnectionAt = 0;
  let helloConnections = 0;
  const server = createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on("connection", (ws) => {
    lastConnectionAt = performance.now();
    helloConnections += 1;
    ws.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const helloUrl = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  // The real Core, in this process so that "online" is seen the moment the hub accepts the hello.
  const env = loadCoreEnv({
    FABRICORE_DATA_DIR: tempDir("node-binary-core"),
    FABRICORE_PORT: "0",
    FABRICORE_HOST: "127.0.0.1",
    FABRICORE_ADMIN_PASSWORD: ADMIN_PASSWORD,
  });
  const core = await createCore(env, { logger: pino({ level: "error" }) });
  const url = (await core.listen()).replace("[::1]", "127.0.0.1");
  const api = await adminApi(url);
  const created = await api<{ id: string; token: string }>("POST", "/api/nodes", { name: "bench-binary" });
  const nodeData = tempDir("node-binary-data");
  const nodeArgs = ["--core", url, "--data-dir", nodeData, "--log-level", "error"];
  const children: ChildProcess[] = [];
  try {
    // First start: enrolls with the token (key generated, POST /api/nodes/enroll), then connects.
    const t0 = performance.now();
    const first = spawn(binary, [...nodeArgs, "--token", created.token], { stdio: "ignore" });
    children.push(first);
    await waitUntil(() => core.ctx.hub.isOnline(created.id), 30_000);
    const firstStartMs = performance.now() - t0;
    await stop(first);
    await waitUntil(() => !core.ctx.hub.isOnline(created.id), 10_000);

    const nodeStarts: number[] = [];
    const helloStarts: number[] = [];
    let nodeRss = 0;
    let helloRss = 0;
    for (let i = 0; i < options.starts; i++) {
      const a = performance.now();
      const node = spawn(binary, nodeArgs, { stdio: "ignore" });
      children.push(node);
      await waitUntil(() => core.ctx.hub.isOnline(created.id), 30_000);
      nodeStarts.push(performance.now() - a);

      const before = helloConnections;
      const b = performance.now();
      const hello = spawn(helloBin, [helloUrl], { stdio: "ignore" });
      children.push(hello);
      await waitUntil(() => helloConnections > before, 30_000);
      helloStarts.push(lastConnectionAt - b);

      if (i === options.starts - 1) {
        // Idle: connected, heartbeating, nothing to do.
        await sleep(options.idleSeconds * 1000);
        nodeRss = rssBytes(node.pid!);
        helloRss = rssBytes(hello.pid!);
      }
      await stop(node);
      await stop(hello);
      await waitUntil(() => !core.ctx.hub.isOnline(created.id), 10_000);
    }
    const size = statSync(binary).size;
    const helloSize = statSync(helloBin).size;
    const ns = summarize(nodeStarts);
    const hs = summarize(helloStarts);
    rows.push({
      metric: "executable size",
      value: fmtBytes(size),
      baseline: `hello world ${fmtBytes(helloSize)}`,
      ratio: `+${fmtBytes(size - helloSize)}`,
    });
    rows.push({
      metric: `idle RSS (connected ${options.idleSeconds} s, heartbeating)`,
      value: fmtBytes(nodeRss),
      baseline: `hello world with one socket ${fmtBytes(helloRss)}`,
      ratio: `${fmt(nodeRss / helloRss)}×`,
    });
    rows.push({
      metric: `start → connected and greeted by the Core, p50 of ${options.starts} (already enrolled)`,
      value: `${fmt(ns.p50)} ms (max ${fmt(ns.max)} ms)`,
      baseline: `hello world start → socket open p50 ${fmt(hs.p50)} ms`,
      ratio: `+${fmt(ns.p50 - hs.p50)} ms`,
    });
    rows.push({
      metric: "first start (key generated, enrolled with the token, then connected)",
      value: `${fmt(firstStartMs)} ms`,
    });
    notes.push(
      `The hello world was compiled in this run with the same Bun (${fmt(helloBuildMs / 1000)} s). "Greeted" means the ` +
        "Core's hub accepted the Node's hello: challenge fetched, signature checked, socket upgraded, tools announced. " +
        "The Node also pings Docker at start (2 s timeout when no daemon answers) before it dials. It runs no MCP " +
        "server here: the MCP SDK is loaded with the first one (node/src/mcp/mcp-manager.ts), not at start.",
    );
    notes.push(
      "What is left above the hello world, largest first: the Bun runtime's node:http, node:https and node:crypto " +
        "(the Core's challenge and enrollment over HTTP(S), the Ed25519 signature, the ws client, the Docker socket), " +
        "then zod and protocol's schemas, all built at start (protocol/src/tools.ts also converts the built-in tools' " +
        "schemas to JSON Schema when it loads); the Node's own modules add little. The extra size is mostly the " +
        "bytecode compiled in for start time (Makefile BUN_BYTECODE).",
    );
  } finally {
    for (const child of children) await stop(child);
    await core.close();
    wss.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
  return {
    id: "node-binary",
    title: "The Node executable",
    method:
      `dist/fabricore-node as \`make build-node\` wrote it. Start time: ${options.starts} starts of the already-enrolled ` +
      "Node, each timed from spawn until the real Core (createCore, in the bench process) has the Node online. Idle RSS " +
      `from /proc after ${options.idleSeconds} s connected. Baseline: bench/fixtures/hello-socket.ts compiled in the same run ` +
      "with the same `bun build --compile` flags, started the same number of times against a bare ws server, timed to its socket " +
      "open, RSS read at the same moment.",
    rows,
    notes,
    measuredAt: new Date().toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: machine(),
  };
}
