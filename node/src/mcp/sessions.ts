import { type ManagedMcpSpec, MCP_LOG_BYTES_MAX, type McpLogLine, type RemoteMcpSpec } from "@fabricore/protocol";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Logger } from "../logger.ts";
import { buildContainerSpec, enforcePolicy, LABELS } from "../runtime/container-spec.ts";
import type { DockerApi } from "../runtime/docker-api.ts";
import type { EgressGate, EgressSession } from "../runtime/egress/egress-gate.ts";
import { proxyEnv } from "../runtime/egress/egress-gate.ts";
import type { EgressCounters } from "../runtime/egress/egress-proxy.ts";
import { dockerMessage, RuntimeError } from "../runtime/errors.ts";
import { ensureImage } from "../runtime/images.ts";
import { type MountIdentity, verifyMounted } from "../runtime/mount-identity.ts";
import type { McpPolicy } from "../runtime/node-policy.ts";
import { ContainerStdioTransport } from "./container-transport.ts";
import { checkRemoteUrl, connectRemote } from "./remote.ts";
import { parseDockerLog, type ServerLog } from "./server-log.ts";

/** One live MCP connection: the initialized Client, and what is needed to explain its end. */
export interface McpSession {
  client: Client;
  containerId?: string | undefined;
  /** Why the connection ended, for the server's status: exit code, OOM, the last stderr lines. */
  describeEnd(): Promise<string>;
  /** The server's recent stderr, when it has one. */
  stderrTail(): string;
  /** Drops the connection; a container keeps running (the supervisor decides whether to remove it). */
  close(): Promise<void>;
}

/** Opens sessions to one server, however it runs: a container this Node starts, or a URL. */
export interface SessionLauncher {
  readonly kind: "managed" | "remote";
  /** `log` keeps the server's stderr across attempts (a container's, as it runs). */
  open(makeClient: () => Client, signal: AbortSignal, log?: ServerLog): Promise<McpSession>;
  /** The last `tail` lines of a container's own log, from Docker (managed servers only). */
  containerLogs?(containerId: string, tail: number): Promise<{ lines: McpLogLine[]; truncated: boolean }>;
  /** Removes whatever this server left on the host (its containers); a no-op for pass-through servers. */
  dispose(): Promise<void>;
  /** What its egress proxy let through and refused, for a server with an allow list. */
  egressCounters?(): EgressCounters | undefined;
}

export interface ManagedLauncherOptions {
  docker: DockerApi;
  nodeId: string;
  forbiddenPaths: readonly string[];
  /** The Node's own limits on images and mounts (node/src/runtime/node-policy.ts). */
  policy?: McpPolicy | undefined;
  /** Egress proxies for `network: {allow}` (node/src/runtime/egress/). */
  egress?: EgressGate | undefined;
  connectTimeoutMs: number;
  logger: Logger;
}

/** Starts (or adopts) the server's container and speaks MCP over its attached stdio. */
export class ManagedLauncher implements SessionLauncher {
  readonly kind = "managed";
  private readonly spec: ManagedMcpSpec;
  private readonly options: ManagedLauncherOptions;
  private egress: EgressSession | undefined;
  /** The checked mount sources of the container being started (verified after start). */
  private mountIdentities: MountIdentity[] = [];

  /** The egress proxy's counts for this server, when it has an allow list. */
  egressCounters() {
    return this.egress?.counters;
  }

  constructor(spec: ManagedMcpSpec, options: ManagedLauncherOptions) {
    this.spec = spec;
    this.options = options;
  }

  private labels(): Record<string, string> {
    return { [LABELS.managed]: "true", [LABELS.node]: this.options.nodeId, [LABELS.server]: this.spec.name };
  }

  /** stderr only: stdout is the MCP connection itself (every JSON-RPC message), not a log. */
  async containerLogs(containerId: string, tail: number) {
    const { text, truncated } = await this.options.docker.containerLogs(containerId, {
      stream: "stderr",
      tail,
      maxBytes: MCP_LOG_BYTES_MAX,
    });
    const parsed = parseDockerLog(text, "stderr", tail);
    return { lines: parsed.lines, truncated: truncated || parsed.truncated };
  }

  async open(makeClient: () => Client, signal: AbortSignal, log?: ServerLog): Promise<McpSession> {
    const { docker, logger } = this.options;
    // Before the pull: a refused image is never fetched, a refused mount never reaches Docker.
    if (this.options.policy) await enforcePolicy(this.spec, this.options.policy, this.options.forbiddenPaths);
    const image = await ensureImage(docker, this.spec.image, signal);
    const built = await buildContainerSpec(this.spec, {
      nodeId: this.options.nodeId,
      forbiddenPaths: this.options.forbiddenPaths,
      policy: this.options.policy,
      imageUser: image.user,
    });
    this.mountIdentities = built.mountIdentities;
    // An allow list: the container has no network (NetworkMode none); its one way out is this
    // server's egress proxy, bridged onto its loopback once it runs (connect()).
    const { network } = this.spec;
    if (typeof network === "object") {
      if (!this.options.egress) {
        throw new RuntimeError("invalid_spec", "this Node runs no egress proxy (it has no data directory)");
      }
      await this.egress?.close();
      this.egress = await this.options.egress.open(this.spec.name, network.allow);
      built.create.Env.push(...proxyEnv());
    }
    const existing = await docker.listContainers(this.labels());
    // A running container with the same spec hash was started by this Node before it restarted: adopt it.
    const adoptable = existing.find((c) => c.state === "running" && c.labels[LABELS.specHash] === built.hash);
    for (const container of existing) {
      if (container !== adoptable) await docker.removeContainer(container.id);
    }
    if (adoptable) {
      try {
        const session = await this.connect(adoptable.id, makeClient, false, signal, log);
        logger.info({ server: this.spec.name, containerId: adoptable.id }, "adopted the running MCP container");
        return session;
      } catch (error) {
        // It may be wedged mid-message from the previous Node; a fresh container is the safe answer.
        logger.warn({ server: this.spec.name, err: String(error) }, "could not adopt the MCP container; replacing it");
        await docker.removeContainer(adoptable.id);
      }
    }
    signal.throwIfAborted();
    const id = await docker.createContainer(built.create);
    try {
      return await this.connect(id, makeClient, true, signal, log);
    } catch (error) {
      await docker.removeContainer(id).catch(() => {});
      if (error instanceof RuntimeError) throw error;
      throw new RuntimeError(
        "container_failed",
        `MCP server ${this.spec.name} did not start: ${dockerMessage(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Attach first, then start: nothing the server writes before we listen is lost. */
  private async connect(
    id: string,
    makeClient: () => Client,
    start: boolean,
    signal: AbortSignal,
    log: ServerLog | undefined,
  ): Promise<McpSession> {
    const stdio = await this.options.docker.attachContainer(id);
    const transport = new ContainerStdioTransport(stdio, log);
    try {
      if (start) await this.options.docker.startContainer(id);
      // The directories the container got must be the ones checked (issue 21.6): a swap between
      // the check and dockerd's own path resolution is caught here, before the server is spoken to.
      if (start && this.mountIdentities.length) {
        const info = await this.options.docker.inspectContainer(id);
        if (!info?.running || !info.pid) throw new RuntimeError("container_failed", "the container is not running");
        await verifyMounted(info.pid, this.mountIdentities);
      }
      if (this.egress) {
        const info = await this.options.docker.inspectContainer(id);
        if (!info?.running || !info.pid) throw new RuntimeError("container_failed", "the container is not running");
        await this.egress.attach(info.pid);
      }
      const client = makeClient();
      await client.connect(transport, { timeout: this.options.connectTimeoutMs, signal });
      return {
        client,
        containerId: id,
        stderrTail: () => transport.stderr.tail(),
        describeEnd: () => this.describe(id, transport),
        close: () => client.close(),
      };
    } catch (error) {
      if (error instanceof RuntimeError && error.code === "mount_refused") {
        stdio.close();
        throw error;
      }
      const reason = start ? await this.explain(id, transport, error) : dockerMessage(error);
      stdio.close();
      throw new RuntimeError("container_failed", reason, { cause: error });
    }
  }

  /** "did not start: Connection closed; its container exited with code 1; stderr: …". */
  private async explain(id: string, transport: ContainerStdioTransport, error: unknown): Promise<string> {
    const base = `MCP server ${this.spec.name} (${this.spec.image}) did not start: ${dockerMessage(error)}`;
    // Docker records the exit code a moment after the attach stream closes.
    for (let i = 0; i < 10; i++) {
      const info = await this.options.docker.inspectContainer(id).catch(() => undefined);
      if (!info?.running) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return `${base}; ${await this.describe(id, transport)}`;
  }

  private async describe(id: string, transport: ContainerStdioTransport): Promise<string> {
    let info = await this.options.docker.inspectContainer(id).catch(() => undefined);
    // The stdio stream closes a moment before Docker records the exit code (and the OOM flag):
    // wait briefly for them rather than report "still running" for a container that is dying.
    for (let i = 0; i < 20 && info?.running; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      info = await this.options.docker.inspectContainer(id).catch(() => undefined);
    }
    const parts: string[] = [];
    if (!info) parts.push("its container is gone");
    else if (info.running) parts.push("its container is still running");
    else {
      parts.push(`its container exited with code ${info.exitCode}${info.oomKilled ? " (killed: out of memory)" : ""}`);
      if (info.error) parts.push(info.error);
    }
    const stderr = transport.stderr.tail();
    if (stderr) parts.push(`stderr: ${stderr}`);
    return parts.join("; ");
  }

  async dispose(): Promise<void> {
    for (const container of await this.options.docker.listContainers(this.labels())) {
      await this.options.docker.removeContainer(container.id);
    }
    await this.egress?.close();
    this.egress = undefined;
  }
}

export interface RemoteLauncherOptions {
  allowRemoteMcp: boolean;
  connectTimeoutMs: number;
}

/** Pass-through: an MCP server already running on this host, reached by URL. */
export class RemoteLauncher implements SessionLauncher {
  readonly kind = "remote";
  private readonly spec: RemoteMcpSpec;
  private readonly options: RemoteLauncherOptions;

  constructor(spec: RemoteMcpSpec, options: RemoteLauncherOptions) {
    this.spec = spec;
    this.options = options;
  }

  async open(makeClient: () => Client, signal: AbortSignal): Promise<McpSession> {
    const url = checkRemoteUrl(this.spec.url, this.options.allowRemoteMcp);
    signal.throwIfAborted();
    const { client, kind, transport } = await connectRemote(url, makeClient, this.options.connectTimeoutMs);
    return {
      client,
      describeEnd: async () => `the ${kind} connection to ${url.href} closed`,
      stderrTail: () => "",
      close: async () => {
        // Streamable HTTP servers keep per-session state until told the session is over.
        if (transport instanceof StreamableHTTPClientTransport) {
          // Bounded: a hung server must not hold up the Node's shutdown.
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            transport.terminateSession().catch(() => {}),
            new Promise((resolve) => {
              timer = setTimeout(resolve, 500);
            }),
          ]);
          clearTimeout(timer);
        }
        await client.close();
      },
    };
  }

  async dispose(): Promise<void> {}
}
