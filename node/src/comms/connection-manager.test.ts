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
async function silentCore(options: { status?: number } = {}) {
  const closes: number[] = [];
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
              heartbeatIntervalMs: 50,
              mcpServers: [],
            },
          }),
        );
      }
    });
    ws.on("close", (code) => closes.push(code));
  });
  await new Promise((resolve) => wss.once("listening", resolve));
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  const url = connectUrl(`http://127.0.0.1:${(wss.address() as AddressInfo).port}`, NODE_CONNECT_PATH);
  return { url, closes, hellos: () => hellos, wss };
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
