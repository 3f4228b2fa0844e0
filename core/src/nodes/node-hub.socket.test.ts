import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connectUrl, connectWebSocket, UpgradeRejectedError } from "@fabricore/node";
import { MAX_FRAME_BYTES, NODE_CONNECT_PATH, nodeAuthMessage, type ProtocolError } from "@fabricore/protocol";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createTestNode, helloParams, type TestNode, waitFor } from "../testing/test-node.ts";
import { checkNonce, issueNonce, verifyNodeSignature } from "./node-auth.ts";
import { NodeHub, type NodeHubOptions } from "./node-hub.ts";
import { NodeCloseCode } from "./ws-server-transport.ts";

const TOKENS: Record<string, { nodeId: string; name: string }> = {
  fcn_good: { nodeId: "n1", name: "one" },
  fcn_other: { nodeId: "n2", name: "two" },
};

interface Core {
  hub: NodeHub;
  server: Server;
  port: number;
  url: string;
  events: string[];
  revoked: Set<string>;
  stop(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An http server on loopback with the hub on its 'upgrade' event, as the Core's API server does it. */
async function startCore(port = 0, options: Partial<NodeHubOptions> = {}): Promise<Core> {
  const events: string[] = [];
  const revoked = new Set<string>();
  // The Node program enrolls and signs challenges: a minimal stand-in for the Core's NodeIdentityService.
  const challengeKey = randomBytes(32);
  const keys = new Map<string, string>();
  const usedNonces = new Set<string>();
  const hub = new NodeHub({
    authenticate: async (c) => {
      if (c.kind === "bearer") return revoked.has(c.token) ? null : (TOKENS[c.token] ?? null);
      const key = keys.get(c.nodeId);
      if (!checkNonce(challengeKey, c.nonce, Date.now()).ok || usedNonces.has(c.nonce) || !key) return null;
      if (!verifyNodeSignature(key, nodeAuthMessage(c.nodeId, c.nonce, c.origin), c.signature)) return null;
      usedNonces.add(c.nonce);
      return Object.values(TOKENS).find((t) => t.nodeId === c.nodeId) ?? null;
    },
    desiredMcpServers: async () => [],
    onOnline: (id) => events.push(`online:${id}`),
    onOffline: (id, reason) => events.push(`offline:${id}:${reason}`),
    heartbeatIntervalMs: 1_000,
    ...options,
  });
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      if (req.method === "POST" && req.url === "/api/nodes/challenge") {
        res.end(JSON.stringify({ nonce: issueNonce(challengeKey, Date.now()).nonce, expiresAt: "soon" }));
        return;
      }
      if (req.method === "POST" && req.url === "/api/nodes/enroll") {
        const { token, publicKey } = JSON.parse(body) as { token: string; publicKey: string };
        const who = TOKENS[token];
        if (who) {
          keys.set(who.nodeId, publicKey);
          res.end(JSON.stringify({ nodeId: who.nodeId, name: who.name }));
          return;
        }
        res.statusCode = 401;
      } else {
        res.statusCode = 404;
      }
      res.end("{}");
    });
  });
  server.on("upgrade", (req, socket, head) => {
    if (!hub.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const actual = (server.address() as AddressInfo).port;
  let stopped = false;
  const core: Core = {
    hub,
    server,
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    events,
    revoked,
    async stop() {
      if (stopped) return;
      stopped = true;
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  cleanups.push(() => core.stop());
  return core;
}

function startNode(core: Core, token = "fcn_good", options: Parameters<typeof createTestNode>[1] = {}): TestNode {
  const node = createTestNode(
    (signal) => connectWebSocket({ url: connectUrl(core.url, NODE_CONNECT_PATH), token, signal }),
    options,
  );
  node.manager.start();
  cleanups.push(() => node.manager.stop());
  return node;
}

/** A raw authenticated socket, for sending what a real Node never would. */
async function rawSocket(core: Core, token = "fcn_other"): Promise<WebSocket> {
  const ws = new WebSocket(connectUrl(core.url, NODE_CONNECT_PATH), {
    headers: { Authorization: `Bearer ${token}` },
    maxPayload: 64 * 1024 * 1024,
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  cleanups.push(async () => ws.terminate());
  return ws;
}

const nextMessage = (ws: WebSocket) =>
  new Promise<Record<string, unknown>>((resolve) => ws.once("message", (data) => resolve(JSON.parse(data.toString()))));
const closeOf = (ws: WebSocket) => new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));

describe("NodeHub on a real socket (loopback)", () => {
  it("a Node connects with its token and runs tools", async () => {
    const core = await startCore();
    startNode(core);
    await waitFor(() => core.hub.isOnline("n1"), 5_000, "online");
    const result = await core.hub.callTool("n1", {
      name: "exec_command",
      arguments: { command: "echo over-the-wire" },
      deadlineMs: 5_000,
      callId: "w1",
    });
    expect(result.structuredContent).toMatchObject({ exitCode: 0, stdout: "over-the-wire\n" });
  });

  it("rejects a bad or missing token with 401 before the upgrade, and the Node keeps retrying", async () => {
    const core = await startCore();
    const url = connectUrl(core.url, NODE_CONNECT_PATH);
    const bad = await connectWebSocket({ url, token: "fcn_nope" }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(UpgradeRejectedError);
    expect((bad as UpgradeRejectedError).status).toBe(401);
    const missing = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url);
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("error", () => {});
    });
    expect(missing).toBe(401);
    const node = startNode(core, "fcn_nope");
    await waitFor(() => node.manager.attempts >= 3, 5_000, "retries");
    expect(node.manager.state).not.toBe("connected");
    expect(core.hub.onlineCount()).toBe(0);
  });

  it("leaves other upgrade paths alone", async () => {
    const core = await startCore();
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${core.port}/api/other`, {
        headers: { Authorization: "Bearer fcn_good" },
      });
      ws.on("error", () => resolve(-1));
      ws.on("open", () => resolve(101));
    });
    expect(status).toBe(-1);
  });

  it("revocation closes the connection at once and the Node stays out", async () => {
    const core = await startCore();
    const node = startNode(core);
    await waitFor(() => core.hub.isOnline("n1"), 5_000, "online");
    const pending = core.hub
      .callTool("n1", { name: "hang", source: "mcp:test", deadlineMs: 60_000, callId: "rv" })
      .catch((e: unknown) => e);
    await waitFor(() => node.provider.executions === 1);
    core.revoked.add("fcn_good");
    const started = Date.now();
    await core.hub.disconnect("n1");
    expect(((await pending) as ProtocolError).code).toBe("node_offline");
    expect(Date.now() - started).toBeLessThan(200);
    expect(core.hub.isOnline("n1")).toBe(false);
    // The Node's side closed too (its tool was aborted) and its reconnects are refused.
    await waitFor(() => node.provider.aborted === 1, 2_000, "tool aborted on the Node");
    const attempts = node.manager.attempts;
    await waitFor(() => node.manager.attempts >= attempts + 2, 5_000, "refused reconnects");
    expect(core.hub.isOnline("n1")).toBe(false);
  });

  it("deadline and cancel over the socket", async () => {
    const core = await startCore();
    const node = startNode(core);
    await waitFor(() => core.hub.isOnline("n1"), 5_000, "online");
    const deadline = await core.hub
      .callTool("n1", { name: "hang", source: "mcp:test", deadlineMs: 100, callId: "dl" })
      .catch((e: unknown) => e);
    expect((deadline as ProtocolError).code).toBe("deadline_exceeded");
    const controller = new AbortController();
    const pending = core.hub
      .callTool(
        "n1",
        { name: "hang", source: "mcp:test", deadlineMs: 60_000, callId: "cx" },
        { signal: controller.signal },
      )
      .catch((e: unknown) => e);
    await waitFor(() => node.provider.executions === 2);
    controller.abort();
    expect(((await pending) as ProtocolError).code).toBe("cancelled");
    await waitFor(() => node.provider.aborted === 2, 2_000, "cancel reached the Node");
  });

  it("answers malformed frames without crashing; an oversized frame closes only that socket", async () => {
    const core = await startCore();
    startNode(core);
    await waitFor(() => core.hub.isOnline("n1"), 5_000, "online");
    const raw = await rawSocket(core);

    let reply = nextMessage(raw);
    raw.send("this is not json");
    expect(await reply).toMatchObject({ id: null, error: { data: { code: "invalid_message" } } });
    reply = nextMessage(raw);
    raw.send(JSON.stringify({ jsonrpc: "1.0", id: 7, method: 42 }));
    expect(await reply).toMatchObject({ id: 7, error: { data: { code: "invalid_message" } } });
    reply = nextMessage(raw);
    raw.send(JSON.stringify({ jsonrpc: "2.0", id: 8, method: "fabricore/hello", params: { protocolVersion: "x" } }));
    expect(await reply).toMatchObject({ id: 8, error: { data: { code: "invalid_params" } } });
    reply = nextMessage(raw);
    raw.send(JSON.stringify({ jsonrpc: "2.0", id: 9, method: "no/such" }));
    expect(await reply).toMatchObject({ id: 9, error: { data: { code: "unknown_method" } } });
    expect(raw.readyState).toBe(WebSocket.OPEN);

    const closed = closeOf(raw);
    raw.send("x".repeat(MAX_FRAME_BYTES + 1));
    expect(await closed).toBe(NodeCloseCode.tooLarge);
    // The real Node is untouched.
    const ok = await core.hub.callTool("n1", { name: "echo", source: "mcp:test", deadlineMs: 5_000, callId: "after" });
    expect(ok.isError).toBe(false);
    expect(core.hub.isOnline("n1")).toBe(true);
  });

  it("a frame crawling in for longer than three heartbeat intervals is life, not silence", async () => {
    const core = await startCore(0, { heartbeatIntervalMs: 300 });
    // A hand-made Node that never answers pings, so only what it sends counts.
    const raw = new WebSocket(connectUrl(core.url, NODE_CONNECT_PATH), {
      headers: { Authorization: "Bearer fcn_other" },
      autoPong: false,
    });
    await new Promise((resolve, reject) => {
      raw.once("open", resolve);
      raw.once("error", reject);
    });
    cleanups.push(async () => raw.terminate());
    const hello = nextMessage(raw);
    raw.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "fabricore/hello",
        params: helloParams(),
      }),
    );
    expect(await hello).toMatchObject({ id: 1, result: { nodeId: "n2" } });
    // One 24 KB frame written to the TCP socket a slice at a time over ~2.4 s (eight intervals), as a
    // large tool result crosses a slow link: no complete message arrives until the last slice.
    const payload = Buffer.from(
      JSON.stringify({ jsonrpc: "2.0", method: "fabricore/heartbeat", params: { at: 1, pad: "x".repeat(24_000) } }),
    );
    const header = Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff, 0, 0, 0, 0]);
    const frame = Buffer.concat([header, payload]); // masked with a zero key: the bytes are the payload
    const socket = (raw as unknown as { _socket: import("node:net").Socket })._socket;
    const slices = 24;
    for (let i = 0; i < slices; i++) {
      socket.write(frame.subarray((i * frame.length) / slices, ((i + 1) * frame.length) / slices));
      await new Promise((r) => setTimeout(r, 100));
      expect(core.hub.isOnline("n2"), `offline after ${(i + 1) * 100} ms of a crawling frame`).toBe(true);
    }
    expect(core.events.filter((e) => e.startsWith("offline:n2"))).toEqual([]);
    // And real silence is still caught: nothing more arrives, and the Node is closed as silent.
    await waitFor(() => !core.hub.isOnline("n2"), 3_000, "closed as silent");
    expect(core.events.find((e) => e.startsWith("offline:n2"))).toContain("heartbeat timeout");
  });

  it("repeated garbage closes that socket with 1007", async () => {
    const core = await startCore();
    const raw = await rawSocket(core);
    raw.on("message", () => {});
    const closed = closeOf(raw);
    for (let i = 0; i < 30; i++) raw.send("garbage");
    expect(await closed).toBe(NodeCloseCode.invalidFrames);
  });

  it("reconnects with backoff after the Core restarts", async () => {
    const first = await startCore();
    const node = startNode(first);
    await waitFor(() => first.hub.isOnline("n1"), 5_000, "online");
    const port = first.port;
    await first.stop();
    await waitFor(() => node.manager.state !== "connected", 2_000, "noticed the restart");
    // Down for a while: the Node retries, backing off.
    await waitFor(() => node.manager.attempts >= 3, 5_000, "retries while down");
    const second = await startCore(port);
    await waitFor(() => second.hub.isOnline("n1"), 5_000, "online on the restarted Core");
    const result = await second.hub.callTool("n1", {
      name: "echo",
      source: "mcp:test",
      deadlineMs: 5_000,
      callId: "r",
    });
    expect(result.isError).toBe(false);
  });

  it("a duplicate callId executes once across a reconnect", async () => {
    const core = await startCore();
    const node = startNode(core);
    await waitFor(() => core.hub.isOnline("n1"), 5_000, "online");
    const call = { name: "echo", source: "mcp:test", arguments: { n: 1 }, deadlineMs: 5_000, callId: "once" };
    const first = await core.hub.callTool("n1", call);
    // Not revoked: the Node comes straight back.
    await core.hub.disconnect("n1", 4999, "test blip");
    await waitFor(() => core.hub.isOnline("n1"), 5_000, "back online");
    const second = await core.hub.callTool("n1", call);
    expect(second.structuredContent).toEqual(first.structuredContent);
    expect(node.provider.executions).toBe(1);
  });
});

describe("the Node program as a process", () => {
  const main = fileURLToPath(new URL("../../../node/src/main.ts", import.meta.url));

  function spawnNode(core: Core, extra: string[] = []): ChildProcess {
    const child = spawn(
      process.execPath,
      [
        main,
        "--core",
        core.url,
        "--token",
        "fcn_good",
        "--data-dir",
        mkdtempSync(join(tmpdir(), "fabricore-hub-node-")),
        "--allow-exec",
        "--log-level",
        "warn",
        ...extra,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    });
    return child;
  }

  it("a Node killed mid-call fails the call quickly with node_offline", async () => {
    const core = await startCore();
    const child = spawnNode(core);
    await waitFor(() => core.hub.isOnline("n1"), 10_000, "process online");
    const pending = core.hub
      .callTool("n1", { name: "exec_command", arguments: { command: "sleep 30" }, deadlineMs: 60_000, callId: "k" })
      .catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    child.kill("SIGKILL");
    expect(((await pending) as ProtocolError).code).toBe("node_offline");
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("SIGTERM closes with 1000 and exits 0 within a second", async () => {
    const core = await startCore();
    const child = spawnNode(core);
    await waitFor(() => core.hub.isOnline("n1"), 10_000, "process online");
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const started = Date.now();
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(1_000);
    await waitFor(() => core.events.some((e) => e.startsWith("offline:n1:1000")), 1_000, "clean close");
  });
});
