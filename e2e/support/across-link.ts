/**
 * The real Core in one network namespace and the compiled Node binary in another, joined only by the
 * NetLab's veth pair, for the link tests (reliability-network, reliability-lossy-link). The test
 * process reaches the Core's API, and the Core its scripted model, through Unix sockets
 * (forward.ts): namespaces do not share loopback but do share the filesystem, so nothing but
 * Core ↔ Node crosses the veth, and no address exists outside the two namespaces.
 */
import { spawn } from "node:child_process";
import type { Server } from "node:net";
import { join } from "node:path";
import type { Script } from "@fabricore/core/llm/testing/script.ts";
import { startScriptedOpenAiServer } from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { CORE_V8_FLAGS } from "@fabricore/core/v8-flags.ts";
import { type Forward, forward } from "./forward.ts";
import { ADMIN_PASSWORD, ApiClient, ensureNodeBinary, freePort, Proc, ROOT, tempDir, waitFor } from "./harness.ts";
import type { NetLab } from "./netns.ts";

export interface AcrossLinkOptions {
  /** The scripted model's answers. */
  script: Script;
  heartbeatSeconds: number;
  toolTimeoutSeconds: number;
  /** The Node's name, and the prefix of the temporary folders. */
  name: string;
}

export interface AcrossLink {
  api: ApiClient;
  nodeId: string;
  core: Proc;
  node: Proc;
  /** Creates a job on the Node whose prompt is `COMMAND:<command>` (what the suites' scripts read), starts it, returns the run id. */
  startCommandJob(name: string, command: string): Promise<string>;
}

/** The model the jobs name; the scripted server answers for any. */
const MODEL = "qwen2.5-7b-instruct";

/** Ports inside the Core's namespace (its own loopback and veth address; nothing else uses them). */
const CORE_PORT = 18_080;
const INNER_LLM_PORT = 18_081;

/**
 * Sets up the lab's namespaces, then starts the scripted model, the forwarders, the Core (in
 * lab.coreNs, listening on its veth address) and the Node binary (in lab.nodeNs, with --allow-shell: the suites' commands use the shell),
 * and waits until the Node is online. Every step's undo is pushed on `cleanups`, processes after what they depend on, to be run in reverse.
 */
export async function startAcrossLink(
  lab: NetLab,
  options: AcrossLinkOptions,
  cleanups: Array<() => unknown>,
): Promise<AcrossLink> {
  // The binary before the namespaces: a build takes a while and, if it fails, fails with nothing to undo.
  const binary = ensureNodeBinary();
  lab.setUp();
  cleanups.push(() => lab.destroy());
  const llm = await startScriptedOpenAiServer({ script: options.script });
  cleanups.push(() => llm.close());
  const llmUrl = new URL(llm.baseUrl);
  const sockets = tempDir(`${options.name}-sock`);
  const apiSock = join(sockets, "api.sock");
  const llmSock = join(sockets, "llm.sock");

  // Root namespace: llm.sock → the scripted model; a loopback port → api.sock.
  const servers: Server[] = [
    await forward({ listen: { path: llmSock }, to: { host: "127.0.0.1", port: Number(llmUrl.port) } }),
  ];
  const apiPort = await freePort();
  servers.push(await forward({ listen: { host: "127.0.0.1", port: apiPort }, to: { path: apiSock } }));
  cleanups.push(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));
  // Core namespace: api.sock → the Core's veth address; its loopback port → llm.sock.
  const inner: Forward[] = [
    { listen: { path: apiSock }, to: { host: lab.coreAddress, port: CORE_PORT } },
    { listen: { host: "127.0.0.1", port: INNER_LLM_PORT }, to: { path: llmSock } },
  ];
  const forwarder = new Proc(
    spawn(...lab.exec(lab.coreNs, process.execPath, [join(ROOT, "e2e/support/forward.ts"), JSON.stringify(inner)]), {
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  cleanups.push(() => forwarder.stop());
  await waitFor("the forwarder", () => forwarder.output.includes("ready") || forwarder.exited, 10_000, 20);

  const core = new Proc(
    spawn(...lab.exec(lab.coreNs, process.execPath, [...CORE_V8_FLAGS, join(ROOT, "core/src/main.ts")]), {
      env: {
        ...process.env,
        FABRICORE_DATA_DIR: tempDir(`${options.name}-core`),
        FABRICORE_HOST: lab.coreAddress,
        FABRICORE_PORT: String(CORE_PORT),
        FABRICORE_ADMIN_PASSWORD: ADMIN_PASSWORD,
        FABRICORE_LOG_LEVEL: "warn",
        FABRICORE_HEARTBEAT_SECONDS: String(options.heartbeatSeconds),
        FABRICORE_TOOL_TIMEOUT_SECONDS: String(options.toolTimeoutSeconds),
      },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  cleanups.push(() => core.stop());
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  await waitFor(
    "the Core in its namespace",
    async () => {
      if (core.exited) throw new Error(`the Core exited:\n${core.output}`);
      return (await fetch(`${apiUrl}/healthz`)).ok;
    },
    30_000,
  );
  const api = await new ApiClient(apiUrl).login();
  await api.ok("POST", "/api/providers", {
    name: "LM Studio",
    kind: "lmstudio",
    baseUrl: `http://127.0.0.1:${INNER_LLM_PORT}${llmUrl.pathname}`,
  });
  const created = await api.ok("POST", "/api/nodes", { name: options.name });
  const node = new Proc(
    spawn(
      ...lab.exec(lab.nodeNs, binary, [
        "--core",
        `http://${lab.coreAddress}:${CORE_PORT}`,
        "--insecure",
        "--allow-shell",
        "--data-dir",
        tempDir(`${options.name}-node`),
        "--log-level",
        "info",
      ]),
      { env: { ...process.env, FABRICORE_NODE_TOKEN: created.token }, stdio: ["ignore", "pipe", "pipe"] },
    ),
  );
  cleanups.push(() => node.stop());
  await api.waitNodeOnline(created.id, 20_000);
  const startCommandJob = async (name: string, command: string): Promise<string> => {
    const job = await api.ok("POST", "/api/jobs", {
      name,
      prompt: `COMMAND:${command}`,
      model: { provider: "LM Studio", model: MODEL },
      nodes: [created.id],
      maxSteps: 3,
    });
    return (await api.ok("POST", `/api/jobs/${job.id}/run`, {})).runId;
  };
  return { api, nodeId: created.id, core, node, startCommandJob };
}

/** Runs the undo steps pushed by startAcrossLink, last first; one that fails does not stop the rest. */
export async function runCleanups(cleanups: Array<() => unknown>): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {}
  }
}
