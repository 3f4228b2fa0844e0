/**
 * Issue 3's end-to-end proof, through the Core's HTTP API only: the real Core process, the compiled
 * Node binary with Docker, and a scripted LM Studio. An MCP server added with
 * `POST /api/nodes/:id/mcp` runs in a least-privilege container on the Node, its tools reach
 * `GET /api/nodes/:id` and a job's model, a killed container is withdrawn and restarted, a restarted
 * Node adopts its container, DELETE removes it; a pass-through server on loopback works the same way;
 * bad requests are refused before anything is stored or started.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { dockerOptions } from "@fabricore/node/runtime/docker-api.ts";
import {
  assertDocker,
  probeDocker,
  shouldRunDockerSuite,
  testDockerEndpoint,
} from "@fabricore/node/runtime/testing/docker-suite.ts";
import Docker from "dockerode";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EVERYTHING_IMAGE, ensureTestImages, HOSTILE_IMAGE } from "./images/test-images.ts";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  freePort,
  NODE_BINARY,
  Proc,
  startCore,
  tempDir,
  waitFor,
} from "./support/harness.ts";

interface ChatBody {
  messages: Array<{ role: string; content?: string | null }>;
  tools?: Array<{ function: { name: string } }>;
}

interface ToolView {
  name: string;
  source: string;
}

const probe = await probeDocker();
const run = shouldRunDockerSuite(probe, "MCP through the API e2e");
const docker = new Docker(dockerOptions(testDockerEndpoint()));

const marker = `MCP-MARKER-${randomBytes(8).toString("hex")}`;
const echoText = `echo-${randomBytes(6).toString("hex")}`;
/** The mount roots the Node allows (--mount-root); the shared directory lives below it. */
const mountRoot = tempDir("mcp-mounts");
const shared = join(mountRoot, "shared");
const nodeDataDir = tempDir("mcp-node");

/**
 * The scripted model. It calls the tool whose model-facing name the test expects (`want`), taken
 * from the prompt, and only if the Core offered it under exactly that name; then it answers with
 * the tool's output, so the output in the run proves the whole path.
 */
function script(request: RecordedRequest) {
  const body = request.body as ChatBody;
  const user = body.messages.find((m) => m.role === "user")?.content ?? "";
  const results = body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  if (results.length > 0) return turn.text(`Answer: ${results.join(" | ")}`);
  const want = /CALL:(\S+)/.exec(user)?.[1];
  const offered = (body.tools ?? []).map((t) => t.function.name);
  if (!want || !offered.includes(want)) return turn.text(`NOT OFFERED ${want}; offered: ${offered.join(",")}`);
  const args = want.endsWith("echo")
    ? { message: echoText }
    : want.endsWith("fetch_urls")
      ? { urls: ["https://denied.test:8443/", "http://169.254.169.254/latest/meta-data/"] }
      : { path: "/data/marker.txt" };
  return turn.toolCalls([{ name: want, arguments: args }]);
}

let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
let node: Proc | undefined;
let nodeId = "";
let nodeToken = "";
let everything: ChildProcess | undefined;
let everythingPort = 0;

/** The Node binary with Docker, allowed to mount below `mountRoot` only, always the same data dir
 * (so a restart is the same Node: same key, same container labels). */
function startDockerNode(): Proc {
  return new Proc(
    spawn(
      NODE_BINARY,
      [
        "--core",
        core.url,
        "--data-dir",
        nodeDataDir,
        "--docker-socket",
        testDockerEndpoint(),
        "--mount-root",
        mountRoot,
        // What a server here may be allowed to reach (issue 17); nothing in these tests is reachable.
        "--allow-egress",
        "*.test:8443",
        "--log-level",
        "warn",
      ],
      { env: { ...process.env, FABRICORE_NODE_TOKEN: nodeToken }, stdio: ["ignore", "pipe", "pipe"] },
    ),
  );
}

async function nodeTools(): Promise<ToolView[]> {
  return (await api.ok("GET", `/api/nodes/${nodeId}`)).tools as ToolView[];
}

async function mcpServer(name: string): Promise<any> {
  const list = (await api.ok("GET", `/api/nodes/${nodeId}/mcp`)) as Array<{ name: string }>;
  return list.find((s) => s.name === name);
}

/**
 * This Node's `fabricore.node` label, learnt from its first container. Other test files run in
 * parallel and may manage a server of the same name; every count here is scoped to this Node.
 */
let nodeLabel: string | undefined;

/** Containers this Node manages for `server`, running or not. */
async function containersOf(server: string) {
  return docker.listContainers({
    all: true,
    filters: JSON.stringify({
      label: [
        "fabricore.managed=true",
        `fabricore.server=${server}`,
        ...(nodeLabel === undefined ? [] : [`fabricore.node=${nodeLabel}`]),
      ],
    }),
  });
}

async function runJob(name: string, prompt: string): Promise<any> {
  const job = await api.ok("POST", "/api/jobs", {
    name,
    prompt,
    model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
    nodes: [nodeId],
    maxSteps: 4,
  });
  const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
  return api.waitRun(runId);
}

/** server-everything on Streamable HTTP, pinned to loopback (it listens on every interface given
 * only PORT; the preload narrows its listen call). */
async function startEverything(port: number): Promise<ChildProcess> {
  const require = createRequire(import.meta.url);
  const entry = join(dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")), "dist/index.js");
  const loopbackOnly = `data:text/javascript,${encodeURIComponent(
    'import net from "node:net"; const listen = net.Server.prototype.listen; net.Server.prototype.listen = function (port, ...rest) { return typeof port === "number" || typeof port === "string" ? listen.call(this, Number(port), "127.0.0.1", ...rest.filter((a) => typeof a === "function")) : listen.call(this, port, ...rest); };',
  )}`;
  const child = spawn(process.execPath, ["--import", loopbackOnly, entry, "streamableHttp"], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`server-everything did not start:\n${output}`)), 15_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (/listening on port/i.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("exit", (code) => reject(new Error(`server-everything exited with ${code}:\n${output}`)));
  });
  return child;
}

describe.skipIf(!run)("MCP on the Node through the Core's API", () => {
  beforeAll(async () => {
    assertDocker(probe);
    ensureNodeBinary();
    await ensureTestImages();
    // The container runs as nobody: the directory and the file must be readable by others.
    chmodSync(mountRoot, 0o755);
    mkdirSync(shared, { mode: 0o755 });
    writeFileSync(join(shared, "marker.txt"), `${marker}\n`, { mode: 0o644 });
    everythingPort = await freePort();
    [llm, everything] = await Promise.all([startScriptedOpenAiServer({ script }), startEverything(everythingPort)]);
    core = await startCore();
    api = await new ApiClient(core.url).login();
    await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
    const created = await api.ok("POST", "/api/nodes", { name: "mcp-host" });
    nodeId = created.id;
    nodeToken = created.token;
    node = startDockerNode();
    await api.waitNodeOnline(nodeId);
  }, 180_000);

  afterEach((context) => {
    // A failure across four processes is explained by their logs, not by the assertion alone.
    if (context.task.result?.state !== "fail") return;
    console.error(`--- Node output (tail) ---\n${node?.output.slice(-4000) ?? ""}`);
    console.error(`--- Core output (tail) ---\n${core?.proc.output.slice(-4000) ?? ""}`);
  });

  afterAll(async () => {
    await node?.stop();
    everything?.kill("SIGTERM");
    await core?.proc.stop();
    await llm?.close();
    if (probe.available) {
      const left = await docker.listContainers({
        all: true,
        filters: JSON.stringify({ label: ["fabricore.managed=true"] }),
      });
      // Only this Node's: other test files' containers are theirs to remove.
      for (const c of left) {
        if (nodeLabel !== undefined && c.Labels["fabricore.node"] === nodeLabel) {
          await docker.getContainer(c.Id).remove({ force: true });
        }
      }
    }
    rmSync(mountRoot, { recursive: true, force: true });
    rmSync(nodeDataDir, { recursive: true, force: true });
  });

  it("refuses bad servers with a clear error, storing and starting nothing", async () => {
    const cases: Array<[string, unknown, number, RegExp]> = [
      [
        "the Docker socket",
        { name: "sock", preset: "filesystem", mounts: [{ source: "/var/run/docker.sock", target: "/data" }] },
        400,
        /docker\.sock/i,
      ],
      [
        "the root directory",
        { name: "root", preset: "filesystem", mounts: [{ source: "/", target: "/data" }] },
        400,
        /\//,
      ],
      [
        "a relative path",
        { name: "rel", preset: "filesystem", mounts: [{ source: "shared/data", target: "/data" }] },
        400,
        /absolute/i,
      ],
      ["an unknown preset", { name: "nope", preset: "no-such-preset" }, 404, /unknown MCP preset/],
      ["a URL off the host", { name: "far", url: "http://10.1.2.3:3001/mcp" }, 400, /loopback/],
    ];
    for (const [what, body, status, message] of cases) {
      const res = await api.request("POST", `/api/nodes/${nodeId}/mcp`, body);
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(status);
      expect(res.body.error.code, what).toEqual(expect.any(String));
      expect(res.body.error.message, what).toMatch(message);
    }
    expect(await api.ok("GET", `/api/nodes/${nodeId}/mcp`)).toEqual([]);
    expect(await containersOf("sock")).toEqual([]);
    expect(await containersOf("root")).toEqual([]);
    expect((await nodeTools()).every((t) => t.source === "builtin")).toBe(true);
  });

  it("runs the filesystem preset in a least-privilege container and a job reads through it", async () => {
    const added = Date.now();
    const res = await api.request("POST", `/api/nodes/${nodeId}/mcp`, {
      name: "files",
      preset: "filesystem",
      mounts: [{ source: shared, target: "/data", readOnly: true }],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ name: "files", kind: "managed", preset: "filesystem" });

    const tools = await waitFor(
      "the filesystem tools on the Node",
      async () => {
        const list = (await nodeTools()).filter((t) => t.source === "mcp:files");
        return list.length > 0 ? list : undefined;
      },
      20_000,
      50,
    );
    console.info(`filesystem preset: POST → tools offered in ${Date.now() - added} ms`);
    expect(tools.map((t) => t.name)).toContain("read_text_file");
    const server = await mcpServer("files");
    expect(server).toMatchObject({ state: "running", error: null });
    expect(server.tools.map((t: { name: string }) => t.name)).toContain("read_text_file");

    // One Node, and only the MCP server offers read_text_file: the model sees the plain name.
    const job = await runJob("read-marker", "CALL:read_text_file Read the marker.");
    expect(job.status, JSON.stringify(job)).toBe("succeeded");
    expect(job.output).toContain(marker);
    const step = job.steps.find((s: { type: string }) => s.type === "tool");
    expect(step).toMatchObject({ tool: "read_text_file", isError: false, node: "mcp-host" });

    // The one container bind-mounting this test's directory (unique on this host) is this Node's.
    const ours = (await containersOf("files")).filter((c) => c.Mounts.some((m) => m.Source === shared));
    expect(ours).toHaveLength(1);
    const container = ours[0];
    nodeLabel = container!.Labels["fabricore.node"];
    expect(nodeLabel).toBeTruthy();
    expect(await containersOf("files")).toHaveLength(1);
    const info = await docker.getContainer(container!.Id).inspect();
    expect(info.Mounts).toEqual([expect.objectContaining({ Type: "bind", Destination: "/data", RW: false })]);
    expect(info.Mounts[0]!.Source).toBe(shared);
    expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges");
    expect(info.HostConfig.NetworkMode).toBe("none");
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.HostConfig.Memory).toBeGreaterThan(0);
    expect(info.HostConfig.PidsLimit).toBeGreaterThan(0);
    expect(info.Config.User).not.toMatch(/^(|root|0)(:|$)/);
  });

  it("also offers the clashing read_file as files__read_file, next to the built-in", async () => {
    const tools = await nodeTools();
    expect(
      tools
        .filter((t) => t.name === "read_file")
        .map((t) => t.source)
        .sort(),
    ).toEqual(["builtin", "mcp:files"]);
    const job = await runJob("read-marker-clash", "CALL:files__read_file Read the marker.");
    expect(job.status, JSON.stringify(job)).toBe("succeeded");
    expect(job.output).toContain(marker);
  });

  it("withdraws the tools of a killed container, restarts it, and a later job works", async () => {
    const [before] = await containersOf("files");
    await docker.getContainer(before!.Id).kill();
    await waitFor(
      "the filesystem tools withdrawn",
      async () => !(await nodeTools()).some((t) => t.source === "mcp:files"),
      10_000,
      25,
    );
    const server = await waitFor(
      "the filesystem server running again",
      async () => {
        const s = await mcpServer("files");
        return s?.state === "running" && s.tools.length > 0 ? s : undefined;
      },
      30_000,
      100,
    );
    expect(server.restarts).toBeGreaterThanOrEqual(1);
    await waitFor("the tools offered again", async () => (await nodeTools()).some((t) => t.source === "mcp:files"));
    const job = await runJob("read-after-restart", "CALL:read_text_file Read the marker again.");
    expect(job.status, JSON.stringify(job)).toBe("succeeded");
    expect(job.output).toContain(marker);
    expect(await containersOf("files")).toHaveLength(1);
  });

  it("adopts its container when the Node process restarts: one container, no orphan", async () => {
    const [before] = await containersOf("files");
    await node!.stop();
    await waitFor("the Node offline", async () => (await api.ok("GET", `/api/nodes/${nodeId}`)).status === "offline");
    node = startDockerNode();
    await waitFor(
      "the filesystem server running on the restarted Node",
      async () => {
        const s = await mcpServer("files");
        return s?.state === "running" && (await nodeTools()).some((t) => t.source === "mcp:files");
      },
      30_000,
    );
    const after = await containersOf("files");
    expect(after.map((c) => c.Id)).toEqual([before!.Id]);
    const job = await runJob("read-after-node-restart", "CALL:read_text_file Read the marker once more.");
    expect(job.output).toContain(marker);
  });

  it("keeps the server running across a Core restart: the desired set in the hello changes nothing", async () => {
    const [before] = await containersOf("files");
    const restartsBefore = (await mcpServer("files")).restarts;
    await core.proc.stop();
    core = await startCore({ dataDir: core.dataDir, port: core.port });
    api = await new ApiClient(core.url).login();
    await api.waitNodeOnline(nodeId, 30_000);
    const server = await waitFor("the files server reported running", async () => {
      const s = await mcpServer("files");
      return s?.state === "running" ? s : undefined;
    });
    expect(server.restarts).toBe(restartsBefore);
    expect((await containersOf("files")).map((c) => c.Id)).toEqual([before!.Id]);
    expect((await docker.getContainer(before!.Id).inspect()).RestartCount).toBe(0);
    const job = await runJob("read-after-core-restart", "CALL:read_text_file Read the marker after the restart.");
    expect(job.output).toContain(marker);
  });

  it("starts a server added while its Node was offline, and removes one deleted while it was", async () => {
    const token = `tok-${randomBytes(6).toString("hex")}`;
    await api.ok("POST", "/api/secrets", { name: "mcp-e2e-token", value: token });
    await node!.stop();
    await waitFor("the Node offline", async () => (await api.ok("GET", `/api/nodes/${nodeId}`)).status === "offline");
    // Any image (not a preset), with a setting taken from a stored secret.
    const res = await api.request("POST", `/api/nodes/${nodeId}/mcp`, {
      name: "later",
      image: EVERYTHING_IMAGE,
      settings: { API_TOKEN: { secret: "mcp-e2e-token" } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ state: "offline", settings: { API_TOKEN: { secret: "mcp-e2e-token" } } });
    expect(JSON.stringify(res.body)).not.toContain(token);

    node = startDockerNode();
    await waitFor(
      "the server added while offline running",
      async () => (await nodeTools()).some((t) => t.source === "mcp:later" && t.name === "echo"),
      30_000,
    );
    const [later] = await containersOf("later");
    // The secret reached that server's own environment, decrypted on the Core only to be sent.
    expect((await docker.getContainer(later!.Id).inspect()).Config.Env).toContain(`API_TOKEN=${token}`);
    expect(JSON.stringify(await api.ok("GET", `/api/nodes/${nodeId}/mcp`))).not.toContain(token);

    // A deleted secret cannot be sent any more: the list says so instead of waiting forever.
    await api.ok("DELETE", "/api/secrets/mcp-e2e-token");
    expect(await mcpServer("later")).toMatchObject({ state: "failed", error: expect.stringMatching(/mcp-e2e-token/) });

    await node!.stop();
    await waitFor("the Node offline", async () => (await api.ok("GET", `/api/nodes/${nodeId}`)).status === "offline");
    await api.ok("DELETE", `/api/nodes/${nodeId}/mcp/later`);
    node = startDockerNode();
    await waitFor("the container of the server deleted while offline removed", async () => {
      return (await containersOf("later")).length === 0;
    });
    await waitFor("the files server running again", async () => (await mcpServer("files"))?.state === "running");
    expect((await nodeTools()).some((t) => t.source === "mcp:later")).toBe(false);
    expect(await containersOf("files")).toHaveLength(1);
  });

  it("passes a loopback MCP server through by URL, and a job's echo comes back", async () => {
    const res = await api.request("POST", `/api/nodes/${nodeId}/mcp`, {
      name: "everything",
      url: `http://127.0.0.1:${everythingPort}/mcp`,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    await waitFor("the echo tool offered", async () =>
      (await nodeTools()).some((t) => t.source === "mcp:everything" && t.name === "echo"),
    );
    expect(await mcpServer("everything")).toMatchObject({ kind: "remote", state: "running" });
    const job = await runJob("echo", "CALL:echo Echo something.");
    expect(job.status, JSON.stringify(job)).toBe("succeeded");
    expect(job.output).toContain(echoText);
  });

  it("a server with an egress allow list: what its proxy refuses is counted in the Node's status and the API (issue 17)", async () => {
    const res = await api.request("POST", `/api/nodes/${nodeId}/mcp`, {
      name: "egress",
      image: HOSTILE_IMAGE,
      network: { allow: ["allowed.test:8443"] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    await waitFor("the egress server running", async () => (await mcpServer("egress"))?.state === "running", 60_000);
    expect(await mcpServer("egress")).toMatchObject({ network: { allow: ["allowed.test:8443"] } });
    try {
      // Under a loaded machine the container's first fetch has been seen to give up (its 5 s
      // timeout) before the proxy decided: up to three runs, and the outputs in the failure.
      const outputs: string[] = [];
      for (let attempt = 1; ; attempt++) {
        const job = await runJob(`egress-probe-${attempt}`, "CALL:fetch_urls Fetch these.");
        expect(job.status, JSON.stringify(job)).toBe("succeeded");
        // Neither is on the list: refused by the proxy (a name before any lookup, the metadata address by rule).
        expect(job.output).not.toMatch(/"status":\s*200/);
        outputs.push(job.output);
        const counted = await waitFor(
          "the refusals reported",
          async () => (await mcpServer("egress"))?.egress?.refused >= 2,
          10_000,
        ).then(
          () => true,
          () => false,
        );
        if (counted) break;
        if (attempt === 3)
          throw new Error(
            `no refusal counted after 3 runs; outputs: ${outputs.join(" || ")}; server: ${JSON.stringify(await mcpServer("egress"))}`,
          );
      }
      const server = await mcpServer("egress");
      expect(server.egress.allowed).toBe(0);
      expect(server.egress.refused).toBeGreaterThanOrEqual(2);
      expect(server.egress.lastRefused.target).toMatch(/denied\.test:8443|169\.254\.169\.254:80/);
    } finally {
      // Gone whatever happened, so the next tests see only their own servers.
      await api.request("DELETE", `/api/nodes/${nodeId}/mcp/egress`);
      await waitFor("the egress server removed", async () => (await mcpServer("egress")) === undefined, 30_000);
    }
  });

  it("reports a mount the Node's own policy refuses as failed, with the reason", async () => {
    // The Core accepts any absolute, non-dangerous path; only the Node knows its --mount-root.
    const outside = tempDir("mcp-outside");
    try {
      const res = await api.request("POST", `/api/nodes/${nodeId}/mcp`, {
        name: "outside",
        preset: "filesystem",
        mounts: [{ source: outside, target: "/data" }],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const server = await waitFor("the outside server failed", async () => {
        const s = await mcpServer("outside");
        return s?.state === "failed" ? s : undefined;
      });
      expect(server.error).toMatch(/mount root/);
      expect(await containersOf("outside")).toEqual([]);
      await api.ok("DELETE", `/api/nodes/${nodeId}/mcp/outside`);
      expect(await mcpServer("outside")).toBeUndefined();
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("reports an image that cannot be pulled as failed, with the reason", async () => {
    const res = await api.request("POST", `/api/nodes/${nodeId}/mcp`, {
      name: "bad",
      image: "fabricore-test/does-not-exist:1",
    });
    expect([201, 400]).toContain(res.status);
    if (res.status === 201) {
      const server = await waitFor(
        "the bad server failed",
        async () => {
          const s = await mcpServer("bad");
          return s?.state === "failed" ? s : undefined;
        },
        30_000,
      );
      expect(server.error).toMatch(/fabricore-test\/does-not-exist:1/);
      expect(server.error).toMatch(/pull/i);
      expect(await containersOf("bad")).toEqual([]);
      await api.ok("DELETE", `/api/nodes/${nodeId}/mcp/bad`);
    } else {
      expect(res.body.error.message).toMatch(/does-not-exist/);
    }
  });

  it("DELETE stops the server, removes its container and withdraws its tools", async () => {
    await api.ok("DELETE", `/api/nodes/${nodeId}/mcp/files`);
    await waitFor("the files container removed", async () => (await containersOf("files")).length === 0, 15_000);
    await waitFor(
      "the filesystem tools withdrawn",
      async () => !(await nodeTools()).some((t) => t.source === "mcp:files"),
    );
    expect(await mcpServer("files")).toBeUndefined();
    expect((await api.request("DELETE", `/api/nodes/${nodeId}/mcp/files`)).status).toBe(404);
    await api.ok("DELETE", `/api/nodes/${nodeId}/mcp/everything`);
    await waitFor("the pass-through tools withdrawn", async () =>
      (await nodeTools()).every((t) => t.source === "builtin"),
    );
  });
});
