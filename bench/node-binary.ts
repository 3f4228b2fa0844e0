/**
 * The Node executable (dist/fabricore-node, `bun build --compile`): size on disk, start time (spawn →
 * connected and greeted by a real Core) and idle RSS, against a bare `bun build --compile` hello world
 * that keeps one WebSocket open (bench/fixtures/hello-socket.ts), compiled and measured in the same run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, copyFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createCore } from "@fabricore/core/core.ts";
import { loadCoreEnv } from "@fabricore/core/env.ts";
import pino from "pino";
import { WebSocketServer } from "ws";
import { compile, dropFromPageCache, gzipSize, measureProbes, PROBES, rssSplit } from "./lib/binary-probes.ts";
import { ADMIN_PASSWORD, adminApi, tempDir } from "./lib/fleet-setup.ts";
import { idleWithMcpServer } from "./lib/node-with-mcp.ts";
import { NODE_BINARY, ROOT, sleep } from "./lib/proc.ts";
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

  // The baseline, compiled now with the same Bun and flags as `make build-node` (lib/binary-probes.ts).
  const helloDir = tempDir("hello");
  const helloBin = join(helloDir, "hello-socket");
  const buildStart = performance.now();
  compile(join(ROOT, "bench/fixtures/hello-socket.ts"), helloBin);
  const helloBuildMs = performance.now() - buildStart;
  // The Node runs from a copy written now, like the hello world just compiled: their pages start in the
  // same page-cache state (lib/binary-probes.ts dropFromPageCache says why that matters), however long
  // ago `make build-node` wrote the original.
  const running = join(helloDir, "fabricore-node");
  copyFileSync(binary, running);
  chmodSync(running, 0o755);

  // Baseline server: a bare ws server that timestamps each connection.
  let lastConnectionAt = 0;
  let helloConnections = 0;
  // Plain requests (the probes' one POST, like the Node's challenge request) get an empty JSON answer.
  const server = createServer((_request, response) => {
    response.setHeader("content-type", "application/json");
    response.end("{}");
  });
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
    const first = spawn(running, [...nodeArgs, "--token", created.token], { stdio: "ignore" });
    children.push(first);
    await waitUntil(() => core.ctx.hub.isOnline(created.id), 30_000);
    const firstStartMs = performance.now() - t0;
    await stop(first);
    await waitUntil(() => !core.ctx.hub.isOnline(created.id), 10_000);

    const nodeStarts: number[] = [];
    const helloStarts: number[] = [];
    let nodeRss = { rss: 0, file: 0, anon: 0 };
    let helloRss = { rss: 0, file: 0, anon: 0 };
    for (let i = 0; i < options.starts; i++) {
      const a = performance.now();
      const node = spawn(running, nodeArgs, { stdio: "ignore" });
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
        nodeRss = rssSplit(node.pid!);
        helloRss = rssSplit(hello.pid!);
      }
      await stop(node);
      await stop(hello);
      await waitUntil(() => !core.ctx.hub.isOnline(created.id), 10_000);
    }
    // Once more with both executables read from disk (lib/binary-probes.ts dropFromPageCache): the same
    // state for both, whatever happened to either file since it was written.
    dropFromPageCache(running);
    dropFromPageCache(helloBin);
    const coldNode = spawn(running, nodeArgs, { stdio: "ignore" });
    children.push(coldNode);
    await waitUntil(() => core.ctx.hub.isOnline(created.id), 30_000);
    const coldBefore = helloConnections;
    const coldHello = spawn(helloBin, [helloUrl], { stdio: "ignore" });
    children.push(coldHello);
    await waitUntil(() => helloConnections > coldBefore, 30_000);
    await sleep(options.idleSeconds * 1000);
    const [coldNodeRss, coldHelloRss] = [rssSplit(coldNode.pid!), rssSplit(coldHello.pid!)];
    await stop(coldNode);
    await stop(coldHello);
    await waitUntil(() => !core.ctx.hub.isOnline(created.id), 10_000);
    // What each part of the Node's start costs, measured the same way (bench/fixtures/probes).
    const probes = await measureProbes({
      dir: helloDir,
      url: helloUrl,
      idleMs: options.idleSeconds * 1000,
      connections: () => helloConnections,
    });
    // The same Node once it runs one MCP server (the manager and the MCP SDK are loaded with the first).
    // Read from disk as well, so it compares with the cold idle row.
    dropFromPageCache(running);
    const withMcp = await idleWithMcpServer({
      binary: running,
      coreUrl: url,
      api,
      idleMs: options.idleSeconds * 1000,
      online: (id) => core.ctx.hub.isOnline(id),
      rss: rssSplit,
    });
    const size = statSync(binary).size;
    const helloSize = statSync(helloBin).size;
    const [gzipped, helloGzipped] = [await gzipSize(binary), await gzipSize(helloBin)];
    const ns = summarize(nodeStarts);
    const hs = summarize(helloStarts);
    rows.push({
      metric: "executable size",
      value: fmtBytes(size),
      baseline: `hello world ${fmtBytes(helloSize)}`,
      ratio: `+${fmtBytes(size - helloSize)}`,
    });
    rows.push({
      metric: "download size (gzip level 6, as GET /api/nodes/binary/:platform sends it)",
      value: fmtBytes(gzipped),
      baseline: `hello world ${fmtBytes(helloGzipped)}`,
      ratio: `+${fmtBytes(gzipped - helloGzipped)}`,
    });
    const ratio = nodeRss.rss / helloRss.rss;
    rows.push({
      metric: `idle RSS (connected ${options.idleSeconds} s, heartbeating)`,
      value: fmtBytes(nodeRss.rss),
      baseline: `hello world with one socket ${fmtBytes(helloRss.rss)}`,
      ratio: `${fmt(ratio)}×`,
      target: "≤ 1.3×",
      verdict: ratio <= 1.3 ? "met" : "missed",
    });
    rows.push({
      metric: `idle RSS, both executables read from disk (page cache dropped for the two files first)`,
      value: fmtBytes(coldNodeRss.rss),
      baseline: `hello world ${fmtBytes(coldHelloRss.rss)}`,
      ratio: `${fmt(coldNodeRss.rss / coldHelloRss.rss)}×`,
    });
    rows.push({
      metric: `idle RSS with one MCP server running (filesystem preset, connected ${options.idleSeconds} s, executable read from disk)`,
      value: fmtBytes(withMcp.rss),
      baseline: `the idle Node without one, read from disk too: ${fmtBytes(coldNodeRss.rss)}`,
      ratio: `+${fmtBytes(withMcp.rss - coldNodeRss.rss)} (${fmt(withMcp.rss / coldHelloRss.rss)}× the hello world read from disk)`,
    });
    rows.push({
      metric:
        "idle RSS: pages of the executable (Bun's code and data, the embedded bundle) / anonymous (JS heap, malloc, JIT)",
      value: `${fmtBytes(nodeRss.file)} / ${fmtBytes(nodeRss.anon)}`,
      baseline: `hello world ${fmtBytes(helloRss.file)} / ${fmtBytes(helloRss.anon)}`,
      ratio: `+${fmtBytes(nodeRss.file - helloRss.file)} / +${fmtBytes(nodeRss.anon - helloRss.anon)}`,
    });
    for (const probe of PROBES) {
      const measured = probes.get(probe.name);
      if (!measured) continue;
      rows.push({
        metric: `probe: idle RSS of the hello world + ${probe.loads}`,
        value: fmtBytes(measured.rss),
        baseline: `hello world ${fmtBytes(helloRss.rss)}`,
        ratio: `${fmt(measured.rss / helloRss.rss)}× (+${fmtBytes(measured.rss - helloRss.rss)})`,
      });
    }
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
        "server here: the MCP manager and the MCP SDK are built with the first one (node/src/mcp/lazy-mcp.ts); until " +
        "then, on each empty desired set, the Node lists the containers labelled for it, as the manager did, and " +
        "builds the manager only to remove any it finds. The row with one MCP server is a second Node given the " +
        "filesystem preset through POST /api/nodes/:id/mcp, read after the same idle time with its server running.",
    );
    notes.push(
      "The executables' pages in RSS depend on the page cache: the kernel maps whole cached folios around each " +
        "fault, and a file just written by the compiler sits in larger folios than one read back from disk. The " +
        "same build measured ~2.4 MiB apart depending on that (and 1.69× instead of 1.90× when the Node's file had " +
        "been read back from disk while the hello world was fresh), so the Node now runs from a copy written in this " +
        "run, next to the hello world compiled in it; the " +
        `row "read from disk" drops both files from the cache first (${fmtBytes(coldNodeRss.file)} / ` +
        `${fmtBytes(coldHelloRss.file)} of executable pages there, against ${fmtBytes(nodeRss.file)} / ` +
        `${fmtBytes(helloRss.file)} warm), which costs the hello world proportionally more.`,
    );
    notes.push(
      "Tried in this round, against the previous build in the same run (idle RSS, median of 3, all executables " +
        "dropped from the page cache first): building the MCP manager with the first server (node/src/mcp/lazy-mcp.ts) " +
        "and zod without its eval'd per-schema fast parsers in the compiled Node (node/src/zod-jitless.ts) together " +
        "48.8 → 48.1 MiB. Measured and not kept: the Docker ping and container list over Bun's fetch on the unix " +
        "socket instead of node:http, and the built-in tools' JSON Schemas written out at build time instead of " +
        "`z.toJSONSchema` at load (a probe of zod alone puts 1.1 MiB on it, but not the Node): no change. Code in the " +
        "bundle that is never evaluated still costs: a Node whose MCP code is bundled but never imported held ~1.4 MiB " +
        "more executable pages than one without it, and `bun build --compile` cannot split it into a chunk of its " +
        "own. Bun's WebSocket (1.4.5) offers neither the socket's byte count nor the peer certificate, so the " +
        "Node's socket stays npm ws on node:http.",
    );
    notes.push(
      "Tried in the next round (issue 18, same method, previous build in the same run): protocol's top-level " +
        "schemas built on first use in the compiled Node (protocol/src/lazy-schema.ts: a Proxy under Bun that builds " +
        "the real schema on its first property access; built at once on Node.js and in the browser, so the Core and " +
        "the UI keep zod's own objects) 48.3 → 47.4 MiB (anonymous 11.8 → 11.1 MiB); the protocol probe went " +
        "31.4 → 29.2 MiB and the native-floor probe 34.9 → 32.7 MiB against a 22.9 MiB hello world (all read from " +
        "disk). Measured and not kept: the MCP manager compiled as a second entry point of the executable and " +
        "imported by a computed path, so its code is no longer part of the main bundle, 48.2 → 47.3 MiB (a Node " +
        "without that code at all: 46.9 MiB); but `bun build --compile` bundles each entry point whole, so the " +
        "second one carried its own copies of zod, protocol and the Node's runtime modules (338 modules instead of " +
        "168 + the MCP part): `instanceof ProtocolError` and the Docker errors would no longer match across the two, " +
        "and a Node running an MCP server would load zod and protocol twice. Also not kept: the identity's POST on " +
        "Bun's fetch instead of node:http while the socket stays npm ws (all-parts probe with fetch 39.7 against " +
        "38.6 MiB: +1.1 MiB, as ws loads node:http and node:https anyway). `sideEffects: false` or `@__PURE__` " +
        "annotations for protocol: not measured on its own, as all of protocol in the Node's bundle is ~40 KB of " +
        "JS of which the Node uses nearly every module (frames, catalogs, tools, MCP specs, egress, mounts), and " +
        "with the schemas lazy the unused ones are no longer built.",
    );
    const cost = (name: string) => {
      const measured = probes.get(name);
      return measured ? fmtBytes(measured.rss - helloRss.rss) : "n/a";
    };
    const floor = probes.get("native-floor");
    const allParts = probes.get("all-parts");
    const rest = allParts ? fmtBytes(nodeRss.rss - allParts.rss) : "n/a";
    notes.push(
      `What the idle Node holds above the hello world (+${fmtBytes(nodeRss.rss - helloRss.rss)}): ` +
        `${fmtBytes(nodeRss.file - helloRss.file)} more pages of the executable and ` +
        `${fmtBytes(nodeRss.anon - helloRss.anon)} more anonymous memory. The probes (bench/fixtures/probes, each the ` +
        "hello world plus one part of the Node's start, compiled and measured in this run) put most of it on the " +
        `runtime parts the Node uses: zod alone costs ${cost("zod")}, all of @fabricore/protocol ` +
        `${cost("protocol")}, node:http/node:https with an Ed25519 signature ${cost("node-http")}, npm ws as the ` +
        `socket ${cost("ws-npm")}; these overlap (ws runs on node:http), and all of them together cost ${cost("all-parts")}, ` +
        `so the Node's own modules (tools, connection, identity, the lazy MCP provider and its Docker client, and the bundled code it never runs) hold the other ${rest}. ` +
        `Most of it is Bun's machine code that the ` +
        "extra runtime paths touch (node:http's JS over its native sockets, BoringSSL, zlib for ws) and the heap of " +
        "the modules and their zod schemas, which are built when they load. The JIT is not it: keeping the start's " +
        "raised tier-up thresholds after connecting changes nothing measurable, and a JIT turned off entirely saves ~3 MiB.",
    );
    notes.push(
      `Why ≤ 1.3× is out of reach as built: the protocol alone is ${cost("protocol")} above the hello world, and a ` +
        "Node moved onto Bun's own fetch and WebSocket (no node:http, no npm ws; the native-floor probe: protocol, " +
        `Ed25519, one fetch, Bun's socket) would still hold ${floor ? fmtBytes(floor.rss) : "n/a"} ` +
        `(${floor ? fmt(floor.rss / helloRss.rss) : "n/a"}×). Getting there needs both: the transport and the ` +
        "identity's HTTP on Bun's clients (the Node reads the TLS certificate to pin it and the socket's byte counter " +
        "for liveness, which Bun's WebSocket does not expose), and validation lighter than zod classic. The target " +
        `leaves ${fmtBytes(helloRss.rss * 0.3)} above the hello world; the native-floor probe alone takes ` +
        `${floor ? fmtBytes(floor.rss - helloRss.rss) : "n/a"}, before any of the Node's own code (${rest} here), and ` +
        `with protocol's schemas built on first use zod's own module is most of the protocol's cost (zod ${cost("zod")} ` +
        `of the protocol probe's ${cost("protocol")}).`,
    );
    notes.push(
      "The download is gzip at level 6, what the Core sends to a client that accepts it (core/src/nodes/node-binaries.ts); " +
        "the hello world compresses the same way, so nearly all of it is the Bun runtime. The extra size on disk is " +
        "mostly the bytecode compiled in for start time (Makefile BUN_BYTECODE).",
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
      "open, RSS read at the same moment (and split into the executable's pages and anonymous memory from " +
      "/proc/PID/smaps_rollup). Probes: bench/fixtures/probes/*.ts, each the hello world plus one part of what the Node " +
      "loads at start, compiled with the same flags, started together after the last start and read after the same " +
      "idle time. Download size: each executable gzipped at level 6 in the bench process.",
    rows,
    notes,
    measuredAt: new Date().toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: machine(),
  };
}
