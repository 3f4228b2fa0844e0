/**
 * SECURITY.md "A hostile MCP server is contained" (issue 6, OWASP LLM06): the real Core, the
 * compiled Node with Docker, and `fabricore-test/hostile:latest` (e2e/images/hostile-mcp-server.mjs)
 * added through the API like any image. A scripted model calls each of its tools; each tool attacks
 * its own container, and the container the Node built must hold: the pids limit stops a fork bomb,
 * the memory limit OOM-kills a memory hog (then the Core shows why and the Node restarts it), the
 * root file system is read-only and there is no network, not even the cloud metadata address.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { DEFAULT_LIMITS } from "@fabricore/node/runtime/container-spec.ts";
import { dockerOptions } from "@fabricore/node/runtime/docker-api.ts";
import {
  assertDocker,
  probeDocker,
  shouldRunDockerSuite,
  testDockerEndpoint,
} from "@fabricore/node/runtime/testing/docker-suite.ts";
import Docker from "dockerode";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureTestImages, HOSTILE_IMAGE } from "./images/test-images.ts";
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

interface ChatBody {
  messages: Array<{ role: string; content?: string | null }>;
}

const probe = await probeDocker();
const run = shouldRunDockerSuite(probe, "hostile MCP server e2e");
const docker = new Docker(dockerOptions(testDockerEndpoint()));
const nodeDataDir = tempDir("hostile-node");

/** Calls the tool named in the prompt (`CALL:<tool>`, arguments `ARGS:<json>`), then answers with its result. */
function script(request: RecordedRequest) {
  const body = request.body as ChatBody;
  const user = body.messages.find((m) => m.role === "user")?.content ?? "";
  const results = body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  if (results.length > 0) return turn.text(`Result: ${results.join(" | ")}`);
  const tool = /CALL:(\S+)/.exec(user)?.[1] ?? "none";
  const args = /ARGS:(\{.*\})/.exec(user)?.[1];
  return turn.toolCalls([{ name: tool, arguments: args ? (JSON.parse(args) as Record<string, unknown>) : {} }]);
}

let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
let node: Proc | undefined;
let nodeId = "";

async function hostileServer(): Promise<any> {
  const list = (await api.ok("GET", `/api/nodes/${nodeId}/mcp`)) as Array<{ name: string }>;
  return list.find((s) => s.name === "hostile");
}

/** The Node labels its containers with a hash of its data dir (node/src/mcp/index.ts). */
const nodeLabel = `data-${createHash("sha256").update(nodeDataDir).digest("hex").slice(0, 16)}`;

/** This test's containers: the server name is unique to this file, the node label to this Node. */
async function hostileContainers() {
  return docker.listContainers({
    all: true,
    filters: JSON.stringify({
      label: ["fabricore.managed=true", "fabricore.server=hostile", `fabricore.node=${nodeLabel}`],
    }),
  });
}

async function callTool(tool: string, args?: Record<string, unknown>): Promise<{ run: any; step: any }> {
  const job = await api.ok("POST", "/api/jobs", {
    name: `hostile-${tool}-${Date.now()}`,
    prompt: `CALL:${tool}${args ? ` ARGS:${JSON.stringify(args)}` : ""}`,
    model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
    nodes: [nodeId],
    tools: ["mcp:hostile"],
    maxSteps: 3,
  });
  const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
  const finished = await api.waitRun(runId, ["succeeded", "failed", "cancelled"], 30_000);
  const step = finished.steps.find((s: { type: string }) => s.type === "tool");
  expect(step, JSON.stringify(finished).slice(0, 2000)).toBeDefined();
  return { run: finished, step };
}

const resultText = (step: any): string =>
  (step.result.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? "").join("\n");

describe.skipIf(!run)("a hostile MCP server is contained by its container", () => {
  beforeAll(async () => {
    assertDocker(probe);
    ensureNodeBinary();
    await ensureTestImages();
    llm = await startScriptedOpenAiServer({ script });
    core = await startCore();
    api = await new ApiClient(core.url).login();
    await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
    const created = await api.ok("POST", "/api/nodes", { name: "hostile-host" });
    nodeId = created.id;
    node = new Proc(
      spawn(
        NODE_BINARY,
        ["--core", core.url, "--data-dir", nodeDataDir, "--docker-socket", testDockerEndpoint(), "--log-level", "warn"],
        { env: { ...process.env, FABRICORE_NODE_TOKEN: created.token }, stdio: ["ignore", "pipe", "pipe"] },
      ),
    );
    await api.waitNodeOnline(nodeId);
    const res = await api.request("POST", `/api/nodes/${nodeId}/mcp`, { name: "hostile", image: HOSTILE_IMAGE });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    await waitFor(
      "the hostile server running",
      async () => {
        const s = await hostileServer();
        return s?.state === "running" && s.tools.length === 5 ? s : undefined;
      },
      20_000,
    );
  }, 180_000);

  afterEach((context) => {
    if (context.task.result?.state !== "fail") return;
    console.error(`--- Node output (tail) ---\n${node?.output.slice(-4000) ?? ""}`);
    console.error(`--- Core output (tail) ---\n${core?.proc.output.slice(-4000) ?? ""}`);
  });

  afterAll(async () => {
    await node?.stop();
    await core?.proc.stop();
    await llm?.close();
    if (probe.available) {
      for (const c of await hostileContainers()) await docker.getContainer(c.Id).remove({ force: true });
    }
    rmSync(nodeDataDir, { recursive: true, force: true });
  });

  it("runs with no network: the metadata address, the internet and the host's loopback are unreachable", async () => {
    const targets = ["169.254.169.254:80", "1.1.1.1:443", `127.0.0.1:${core.port}`];
    const { step } = await callTool("reach_network", { targets });
    const outcome = JSON.parse(resultText(step)) as Record<string, string>;
    expect(Object.keys(outcome)).toEqual(targets);
    for (const target of targets) {
      expect(outcome[target], target).not.toBe("connected");
      expect(["ENETUNREACH", "EHOSTUNREACH", "ECONNREFUSED", "ETIMEDOUT"], target).toContain(outcome[target]);
    }
    const [container] = await hostileContainers();
    expect((await docker.getContainer(container!.Id).inspect()).HostConfig.NetworkMode).toBe("none");
  });

  it("cannot write its root file system (read-only); only /tmp is writable", async () => {
    const { step } = await callTool("write_rootfs");
    expect(JSON.parse(resultText(step))).toEqual({
      "/pwned": "EROFS",
      "/app/pwned": "EROFS",
      "/usr/local/bin/pwned": "EROFS",
      "/tmp/allowed": "written",
    });
  });

  it("a fork bomb stops at the pids limit; the server, the Node and the Core carry on", async () => {
    const restartsBefore = (await hostileServer()).restarts;
    const { step } = await callTool("fork_bomb");
    const outcome = JSON.parse(resultText(step)) as { spawned: number; refusal: string };
    expect(outcome.refusal).toBe("EAGAIN");
    expect(outcome.spawned).toBeGreaterThan(0);
    expect(outcome.spawned).toBeLessThan(DEFAULT_LIMITS.pids);
    expect((await fetch(`${core.url}/healthz`)).ok).toBe(true);
    expect(await hostileServer()).toMatchObject({ state: "running", restarts: restartsBefore });
    expect((await api.ok("GET", `/api/nodes/${nodeId}`)).status).toBe("online");
  });

  it("a memory hog is OOM-killed; the step and GET /mcp say why, and the Node restarts the server", async () => {
    const [before] = await hostileContainers();
    const { run: finished, step } = await callTool("memory_hog");
    expect(step.isError).toBe(true);
    const text = resultText(step);
    expect(text).toMatch(/the tool server crashed during the call/);
    expect(text).toMatch(/exited with code 137 \(killed: out of memory\)/);
    // The model was told, and answered with it.
    expect(finished.output).toMatch(/tool server crashed/);

    const restarted = await waitFor(
      "the hostile server running again",
      async () => {
        const s = await hostileServer();
        return s?.state === "running" && s.restarts >= 1 ? s : undefined;
      },
      30_000,
      100,
    );
    // Running again, and still showing what happened.
    expect(restarted.lastCrash).toMatchObject({
      at: expect.any(String),
      reason: expect.stringMatching(
        /the tool server crashed: its container exited with code 137 \(killed: out of memory\)/,
      ),
    });
    const after = await hostileContainers();
    expect(after).toHaveLength(1);
    expect(after[0]!.Id).not.toBe(before!.Id);
    // And it works: once its tools are announced again, the next call is answered by the new container.
    await waitFor("the hostile tools offered again", async () =>
      ((await api.ok("GET", `/api/nodes/${nodeId}`)).tools as Array<{ source: string }>).some(
        (t) => t.source === "mcp:hostile",
      ),
    );
    const { step: again } = await callTool("write_rootfs");
    expect(again.isError, JSON.stringify(again)).toBe(false);
  });
});
