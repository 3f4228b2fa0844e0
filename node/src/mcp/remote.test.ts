import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { ProtocolError } from "@fabricore/protocol";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { silentLogger } from "../logger.ts";
import type { DockerApi } from "../runtime/docker-api.ts";
import { createMcpManager } from "./index.ts";
import type { McpManager } from "./mcp-manager.ts";
import { checkRemoteUrl, isLoopbackUrl } from "./remote.ts";

// Pass-through servers never touch Docker; a DockerApi that fails loudly proves it.
const noDocker = new Proxy({} as DockerApi, {
  get: (_target, method) => () => Promise.reject(new Error(`pass-through must not call docker.${String(method)}`)),
});
const never = new AbortController().signal;

describe("loopback check", () => {
  it("accepts 127.0.0.0/8, ::1 and localhost only", () => {
    for (const url of [
      "http://127.0.0.1:3001/mcp",
      "http://127.8.9.10/mcp",
      "http://[::1]:8080/mcp",
      "http://localhost:3001/mcp",
      "http://LOCALHOST/mcp",
      "http://[::ffff:127.0.0.1]/mcp",
    ]) {
      expect(isLoopbackUrl(new URL(url)), url).toBe(true);
    }
    for (const url of [
      "http://10.0.0.5/mcp",
      "http://0.0.0.0:3001/mcp",
      "http://128.0.0.1/mcp",
      "http://example.com/mcp",
      "http://127.0.0.1.nip.io/mcp",
      "http://localhost.example.com/mcp",
      "http://[::2]/mcp",
      "http://[::ffff:10.0.0.1]/mcp",
    ]) {
      expect(isLoopbackUrl(new URL(url)), url).toBe(false);
    }
  });

  it("refuses other schemes, bad URLs, and remote hosts unless allowed", () => {
    expect(() => checkRemoteUrl("file:///etc/passwd", true)).toThrow(/must be http or https/);
    expect(() => checkRemoteUrl("not a url", false)).toThrow(/not a valid URL/);
    expect(() => checkRemoteUrl("https://mcp.example.com/mcp", false)).toThrow(/only loopback URLs/);
    expect(checkRemoteUrl("https://mcp.example.com/mcp", true).hostname).toBe("mcp.example.com");
  });
});

/** Starts server-everything in the given transport on a free loopback port; resolves once it listens. */
async function startEverything(mode: "streamableHttp" | "sse"): Promise<{ child: ChildProcess; port: number }> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const require = createRequire(import.meta.url);
  const entry = join(dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")), "dist/index.js");
  // server-everything listens on every interface given only PORT; this preload pins it to loopback.
  const loopbackOnly = `data:text/javascript,${encodeURIComponent(
    'import net from "node:net"; const listen = net.Server.prototype.listen; net.Server.prototype.listen = function (port, ...rest) { return typeof port === "number" || typeof port === "string" ? listen.call(this, Number(port), "127.0.0.1", ...rest.filter((a) => typeof a === "function")) : listen.call(this, port, ...rest); };',
  )}`;
  const child = spawn(process.execPath, ["--import", loopbackOnly, entry, mode], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`server-everything did not start:\n${output}`)), 15_000);
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (/listening on port|running on port/i.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("exit", (code) => reject(new Error(`server-everything exited with ${code}:\n${output}`)));
  });
  return { child, port };
}

describe("pass-through MCP servers (server-everything on loopback)", () => {
  let streamable: { child: ChildProcess; port: number };
  let sse: { child: ChildProcess; port: number };
  const managers: McpManager[] = [];
  const manager = (allowRemoteMcp = false) => {
    const m = createMcpManager({ docker: noDocker, nodeId: "remote-test", logger: silentLogger, allowRemoteMcp });
    managers.push(m);
    return m;
  };

  beforeAll(async () => {
    [streamable, sse] = await Promise.all([startEverything("streamableHttp"), startEverything("sse")]);
  });
  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.close()));
  });
  afterAll(() => {
    streamable?.child.kill();
    sse?.child.kill();
  });

  it("calls echo over Streamable HTTP", async () => {
    const m = manager();
    const [status] = await m.sync([
      { kind: "remote", name: "everything", url: `http://127.0.0.1:${streamable.port}/mcp` },
    ]);
    expect(status).toMatchObject({ name: "everything", state: "running" });
    expect(status?.containerId).toBeUndefined();
    const echo = m.list().find((t) => t.name === "echo");
    expect(echo).toMatchObject({ source: "mcp:everything", inputSchema: { type: "object" } });
    const started = performance.now();
    const result = await m.call(
      "echo",
      { message: "hello fabricore" },
      {
        signal: never,
        deadlineMs: 5000,
        source: "mcp:everything",
        callId: "c1",
      },
    );
    expect(result).toMatchObject({ isError: false, content: [{ type: "text", text: "Echo: hello fabricore" }] });
    console.info(`[measure] pass-through echo round trip ${(performance.now() - started).toFixed(1)} ms`);
  });

  it("falls back to the legacy SSE transport", async () => {
    const m = manager();
    const [status] = await m.sync([{ kind: "remote", name: "legacy", url: `http://localhost:${sse.port}/sse` }]);
    expect(status?.state).toBe("running");
    const result = await m.callTool("legacy", "echo", { message: "over sse" }, { signal: never, deadlineMs: 5000 });
    expect(result.content).toEqual([{ type: "text", text: "Echo: over sse" }]);
  });

  it("enforces the deadline and honours cancellation, and the server stays usable", async () => {
    const m = manager();
    await m.sync([{ kind: "remote", name: "everything", url: `http://127.0.0.1:${streamable.port}/mcp` }]);
    const slow = { duration: 10, steps: 10 };
    let started = performance.now();
    const late = await m
      .callTool("everything", "trigger-long-running-operation", slow, { signal: never, deadlineMs: 300 })
      .catch((e) => e);
    expect(late).toBeInstanceOf(ProtocolError);
    expect(late.code).toBe("deadline_exceeded");
    expect(performance.now() - started).toBeLessThan(2000);

    const controller = new AbortController();
    started = performance.now();
    setTimeout(() => controller.abort(new ProtocolError("cancelled", "the run was cancelled")), 200);
    const cancelled = await m
      .callTool("everything", "trigger-long-running-operation", slow, { signal: controller.signal, deadlineMs: 30_000 })
      .catch((e) => e);
    expect(cancelled).toBeInstanceOf(ProtocolError);
    expect(cancelled.code).toBe("cancelled");
    expect(performance.now() - started).toBeLessThan(2000);

    const after = await m.callTool(
      "everything",
      "echo",
      { message: "still here" },
      { signal: never, deadlineMs: 5000 },
    );
    expect(after.isError).toBe(false);
  });

  it("returns a server's own refusal as an error result, and unknown servers or tools as tool_not_found", async () => {
    const m = manager();
    await m.sync([{ kind: "remote", name: "everything", url: `http://127.0.0.1:${streamable.port}/mcp` }]);
    const bad = await m.callTool("everything", "echo", { message: 42 }, { signal: never, deadlineMs: 5000 });
    expect(bad.isError).toBe(true);
    await expect(
      m.callTool("everything", "no-such-tool", {}, { signal: never, deadlineMs: 5000 }),
    ).rejects.toMatchObject({
      code: "tool_not_found",
    });
    await expect(m.callTool("nobody", "echo", {}, { signal: never, deadlineMs: 5000 })).rejects.toMatchObject({
      code: "tool_not_found",
    });
  });

  it("refuses a non-loopback URL without dialling it", async () => {
    const m = manager();
    const [status] = await m.sync([{ kind: "remote", name: "far", url: "http://10.20.30.40:3001/mcp" }]);
    expect(status?.state).toBe("failed");
    expect(status?.error).toMatch(/is not on this host; only loopback URLs/);
    expect(status?.restarts).toBe(0);
    expect(m.list()).toEqual([]);
  });

  it("a server that is not there is retried, then failed with the reason", async () => {
    const m = createMcpManager({
      docker: noDocker,
      nodeId: "remote-test",
      logger: silentLogger,
      restart: { initialDelayMs: 20, maxDelayMs: 40, maxFailures: 3 },
      connectTimeoutMs: 2000,
    });
    managers.push(m);
    const [first] = await m.sync([{ kind: "remote", name: "gone", url: "http://127.0.0.1:9/mcp" }]);
    expect(first?.state).toBe("restarting");
    expect(first?.error).toMatch(/did not answer.*retrying in/);
    const deadline = Date.now() + 10_000;
    while (m.statuses()[0]?.state !== "failed" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(m.statuses()[0]).toMatchObject({ state: "failed", restarts: 2 });
    expect(m.statuses()[0]?.error).toMatch(/gave up after 3 failures/);
  });
});

describe("a pass-through server's error answers (issue 21.10)", () => {
  let server: Server;
  let port = 0;
  const BODY = "Traceback … DATABASE_URL=postgres://admin:s3cr3t-in-error-page@db/prod";
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(BODY);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("the status the Core shows names the HTTP status, never the body", async () => {
    const m = createMcpManager({
      docker: noDocker,
      nodeId: "remote-test",
      logger: silentLogger,
      restart: { initialDelayMs: 20, maxDelayMs: 40, maxFailures: 1 },
      connectTimeoutMs: 2000,
    });
    try {
      const [first] = await m.sync([{ kind: "remote", name: "leaky", url: `http://127.0.0.1:${port}/mcp` }]);
      const error = first?.error ?? "";
      expect(error).toContain("HTTP 500");
      expect(error).not.toContain("s3cr3t");
      expect(error).not.toContain("Traceback");
    } finally {
      await m.close();
    }
  });
});

describe("tools/list_changed", () => {
  let http: Server;
  let port = 0;
  let addTool: () => void = () => {};

  beforeAll(async () => {
    // A small real MCP server (the SDK's own) that grows a tool on demand; stateless, one server per request.
    let extra = false;
    const servers = new Set<McpServer>();
    addTool = () => {
      extra = true;
      for (const server of servers) register(server);
    };
    const register = (server: McpServer) => {
      server.registerTool(
        "added_later",
        { description: "appears at runtime", inputSchema: { n: z.number() } },
        async ({ n }) => ({
          content: [{ type: "text", text: `n=${n}` }],
        }),
      );
    };
    http = createServer(async (req, res) => {
      const server = new McpServer(
        { name: "growing", version: "1.0.0" },
        { capabilities: { tools: { listChanged: true } } },
      );
      server.registerTool("base", { description: "always there" }, async () => ({
        content: [{ type: "text", text: "base" }],
      }));
      if (extra) register(server);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      servers.add(server);
      res.on("close", () => {
        // The standalone GET stream stays open; keep its server to notify through it.
        if (req.method !== "GET") servers.delete(server);
      });
      await server.connect(transport);
      await transport.handleRequest(req, res);
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    port = (http.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => http.close(() => resolve())));

  it("refreshes the tool list and fires onChange when the server says its tools changed", async () => {
    const m = createMcpManager({ docker: noDocker, nodeId: "lc", logger: silentLogger });
    try {
      await m.sync([{ kind: "remote", name: "growing", url: `http://127.0.0.1:${port}/mcp` }]);
      expect(m.list().map((t) => t.name)).toEqual(["base"]);
      let changes = 0;
      m.onChange(() => changes++);
      // Give the client's standalone SSE stream a moment to open, then grow the server.
      await new Promise((r) => setTimeout(r, 200));
      addTool();
      const deadline = Date.now() + 5000;
      while (!m.list().some((t) => t.name === "added_later") && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(
        m
          .list()
          .map((t) => t.name)
          .sort(),
      ).toEqual(["added_later", "base"]);
      expect(changes).toBeGreaterThan(0);
      const result = await m.callTool("growing", "added_later", { n: 3 }, { signal: never, deadlineMs: 5000 });
      expect(result.content).toEqual([{ type: "text", text: "n=3" }]);
    } finally {
      await m.close();
    }
  });
});

describe("a host without Docker", () => {
  it("reports managed servers as waiting for Docker, with the reason, and keeps retrying", async () => {
    const m = createMcpManager({
      docker: "/tmp/fabricore-no-such-docker.sock",
      nodeId: "nodocker",
      logger: silentLogger,
      restart: { initialDelayMs: 10_000 },
    });
    try {
      const [status] = await m.sync([
        {
          kind: "managed",
          name: "fs",
          image: "mcp/filesystem",
          args: [],
          env: {},
          mounts: [],
          network: "none",
          limits: {},
        },
      ]);
      expect(status?.state).toBe("restarting");
      expect(status?.error).toMatch(
        /^Docker at \/tmp\/fabricore-no-such-docker.sock is not reachable: .*ENOENT.*retrying in 10 s/,
      );
    } finally {
      await m.close();
    }
  });
});
