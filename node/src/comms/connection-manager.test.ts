import type { AddressInfo } from "node:net";
import { NODE_CONNECT_PATH, PROTOCOL_VERSION } from "@fabricore/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import type { Logger } from "../logger.ts";
import { BuiltinTools } from "../tools/builtin-tools.ts";
import { ToolDispatcher } from "../tools/dispatcher.ts";
import { ConnectionManager, NodeCloseCode } from "./connection-manager.ts";
import { connectUrl, connectWebSocket } from "./ws-client-transport.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function capturingLogger(lines: string[]): Logger {
  const at = (level: string) => (fields: Record<string, unknown>, message?: string) =>
    lines.push(`${level} ${message ?? ""} ${JSON.stringify(fields)}`);
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

async function waitFor(predicate: () => boolean, timeoutMs = 3_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A bare Core stand-in: answers hello, then says nothing and never pings (a Core whose host froze). */
async function silentCore(options: { status?: number; heartbeatIntervalMs?: number } = {}) {
  const closes: number[] = [];
  const replies: unknown[] = [];
  let hellos = 0;
  const wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    verifyClient: (_info, done) => (options.status ? done(false, options.status) : done(true)),
  });
  wss.on("connection", (ws) => {
    ws.on("message", (data) => {
      const message = JSON.parse(data.toString());
      if (message.method === "fabricore/hello") {
        hellos += 1;
        ws.send(
          JSON.stringify({
            jsonrpc: "2.0",
            id: message.id,
            result: {
              protocolVersion: PROTOCOL_VERSION,
              nodeId: "n",
              name: "n",
              heartbeatIntervalMs: options.heartbeatIntervalMs ?? 50,
              mcpServers: [],
            },
          }),
        );
      } else if ("id" in message) replies.push(message);
    });
    ws.on("close", (code) => closes.push(code));
  });
  await new Promise((resolve) => wss.once("listening", resolve));
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  const url = connectUrl(`http://127.0.0.1:${(wss.address() as AddressInfo).port}`, NODE_CONNECT_PATH);
  return { url, closes, replies, hellos: () => hellos, wss };
}

function manager(url: string, lines: string[]) {
  const dispatcher = new ToolDispatcher({ providers: [new BuiltinTools({ readRoots: [], allowExec: false })] });
  const m = new ConnectionManager({
    connect: (signal) => connectWebSocket({ url, token: "fcn_x", signal }),
    identity: {
      nodeVersion: "0.0.0-test",
      hostname: "h",
      os: "linux",
      arch: "x64",
      capabilities: { exec: false, docker: false, readRoots: [] },
    },
    tools: dispatcher,
    logger: capturingLogger(lines),
    backoff: { baseMs: 10, capMs: 50, stableAfterMs: 10_000 },
  });
  cleanups.push(() => m.stop());
  return m;
}

describe("ConnectionManager", () => {
  it("closes a connection to a Core that went silent and dials again", async () => {
    const core = await silentCore();
    const lines: string[] = [];
    const m = manager(core.url, lines);
    m.start();
    // Heartbeats every 50 ms; silent for more than 3 intervals means gone.
    await waitFor(() => core.hellos() >= 2);
    expect(core.closes).toContain(NodeCloseCode.coreSilent);
    expect(lines.some((line) => line.includes("the Core went silent"))).toBe(true);
  });

  it("a call crawling in for longer than three heartbeat intervals is life, not silence", async () => {
    const core = await silentCore({ heartbeatIntervalMs: 100 });
    const lines: string[] = [];
    const m = manager(core.url, lines);
    m.start();
    await waitFor(() => core.hellos() === 1 && core.wss.clients.size === 1);
    const [ws] = [...core.wss.clients];
    // One 24 KB request written to the TCP socket a slice at a time over ~1.2 s (twelve intervals), as
    // a large tool call crosses a slow link: no complete message, and no ping, until the last slice.
    const payload = Buffer.from(
      JSON.stringify({ jsonrpc: "2.0", id: 99, method: "fabricore/ping", params: { pad: "x".repeat(24_000) } }),
    );
    const frame = Buffer.concat([Buffer.from([0x81, 126, payload.length >> 8, payload.length & 0xff]), payload]);
    const socket = (ws as unknown as { _socket: import("node:net").Socket })._socket;
    const slices = 24;
    for (let i = 0; i < slices; i++) {
      socket.write(frame.subarray((i * frame.length) / slices, ((i + 1) * frame.length) / slices));
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor(() => core.replies.length === 1);
    expect(core.replies[0]).toMatchObject({ id: 99, result: {} });
    expect(lines.filter((line) => line.includes("the Core went silent"))).toEqual([]);
    expect(core.hellos()).toBe(1);
    expect(core.closes).toEqual([]);
    // Real silence afterwards is still caught.
    await waitFor(() => core.closes.includes(NodeCloseCode.coreSilent));
  });

  it("logs a rejected token clearly and keeps retrying with backoff", async () => {
    const core = await silentCore({ status: 401 });
    const lines: string[] = [];
    const m = manager(core.url, lines);
    m.start();
    await waitFor(() => m.attempts >= 3);
    expect(m.state).not.toBe("connected");
    expect(lines.some((line) => line.startsWith("error") && line.includes("revoked") && line.includes("401"))).toBe(
      true,
    );
  });

  it("stop() during the backoff wait ends the loop promptly", async () => {
    const lines: string[] = [];
    const m = manager("ws://127.0.0.1:9/api/nodes/connect", lines);
    m.start();
    await waitFor(() => m.attempts >= 1);
    const started = Date.now();
    await m.stop();
    expect(Date.now() - started).toBeLessThan(200);
    expect(m.state).toBe("stopped");
  });
});
