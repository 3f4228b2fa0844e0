import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import {
  type CloseInfo,
  coreToNode,
  type HeartbeatParams,
  type HelloParams,
  type HelloResult,
  MAX_FRAME_BYTES,
  type McpServerSpec,
  type McpServerStatus,
  NODE_AUTH_HEADERS,
  NODE_CONNECT_PATH,
  nodeToCore,
  PROTOCOL_VERSION,
  ProtocolError,
  RpcHandlers,
  RpcPeer,
  type RpcPeerOptions,
  remainingDeadlineMs,
  type SystemStats,
  type ToolCallParams,
  type ToolDescriptor,
  type ToolProgressParams,
  type ToolResult,
  type Transport,
} from "@fabricore/protocol";
import { WebSocketServer } from "ws";
import { type McpServerOp, type McpServerOpResult, sendMcpServerOp } from "./mcp-server-ops.ts";
import { SharedToolLists } from "./shared-tool-lists.ts";
import { NodeCloseCode, WsServerTransport } from "./ws-server-transport.ts";

export interface NodeIdentity {
  nodeId: string;
  name: string;
}

/**
 * What a connecting Node presented at the upgrade. `signed` is the real handshake (an Ed25519
 * signature over a single-use nonce, see protocol/src/node-auth.ts); `bearer` is a plain
 * `Authorization: Bearer` token, which the Core's Fleet refuses (enrollment tokens are spent at
 * POST /api/nodes/enroll) but hub tests use to stay independent of the key handshake.
 */
export type NodeCredentials =
  | { kind: "signed"; nodeId: string; nonce: string; signature: string; origin: string }
  | { kind: "bearer"; token: string };

/** A refusal with the reason, logged by the hub and sent in the 401 body so the Node can say what to fix. */
export interface NodeAuthRefusal {
  refused: string;
}

/** The slice of pino the hub logs with. */
export interface HubLogger {
  debug(fields: Record<string, unknown>, message?: string): void;
  info(fields: Record<string, unknown>, message?: string): void;
  warn(fields: Record<string, unknown>, message?: string): void;
  error(fields: Record<string, unknown>, message?: string): void;
}

export interface NodeHubOptions {
  /** Maps what the Node presented to its identity; null or a refusal rejects the connection with 401. */
  authenticate(credentials: NodeCredentials): Promise<NodeIdentity | NodeAuthRefusal | null>;
  /** Every MCP server the Node should run, with secrets resolved; sent in each HelloResult. */
  desiredMcpServers(nodeId: string): Promise<McpServerSpec[]>;
  onOnline?(nodeId: string, hello: HelloParams): void;
  onOffline?(nodeId: string, reason: string): void;
  onToolsChanged?(nodeId: string, tools: ToolDescriptor[]): void;
  onHeartbeat?(nodeId: string, params: HeartbeatParams): void;
  onMcpStatus?(nodeId: string, servers: McpServerStatus[]): void;
  /** The Node version this Core serves, told in each HelloResult (a Node with --auto-update follows it). */
  servedNodeVersion?: string | undefined;
  /** Sent to Nodes; the hub closes a Node silent for three of these. Default 10 s. */
  heartbeatIntervalMs?: number;
  /** Added to a call's deadlineMs before the Core gives up on it: the Node aborts at deadlineMs and
   * its answer needs time to arrive. Default 2 s. */
  deadlineGraceMs?: number;
  /** Timeout of `fabricore/mcp/sync` (pulling and starting containers takes a while). Default 120 s. */
  mcpSyncTimeoutMs?: number;
  logger?: HubLogger;
  now?: () => number;
  /** Largest tool list a Node may announce, as JSON bytes (issue 21.7). A hello over it is refused;
   * a tools/list_changed over it is ignored (the previous list stays). Default 4 MiB. */
  maxToolListBytes?: number;
  /** tools/list_changed from one Node is applied at most once per this many ms; the latest list in
   * between is applied at the end of the interval (issue 21.7: unthrottled, each one was a
   * database write). Default 1000. */
  toolsChangedIntervalMs?: number;
  /** Whether the peer at `address` is a proxy we were told about (FABRICORE_TRUST_PROXY): only then
   * are its X-Forwarded-Proto/-Host believed for the origin the Node signed. Default: nobody. */
  trustProxy?: (address: string) => boolean;
}

/** A connected Node that has said hello. */
export interface ConnectedNode {
  nodeId: string;
  name: string;
  hello: HelloParams;
  tools: ToolDescriptor[];
  mcpServers: McpServerStatus[];
  connectedAt: number;
  lastSeenAt: number;
  stats: Partial<SystemStats> | undefined;
}

export interface CallToolOptions {
  signal?: AbortSignal;
  onOutput?: (stream: "stdout" | "stderr", text: string) => void;
  /** The call's progress (an MCP tool's `notifications/progress`), a few a second at most. */
  onProgress?: (progress: Omit<ToolProgressParams, "callId">) => void;
}

/** `tools/call` params as the caller gives them (source and arguments have defaults). */
export type CallToolParams = Pick<ToolCallParams, "name" | "deadlineMs" | "callId"> &
  Partial<Pick<ToolCallParams, "source" | "arguments" | "runId" | "maxDeadlineMs">>;

/** A call in flight whose progress the hub follows: to extend its deadline and tell the caller. */
interface ProgressWatch {
  call: CallToolParams;
  startedAt: number;
  rearm?: (ms: number) => void;
  onProgress?: CallToolOptions["onProgress"];
}

type CorePeer = RpcPeer<typeof nodeToCore, typeof coreToNode, Connection>;

/** Everything the hub keeps per Node. Kept small on purpose: at 10,000 Nodes every field and closure
 * here is multiplied (bench/fleet.ts measures the Core's memory per Node against bare `ws`). */
interface Connection extends NodeIdentity {
  peer: CorePeer;
  transport: Transport;
  hello: HelloParams | undefined;
  tools: ToolDescriptor[];
  mcpServers: McpServerStatus[];
  connectedAt: number;
  lastSeenAt: number;
  stats: Partial<SystemStats> | undefined;
  online: boolean;
  closed: boolean;
  /** The shared tool list this connection holds a reference to. */
  toolsKey: string | undefined;
  /** tools/list_changed throttle: when one was last applied, and the latest one waiting. */
  toolsAppliedAt: number;
  pendingTools: ToolDescriptor[] | undefined;
  pendingTimer: ReturnType<typeof setTimeout> | undefined;
}

const DEFAULT_MAX_TOOL_LIST_BYTES = 4 * 1024 * 1024;
const DEFAULT_TOOLS_CHANGED_INTERVAL_MS = 1000;

/** Heartbeat intervals of silence after which a Node is considered gone. */
const SILENT_INTERVALS = 3;

const noopLogger: HubLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The Core's side of every Node connection: token auth at the WebSocket upgrade, hello, liveness,
 * the tool registry per Node and tool calls with deadlines and cancellation.
 *
 * Sized for 10,000 Nodes: connections live in one Map keyed by node id (O(1) lookups), and one sweep
 * timer per hub (not one per Node) pings every socket and closes the silent ones.
 */
export class NodeHub {
  private readonly options: NodeHubOptions;
  private readonly connections = new Map<string, Connection>();
  /** Calls whose output is shown live, by Node and callId (see callTool). */
  private readonly outputListeners = new Map<string, NonNullable<CallToolOptions["onOutput"]>>();
  private readonly progressWatches = new Map<string, ProgressWatch>();
  private readonly online = new Set<string>();
  /** Identical tool lists kept once, and only while a connection uses them (shared-tool-lists.ts). */
  readonly toolLists = new SharedToolLists();
  private readonly wss: WebSocketServer;
  /** One options object and one handler table for every connection's RPC peer (see RpcHandlers). */
  private readonly peerOptions: RpcPeerOptions<typeof nodeToCore, typeof coreToNode, Connection>;
  private readonly transportOptions: { now: () => number };
  private readonly sweepTimer: ReturnType<typeof setInterval>;
  private readonly logger: HubLogger;
  private readonly now: () => number;
  readonly heartbeatIntervalMs: number;
  private closing = false;
  /** When the sweep last ran: bytes seen arriving since then date from no later than this. */
  private lastSweepAt: number;

  constructor(options: NodeHubOptions) {
    this.options = options;
    this.logger = options.logger ?? noopLogger;
    this.now = options.now ?? Date.now;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 10_000;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_FRAME_BYTES,
      // Per-connection deflate state costs ~300 KB of memory each; at 10,000 Nodes that is gigabytes.
      perMessageDeflate: false,
    });
    this.peerOptions = {
      incoming: nodeToCore,
      outgoing: coreToNode,
      disconnectCode: "node_offline",
      onProblem: (problem, conn) => this.logger.debug({ nodeId: conn.nodeId, problem }, "node protocol problem"),
      handlers: this.handlers(),
    };
    this.transportOptions = { now: this.now };
    this.lastSweepAt = this.now();
    this.sweepTimer = setInterval(() => this.sweep(), this.heartbeatIntervalMs);
    this.sweepTimer.unref();
  }

  /**
   * For a node:http server's 'upgrade' event. Returns false (touching nothing) when the request is
   * not for NODE_CONNECT_PATH, so other upgrade handlers can take it. The token is checked BEFORE the
   * upgrade completes; a bad one gets HTTP 401 and the socket is destroyed.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const path = (request.url ?? "").split("?")[0];
    if (path !== NODE_CONNECT_PATH) return false;
    // A client resetting the connection while we authenticate must not raise an unhandled 'error'.
    socket.on("error", ignoreError);
    void this.upgrade(request, socket, head);
    return true;
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const remote = request.socket.remoteAddress;
    if (this.closing) {
      rejectUpgrade(socket, 503, "unavailable", "the Core is shutting down");
      return;
    }
    const credentials = credentialsOf(request, this.options.trustProxy ?? trustNobody);
    let identity: NodeIdentity | NodeAuthRefusal | null = null;
    if (credentials) {
      try {
        identity = await this.options.authenticate(credentials);
      } catch (error) {
        this.logger.error({ err: errorMessage(error), remote }, "node authentication failed");
        rejectUpgrade(socket, 503, "unavailable", "cannot check the node's credentials right now; retry later");
        return;
      }
    }
    if (!identity || "refused" in identity) {
      const reason = identity?.refused ?? "missing, unknown or revoked node credentials";
      this.logger.warn(
        { remote, credentials: credentials?.kind ?? "none", nodeId: nodeIdOf(credentials), reason },
        "node connection refused",
      );
      rejectUpgrade(socket, 401, "unauthorized", reason);
      return;
    }
    if (socket.destroyed) return;
    const who = identity;
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      this.accept(new WsServerTransport(ws, this.transportOptions, request.socket), who);
    });
  }

  /** Takes over an already-authenticated transport (the WebSocket path above, or an in-memory pair in
   * tests). A second connection for the same Node replaces the first. */
  accept(transport: Transport, identity: NodeIdentity): void {
    const { nodeId } = identity;
    if (this.closing) {
      void transport.close(NodeCloseCode.shuttingDown, "core shutting down");
      return;
    }
    const connectedAt = this.now();
    const conn: Connection = {
      nodeId,
      name: identity.name,
      peer: undefined as unknown as CorePeer,
      transport,
      hello: undefined,
      tools: [],
      mcpServers: [],
      connectedAt,
      lastSeenAt: connectedAt,
      stats: undefined,
      online: false,
      closed: false,
      toolsKey: undefined,
      toolsAppliedAt: Number.NEGATIVE_INFINITY,
      pendingTools: undefined,
      pendingTimer: undefined,
    };
    const peer: CorePeer = new RpcPeer(transport, this.peerOptions, conn);
    conn.peer = peer;
    // Every frame is a sign of life. A socket transport keeps its own clock (liveness.lastActivityAt, pongs
    // included); any other transport gets its handler wrapped rather than frames parsed twice.
    if (!transport.liveness) {
      const deliver = transport.onmessage;
      transport.onmessage = (message) => {
        conn.lastSeenAt = this.now();
        deliver?.(message);
      };
    }
    peer.onclose = (info) => this.closed(conn, info);

    const previous = this.connections.get(nodeId);
    this.connections.set(nodeId, conn);
    if (previous) {
      this.logger.info({ nodeId }, "node reconnected; closing its previous connection");
      void previous.peer.close(NodeCloseCode.replaced, "replaced by a newer connection");
    }
  }

  /** The handlers of every Node connection, registered once; each finds its connection in `context`. */
  private handlers(): RpcHandlers<typeof nodeToCore, Connection> {
    return new RpcHandlers<typeof nodeToCore, Connection>()
      .onRequest("fabricore/hello", (hello, { context: conn }) => this.hello(conn, hello))
      .onNotification("fabricore/heartbeat", (params, conn) => {
        if (!conn.online) return;
        if (params.stats) conn.stats = { ...conn.stats, ...params.stats };
        this.safely("onHeartbeat", () => this.options.onHeartbeat?.(conn.nodeId, params));
      })
      .onNotification("notifications/tools/list_changed", ({ tools }, conn) => {
        if (!conn.online) return;
        this.toolsChanged(conn, tools);
      })
      .onNotification("fabricore/tool/output", ({ callId, stream, text }, conn) => {
        // Only a call this hub asked to stream, on the Node that runs it: anything else is dropped.
        const listener = this.outputListeners.get(`${conn.nodeId}\u0000${callId}`);
        if (listener) this.safely("onOutput", () => listener(stream, text));
      })
      .onNotification("fabricore/tool/progress", ({ callId, ...progress }, conn) => {
        // As with output: only a call this hub sent, on the Node that runs it.
        const watch = this.progressWatches.get(`${conn.nodeId}\u0000${callId}`);
        if (!watch) return;
        if (watch.call.maxDeadlineMs !== undefined && watch.rearm) {
          const now = Date.now();
          const left = remainingDeadlineMs(watch.call, watch.startedAt, now, now);
          watch.rearm(left + (this.options.deadlineGraceMs ?? 2_000));
        }
        const listener = watch.onProgress;
        if (listener) this.safely("onProgress", () => listener(progress));
      })
      .onNotification("fabricore/mcp/status", ({ servers }, conn) => {
        if (!conn.online) return;
        conn.mcpServers = servers;
        this.safely("onMcpStatus", () => this.options.onMcpStatus?.(conn.nodeId, servers));
      });
  }

  private async hello(conn: Connection, hello: HelloParams): Promise<HelloResult> {
    const { nodeId, peer } = conn;
    if (conn.hello) throw new ProtocolError("invalid_message", "hello was already received on this connection");
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      this.logger.warn({ nodeId, nodeVersion: hello.nodeVersion, protocol: hello.protocolVersion }, "version mismatch");
      // After the error reply below has been queued on the socket.
      setTimeout(() => void peer.close(NodeCloseCode.versionMismatch, "protocol version mismatch"), 0);
      throw new ProtocolError(
        "version_mismatch",
        `this Core speaks protocol version ${PROTOCOL_VERSION}, the Node ${hello.protocolVersion}; ` +
          "install the fabricore-node build that matches the Core",
        { expected: PROTOCOL_VERSION, received: hello.protocolVersion },
      );
    }
    // A failure here fails the hello (the Node retries): answering with an empty list would make
    // the Node stop every MCP server it runs.
    const desired = await this.options.desiredMcpServers(nodeId);
    if (conn.closed) throw new ProtocolError("node_offline", "the connection closed during hello");
    const announced = hello.tools;
    const json = JSON.stringify(announced);
    const limit = this.options.maxToolListBytes ?? DEFAULT_MAX_TOOL_LIST_BYTES;
    if (Buffer.byteLength(json) > limit) {
      throw new ProtocolError(
        "invalid_params",
        `the Node's tool list is ${Buffer.byteLength(json)} bytes of JSON; this Core accepts at most ${limit} (FABRICORE_NODE_TOOLS_MAX_BYTES)`,
      );
    }
    // The parsed hello is this connection's own object: keep it, with the fleet's shared tool list in
    // place of its own copy, rather than a second object.
    const shared = this.toolLists.acquire(announced, json);
    conn.toolsKey = shared.key;
    hello.tools = shared.tools;
    conn.hello = hello;
    conn.tools = hello.tools;
    conn.mcpServers = hello.mcpServers;
    conn.online = true;
    this.online.add(nodeId);
    this.logger.info(
      { nodeId, name: conn.name, version: hello.nodeVersion, hostname: hello.hostname, tools: announced.length },
      "node online",
    );
    this.safely("onOnline", () => this.options.onOnline?.(nodeId, hello));
    return {
      protocolVersion: PROTOCOL_VERSION,
      nodeId,
      name: conn.name,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      mcpServers: desired,
      ...(this.options.servedNodeVersion !== undefined && { nodeVersion: this.options.servedNodeVersion }),
    };
  }

  private closed(conn: Connection, info: CloseInfo): void {
    conn.closed = true;
    clearTimeout(conn.pendingTimer);
    conn.pendingTools = undefined;
    this.toolLists.release(conn.toolsKey);
    conn.toolsKey = undefined;
    const current = this.connections.get(conn.nodeId) === conn;
    if (current) this.connections.delete(conn.nodeId);
    if (!conn.online) return;
    conn.online = false;
    // A replacement that has not said hello yet does not count as online.
    if (!this.connections.get(conn.nodeId)?.online) this.online.delete(conn.nodeId);
    const reason = `${info.code}${info.reason ? ` ${info.reason}` : ""}`;
    this.logger.info({ nodeId: conn.nodeId, code: info.code, reason: info.reason }, "node offline");
    this.safely("onOffline", () => this.options.onOffline?.(conn.nodeId, reason));
  }

  /** One pass over every connection: ping the live, close the silent. Runs once per heartbeat interval;
   * public so tests with a fake clock can drive it. */
  sweep(): void {
    const now = this.now();
    const previousSweepAt = this.lastSweepAt;
    this.lastSweepAt = now;
    const silentBefore = now - SILENT_INTERVALS * this.heartbeatIntervalMs;
    for (const conn of this.connections.values()) {
      conn.transport.liveness?.noteBytes(previousSweepAt);
      const lastSeenAt = lastSeen(conn);
      if (!conn.online && conn.connectedAt < silentBefore) {
        this.drop(conn, NodeCloseCode.helloTimeout, "no hello");
      } else if (lastSeenAt < silentBefore) {
        this.logger.warn({ nodeId: conn.nodeId, silentMs: now - lastSeenAt }, "node silent; closing");
        this.drop(conn, NodeCloseCode.heartbeatTimeout, "heartbeat timeout");
      } else {
        conn.transport.liveness?.ping?.();
      }
    }
  }

  private drop(conn: Connection, code: number, reason: string): void {
    // A silent peer will not answer a close handshake either; drop the TCP connection.
    const terminate = conn.transport.liveness?.terminate;
    if (terminate) terminate.call(conn.transport.liveness, code, reason);
    else void conn.peer.close(code, reason);
  }

  isOnline(nodeId: string): boolean {
    return this.online.has(nodeId);
  }

  /** A Node renamed in the store while connected here: its live entry takes the new name. */
  rename(nodeId: string, name: string): void {
    const conn = this.connections.get(nodeId);
    if (conn) conn.name = name;
  }

  get(nodeId: string): ConnectedNode | undefined {
    const conn = this.connections.get(nodeId);
    if (!conn?.online || !conn.hello) return undefined;
    return {
      nodeId: conn.nodeId,
      name: conn.name,
      hello: conn.hello,
      tools: conn.tools,
      mcpServers: conn.mcpServers,
      connectedAt: conn.connectedAt,
      lastSeenAt: lastSeen(conn),
      stats: conn.stats,
    };
  }

  onlineCount(): number {
    return this.online.size;
  }

  onlineNodeIds(): string[] {
    return [...this.online];
  }

  /**
   * Runs a tool on a Node. Rejects with ProtocolError: `node_offline` when the Node is not connected
   * or its connection drops during the call (at once, not at the deadline), `deadline_exceeded` after
   * deadlineMs plus a grace, `cancelled` when `signal` aborts (the Node is told to stop); and with the
   * Node's own error codes (`tool_not_found`, `invalid_params`, `tool_failed`).
   */
  /** `onOutput`: the call's output while it runs (exec_command's stdout/stderr), if the Node sends it. */
  async callTool(nodeId: string, call: CallToolParams, options: CallToolOptions = {}): Promise<ToolResult> {
    const conn = this.connections.get(nodeId);
    if (!conn?.online) throw new ProtocolError("node_offline", `node ${nodeId} is not connected`);
    const key = `${nodeId}\u0000${call.callId}`;
    if (options.onOutput) this.outputListeners.set(key, options.onOutput);
    // Progress moves the deadline back (maxDeadlineMs), so the hub follows it even with no listener.
    const watch: ProgressWatch | undefined =
      call.maxDeadlineMs !== undefined || options.onProgress
        ? { call, startedAt: Date.now(), ...(options.onProgress && { onProgress: options.onProgress }) }
        : undefined;
    if (watch) this.progressWatches.set(key, watch);
    try {
      return await conn.peer.request("tools/call", options.onOutput ? { ...call, streamOutput: true } : call, {
        timeoutMs: call.deadlineMs + (this.options.deadlineGraceMs ?? 2_000),
        ...(options.signal && { signal: options.signal }),
        ...(watch && {
          onTimeoutControl: (rearm: (ms: number) => void) => {
            watch.rearm = rearm;
          },
        }),
      });
    } finally {
      if (options.onOutput && this.outputListeners.get(key) === options.onOutput) this.outputListeners.delete(key);
      if (watch && this.progressWatches.get(key) === watch) this.progressWatches.delete(key);
    }
  }

  /** Sends the Node its desired MCP servers. Resolves with their state, or undefined when it is offline
   * (it gets the list in its next hello anyway). */
  async syncMcp(nodeId: string, specs: McpServerSpec[]): Promise<McpServerStatus[] | undefined> {
    const conn = this.connections.get(nodeId);
    if (!conn?.online) return undefined;
    const result = await conn.peer.request(
      "fabricore/mcp/sync",
      { servers: specs },
      { timeoutMs: this.options.mcpSyncTimeoutMs ?? 120_000 },
    );
    if (!conn.closed) {
      conn.mcpServers = result.servers;
      this.safely("onMcpStatus", () => this.options.onMcpStatus?.(nodeId, result.servers));
    }
    return result.servers;
  }

  /** Restarts one MCP server on the Node, or reads its logs (mcp-server-ops.ts); node_offline when it is not connected. */
  async mcpServerOp(nodeId: string, op: McpServerOp): Promise<McpServerOpResult> {
    const conn = this.connections.get(nodeId);
    if (!conn?.online) throw new ProtocolError("node_offline", `node ${nodeId} is not connected`);
    return sendMcpServerOp(conn.peer, op);
  }

  /** Closes a Node's connection at once (its token was revoked); calls in flight fail with node_offline. */
  async disconnect(nodeId: string, code: number = NodeCloseCode.revoked, reason = "revoked"): Promise<boolean> {
    const conn = this.connections.get(nodeId);
    if (!conn) return false;
    await conn.peer.close(code, reason);
    return true;
  }

  /** Closes every connection and stops accepting new ones. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweepTimer);
    await Promise.all(
      [...this.connections.values()].map((conn) =>
        conn.peer.close(NodeCloseCode.shuttingDown, "core shutting down").catch(() => {}),
      ),
    );
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /** Applies a tools/list_changed now, or (within the interval of the last one) the latest at the
   * end of the interval: a Node that sends a thousand costs one update a second. */
  private toolsChanged(conn: Connection, tools: ToolDescriptor[]): void {
    const interval = this.options.toolsChangedIntervalMs ?? DEFAULT_TOOLS_CHANGED_INTERVAL_MS;
    const wait = conn.toolsAppliedAt + interval - this.now();
    if (wait <= 0 && !conn.pendingTimer) {
      this.applyTools(conn, tools);
      return;
    }
    conn.pendingTools = tools;
    if (conn.pendingTimer) return;
    conn.pendingTimer = setTimeout(
      () => {
        conn.pendingTimer = undefined;
        const latest = conn.pendingTools;
        conn.pendingTools = undefined;
        if (latest && conn.online && !conn.closed) this.applyTools(conn, latest);
      },
      Math.max(0, wait),
    );
    conn.pendingTimer.unref?.();
  }

  private applyTools(conn: Connection, tools: ToolDescriptor[]): void {
    conn.toolsAppliedAt = this.now();
    const json = JSON.stringify(tools);
    const limit = this.options.maxToolListBytes ?? DEFAULT_MAX_TOOL_LIST_BYTES;
    if (Buffer.byteLength(json) > limit) {
      this.logger.warn(
        { nodeId: conn.nodeId, bytes: Buffer.byteLength(json), limit },
        "ignored a tool list over FABRICORE_NODE_TOOLS_MAX_BYTES; the Node keeps its previous tools",
      );
      return;
    }
    const shared = this.toolLists.acquire(tools, json);
    this.toolLists.release(conn.toolsKey);
    conn.toolsKey = shared.key;
    conn.tools = shared.tools;
    if (conn.hello) conn.hello.tools = conn.tools;
    this.safely("onToolsChanged", () => this.options.onToolsChanged?.(conn.nodeId, shared.tools));
  }

  private safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.logger.error({ err: errorMessage(error) }, `${what} callback threw`);
    }
  }
}

/** One listener for every socket rather than a closure each (it stays attached for the connection's life). */
function ignoreError(): void {}

function lastSeen(conn: Connection): number {
  const liveness = conn.transport.liveness;
  return liveness ? Math.max(conn.lastSeenAt, liveness.lastActivityAt) : conn.lastSeenAt;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

const trustNobody = () => false;

/**
 * The origin the Node dialled, as this Core sees it: scheme and host of the request, or, when the
 * peer is a trusted proxy (FABRICORE_TRUST_PROXY, the same rule as the API's client IP), that
 * proxy's X-Forwarded-Proto/-Host. The Node signs the origin it dialled, so the two agree exactly
 * when the Node is talking to this Core. A client that is not a trusted proxy cannot pick the
 * origin (issue 15.4: an upgrade signed for http://evil.example was accepted through
 * X-Forwarded-Host).
 */
export function requestOrigin(request: IncomingMessage, trustProxy: (address: string) => boolean): string {
  const peer = request.socket.remoteAddress;
  const forwarded = peer !== undefined && trustProxy(peer);
  const encrypted = (request.socket as { encrypted?: boolean }).encrypted ? "https" : "http";
  const proto = (forwarded ? header(request, "x-forwarded-proto")?.split(",")[0]?.trim() : undefined) ?? encrypted;
  const host =
    (forwarded ? header(request, "x-forwarded-host")?.split(",")[0]?.trim() : undefined) ??
    header(request, "host") ??
    "";
  try {
    return new URL(`${proto}://${host}`).origin;
  } catch {
    return `${proto}://${host}`;
  }
}

function credentialsOf(
  request: IncomingMessage,
  trustProxy: (address: string) => boolean,
): NodeCredentials | undefined {
  const nodeId = header(request, NODE_AUTH_HEADERS.nodeId);
  const nonce = header(request, NODE_AUTH_HEADERS.nonce);
  const signature = header(request, NODE_AUTH_HEADERS.signature);
  if (nodeId && nonce && signature) {
    return { kind: "signed", nodeId, nonce, signature, origin: requestOrigin(request, trustProxy) };
  }
  const token = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
  return token ? { kind: "bearer", token } : undefined;
}

function nodeIdOf(credentials: NodeCredentials | undefined): string | undefined {
  return credentials?.kind === "signed" ? credentials.nodeId.slice(0, 64) : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const STATUS_TEXT: Record<number, string> = { 401: "Unauthorized", 503: "Service Unavailable" };

/** Answers an upgrade request with a plain HTTP error in the API's error shape, then closes the socket. */
function rejectUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code, message } });
  socket.once("finish", () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\n` +
      "Connection: close\r\n" +
      "Content-Type: application/json\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
