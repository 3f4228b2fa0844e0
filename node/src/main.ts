// First: zod must know before protocol builds its schemas (zod-jitless.ts).
import "./zod-jitless.ts";
import { mkdir, readFile } from "node:fs/promises";
import os from "node:os";
import pkg from "../package.json" with { type: "json" };
import { ConnectionManager } from "./comms/connection-manager.ts";
import { failoverConnect } from "./comms/failover-connect.ts";
import { connectWebSocket } from "./comms/ws-client-transport.ts";
import { loadNodeSettings, type NodeSettings, SettingsError } from "./env.ts";
import { HELP_TEXT } from "./help-text.ts";
import { NodeIdentity, NodeIdentityError } from "./identity/node-identity.ts";
import { createLogger, type Logger } from "./logger.ts";
import { createLazyMcp } from "./mcp/lazy-mcp.ts";
import { createDockerApi } from "./runtime/docker-api.ts";
import { runForwarder } from "./runtime/egress/egress-forwarder.ts";
import { BuiltinTools } from "./tools/builtin-tools.ts";
import { ToolDispatcher } from "./tools/dispatcher.ts";
import { rootsContaining } from "./tools/read-file.ts";
import { CpuSampler, collectHeartbeatStats } from "./tools/system-stats.ts";
import type { McpFactoryOptions, McpProvider } from "./tools/tool-provider.ts";
import { prepareSelfUpdate, type SelfUpdate } from "./update/self-update.ts";
import { WATCHDOG_COMMAND, watchdogCommand } from "./update/update-watchdog.ts";

/** Set at build time (`bun build --define FABRICORE_NODE_BUILD_VERSION='"1.2.3"'`, make build-node with
 * FABRICORE_NODE_BUILD_VERSION=…) to build another version from the same sources; else package.json's. */
declare const FABRICORE_NODE_BUILD_VERSION: string | undefined;
/** "fabricore-node-version=<version>", defined by make build-node and e2e/support/node-builds.ts: the
 * version the Core reads from the file without running it (core/src/nodes/build-mark.ts). Taken as
 * this Node's version, so the mark the Core reads is the version the Node says in its hello. */
declare const FABRICORE_NODE_BUILD_MARK: string | undefined;
export const NODE_VERSION: string =
  typeof FABRICORE_NODE_BUILD_MARK === "string"
    ? FABRICORE_NODE_BUILD_MARK.slice(FABRICORE_NODE_BUILD_MARK.indexOf("=") + 1)
    : typeof FABRICORE_NODE_BUILD_VERSION === "string"
      ? FABRICORE_NODE_BUILD_VERSION
      : pkg.version;

/** How the MCP manager is made. node/src/mcp supplies it; without one the Node runs built-in tools only. */
export type McpFactory = (options: McpFactoryOptions) => McpProvider | Promise<McpProvider>;

export interface RunningNode {
  connection: ConnectionManager;
  dispatcher: ToolDispatcher;
  /** Stops reconnecting, closes the socket with 1000 and shuts the MCP manager down. */
  stop(): Promise<void>;
}

/** Wires settings, tools, the optional MCP manager and the connection to the Core, and starts dialling. */
export async function startNode(
  settings: NodeSettings,
  deps: {
    logger: Logger;
    createMcp?: McpFactory | undefined;
    /** Is Docker reachable? Reported to the Core as a capability; default: ping the configured endpoint. */
    dockerAvailable?: () => Promise<boolean>;
    /** --auto-update (node/src/update/): told of each hello. */
    selfUpdate?: SelfUpdate | undefined;
  },
): Promise<RunningNode> {
  const { logger } = deps;
  // Whether Docker answers goes into the hello: asked first, its round trip overlaps reading the identity.
  const dockerProbe = deps.createMcp
    ? (deps.dockerAvailable ?? (() => pingDocker(settings.dockerSocket)))().catch(() => false)
    : Promise.resolve(false);
  // The data directory holds this Node's private key: without it the Node cannot prove who it is.
  await mkdir(settings.dataDir, { recursive: true, mode: 0o700 });
  const ca = settings.caFile === undefined ? undefined : await readFile(settings.caFile, "utf8");
  // Before anything else: an exposed key file or a Core other than the pinned one stops the Node here.
  const nodeIdentity = await NodeIdentity.open({
    dataDir: settings.dataDir,
    coreUrls: settings.coreUrls,
    token: settings.token,
    ca,
    logger,
  });
  const exposing = await rootsContaining(settings.readRoots, settings.dataDir);
  if (exposing.length > 0) {
    logger.warn(
      { readRoots: exposing, dataDir: settings.dataDir },
      "a read root contains the Node's data dir (its private key): read_file refuses everything in it, " +
        "but move the data dir (--data-dir) out of the read roots",
    );
  }
  const coreUrlOf = new Map(settings.connectUrls.map((url, i) => [url, settings.coreUrls[i] ?? settings.coreUrl]));
  const dispatcher = new ToolDispatcher({
    providers: [
      new BuiltinTools({
        readRoots: settings.readRoots,
        readDenied: [settings.dataDir],
        allowExec: settings.allowExec,
        allowShell: settings.allowShell,
        execAllow: settings.execAllow,
      }),
    ],
  });
  let mcp: McpProvider | undefined;
  if (deps.createMcp) {
    mcp = await deps.createMcp({
      dockerSocket: settings.dockerSocket,
      dataDir: settings.dataDir,
      logger,
      policy: {
        mountRoots: settings.mountRoots,
        mountRwRoots: settings.mountRwRoots,
        allowImages: settings.allowImages,
        bounds: {
          allowRoot: settings.allowRootContainers,
          maxMemoryBytes: settings.maxContainerMemoryBytes,
          maxNanoCpus: settings.maxContainerNanoCpus,
          maxPids: settings.maxContainerPids,
          allowOpenNetwork: settings.allowOpenNetwork,
          allowEgress: settings.allowEgress,
        },
      },
      egressDns: settings.egressDns,
    });
    dispatcher.addProvider(mcp);
  }
  const docker = mcp ? await dockerProbe : false;
  if (mcp && !docker) {
    logger.warn(
      { dockerSocket: settings.dockerSocket },
      "Docker is not reachable: managed MCP servers will fail to start (pass-through servers still work)",
    );
  }
  const sampler = new CpuSampler();
  sampler.sample();
  const connection = new ConnectionManager({
    // One URL per Core replica (cluster mode): a refused replica is skipped at once.
    connect: failoverConnect({
      urls: settings.connectUrls,
      // Each dial signs a fresh challenge from that very Core (enrolling first when a token is pending).
      dial: async (url, signal) => {
        const coreUrl = coreUrlOf.get(url) ?? settings.coreUrl;
        const transport = await connectWebSocket({
          url,
          headers: await nodeIdentity.authHeaders(coreUrl, signal),
          ca,
          signal,
          userAgent: `fabricore-node/${NODE_VERSION}`,
        });
        // The same certificate pin as the challenge's connection: the hello comes from the enrolled Core.
        try {
          nodeIdentity.checkConnection(coreUrl, transport.peerFingerprint);
        } catch (error) {
          await transport.close();
          throw error;
        }
        return transport;
      },
      onFailover: (url, error) =>
        logger.warn(
          { url, err: error instanceof Error ? error.message : String(error) },
          "Core unreachable; trying the next",
        ),
      onConnected: (url) => logger.debug({ url }, "dialled the Core"),
    }),
    identity: {
      nodeVersion: NODE_VERSION,
      hostname: os.hostname().slice(0, 255),
      os: process.platform,
      arch: process.arch,
      capabilities: {
        exec: settings.allowExec,
        docker,
        readRoots: settings.readRoots,
        // What the install dialog tells an operator before a server is sent (issue 22.5).
        ...(mcp && {
          mcpPolicy: {
            mountRoots: settings.mountRoots,
            mountRwRoots: settings.mountRwRoots,
            allowImages: settings.allowImages,
            allowOpenNetwork: settings.allowOpenNetwork,
            allowEgress: settings.allowEgress,
            allowRoot: settings.allowRootContainers,
          },
        }),
      },
    },
    tools: dispatcher,
    logger,
    heartbeatStats: () => collectHeartbeatStats(sampler),
    onConnected: (result) => {
      normalJit();
      // A Node enrolled before the release key existed pins it from the hello (identity/update-key-pin.ts).
      void nodeIdentity
        .adoptUpdateKey(result.updateKey)
        .catch((error: unknown) => logger.error({ err: (error as Error).message }, "pinning the release key failed"))
        .then(() =>
          deps.selfUpdate?.connected(result, {
            updateKey: nodeIdentity.updateKey,
            stop,
            report: (outcome) => connection.reportUpdate(outcome),
          }),
        );
    },
    ...(deps.selfUpdate && { onUpdateOffer: (version: string) => deps.selfUpdate?.offered(version) }),
    ...(mcp && {
      onDesiredMcpServers: (specs) => mcp.sync(specs),
      mcpStatus: () => mcp.status(),
      mcpOps: { restart: (name) => mcp.restartServer(name), logs: (name, tail) => mcp.serverLogs(name, tail) },
    }),
  });
  const unsubscribeStatus = mcp?.onStatus((servers) => connection.reportMcpStatus(servers));
  logger.info(
    {
      version: NODE_VERSION,
      core: settings.coreUrls,
      readRoots: settings.readRoots,
      allowExec: settings.allowExec,
      allowShell: settings.allowShell,
      mcp: mcp !== undefined,
      docker,
      tools: dispatcher.list().map((tool) => tool.name),
    },
    "fabricore-node starting",
  );
  async function stop(): Promise<void> {
    unsubscribeStatus?.();
    await connection.stop(1000, "node shutting down");
    await mcp?.close();
  }
  connection.start();
  return { connection, dispatcher, stop };
}

/**
 * The executable starts with JavaScriptCore's tier-up thresholds raised (Makefile: --compile-jit-policy),
 * so the code that runs once at start (module setup, schemas, the hello) is interpreted rather than
 * JIT-compiled for nothing; connected, the Node's real work gets the normal JIT. A no-op under Node.js.
 */
function normalJit(): void {
  (globalThis as { Bun?: { unsafe?: { setJITPolicy?: (scale: number) => void } } }).Bun?.unsafe?.setJITPolicy?.(1);
}

async function pingDocker(endpoint: string): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), 2_000);
  });
  const ping = createDockerApi(endpoint)
    .ping()
    .then(
      () => true,
      () => false,
    );
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The executable's entry: flags → settings → run until SIGTERM/SIGINT. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // The egress forwarder (runtime/egress/egress-forwarder.ts): this same executable, started by the
  // Node itself with nsenter inside a container's network namespace. Not a user-facing mode.
  if (argv[0] === "__egress-forward") {
    runForwarder(Number(argv[1]), argv[2] ?? "");
    return;
  }
  // The previous version watching a new one it exec'd (node/src/update/update-watchdog.ts).
  if (argv[0] === WATCHDOG_COMMAND) {
    await watchdogCommand(argv.slice(1));
    return;
  }
  let command: ReturnType<typeof loadNodeSettings>;
  try {
    command = loadNodeSettings(argv);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  if (command.kind === "help") {
    process.stdout.write(HELP_TEXT);
    return;
  }
  if (command.kind === "version") {
    process.stdout.write(`fabricore-node ${NODE_VERSION}\n`);
    return;
  }
  const logger = createLogger(command.settings.logLevel);
  // Before anything connects: a new version that already failed gives the previous one back here.
  const selfUpdate = command.settings.autoUpdate
    ? await prepareSelfUpdate(command.settings, { logger, version: NODE_VERSION, argv })
    : undefined;
  let node: RunningNode;
  try {
    node = await startNode(command.settings, { logger, createMcp: createLazyMcp, selfUpdate });
  } catch (error) {
    if (!(error instanceof NodeIdentityError)) throw error;
    process.stderr.write(`fabricore-node: ${error.message}\n`);
    process.exit(2);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    // The contract is "exit 0 within a second": a Core that does not answer the close frame, or an MCP
    // server slow to stop, must not hold the process.
    const deadline = setTimeout(() => process.exit(0), 900);
    node.stop().finally(() => {
      clearTimeout(deadline);
      process.exit(0);
    });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

// Run when executed (node main.ts, or the compiled binary), not when imported by tests.
if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `fabricore-node: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
