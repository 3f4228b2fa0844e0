/*
 * A hostile MCP server for e2e/hostile-mcp.test.ts, run inside `fabricore-test/hostile:latest`
 * (FROM scratch: this file, the host's node and /bin/sleep). Each tool tries to escape or exhaust
 * its container; the Node's container hardening has to hold:
 * - fork_bomb: spawns processes until the kernel refuses (pids limit);
 * - memory_hog: allocates and touches memory until it is killed (memory limit, no swap);
 * - write_rootfs: writes to its root file system (read-only) and to /tmp (the one tmpfs);
 * - reach_network: dials the cloud metadata address and others (network none).
 * At start it prints the variables HOSTILE_LOG_ENV names to stderr (a server logging its settings).
 * Plain JavaScript and the MCP stdio framing by hand (one JSON-RPC message per line), so the image
 * needs no SDK bundle and the test's subject is the container, not the server's dependencies.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { createInterface } from "node:readline";

const tools = [
  { name: "fork_bomb", description: "spawn processes until refused", inputSchema: { type: "object" } },
  { name: "memory_hog", description: "allocate memory until killed", inputSchema: { type: "object" } },
  { name: "write_rootfs", description: "write to the root file system", inputSchema: { type: "object" } },
  {
    name: "fetch_urls",
    description: "fetch URLs (through HTTP(S)_PROXY when the Node set one)",
    inputSchema: { type: "object", properties: { urls: { type: "array", items: { type: "string" } } } },
  },
  {
    name: "reach_network",
    description: "dial host:port targets",
    inputSchema: { type: "object", properties: { targets: { type: "array", items: { type: "string" } } } },
  },
];

async function forkBomb() {
  const children = [];
  let refusal = "never refused";
  for (let i = 0; i < 5000; i++) {
    let child;
    try {
      child = spawn("/bin/sleep", ["30"], { stdio: "ignore" });
    } catch (error) {
      refusal = error.code ?? String(error);
      break;
    }
    if (child.pid === undefined) {
      // EAGAIN and friends arrive as an 'error' event, not a throw.
      refusal = await new Promise((resolve) => child.once("error", (error) => resolve(error.code ?? String(error))));
      break;
    }
    child.on("error", () => {});
    children.push(child);
  }
  const spawned = children.length;
  // Only so the same container can answer the next tool call; the limit is what is under test.
  for (const child of children) child.kill("SIGKILL");
  return JSON.stringify({ spawned, refusal });
}

function memoryHog() {
  const held = [];
  // Filled, so every page is really touched; a Buffer lives outside V8's heap limit.
  for (;;) held.push(Buffer.alloc(16 * 1024 * 1024, 1));
}

function writeRootfs() {
  const outcome = {};
  for (const path of ["/pwned", "/app/pwned", "/usr/local/bin/pwned", "/tmp/allowed"]) {
    try {
      writeFileSync(path, "x");
      outcome[path] = "written";
    } catch (error) {
      outcome[path] = error.code ?? String(error);
    }
  }
  return JSON.stringify(outcome);
}

function dial(target) {
  const [host, port] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done("ETIMEDOUT"), 2000);
    socket.once("connect", () => done("connected"));
    socket.once("error", (error) => done(error.code ?? String(error)));
  });
}

async function fetchUrls(args) {
  const outcome = {};
  for (const url of args.urls ?? []) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      outcome[url] = { status: response.status, body: (await response.text()).slice(0, 300) };
    } catch (error) {
      outcome[url] = { error: String(error.cause?.message ?? error.cause?.code ?? error.message).slice(0, 300) };
    }
  }
  return JSON.stringify(outcome);
}

async function reachNetwork(args) {
  const outcome = {};
  for (const target of args.targets ?? []) outcome[target] = await dial(target);
  return JSON.stringify(outcome);
}

async function callTool(name, args) {
  if (name === "fork_bomb") return forkBomb();
  if (name === "memory_hog") return memoryHog();
  if (name === "write_rootfs") return writeRootfs();
  if (name === "reach_network") return reachNetwork(args);
  if (name === "fetch_urls") return fetchUrls(args);
  throw new Error(`no tool ${name}`);
}

function send(message) {
  process.stdout.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`);
}

async function handle(message) {
  if (message.id === undefined) return; // notifications (initialized, cancelled): nothing to answer
  const { id, method, params } = message;
  if (method === "initialize") {
    send({
      id,
      result: {
        protocolVersion: params?.protocolVersion ?? "2025-06-18",
        capabilities: { tools: {} },
        serverInfo: { name: "hostile", version: "1.0.0" },
      },
    });
  } else if (method === "ping") send({ id, result: {} });
  else if (method === "tools/list") send({ id, result: { tools } });
  else if (method === "tools/call") {
    try {
      const text = await callTool(params?.name, params?.arguments ?? {});
      send({ id, result: { content: [{ type: "text", text }] } });
    } catch (error) {
      send({ id, result: { content: [{ type: "text", text: String(error) }], isError: true } });
    }
  } else send({ id, error: { code: -32601, message: `method not found: ${method}` } });
}

// A server that logs its configuration at start, as many do (e2e/mcp-ops.test.ts: the Node's log
// of it must reach an operator with the secret redacted): HOSTILE_LOG_ENV names the variables.
for (const name of (process.env.HOSTILE_LOG_ENV ?? "").split(",").filter(Boolean)) {
  process.stderr.write(`hostile: ${name}=${process.env[name] ?? "(unset)"}\n`);
}

createInterface({ input: process.stdin }).on("line", (line) => {
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    return;
  }
  void handle(message);
});
