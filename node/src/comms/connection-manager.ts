import {
  type CloseInfo,
  coreToNode,
  type HelloParams,
  type HelloResult,
  type McpLogsResult,
  type McpServerSpec,
  type McpServerStatus,
  NodeCloseCode,
  type NodeUpdateResultParams,
  nodeToCore,
  PROTOCOL_VERSION,
  ProtocolError,
  RpcPeer,
  type SystemStats,
  type ToolProgressParams,
  type Transport,
} from "@fabricore/protocol";
import type { Logger } from "../logger.ts";
import type { ToolHost } from "../tools/tool-host.ts";
import { type BackoffOptions, fullJitterDelay } from "./backoff.ts";
import { UpgradeRejectedError } from "./ws-client-transport.ts";

/** Who this Node says it is in `fabricore/hello` (tools and MCP servers are added at each hello). Not
 * node/src/identity's `NodeIdentity`, the enrolled key that signs the connection. */
export type HelloIdentity = Omit<HelloParams, "protocolVersion" | "tools" | "mcpServers">;

export interface ConnectionManagerOptions {
  /** Opens one connection to the Core (a WebSocket in production, an in-memory pair in tests). */
  connect: (signal: AbortSignal) => Promise<Transport>;
  identity: HelloIdentity;
  tools: ToolHost;
  logger: Logger;
  /** The Core's desired MCP servers, from every HelloResult and every `fabricore/mcp/sync`; resolves
   * with their state. Unset: this Node has no MCP support and reports every server as failed. */
  onDesiredMcpServers?: (specs: McpServerSpec[]) => Promise<McpServerStatus[]>;
  /** Current MCP server state for hello. */
  mcpStatus?: () => McpServerStatus[];
  /** Restart and logs of one MCP server (`fabricore/mcp/restart`, `fabricore/mcp/logs`). */
  mcpOps?: {
    restart(name: string): Promise<McpServerStatus>;
    logs(name: string, tail: number): Promise<McpLogsResult>;
  };
  /** The cheap stats sent with each heartbeat. */
  heartbeatStats?: () => Promise<Partial<SystemStats>>;
  backoff?: BackoffOptions & {
    /** A connection that stayed up this long resets the backoff to its base. */
    stableAfterMs?: number;
  };
  /** How long the Core has to answer hello. */
  helloTimeoutMs?: number;
  /** Tool changes are announced at most this often (an MCP server starting reports several). */
  toolsChangedDebounceMs?: number;
  random?: () => number;
  onConnected?: (result: HelloResult) => void;
  onDisconnected?: (info: CloseInfo) => void;
  /** The Core offers a Node version (`fabricore/node/update`, a staged rollout's batch). */
  onUpdateOffer?: (version: string) => void;
}

export type ConnectionState = "idle" | "connecting" | "connected" | "stopped";

type NodePeer = RpcPeer<typeof coreToNode, typeof nodeToCore>;

/** The close codes, one table for both sides (protocol/src/close-codes.ts). */
export { NodeCloseCode };

/** A connection silent for this many heartbeat intervals is considered dead (half-open TCP). */
const SILENT_INTERVALS = 3;

/**
 * Keeps this Node connected to the Core, forever: dial, hello, heartbeats, serve `tools/call` and
 * `fabricore/mcp/sync`, and when the connection ends, dial again after a full-jitter backoff. Every
 * (re)connection re-announces the whole tool set in its hello; changes in between are sent as
 * `notifications/tools/list_changed`.
 */
export class ConnectionManager {
  private readonly options: ConnectionManagerOptions;
  private readonly stopController = new AbortController();
  private peer: NodePeer | undefined;
  private stateValue: ConnectionState = "idle";
  private running: Promise<void> | undefined;
  private toolsVersion = 0;
  private toolsTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly unsubscribeTools: () => void;
  private helloResult: HelloResult | undefined;
  private attemptsValue = 0;

  constructor(options: ConnectionManagerOptions) {
    this.options = options;
    this.unsubscribeTools = options.tools.onChange(() => this.toolsChanged());
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The Core's answer to the current connection's hello. */
  get hello(): HelloResult | undefined {
    return this.stateValue === "connected" ? this.helloResult : undefined;
  }

  /** Connection attempts since the last stable connection. */
  get attempts(): number {
    return this.attemptsValue;
  }

  start(): void {
    if (this.running) return;
    this.running = this.run();
  }

  /** Closes the connection with `code` and stops reconnecting. */
  async stop(code: number = NodeCloseCode.normal, reason = "node shutting down"): Promise<void> {
    if (this.stateValue === "stopped") return;
    this.stateValue = "stopped";
    this.stopController.abort();
    this.unsubscribeTools();
    clearTimeout(this.toolsTimer);
    await this.peer?.close(code, reason).catch(() => {});
    // Stop running tools: exec_command's process groups would otherwise outlive the Node.
    this.options.tools.cancelAll?.("node shutting down");
    await this.running;
  }

  /** Tells the Core what became of an update (`fabricore/node/update-result`); false when not
   * connected (the caller keeps it for the next connection). */
  reportUpdate(result: NodeUpdateResultParams): boolean {
    if (this.stateValue !== "connected" || !this.peer) return false;
    this.peer.notify("fabricore/node/update-result", result).catch(() => {});
    return true;
  }

  /** Forwards MCP server state to the Core (a crash, a restart) while connected. */
  reportMcpStatus(servers: McpServerStatus[]): void {
    if (this.stateValue !== "connected" || !this.peer) return;
    this.peer.notify("fabricore/mcp/status", { servers }).catch(() => {});
  }

  private async run(): Promise<void> {
    const { backoff = {} } = this.options;
    const stableAfterMs = backoff.stableAfterMs ?? 10_000;
    const stopSignal = this.stopController.signal;
    while (!stopSignal.aborted) {
      this.stateValue = "connecting";
      const startedAt = Date.now();
      let greeted = false;
      try {
        const transport = await this.options.connect(stopSignal);
        greeted = await this.session(transport);
      } catch (error) {
        if (stopSignal.aborted) break;
        this.logConnectFailure(error);
      }
      if (stopSignal.aborted) break;
      if (greeted && Date.now() - startedAt >= stableAfterMs) this.attemptsValue = 0;
      const delay = fullJitterDelay(this.attemptsValue, backoff, this.options.random);
      this.attemptsValue += 1;
      this.options.logger.info({ delayMs: delay, attempt: this.attemptsValue }, "reconnecting to the Core");
      await sleep(delay, stopSignal);
    }
    this.stateValue = "stopped";
  }

  private logConnectFailure(error: unknown): void {
    const { logger } = this.options;
    if (error instanceof Error && error.name === "NodeIdentityError") {
      // Enrollment refused, certificate not the pinned one: the message says what to do.
      logger.error({ code: (error as Error & { code?: string }).code }, `${error.message}; retrying with backoff`);
    } else if (error instanceof UpgradeRejectedError && (error.status === 401 || error.status === 403)) {
      logger.error(
        { status: error.status },
        "the Core refused this Node's signed handshake: the node may have been deleted on the Core (revoked) " +
          "or its key replaced by a re-enrollment; retrying with backoff",
      );
    } else if (error instanceof UpgradeRejectedError) {
      logger.warn({ status: error.status }, "the Core refused the WebSocket upgrade; retrying with backoff");
    } else {
      logger.warn({ err: error instanceof Error ? error.message : String(error) }, "cannot reach the Core");
    }
  }

  /** One connection, from hello to close. Resolves true when the hello succeeded. */
  private async session(transport: Transport): Promise<boolean> {
    const { logger, tools } = this.options;
    const peer: NodePeer = new RpcPeer(transport, {
      incoming: coreToNode,
      outgoing: nodeToCore,
      disconnectCode: "cancelled",
      onProblem: (problem) => logger.debug({ problem }, "protocol problem"),
    });
    const closed = new Promise<CloseInfo>((resolve) => {
      peer.onclose = resolve;
    });
    peer.setRequestHandler("tools/call", (params, ctx) => {
      // The peer aborts ctx.signal both for the Core's notifications/cancelled and when the connection
      // closes. Only the first is a cancel; a dropped connection merely detaches, so the tool keeps
      // running and the Core's retry with the same callId (after reconnecting) joins it.
      const cancel = new AbortController();
      const detach = new AbortController();
      ctx.signal.addEventListener("abort", () => (peer.isClosed ? detach : cancel).abort(ctx.signal.reason), {
        once: true,
      });
      // Live output goes over whichever connection is current, so it survives a reconnect.
      const onOutput = params.streamOutput
        ? (stream: "stdout" | "stderr", text: string) =>
            void this.peer?.notify("fabricore/tool/output", { callId: params.callId, stream, text }).catch(() => {})
        : undefined;
      // Progress too; only a Core that lets progress extend the deadline (maxDeadlineMs) knows it.
      const onProgress =
        params.maxDeadlineMs !== undefined
          ? (progress: Omit<ToolProgressParams, "callId">) =>
              void this.peer?.notify("fabricore/tool/progress", { callId: params.callId, ...progress }).catch(() => {})
          : undefined;
      return tools.call(params, cancel.signal, detach.signal, onOutput, onProgress);
    });
    peer.setRequestHandler("fabricore/mcp/sync", async ({ servers }) => ({
      servers: await this.applyDesired(servers),
    }));
    peer.setRequestHandler("fabricore/mcp/restart", async ({ name }) => {
      if (!this.options.mcpOps) throw new ProtocolError("not_allowed", "this Node runs no MCP servers");
      return { server: await this.options.mcpOps.restart(name) };
    });
    peer.setRequestHandler("fabricore/mcp/logs", async ({ name, tail }) => {
      if (!this.options.mcpOps) throw new ProtocolError("not_allowed", "this Node runs no MCP servers");
      return this.options.mcpOps.logs(name, tail);
    });
    peer.setRequestHandler("fabricore/ping", async () => ({}));
    peer.setNotificationHandler("fabricore/node/update", ({ version }) => {
      if (this.options.onUpdateOffer) this.options.onUpdateOffer(version);
      else logger.debug({ version }, "the Core offers a Node update; this Node does not update itself (--auto-update)");
    });
    if (this.stopController.signal.aborted) {
      await peer.close(NodeCloseCode.normal, "node shutting down");
      return false;
    }
    this.peer = peer;

    let result: HelloResult;
    const announcedVersion = this.toolsVersion;
    try {
      result = await peer.request(
        "fabricore/hello",
        {
          protocolVersion: PROTOCOL_VERSION,
          ...this.options.identity,
          tools: tools.list(),
          mcpServers: this.options.mcpStatus?.() ?? [],
        },
        { timeoutMs: this.options.helloTimeoutMs ?? 15_000 },
      );
    } catch (error) {
      const code = error instanceof ProtocolError ? error.code : "internal";
      const message = error instanceof Error ? error.message : String(error);
      if (code === "version_mismatch") {
        logger.error({ code, err: message }, "the Core speaks another protocol version; upgrade this Node or the Core");
      } else if (!peer.isClosed) {
        logger.warn({ code, err: message }, "hello failed");
      }
      await peer.close(NodeCloseCode.normal, "hello failed").catch(() => {});
      await closed;
      this.peer = undefined;
      return false;
    }

    this.helloResult = result;
    this.stateValue = "connected";
    logger.info(
      { nodeId: result.nodeId, name: result.name, tools: tools.list().length, mcpServers: result.mcpServers.length },
      "connected to the Core",
    );
    this.options.onConnected?.(result);
    // Tools that changed while hello was in flight were not in it.
    if (this.toolsVersion !== announcedVersion) this.sendToolsChanged();
    void this.applyDesired(result.mcpServers).then((servers) => this.reportMcpStatus(servers));

    let previousBeatAt = Date.now();
    const heartbeat = setInterval(() => {
      const since = previousBeatAt;
      previousBeatAt = Date.now();
      void this.beat(peer, transport, result.heartbeatIntervalMs, since);
    }, result.heartbeatIntervalMs);
    const info = await closed;
    clearInterval(heartbeat);
    this.peer = undefined;
    // Revoked: this Node's work is no longer wanted by anyone, and no retry will come to collect it.
    if (info.code === NodeCloseCode.revoked) tools.cancelAll?.("the Core revoked this node");
    if (this.stateValue === "connected") this.stateValue = "connecting";
    logger.warn({ code: info.code, reason: info.reason }, "disconnected from the Core");
    this.options.onDisconnected?.(info);
    return true;
  }

  private async beat(peer: NodePeer, transport: Transport, intervalMs: number, previousBeatAt: number): Promise<void> {
    // A half-open TCP connection (the Core's host vanished) never reports a close; the Core pings every
    // interval, so long silence means it is gone. Bytes still arriving (a large call on a slow link) are
    // not silence.
    const liveness = transport.liveness;
    liveness?.noteBytes(previousBeatAt);
    if (liveness && Date.now() - liveness.lastActivityAt > SILENT_INTERVALS * intervalMs) {
      this.options.logger.warn(
        { silentMs: Date.now() - liveness.lastActivityAt },
        "the Core went silent; reconnecting",
      );
      await peer.close(NodeCloseCode.coreSilent, "core silent").catch(() => {});
      return;
    }
    const stats = await this.options.heartbeatStats?.().catch(() => undefined);
    await peer.notify("fabricore/heartbeat", { at: Date.now(), ...(stats && { stats }) }).catch(() => {});
  }

  private async applyDesired(specs: McpServerSpec[]): Promise<McpServerStatus[]> {
    const apply = this.options.onDesiredMcpServers;
    if (!apply) {
      return specs.map((spec) => ({
        name: spec.name,
        state: "failed",
        error: "this Node runs without MCP support",
        toolCount: 0,
        restarts: 0,
      }));
    }
    try {
      return await apply(specs);
    } catch (error) {
      this.options.logger.error({ err: error instanceof Error ? error.message : String(error) }, "MCP sync failed");
      return this.options.mcpStatus?.() ?? [];
    }
  }

  private toolsChanged(): void {
    this.toolsVersion += 1;
    if (this.toolsTimer) return;
    this.toolsTimer = setTimeout(() => {
      this.toolsTimer = undefined;
      this.sendToolsChanged();
    }, this.options.toolsChangedDebounceMs ?? 50);
  }

  private sendToolsChanged(): void {
    if (this.stateValue !== "connected" || !this.peer) return;
    this.peer.notify("notifications/tools/list_changed", { tools: this.options.tools.list() }).catch(() => {});
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
