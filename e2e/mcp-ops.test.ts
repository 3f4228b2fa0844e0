/**
 * Issue 22.5's Retry/Restart and logs, end to end: the real Core process, the compiled Node binary
 * with real Docker, and the real filesystem MCP server (`mcp/filesystem`, built locally, no pull;
 * its containers have `NetworkMode: none`). A server that fails (its directory missing on the host,
 * then the directory it serves missing inside it) shows why in its logs; after the host is fixed,
 * Retry brings it up; Restart gives a running one a new container; the logs of a server that prints
 * its secret setting show `[secret:NAME]`, while Docker's own log of it holds the value. Before any
 * install, GET /api/nodes/:id says what this Node allows (its --mount-root, --allow-image).
 */
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { dockerOptions } from "@fabricore/node/runtime/docker-api.ts";
import {
  assertDocker,
  probeDocker,
  shouldRunDockerSuite,
  testDockerEndpoint,
} from "@fabricore/node/runtime/testing/docker-suite.ts";
import Docker from "dockerode";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureTestImages, FILESYSTEM_IMAGE, HOSTILE_IMAGE } from "./images/test-images.ts";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type NodeProc,
  startCore,
  startNode,
  tempDir,
  waitFor,
} from "./support/harness.ts";

const probe = await probeDocker();
const run = shouldRunDockerSuite(probe, "MCP Retry/Restart and logs e2e");
const docker = new Docker(dockerOptions(testDockerEndpoint()));
const mountRoot = tempDir("mcp-ops-mounts");
const nodeDataDir = tempDir("mcp-ops-node");
/** The label the Node puts on its containers (create-mcp-manager.ts: derived from its data dir). */
const nodeLabel = `data-${createHash("sha256").update(resolve(nodeDataDir)).digest("hex").slice(0, 16)}`;
const SECRET = `ops-secret-${createHash("sha256").update(nodeDataDir).digest("hex").slice(0, 12)}`;

let core: CoreHandle;
let api: ApiClient;
let node: NodeProc | undefined;
let nodeId = "";

async function server(name: string): Promise<any> {
  const list = (await api.ok("GET", `/api/nodes/${nodeId}/mcp`)) as Array<{ name: string }>;
  return list.find((s) => s.name === name);
}

async function logs(name: string, tail = 200): Promise<{ source: string; containerId?: string; lines: any[] }> {
  return api.ok("GET", `/api/nodes/${nodeId}/mcp/${name}/logs?tail=${tail}`);
}

const texts = (result: { lines: Array<{ stream: string; text: string }> }) =>
  result.lines.map((l) => `${l.stream}: ${l.text}`);

async function containersOf(name: string) {
  return docker.listContainers({
    all: true,
    filters: JSON.stringify({ label: [`fabricore.node=${nodeLabel}`, `fabricore.server=${name}`] }),
  });
}

describe.skipIf(!run)("MCP server Retry/Restart and logs through the Core's API", () => {
  beforeAll(async () => {
    assertDocker(probe);
    ensureNodeBinary();
    await ensureTestImages();
    chmodSync(mountRoot, 0o755);
    core = await startCore();
    api = await new ApiClient(core.url).login();
    const created = await api.ok("POST", "/api/nodes", { name: "ops-host" });
    nodeId = created.id;
    node = startNode(
      core.url,
      created.token,
      [
        "--docker-socket",
        testDockerEndpoint(),
        "--mount-root",
        mountRoot,
        "--allow-image",
        "mcp/filesystem",
        "--allow-image",
        "fabricore-test/*",
        "--log-level",
        "warn",
      ],
      {},
      nodeDataDir,
    );
    await api.waitNodeOnline(nodeId);
  }, 180_000);

  afterEach((context) => {
    if (context.task.result?.state !== "fail") return;
    console.error(`--- Node output (tail) ---\n${node?.output.slice(-4000) ?? ""}`);
    console.error(`--- Core output (tail) ---\n${core?.proc.output.slice(-4000) ?? ""}`);
  });

  afterAll(async () => {
    await node?.stop();
    await core?.proc.stop();
    if (probe.available) {
      const left = await docker.listContainers({
        all: true,
        filters: JSON.stringify({ label: [`fabricore.node=${nodeLabel}`] }),
      });
      for (const c of left) await docker.getContainer(c.Id).remove({ force: true });
    }
    rmSync(mountRoot, { recursive: true, force: true });
    rmSync(nodeDataDir, { recursive: true, force: true });
  });

  it("says what the Node allows before anything is installed", async () => {
    const view = await api.ok("GET", `/api/nodes/${nodeId}`);
    expect(view.capabilities.mcpPolicy).toEqual({
      mountRoots: [mountRoot],
      mountRwRoots: [],
      allowImages: ["mcp/filesystem", "fabricore-test/*"],
      allowOpenNetwork: false,
      allowEgress: [],
      allowRoot: false,
    });
  });

  it("a failing server's logs say why; fixed on the host, Retry brings it up; Restart gives it a new container", async () => {
    const docs = join(mountRoot, "docs");
    const added = await api.request("POST", `/api/nodes/${nodeId}/mcp`, {
      name: "docs",
      image: FILESYSTEM_IMAGE,
      args: ["/data/sub"],
      mounts: [{ source: docs, target: "/data" }],
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    // 1. The host directory is missing: the Node refuses the mount, for good (no retry loop).
    const refused = await waitFor("the mount refused", async () => {
      const s = await server("docs");
      return s?.state === "failed" ? s : undefined;
    });
    expect(refused.error).toContain("does not exist on this host");
    const first = await logs("docs");
    expect(first.source).toBe("node");
    expect(texts(first)).toEqual(
      expect.arrayContaining([
        "node: starting",
        expect.stringMatching(/^node: failed: mount refused: .*does not exist/),
      ]),
    );

    // 2. Made, but the directory the server serves inside it is not: the server itself says so.
    mkdirSync(docs, { mode: 0o755 });
    chmodSync(docs, 0o755);
    const retried = await api.request("POST", `/api/nodes/${nodeId}/mcp/docs/restart`);
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(["restarting", "failed"]).toContain(retried.body.state);
    expect(retried.body.error).toContain("None of the specified directories are accessible");
    const second = await logs("docs");
    expect(second.source).toBe("node");
    expect(texts(second)).toEqual(
      expect.arrayContaining([
        "node: restart asked for by the Core",
        "stderr: Warning: Cannot access directory /data/sub, skipping",
        "stderr: Error: None of the specified directories are accessible",
      ]),
    );
    // The first attempt's lines are still there: the log spans the server's attempts.
    expect(texts(second).some((t) => t.includes("does not exist"))).toBe(true);

    // 3. Fixed: Retry now, without waiting for the backoff.
    mkdirSync(join(docs, "sub"), { mode: 0o755 });
    chmodSync(join(docs, "sub"), 0o755);
    const running = await api.ok("POST", `/api/nodes/${nodeId}/mcp/docs/restart`);
    expect(running).toMatchObject({ name: "docs", state: "running", error: null });
    await waitFor("its tools", async () => ((await server("docs"))?.tools.length ?? 0) > 0);
    const third = await logs("docs");
    expect(third.source).toBe("container");
    expect(texts(third)).toContain("stderr: Secure MCP Filesystem Server running on stdio");
    const [container] = await containersOf("docs");
    expect(third.containerId).toBe(container?.Id);
    expect((await docker.getContainer(container!.Id).inspect()).HostConfig.NetworkMode).toBe("none");

    // 4. Restart a running server: a new container, the old one gone, its tools back.
    const restarted = await api.ok("POST", `/api/nodes/${nodeId}/mcp/docs/restart`);
    expect(restarted.state).toBe("running");
    const after = await containersOf("docs");
    expect(after).toHaveLength(1);
    expect(after[0]?.Id).not.toBe(container?.Id);
    expect((await logs("docs")).containerId).toBe(after[0]?.Id);
    await waitFor("its tools again", async () => ((await server("docs"))?.tools.length ?? 0) > 0);

    // The restarts are in the audit log, by whom.
    const audit = await api.ok("GET", `/api/audit?target=${encodeURIComponent(`${nodeId}/docs`)}`);
    const entries = (audit.items ?? audit) as Array<{ action: string }>;
    expect(entries.filter((e) => e.action === "mcp.restart")).toHaveLength(3);
  }, 120_000);

  it("a secret setting the server prints is redacted in its logs; Docker's own log has it", async () => {
    expect((await api.request("POST", "/api/secrets", { name: "ops-token", value: SECRET })).status).toBe(201);
    const added = await api.request("POST", `/api/nodes/${nodeId}/mcp`, {
      name: "talker",
      image: HOSTILE_IMAGE,
      // TOKEN: shorter than a redacted value may be, so the line keeps the name of what it prints.
      settings: { TOKEN: { secret: "ops-token" }, HOSTILE_LOG_ENV: "TOKEN" },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    await waitFor("talker running", async () => (await server("talker"))?.state === "running");
    const result = await logs("talker", 10);
    expect(result.source).toBe("container");
    expect(texts(result)).toContain("stderr: hostile: TOKEN=[secret:ops-token]");
    expect(JSON.stringify(result)).not.toContain(SECRET);
    // Not a vacuous pass: the container did print the value.
    const [container] = await containersOf("talker");
    const raw = (await docker.getContainer(container!.Id).logs({ stderr: true, stdout: false })).toString("utf8");
    expect(raw).toContain(`hostile: TOKEN=${SECRET}`);
    // A Node that never runs a server answers 404 for it, an unknown Node too.
    expect((await api.request("GET", `/api/nodes/${nodeId}/mcp/nope/logs`)).status).toBe(404);
    expect((await api.request("POST", "/api/nodes/no-such-node/mcp/talker/restart")).status).toBe(404);
  }, 60_000);
});
