import { createHash } from "node:crypto";
import {
  type McpLogsResult,
  McpServerSpec,
  type McpServerStatus,
  mcpServerOf,
  ProtocolError,
  type ToolDescriptor,
  type ToolResult,
} from "@fabricore/protocol";
import { z } from "zod";
import type { Logger } from "../logger.ts";
import { LABELS } from "../runtime/container-spec.ts";
import type { DockerApi } from "../runtime/docker-api.ts";
import type { EgressGate } from "../runtime/egress/egress-gate.ts";
import type { McpPolicy } from "../runtime/node-policy.ts";
import type { McpProvider, ToolCallContext } from "../tools/tool-provider.ts";
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from "./restart-policy.ts";
import type { ServerSupervisor } from "./server-supervisor.ts";
import type { SessionLauncher } from "./sessions.ts";

/**
 * The supervisor and the launchers bring the MCP SDK with them (its zod schemas for every MCP
 * message, and ajv), which the Node built at start, before it dialled, whether or not it ran any MCP
 * server. Loaded with the first server instead: a Node with none never pays for them.
 */
type ServerRuntime = typeof import("./server-supervisor.ts") & typeof import("./sessions.ts");
let serverRuntime: Promise<ServerRuntime> | undefined;
function loadServerRuntime(): Promise<ServerRuntime> {
  serverRuntime ??= Promise.all([import("./server-supervisor.ts"), import("./sessions.ts")]).then(
    ([supervisor, sessions]) => ({ ...supervisor, ...sessions }),
  );
  return serverRuntime;
}

export interface McpManagerConfig {
  docker: DockerApi;
  /** Stamped on every container as `fabricore.node`: this Node adopts and removes only its own. */
  nodeId: string;
  /** Host paths never mounted, on top of protocol's built-in list (the Node's data directory). */
  forbiddenPaths: readonly string[];
  /** The Node's own limits on images and mounts (--mount-root, --mount-rw-root, --allow-image). */
  policy?: McpPolicy | undefined;
  /** Pass-through servers off this host (not loopback) are refused unless this is set. */
  allowRemoteMcp: boolean;
  /** Egress proxies for servers with `network: {allow}`; unset: such servers are refused. */
  egress?: EgressGate | undefined;
  logger: Logger;
  restart?: Partial<RestartPolicy> | undefined;
  /** Time for `initialize` (and `tools/list`) to answer. */
  connectTimeoutMs?: number | undefined;
  /** How long sync() waits for new servers' first start before answering with "starting" (a slow pull). */
  syncWaitMs?: number | undefined;
  clientVersion?: string | undefined;
}

const SpecList = z.array(McpServerSpec).superRefine((specs, ctx) => {
  const seen = new Set<string>();
  for (const spec of specs) {
    if (seen.has(spec.name)) ctx.addIssue({ code: "custom", message: `MCP server name ${spec.name} is used twice` });
    seen.add(spec.name);
  }
});

/** A digest of the spec as parsed (defaults filled in), so an equal spec in another key order is "unchanged". */
function specKey(spec: McpServerSpec): string {
  const sorted = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sorted)
      : value && typeof value === "object"
        ? Object.fromEntries(
            Object.entries(value as Record<string, unknown>)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([k, v]) => [k, sorted(v)]),
          )
        : value;
  return createHash("sha256")
    .update(JSON.stringify(sorted(spec)))
    .digest("hex");
}

/**
 * The Node's MCP servers: converges to the Core's desired set, supervises each server, and offers
 * their tools as one ToolProvider (`source: "mcp:<server>"`). The only part of the Node that
 * touches Docker, through the narrow DockerApi.
 */
/** How often, at most, egress counters alone make the Node report its servers' status. */
const STATUS_COALESCE_MS = 500;

export class McpManager implements McpProvider {
  private readonly config: McpManagerConfig;
  private readonly restart: RestartPolicy;
  private readonly servers = new Map<string, ServerSupervisor>();
  private readonly changeListeners = new Set<() => void>();
  private readonly statusListeners = new Set<(servers: McpServerStatus[]) => void>();
  /** syncs run one after another: each sees the servers the previous one left. */
  private queue: Promise<unknown> = Promise.resolve();
  private toolsCache: ToolDescriptor[] | undefined;
  private closed = false;

  constructor(config: McpManagerConfig) {
    this.config = config;
    this.restart = { ...DEFAULT_RESTART_POLICY, ...config.restart };
    // Egress counters change with every connection a container makes: the Core hears of them in
    // the next status report, at most one per STATUS_COALESCE_MS, not one per connection.
    config.egress?.onDecision(() => this.statusSoon());
  }

  private statusTimer: ReturnType<typeof setTimeout> | undefined;

  private statusSoon(): void {
    if (this.statusTimer || this.closed) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined;
      if (this.closed) return;
      const statuses = this.statuses();
      for (const listener of this.statusListeners) this.safely(() => listener(statuses));
    }, STATUS_COALESCE_MS);
    this.statusTimer.unref?.();
  }

  /**
   * Converges to exactly `specs`: starts new servers, restarts changed ones, stops (and removes the
   * containers of) the rest, including containers this Node left behind for servers no longer wanted.
   * Resolves once every new server has run or failed its first start, with every server's status.
   */
  sync(specs: McpServerSpec[]): Promise<McpServerStatus[]> {
    const run = this.queue.then(() => this.syncNow(specs));
    this.queue = run.catch(() => {});
    return run;
  }

  private async syncNow(input: McpServerSpec[]): Promise<McpServerStatus[]> {
    if (this.closed) throw new ProtocolError("not_allowed", "the MCP manager is closed");
    const parsed = SpecList.safeParse(input);
    if (!parsed.success) throw new ProtocolError("invalid_params", z.prettifyError(parsed.error));
    const desired = new Map(parsed.data.map((spec) => [spec.name, { spec, key: specKey(spec) }]));

    const stopping: Promise<void>[] = [];
    for (const [name, supervisor] of this.servers) {
      // An unchanged spec keeps its server, unless that server gave up: being asked again is its retry.
      if (desired.get(name)?.key === supervisor.key && supervisor.status().state !== "failed") continue;
      this.servers.delete(name);
      stopping.push(supervisor.stop(true));
    }
    await Promise.all(stopping);
    if (stopping.length > 0) this.changed();
    await this.removeOrphans(
      new Set([...desired.values()].filter((d) => d.spec.kind === "managed").map((d) => d.spec.name)),
    );
    if (this.closed) return [];
    const added = [...desired].filter(([name]) => !this.servers.has(name));
    const starting: Promise<void>[] = [];
    if (added.length > 0) {
      const runtime = await loadServerRuntime();
      if (this.closed) return [];
      for (const [name, { spec, key }] of added) {
        const supervisor = new runtime.ServerSupervisor({
          spec,
          key,
          launcher: this.launcherFor(spec, runtime),
          restart: this.restart,
          requestTimeoutMs: this.config.connectTimeoutMs ?? 30_000,
          clientVersion: this.config.clientVersion ?? "0.1.0",
          logger: this.config.logger,
          onChange: () => this.changed(),
        });
        this.servers.set(name, supervisor);
        starting.push(supervisor.start());
      }
    }
    this.changed();
    // Wait for first starts so the answer says "running" or why not, but not for a pull of minutes:
    // the supervisors carry on alone and report through onStatus.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(starting),
      new Promise((resolve) => {
        timer = setTimeout(resolve, this.config.syncWaitMs ?? 60_000);
      }),
    ]);
    clearTimeout(timer);
    return this.statuses();
  }

  /**
   * Stops one server and starts it again, its failure count reset: a failed server is retried, a
   * running one gets a fresh container. The spec is the one the Core last synced, so the Node's
   * policy (mounts, images, bounds) is checked again on the way up. Queued with syncs; resolves
   * with its status once the first attempt ran (or syncWaitMs passed).
   */
  restartServer(name: string): Promise<McpServerStatus> {
    const run = this.queue.then(() => this.restartNow(name));
    this.queue = run.catch(() => {});
    return run;
  }

  private async restartNow(name: string): Promise<McpServerStatus> {
    if (this.closed) throw new ProtocolError("not_allowed", "the MCP manager is closed");
    const previous = this.servers.get(name);
    if (!previous) throw new ProtocolError("invalid_params", `this Node runs no MCP server ${JSON.stringify(name)}`);
    this.servers.delete(name);
    const before = previous.status();
    previous.log.note("restart asked for by the Core");
    this.config.logger.info({ server: name, state: before.state }, "restarting an MCP server as the Core asked");
    // Its container is removed: the new attempt starts from a fresh one, as after a spec change.
    await previous.stop(true);
    this.changed();
    if (this.closed) throw new ProtocolError("not_allowed", "the MCP manager is closed");
    const runtime = await loadServerRuntime();
    const supervisor = new runtime.ServerSupervisor({
      spec: previous.spec,
      key: previous.key,
      launcher: this.launcherFor(previous.spec, runtime),
      restart: this.restart,
      requestTimeoutMs: this.config.connectTimeoutMs ?? 30_000,
      clientVersion: this.config.clientVersion ?? "0.1.0",
      logger: this.config.logger,
      onChange: () => this.changed(),
      log: previous.log,
      restarts: before.restarts + 1,
      lastCrash: before.lastCrash,
    });
    this.servers.set(name, supervisor);
    const started = supervisor.start();
    this.changed();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      started,
      new Promise((resolve) => {
        timer = setTimeout(resolve, this.config.syncWaitMs ?? 60_000);
      }),
    ]);
    clearTimeout(timer);
    return supervisor.status();
  }

  /** The last `tail` lines of one server's output (ServerSupervisor.logs). */
  async serverLogs(name: string, tail: number): Promise<McpLogsResult> {
    const supervisor = this.servers.get(name);
    if (!supervisor) throw new ProtocolError("invalid_params", `this Node runs no MCP server ${JSON.stringify(name)}`);
    return supervisor.logs(tail);
  }

  private launcherFor(spec: McpServerSpec, runtime: ServerRuntime): SessionLauncher {
    const connectTimeoutMs = this.config.connectTimeoutMs ?? 30_000;
    if (spec.kind === "remote") {
      return new runtime.RemoteLauncher(spec, { allowRemoteMcp: this.config.allowRemoteMcp, connectTimeoutMs });
    }
    return new runtime.ManagedLauncher(spec, {
      docker: this.config.docker,
      nodeId: this.config.nodeId,
      forbiddenPaths: this.config.forbiddenPaths,
      policy: this.config.policy,
      egress: this.config.egress,
      connectTimeoutMs,
      logger: this.config.logger,
    });
  }

  /** Containers this Node labelled for servers that are no longer wanted (left by a crash, or an older Node). */
  private async removeOrphans(wanted: Set<string>): Promise<void> {
    let containers: Awaited<ReturnType<DockerApi["listContainers"]>>;
    try {
      containers = await this.config.docker.listContainers({
        [LABELS.managed]: "true",
        [LABELS.node]: this.config.nodeId,
      });
    } catch (error) {
      // No Docker on this host is fine for a Node with pass-through servers only; managed ones report it themselves.
      this.config.logger.debug({ err: String(error) }, "cannot list MCP containers");
      return;
    }
    for (const container of containers) {
      const server = container.labels[LABELS.server] ?? "";
      if (wanted.has(server)) continue;
      this.config.logger.info({ server, containerId: container.id }, "removing an MCP container no longer wanted");
      await this.config.docker.removeContainer(container.id).catch((error: unknown) => {
        this.config.logger.warn({ containerId: container.id, err: String(error) }, "could not remove an MCP container");
      });
    }
  }

  /** Every running server's tools, each with `source: "mcp:<server>"`. */
  list(): ToolDescriptor[] {
    this.toolsCache ??= [...this.servers.values()].flatMap((server) => server.list());
    return this.toolsCache;
  }

  statuses(): McpServerStatus[] {
    return [...this.servers.values()].map((server) => server.status());
  }

  /** McpProvider's name for statuses(). */
  status(): McpServerStatus[] {
    return this.statuses();
  }

  /** ToolProvider: routes on `ctx.source` (`mcp:<server>`), since tool names repeat across servers. */
  call(name: string, args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolResult> {
    const server = mcpServerOf(ctx.source) ?? "";
    return this.callTool(server, name, args, ctx);
  }

  /** Calls `tool` on `server` with a deadline and cancellation; the MCP result passed through, plus durationMs. */
  async callTool(
    server: string,
    tool: string,
    args: Record<string, unknown>,
    options: Pick<ToolCallContext, "signal" | "deadlineMs" | "maxDeadlineMs" | "onProgress">,
  ): Promise<ToolResult> {
    const supervisor = this.servers.get(server);
    if (!supervisor)
      throw new ProtocolError("tool_not_found", `this Node runs no MCP server ${JSON.stringify(server)}`);
    return supervisor.call(tool, args, options);
  }

  /** Fired whenever the tools or any server's state change. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  onStatus(listener: (servers: McpServerStatus[]) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  private changed(): void {
    this.toolsCache = undefined;
    const statuses = this.statuses();
    for (const listener of this.changeListeners) this.safely(() => listener());
    for (const listener of this.statusListeners) this.safely(() => listener(statuses));
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.config.logger.error({ err: String(error) }, "an MCP change listener threw");
    }
  }

  /**
   * Stops talking to the servers. Containers keep running unless `removeContainers` is set: a Node
   * that restarts (an upgrade, a crash) adopts them instead of cold-starting every server.
   */
  async close(options: { removeContainers?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.statusTimer) clearTimeout(this.statusTimer);
    const stopAll = async () => {
      const servers = [...this.servers.values()];
      this.servers.clear();
      await Promise.all(servers.map((server) => server.stop(options.removeContainers === true)));
    };
    // Stopping first aborts a sync's slow first starts (a pull, a connect) instead of waiting them out.
    await stopAll();
    await this.queue;
    await stopAll();
    this.changed();
  }
}
