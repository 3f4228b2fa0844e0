/**
 * Node identity and Node policy end to end: the real Core process and the compiled Node binary.
 * The enrollment token is spent once; afterwards only the Node's own key opens a connection.
 */

import { spawn } from "node:child_process";
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { NODE_AUTH_HEADERS, nodeAuthMessage } from "@fabricore/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  NODE_BINARY,
  Proc,
  startCore,
  tempDir,
  waitFor,
} from "./support/harness.ts";

let core: CoreHandle;
let api: ApiClient;
const procs: Proc[] = [];

/** The Node binary with a data dir of the caller's choosing (the harness's startNode makes a fresh one). */
/** `offline`: the Node runs in a network namespace of its own with no interface up (`unshare -n`), for
 * a Core URL off loopback: its dials fail on this machine instead of leaving it. */
function node(args: string[], dataDir: string, token?: string, options: { offline?: boolean } = {}): Proc {
  const argv = ["--data-dir", dataDir, "--log-level", "info", ...args];
  const [command, commandArgs] = options.offline ? ["unshare", ["-n", NODE_BINARY, ...argv]] : [NODE_BINARY, argv];
  const proc = new Proc(
    spawn(command, commandArgs, {
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("FABRICORE_"))),
        ...(token ? { FABRICORE_NODE_TOKEN: token } : {}),
      },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  procs.push(proc);
  return proc;
}

function exited(proc: Proc): Promise<number | null> {
  if (proc.exited) return Promise.resolve(proc.child.exitCode);
  return new Promise((resolve) => proc.child.once("exit", (code) => resolve(code)));
}

function keyPair(): { privateKey: KeyObject; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey, publicKey: publicKey.export({ format: "jwk" }).x as string };
}

async function enroll(token: string, publicKey: string) {
  return api.request("POST", "/api/nodes/enroll", { token, publicKey });
}

async function signedHeaders(nodeId: string, key: KeyObject, origin = core.url): Promise<Record<string, string>> {
  const { nonce } = (await api.request("POST", "/api/nodes/challenge", {})).body as { nonce: string };
  return {
    [NODE_AUTH_HEADERS.nodeId]: nodeId,
    [NODE_AUTH_HEADERS.nonce]: nonce,
    [NODE_AUTH_HEADERS.signature]: sign(null, Buffer.from(nodeAuthMessage(nodeId, nonce, origin)), key).toString(
      "base64url",
    ),
  };
}

/** Tries the WebSocket upgrade: 101 (then closes it) or the HTTP status the Core answered with. */
function upgrade(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${core.url.replace("http", "ws")}/api/nodes/connect`, { headers });
    ws.once("open", () => {
      ws.close();
      resolve(101);
    });
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once("error", () => resolve(0));
  });
}

async function createNode(name: string): Promise<{ id: string; token: string }> {
  return api.ok("POST", "/api/nodes", { name });
}

async function online(id: string): Promise<boolean> {
  return (await api.ok("GET", `/api/nodes/${id}`)).status === "online";
}

beforeAll(async () => {
  ensureNodeBinary();
  const dataDir = tempDir("core");
  // SQLite in the data dir even in the PostgreSQL e2e project: the stolen-database test copies the file.
  core = await startCore({ dataDir, env: { FABRICORE_DATABASE_URL: "" } });
  api = await new ApiClient(core.url).login();
}, 60_000);

afterAll(async () => {
  for (const proc of procs) await proc.stop();
  await core?.proc.stop();
});

describe("Node identity", () => {
  it("enrolls once with the token (key file 0600), then connects by signature; the token is spent", async () => {
    const created = await createNode("id-enroll");
    const dataDir = tempDir("node");
    const proc = node(["--core", core.url], dataDir, created.token);
    await waitFor("the Node online", () => online(created.id));
    expect(statSync(join(dataDir, "node-key.pem")).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dataDir, "identity.json"), "utf8"))).toMatchObject({
      nodeId: created.id,
      coreOrigins: [core.url],
    });

    // The spent token registers no other key, and a second Node holding it never gets in.
    const reuse = await enroll(created.token, keyPair().publicKey);
    expect(reuse.status).toBe(401);
    expect(JSON.stringify(reuse.body)).toContain("already used");
    const thief = node(["--core", core.url], tempDir("node"), created.token);
    await waitFor("the thief's refusal", () => thief.output.includes("already used"));
    // The real Node, restarted without any token, still connects with its key.
    await proc.stop();
    await waitFor("the Node offline", async () => !(await online(created.id)));
    node(["--core", core.url], dataDir);
    await waitFor("the Node back online", () => online(created.id));
    await thief.stop();
  });

  it("refuses a forged signature, a replayed nonce, another origin and a bearer token", async () => {
    const created = await createNode("id-raw");
    const key = keyPair();
    expect((await enroll(created.token, key.publicKey)).status).toBe(200);

    const headers = await signedHeaders(created.id, key.privateKey);
    expect(await upgrade(headers)).toBe(101);
    expect(await upgrade(headers)).toBe(401); // the same nonce again
    expect(await upgrade(await signedHeaders(created.id, keyPair().privateKey))).toBe(401);
    expect(await upgrade(await signedHeaders(created.id, key.privateKey, "http://evil.example:8080"))).toBe(401);
    expect(await upgrade({ authorization: `Bearer ${created.token}` })).toBe(401);
    expect(await upgrade({})).toBe(401);
  });

  it("a revoked node is disconnected and refused from then on", async () => {
    const created = await createNode("id-revoked");
    const dataDir = tempDir("node");
    const proc = node(["--core", core.url], dataDir, created.token);
    await waitFor("the Node online", () => online(created.id));
    await api.ok("DELETE", `/api/nodes/${created.id}`);
    await waitFor("the refusal logged", () => proc.output.includes("refused this Node's signed handshake"));
    const key = keyPair();
    expect((await enroll(created.token, key.publicKey)).status).toBe(401);
  });

  it("rotates without downtime: online throughout, the old key refused once the new one registered", async () => {
    const created = await createNode("id-rotate");
    const dataDir = tempDir("node");
    const first = node(["--core", core.url], dataDir, created.token);
    await waitFor("the Node online", () => online(created.id));
    const oldKey = readFileSync(join(dataDir, "node-key.pem"), "utf8");

    const rotated = await api.ok("POST", `/api/nodes/${created.id}/rotate`);
    expect(rotated.token).toMatch(/^fcn_/);
    // Issuing the token changes nothing for the running Node.
    await new Promise((r) => setTimeout(r, 500));
    expect(await online(created.id)).toBe(true);

    await first.stop();
    const second = node(["--core", core.url], dataDir, rotated.token);
    await waitFor(
      "the Node online with its new key",
      async () => second.output.includes("re-enrolled") && online(created.id),
    );
    const newKey = readFileSync(join(dataDir, "node-key.pem"), "utf8");
    expect(newKey).not.toBe(oldKey);
    const { createPrivateKey } = await import("node:crypto");
    expect(await upgrade(await signedHeaders(created.id, createPrivateKey(oldKey)))).toBe(401);
    await second.stop();
  });

  it("is pinned to the Core it enrolled with", async () => {
    const created = await createNode("id-pinned");
    const dataDir = tempDir("node");
    const proc = node(["--core", core.url], dataDir, created.token);
    await waitFor("the Node online", () => online(created.id));
    await proc.stop();
    const other = node(["--core", "http://127.0.0.1:9"], dataDir);
    expect(await exited(other)).toBe(2);
    expect(other.output).toContain(`enrolled with the Core at ${core.url} and refuses http://127.0.0.1:9`);
  });

  it("refuses plain http:// to a Core off loopback unless --insecure", async () => {
    const proc = node(["--core", "http://192.0.2.10:8080", "--token", "fcn_x"], tempDir("node"), undefined, {
      offline: true,
    });
    expect(await exited(proc)).toBe(2);
    expect(proc.output).toContain("plain http://");
    expect(proc.output).toContain("--insecure");
    // With --insecure it starts and keeps dialling; in a namespace of its own, so nothing leaves the machine.
    const insecure = node(
      ["--core", "http://192.0.2.10:8080", "--token", "fcn_x", "--insecure"],
      tempDir("node"),
      undefined,
      {
        offline: true,
      },
    );
    await new Promise((r) => setTimeout(r, 1_000));
    expect(insecure.exited).toBe(false);
    await insecure.stop();
  });
});

describe("Node policy", () => {
  let nodeId: string;
  const root = tempDir("mount-root");
  const rwRoot = tempDir("mount-rw");
  const outside = tempDir("outside");

  beforeAll(async () => {
    const created = await createNode("policy");
    nodeId = created.id;
    node(
      [
        "--core",
        core.url,
        "--allow-exec",
        "--exec-allow",
        "echo allowed-[0-9]+",
        "--mount-root",
        root,
        "--mount-rw-root",
        rwRoot,
        "--allow-image",
        "mcp/*",
      ],
      tempDir("node"),
      created.token,
    );
    await api.waitNodeOnline(nodeId);
  });

  async function serverState(name: string): Promise<{ state: string; error: string | null }> {
    return waitFor(`MCP server ${name} to settle`, async () => {
      const list = (await api.ok("GET", `/api/nodes/${nodeId}/mcp`)) as Array<{
        name: string;
        state: string;
        error: string | null;
      }>;
      const server = list.find((s) => s.name === name);
      return server && server.state === "failed" ? server : undefined;
    });
  }

  it("refuses a mount outside --mount-root, in the server's status", async () => {
    await api.ok("POST", `/api/nodes/${nodeId}/mcp`, {
      name: "outside",
      preset: "filesystem",
      mounts: [{ source: outside, target: "/projects/x" }],
    });
    const status = await serverState("outside");
    expect(status.error).toContain("outside this Node's mount roots");
  });

  it("refuses a writable mount outside --mount-rw-root", async () => {
    await api.ok("POST", `/api/nodes/${nodeId}/mcp`, {
      name: "writable",
      preset: "filesystem",
      mounts: [{ source: root, target: "/projects/x", readOnly: false }],
    });
    const status = await serverState("writable");
    expect(status.error).toContain("writable mount source");
  });

  it("refuses an image outside --allow-image before pulling it", async () => {
    await api.ok("POST", `/api/nodes/${nodeId}/mcp`, { name: "miner", image: "evil/miner:latest" });
    const status = await serverState("miner");
    expect(status.error).toContain("--allow-image");
  });

  it("runs only commands matching --exec-allow", async () => {
    // A scripted model asks for one allowed and one refused command, then reports the results.
    const script = (request: RecordedRequest) => {
      const body = request.body as { messages: Array<{ role: string; content?: string | null }> };
      const results = body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
      if (results.length > 0) return turn.text(`Results: ${results.join(" | ")}`);
      return turn.toolCalls([
        { name: "exec_command", arguments: { command: "echo allowed-42" } },
        { name: "exec_command", arguments: { command: "echo allowed-42; id" } },
      ]);
    };
    const llm: ScriptedOpenAiServer = await startScriptedOpenAiServer({ script });
    try {
      await api.ok("POST", "/api/providers", { name: "scripted", kind: "lmstudio", baseUrl: llm.baseUrl });
      const job = await api.ok("POST", "/api/jobs", {
        name: "exec-allow",
        prompt: "run the commands",
        model: { provider: "scripted", model: "qwen2.5-7b-instruct" },
        nodes: [nodeId],
        maxSteps: 4,
      });
      const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
      const run = await api.waitRun(runId);
      const tools = run.steps.filter((step: { type: string }) => step.type === "tool");
      expect(tools, JSON.stringify(run).slice(0, 1500)).toHaveLength(2);
      const allowed = tools.find((t: { arguments: { command: string } }) => t.arguments.command === "echo allowed-42");
      const refused = tools.find((t: { arguments: { command: string } }) => t.arguments.command !== "echo allowed-42");
      expect(allowed.isError).toBe(false);
      expect(JSON.stringify(allowed.result)).toContain("allowed-42");
      expect(refused.isError).toBe(true);
      expect(JSON.stringify(refused.result)).toContain("--exec-allow");
    } finally {
      await llm.close();
    }
  });
});

describe("a stolen database", () => {
  it("admits the real Node by its key at a fresh Core, and nobody holding only the database", async () => {
    const created = await createNode("id-stolen");
    const nodeDir = tempDir("node");
    node(["--core", core.url], nodeDir, created.token);
    await waitFor("the Node online", () => online(created.id));

    // The attacker's copy: the database file only (no master key), under a fresh Core with a fresh key
    // on the same address. Stop the original first so the copy is complete (SQLite WAL checkpoint).
    await core.proc.stop();
    const freshDir = tempDir("core");
    mkdirSync(freshDir, { recursive: true });
    const source = join(core.dataDir, "fabricore.db");
    copyFileSync(source, join(freshDir, "fabricore.db"));
    for (const suffix of ["-wal", "-shm"]) {
      if (existsSync(source + suffix)) copyFileSync(source + suffix, join(freshDir, `fabricore.db${suffix}`));
    }
    const db = new DatabaseSync(join(freshDir, "fabricore.db"));
    const row = db.prepare("SELECT token_hash, public_key FROM nodes WHERE id = ?").get(created.id) as {
      token_hash: string;
      public_key: string;
    };
    expect(row.public_key).toBeTruthy();
    expect(JSON.stringify(row)).not.toContain(created.token);
    // The attacker has no master key: they drop the key ring so their Core starts with a new one.
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
    if (tables.some((t) => t.name === "master_keys")) db.exec("DELETE FROM master_keys");
    db.close();
    writeFileSync(join(freshDir, "marker"), "fresh core");
    core = await startCore({
      dataDir: freshDir,
      port: core.port,
      env: { FABRICORE_DATABASE_URL: "" },
    });
    expect(existsSync(join(freshDir, "master.key"))).toBe(true);
    api = await new ApiClient(core.url).login();

    // The real Node reconnects to the fresh Core by signature alone.
    await waitFor("the Node online at the fresh Core", () => online(created.id), 30_000);
    // What the database holds does not let anyone else in.
    expect((await enroll(`fcn_${row.token_hash}`, keyPair().publicKey)).status).toBe(401);
    expect(await upgrade(await signedHeaders(created.id, keyPair().privateKey))).toBe(401);
    expect(await upgrade({ authorization: `Bearer fcn_${row.token_hash}` })).toBe(401);
  });
});
