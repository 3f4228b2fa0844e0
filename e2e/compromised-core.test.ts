/**
 * SECURITY.md "What a compromised Core cannot make a Node do" (issue 15 item 3): the Core runs in
 * this process, so the test can do what a compromised Core would — send `fabricore/mcp/sync` with
 * specs the API would never build, straight through the hub — against the real compiled Node and a
 * real Docker engine. The Node must refuse each one with an error naming the bound, start no
 * container for it, and still run the one spec that stays within its bounds.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { type Core, createCore } from "@fabricore/core/core.ts";
import { loadCoreEnv } from "@fabricore/core/env.ts";
import { dockerOptions } from "@fabricore/node/runtime/docker-api.ts";
import {
  assertDocker,
  probeDocker,
  shouldRunDockerSuite,
  testDockerEndpoint,
} from "@fabricore/node/runtime/testing/docker-suite.ts";
import type { McpServerSpec, McpServerStatus } from "@fabricore/protocol";
import Docker from "dockerode";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureTestImages, HOSTILE_IMAGE } from "./images/test-images.ts";
import {
  ADMIN_PASSWORD,
  ApiClient,
  ensureNodeBinary,
  freePort,
  NODE_BINARY,
  Proc,
  tempDir,
  waitFor,
} from "./support/harness.ts";

const probe = await probeDocker();
const run = shouldRunDockerSuite(probe, "compromised Core e2e");
const docker = new Docker(dockerOptions(testDockerEndpoint()));
const nodeDataDir = tempDir("compromised-node");
const coreDataDir = tempDir("compromised-core");
const nodeLabel = `data-${createHash("sha256").update(nodeDataDir).digest("hex").slice(0, 16)}`;

let core: Core;
let node: Proc | undefined;
let nodeId = "";

const managed = (name: string, fields: Record<string, unknown>) =>
  ({
    kind: "managed",
    name,
    image: HOSTILE_IMAGE,
    args: [],
    env: {},
    mounts: [],
    network: "none",
    limits: {},
    ...fields,
  }) as McpServerSpec;

async function containersOf(server: string) {
  return docker.listContainers({
    all: true,
    filters: JSON.stringify({
      label: ["fabricore.managed=true", `fabricore.server=${server}`, `fabricore.node=${nodeLabel}`],
    }),
  });
}

describe.skipIf(!run)("a compromised Core cannot raise a container's privileges", () => {
  beforeAll(async () => {
    assertDocker(probe);
    ensureNodeBinary();
    await ensureTestImages();
    const port = await freePort();
    core = await createCore(
      loadCoreEnv({
        FABRICORE_DATA_DIR: coreDataDir,
        FABRICORE_PORT: String(port),
        FABRICORE_HOST: "127.0.0.1",
        FABRICORE_ADMIN_PASSWORD: ADMIN_PASSWORD,
        FABRICORE_LOG_LEVEL: "error",
      }),
      { logger: pino({ level: "silent" }) },
    );
    await core.listen();
    const url = `http://127.0.0.1:${port}`;
    const api = await new ApiClient(url).login();
    const created = await api.ok("POST", "/api/nodes", { name: "target" });
    nodeId = created.id;
    node = new Proc(
      spawn(
        NODE_BINARY,
        ["--core", url, "--data-dir", nodeDataDir, "--docker-socket", testDockerEndpoint(), "--log-level", "warn"],
        {
          env: { ...process.env, FABRICORE_NODE_TOKEN: created.token },
          stdio: ["ignore", "pipe", "pipe"],
        },
      ),
    );
    await waitFor("the Node online", async () => core.ctx.hub.isOnline(nodeId), 30_000);
  }, 180_000);

  afterEach((context) => {
    if (context.task.result?.state === "fail") console.error(`--- Node output ---\n${node?.output.slice(-4000) ?? ""}`);
  });

  afterAll(async () => {
    await node?.stop();
    await core?.close();
    if (probe.available) {
      const all = await docker.listContainers({
        all: true,
        filters: JSON.stringify({ label: [`fabricore.node=${nodeLabel}`] }),
      });
      for (const c of all) await docker.getContainer(c.Id).remove({ force: true });
    }
    rmSync(nodeDataDir, { recursive: true, force: true });
    rmSync(coreDataDir, { recursive: true, force: true });
  });

  it("refuses root, huge limits, the open network and internal egress; runs what stays within bounds", async () => {
    const hostile: Array<[McpServerSpec, string]> = [
      [
        managed("as-root", { user: "0:0" }),
        'user "0:0" refused: this Node runs no container as root (--allow-root-containers)',
      ],
      [managed("root-group", { user: "1000:0" }), "--allow-root-containers"],
      [managed("named-user", { user: "toor" }), "give a numeric uid:gid"],
      [
        managed("big-memory", { limits: { memoryBytes: 64 * 1024 ** 3 } }),
        "memory 64 GiB exceeds this Node's --max-container-memory 2 GiB",
      ],
      [
        managed("many-pids", { limits: { pids: 1_000_000 } }),
        "pids 1000000 exceeds this Node's --max-container-pids 512",
      ],
      [managed("many-cpus", { limits: { nanoCpus: 64e9 } }), "cpus 64 exceeds this Node's --max-container-cpus 2"],
      [managed("open-net", { network: "open" }), "--allow-open-network"],
      [managed("metadata", { network: { allow: ["169.254.169.254:80"] } }), "reaches link-local addresses"],
      [managed("lan", { network: { allow: ["10.0.0.0/8:22"] } }), "reaches private (RFC 1918) addresses"],
    ];
    // The legacy boolean, as an older Core would send it: `true` is the open network.
    const legacy = { ...managed("legacy-net", {}), network: true } as unknown as McpServerSpec;
    const fine = managed("within-bounds", { limits: { memoryBytes: 256 * 1024 * 1024, pids: 64 } });
    const statuses = (await core.ctx.hub.syncMcp(nodeId, [...hostile.map(([spec]) => spec), legacy, fine])) ?? [];
    const byName = new Map<string, McpServerStatus>(statuses.map((s) => [s.name, s]));
    for (const [spec, message] of hostile) {
      expect(byName.get(spec.name), spec.name).toMatchObject({
        state: "failed",
        error: expect.stringContaining(message),
      });
    }
    expect(byName.get("legacy-net")).toMatchObject({
      state: "failed",
      error: expect.stringContaining("--allow-open-network"),
    });
    // The refusals are permanent: no restart loop, and Docker never saw a container for them.
    const settled = await waitFor(
      "the in-bounds server running",
      async () => {
        const s = (await core.ctx.hub.syncMcp(nodeId, [...hostile.map(([spec]) => spec), legacy, fine])) ?? [];
        return s.find((x) => x.name === "within-bounds")?.state === "running" ? s : undefined;
      },
      30_000,
      250,
    );
    for (const status of settled.filter((s) => s.name !== "within-bounds")) {
      expect(status, status.name).toMatchObject({ state: "failed", restarts: 0 });
      expect(await containersOf(status.name), status.name).toHaveLength(0);
    }
    const [container] = await containersOf("within-bounds");
    const info = await docker.getContainer(container!.Id).inspect();
    expect(info.Config.User).toBe("65534:65534");
    expect(info.HostConfig).toMatchObject({ NetworkMode: "none", Memory: 256 * 1024 * 1024, PidsLimit: 64 });
  }, 90_000);
});
